#include "vm-frame.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

uint32_t le32_at(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

int frame_write(int fd, uint32_t type, uint32_t session, const void *data, uint32_t len) {
  unsigned char hdr[12];
  put32(hdr, type), put32(hdr + 4, session), put32(hdr + 8, len);
  struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)data, len}};
  size_t total = sizeof hdr + len, done = 0;
  while (done < total) {
    ssize_t n = writev(fd, iov, 2);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) continue; /* a non-blocking peer: spin until it drains */
    if (n <= 0) return -1;
    done += (size_t)n;
    for (int i = 0; i < 2 && n > 0; i++) {
      size_t take = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
      iov[i].iov_base = (char *)iov[i].iov_base + take;
      iov[i].iov_len -= take;
      n -= (ssize_t)take;
    }
  }
  return 0;
}

int frame_write_u32(int fd, uint32_t type, uint32_t session, uint32_t value) {
  unsigned char b[4];
  put32(b, value);
  return frame_write(fd, type, session, b, 4);
}

long frame_fill(struct frame_reader *r, int fd) {
  if (r->cap - r->len < 65536) {
    size_t cap = r->cap ? r->cap * 2 : 131072;
    unsigned char *b = realloc(r->buf, cap);
    if (!b) return -1;
    r->buf = b, r->cap = cap;
  }
  ssize_t n;
  do n = read(fd, r->buf + r->len, r->cap - r->len);
  while (n < 0 && errno == EINTR);
  if (n > 0) r->len += (size_t)n;
  return n;
}

int frame_next(struct frame_reader *r, struct frame *f) {
  if (r->len < 12) return 0;
  uint32_t len = le32_at(r->buf + 8);
  if (len > FRAME_MAX_PAYLOAD) return -1;
  if (r->len < 12 + (size_t)len) return 0;
  f->type = le32_at(r->buf), f->session = le32_at(r->buf + 4), f->len = len;
  f->data = malloc(len + 1);
  if (!f->data) return -1;
  memcpy(f->data, r->buf + 12, len);
  f->data[len] = 0;
  memmove(r->buf, r->buf + 12 + len, r->len - 12 - len);
  r->len -= 12 + len;
  return 1;
}

void frame_free(struct frame *f) {
  free(f->data);
  f->data = NULL;
}

int unix_addr(const char *path, struct sockaddr_un *a, int *dirfd) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  *dirfd = -1;
  if (strlen(path) < sizeof a->sun_path) {
    strcpy(a->sun_path, path);
    return 0;
  }
  const char *slash = strrchr(path, '/');
  if (!slash || strlen(slash) > 64) return errno = ENAMETOOLONG, -1;
  char dir[4096];
  snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  *dirfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*dirfd < 0) return -1;
  snprintf(a->sun_path, sizeof a->sun_path, "/proc/self/fd/%d%s", *dirfd, slash);
  return 0;
}
