/* The commands berth-runtime's front answers itself: state, start, kill, delete, list. Each does
 * what src/runtime/container.ts does for them, from the fast-path data, and only on the paths
 * where that is a few file and signal operations; every error, and everything unexpected, falls
 * through to Node, which then does the whole command (and prints its errors). */
#include "front.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int state_dir(char *out, size_t size, const char *root, const char *id) {
  return (size_t)snprintf(out, size, "%s/%s", root, id) < size ? 0 : -1;
}

static int load(const char *dir, struct fast_path *fp) {
  if (fast_path_load(dir, fp) == 0) return 0;
  return fall_through(errno == ENOENT ? "no fast-path file" : "unreadable fast-path file", dir);
}

/* Writes a field's value to stdout. */
static int print_field(const struct fast_path *fp, const char *key) {
  const struct field *f = fast_field(fp, key, NULL);
  if (!f) return fall_through("no field", key);
  return write_all(1, f->val, f->len) < 0 ? 1 : 0;
}

int front_state(const char *root, const char *id) {
  char dir[4096], key[64];
  struct fast_path fp;
  if (state_dir(dir, sizeof dir, root, id) < 0 || load(dir, &fp) < 0) return FALL_THROUGH;
  snprintf(key, sizeof key, "state.%s", fast_status(&fp, dir));
  int rc = print_field(&fp, key);
  fast_path_free(&fp);
  return rc;
}

static void sleep_ms(long ms) {
  struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* Writes the start message into the exec fifo, which init is blocked reading. */
static int write_fifo(const char *fifo, const struct field *msg) {
  int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fall_through("cannot open the exec fifo", fifo); /* ENXIO: init is gone */
  signal(SIGPIPE, SIG_IGN); /* an EPIPE is an error to report, not a death */
  size_t off = 0;
  while (off < msg->len) {
    ssize_t n = write(fd, msg->val + off, msg->len - off);
    if (n >= 0) off += (size_t)n;
    else if (errno == EAGAIN) sleep_ms(1);
    else if (errno != EINTR) break;
  }
  /* As runc's start, return once init has taken the message and exec'd: it holds the fifo open
   * (close-on-exec) until then, and a fifo without readers polls as an error for its writer. */
  if (off == msg->len) {
    struct pollfd p = {.fd = fd, .events = 0}; /* POLLERR is reported unasked */
    while (!(p.revents & (POLLERR | POLLHUP | POLLNVAL)))
      if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
  }
  close(fd);
  signal(SIGPIPE, SIG_DFL);
  if (off == msg->len) return 0;
  if (off == 0) return fall_through("cannot write the exec fifo", fifo);
  dprintf(2, "berth-runtime: write %s: %s\n", fifo, strerror(errno));
  return 1;
}

int front_start(const char *root, const char *id) {
  char dir[4096], fifo[4096];
  struct fast_path fp;
  if (state_dir(dir, sizeof dir, root, id) < 0 || load(dir, &fp) < 0) return FALL_THROUGH;
  const struct field *msg = fast_field(&fp, "start.message", NULL), *name = fast_field(&fp, "fifo", NULL);
  int rc;
  if (needs_node(&fp, "start"))
    rc = fall_through("start needs Node (poststart hooks)", id);
  else if (strcmp(fast_status(&fp, dir), "created") != 0)
    rc = fall_through("not created", id);
  else if (!msg || !name || (size_t)snprintf(fifo, sizeof fifo, "%s/%s", dir, name->val) >= sizeof fifo)
    rc = fall_through("no start message", id);
  else if ((rc = write_fifo(fifo, msg)) == 0)
    unlink(fifo);
  fast_path_free(&fp);
  return rc;
}

/* A signal as a number 0..64 (what runc's clients pass); names are left to Node. */
static int parse_signal(const char *s) {
  if (!*s || strlen(s) > 2) return -1;
  int n = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    n = n * 10 + (*s - '0');
  }
  return n <= 64 ? n : -1;
}

int front_kill(const char *root, const char *id, const char *signal_arg) {
  char dir[4096];
  struct fast_path fp;
  int sig = parse_signal(signal_arg);
  if (sig < 0) return fall_through("signal is not a number", signal_arg);
  if (state_dir(dir, sizeof dir, root, id) < 0 || load(dir, &fp) < 0) return FALL_THROUGH;
  int rc = 0;
  if (strcmp(fast_status(&fp, dir), "stopped") == 0)
    rc = fall_through("stopped", id);
  else if (kill((pid_t)fp.pid, sig) < 0)
    rc = fall_through("kill failed", id);
  fast_path_free(&fp);
  return rc;
}

/* Whether every entry of the state directory is one that delete knows to remove. */
static int only_known_files(const char *dir, const struct fast_path *fp) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int ok = 1;
  for (struct dirent *e; ok && (e = readdir(d)) != NULL;) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    ok = 0;
    for (const struct field *f = NULL; !ok && (f = fast_field(fp, "remove", f)) != NULL;) ok = strcmp(f->val, e->d_name) == 0;
  }
  closedir(d);
  return ok;
}

/* Kills init and waits until it is gone, as Node's delete --force does (5 s at most). */
static int kill_and_wait(const struct fast_path *fp) {
  kill((pid_t)fp->pid, SIGKILL);
  for (int i = 0; i < 5000; i++) {
    if (!process_alive(fp->pid, fp->start_time)) return 0;
    sleep_ms(1);
  }
  return -1;
}

/* 1 if the cgroup lists no process (or is gone), 0 if it does, -1 if it can't be read. */
static int cgroup_empty(const char *dir) {
  char path[4096], buf[64];
  if ((size_t)snprintf(path, sizeof path, "%s/cgroup.procs", dir) >= sizeof path) return -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 1 : -1;
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n < 0) return -1;
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] != '\n' && buf[i] != ' ') return 0;
  return 1;
}

/* The delete plan's cgroup part: the container's cgroups must be empty and go; the parents
 * that create made go when empty. Falls through, having removed only empty cgroups (which
 * Node's delete then finds gone), on anything else. */
static int remove_cgroups(const struct fast_path *fp) {
  const struct field *procs = fast_field(fp, "cgroup.procs", NULL);
  int empty = procs ? cgroup_empty(procs->val) : 1;
  if (empty <= 0) return fall_through(empty < 0 ? "cgroup.procs unreadable" : "processes are left in the cgroup", procs->val);
  for (const struct field *f = NULL; (f = fast_field(fp, "cgroup.dir", f)) != NULL;)
    if (rmdir(f->val) < 0 && errno != ENOENT) return fall_through("cgroup not removable", f->val);
  for (const struct field *f = NULL; (f = fast_field(fp, "cgroup.parent", f)) != NULL;)
    if (rmdir(f->val) < 0 && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY) return fall_through("cgroup parent not removable", f->val);
  return 0;
}

/* Removes the state directory: the listed files in order (the fast-path file first), then it. */
static int remove_state_dir(const char *dir, const struct fast_path *fp) {
  char path[4096];
  for (const struct field *f = NULL; (f = fast_field(fp, "remove", f)) != NULL;) {
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, f->val) >= sizeof path) continue;
    if (unlink(path) < 0 && errno != ENOENT) goto fail;
  }
  snprintf(path, sizeof path, "%s", dir);
  if (rmdir(dir) == 0 || errno == ENOENT) return 0;
fail:
  /* Only a file that appeared since only_known_files looked gets here. */
  dprintf(2, "berth-runtime: delete: cannot remove %s: %s\n", path, strerror(errno));
  return 1;
}

int front_delete(const char *root, const char *id, int force) {
  char dir[4096];
  struct fast_path fp;
  if (state_dir(dir, sizeof dir, root, id) < 0 || load(dir, &fp) < 0) return FALL_THROUGH;
  const char *status = fast_status(&fp, dir);
  int rc;
  if (needs_node(&fp, "delete"))
    rc = fall_through("delete needs Node (poststop hooks)", id);
  else if (!only_known_files(dir, &fp))
    rc = fall_through("unexpected files in the state directory", dir);
  else if (strcmp(status, "running") == 0 && !force)
    rc = fall_through("running, and no --force", id);
  else if (strcmp(status, "stopped") != 0 && kill_and_wait(&fp) < 0)
    rc = fall_through("init did not exit after SIGKILL", id);
  else if ((rc = remove_cgroups(&fp)) == 0)
    rc = remove_state_dir(dir, &fp);
  fast_path_free(&fp);
  return rc;
}

/* list ---------------------------------------------------------------------------------------- */

struct out {
  char *buf;
  size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n) {
  if (o->len + n + 1 > o->cap) {
    o->cap = (o->len + n + 1) * 2;
    o->buf = realloc(o->buf, o->cap);
    if (!o->buf) {
      dprintf(2, "berth-runtime: out of memory\n");
      _exit(1);
    }
  }
  memcpy(o->buf + o->len, s, n);
  o->len += n;
}

static void put_padded(struct out *o, const char *s, size_t width) {
  size_t n = strlen(s);
  put(o, s, n);
  for (; n < width; n++) put(o, " ", 1);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

#define COLUMNS 6
static const char *const HEADER[COLUMNS] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};

static int no_such_file(const char *dir, const char *name) {
  char path[4096];
  return (size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path && access(path, F_OK) < 0 && errno == ENOENT;
}

struct entry {
  char *name;
  struct fast_path fp;
  const char *status;
  const char *cells[COLUMNS];
};

/* Reads the state root's containers; 0, or FALL_THROUGH. A directory without state.json is not
 * listed (a create that has just begun), as in Node; one with state.json but no fast-path file
 * is one Node must read. */
static int read_entries(const char *root, struct entry **out, size_t *count) {
  DIR *d = opendir(root);
  *out = NULL;
  *count = 0;
  if (!d) return errno == ENOENT ? 0 : fall_through("state root unreadable", root);
  size_t cap = 0;
  int rc = 0;
  for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
    if (e->d_type == DT_UNKNOWN) rc = fall_through("file type unknown", e->d_name);
    if (rc || e->d_type != DT_DIR || !valid_id(e->d_name)) continue;
    if (*count == cap) {
      cap = cap ? cap * 2 : 16;
      *out = realloc(*out, cap * sizeof **out);
      if (!*out) _exit(1);
    }
    (*out)[(*count)++] = (struct entry){.name = strdup(e->d_name)};
  }
  closedir(d);
  if (rc) return rc;
  qsort(*out, *count, sizeof **out, by_name);
  size_t kept = 0;
  char dir[4096];
  for (size_t i = 0; i < *count && rc == 0; i++) {
    struct entry *en = &(*out)[i];
    if (state_dir(dir, sizeof dir, root, en->name) < 0) {
      rc = fall_through("path too long", en->name);
    } else if (fast_path_load(dir, &en->fp) == 0) {
      en->status = fast_status(&en->fp, dir);
      (*out)[kept++] = *en;
      continue;
    } else if (errno != ENOENT) {
      rc = fall_through("unreadable fast-path file", en->name);
    } else if (!no_such_file(dir, "state.json")) {
      rc = fall_through("a container without fast-path data", en->name);
    } /* else: no state.json, not listed */
    free(en->name);
  }
  *count = kept;
  return rc;
}

static void free_entries(struct entry *entries, size_t count) {
  for (size_t i = 0; i < count; i++) {
    fast_path_free(&entries[i].fp);
    free(entries[i].name);
  }
  free(entries);
}

/* The table of cli/berth-runtime/main.ts formatTable: columns padded to the widest cell + 3,
 * the last one not padded. Cells come from the table.<status> fields (NUL-separated). */
static int format_table(struct entry *entries, size_t count, struct out *o) {
  size_t width[COLUMNS];
  for (int c = 0; c < COLUMNS; c++) width[c] = strlen(HEADER[c]);
  for (size_t i = 0; i < count; i++) {
    char key[64];
    snprintf(key, sizeof key, "table.%s", entries[i].status);
    const struct field *f = fast_field(&entries[i].fp, key, NULL);
    if (!f) return fall_through("no table cells (not ASCII)", entries[i].name);
    size_t separators = 0;
    for (size_t k = 0; k < f->len; k++) separators += f->val[k] == '\0';
    if (separators != COLUMNS - 1) return fall_through("bad table cells", entries[i].name);
    const char *p = f->val; /* the value is NUL-terminated too */
    for (int c = 0; c < COLUMNS; c++, p += strlen(p) + 1) {
      entries[i].cells[c] = p;
      if (strlen(p) > width[c]) width[c] = strlen(p);
    }
  }
  for (size_t i = 0; i <= count; i++) {
    const char *const *row = i == 0 ? HEADER : entries[i - 1].cells;
    for (int c = 0; c < COLUMNS - 1; c++) put_padded(o, row[c], width[c] + 3);
    put(o, row[COLUMNS - 1], strlen(row[COLUMNS - 1]));
    put(o, "\n", 1);
  }
  return 0;
}

int front_list(const char *root, const char *format, int quiet) {
  int json = strcmp(format, "json") == 0;
  if (!quiet && !json && strcmp(format, "table") != 0) return fall_through("unknown --format", format);
  struct entry *entries;
  size_t count;
  if (read_entries(root, &entries, &count) < 0) {
    free_entries(entries, count);
    return FALL_THROUGH;
  }
  struct out o = {0};
  int rc = 0;
  if (quiet) {
    for (size_t i = 0; i < count; i++) {
      put(&o, entries[i].name, strlen(entries[i].name));
      put(&o, "\n", 1);
    }
  } else if (json) {
    put(&o, "[", 1);
    for (size_t i = 0; i < count && rc == 0; i++) {
      char key[64];
      snprintf(key, sizeof key, "list.%s", entries[i].status);
      const struct field *f = fast_field(&entries[i].fp, key, NULL);
      if (!f) rc = fall_through("no field", key);
      else {
        if (i) put(&o, ",", 1);
        put(&o, f->val, f->len);
      }
    }
    put(&o, "]\n", 2);
  } else {
    rc = format_table(entries, count, &o);
  }
  if (rc == 0 && o.len && write_all(1, o.buf, o.len) < 0) rc = 1;
  free(o.buf);
  free_entries(entries, count);
  return rc;
}
