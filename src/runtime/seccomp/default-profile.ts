// berth's default seccomp profile, in docker's format: what `berth run` applies unless told
// otherwise, and what berthd will apply for the CRI's RuntimeDefault. The same policy as docker's
// and containerd's defaults: an allowlist of the calls ordinary programs make; the calls that
// only a capability makes useful, allowed when the container holds that capability; and argument
// filters where a call is harmless except for some arguments (namespaces through clone, AF_VSOCK
// sockets, personality flags that turn off ASLR). Everything else fails with EPERM.
//
// io_uring is not allowed (docker's profile allowed it until v25): the I/O it submits never
// passes the filter, and its kernel side has been the source of many privilege escalations.
// Calls this machine's syscall tables do not name are ignored here; the compiler answers ENOSYS
// for numbers above the highest one the profile names, so libc falls back from newer calls.

import type { Seccomp } from '../../oci/runtime-spec.ts';
import { resolveDockerProfile, type DockerSeccompProfile, type DockerSeccompSyscall, type SeccompTarget } from './docker-profile.ts';

const allow = (names: string[], more: Omit<DockerSeccompSyscall, 'names' | 'action'> = {}): DockerSeccompSyscall => ({ names, action: 'SCMP_ACT_ALLOW', ...more });
const withCap = (cap: string, names: string[]): DockerSeccompSyscall => allow(names, { includes: { caps: [cap] } });
const onArch = (arches: string[], names: string[]): DockerSeccompSyscall => allow(names, { includes: { arches } });

const FILES = [
  'access', 'faccessat', 'faccessat2', 'chdir', 'fchdir', 'getcwd', 'chmod', 'fchmod', 'fchmodat', 'fchmodat2',
  'chown', 'chown32', 'fchown', 'fchown32', 'fchownat', 'lchown', 'lchown32', 'umask',
  'open', 'openat', 'openat2', 'creat', 'close', 'close_range', 'dup', 'dup2', 'dup3', 'fcntl', 'fcntl64', 'flock',
  'read', 'readv', 'pread64', 'preadv', 'preadv2', 'write', 'writev', 'pwrite64', 'pwritev', 'pwritev2',
  'lseek', '_llseek', 'readahead', 'fadvise64', 'fadvise64_64', 'fallocate', 'cachestat',
  'truncate', 'truncate64', 'ftruncate', 'ftruncate64', 'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range',
  'pipe', 'pipe2', 'sendfile', 'sendfile64', 'splice', 'tee', 'vmsplice', 'copy_file_range',
  'stat', 'stat64', 'lstat', 'lstat64', 'fstat', 'fstat64', 'fstatat64', 'newfstatat', 'statx', 'statfs', 'statfs64', 'fstatfs', 'fstatfs64',
  'getdents', 'getdents64', 'mkdir', 'mkdirat', 'mknod', 'mknodat', 'rmdir', 'link', 'linkat', 'symlink', 'symlinkat',
  'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2', 'readlink', 'readlinkat', 'name_to_handle_at',
  'utime', 'utimes', 'utimensat', 'utimensat_time64', 'futimesat',
  'getxattr', 'lgetxattr', 'fgetxattr', 'setxattr', 'lsetxattr', 'fsetxattr', 'listxattr', 'llistxattr', 'flistxattr',
  'removexattr', 'lremovexattr', 'fremovexattr',
  'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark',
  'ioctl',
];

/** The older asynchronous I/O interface (libaio), which the filter sees call by call. */
const AIO = ['io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'ioprio_get', 'ioprio_set'];

const EVENTS = [
  'poll', 'ppoll', 'ppoll_time64', 'select', '_newselect', 'pselect6', 'pselect6_time64',
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_wait', 'epoll_wait_old', 'epoll_pwait', 'epoll_pwait2',
  'eventfd', 'eventfd2', 'signalfd', 'signalfd4',
  'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64',
];

const MEMORY = [
  'brk', 'mmap', 'mmap2', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync', 'remap_file_pages',
  'mlock', 'mlock2', 'mlockall', 'munlock', 'munlockall', 'membarrier', 'memfd_create', 'memfd_secret',
  'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'map_shadow_stack',
];

const PROCESSES = [
  'execve', 'execveat', 'fork', 'vfork', 'exit', 'exit_group', 'wait4', 'waitid', 'waitpid', 'restart_syscall',
  'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid',
  'kill', 'tkill', 'tgkill', 'pidfd_open', 'pidfd_send_signal', 'process_mrelease',
  'futex', 'futex_time64', 'futex_waitv', 'futex_wait', 'futex_wake', 'futex_requeue',
  'set_tid_address', 'get_robust_list', 'set_robust_list', 'get_thread_area', 'set_thread_area', 'rseq',
  'prctl', 'capget', 'capset', 'seccomp', 'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  'getrlimit', 'setrlimit', 'ugetrlimit', 'prlimit64', 'getrusage', 'times', 'getpriority', 'setpriority',
  'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getattr', 'sched_setattr', 'sched_getparam', 'sched_setparam',
  'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max', 'sched_get_priority_min',
  'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'getcpu', 'sysinfo', 'uname', 'getrandom',
];

const CREDENTIALS = [
  'getuid', 'getuid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getegid', 'getegid32',
  'getresuid', 'getresuid32', 'getresgid', 'getresgid32', 'getgroups', 'getgroups32',
  'setuid', 'setuid32', 'setgid', 'setgid32', 'setreuid', 'setreuid32', 'setregid', 'setregid32',
  'setresuid', 'setresuid32', 'setresgid', 'setresgid32', 'setfsuid', 'setfsuid32', 'setfsgid', 'setfsgid32',
  'setgroups', 'setgroups32',
];

const SIGNALS = [
  'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64',
  'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'sigaltstack', 'sigprocmask', 'sigreturn', 'pause', 'alarm', 'getitimer', 'setitimer',
];

/** Reading clocks; adjtimex and clock_adjtime only change anything with CAP_SYS_TIME. */
const TIME = [
  'time', 'gettimeofday', 'clock_gettime', 'clock_gettime64', 'clock_getres', 'clock_getres_time64',
  'clock_nanosleep', 'clock_nanosleep_time64', 'nanosleep', 'adjtimex', 'clock_adjtime', 'clock_adjtime64',
  'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64',
];

/** System V and POSIX IPC, confined to the container's IPC namespace. */
const IPC = [
  'ipc', 'msgget', 'msgctl', 'msgsnd', 'msgrcv', 'semget', 'semctl', 'semop', 'semtimedop', 'semtimedop_time64',
  'shmget', 'shmctl', 'shmat', 'shmdt', 'mq_open', 'mq_unlink', 'mq_getsetattr', 'mq_notify',
  'mq_timedsend', 'mq_timedsend_time64', 'mq_timedreceive', 'mq_timedreceive_time64',
];

/** Sockets other than socket(2) itself, which has its own rule. */
const NETWORK = [
  'socketpair', 'socketcall', 'bind', 'listen', 'accept', 'accept4', 'connect', 'shutdown',
  'getsockname', 'getpeername', 'getsockopt', 'setsockopt',
  'send', 'sendto', 'sendmsg', 'sendmmsg', 'recv', 'recvfrom', 'recvmsg', 'recvmmsg', 'recvmmsg_time64',
];

/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

const AF_VSOCK = 40;

/** personality(2) values that change nothing a container should not: PER_LINUX, PER_LINUX32, UNAME26 and the query. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

export const DEFAULT_SECCOMP_PROFILE: DockerSeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls: [
    allow([...FILES, ...AIO, ...EVENTS, ...MEMORY, ...PROCESSES, ...CREDENTIALS, ...SIGNALS, ...TIME, ...IPC, ...NETWORK]),
    // Since 4.8 a seccomp filter can't be bypassed through ptrace: tracing one's own children is safe.
    allow(['ptrace', 'process_vm_readv', 'process_vm_writev'], { includes: { minKernel: '4.8' } }),
    allow(['socket'], { args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] }),
    ...PERSONALITIES.map((value) => allow(['personality'], { args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
    onArch(['amd64', 'x32'], ['arch_prctl']),
    onArch(['amd64', 'x32', 'x86'], ['modify_ldt']),
    onArch(['arm', 'arm64'], ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls']),
    onArch(['s390', 's390x'], ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr']),
    onArch(['riscv64'], ['riscv_flush_icache']),
    withCap('CAP_DAC_READ_SEARCH', ['open_by_handle_at']),
    withCap('CAP_SYS_ADMIN', [
      'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'mount', 'mount_setattr',
      'move_mount', 'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd', 'setdomainname', 'sethostname', 'setns', 'syslog',
      'umount', 'umount2', 'unshare',
    ]),
    // Without CAP_SYS_ADMIN: threads and processes, but no new namespaces (a user namespace
    // would hand the container a full set of capabilities over new mounts).
    allow(['clone'], { args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] } }),
    allow(['clone'], {
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
      comment: 's390 passes the clone flags second',
    }),
    // clone3's flags are in memory the filter can't read: ENOSYS makes libc fall back to clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    withCap('CAP_SYS_BOOT', ['reboot']),
    withCap('CAP_SYS_CHROOT', ['chroot']),
    withCap('CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']),
    withCap('CAP_SYS_PACCT', ['acct']),
    withCap('CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace']),
    withCap('CAP_SYS_RAWIO', ['iopl', 'ioperm']),
    withCap('CAP_SYS_TIME', ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']),
    withCap('CAP_SYS_TTY_CONFIG', ['vhangup']),
    withCap('CAP_SYS_NICE', ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']),
    withCap('CAP_SYSLOG', ['syslog']),
    withCap('CAP_BPF', ['bpf']),
    withCap('CAP_PERFMON', ['perf_event_open']),
  ],
};

/** The default profile for a container with these capabilities on this machine. */
export function defaultSeccompProfile(target: SeccompTarget): Seccomp {
  return resolveDockerProfile(DEFAULT_SECCOMP_PROFILE, target)!;
}

