// `berth build` against its peers: the image berth builds and pushes runs under podman (pulled
// from the registry, run by runc); and for the same Dockerfile with RUN steps, berth's image and
// `buildah bud`'s have the same file tree (paths, types, modes, owners, link targets, file
// capabilities) and the same config.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { BuildEnv, inspect } from '../../fixtures/build/build-env.ts';
import { BuildahStore } from './buildah-peer.ts';
import { findOnPath, PodmanEnv } from '../runtime/podman-env.ts';
import { listTree } from '../../support/tree.ts';
import { ImageStore } from '../../../src/image/image-store.ts';
import { resolveImage } from '../../../src/image/image-resolve.ts';
import { chainIds } from '../../../src/oci/image-chain-id.ts';
import { mountSnapshot, unmountSnapshot } from '../../../src/image/mount-snapshot.ts';
import { lgetxattr } from '../../../src/sys/xattr.ts';

const runc = findOnPath('runc');
let env: BuildEnv;
let root: string;
let buildah: BuildahStore;

before(async () => {
  env = await BuildEnv.start();
  root = env.store();
  buildah = new BuildahStore();
});

after(async () => {
  buildah?.remove();
  await env?.stop();
});

const DOCKERFILE = `FROM $BASE AS build
WORKDIR /src
COPY app.sh tool.txt ./
RUN mkdir -p /out/bin /out/share && cp app.sh /out/bin/app && chmod 0755 /out/bin/app \\
 && echo data > /out/share/data && ln /out/share/data /out/share/data.hl && ln -s ../share/data /out/bin/data-link \\
 && chown -R 1000:50 /out/share && chmod 2750 /out/share
FROM $BASE
RUN rm -rf /data /removeme && mkdir -m 0700 /data && echo fresh > /data/fresh
COPY --from=build /out /opt/app
COPY --chown=app:staff --chmod=0640 tool.txt /etc/tool.conf
ENV APP=/opt/app
USER app
WORKDIR /home/app
EXPOSE 8080
LABEL org.example.built=berth
CMD ["/opt/app/bin/app"]
`;

function context(): string {
  return env.context('peer', {
    Dockerfile: DOCKERFILE,
    'app.sh': { content: '#!/bin/sh\necho "app runs as $(id -u)"\n', mode: 0o755 },
    'tool.txt': 'tool=1\n',
  });
}

/** A tree as both tools must agree on it (no times: each build has its own). */
function describe(rel: string, path: string, st: Stats): string {
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
  const cap = st.isSymbolicLink() ? undefined : lgetxattr(path, 'security.capability');
  const link = st.isSymbolicLink() ? ` -> ${readlinkSync(path)}` : '';
  return `${type} ${rel} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}${st.isFile() ? ` ${st.size} n${st.nlink}` : ''}${link}${cap ? ` cap=${cap.toString('hex')}` : ''}`;
}

/**
 * Left out of the comparison: mount points runtimes create and may leave (empty) in an image, and
 * the base image's hardlink pair whose tar entry for the link has a mode of its own (buildah
 * applies it to the shared inode, berth's unpacker keeps the file's, as GNU tar does).
 */
const RUNTIME_STUBS = /^(dev|proc|sys|run|etc\/hosts|etc\/resolv\.conf|etc\/hostname|bin\/netcap|bin\/netcap-link)( |\/|$)/;

async function berthTree(image: string): Promise<string[]> {
  const store = ImageStore.open(root);
  const target = join(env.work, `tree-${Date.now()}`);
  mkdirSync(target);
  const key = `interop-view-${Date.now()}`;
  try {
    const img = await resolveImage(store, image);
    const ids = chainIds(img.config.rootfs.diff_ids);
    await mountSnapshot(await store.snapshots.view(key, ids[ids.length - 1]!), target);
    try {
      return listTree(target, describe).filter((l) => !RUNTIME_STUBS.test(l.slice(2)));
    } finally {
      unmountSnapshot(target, true);
    }
  } finally {
    if (store.snapshots.stat(key)) await store.snapshots.remove(key);
    store.close();
  }
}

test('the same Dockerfile with RUN steps: berth and buildah bud give the same file tree and config', async () => {
  const ctx = context();
  const r = env.berth(root, ['build', '-t', 'localhost/peer/app:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  buildah.bud(ctx, 'localhost/peer/app:1', {}, { extra: ['--tls-verify=false', '--network', 'none', '--runtime', runc ?? 'runc'] });
  const theirs = listTree(buildah.rootfs('localhost/peer/app:1'), describe).filter((l) => !RUNTIME_STUBS.test(l.slice(2)));
  const ours = await berthTree('localhost/peer/app:1');
  assert.deepEqual(ours, theirs);
  const peer = buildah.inspect('localhost/peer/app:1').config;
  const mine = inspect(env, root, 'localhost/peer/app:1').config.config as typeof peer;
  const fields = (c: typeof peer) => ({
    Env: c.Env,
    Cmd: c.Cmd,
    Entrypoint: c.Entrypoint && c.Entrypoint.length ? c.Entrypoint : null,
    User: c.User,
    WorkingDir: c.WorkingDir,
    ExposedPorts: c.ExposedPorts,
    Labels: Object.fromEntries(Object.entries(c.Labels ?? {}).filter(([k]) => k !== 'io.buildah.version')),
  });
  assert.deepEqual(fields(mine), fields(peer));
});

test('berth build --push of a multi-stage Dockerfile: the image runs under berth run and under podman (runc) from the registry', { skip: !runc && 'runc is not installed' }, () => {
  const ctx = context();
  const name = `${env.registry.host}/peer/app:1`;
  const r = env.berth(root, ['build', '-t', name, '--push', ctx]);
  assert.equal(r.code, 0, r.stderr);
  const clean = env.store();
  env.ok(clean, ['pull', name]);
  assert.equal(env.ok(clean, ['run', '--rm', name]).stdout, 'app runs as 1000\n');
  const pm = PodmanEnv.create({ runtimes: { runc: runc! } });
  try {
    const pulled = pm.pullImage(name);
    assert.equal(pulled.code, 0, pulled.stderr);
    const ran = pm.podman(['run', '--rm', '--network', 'none', '--cgroup-parent', pm.cgroupParent, name]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, 'app runs as 1000\n');
    const conf = pm.podman(['run', '--rm', '--network', 'none', '--cgroup-parent', pm.cgroupParent, '--user', '0', name, 'sh', '-c', 'cat /etc/tool.conf; stat -c "%a %u:%g" /etc/tool.conf /opt/app/share; ls /data']);
    assert.equal(conf.stdout, 'tool=1\n640 1000:50\n2750 1000:50\nfresh\n');
  } finally {
    assert.deepEqual(pm.cleanup(), []);
  }
});
