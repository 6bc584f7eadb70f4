// Types of the OCI image-spec (1.1) and Docker image manifest v2 schema 2, as plain data.
// Field names follow the JSON exactly.
import type { Digest } from './digest.ts';

export const MediaType = {
  ociDescriptor: 'application/vnd.oci.descriptor.v1+json',
  ociLayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
} as const;

export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
export const CONFIG_MEDIA_TYPES: readonly string[] = [MediaType.ociConfig, MediaType.dockerConfig];

export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** Compression of a layer media type, or undefined when it is not an image layer berth can unpack. */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  switch (mediaType) {
    case MediaType.ociLayer:
    case MediaType.ociLayerNondistributable:
      return 'none';
    case MediaType.ociLayerGzip:
    case MediaType.ociLayerNondistributableGzip:
    case MediaType.dockerLayerGzip:
    case MediaType.dockerLayerForeignGzip:
      return 'gzip';
    case MediaType.ociLayerZstd:
    case MediaType.ociLayerNondistributableZstd:
      return 'zstd';
    default:
      return undefined;
  }
}

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageRunConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
}

export interface HistoryEntry {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ImageRunConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

/** OCI image layout `index.json` annotation carrying the tag or full reference. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
/** containerd's annotation for the full image name in an OCI layout. */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
