/* Reading a container's fast-path file, and the liveness check that turns it into a status.
 * Format (src/runtime/fast-path.ts): the line "berth-runtime fast path v1", then fields
 * "<key> <length>\n<length bytes>\n". */
#include "front.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char HEADER[] = "berth-runtime fast path v1\n";
#define MAX_FILE (4 << 20)

int valid_id(const char *id) {
  size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-.");
  return n > 0 && id[n] == '\0' && n <= 1024 && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Reads a whole regular file into a NUL-terminated buffer. */
static char *read_file(const char *path, size_t *size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return NULL;
  struct stat sb;
  char *buf = NULL;
  if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > MAX_FILE) {
    errno = EINVAL;
    goto out;
  }
  buf = malloc((size_t)sb.st_size + 1);
  if (!buf) goto out;
  size_t got = 0;
  while (got < (size_t)sb.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      free(buf);
      buf = NULL;
      errno = EINVAL; /* shorter than fstat said: being replaced, leave it to Node */
      goto out;
    }
    got += (size_t)n;
  }
  buf[got] = '\0';
  *size = got;
out:
  close(fd);
  return buf;
}

static int parse_number(const char *s, size_t len, unsigned long long max, unsigned long long *out) {
  if (len == 0 || len > 20) return -1;
  unsigned long long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    unsigned long long d = (unsigned long long)(s[i] - '0');
    if (v > (max - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

static int parse_fields(struct fast_path *fp, char *buf, size_t size) {
  size_t hl = sizeof HEADER - 1;
  if (size < hl || memcmp(buf, HEADER, hl) != 0) return -1;
  char *p = buf + hl, *end = buf + size;
  while (p < end) {
    if (fp->nfields == MAX_FIELDS) return -1;
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *sp = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
    unsigned long long len;
    if (!sp || sp == p || parse_number(sp + 1, (size_t)(nl - sp - 1), MAX_FILE, &len) < 0) return -1;
    if (len + 1 > (unsigned long long)(end - nl - 1) || nl[1 + len] != '\n') return -1;
    *sp = '\0';
    nl[1 + len] = '\0'; /* values are also C strings (those that hold no NUL) */
    fp->fields[fp->nfields++] = (struct field){.key = p, .val = nl + 1, .len = (size_t)len};
    p = nl + 2 + len;
  }
  return 0;
}

/* Whether <dir>/state.json is still the file the data was derived from (field "state-file":
 * inode, size, mtime in ns): Node writes both, and an edit by anything else means Node must
 * read state.json. */
static int same_state_file(const struct fast_path *fp, const char *dir) {
  const struct field *f = fast_field(fp, "state-file", NULL);
  char path[4096];
  struct stat sb;
  unsigned long long ino, size, mtime;
  if (!f || sscanf(f->val, "%llu %llu %llu", &ino, &size, &mtime) != 3) return 0;
  if ((size_t)snprintf(path, sizeof path, "%s/state.json", dir) >= sizeof path || stat(path, &sb) < 0) return 0;
  unsigned long long ns = (unsigned long long)sb.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)sb.st_mtim.tv_nsec;
  return sb.st_ino == ino && (unsigned long long)sb.st_size == size && ns == mtime;
}

int fast_path_load(const char *dir, struct fast_path *fp) {
  char path[4096];
  memset(fp, 0, sizeof *fp);
  if ((size_t)snprintf(path, sizeof path, "%s/fast-path.v1", dir) >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  size_t size;
  fp->buf = read_file(path, &size);
  if (!fp->buf) return -1;
  const struct field *pid = NULL, *start = NULL;
  unsigned long long v;
  if (parse_fields(fp, fp->buf, size) < 0 || !(pid = fast_field(fp, "pid", NULL)) || !(start = fast_field(fp, "start-time", NULL)) ||
      parse_number(pid->val, pid->len, 0x7fffffff, &v) < 0 || v == 0) {
    fast_path_free(fp);
    errno = EINVAL;
    return -1;
  }
  fp->pid = (long)v;
  if (parse_number(start->val, start->len, ~0ULL, &fp->start_time) < 0 || !same_state_file(fp, dir)) {
    fast_path_free(fp);
    errno = EINVAL;
    return -1;
  }
  return 0;
}

void fast_path_free(struct fast_path *fp) {
  free(fp->buf);
  fp->buf = NULL;
  fp->nfields = 0;
}

const struct field *fast_field(const struct fast_path *fp, const char *key, const struct field *after) {
  int i = after ? (int)(after - fp->fields) + 1 : 0;
  for (; i < fp->nfields; i++)
    if (strcmp(fp->fields[i].key, key) == 0) return &fp->fields[i];
  return NULL;
}

int needs_node(const struct fast_path *fp, const char *command) {
  const struct field *f = fast_field(fp, "needs-node", NULL);
  if (!f) return 1; /* the file always says; a file that doesn't is not one this front knows */
  size_t n = strlen(command);
  for (const char *p = f->val; (p = strstr(p, command)) != NULL; p += n)
    if ((p == f->val || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
  return 0;
}

int process_alive(long pid, unsigned long long start_time) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  /* "pid (comm) state ..." where comm may hold spaces and parentheses: fields count from the
   * last ')'. After it, field 3 (state) comes first and field 22 (starttime) is the 20th. */
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ') return 0;
  p += 2;
  if (*p == 'Z' || *p == 'X') return 0;
  for (int i = 0; i < 19; i++) {
    p = strchr(p, ' ');
    if (!p) return 0;
    p++;
  }
  char *end;
  errno = 0;
  unsigned long long t = strtoull(p, &end, 10);
  return errno == 0 && end != p && t == start_time;
}

const char *fast_status(const struct fast_path *fp, const char *dir) {
  if (!process_alive(fp->pid, fp->start_time)) return "stopped";
  const struct field *fifo = fast_field(fp, "fifo", NULL);
  char path[4096];
  struct stat sb;
  if (fifo && (size_t)snprintf(path, sizeof path, "%s/%s", dir, fifo->val) < sizeof path && stat(path, &sb) == 0) return "created";
  return "running";
}
