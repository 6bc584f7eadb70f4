// Resolving an image's `User` ("name", "uid", "name:group", "uid:gid") against the image's own
// /etc/passwd and /etc/group, as docker does. Parsing is pure and bounded; reading goes through
// LayeredRootfs (files over 1 MiB or lines over 64 KiB are refused).
import { BerthError, invalid, notFound } from '../oci/errors.ts';
import { quote } from '../oci/quote.ts';
import type { LayeredRootfs } from './rootfs-view.ts';

export const MAX_ID_FILE_BYTES = 1024 * 1024;
export const MAX_ID_LINE_BYTES = 64 * 1024;
const MAX_ID = 2 ** 31 - 1;

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  username?: string;
  home?: string;
}

function lines(text: string, file: string): string[] {
  const out = text.split('\n');
  for (const [i, l] of out.entries()) {
    if (l.length > MAX_ID_LINE_BYTES) throw new BerthError('resource-exhausted', `${file} line ${i + 1} is longer than ${MAX_ID_LINE_BYTES} bytes`, { path: file });
  }
  return out;
}

function id(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

export function parsePasswd(text: string, file = '/etc/passwd'): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of lines(text, file)) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const uid = id(f[2]);
    const gid = id(f[3]);
    if (!f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string, file = '/etc/group'): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of lines(text, file)) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const gid = id(f[2]);
    if (!f[0] || gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

/** Pure: resolves a user spec against parsed files (undefined when the image lacks the file). */
export function resolveUserSpec(spec: string, passwd: PasswdEntry[] | undefined, group: GroupEntry[] | undefined): ResolvedUser {
  const trimmed = spec.trim();
  if (trimmed === '') return { uid: 0, gid: 0, additionalGids: [], username: 'root', home: '/root' };
  const [userPart, groupPart, extra] = trimmed.split(':');
  if (extra !== undefined || userPart === '' || groupPart === '') throw invalid(`invalid user ${quote(spec)}: expected user[:group]`, { field: 'User' });
  const numericUid = id(userPart);
  let entry: PasswdEntry | undefined;
  if (numericUid !== undefined) {
    entry = passwd?.find((p) => p.uid === numericUid);
  } else {
    entry = passwd?.find((p) => p.name === userPart);
    if (!entry) {
      throw notFound(`unable to find user ${userPart}: ${passwd ? 'no matching entries in passwd file' : 'the image has no /etc/passwd'}`, { field: 'User' });
    }
  }
  const uid = numericUid ?? entry!.uid;
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined) {
    const numericGid = id(groupPart);
    if (numericGid !== undefined) gid = numericGid;
    else {
      const g = group?.find((x) => x.name === groupPart);
      if (!g) throw notFound(`unable to find group ${groupPart}: ${group ? 'no matching entries in group file' : 'the image has no /etc/group'}`, { field: 'User' });
      gid = g.gid;
    }
  }
  const additional = new Set<number>();
  if (entry && group) for (const g of group) if (g.members.includes(entry.name) && g.gid !== gid) additional.add(g.gid);
  const out: ResolvedUser = { uid, gid, additionalGids: [...additional].sort((a, b) => a - b) };
  if (entry) {
    out.username = entry.name;
    out.home = entry.home;
  }
  return out;
}

/** Reads the image's passwd and group files (bounded) and resolves `spec`. */
export async function resolveImageUser(rootfs: LayeredRootfs, spec: string | undefined): Promise<ResolvedUser> {
  const s = spec ?? '';
  if (s.trim() === '') return resolveUserSpec('', undefined, undefined);
  const passwdText = await rootfs.readFile('/etc/passwd', MAX_ID_FILE_BYTES);
  const groupText = await rootfs.readFile('/etc/group', MAX_ID_FILE_BYTES);
  return resolveUserSpec(
    s,
    passwdText === undefined ? undefined : parsePasswd(passwdText.toString('utf8')),
    groupText === undefined ? undefined : parseGroup(groupText.toString('utf8')),
  );
}
