/* berth-vm-agent: PID 1 of a berth-vm guest. It decides nothing about containers: the host
 * compiles every plan; the agent boots the guest far enough to run them (modules, the shared
 * root filesystem), starts berth-spawn for each plan it receives, and relays berth-spawn's
 * channel, the processes' stdio and their exit statuses over a virtio-serial port (vm-frame.h).
 *
 * Boot: /etc/berth/modules lists kernel modules in load order (the host worked it out from
 * modules.dep); the agent moves itself from the initramfs onto a tmpfs root (pivot_root refuses a
 * rootfs root), mounts the host's share (virtiofs tag "berth") at /run/berth/share and finds the
 * port named "berth.ctl". With "berth.probe" on the kernel command line it only prints a marker
 * on the console and powers off (the host's accelerator probe). */
#include "console-relay.h"
#include "vm-frame.h"
#include "vm-net.h"
#include "vm-sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SESSIONS 64
#define SPAWN "/sbin/berth-spawn"
#define SHARE "/run/berth/share"
#define SHARE_IN_NEWROOT "/newroot" SHARE

struct session {
  int used;
  uint32_t id;
  pid_t helper; /* berth-spawn */
  pid_t pid;    /* the process (from berth-spawn's "pid N"), 0 until known */
  int chan, in, out, err, console_listen, console_conn, master;
  char console_path[108];
  struct frame_reader chan_rd;
  unsigned char *pending; /* stdin not yet accepted by the process */
  size_t pending_len;
  int stdin_eof;
  int has_console; /* input waits for the pty master, not the stdin pipe */
};

static struct session sessions[MAX_SESSIONS];
static int port = -1;

static __attribute__((noreturn)) void power_off(const char *why) {
  if (why) dprintf(2, "berth-vm-agent: %s: %s\n", why, strerror(errno));
  sync();
  reboot(RB_POWER_OFF);
  for (;;) pause();
}

static void send_frame(uint32_t type, uint32_t session, const void *data, uint32_t len) {
  if (frame_write(port, type, session, data, len) < 0) power_off("write to the host");
}

static void load_modules(void) {
  FILE *list = fopen("/etc/berth/modules", "re");
  if (!list) return;
  char line[512];
  while (fgets(line, sizeof line, list)) {
    line[strcspn(line, "\n")] = 0;
    if (!*line) continue;
    int fd = open(line, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
      dprintf(2, "berth-vm-agent: load module %s: %s\n", line, strerror(errno));
    if (fd >= 0) close(fd);
  }
  fclose(list);
}

static void must(int rc, const char *what) {
  if (rc < 0) power_off(what);
}

static void copy_file(const char *from, const char *to, mode_t mode) {
  int in = open(from, O_RDONLY | O_CLOEXEC), out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (in < 0 || out < 0) power_off(from);
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) power_off(to);
  close(in), close(out);
}

/* The initramfs is the rootfs mount, which pivot_root (in every container's plan) refuses to
 * leave: move onto a tmpfs, as switch_root does. */
static void switch_to_tmpfs_root(void) {
  must(mkdir("/newroot", 0755), "mkdir /newroot");
  must(mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID, "mode=755"), "mount tmpfs root");
  const char *dirs[] = {"/newroot/dev", "/newroot/proc", "/newroot/sys", "/newroot/run", "/newroot/run/berth", SHARE_IN_NEWROOT, "/newroot/sbin", "/newroot/tmp", NULL};
  for (int i = 0; dirs[i]; i++) must(mkdir(dirs[i], 0755), dirs[i]);
  copy_file(SPAWN, "/newroot" SPAWN, 0755);
  must(chdir("/newroot"), "chdir /newroot");
  must(mount(".", "/", NULL, MS_MOVE, NULL), "move the tmpfs root");
  must(chroot("."), "chroot");
  must(chdir("/"), "chdir /");
  must(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make / private");
}

static void boot(void) {
  mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=755");
  mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  load_modules();
  umount2("/proc", MNT_DETACH), umount2("/sys", MNT_DETACH), umount2("/dev", MNT_DETACH);
  switch_to_tmpfs_root();
  must(mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=755"), "mount /dev");
  must(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount /proc");
  must(mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount /sys");
  mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  must(mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"), "mount /tmp");
  mkdir("/dev/pts", 0755);
  mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620");
  /* Free page reporting hands only free blocks of this order (2^5 pages, 128 KiB) and up back
   * to the host; the kernel's default (a 2 MiB pageblock) leaves ~20 MB the boot touched and
   * freed in smaller pieces on the host's bill. Set here, after virtio_balloon registered: 6.1
   * overrides page_reporting.page_reporting_order= from the command line when it does. */
  int fd = open("/sys/module/page_reporting/parameters/page_reporting_order", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "5", 1) != 1) dprintf(2, "berth-vm-agent: page_reporting_order: %s\n", strerror(errno));
  if (fd >= 0) close(fd);
}

static int cmdline_has(const char *word) {
  char buf[4096] = {0};
  int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
    if (strcmp(t, word) == 0) return 1;
  return 0;
}

/* /dev/vport*: the one whose sysfs name is berth.ctl. The device node may appear a moment after
 * the module loads. */
static int open_port(void) {
  char name[256], path[300];
  if (sysfs_find("/sys/class/virtio-ports", "name", "berth.ctl", 9, 0, name, sizeof name, 500) == 0) {
    snprintf(path, sizeof path, "/dev/%s", name);
    /* The device node may appear a moment after the sysfs entry. */
    for (int tries = 0; tries < 500; tries++) {
      int p = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
      if (p >= 0) return p;
      struct timespec ms10 = {0, 10 * 1000 * 1000};
      nanosleep(&ms10, NULL);
    }
  }
  power_off("no virtio-serial port named berth.ctl");
}

/* The pty master berth-spawn sends once the container's terminal exists (SCM_RIGHTS). */
static int receive_master(int conn) {
  char buf[64], cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n;
  do n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static struct session *find_session(uint32_t id) {
  for (int i = 0; i < MAX_SESSIONS; i++)
    if (sessions[i].used && sessions[i].id == id) return &sessions[i];
  return NULL;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void end_session(struct session *s) {
  close_fd(&s->chan), close_fd(&s->in), close_fd(&s->out), close_fd(&s->err), close_fd(&s->console_listen), close_fd(&s->console_conn), close_fd(&s->master);
  if (s->console_path[0]) unlink(s->console_path);
  free(s->chan_rd.buf);
  free(s->pending);
  memset(s, 0, sizeof *s);
}

static void start_plan(uint32_t id, const unsigned char *data, uint32_t len) {
  const char *console = (const char *)data;
  size_t clen = strnlen(console, len);
  if (clen == len || clen >= sizeof sessions[0].console_path || find_session(id)) {
    send_frame(F_CHAN, id, "error -1 22 bad plan frame", 26);
    return;
  }
  struct session *s = NULL;
  for (int i = 0; i < MAX_SESSIONS && !s; i++)
    if (!sessions[i].used) s = &sessions[i];
  if (!s) {
    send_frame(F_CHAN, id, "error -1 24 too many processes", 30);
    return;
  }
  int chan[2], in[2], out[2], err[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) < 0 || pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    send_frame(F_CHAN, id, "error -1 24 no pipes", 20);
    return;
  }
  *s = (struct session){.used = 1, .id = id, .chan = chan[0], .in = in[1], .out = out[0], .err = err[0], .console_listen = -1, .console_conn = -1, .master = -1};
  if (clen) {
    s->has_console = 1;
    memcpy(s->console_path, console, clen);
    unlink(s->console_path);
    s->console_listen = console_listen(s->console_path);
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0), dup2(out[1], 1), dup2(err[1], 2), dup2(chan[1], 3);
    char *argv[] = {"berth-spawn", "3", NULL}, *envp[] = {"PATH=/sbin:/bin:/usr/sbin:/usr/bin", NULL};
    execve(SPAWN, argv, envp);
    _exit(127);
  }
  close(in[0]), close(out[1]), close(err[1]), close(chan[1]);
  fcntl(s->in, F_SETFL, O_NONBLOCK);
  s->helper = pid;
  const unsigned char *plan = data + clen + 1;
  size_t plen = len - clen - 1;
  for (size_t off = 0; off < plen;) {
    ssize_t n = write(s->chan, plan + off, plen - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += (size_t)n;
  }
}

/* Lines from berth-spawn go to the host as they are; the agent only notes the pid. */
static void relay_chan(struct session *s) {
  long n = frame_fill(&s->chan_rd, s->chan);
  if (n <= 0) {
    close_fd(&s->chan);
    return;
  }
  unsigned char *nl;
  while ((nl = memchr(s->chan_rd.buf, '\n', s->chan_rd.len))) {
    size_t linelen = (size_t)(nl - s->chan_rd.buf);
    if (linelen > 4 && memcmp(s->chan_rd.buf, "pid ", 4) == 0) s->pid = (pid_t)atoi((char *)s->chan_rd.buf + 4);
    send_frame(F_CHAN, s->id, s->chan_rd.buf, (uint32_t)linelen);
    memmove(s->chan_rd.buf, nl + 1, s->chan_rd.len - linelen - 1);
    s->chan_rd.len -= linelen + 1;
  }
}

/* Copies what is readable from fd to the host; -1 on EOF. */
static int relay_output(struct session *s, int fd, uint32_t type) {
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return -1;
  send_frame(type, s->id, buf, (uint32_t)n);
  return 0;
}

static void flush_stdin(struct session *s) {
  if (s->has_console && s->master < 0) return;
  int fd = s->master >= 0 ? s->master : s->in;
  while (s->pending_len && fd >= 0) {
    ssize_t n = write(fd, s->pending, s->pending_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      s->pending_len = 0;
      break;
    }
    memmove(s->pending, s->pending + n, s->pending_len - (size_t)n);
    s->pending_len -= (size_t)n;
  }
  if (!s->pending_len && s->stdin_eof && s->master < 0) close_fd(&s->in);
}

static void queue_stdin(struct session *s, const unsigned char *data, uint32_t len) {
  unsigned char *p = realloc(s->pending, s->pending_len + len);
  if (!p) return;
  s->pending = p;
  memcpy(p + s->pending_len, data, len);
  s->pending_len += len;
  flush_stdin(s);
}

/* The process is gone: pass on what it wrote before it ended, then its status. Other processes
 * may still hold its pipes (no pid namespace): wait a little, not for ever. */
static void finish_session(struct session *s, int status) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    struct pollfd p[4] = {{.fd = s->out, .events = POLLIN}, {.fd = s->err, .events = POLLIN}, {.fd = s->master, .events = POLLIN}, {.fd = s->chan, .events = POLLIN}};
    if (s->out < 0 && s->err < 0 && s->master < 0 && s->chan < 0) break;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (waited > 500 || poll(p, 4, (int)(500 - waited)) <= 0) break;
    if (p[0].revents && relay_output(s, s->out, F_STDOUT) < 0) close_fd(&s->out);
    if (p[1].revents && relay_output(s, s->err, F_STDERR) < 0) close_fd(&s->err);
    if (p[2].revents && relay_output(s, s->master, F_STDOUT) < 0) close_fd(&s->master);
    if (p[3].revents) relay_chan(s); /* an error line berth-spawn wrote before it ended */
  }
  frame_write_u32(port, F_EXIT, s->id, (uint32_t)status);
  end_session(s);
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int i = 0; i < MAX_SESSIONS; i++) {
      struct session *s = &sessions[i];
      if (!s->used) continue;
      if (pid == s->helper) {
        s->helper = 0;
        /* berth-spawn failed before the process existed: its error line is on the channel. */
        if (!s->pid) finish_session(s, status ? status : 1 << 8);
      } else if (pid == s->pid) {
        finish_session(s, status);
      }
    }
  }
}

static void write_file(uint32_t tag, const unsigned char *data, uint32_t len) {
  const char *path = (const char *)data;
  size_t plen = strnlen(path, len);
  uint32_t err = 0;
  if (plen == len) err = EINVAL;
  else {
    /* Non-blocking open: a fifo without a reader (the process died) must not hang the agent. */
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) err = (uint32_t)errno;
    else {
      fcntl(fd, F_SETFL, 0);
      const unsigned char *p = data + plen + 1;
      size_t left = len - plen - 1;
      while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          err = (uint32_t)errno;
          break;
        }
        p += n, left -= (size_t)n;
      }
      close(fd);
    }
  }
  frame_write_u32(port, F_REPLY, tag, err);
}

/* "pid<TAB>command line" for every process but the agent and kernel threads. */
static void list_processes(uint32_t tag) {
  size_t cap = 65536, len = 0;
  char *out = malloc(cap);
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (out && d && (e = readdir(d))) {
    int pid = atoi(e->d_name);
    if (pid <= 1) continue;
    char path[64], cmd[1024];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, cmd, sizeof cmd - 1);
    close(fd);
    if (n <= 0) continue;
    for (ssize_t i = 0; i < n - 1; i++)
      if (!cmd[i]) cmd[i] = ' ';
    cmd[n] = 0;
    if (len + (size_t)n + 32 > cap) break;
    len += (size_t)snprintf(out + len, cap - len, "%d\t%s\n", pid, cmd);
  }
  if (d) closedir(d);
  send_frame(F_REPLY, tag, out ? out : "", (uint32_t)len);
  free(out);
}

static void handle(struct frame *f) {
  struct session *s = find_session(f->session);
  switch (f->type) {
  case F_PLAN: start_plan(f->session, f->data, f->len); break;
  case F_ACK:
    if (s && s->chan >= 0 && write(s->chan, f->data, f->len) < 0) close_fd(&s->chan);
    break;
  case F_STDIN:
    if (s) queue_stdin(s, f->data, f->len);
    break;
  case F_STDIN_EOF:
    if (s) {
      s->stdin_eof = 1;
      flush_stdin(s);
    }
    break;
  case F_KILL:
    if (s && s->pid && f->len == 4) kill(s->pid, (int)le32_at(f->data));
    break;
  case F_KILL_ALL:
    if (f->len == 4) kill(-1, (int)le32_at(f->data));
    break;
  case F_WRITE: write_file(f->session, f->data, f->len); break;
  case F_PS: list_processes(f->session); break;
  case F_NET: {
    char msg[512] = {0}, reply[4 + sizeof msg];
    uint32_t e = (uint32_t)net_configure((char *)f->data, msg, sizeof msg);
    memcpy(reply, (unsigned char[4]){e & 0xff, (e >> 8) & 0xff, (e >> 16) & 0xff, e >> 24}, 4);
    memcpy(reply + 4, msg, strlen(msg));
    send_frame(F_REPLY, f->session, reply, (uint32_t)(4 + strlen(msg)));
    break;
  }
  case F_RESIZE:
    if (s && s->master >= 0 && f->len == 4) {
      struct winsize ws = {.ws_row = (unsigned short)(f->data[0] | f->data[1] << 8), .ws_col = (unsigned short)(f->data[2] | f->data[3] << 8)};
      ioctl(s->master, TIOCSWINSZ, &ws);
    }
    break;
  }
}

int main(void) {
  if (getpid() != 1) {
    dprintf(2, "berth-vm-agent: runs only as PID 1 of a berth-vm guest\n");
    return 2;
  }
  boot();
  struct utsname u;
  uname(&u);
  if (cmdline_has("berth.probe")) {
    int con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    dprintf(con >= 0 ? con : 1, "berth-vm-probe-ok %s\n", u.release);
    power_off(NULL);
  }
  must(mount("berth", SHARE, "virtiofs", MS_NOSUID | MS_NODEV, NULL), "mount the host's share (virtiofs)");
  port = open_port();
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  send_frame(F_READY, 0, u.release, (uint32_t)strlen(u.release));

  struct frame_reader rd = {0};
  for (;;) {
    struct pollfd p[2 + MAX_SESSIONS * 7];
    struct { struct session *s; int which; } who[2 + MAX_SESSIONS * 7];
    int n = 0;
    p[n++] = (struct pollfd){.fd = port, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (int i = 0; i < MAX_SESSIONS; i++) {
      struct session *s = &sessions[i];
      if (!s->used) continue;
      int fds[5] = {s->chan, s->out, s->err, s->console_listen, s->master};
      for (int k = 0; k < 5; k++) {
        if (fds[k] < 0) continue;
        short ev = POLLIN;
        if (k == 4 && s->pending_len) ev |= POLLOUT;
        who[n].s = s, who[n].which = k;
        p[n++] = (struct pollfd){.fd = fds[k], .events = ev};
      }
      if (s->console_conn >= 0) {
        who[n].s = s, who[n].which = 6;
        p[n++] = (struct pollfd){.fd = s->console_conn, .events = POLLIN};
      }
      if (s->pending_len && s->in >= 0 && !s->has_console) {
        who[n].s = s, who[n].which = 5;
        p[n++] = (struct pollfd){.fd = s->in, .events = POLLOUT};
      }
    }
    if (poll(p, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      power_off("poll");
    }
    if (p[0].revents) {
      if (frame_fill(&rd, port) <= 0) power_off("the host closed the port");
      struct frame f;
      int r;
      while ((r = frame_next(&rd, &f)) == 1) {
        handle(&f);
        frame_free(&f);
      }
      if (r < 0) power_off("malformed frame from the host");
    }
    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {}
      reap();
      continue; /* sessions may have ended: the poll set is stale */
    }
    for (int i = 2; i < n; i++) {
      if (!p[i].revents) continue;
      struct session *s = who[i].s;
      if (!s->used) continue;
      switch (who[i].which) {
      case 0: relay_chan(s); break;
      case 1:
        if (relay_output(s, s->out, F_STDOUT) < 0) close_fd(&s->out);
        break;
      case 2:
        if (relay_output(s, s->err, F_STDERR) < 0) close_fd(&s->err);
        break;
      case 3:
        /* berth-spawn connects before the clone but sends the master only once the terminal
         * exists, much later: wait for it in the loop, not here. */
        s->console_conn = accept4(s->console_listen, NULL, NULL, SOCK_CLOEXEC);
        close_fd(&s->console_listen);
        unlink(s->console_path);
        s->console_path[0] = 0;
        break;
      case 6:
        s->master = receive_master(s->console_conn);
        close_fd(&s->console_conn);
        if (s->master >= 0) fcntl(s->master, F_SETFL, O_NONBLOCK);
        flush_stdin(s);
        break;
      case 4:
        if (p[i].revents & POLLOUT) flush_stdin(s);
        if (p[i].revents & (POLLIN | POLLHUP | POLLERR) && relay_output(s, s->master, F_STDOUT) < 0) close_fd(&s->master);
        break;
      case 5: flush_stdin(s); break;
      }
    }
  }
}
