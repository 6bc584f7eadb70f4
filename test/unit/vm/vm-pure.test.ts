// berth-vm's pure parts: the initramfs's cpio, the module load order, QEMU's command line, the
// VM's size from linux.resources, the guest's view of the bundle, and the frame codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpioArchive } from '../../../src/runtime/vm/cpio.ts';
import { moduleLoadOrder, moduleName } from '../../../src/runtime/vm/module-order.ts';
import { kernelCmdline, qemuArgs, virtiofsdArgs } from '../../../src/runtime/vm/qemu-args.ts';
import { vmSizing, MEMORY_FLOOR_MIB, VMM_OVERHEAD_MIB, DEFAULT_MEMORY_MIB } from '../../../src/runtime/vm/sizing.ts';
import { guestLayout, GUEST_SHARE, shareConfigValue } from '../../../src/runtime/vm/guest-spec.ts';
import { decodeFrames, encodeConfig, encodeFrame, F } from '../../../src/runtime/vm/frames.ts';
import { parseAccel, readVmConfig } from '../../../src/runtime/vm/accel.ts';
import { defaultSpec } from '../../../src/runtime/default-spec.ts';

const MiB = 1024 * 1024;

test('cpio: newc headers, 4-byte padding, the trailer; Debian cpio lists what we wrote', () => {
  const archive = cpioArchive([
    { type: 'dir', path: 'etc' },
    { type: 'file', path: '/etc/hello', data: Buffer.from('hi!\n'), mode: 0o640 },
    { type: 'char', path: 'dev/console', major: 5, minor: 1 },
  ]);
  assert.equal(archive.subarray(0, 6).toString(), '070701');
  assert.equal(archive.length % 4, 0);
  assert.ok(archive.includes(Buffer.from('TRAILER!!!\0')));
  // mode field of the file: 0100640
  assert.ok(archive.toString('latin1').includes((0o100640).toString(16).padStart(8, '0')));
  if (existsSync('/usr/bin/cpio')) {
    const list = spawnSync('cpio', ['-itv', '--quiet'], { input: archive, encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.deepEqual(lines.map((l) => l.split(/\s+/).pop()), ['etc', 'etc/hello', 'dev/console']);
    assert.match(lines[1]!, /^-rw-r-----/);
    assert.match(lines[2]!, /^crw-------.*5,\s+1/);
  }
  assert.throws(() => cpioArchive([{ type: 'dir', path: '../x' }]), /bad entry path/);
});

test('module order: dependencies first, each once, built-ins skipped, unknown modules refused', () => {
  const dep = [
    'kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
    'kernel/drivers/virtio/virtio_pci_modern_dev.ko:',
    'kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko',
    'kernel/drivers/virtio/virtio_ring.ko:',
    'kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/fs/fuse/fuse.ko',
  ].join('\n');
  const order = moduleLoadOrder(['virtio_pci', 'virtiofs'], dep, 'kernel/fs/fuse/fuse.ko\n');
  assert.deepEqual(order.load.map(moduleName), ['virtio_pci_modern_dev', 'virtio_ring', 'virtio', 'virtio_pci', 'virtiofs']);
  assert.deepEqual(order.builtin, ['fuse']);
  assert.throws(() => moduleLoadOrder(['nope'], dep, ''), /nope is neither in modules.dep nor built in/);
  assert.equal(moduleName('kernel/net/vmw_vsock/vsock-diag.ko.xz'), 'vsock_diag');
});

test('qemu: KVM or TCG, the sandbox, shared memory for virtiofs, the monitor\'s fds, no default devices', () => {
  const base = { name: 'c1', memoryMiB: 256, cpus: 2, kernel: '/boot/vmlinuz-x', initrd: '/i.img', share: true, control: true } as const;
  const tcg = qemuArgs({ ...base, accel: 'tcg' });
  const arg = (args: string[], flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
  assert.match(arg(tcg, '-machine')[0]!, /^q35,memory-backend=mem/);
  // A small translation cache: QEMU's default (1 GiB) stays resident as it fills.
  assert.deepEqual(arg(tcg, '-accel'), ['tcg,tb-size=16']);
  assert.deepEqual(arg(qemuArgs({ ...base, accel: 'kvm' }), '-accel'), ['kvm']);
  assert.deepEqual(arg(tcg, '-cpu'), ['qemu64']);
  assert.deepEqual(arg(qemuArgs({ ...base, accel: 'kvm' }), '-cpu'), ['host']);
  assert.deepEqual(arg(tcg, '-object'), ['memory-backend-memfd,id=mem,size=256M,share=on']);
  assert.match(arg(tcg, '-sandbox')[0]!, /^on,.*spawn=deny/);
  assert.ok(tcg.includes('-nodefaults'));
  const chardevs = arg(tcg, '-chardev');
  assert.ok(chardevs.includes('socket,id=agent,fd=3') && chardevs.includes('socket,id=qmp,fd=4') && chardevs.includes('socket,id=share,fd=5'));
  assert.ok(arg(tcg, '-device').includes('vhost-user-fs-pci,chardev=share,tag=berth'));
  const probe = qemuArgs({ ...base, accel: 'kvm', share: false, control: false, cmdline: ['berth.probe'] });
  assert.ok(!probe.some((a) => a.includes('fd=')));
  assert.match(arg(probe, '-append')[0]!, / berth\.probe$/);
  assert.match(kernelCmdline(), /^console=ttyS0 quiet/);
  assert.deepEqual(virtiofsdArgs('/s').slice(1, 3), ['--fd=3', '-o']);
});

test('sizing: the memory limit is the guest RAM (with a floor), the host cgroup holds RAM + overhead, quota gives vCPUs', () => {
  assert.deepEqual(vmSizing(undefined, 2), { memoryMiB: DEFAULT_MEMORY_MIB, cpus: 1, hostResources: {} });
  const s = vmSizing({ memory: { limit: 512 * MiB }, cpu: { quota: 150_000, period: 100_000 } }, 8);
  assert.equal(s.memoryMiB, 512);
  assert.equal(s.cpus, 2);
  assert.equal(s.hostResources.memory?.limit, (512 + VMM_OVERHEAD_MIB) * MiB);
  assert.equal(s.hostResources.cpu?.quota, 150_000);
  assert.equal(vmSizing({ memory: { limit: 8 * MiB } }, 2).memoryMiB, MEMORY_FLOOR_MIB);
  assert.equal(vmSizing({ cpu: { quota: 800_000, period: 100_000 } }, 2).cpus, 2, 'no more vCPUs than the host has');
  assert.equal(vmSizing({ pids: { limit: 5 } }, 2).hostResources.pids, undefined, 'QEMU\'s threads are not the container\'s pids');
});

test('guest layout: the rootfs and each bind source come through the share; pre-start hooks are refused', () => {
  const spec = defaultSpec();
  spec.mounts = [...(spec.mounts ?? []), { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro'] }, { destination: '/etc/x', type: 'bind', source: 'x.conf', options: ['bind'] }];
  const kinds = new Map([['/srv/data', 'dir' as const], ['/b/x.conf', 'file' as const]]);
  const n = spec.mounts.length;
  const g = guestLayout(spec, '/b', '/b/rootfs', kinds);
  assert.deepEqual(g.shares.map(shareConfigValue), ['d rw rootfs /b/rootfs', `d ro m${n - 2} /srv/data`, `f rw m${n - 1} /b/x.conf`]);
  assert.equal(g.spec.mounts![n - 2]!.source, `${GUEST_SHARE}/m${n - 2}`);
  assert.equal(g.sources.get(`${GUEST_SHARE}/m${n - 1}`), 'file');
  assert.equal(spec.mounts[n - 2]!.source, '/srv/data', 'the caller\'s spec is not changed');
  assert.throws(() => guestLayout({ ...spec, hooks: { createContainer: [{ path: '/bin/true' }] } }, '/b', '/b/rootfs', kinds), /hooks\.createContainer/);
  assert.throws(() => guestLayout(spec, '/b', '/b/rootfs', new Map()), /bind source \/srv\/data does not exist/);
});

test('frames: encode, decode in pieces, config pairs', () => {
  const a = encodeFrame(F.PLAN, 7, Buffer.from('abc'));
  const b = encodeFrame(F.DONE, 0);
  const all = Buffer.concat([a, b]);
  const first = decodeFrames(all.subarray(0, 14));
  assert.equal(first.frames.length, 0);
  const { frames, rest } = decodeFrames(all);
  assert.deepEqual(frames.map((f) => [f.type, f.session, f.data.toString()]), [[F.PLAN, 7, 'abc'], [F.DONE, 0, '']]);
  assert.equal(rest.length, 0);
  assert.equal(encodeConfig([['qemu', '-m'], ['ctl', '/x']]).toString(), 'qemu\0-m\0ctl\0/x\0');
  assert.throws(() => encodeConfig([['a', 'b\0c']]), /NUL/);
});

test('accel: auto by default, the config file, BERTH_VM_ACCEL over it, bad values named', () => {
  assert.equal(readVmConfig({ BERTH_VM_CONFIG: '/nonexistent/vm.toml' }).accel, 'auto');
  assert.equal(readVmConfig({ BERTH_VM_CONFIG: '/nonexistent/vm.toml', BERTH_VM_ACCEL: 'tcg' }).accel, 'tcg');
  assert.throws(() => parseAccel('xen', 'BERTH_VM_ACCEL'), /BERTH_VM_ACCEL: accel "xen" is not auto, kvm or tcg/);
});
