/* One function per plan operation. No decisions here: every path, flag and value comes from the
 * plan; the code only performs the call safely (fd-relative inside the root) and reports errno. */
#include "ops.h"
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void chan_send(struct exec_state *st, const char *fmt, ...) {
  if (st->chan < 0) return;
  char line[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  for (char *p = line; p < line + n - 1; p++)
    if (*p == '\n') *p = ' ';
  ssize_t off = 0;
  while (off < n) {
    ssize_t w = write(st->chan, line + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += w;
  }
}

void fail(struct exec_state *st, int err, const char *fmt, ...) {
  char msg[3072];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (st->chan >= 0)
    chan_send(st, "error %zu %d %s", st->index, err, msg);
  else
    dprintf(2, "berth-spawn: op %zu: %s: %s\n", st->index, msg, err ? strerror(err) : "failed");
  _exit(1);
}

static int openat2_in_root(int root, const char *path, int flags) {
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  int fd;
  do fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

static int root_fd(struct exec_state *st) {
  if (st->slots[SLOT_ROOT] < 0) fail(st, EBADF, "no root opened before an in-root operation");
  return st->slots[SLOT_ROOT];
}

/* Opens the parent directory of path inside the root; *name gets the last component. */
static int open_parent_in_root(struct exec_state *st, const char *path, char *name, size_t namelen) {
  char buf[4096];
  if (strlen(path) >= sizeof buf) fail(st, ENAMETOOLONG, "%s", path);
  strcpy(buf, path);
  size_t len = strlen(buf);
  while (len > 1 && buf[len - 1] == '/') buf[--len] = '\0';
  char *slash = strrchr(buf, '/');
  const char *last = slash ? slash + 1 : buf;
  if (!*last || strcmp(last, ".") == 0 || strcmp(last, "..") == 0) fail(st, EINVAL, "bad path %s", path);
  if (strlen(last) >= namelen) fail(st, ENAMETOOLONG, "%s", path);
  strcpy(name, last);
  if (slash == buf) strcpy(buf, "/");
  else if (slash) *slash = '\0';
  else strcpy(buf, ".");
  int fd = openat2_in_root(root_fd(st), buf, O_PATH | O_DIRECTORY);
  if (fd < 0) fail(st, errno, "open parent of %s", path);
  return fd;
}

/* mkdir -p inside the root. A dangling symlink on the way is followed the way the kernel would
 * (relative to its directory, absolute ones from the root, never above it) and its target made. */
static void mkdir_all_depth(struct exec_state *st, const char *path, mode_t mode, int depth);

static void op_mkdir_all(struct exec_state *st, const char *path, mode_t mode) {
  mkdir_all_depth(st, path, mode, 0);
}

static void mkdir_all_depth(struct exec_state *st, const char *path, mode_t mode, int depth) {
  char prefix[4096];
  size_t len = strlen(path);
  if (depth > 40) fail(st, ELOOP, "mkdir %s", path);
  if (len >= sizeof prefix) fail(st, ENAMETOOLONG, "%s", path);
  for (size_t i = 1; i <= len; i++) {
    if (i != len && path[i] != '/') continue;
    memcpy(prefix, path, i);
    prefix[i] = '\0';
    if (i > 0 && prefix[i - 1] == '/') continue;
    int fd = openat2_in_root(root_fd(st), prefix, O_PATH | O_DIRECTORY);
    if (fd >= 0) {
      close(fd);
      continue;
    }
    if (errno != ENOENT) fail(st, errno, "mkdir %s: open %s", path, prefix);
    char name[256];
    int parent = open_parent_in_root(st, prefix, name, sizeof name);
    if (mkdirat(parent, name, mode) < 0) {
      if (errno != EEXIST) fail(st, errno, "mkdir %s", prefix);
      char target[4096];
      ssize_t n = readlinkat(parent, name, target, sizeof target - 1);
      if (n < 0) fail(st, errno == EINVAL ? ENOTDIR : errno, "mkdir %s", prefix);
      target[n] = '\0';
      char next[8192];
      const char *rest = path + i;
      if (target[0] == '/') snprintf(next, sizeof next, "%s%s", target, rest);
      else {
        const char *slash = strrchr(prefix, '/');
        int dirlen = slash ? (int)(slash - prefix) : 0;
        snprintf(next, sizeof next, "%.*s/%s%s", dirlen, prefix, target, rest);
      }
      close(parent);
      mkdir_all_depth(st, next, mode, depth + 1);
      return;
    }
    close(parent);
  }
}

static void op_mkfile(struct exec_state *st, const char *path, mode_t mode) {
  int fd = openat2_in_root(root_fd(st), path, O_PATH);
  if (fd >= 0) {
    close(fd);
    return;
  }
  if (errno != ENOENT) fail(st, errno, "open %s", path);
  char name[256];
  int parent = open_parent_in_root(st, path, name, sizeof name);
  fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0 && errno != EEXIST) fail(st, errno, "create %s", path);
  if (fd >= 0) close(fd);
  close(parent);
}

static void op_mount(struct exec_state *st, const struct op *op) {
  char *src = arg_str(op, ARG_MOUNT_SOURCE), *dst = arg_str(op, ARG_MOUNT_TARGET), *type = arg_str(op, ARG_MOUNT_FSTYPE), *data = arg_str(op, ARG_MOUNT_DATA);
  unsigned long flags = (unsigned long)arg_u64(op, ARG_MOUNT_FLAGS);
  int in_root = (int)arg_u64(op, ARG_MOUNT_IN_ROOT);
  char target[64];
  const char *where = dst ? dst : "/";
  int fd = -1;
  if (in_root) {
    fd = openat2_in_root(root_fd(st), where, O_PATH);
    if (fd < 0) fail(st, errno, "mount %s: resolve target %s in root", src ? src : type ? type : "", where);
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    where = target;
  }
  if (mount(src, where, type, flags, data) < 0)
    fail(st, errno, "mount %s on %s (type %s)", src ? src : "none", dst ? dst : "/", type ? type : "none");
  if (fd >= 0) close(fd);
  free(src), free(dst), free(type), free(data);
}

static void op_mknod(struct exec_state *st, const struct op *op) {
  char *path = arg_str(op, ARG_MKNOD_PATH);
  if (!path) fail(st, EINVAL, "mknod without path");
  char name[256];
  int parent = open_parent_in_root(st, path, name, sizeof name);
  dev_t dev = makedev((unsigned)arg_u64(op, ARG_MKNOD_MAJOR), (unsigned)arg_u64(op, ARG_MKNOD_MINOR));
  mode_t mode = (mode_t)arg_u64(op, ARG_MKNOD_MODE);
  /* A node of the same type and number is kept; anything else at the path is an error (the
   * runtime-spec: a device that can't be created is an error, never a file silently replaced). */
  struct stat old;
  if (fstatat(parent, name, &old, AT_SYMLINK_NOFOLLOW) == 0) {
    if ((old.st_mode & S_IFMT) != (mode & S_IFMT) || old.st_rdev != dev) fail(st, EEXIST, "mknod %s: something else is at that path", path);
  } else if (errno != ENOENT) {
    fail(st, errno, "stat %s", path);
  } else if (mknodat(parent, name, mode, dev) < 0) {
    fail(st, errno, "mknod %s", path);
  }
  if (fchownat(parent, name, (uid_t)arg_u64(op, ARG_MKNOD_UID), (gid_t)arg_u64(op, ARG_MKNOD_GID), AT_SYMLINK_NOFOLLOW) < 0)
    fail(st, errno, "chown %s", path);
  /* mknod applies the umask; the plan's mode is exact. */
  int fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail(st, errno, "open %s", path);
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (chmod(proc, mode & 07777) < 0) fail(st, errno, "chmod %s", path);
  close(fd);
  close(parent);
  free(path);
}

static void op_symlink(struct exec_state *st, const struct op *op) {
  char *target = arg_str(op, ARG_SYMLINK_TARGET), *path = arg_str(op, ARG_SYMLINK_PATH);
  if (!target || !path) fail(st, EINVAL, "symlink needs a target and a path");
  char name[256];
  int parent = open_parent_in_root(st, path, name, sizeof name);
  if (symlinkat(target, parent, name) < 0 && errno != EEXIST) fail(st, errno, "symlink %s -> %s", path, target);
  close(parent);
  free(target), free(path);
}

static void op_pivot_root(struct exec_state *st, const char *rootfs) {
  int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0) fail(st, errno, "open /");
  if (chdir(rootfs) < 0) fail(st, errno, "chdir %s", rootfs);
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(st, errno, "pivot_root %s", rootfs);
  if (fchdir(oldroot) < 0) fail(st, errno, "fchdir old root");
  /* Keep unmounting the old root from propagating to the host. */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) fail(st, errno, "make old root rslave");
  if (umount2(".", MNT_DETACH) < 0) fail(st, errno, "unmount old root");
  if (chdir("/") < 0) fail(st, errno, "chdir /");
  close(oldroot);
}

static void op_move_root(struct exec_state *st, const char *rootfs) {
  if (chdir(rootfs) < 0) fail(st, errno, "chdir %s", rootfs);
  if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0) fail(st, errno, "move %s to /", rootfs);
  if (chroot(".") < 0) fail(st, errno, "chroot %s", rootfs);
  if (chdir("/") < 0) fail(st, errno, "chdir /");
}

static void op_chdir(struct exec_state *st, const char *path) {
  if (chdir(path) < 0) fail(st, errno, "chdir to cwd %s", path);
  /* A cwd that resolves outside the root (an fd leaked from the host, CVE-2024-21626) shows up
   * as a path getcwd can't express. */
  char buf[4096];
  if (!getcwd(buf, sizeof buf) || buf[0] != '/') fail(st, EPERM, "cwd %s is outside the container root", path);
}

static void op_resolve_exec(struct exec_state *st, const char *file, const char *pathvar) {
  struct stat sb;
  if (strchr(file, '/')) {
    if (stat(file, &sb) < 0) fail(st, errno, "exec %s", file);
    if (!S_ISREG(sb.st_mode) || access(file, X_OK) < 0) fail(st, EACCES, "exec %s: not an executable file", file);
    st->exec_path = strdup(file);
    return;
  }
  char *copy = strdup(pathvar ? pathvar : "");
  int found_noexec = 0;
  for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    char cand[4096];
    snprintf(cand, sizeof cand, "%s/%s", *dir ? dir : ".", file);
    if (stat(cand, &sb) < 0 || !S_ISREG(sb.st_mode)) continue;
    if (access(cand, X_OK) < 0) {
      found_noexec = 1;
      continue;
    }
    st->exec_path = strdup(cand);
    free(copy);
    return;
  }
  free(copy);
  if (found_noexec) fail(st, EACCES, "exec %s: permission denied", file);
  fail(st, ENOENT, "exec %s: executable file not found in $PATH", file);
}

static void exit_on_signal(int sig) { _exit(128 + sig); }

/* While it waits for `start`, init may be pid 1 of its own pid namespace, where a signal without
 * a handler is ignored: give the signals whose default is to terminate that default back, so
 * `kill` of a created container ends it as it would end a process. execve resets the handlers. */
static void die_on_terminating_signals(void) {
  static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, SIGPWR, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGSYS};
  struct sigaction sa = {.sa_handler = exit_on_signal};
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

static void op_wait_start(struct exec_state *st) {
  int fd = st->slots[SLOT_FIFO];
  unsigned char len[4];
  if (fd < 0) fail(st, EBADF, "no exec fifo");
  die_on_terminating_signals();
  if (read_full(fd, len, 4) < 0) fail(st, errno, "read exec fifo");
  st->start_len = (uint32_t)len[0] | (uint32_t)len[1] << 8 | (uint32_t)len[2] << 16 | (uint32_t)len[3] << 24;
  if (st->start_len > (1u << 20)) fail(st, E2BIG, "exec fifo message too large");
  st->start_state = malloc(st->start_len + 1);
  if (!st->start_state || read_full(fd, st->start_state, st->start_len) < 0) fail(st, errno, "read exec fifo");
  /* The fifo stays open (close-on-exec) until execve: `start` waits for it to close, so it returns
   * once the program runs or init has died, as runc's start does. */
}

static void op_hook(struct exec_state *st, const struct op *op) {
  char *path = arg_str(op, ARG_HOOK_PATH);
  char **argv = arg_list(op, ARG_HOOK_ARGS), **envp = arg_list(op, ARG_HOOK_ENV);
  uint64_t timeout = arg_u64(op, ARG_HOOK_TIMEOUT);
  int p[2];
  if (!path || pipe2(p, O_CLOEXEC) < 0) fail(st, errno, "hook pipe");
  pid_t pid = fork();
  if (pid < 0) fail(st, errno, "fork hook %s", path);
  if (pid == 0) {
    dup2(p[0], 0);
    execve(path, argv, envp);
    dprintf(2, "berth-spawn: exec hook %s: %s\n", path, strerror(errno));
    _exit(127);
  }
  close(p[0]);
  if (st->start_state) {
    signal(SIGPIPE, SIG_IGN);
    ssize_t w = write(p[1], st->start_state, st->start_len);
    (void)w;
  }
  close(p[1]);
  struct timespec start, now, pause = {0, 5 * 1000 * 1000};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, timeout ? WNOHANG : 0);
    if (r == pid) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) break;
      fail(st, 0, "hook %s failed: %s %d", path, WIFEXITED(status) ? "exit status" : "signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    if (r < 0 && errno != EINTR) fail(st, errno, "wait for hook %s", path);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (timeout && (uint64_t)(now.tv_sec - start.tv_sec) >= timeout) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      fail(st, ETIMEDOUT, "hook %s timed out after %llus", path, (unsigned long long)timeout);
    }
    nanosleep(&pause, NULL);
  }
  free(path);
}

/* Nothing but execve itself runs here: the fds were marked close-on-exec by close-fds, before a
 * seccomp filter could forbid the calls that takes (the channel closes at exec too). */
static void op_execve(struct exec_state *st, const struct op *op) {
  char **argv = arg_list(op, ARG_EXECVE_ARGS), **envp = arg_list(op, ARG_EXECVE_ENV);
  if (!st->exec_path) fail(st, EINVAL, "execve before the executable was resolved");
  execve(st->exec_path, argv, envp);
  fail(st, errno, "exec %s", st->exec_path);
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Every fd from `from` up becomes close-on-exec: close_range where the kernel has the flag (5.11),
 * else each fd below RLIMIT_NOFILE's soft limit. */
static void op_close_fds(struct exec_state *st, unsigned from) {
  if (syscall(SYS_close_range, from, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  if (errno != ENOSYS && errno != EINVAL) fail(st, errno, "close_range");
  struct rlimit lim;
  rlim_t max = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY ? lim.rlim_cur : 1048576;
  for (rlim_t fd = from; fd < max; fd++) {
    int flags = fcntl((int)fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC) && fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC) < 0)
      fail(st, errno, "mark fd %d close-on-exec", (int)fd);
  }
}

static void op_write_file(struct exec_state *st, const struct op *op) {
  char *path = arg_str(op, ARG_WRITE_FILE_PATH);
  int require_procfs = (int)arg_u64(op, ARG_WRITE_FILE_REQUIRE_PROCFS);
  if (!path) fail(st, EINVAL, "write without path");
  int fd = openat2_in_root(root_fd(st), path, O_WRONLY | O_NOFOLLOW);
  if (fd < 0) fail(st, errno, "open %s", path);
  struct statfs sfs;
  if (require_procfs && (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC))
    fail(st, EXDEV, "%s is not on procfs", path);
  if (op->args[ARG_WRITE_FILE_DATA].len && write(fd, op->args[ARG_WRITE_FILE_DATA].data, op->args[ARG_WRITE_FILE_DATA].len) != (ssize_t)op->args[ARG_WRITE_FILE_DATA].len)
    fail(st, errno, "write %s", path);
  close(fd);
  free(path);
}

/* Masks a path as runc does: a directory gets an empty read-only tmpfs, anything else the
 * host's /dev/null, but only after checking that /dev/null really is the null device. */
static void op_mask_path(struct exec_state *st, const char *path, int readonly) {
  int fd = openat2_in_root(root_fd(st), path, O_PATH);
  if (fd < 0) {
    if (errno == ENOENT) return;
    fail(st, errno, "mask %s", path);
  }
  char target[64];
  snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
  if (readonly) {
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0) fail(st, errno, "bind %s read-only", path);
    close(fd);
    fd = openat2_in_root(root_fd(st), path, O_PATH);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    if (fd < 0 || syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
      fail(st, errno, "make %s read-only", path);
    close(fd);
    return;
  }
  struct stat sb;
  if (fstat(fd, &sb) < 0) fail(st, errno, "stat %s", path);
  if (S_ISDIR(sb.st_mode)) {
    if (mount("tmpfs", target, "tmpfs", MS_RDONLY, "size=0k,mode=755") < 0) fail(st, errno, "mask %s", path);
  } else {
    int null = openat2_in_root(root_fd(st), "/dev/null", O_PATH | O_NOFOLLOW);
    struct stat nb;
    if (null < 0 || fstat(null, &nb) < 0) fail(st, errno, "mask %s: open /dev/null", path);
    if (!S_ISCHR(nb.st_mode) || major(nb.st_rdev) != 1 || minor(nb.st_rdev) != 3)
      fail(st, EPERM, "mask %s: /dev/null is not the null device", path);
    char source[64];
    snprintf(source, sizeof source, "/proc/self/fd/%d", null);
    if (mount(source, target, NULL, MS_BIND, NULL) < 0) fail(st, errno, "mask %s", path);
    close(null);
  }
  close(fd);
}

static void op_capset(struct exec_state *st, const struct op *op) {
  uint64_t bounding = arg_u64(op, ARG_CAPSET_BOUNDING), eff = arg_u64(op, ARG_CAPSET_EFFECTIVE), perm = arg_u64(op, ARG_CAPSET_PERMITTED), inh = arg_u64(op, ARG_CAPSET_INHERITABLE),
           amb = arg_u64(op, ARG_CAPSET_AMBIENT);
  int last = (int)arg_u64(op, ARG_CAPSET_LAST_CAP);
  if (arg_u64(op, ARG_CAPSET_PHASE) == 0) {
    for (int c = 0; c <= last; c++)
      if (!(bounding >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        fail(st, errno, "drop capability %d from the bounding set", c);
    return;
  }
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {
      {(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
      {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
  };
  if (syscall(SYS_capset, &hdr, data) < 0) fail(st, errno, "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) fail(st, errno, "clear ambient");
  for (int c = 0; c <= last; c++)
    if (amb >> c & 1 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      fail(st, errno, "raise ambient capability %d", c);
}

static void op_seccomp(struct exec_state *st, const struct op *op) {
  unsigned flags = (unsigned)arg_u64(op, ARG_SECCOMP_FLAGS);
  if (op->argc < 2 || op->args[ARG_SECCOMP_PROGRAM].len % sizeof(struct sock_filter) || !op->args[ARG_SECCOMP_PROGRAM].len)
    fail(st, EINVAL, "seccomp program size");
  struct sock_fprog prog = {
      .len = (unsigned short)(op->args[ARG_SECCOMP_PROGRAM].len / sizeof(struct sock_filter)),
      .filter = (struct sock_filter *)(void *)op->args[ARG_SECCOMP_PROGRAM].data,
  };
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0) fail(st, errno, "load seccomp filter");
}

static void op_mount_setattr(struct exec_state *st, const struct op *op) {
  char *path = arg_str(op, ARG_MOUNT_SETATTR_PATH);
  int fd = openat2_in_root(root_fd(st), path ? path : "/", O_PATH);
  if (fd < 0) fail(st, errno, "open %s", path ? path : "/");
  struct mount_attr attr = {
      .attr_set = arg_u64(op, ARG_MOUNT_SETATTR_SET),
      .attr_clr = arg_u64(op, ARG_MOUNT_SETATTR_CLEAR),
      .propagation = arg_u64(op, ARG_MOUNT_SETATTR_PROPAGATION),
  };
  unsigned flags = AT_EMPTY_PATH | (arg_u64(op, ARG_MOUNT_SETATTR_RECURSIVE) ? AT_RECURSIVE : 0);
  if (syscall(SYS_mount_setattr, fd, "", flags, &attr, sizeof attr) < 0) fail(st, errno, "mount_setattr %s", path);
  close(fd);
  free(path);
}

/* stdio inherited from the caller may be the host's /dev/null (conmon passes it): swap it for the
 * container's own, so the container can't chmod or chown a host device through /proc/self/fd. */
static void op_reopen_dev_null(struct exec_state *st) {
  struct stat null_st;
  if (stat("/dev/null", &null_st) < 0 || !S_ISCHR(null_st.st_mode) || null_st.st_rdev != makedev(1, 3)) return;
  for (int fd = 0; fd < 3; fd++) {
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISCHR(sb.st_mode) || sb.st_rdev != null_st.st_rdev) continue;
    if (sb.st_dev == null_st.st_dev && sb.st_ino == null_st.st_ino) continue;
    int fresh = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fresh < 0) fail(st, errno, "reopen /dev/null");
    if (dup3(fresh, fd, 0) < 0) fail(st, errno, "reopen /dev/null on fd %d", fd);
    close(fresh);
  }
}

void run_op(struct exec_state *st, const struct op *op) {
  char *s0 = NULL, *s1 = NULL;
  switch (op->code) {
  case OP_SETNS: {
    s1 = arg_str(op, ARG_SETNS_PATH);
    /* Non-blocking: a FIFO at the path must not hang the open. Only an nsfs file is joined. */
    int fd = s1 ? open(s1, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) : -1;
    if (fd < 0) fail(st, errno, "open namespace %s", s1 ? s1 : "");
    struct statfs sfs;
    if (fstatfs(fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC) fail(st, EINVAL, "%s is not a namespace file", s1);
    if (setns(fd, (int)arg_u64(op, ARG_SETNS_NS)) < 0) fail(st, errno, "setns %s", s1);
    close(fd);
    break;
  }
  case OP_UNSHARE:
    if (unshare((int)arg_u64(op, ARG_UNSHARE_NAMESPACES)) < 0) fail(st, errno, "unshare");
    break;
  case OP_SYNC: {
    s0 = arg_str(op, ARG_SYNC_POINT);
    chan_send(st, "sync %s", s0 ? s0 : "");
    char reply[8] = {0};
    size_t n = 0;
    while (n < sizeof reply - 1) {
      ssize_t r = read(st->chan, reply + n, 1);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) _exit(1); /* the runtime went away: abandon quietly */
      if (reply[n] == '\n') break;
      n++;
    }
    if (strncmp(reply, "ack", 3) != 0) _exit(1);
    if (arg_u64(op, ARG_SYNC_LAST)) {
      close(st->chan);
      st->chan = -1;
    }
    break;
  }
  case OP_OPEN_ROOT: {
    s0 = arg_str(op, ARG_OPEN_ROOT_PATH);
    int fd = s0 ? open(s0, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd < 0) fail(st, errno, "open root %s", s0 ? s0 : "");
    if (st->slots[SLOT_ROOT] >= 0) close(st->slots[SLOT_ROOT]);
    st->slots[SLOT_ROOT] = fd;
    break;
  }
  case OP_MOUNT: op_mount(st, op); break;
  case OP_MKDIR:
    s0 = arg_str(op, ARG_MKDIR_PATH);
    if (!s0) fail(st, EINVAL, "mkdir without path");
    op_mkdir_all(st, s0, (mode_t)arg_u64(op, ARG_MKDIR_MODE));
    break;
  case OP_MKFILE:
    s0 = arg_str(op, ARG_MKFILE_PATH);
    if (!s0) fail(st, EINVAL, "mkfile without path");
    op_mkfile(st, s0, (mode_t)arg_u64(op, ARG_MKFILE_MODE));
    break;
  case OP_SYMLINK: op_symlink(st, op); break;
  case OP_MKNOD: op_mknod(st, op); break;
  case OP_PIVOT_ROOT:
    s0 = arg_str(op, ARG_PIVOT_ROOT_PATH);
    op_pivot_root(st, s0 ? s0 : "");
    break;
  case OP_MOVE_ROOT:
    s0 = arg_str(op, ARG_MOVE_ROOT_PATH);
    op_move_root(st, s0 ? s0 : "");
    break;
  case OP_SETHOSTNAME:
    if (sethostname((const char *)op->args[ARG_SETHOSTNAME_NAME].data, op->args[ARG_SETHOSTNAME_NAME].len) < 0) fail(st, errno, "sethostname");
    break;
  case OP_SETDOMAINNAME:
    if (setdomainname((const char *)op->args[ARG_SETDOMAINNAME_NAME].data, op->args[ARG_SETDOMAINNAME_NAME].len) < 0) fail(st, errno, "setdomainname");
    break;
  case OP_SETRLIMIT: {
    struct rlimit lim = {(rlim_t)arg_u64(op, ARG_SETRLIMIT_SOFT), (rlim_t)arg_u64(op, ARG_SETRLIMIT_HARD)};
    if (prlimit(0, (int)arg_u64(op, ARG_SETRLIMIT_RESOURCE), &lim, NULL) < 0) fail(st, errno, "setrlimit %d", (int)arg_u64(op, ARG_SETRLIMIT_RESOURCE));
    break;
  }
  case OP_SETGROUPS: {
    size_t n = op->args[ARG_SETGROUPS_GIDS].len / 4;
    gid_t *gids = calloc(n ? n : 1, sizeof(gid_t));
    for (size_t i = 0; i < n; i++) memcpy(&gids[i], op->args[ARG_SETGROUPS_GIDS].data + 4 * i, 4);
    if (setgroups(n, gids) < 0) fail(st, errno, "setgroups");
    free(gids);
    break;
  }
  case OP_SETGID:
    if (setresgid((gid_t)arg_u64(op, ARG_SETGID_GID), (gid_t)arg_u64(op, ARG_SETGID_GID), (gid_t)arg_u64(op, ARG_SETGID_GID)) < 0) fail(st, errno, "setgid %u", (unsigned)arg_u64(op, ARG_SETGID_GID));
    break;
  case OP_SETUID:
    if (setresuid((uid_t)arg_u64(op, ARG_SETUID_UID), (uid_t)arg_u64(op, ARG_SETUID_UID), (uid_t)arg_u64(op, ARG_SETUID_UID)) < 0) fail(st, errno, "setuid %u", (unsigned)arg_u64(op, ARG_SETUID_UID));
    break;
  case OP_UMASK: umask((mode_t)arg_u64(op, ARG_UMASK_MASK)); break;
  case OP_NO_NEW_PRIVS:
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(st, errno, "no_new_privs");
    break;
  case OP_KEEP_CAPS:
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(st, errno, "keep capabilities");
    break;
  case OP_CHDIR:
    s0 = arg_str(op, ARG_CHDIR_PATH);
    op_chdir(st, s0 ? s0 : "/");
    break;
  case OP_OPEN_FIFO: {
    s0 = arg_str(op, ARG_OPEN_FIFO_PATH);
    /* Read-write so that the open doesn't block; `start` writes the state into it. */
    int fd = s0 ? open(s0, O_RDWR | O_CLOEXEC | O_NOFOLLOW) : -1;
    struct stat sb;
    if (fd < 0) fail(st, errno, "open exec fifo %s", s0 ? s0 : "");
    if (fstat(fd, &sb) < 0 || !S_ISFIFO(sb.st_mode)) fail(st, EINVAL, "%s is not a fifo", s0);
    st->slots[SLOT_FIFO] = fd;
    break;
  }
  case OP_CONNECT_CONSOLE: {
    s0 = arg_str(op, ARG_CONNECT_CONSOLE_PATH);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (!s0 || strlen(s0) >= sizeof addr.sun_path) fail(st, ENAMETOOLONG, "console socket path");
    strcpy(addr.sun_path, s0);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) fail(st, errno, "connect console socket %s", s0);
    st->slots[SLOT_CONSOLE] = fd;
    break;
  }
  case OP_CONSOLE: setup_console(st, (unsigned)arg_u64(op, ARG_CONSOLE_ROWS), (unsigned)arg_u64(op, ARG_CONSOLE_COLS), (int)arg_u64(op, ARG_CONSOLE_BIND_CONSOLE)); break;
  case OP_RESOLVE_EXEC:
    s0 = arg_str(op, ARG_RESOLVE_EXEC_FILE), s1 = arg_str(op, ARG_RESOLVE_EXEC_SEARCH_PATH);
    if (!s0) fail(st, EINVAL, "no executable");
    op_resolve_exec(st, s0, s1);
    break;
  case OP_WAIT_START: op_wait_start(st); break;
  case OP_HOOK: op_hook(st, op); break;
  case OP_EXECVE: op_execve(st, op); break;
  case OP_CLOSE_FDS: op_close_fds(st, 3 + (unsigned)arg_u64(op, ARG_CLOSE_FDS_KEEP)); break;
  case OP_CHROOT:
    s0 = arg_str(op, ARG_CHROOT_PATH);
    if (!s0 || chdir(s0) < 0 || chroot(".") < 0 || chdir("/") < 0) fail(st, errno, "chroot %s", s0 ? s0 : "");
    break;
  case OP_UMOUNT:
    s0 = arg_str(op, ARG_UMOUNT_PATH);
    if (!s0 || (umount2(s0, (int)arg_u64(op, ARG_UMOUNT_FLAGS) | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT))
      fail(st, errno, "umount %s", s0 ? s0 : "");
    break;
  case OP_SETSID:
    if (setsid() < 0) fail(st, errno, "setsid");
    break;
  case OP_WRITE_FILE: op_write_file(st, op); break;
  case OP_MASK_PATH:
    s0 = arg_str(op, ARG_MASK_PATH_PATH);
    if (s0) op_mask_path(st, s0, (int)arg_u64(op, ARG_MASK_PATH_READONLY));
    break;
  case OP_CAPSET: op_capset(st, op); break;
  case OP_SECCOMP: op_seccomp(st, op); break;
  case OP_MOUNT_SETATTR: op_mount_setattr(st, op); break;
  case OP_REOPEN_DEV_NULL: op_reopen_dev_null(st); break;
  case OP_MKFIFO:
    s0 = arg_str(op, ARG_MKFIFO_PATH);
    if (!s0 || mkfifo(s0, (mode_t)arg_u64(op, ARG_MKFIFO_MODE)) < 0) fail(st, errno, "mkfifo %s", s0 ? s0 : "");
    break;
  case OP_PERSONALITY:
    if (personality((unsigned long)arg_u64(op, ARG_PERSONALITY_PERSONA)) < 0) fail(st, errno, "personality");
    break;
  default: fail(st, EINVAL, "opcode %u not valid here", op->code);
  }
  free(s0);
  free(s1);
}
