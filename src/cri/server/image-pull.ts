// PullImage: pull into berth's store (the same one `berth` reads) and answer the image id (the
// config digest, what Image.id and ContainerStatus.image_id carry). An untagged name means
// `:latest`; a digest pull records only `repo@digest`. registries.conf decides where the bytes
// come from; the image keeps the name the client asked for. Pulls of the same name with the same
// credentials that overlap share one download.
import { createHash } from 'node:crypto';
import { invalid } from '../../oci/errors.ts';
import { formatReference, parseReference } from '../../oci/reference.ts';
import { pullImage as pullIntoStore } from '../../image/pull.ts';
import { checkStringMap } from '../request-limits.ts';
import type { ImageSpec, PodSandboxConfig } from '../cri-types.ts';
import type { CriContext } from './cri-context.ts';
import { credentialsApply, requestCredentials, type AuthConfig } from './pull-auth.ts';
import type { UnaryRpc } from './rpc.ts';

interface PullImageRequest {
  image?: ImageSpec | null;
  auth?: AuthConfig | null;
  /** Only checked for size: berth pulls the same for every pod. */
  sandbox_config?: PodSandboxConfig | null;
}

/** Pure: checks the request and returns the normalised name to pull. */
export function pullTarget(req: PullImageRequest, runtimes: Record<string, unknown>): string {
  const name = req.image?.image ?? '';
  if (name === '') throw invalid('image.image: required (the image to pull)', { field: 'image.image' });
  if (/^(sha256:)?[a-f0-9]{64}$/.test(name)) throw invalid(`image.image: "${name}" is an image id; pull by name or name@digest`, { field: 'image.image' });
  checkStringMap(req.image?.annotations, 'image.annotations');
  checkStringMap(req.sandbox_config?.labels, 'sandbox_config.labels');
  checkStringMap(req.sandbox_config?.annotations, 'sandbox_config.annotations');
  const handler = req.image?.runtime_handler ?? '';
  if (handler !== '' && !(handler in runtimes)) throw invalid(`image.runtime_handler: unknown runtime handler "${handler}"`, { field: 'image.runtime_handler' });
  return formatReference(parseReference(name, 'image.image'));
}

export function pullImage(ctx: CriContext): UnaryRpc {
  const inFlight = new Map<string, Promise<string>>();
  return async (req: PullImageRequest) => {
    const name = pullTarget(req, ctx.config.runtimes);
    const auth = requestCredentials(req.auth);
    const key = `${name}\0${auth ? createHash('sha256').update(JSON.stringify(auth)).digest('hex') : ''}`;
    let pull = inFlight.get(key);
    if (!pull) {
      const imageDomain = parseReference(name).domain;
      const started = Date.now();
      pull = pullIntoStore(ctx.store, name, {
        registriesConf: ctx.registries(),
        dockerConfig: null,
        sourceCredentials: (source) => (auth && credentialsApply(auth.domain, imageDomain, source.domain) ? auth.credentials : undefined),
      })
        .then((res) => {
          ctx.log.info('image pulled', { image: name, id: res.configDigest, digest: res.digest, duration_ms: Date.now() - started });
          return res.configDigest;
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, pull);
    }
    return { image_ref: await pull };
  };
}
