/* berth-spawn --console-relay <socket-path>: the other end of the console-socket protocol for a
 * foreground `run -t` / `exec -t`. Listens on the socket, receives the pty master (SCM_RIGHTS),
 * then copies between its own stdin/stdout and the pty until the container side closes it.
 * Puts a terminal stdin in raw mode while relaying and passes window size changes on. */
#include "console-relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t winch = 1;
static struct termios saved;
static int restore_tty = 0;

static void on_winch(int sig) {
  (void)sig;
  winch = 1;
}

static void restore(void) {
  if (restore_tty) tcsetattr(0, TCSANOW, &saved);
}

static int receive_fd(int conn) {
  char buf[256];
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n;
  do n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
    errno = EPROTO;
    return -1;
  }
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static int copy_once(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return -1;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    off += w;
  }
  return 0;
}

int console_listen(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(addr.sun_path, path);
  int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 1) < 0) {
    int saved_errno = errno;
    if (ls >= 0) close(ls);
    errno = saved_errno;
    return -1;
  }
  return ls;
}

int console_accept_master(int ls, const char *path) {
  int conn;
  do conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
  while (conn < 0 && errno == EINTR);
  if (conn < 0) return -1;
  int master = receive_fd(conn);
  int saved_errno = errno;
  close(conn);
  close(ls);
  unlink(path);
  errno = saved_errno;
  return master;
}

int console_relay(const char *path) {
  int ls = console_listen(path);
  if (ls < 0) {
    dprintf(2, "berth-spawn: listen on %s: %s\n", path, strerror(errno));
    return 1;
  }
  /* Tell the runtime the socket is ready: one line on stdout would mix with the container's
   * output, so the runtime waits for the socket file instead. */
  int master = console_accept_master(ls, path);
  if (master < 0) {
    dprintf(2, "berth-spawn: receive the pty master on %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (isatty(0) && tcgetattr(0, &saved) == 0) {
    struct termios raw = saved;
    cfmakeraw(&raw);
    if (tcsetattr(0, TCSANOW, &raw) == 0) {
      restore_tty = 1;
      atexit(restore);
    }
  }
  struct sigaction sa = {.sa_handler = on_winch};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGWINCH, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  int stdin_open = 1;
  for (;;) {
    if (winch) {
      winch = 0;
      struct winsize ws;
      if (isatty(0) && ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
    }
    struct pollfd fds[2] = {{.fd = master, .events = POLLIN}, {.fd = stdin_open ? 0 : -1, .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (copy_once(master, 1) < 0) break; /* EIO: every slave fd is closed, the container is done */
    }
    if (stdin_open && fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (copy_once(0, master) < 0) {
        stdin_open = 0;
        char eof = 4; /* ^D: end of input for the program on the terminal */
        ssize_t w = write(master, &eof, 1);
        (void)w;
      }
    }
  }
  return 0;
}
