/* berth-spawn --vm-exec <control-socket> <channel-fd>: the host process of a process exec'd into
 * a berth-vm container. Like the container's monitor, its pid stands for the process: it lives
 * as long as the process, exits with its status (or dies of its signal) and passes the signals
 * it gets on. It relays frames between berth-vm (the channel, until set-up is over) and the
 * monitor's control socket; F_STDIO from berth-vm goes on carrying this process's fds 0, 1, 2. */
#include "vm-frame.h"
#include "vm-monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const int FORWARDED[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM, SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH, SIGURG, SIGPWR};

static void send_stdio(int sock, struct frame *f) {
  unsigned char hdr[12] = {0};
  hdr[0] = F_STDIO;
  char cbuf[CMSG_SPACE(3 * sizeof(int))] = {0};
  int fds[3] = {0, 1, 2};
  struct iovec iov = {.iov_base = hdr, .iov_len = sizeof hdr};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  (void)f;
  while (sendmsg(sock, &msg, 0) < 0)
    if (errno != EINTR) _exit(255);
}

static __attribute__((noreturn)) void exit_like(int status) {
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  int sig = WTERMSIG(status);
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

int vm_exec_main(int argc, char **argv) {
  if (argc != 4) {
    dprintf(2, "usage: berth-spawn --vm-exec <control-socket> <channel-fd>\n");
    return 2;
  }
  int chan = atoi(argv[3]);
  fcntl(chan, F_SETFD, FD_CLOEXEC);
  struct sockaddr_un a;
  int dirfd = -1;
  int ctl = unix_addr(argv[2], &a, &dirfd) < 0 ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int connected = ctl >= 0 && connect(ctl, (struct sockaddr *)&a, sizeof a) == 0;
  if (dirfd >= 0) close(dirfd);
  if (!connected) {
    frame_write(chan, F_CHAN, 0, "error -1 111 cannot reach the container's monitor", 49);
    return 255;
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++) sigaddset(&mask, FORWARDED[i]);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  struct frame_reader from_chan = {0}, from_ctl = {0};
  for (;;) {
    struct pollfd p[3] = {{.fd = chan, .events = POLLIN}, {.fd = ctl, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return 255;
    }
    struct frame f;
    if (p[0].revents) {
      if (frame_fill(&from_chan, chan) <= 0) {
        close(chan);
        chan = -1;
      }
      while (frame_next(&from_chan, &f) == 1) {
        if (f.type == F_STDIO) send_stdio(ctl, &f);
        else if (frame_write(ctl, f.type, f.session, f.data, f.len) < 0) return 255;
        frame_free(&f);
      }
    }
    if (p[1].revents) {
      if (frame_fill(&from_ctl, ctl) <= 0) return 255; /* the container ended */
      while (frame_next(&from_ctl, &f) == 1) {
        if (chan >= 0) frame_write(chan, f.type, f.session, f.data, f.len);
        if (f.type == F_EXIT && f.len == 4) exit_like((int)le32_at(f.data));
        frame_free(&f);
      }
    }
    if (p[2].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) frame_write_u32(ctl, F_KILL, 0, si.ssi_signo);
    }
  }
}
