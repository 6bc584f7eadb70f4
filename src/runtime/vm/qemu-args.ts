// QEMU's and virtiofsd's command lines for one container VM. Pure. The monitor
// (native/vm-monitor.c) hands QEMU the agent's port on fd 3, QMP on fd 4, virtiofsd's
// vhost-user socket on fd 5 and the tap (opened in the pod's netns) on fd 6, and virtiofsd its
// listening socket on fd 3.

export type Accel = 'kvm' | 'tcg';

export const QEMU = '/usr/bin/qemu-system-x86_64';
/** Debian's qemu-system-common ships the C virtiofsd with QEMU 7.2. */
export const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';
/** A minimal firmware that only loads -kernel: seconds faster than SeaBIOS under TCG. */
export const QBOOT = '/usr/share/qemu/qboot.rom';
/** The virtiofs tag the agent mounts at /run/berth/share. */
export const SHARE_TAG = 'berth';
/** The virtio-serial port the agent looks for by name. */
export const PORT_NAME = 'berth.ctl';

export interface VmShape {
  name: string;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  kernel: string;
  initrd: string;
  /** Extra words for the kernel command line (e.g. berth.probe). */
  cmdline?: string[];
  /** A virtiofs share on fd 5 (false: the probe boots without one). */
  share: boolean;
  /** QMP on fd 4 and the agent's port on fd 3 (false: the probe, which only prints). */
  control: boolean;
  /** A virtio-net device on the tap at fd 6, with the pod interface's MAC. */
  net?: { mac: string };
}

/**
 * TCG's translation cache, in MiB. QEMU's default (1 GiB) fills with the boot's code and stays
 * resident: 84 MB of QEMU's anonymous memory in an idle VM here, 48 MB with 16 MiB. The price is
 * retranslation: create to first output 5.8 s against 4.7 s (bench/RESULTS.md); 4 MiB made boots
 * and shell loops several times slower. KVM has no translation cache.
 */
export const TCG_TB_MIB = 16;

export function kernelCmdline(extra: readonly string[] = []): string {
  // quiet: a serial console is slow under TCG; panic=-1 with -no-reboot ends QEMU on a guest panic.
  return ['console=ttyS0', 'quiet', 'loglevel=1', 'panic=-1', 'i8042.noaux', 'i8042.nokbd', 'random.trust_cpu=on', ...extra].join(' ');
}

export function qemuArgs(vm: VmShape): string[] {
  const machine = ['q35', 'memory-backend=mem', 'vmport=off', 'smm=off'];
  const args = [
    QEMU,
    '-name', `berth-${vm.name},debug-threads=off`,
    '-machine', machine.join(','),
    '-accel', vm.accel === 'tcg' ? `tcg,tb-size=${TCG_TB_MIB}` : 'kvm',
    '-cpu', vm.accel === 'kvm' ? 'host' : 'qemu64',
    '-smp', String(vm.cpus),
    '-m', `${vm.memoryMiB}M`,
    // virtiofs needs the guest's memory shared with virtiofsd.
    '-object', `memory-backend-memfd,id=mem,size=${vm.memoryMiB}M,share=on`,
    '-bios', QBOOT,
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    // No obsolete calls, no privilege changes, no new processes, no scheduler/affinity games.
    '-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    '-kernel', vm.kernel,
    '-initrd', vm.initrd,
    '-append', kernelCmdline(vm.cmdline),
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
  ];
  if (vm.control) {
    args.push(
      '-chardev', 'socket,id=qmp,fd=4',
      '-mon', 'chardev=qmp,mode=control',
      '-device', 'virtio-serial-pci,id=serial0,max_ports=2',
      '-chardev', 'socket,id=agent,fd=3',
      '-device', `virtserialport,bus=serial0.0,chardev=agent,name=${PORT_NAME}`,
    );
  }
  if (vm.control) {
    // The guest reports free pages and QEMU drops them: memory the guest touched once while
    // booting (the kernel unpacking itself) does not stay on the host's bill.
    args.push('-device', 'virtio-balloon-pci,free-page-reporting=on');
  }
  if (vm.net) {
    // romfile=: no iPXE option ROM (nothing boots from the network; it would only cost memory).
    args.push('-netdev', 'tap,id=net0,fd=6,vhost=off', '-device', `virtio-net-pci,netdev=net0,mac=${vm.net.mac},romfile=`);
  }
  if (vm.share) {
    args.push('-chardev', 'socket,id=share,fd=5', '-device', `vhost-user-fs-pci,chardev=share,tag=${SHARE_TAG}`);
  }
  return args;
}

export function virtiofsdArgs(shareDir: string): string[] {
  // sandbox=namespace: virtiofsd pivots into the share in new mount, pid and net namespaces.
  return [VIRTIOFSD, '--fd=3', '-o', `source=${shareDir}`, '-o', 'sandbox=namespace', '-o', 'cache=auto', '-o', 'log_level=warn'];
}
