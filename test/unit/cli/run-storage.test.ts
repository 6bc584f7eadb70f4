// berth run's storage flags -> mount requests -> OCI mounts, against docker's documented formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStorage, mergeTmpfsOptions, nameVolumes, parseMountFlag, parseTmpfsFlag, parseVolumeFlag, requestMount, storageRequests } from '../../../src/cli/berth/run-storage.ts';
import { imageContainerBaseSpec } from '../../../src/runtime/default-spec.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const failsNaming = (fn: () => unknown, flag: string, text: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument' && e.where.field === flag && e.message.startsWith(flag) && text.test(e.message) && !e.message.includes('\n'));
};

test('-v: host paths, volume names, anonymous volumes and their options', () => {
  assert.deepEqual(parseVolumeFlag('/srv/app:/app'), { type: 'bind', source: '/srv/app', target: '/app', readonly: false, propagation: 'rprivate', flag: '--volume' });
  assert.deepEqual(parseVolumeFlag('/srv/app:/app:ro,rshared'), { type: 'bind', source: '/srv/app', target: '/app', readonly: true, propagation: 'rshared', flag: '--volume' });
  assert.deepEqual(parseVolumeFlag('data:/var/lib/db'), { type: 'volume', name: 'data', target: '/var/lib/db', readonly: false, nocopy: false, flag: '--volume' });
  assert.deepEqual(parseVolumeFlag('data:/db:ro,nocopy'), { type: 'volume', name: 'data', target: '/db', readonly: true, nocopy: true, flag: '--volume' });
  assert.deepEqual(parseVolumeFlag('/cache'), { type: 'volume', target: '/cache', readonly: false, nocopy: false, flag: '--volume' });
  assert.deepEqual(parseVolumeFlag('/cache:ro'), { type: 'volume', target: '/cache', readonly: true, nocopy: false, flag: '--volume' });
  assert.equal(parseVolumeFlag('/a:/b/:z').type, 'bind');
  assert.equal((parseVolumeFlag('/a:/b/') as { target: string }).target, '/b');
});

test('-v: relative host paths, bad targets and options fail naming --volume', () => {
  failsNaming(() => parseVolumeFlag('./src:/app'), '--volume', /relative host path/);
  failsNaming(() => parseVolumeFlag('src/x:/app'), '--volume', /relative host path/);
  failsNaming(() => parseVolumeFlag('/a:app'), '--volume', /unknown option "app"/);
  failsNaming(() => parseVolumeFlag('/a:app:ro'), '--volume', /must be absolute/);
  failsNaming(() => parseVolumeFlag('/a:/'), '--volume', /cannot be \//);
  failsNaming(() => parseVolumeFlag('/a:/x/../etc'), '--volume', /\.\./);
  failsNaming(() => parseVolumeFlag('/a:/b:rx'), '--volume', /unknown option "rx"/);
  failsNaming(() => parseVolumeFlag('/a:/b:nocopy'), '--volume', /nocopy applies to volumes/);
  failsNaming(() => parseVolumeFlag('vol:/b:shared'), '--volume', /propagation applies to host paths/);
  failsNaming(() => parseVolumeFlag('a:b:c:d'), '--volume', /expected/);
});

test('--mount: docker\'s CSV fields, aliases and checks', () => {
  assert.deepEqual(parseMountFlag('type=bind,source=/h,target=/c,readonly'), { type: 'bind', source: '/h', target: '/c', readonly: true, propagation: 'rprivate', flag: '--mount' });
  assert.deepEqual(parseMountFlag('type=bind,src=/h,dst=/c,ro=false,bind-propagation=rslave'), { type: 'bind', source: '/h', target: '/c', readonly: false, propagation: 'rslave', flag: '--mount' });
  assert.deepEqual(parseMountFlag('source=v1,destination=/d'), { type: 'volume', name: 'v1', target: '/d', readonly: false, nocopy: false, flag: '--mount' });
  assert.deepEqual(parseMountFlag('type=volume,target=/d,volume-nocopy'), { type: 'volume', target: '/d', readonly: false, nocopy: true, flag: '--mount' });
  assert.deepEqual(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770'), { type: 'tmpfs', target: '/t', options: ['noexec', 'nosuid', 'nodev', 'size=67108864', 'mode=1770'], flag: '--mount' });
  failsNaming(() => parseMountFlag('type=bind,target=/c'), '--mount', /source= is required/);
  failsNaming(() => parseMountFlag('type=bind,source=rel,target=/c'), '--mount', /must be absolute/);
  failsNaming(() => parseMountFlag('type=nfs,target=/c'), '--mount', /not bind, volume or tmpfs/);
  failsNaming(() => parseMountFlag('type=bind,source=/h'), '--mount', /target= is required/);
  failsNaming(() => parseMountFlag('type=tmpfs,source=x,target=/t'), '--mount', /no source/);
  failsNaming(() => parseMountFlag('type=volume,target=/t,tmpfs-size=1m'), '--mount', /does not apply to type=volume/);
  failsNaming(() => parseMountFlag('type=tmpfs,target=/t,tmpfs-size=lots'), '--mount tmpfs-size', /not a size/);
  failsNaming(() => parseMountFlag('type=tmpfs,target=/t,tmpfs-mode=999'), '--mount', /octal/);
  failsNaming(() => parseMountFlag('type=bind,source=/h,target=/c,colour=red'), '--mount', /unknown field "colour"/);
  failsNaming(() => parseMountFlag('type=bind,source=/h,target=/c,readonly=maybe'), '--mount', /not true or false/);
});

test('--tmpfs: docker\'s defaults noexec,nosuid,nodev, each undone by its opposite', () => {
  assert.deepEqual(parseTmpfsFlag('/run'), { type: 'tmpfs', target: '/run', options: ['noexec', 'nosuid', 'nodev'], flag: '--tmpfs' });
  assert.deepEqual(parseTmpfsFlag('/run:exec,size=1m').options, ['nosuid', 'nodev', 'exec', 'size=1m']);
  assert.deepEqual(mergeTmpfsOptions(['ro', 'rw', 'suid', 'mode=700']), ['noexec', 'nodev', 'rw', 'suid', 'mode=700']);
  failsNaming(() => parseTmpfsFlag('run'), '--tmpfs', /must be absolute/);
  failsNaming(() => parseTmpfsFlag('/run:rbind'), '--tmpfs', /not tmpfs options/);
});

test('the image\'s VOLUMEs become anonymous volumes unless a flag mounts there; duplicates fail', () => {
  const reqs = storageRequests({ volume: ['/h:/data'], tmpfs: ['/tmp'] }, ['/data', '/var/log/', '/cache']);
  assert.deepEqual(reqs.map((r) => [r.type, r.target, r.flag]), [['bind', '/data', '--volume'], ['tmpfs', '/tmp', '--tmpfs'], ['volume', '/var/log', 'VOLUME'], ['volume', '/cache', 'VOLUME']]);
  failsNaming(() => storageRequests({ volume: ['/h:/data'], mount: ['type=tmpfs,target=/data'] }), '--mount', /duplicate mount point \/data/);
  assert.throws(() => storageRequests({}, ['relative']), /VOLUME "relative"/);
});

test('requests -> OCI mounts: rbind + rprivate (+ro) for binds and volumes, as docker writes them', () => {
  let n = 0;
  const named = nameVolumes(storageRequests({ volume: ['/h:/a:ro', 'db:/b', '/c'], tmpfs: ['/t:size=1m'] }), () => `anon${++n}`);
  assert.deepEqual(named.filter((r) => r.type === 'volume').map((r) => [r.volumeName, r.anonymous]), [['db', false], ['anon1', true]]);
  const mounts = named.map((r) => requestMount(r, (name) => `/store/volumes/${name}/_data`));
  assert.deepEqual(mounts, [
    { destination: '/a', type: 'bind', source: '/h', options: ['rbind', 'rprivate', 'ro'] },
    { destination: '/b', type: 'bind', source: '/store/volumes/db/_data', options: ['rbind', 'rprivate'] },
    { destination: '/c', type: 'bind', source: '/store/volumes/anon1/_data', options: ['rbind', 'rprivate'] },
    { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'size=1m'] },
  ]);
});

test('applyStorage: after the defaults, parents first, a default at the same place replaced; --read-only; --shm-size', () => {
  const spec = imageContainerBaseSpec();
  const defaults = spec.mounts!.length;
  applyStorage(
    spec,
    [
      { destination: '/data/sub', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/data', type: 'bind', source: '/h', options: ['rbind'] },
      { destination: '/dev/mqueue', type: 'tmpfs', source: 'tmpfs' },
    ],
    { readOnly: true, shmSize: '128m' },
  );
  assert.equal(spec.mounts!.length, defaults - 1 + 3);
  assert.deepEqual(spec.mounts!.slice(-3).map((m) => m.destination), ['/data', '/data/sub', '/dev/mqueue']);
  assert.equal(spec.mounts!.filter((m) => m.destination === '/dev/mqueue').length, 1);
  assert.ok(spec.mounts!.find((m) => m.destination === '/dev/shm')!.options!.includes('size=134217728'));
  assert.equal(spec.mounts!.find((m) => m.destination === '/dev/shm')!.options!.filter((o) => o.startsWith('size=')).length, 1);
  assert.equal(spec.root!.readonly, true);
  failsNaming(() => applyStorage(imageContainerBaseSpec(), [], { shmSize: '0' }), '--shm-size', /greater than 0/);
  failsNaming(() => applyStorage(imageContainerBaseSpec(), [], { shmSize: '1x' }), '--shm-size', /not a size/);
});
