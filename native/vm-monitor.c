/* berth-spawn --vm-monitor <channel-fd>: the host process of a berth-vm container. Its pid is the
 * container's pid for callers (state, --pid-file, conmon's waitpid): it lives exactly as long as
 * the container and exits with its status (or dies of the same signal). It starts virtiofsd and
 * QEMU as its children (both die with it: PDEATHSIG), and routes frames (vm-frame.h) between the
 * guest agent, the create channel, clients of its control socket, and the processes' stdio.
 *
 * Everything it does comes from the F_CONFIG frame berth-vm sends first (src/runtime/vm/):
 *   qemu <arg>            QEMU's argv, in order; it gets the agent's port on fd 3, QMP on fd 4
 *                         and the vhost-user socket of virtiofsd on fd 5
 *   virtiofsd <arg>       virtiofsd's argv (its listening socket is fd 3); none: no share
 *   share-dir <path>      where virtiofsd's private mount namespace builds the share (a tmpfs)
 *   share <d|f> <ro|rw> <name> <source>   a directory or file bound into the share as <name>
 *   vfs-socket <path>     a path for virtiofsd's socket while it is set up (removed at once)
 *   hide <path>           mounted over with an empty tmpfs in QEMU's mount namespace
 *   netns <path>          QEMU runs in this network namespace (a pod's) and gets on fd 6 ...
 *   tap <name>            ... this tap device in it (made by berth-vm), opened with a vnet header
 *   ctl <path>            the control socket to listen on
 *   console <path>        the container has a terminal: its pty master goes to this socket
 *   log <path>            QEMU's and virtiofsd's output (the guest's serial console)
 * Signals it receives (but SIGKILL and SIGSTOP, which it can't catch) go to the container. */
#include "vm-frame.h"
#include "vm-monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define MAX_ARGS 256
#define MAX_SHARES 64
#define MAX_CONNS 64
#define MAX_SESSIONS 64
#define TAG_BASE 100000u

struct config {
  char *qemu[MAX_ARGS], *virtiofsd[MAX_ARGS];
  int nqemu, nvirtiofsd;
  char *share_dir, *vfs_socket, *hide, *ctl, *console, *log, *netns, *tap;
  struct { char kind, ro; char *name, *source; } shares[MAX_SHARES];
  int nshares;
};

struct conn {
  int fd;
  int session; /* the session this client started (-1: none) */
  int channel; /* the create channel */
  struct frame_reader rd;
  int fds[3], nfds; /* stdio received with F_STDIO */
  int console_in;   /* a pty slave made for F_CONSOLE */
};

struct msession {
  int used;
  uint32_t id;
  int in, out, err; /* host side of its stdio; in == out for a terminal */
  int owner;        /* conn index, -1 when the client is gone */
};

static struct config cfg;
static struct conn conns[MAX_CONNS];
static struct msession sessions[MAX_SESSIONS];
static int agent = -1, qmp_fd = -1, qmp_ready = 0, tty = -1;
static pid_t qemu_pid, vfs_pid;
static int container_status = -1;
static uint32_t next_session = 1;

static void die(const char *what) {
  dprintf(2, "berth-spawn --vm-monitor: %s: %s\n", what, strerror(errno));
  _exit(1);
}

static void read_config(int chan) {
  struct frame_reader rd = {0};
  struct frame f;
  int r;
  while ((r = frame_next(&rd, &f)) == 0)
    if (frame_fill(&rd, chan) <= 0) die("read the configuration");
  if (r < 0 || f.type != F_CONFIG) die("the first frame is not a configuration");
  char *p = (char *)f.data, *end = p + f.len;
  while (p < end) {
    char *key = p, *val = key + strlen(key) + 1;
    if (val >= end) break;
    p = val + strlen(val) + 1;
    if (!strcmp(key, "qemu") && cfg.nqemu < MAX_ARGS - 1) cfg.qemu[cfg.nqemu++] = val;
    else if (!strcmp(key, "virtiofsd") && cfg.nvirtiofsd < MAX_ARGS - 1) cfg.virtiofsd[cfg.nvirtiofsd++] = val;
    else if (!strcmp(key, "share-dir")) cfg.share_dir = val;
    else if (!strcmp(key, "vfs-socket")) cfg.vfs_socket = val;
    else if (!strcmp(key, "hide")) cfg.hide = val;
    else if (!strcmp(key, "ctl")) cfg.ctl = val;
    else if (!strcmp(key, "console")) cfg.console = val;
    else if (!strcmp(key, "log")) cfg.log = val;
    else if (!strcmp(key, "netns")) cfg.netns = val;
    else if (!strcmp(key, "tap")) cfg.tap = val;
    else if (!strcmp(key, "share") && cfg.nshares < MAX_SHARES) {
      /* "<d|f> <ro|rw> <name> <source>": the source is the rest (it may hold spaces) */
      char *name = strchr(val, ' ') ? strchr(val, ' ') + 4 : NULL;
      char *source = name ? strchr(name, ' ') : NULL;
      if (!source || strlen(val) < 6) die("bad share entry");
      *source++ = 0;
      cfg.shares[cfg.nshares].kind = val[0];
      cfg.shares[cfg.nshares].ro = val[2] == 'r' && val[3] == 'o';
      cfg.shares[cfg.nshares].name = name;
      cfg.shares[cfg.nshares].source = source;
      cfg.nshares++;
    }
  }
  if (!cfg.nqemu || !cfg.ctl) die("the configuration has no qemu or ctl");
  free(rd.buf); /* f.data stays: the config points into it */
}

static void send_fd(int sock, int fd) {
  char cbuf[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {.iov_base = "/dev/ptmx", .iov_len = 9};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  while (sendmsg(sock, &msg, 0) < 0)
    if (errno != EINTR) die("send the pty master");
}

static int unix_connect(const char *path) {
  struct sockaddr_un a;
  int dirfd;
  if (unix_addr(path, &a, &dirfd) < 0) return -1;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0;
  if (dirfd >= 0) close(dirfd);
  if (!ok && s >= 0) close(s);
  return ok ? s : -1;
}

static int unix_listen(const char *path, int backlog) {
  struct sockaddr_un a;
  int dirfd;
  if (unix_addr(path, &a, &dirfd) < 0) return -1;
  unlink(path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int ok = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 && chmod(path, 0600) == 0 && listen(s, backlog) == 0;
  if (dirfd >= 0) close(dirfd);
  return ok ? s : -1;
}

/* A host pty whose master goes to the caller's console socket; the slave (raw: the guest's pty
 * does the line discipline) is the session's stdio on this side. */
static int make_pty(const char *socket_path) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || unlockpt(master) < 0) return -1;
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return -1;
  struct termios t;
  if (tcgetattr(slave, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
  }
  int sock = unix_connect(socket_path);
  if (sock < 0) return -1;
  send_fd(sock, master);
  close(sock);
  close(master);
  return slave;
}

/* In a child about to exec a VM process: die with the monitor, keep only the given fds. */
static void child_common(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() == 1) _exit(1);
  setsid(); /* away from the container's terminal, which is the monitor's controlling tty */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
}

static void child_stdio(int log) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  dup2(null, 0);
  dup2(log >= 0 ? log : null, 1);
  dup2(log >= 0 ? log : null, 2);
}

static void child_exec(char **argv, int keep_to) {
  syscall(SYS_close_range, keep_to + 1, ~0U, 0);
  execv(argv[0], argv);
  dprintf(2, "berth-spawn --vm-monitor: exec %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

static void bind_into_share(int i) {
  char target[4096];
  snprintf(target, sizeof target, "%s/%s", cfg.share_dir, cfg.shares[i].name);
  if (cfg.shares[i].kind == 'd') {
    if (mkdir(target, 0755) < 0 && errno != EEXIST) die(target);
  } else {
    int fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) die(target);
    close(fd);
  }
  if (mount(cfg.shares[i].source, target, NULL, MS_BIND | MS_REC, NULL) < 0) die(cfg.shares[i].source);
  if (cfg.shares[i].ro && mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) die(target);
}

/* virtiofsd sees the share alone: it is built in virtiofsd's own mount namespace (so nothing is
 * left mounted on the host when it ends), and virtiofsd then pivots into it itself. */
static pid_t start_virtiofsd(int listen_fd, int log) {
  pid_t pid = fork();
  if (pid < 0) die("fork virtiofsd");
  if (pid > 0) return pid;
  child_common();
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) die("virtiofsd mount namespace");
  if (mount("tmpfs", cfg.share_dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") < 0) die(cfg.share_dir);
  for (int i = 0; i < cfg.nshares; i++) bind_into_share(i);
  child_stdio(log);
  dup2(listen_fd, 3);
  child_exec(cfg.virtiofsd, 3);
  return 0;
}

/* In QEMU's child: join the pod's network namespace and open the tap there (a tap is attached
 * by name in the caller's namespace). */
static int open_tap(void) {
  int ns = open(cfg.netns, O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) die(cfg.netns);
  close(ns);
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) die("/dev/net/tun");
  struct ifreq ifr = {0};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", cfg.tap);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die(cfg.tap);
  return fd;
}

static pid_t start_qemu(int port, int qmp, int vhost, int log) {
  pid_t pid = fork();
  if (pid < 0) die("fork qemu");
  if (pid > 0) return pid;
  child_common();
  if (log >= 0) dup2(log, 2); /* errors below go to the VM's log, which create reports */
  int tap = cfg.netns && cfg.tap ? open_tap() : -1;
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) die("qemu mount namespace");
  /* The state root holds every container's state and control socket: QEMU can't see it. */
  if (cfg.hide && mount("tmpfs", cfg.hide, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=000") < 0) die(cfg.hide);
  child_stdio(log);
  int fds[4] = {port, qmp, vhost, tap};
  for (int i = 0; i < 4; i++) fds[i] = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD_CLOEXEC, 10) : -1;
  for (int i = 0; i < 4; i++)
    if (fds[i] >= 0) dup2(fds[i], 3 + i);
  child_exec(cfg.qemu, 6);
  return 0;
}

static int qmp_line(char *buf, size_t cap) {
  size_t n = 0;
  while (n < cap - 1) {
    struct pollfd p = {.fd = qmp_fd, .events = POLLIN};
    if (poll(&p, 1, 5000) <= 0) return -1;
    ssize_t r = read(qmp_fd, buf + n, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    if (buf[n] == '\n') break;
    n++;
  }
  buf[n] = 0;
  return 0;
}

/* One QMP command; 0, or an errno. Event lines in between are skipped. */
static uint32_t qmp(const char *command) {
  char line[4096];
  if (!qmp_ready) {
    if (qmp_line(line, sizeof line) < 0) return EIO; /* the greeting */
    qmp_ready = 1;
    if (qmp("{\"execute\":\"qmp_capabilities\"}")) return EIO;
  }
  if (write(qmp_fd, command, strlen(command)) < 0 || write(qmp_fd, "\n", 1) < 0) return EIO;
  for (;;) {
    if (qmp_line(line, sizeof line) < 0) return EIO;
    if (strstr(line, "\"return\"")) return 0;
    if (strstr(line, "\"error\"")) return EINVAL;
  }
}

static void write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* the reader is gone: drop the output */
    p += n, len -= (size_t)n;
  }
}

static struct msession *session_by_id(uint32_t id) {
  for (int i = 0; i < MAX_SESSIONS; i++)
    if (sessions[i].used && sessions[i].id == id) return &sessions[i];
  return NULL;
}

static void close_session(struct msession *s) {
  int fds[3] = {s->in, s->out, s->err};
  for (int i = 0; i < 3; i++) {
    int dup = 0;
    for (int k = 0; k < i; k++) dup |= fds[k] == fds[i];
    if (fds[i] > 2 && !dup) close(fds[i]);
  }
  s->used = 0;
}

static void drop_conn(int i) {
  struct conn *c = &conns[i];
  if (c->fd < 0) return;
  close(c->fd);
  for (int k = 0; k < c->nfds; k++) close(c->fds[k]);
  free(c->rd.buf);
  for (int k = 0; k < MAX_SESSIONS; k++) {
    struct msession *s = &sessions[k];
    if (!s->used || s->owner != i) continue;
    s->owner = -1;
    /* An exec client that went away takes its process with it (as its pid was the process). */
    if (s->id != 0) frame_write_u32(agent, F_KILL, s->id, SIGKILL);
  }
  memset(c, 0, sizeof *c);
  c->fd = -1;
}

static void shutdown_and_exit(void) {
  if (qemu_pid > 0) kill(qemu_pid, SIGKILL);
  if (vfs_pid > 0) kill(vfs_pid, SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {}
  unlink(cfg.ctl);
  int st = container_status;
  if (st < 0) _exit(255);
  if (WIFEXITED(st)) _exit(WEXITSTATUS(st));
  /* Die of the same signal, so that a parent's waitpid (conmon's) sees what the container saw. */
  int sig = WTERMSIG(st);
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  _exit(128 + sig);
}

static int conn_session(int ci, uint32_t header) {
  return conns[ci].channel ? 0 : conns[ci].session >= 0 ? conns[ci].session : (int)header;
}

static void from_client(int ci, struct frame *f) {
  struct conn *c = &conns[ci];
  uint32_t sid = (uint32_t)conn_session(ci, f->session);
  switch (f->type) {
  case F_STDIO:
    break; /* the fds came with it; taken by F_PLAN */
  case F_CONSOLE:
    c->console_in = make_pty((char *)f->data);
    if (c->console_in < 0) frame_write(c->fd, F_CHAN, 0, "error -1 5 cannot hand the terminal to the console socket", 57);
    break;
  case F_PLAN: {
    if (!c->channel) {
      if (c->session >= 0) break;
      c->session = (int)(sid = next_session++);
    }
    struct msession *s = NULL;
    for (int i = 0; i < MAX_SESSIONS && !s; i++)
      if (!sessions[i].used) s = &sessions[i];
    if (!s) {
      frame_write(c->fd, F_CHAN, sid, "error -1 24 too many processes", 30);
      break;
    }
    *s = (struct msession){.used = 1, .id = sid, .owner = ci, .in = -1, .out = -1, .err = -1};
    if (c->channel) {
      s->in = tty >= 0 ? tty : 0, s->out = tty >= 0 ? tty : 1, s->err = tty >= 0 ? tty : 2;
    } else if (c->console_in >= 0) {
      s->in = s->out = s->err = c->console_in;
      c->console_in = -1;
    } else if (c->nfds == 3) {
      s->in = c->fds[0], s->out = c->fds[1], s->err = c->fds[2];
      c->nfds = 0;
    }
    frame_write(agent, F_PLAN, sid, f->data, f->len);
    break;
  }
  case F_ACK:
  case F_STDIN:
  case F_STDIN_EOF:
  case F_KILL:
  case F_RESIZE: frame_write(agent, f->type, sid, f->data, f->len); break;
  case F_KILL_ALL: frame_write(agent, f->type, 0, f->data, f->len); break;
  case F_WRITE:
  case F_NET:
  case F_PS: frame_write(agent, f->type, TAG_BASE + (uint32_t)ci, f->data, f->len); break;
  case F_PAUSE:
  case F_RESUME: frame_write_u32(c->fd, F_DONE, 0, qmp(f->type == F_PAUSE ? "{\"execute\":\"stop\"}" : "{\"execute\":\"cont\"}")); break;
  case F_DONE:
    if (c->channel) c->channel = 2; /* set-up is over: the channel may close */
    break;
  }
}

static void from_agent(struct frame *f) {
  if (f->type == F_REPLY) {
    uint32_t ci = f->session - TAG_BASE;
    if (f->session >= TAG_BASE && ci < MAX_CONNS && conns[ci].fd >= 0) frame_write(conns[ci].fd, F_REPLY, 0, f->data, f->len);
    return;
  }
  if (f->type == F_READY) {
    for (int i = 0; i < MAX_CONNS; i++)
      if (conns[i].fd >= 0 && conns[i].channel) frame_write(conns[i].fd, F_READY, 0, f->data, f->len);
    return;
  }
  struct msession *s = session_by_id(f->session);
  if (!s) return;
  int owner = s->owner >= 0 && conns[s->owner].fd >= 0 ? conns[s->owner].fd : -1;
  switch (f->type) {
  case F_CHAN:
    if (owner >= 0) frame_write(owner, F_CHAN, f->session, f->data, f->len);
    break;
  case F_STDOUT:
    if (s->out >= 0) write_all(s->out, f->data, f->len);
    break;
  case F_STDERR:
    if (s->err >= 0) write_all(s->err, f->data, f->len);
    break;
  case F_EXIT:
    if (owner >= 0) frame_write(owner, F_EXIT, f->session, f->data, f->len);
    if (f->session == 0 && f->len == 4) {
      container_status = (int)le32_at(f->data);
      shutdown_and_exit();
    }
    close_session(s);
    break;
  }
}

/* Reads from a client, keeping fds passed with SCM_RIGHTS. */
static long conn_fill(struct conn *c) {
  if (c->rd.cap - c->rd.len < 65536) {
    size_t cap = c->rd.cap ? c->rd.cap * 2 : 131072;
    unsigned char *b = realloc(c->rd.buf, cap);
    if (!b) return -1;
    c->rd.buf = b, c->rd.cap = cap;
  }
  char cbuf[CMSG_SPACE(3 * sizeof(int))];
  struct iovec iov = {.iov_base = c->rd.buf + c->rd.len, .iov_len = c->rd.cap - c->rd.len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n;
  do n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  c->rd.len += (size_t)n;
  for (struct cmsghdr *m = CMSG_FIRSTHDR(&msg); m; m = CMSG_NXTHDR(&msg, m)) {
    if (m->cmsg_level != SOL_SOCKET || m->cmsg_type != SCM_RIGHTS) continue;
    int count = (int)((m->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int k = 0; k < count; k++) {
      int fd;
      memcpy(&fd, CMSG_DATA(m) + k * sizeof(int), sizeof fd);
      if (c->nfds < 3) c->fds[c->nfds++] = fd;
      else close(fd);
    }
  }
  return n;
}

static int add_conn(int fd, int channel) {
  for (int i = 0; i < MAX_CONNS; i++) {
    if (conns[i].fd >= 0) continue;
    conns[i] = (struct conn){.fd = fd, .session = -1, .channel = channel, .console_in = -1};
    return i;
  }
  close(fd);
  return -1;
}

static const int FORWARDED[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM, SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH, SIGURG, SIGPWR, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ};

int vm_monitor_main(int argc, char **argv) {
  if (argc != 3) {
    dprintf(2, "usage: berth-spawn --vm-monitor <channel-fd>\n");
    return 2;
  }
  for (int i = 0; i < MAX_CONNS; i++) conns[i].fd = -1;
  int chan = atoi(argv[2]);
  fcntl(chan, F_SETFD, FD_CLOEXEC);
  read_config(chan);
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++) sigaddset(&mask, FORWARDED[i]);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  int log = cfg.log ? open(cfg.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
  int ctl = unix_listen(cfg.ctl, 16);
  if (ctl < 0) die(cfg.ctl);
  if (cfg.console) {
    tty = make_pty(cfg.console);
    if (tty < 0) die(cfg.console);
    /* The pty as our controlling terminal: the caller's resizes of the master reach us as SIGWINCH. */
    ioctl(tty, TIOCSCTTY, 0);
  }
  int port[2], q[2], vhost = -1;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, port) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, q) < 0) die("socketpair");
  if (cfg.nvirtiofsd) {
    int ls = unix_listen(cfg.vfs_socket, 1);
    if (ls < 0) die(cfg.vfs_socket);
    vhost = unix_connect(cfg.vfs_socket);
    if (vhost < 0) die(cfg.vfs_socket);
    unlink(cfg.vfs_socket);
    vfs_pid = start_virtiofsd(ls, log);
    close(ls);
  }
  qemu_pid = start_qemu(port[1], q[1], vhost, log);
  close(port[1]), close(q[1]);
  if (vhost >= 0) close(vhost);
  if (log >= 0) close(log);
  agent = port[0], qmp_fd = q[0];
  int chan_conn = add_conn(chan, 1);
  (void)chan_conn;

  struct frame_reader ard = {0};
  int stdin_open = 1;
  for (;;) {
    struct pollfd p[4 + MAX_CONNS + MAX_SESSIONS];
    int who[4 + MAX_CONNS + MAX_SESSIONS];
    int n = 0;
    p[n] = (struct pollfd){.fd = agent, .events = POLLIN}, who[n++] = -1;
    p[n] = (struct pollfd){.fd = sfd, .events = POLLIN}, who[n++] = -2;
    p[n] = (struct pollfd){.fd = ctl, .events = POLLIN}, who[n++] = -3;
    int stdin_fd = tty >= 0 ? tty : 0;
    if (stdin_open && session_by_id(0)) p[n] = (struct pollfd){.fd = stdin_fd, .events = POLLIN}, who[n++] = -4;
    for (int i = 0; i < MAX_CONNS; i++)
      if (conns[i].fd >= 0) p[n] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN}, who[n++] = i;
    for (int i = 0; i < MAX_SESSIONS; i++)
      if (sessions[i].used && sessions[i].id != 0 && sessions[i].in >= 0) p[n] = (struct pollfd){.fd = sessions[i].in, .events = POLLIN}, who[n++] = 1000 + i;
    if (poll(p, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (int i = 0; i < n; i++) {
      if (!p[i].revents) continue;
      int w = who[i];
      if (w == -1) {
        if (frame_fill(&ard, agent) <= 0) shutdown_and_exit(); /* QEMU is gone */
        struct frame f;
        while (frame_next(&ard, &f) == 1) {
          from_agent(&f);
          frame_free(&f);
        }
      } else if (w == -2) {
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == sizeof si) {
          if (si.ssi_signo == SIGCHLD) {
            int st;
            pid_t pid;
            while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
              if (pid == qemu_pid) qemu_pid = 0, shutdown_and_exit();
              if (pid == vfs_pid) vfs_pid = 0; /* QEMU notices: the guest's share fails */
            }
          } else if (si.ssi_signo == SIGWINCH && tty >= 0) {
            struct winsize ws;
            if (ioctl(tty, TIOCGWINSZ, &ws) == 0) {
              unsigned char b[4] = {ws.ws_row & 0xff, ws.ws_row >> 8, ws.ws_col & 0xff, ws.ws_col >> 8};
              frame_write(agent, F_RESIZE, 0, b, 4);
            }
          } else {
            frame_write_u32(agent, F_KILL, 0, si.ssi_signo);
          }
        }
      } else if (w == -3) {
        int fd = accept4(ctl, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) add_conn(fd, 0);
      } else if (w == -4) {
        char buf[65536];
        ssize_t r = read(stdin_fd, buf, sizeof buf);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) {
          stdin_open = 0;
          frame_write(agent, F_STDIN_EOF, 0, NULL, 0);
        } else frame_write(agent, F_STDIN, 0, buf, (uint32_t)r);
      } else if (w >= 1000) {
        struct msession *s = &sessions[w - 1000];
        if (!s->used) continue;
        char buf[65536];
        ssize_t r = read(s->in, buf, sizeof buf);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) {
          frame_write(agent, F_STDIN_EOF, s->id, NULL, 0);
          if (s->in != s->out) close(s->in);
          s->in = -1;
        } else frame_write(agent, F_STDIN, s->id, buf, (uint32_t)r);
      } else if (conns[w].fd >= 0) {
        if (conn_fill(&conns[w]) <= 0) {
          /* The create channel closing before set-up is over abandons the container. */
          if (conns[w].channel == 1) {
            container_status = 1 << 8;
            shutdown_and_exit();
          }
          drop_conn(w);
          continue;
        }
        struct frame f;
        while (conns[w].fd >= 0 && frame_next(&conns[w].rd, &f) == 1) {
          from_client(w, &f);
          frame_free(&f);
        }
      }
    }
  }
}
