// PullImageRequest.auth -> the credentials a pull sends, and to which registries. The kubelet
// fills AuthConfig from image pull secrets or a credential provider: username/password, or `auth`
// (base64 "user:password", as in Docker's config.json), or an identity token (an OAuth2 refresh
// token) or a registry token (a bearer token sent as it is). With `server_address` set, the
// credentials are for that registry only: they go to it and to the places registries.conf pulls
// its images from (as cri-o), never to another registry.
import { invalid } from '../../oci/errors.ts';
import { normaliseAuthKey, decodeAuth, type Credentials } from '../../image/registry-auth.ts';

export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  server_address?: string;
  identity_token?: string;
  registry_token?: string;
}

export interface RequestCredentials {
  credentials: Credentials;
  /** The registry domain they are for; undefined: whichever the image is pulled from. */
  domain?: string;
}

/** Pure: the request's credentials, or undefined when it carries none. */
export function requestCredentials(auth: AuthConfig | null | undefined): RequestCredentials | undefined {
  if (!auth) return undefined;
  const domain = auth.server_address ? normaliseAuthKey(auth.server_address) : undefined;
  let credentials: Credentials | undefined;
  if (auth.registry_token) credentials = { username: auth.username ?? '', password: '', registryToken: auth.registry_token };
  else if (auth.identity_token) credentials = { username: auth.username ?? '', password: '', identityToken: auth.identity_token };
  else if (auth.username || auth.password) {
    if (!auth.username) throw invalid('auth.password given without auth.username', { field: 'auth.username' });
    credentials = { username: auth.username, password: auth.password ?? '' };
  } else if (auth.auth) {
    try {
      credentials = decodeAuth(auth.auth, 'auth.auth');
    } catch {
      throw invalid('auth.auth: not base64 of "username:password"', { field: 'auth.auth' });
    }
  }
  return credentials ? { credentials, ...(domain ? { domain } : {}) } : undefined;
}

/** Pure: whether credentials for `forDomain` may go to `source` when pulling an image of `imageDomain`. */
export function credentialsApply(forDomain: string | undefined, imageDomain: string, sourceDomain: string): boolean {
  return forDomain === undefined || forDomain === imageDomain || forDomain === sourceDomain;
}
