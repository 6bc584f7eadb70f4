// Validating parsers for image-spec JSON documents: untrusted bytes from a registry or an archive
// become typed values, or an invalid-argument error naming the document and field.
import { invalid, unimplemented } from './errors.ts';
import { parseDigest } from './digest.ts';
import { parseJsonDocument } from './json-document.ts';
import { quote } from './quote.ts';
import {
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MediaType,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from './image-spec.ts';

type Json = Record<string, unknown>;

function parseJson(bytes: Uint8Array | string, what: string): Json {
  const value = parseJsonDocument(bytes, what);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${what}: not a JSON object`);
  return value as Json;
}

function str(obj: Json, key: string, what: string, required: true): string;
function str(obj: Json, key: string, what: string, required?: false): string | undefined;
function str(obj: Json, key: string, what: string, required = false): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw invalid(`${what}: missing ${key}`, { field: key });
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`${what}: ${key} must be a string`, { field: key });
  return v;
}

function stringMap(v: unknown, what: string, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`${what}: ${field} must be an object`, { field });
  for (const [k, x] of Object.entries(v as Json)) {
    if (typeof x !== 'string') throw invalid(`${what}: ${field}.${k} must be a string`, { field: `${field}.${k}` });
  }
  return v as Record<string, string>;
}

function stringArray(v: unknown, what: string, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw invalid(`${what}: ${field} must be an array of strings`, { field });
  }
  return v as string[];
}

export function parsePlatform(v: unknown, what: string, field: string): Platform {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${what}: ${field} must be an object`, { field });
  const o = v as Json;
  const p: Platform = {
    architecture: str(o, 'architecture', `${what} ${field}`, true),
    os: str(o, 'os', `${what} ${field}`, true),
  };
  const variant = str(o, 'variant', what);
  if (variant) p.variant = variant;
  const osVersion = str(o, 'os.version', what);
  if (osVersion) p['os.version'] = osVersion;
  const osFeatures = stringArray(o['os.features'], what, `${field}.os.features`);
  if (osFeatures) p['os.features'] = osFeatures;
  return p;
}

export function parseDescriptor(v: unknown, what: string, field: string): Descriptor {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${what}: ${field} must be an object`, { field });
  const o = v as Json;
  const mediaType = str(o, 'mediaType', `${what} ${field}`, true);
  const digest = parseDigest(str(o, 'digest', `${what} ${field}`, true), `${field}.digest`);
  const size = o.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${what}: ${field}.size must be a non-negative integer`, { field: `${field}.size` });
  }
  const d: Descriptor = { mediaType, digest, size };
  const urls = stringArray(o.urls, what, `${field}.urls`);
  if (urls) d.urls = urls;
  const annotations = stringMap(o.annotations, what, `${field}.annotations`);
  if (annotations) d.annotations = annotations;
  if (o.platform !== undefined && o.platform !== null) d.platform = parsePlatform(o.platform, what, `${field}.platform`);
  const artifactType = str(o, 'artifactType', what);
  if (artifactType) d.artifactType = artifactType;
  const data = str(o, 'data', what);
  if (data) d.data = data;
  return d;
}

function schemaVersion2(o: Json, what: string): void {
  if (o.schemaVersion === 1) throw unimplemented(`${what}: Docker manifest schema 1 is not supported`, { field: 'schemaVersion' });
  if (o.schemaVersion !== 2) throw invalid(`${what}: schemaVersion must be 2`, { field: 'schemaVersion' });
}

/** Which kind of document bytes are, from the declared content type or the JSON itself. */
export function detectManifestKind(bytes: Uint8Array, contentType?: string): 'index' | 'manifest' {
  const declared = contentType?.split(';')[0]?.trim();
  if (declared && INDEX_MEDIA_TYPES.includes(declared)) return 'index';
  if (declared && MANIFEST_MEDIA_TYPES.includes(declared)) return 'manifest';
  const o = parseJson(bytes, 'manifest');
  const mt = typeof o.mediaType === 'string' ? o.mediaType : undefined;
  if (mt && INDEX_MEDIA_TYPES.includes(mt)) return 'index';
  if (mt && MANIFEST_MEDIA_TYPES.includes(mt)) return 'manifest';
  if (mt === MediaType.dockerSchema1 || mt === MediaType.dockerSchema1Signed || o.schemaVersion === 1) {
    throw unimplemented('Docker manifest schema 1 is not supported', { field: 'mediaType' });
  }
  if (mt) throw unimplemented(`unsupported manifest media type ${quote(mt)}`, { field: 'mediaType' });
  if (Array.isArray(o.manifests)) return 'index';
  if (o.config !== undefined && Array.isArray(o.layers)) return 'manifest';
  throw invalid('manifest: neither an image manifest nor an index', { field: 'mediaType' });
}

export function parseManifest(bytes: Uint8Array | string, what = 'manifest'): ImageManifest {
  const o = parseJson(bytes, what);
  schemaVersion2(o, what);
  const mediaType = str(o, 'mediaType', what);
  if (mediaType !== undefined && !MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw unimplemented(`${what}: unsupported manifest media type ${quote(mediaType)}`, { field: 'mediaType' });
  }
  if (!Array.isArray(o.layers)) throw invalid(`${what}: layers must be an array`, { field: 'layers' });
  const m: ImageManifest = {
    schemaVersion: 2,
    config: parseDescriptor(o.config, what, 'config'),
    layers: o.layers.map((l, i) => parseDescriptor(l, what, `layers[${i}]`)),
  };
  if (mediaType) m.mediaType = mediaType;
  const artifactType = str(o, 'artifactType', what);
  if (artifactType) m.artifactType = artifactType;
  if (o.subject !== undefined) m.subject = parseDescriptor(o.subject, what, 'subject');
  const annotations = stringMap(o.annotations, what, 'annotations');
  if (annotations) m.annotations = annotations;
  return m;
}

export function parseIndex(bytes: Uint8Array | string, what = 'index'): ImageIndex {
  const o = parseJson(bytes, what);
  schemaVersion2(o, what);
  const mediaType = str(o, 'mediaType', what);
  if (mediaType !== undefined && !INDEX_MEDIA_TYPES.includes(mediaType)) {
    throw unimplemented(`${what}: unsupported index media type ${quote(mediaType)}`, { field: 'mediaType' });
  }
  if (!Array.isArray(o.manifests)) throw invalid(`${what}: manifests must be an array`, { field: 'manifests' });
  const idx: ImageIndex = {
    schemaVersion: 2,
    manifests: o.manifests.map((d, i) => parseDescriptor(d, what, `manifests[${i}]`)),
  };
  if (mediaType) idx.mediaType = mediaType;
  const annotations = stringMap(o.annotations, what, 'annotations');
  if (annotations) idx.annotations = annotations;
  if (o.subject !== undefined) idx.subject = parseDescriptor(o.subject, what, 'subject');
  return idx;
}

export function parseImageConfig(bytes: Uint8Array | string, what = 'image config'): ImageConfig {
  const o = parseJson(bytes, what);
  const rootfs = o.rootfs as Json | undefined;
  if (typeof rootfs !== 'object' || rootfs === null) throw invalid(`${what}: missing rootfs`, { field: 'rootfs' });
  if (rootfs.type !== 'layers') throw invalid(`${what}: rootfs.type must be "layers"`, { field: 'rootfs.type' });
  if (!Array.isArray(rootfs.diff_ids)) throw invalid(`${what}: rootfs.diff_ids must be an array`, { field: 'rootfs.diff_ids' });
  const diffIds = rootfs.diff_ids.map((d, i) => {
    if (typeof d !== 'string') throw invalid(`${what}: rootfs.diff_ids[${i}] must be a string`, { field: `rootfs.diff_ids[${i}]` });
    return parseDigest(d, `rootfs.diff_ids[${i}]`);
  });
  const cfg = o.config;
  if (cfg !== undefined && cfg !== null && (typeof cfg !== 'object' || Array.isArray(cfg))) {
    throw invalid(`${what}: config must be an object`, { field: 'config' });
  }
  const c = (cfg ?? undefined) as Json | undefined;
  if (c) {
    for (const key of ['Env', 'Entrypoint', 'Cmd'] as const) stringArray(c[key], what, `config.${key}`);
    for (const key of ['User', 'WorkingDir', 'StopSignal'] as const) str(c, key, `${what} config`);
    stringMap(c.Labels, what, 'config.Labels');
  }
  const out: ImageConfig = {
    ...(o as object),
    architecture: str(o, 'architecture', what) ?? '',
    os: str(o, 'os', what) ?? '',
    rootfs: { type: 'layers', diff_ids: diffIds },
  } as ImageConfig;
  return out;
}
