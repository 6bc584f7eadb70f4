/* The monitor's attach and control socket: clients (`berth attach`) receive the container's output
 * and send its input. A stream socket carrying frames [type u8][length u32 big-endian][payload]:
 *   monitor -> client: 1 stdout, 2 stderr, 6 log reopened (errno u32, 0 for success),
 *                      8 the container exited (status u32, time u64: Unix ns), then the monitor
 *                      closes the connection
 *   client -> monitor: 0 stdin data, 3 end of stdin, 4 terminal size (rows u16, cols u16),
 *                      5 reopen the log file (CRI ReopenContainerLog: it was renamed away),
 *                      7 no output to this client from now on (a watcher of exits)
 * A client that cannot take output as fast as the container writes it is dropped, never waited
 * for: the container must not stall on a slow reader. */
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum { FRAME_STDIN = 0, FRAME_STDIN_END = 3, FRAME_RESIZE = 4, FRAME_REOPEN_LOG = 5, FRAME_LOG_REOPENED = 6, FRAME_QUIET = 7, FRAME_EXIT = 8, HEADER = 5 };

void attach_init(struct attach *a) {
  a->ls = -1;
  for (int i = 0; i < ATTACH_MAX; i++) a->clients[i] = -1, a->len[i] = 0, a->quiet[i] = 0;
}

/* Binds `path`, going through /proc/self/fd/<dir> when it is longer than sun_path allows. */
int attach_listen(struct attach *a, const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  char dir_copy[4096], base_copy[4096];
  int dirfd = -1;
  if (strlen(path) < sizeof addr.sun_path) {
    strcpy(addr.sun_path, path);
  } else {
    if (strlen(path) >= sizeof dir_copy) return -1;
    strcpy(dir_copy, path);
    strcpy(base_copy, path);
    dirfd = open(dirname(dir_copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 || snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, basename(base_copy)) >= (int)sizeof addr.sun_path) {
      if (dirfd >= 0) close(dirfd);
      errno = ENAMETOOLONG;
      return -1;
    }
  }
  int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  /* Only the owner (root) may connect: the socket types into the container. */
  mode_t old_umask = umask(0177);
  int rc = ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, ATTACH_MAX) < 0 ? -1 : 0;
  umask(old_umask);
  int saved = errno;
  if (dirfd >= 0) close(dirfd);
  if (rc < 0) {
    if (ls >= 0) close(ls);
    errno = saved;
    return -1;
  }
  a->ls = ls;
  return 0;
}

int attach_pollfds(const struct attach *a, struct pollfd *fds) {
  fds[0] = (struct pollfd){.fd = a->ls, .events = POLLIN};
  for (int i = 0; i < ATTACH_MAX; i++) fds[1 + i] = (struct pollfd){.fd = a->clients[i], .events = POLLIN};
  return 1 + ATTACH_MAX;
}

static void drop(struct attach *a, int i) {
  close(a->clients[i]);
  a->clients[i] = -1;
  a->len[i] = 0;
  a->quiet[i] = 0;
}

static void write_input(int fd, const unsigned char *buf, size_t len) {
  while (fd >= 0 && len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      poll(&p, 1, 1000);
      continue;
    }
    if (n <= 0) return;
    buf += n;
    len -= (size_t)n;
  }
}

/* One frame to client i, or the client is dropped (it lags, or it is gone). 0 if it was sent. */
static int send_frame(struct attach *a, int i, int type, const void *data, size_t len) {
  unsigned char header[HEADER] = {(unsigned char)type, (unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len};
  struct iovec iov[2] = {{header, HEADER}, {(void *)data, len}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
  if (sendmsg(a->clients[i], &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)(HEADER + len)) return 0;
  drop(a, i);
  return -1;
}

static void handle_frames(struct attach *a, int i, struct attach_target *in) {
  size_t off = 0;
  while (a->len[i] - off >= HEADER) {
    const unsigned char *f = a->buf[i] + off;
    uint32_t len = (uint32_t)f[1] << 24 | (uint32_t)f[2] << 16 | (uint32_t)f[3] << 8 | f[4];
    if (len > ATTACH_FRAME_MAX) {
      drop(a, i);
      return;
    }
    if (a->len[i] - off < HEADER + len) break;
    const unsigned char *p = f + HEADER;
    if (f[0] == FRAME_STDIN) {
      write_input(in->fd, p, len);
    } else if (f[0] == FRAME_STDIN_END) {
      if (in->is_tty) {
        unsigned char eof = 4; /* ^D: end of input for the program on the terminal */
        write_input(in->fd, &eof, 1);
      } else if (in->fd >= 0) {
        close(in->fd);
        in->fd = -1;
      }
    } else if (f[0] == FRAME_RESIZE && len == 4 && in->is_tty) {
      struct winsize ws = {.ws_row = (unsigned short)(p[0] << 8 | p[1]), .ws_col = (unsigned short)(p[2] << 8 | p[3])};
      ioctl(in->fd, TIOCSWINSZ, &ws);
    } else if (f[0] == FRAME_QUIET) {
      a->quiet[i] = 1;
    } else if (f[0] == FRAME_REOPEN_LOG) {
      uint32_t err = in->reopen_log ? (uint32_t)in->reopen_log(in->ctx) : ENOTSUP;
      unsigned char reply[4] = {(unsigned char)(err >> 24), (unsigned char)(err >> 16), (unsigned char)(err >> 8), (unsigned char)err};
      if (send_frame(a, i, FRAME_LOG_REOPENED, reply, sizeof reply) < 0) return;
    }
    off += HEADER + len;
  }
  memmove(a->buf[i], a->buf[i] + off, a->len[i] - off);
  a->len[i] -= off;
}

void attach_handle(struct attach *a, const struct pollfd *fds, struct attach_target *in) {
  if (a->ls >= 0 && fds[0].revents & POLLIN) {
    int c = accept4(a->ls, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c >= 0) {
      int slot = -1;
      for (int i = 0; i < ATTACH_MAX && slot < 0; i++)
        if (a->clients[i] < 0) slot = i;
      if (slot < 0) close(c);
      else a->clients[slot] = c;
    }
  }
  for (int i = 0; i < ATTACH_MAX; i++) {
    if (a->clients[i] < 0 || fds[1 + i].fd != a->clients[i] || !(fds[1 + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = read(a->clients[i], a->buf[i] + a->len[i], sizeof a->buf[i] - a->len[i]);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      drop(a, i);
      continue;
    }
    a->len[i] += (size_t)n;
    handle_frames(a, i, in);
  }
}

void attach_send(struct attach *a, int stream, const char *data, size_t len) {
  while (len > 0) {
    size_t take = len < ATTACH_FRAME_MAX ? len : ATTACH_FRAME_MAX;
    for (int i = 0; i < ATTACH_MAX; i++)
      if (a->clients[i] >= 0 && !a->quiet[i]) send_frame(a, i, stream + 1, data, take);
    data += take;
    len -= take;
  }
}

void attach_exit(struct attach *a, int status, long long unix_ns) {
  unsigned char p[12];
  uint32_t s = (uint32_t)status;
  uint64_t t = (uint64_t)unix_ns;
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(s >> (24 - 8 * i));
  for (int i = 0; i < 8; i++) p[4 + i] = (unsigned char)(t >> (56 - 8 * i));
  for (int i = 0; i < ATTACH_MAX; i++)
    if (a->clients[i] >= 0) send_frame(a, i, FRAME_EXIT, p, sizeof p);
}

void attach_close(struct attach *a, const char *path) {
  for (int i = 0; i < ATTACH_MAX; i++)
    if (a->clients[i] >= 0) drop(a, i);
  if (a->ls >= 0) close(a->ls);
  a->ls = -1;
  if (path) unlink(path);
}
