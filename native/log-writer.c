/* The monitor's log file in the CRI format, one record a line:
 *   <RFC 3339 UTC time, ns> <stdout|stderr> <F|P> <text>\n
 * P marks a piece of a line that continues in the stream's next record (the CRI's partial tag).
 *
 * Rotation applies the limits TypeScript chose (docker's json-file max-size and max-file): before
 * a record would take the live file past max_size, path.<n-2> becomes path.<n-1>, ..., path becomes
 * path.1 (the oldest falls off), and a new path is opened: rename, then reopen. Records are
 * buffered and written whole, and the rotation happens between two of them, so no line is lost
 * or written twice across files and no file grows past the limit. A record longer than the limit
 * is cut into partial pieces that fit. */
#include "log-writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { HEAD_MAX = 64 };
static const char *stream_name[2] = {"stdout", "stderr"};

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

static int open_live(struct log_writer *w) {
  w->fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (w->fd < 0) return -1;
  struct stat st;
  w->size = fstat(w->fd, &st) == 0 ? (unsigned long long)st.st_size : 0;
  return 0;
}

int log_open(struct log_writer *w, const char *path, unsigned long long max_size, int max_files) {
  w->path = path;
  w->max_size = max_size;
  w->max_files = max_files < 1 ? 1 : max_files;
  w->len = 0;
  return open_live(w);
}

int log_flush(struct log_writer *w) {
  int rc = w->fd >= 0 && w->len ? write_all(w->fd, w->buf, w->len) : 0;
  /* Records a full disk refused are dropped: the container must never stall on its log. */
  w->len = 0;
  return rc;
}

static void numbered(char *out, const char *path, int n) {
  if (n == 0) snprintf(out, PATH_MAX, "%s", path);
  else snprintf(out, PATH_MAX, "%s.%d", path, n);
}

static void rotate(struct log_writer *w) {
  log_flush(w);
  char from[PATH_MAX], to[PATH_MAX];
  if (w->max_files == 1) unlink(w->path);
  for (int i = w->max_files - 1; i >= 1; i--) {
    numbered(from, w->path, i - 1);
    numbered(to, w->path, i);
    rename(from, to); /* ENOENT until there are that many files */
  }
  int old = w->fd;
  open_live(w);
  if (old >= 0) close(old);
}

int log_reopen(struct log_writer *w) {
  if (!w->path) return ENOENT;
  log_flush(w);
  int old = w->fd;
  int rc = open_live(w) < 0 ? errno : 0;
  if (old >= 0) close(old);
  return rc;
}

void log_close(struct log_writer *w) {
  log_flush(w);
  if (w->fd >= 0) {
    fsync(w->fd);
    close(w->fd);
  }
  w->fd = -1;
}

/* One record: rotates first when it would not fit in the live file. */
static void record(struct log_writer *w, const char *head, size_t hlen, char tag, const char *text, size_t len) {
  size_t rec = hlen + 2 + len + 1;
  if (w->max_size && w->size > 0 && w->size + rec > w->max_size) rotate(w);
  if (w->fd < 0) open_live(w); /* a reopen that failed: try again */
  if (w->len + rec > sizeof w->buf) log_flush(w);
  char *p = w->buf + w->len;
  memcpy(p, head, hlen);
  p[hlen] = tag;
  p[hlen + 1] = ' ';
  memcpy(p + hlen + 2, text, len);
  p[hlen + 2 + len] = '\n';
  w->len += rec;
  w->size += rec;
}

/* A line (or its last piece) as records, cut into partial pieces when one record would be longer
 * than a whole file may be. */
static void line(struct log_writer *w, const char *head, size_t hlen, const char *text, size_t len, int full) {
  size_t room = w->max_size > hlen + 3 ? (size_t)(w->max_size - hlen - 3) : 0;
  while (room && len > room) {
    record(w, head, hlen, 'P', text, room);
    text += room;
    len -= room;
  }
  record(w, head, hlen, full ? 'F' : 'P', text, len);
}

void log_write(struct log_writer *w, int stream, const char *data, size_t len, int end_line) {
  if (!w->path) return; /* no log file: the output goes to attached clients only */
  if (len > LOG_CHUNK_MAX) len = LOG_CHUNK_MAX;
  char head[HEAD_MAX];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  int hlen = snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                      tm.tm_min, tm.tm_sec, ts.tv_nsec, stream_name[stream]);
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    if (data[i] != '\n') continue;
    line(w, head, (size_t)hlen, data + start, i - start, 1);
    start = i + 1;
  }
  if (start < len) line(w, head, (size_t)hlen, data + start, len - start, end_line);
  log_flush(w);
}
