// The store's images as the CRI sees them. berth records names (`repo:tag` or `repo@digest`)
// pointing at a manifest or index; the CRI's Image is one per *config* digest (its id, what
// PullImage returns), with every tag naming it and a `repo@digest` for every name. Facts read from
// the content store are cached by the record's digest (content never changes under a digest); the
// names come from the database on every call, so images `berth` pulls or removes show at once.
import { invalid } from '../../oci/errors.ts';
import type { Digest } from '../../oci/digest.ts';
import type { ImageConfig } from '../../oci/image-spec.ts';
import { chainIds } from '../../oci/image-chain-id.ts';
import { parseReference, repositoryName, formatReference } from '../../oci/reference.ts';
import type { ImageStore } from '../../image/image-store.ts';
import type { ImageRecord } from '../../image/image-records.ts';
import { resolveImage } from '../../image/image-resolve.ts';

/** runtime.v1.Image as grpc-js encodes it. */
export interface CriImage {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: string;
  uid: { value: string } | null;
  username: string;
  spec: { image: string; annotations: Record<string, string> };
  pinned: boolean;
}

interface ImageFacts {
  id: Digest;
  manifestDigest: Digest;
  size: number;
  config: ImageConfig;
}

export interface CatalogEntry {
  image: CriImage;
  /** The store's names for this image (each removed with it). */
  records: ImageRecord[];
  facts: ImageFacts;
}

/** uid or user name from an image config's User, as containerd reads it (the part before ':'). */
export function imageUser(user: string | undefined): Pick<CriImage, 'uid' | 'username'> {
  const name = (user ?? '').split(':')[0]!;
  if (name === '') return { uid: null, username: '' };
  if (/^[0-9]+$/.test(name)) return { uid: { value: String(Number(name)) }, username: '' };
  return { uid: null, username: name };
}

/** The repository part of a record's name with its digest: `docker.io/library/x@sha256:…`. */
function repoDigest(record: ImageRecord): string {
  const ref = parseReference(record.name);
  return `${repositoryName(ref)}@${record.digest}`;
}

const ID_RE = /^(?:sha256:)?([a-f0-9]{64})$/;

/** Pure: groups records by image id into CRI images. */
export function groupImages(rows: ReadonlyArray<{ record: ImageRecord; facts: ImageFacts }>): CatalogEntry[] {
  const byId = new Map<string, CatalogEntry>();
  for (const { record, facts } of rows) {
    let entry = byId.get(facts.id);
    if (!entry) {
      entry = {
        image: {
          id: facts.id,
          repo_tags: [],
          repo_digests: [],
          size: String(facts.size),
          ...imageUser(facts.config.config?.User),
          spec: { image: facts.id, annotations: {} },
          pinned: false,
        },
        records: [],
        facts,
      };
      byId.set(facts.id, entry);
    }
    entry.records.push(record);
    const ref = parseReference(record.name);
    if (ref.digest === undefined) entry.image.repo_tags.push(record.name);
    const digestName = repoDigest(record);
    if (!entry.image.repo_digests.includes(digestName)) entry.image.repo_digests.push(digestName);
  }
  return [...byId.values()].sort((a, b) => (a.image.id < b.image.id ? -1 : a.image.id > b.image.id ? 1 : 0));
}

/** Pure: the entry an ImageSpec.image names (an id, a tag or a digest reference), if any. */
export function matchImage(entries: readonly CatalogEntry[], input: string): CatalogEntry | undefined {
  if (input === '') throw invalid('image: required (an image id, tag or digest)', { field: 'image.image' });
  const id = ID_RE.exec(input);
  if (id) return entries.find((e) => e.image.id === `sha256:${id[1]}`);
  const ref = parseReference(input, 'image.image');
  if (ref.digest) {
    const wanted = `${repositoryName(ref)}@${ref.digest}`;
    return entries.find((e) => e.image.repo_digests.includes(wanted));
  }
  const name = formatReference(ref);
  return entries.find((e) => e.image.repo_tags.includes(name));
}

export class ImageCatalog {
  private readonly facts = new Map<Digest, ImageFacts>();

  constructor(private readonly store: ImageStore) {}

  /** Facts of a record's content; undefined when it is incomplete or for another platform. */
  private async factsOf(record: ImageRecord): Promise<ImageFacts | undefined> {
    const known = this.facts.get(record.digest);
    if (known) return known;
    try {
      const img = await resolveImage(this.store, record);
      const facts: ImageFacts = {
        id: img.manifest.config.digest,
        manifestDigest: img.manifestDigest,
        size: img.manifest.layers.reduce((n, l) => n + l.size, img.manifest.config.size),
        config: img.config,
      };
      this.facts.set(record.digest, facts);
      return facts;
    } catch {
      return undefined;
    }
  }

  async list(): Promise<CatalogEntry[]> {
    const rows: Array<{ record: ImageRecord; facts: ImageFacts }> = [];
    const live = new Set<Digest>();
    for (const record of this.store.records.list()) {
      live.add(record.digest);
      const facts = await this.factsOf(record);
      if (facts) rows.push({ record, facts });
    }
    for (const d of this.facts.keys()) if (!live.has(d)) this.facts.delete(d);
    return groupImages(rows);
  }

  async find(input: string): Promise<CatalogEntry | undefined> {
    return matchImage(await this.list(), input);
  }
}

/** ImageStatus' verbose info: what containerd shows under "info" (JSON). */
export function verboseImageInfo(entry: CatalogEntry): Record<string, string> {
  const ids = chainIds(entry.facts.config.rootfs.diff_ids);
  return {
    info: JSON.stringify({
      id: entry.image.id,
      manifestDigest: entry.facts.manifestDigest,
      chainID: ids[ids.length - 1] ?? '',
      names: entry.records.map((r) => r.name),
      imageSpec: entry.facts.config,
    }),
  };
}
