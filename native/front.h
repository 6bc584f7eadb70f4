/* berth-runtime's native front (docs/fast-path.md): the commands it answers without Node, and
 * the fast-path data (src/runtime/fast-path.ts) it reads for them. */
#ifndef BERTH_FRONT_H
#define BERTH_FRONT_H

#include <stddef.h>

/* A command's result when the front can't answer it: run the Node CLI with the same argv. */
#define FALL_THROUGH (-1)

/* Notes why the command goes to Node (shown with BERTH_RUNTIME_FRONT=native) and returns
 * FALL_THROUGH. */
int fall_through(const char *why, const char *detail);

struct field {
  const char *key;
  const char *val;
  size_t len;
};

#define MAX_FIELDS 128

/* One container's <root>/<id>/fast-path.v1, parsed. */
struct fast_path {
  char *buf;
  struct field fields[MAX_FIELDS];
  int nfields;
  long pid;
  unsigned long long start_time;
};

/* Loads and parses <dir>/fast-path.v1: 0, or -1 with errno (ENOENT: there is none; EINVAL: it
 * is malformed). */
int fast_path_load(const char *dir, struct fast_path *fp);
void fast_path_free(struct fast_path *fp);
/* The first field named key, or NULL. With after, the next one after it. */
const struct field *fast_field(const struct fast_path *fp, const char *key, const struct field *after);
/* Whether the field "needs-node" names the command. */
int needs_node(const struct fast_path *fp, const char *command);
/* "created", "running" or "stopped", as src/runtime/container.ts status() decides it for a
 * record that is neither creating nor paused (those have no fast-path file). */
const char *fast_status(const struct fast_path *fp, const char *dir);
/* Init is alive: /proc/<pid>/stat exists, is not a zombie, and has the recorded start time. */
int process_alive(long pid, unsigned long long start_time);

/* The commands; each returns an exit status or FALL_THROUGH. */
int front_state(const char *root, const char *id);
int front_start(const char *root, const char *id);
int front_kill(const char *root, const char *id, const char *signal);
int front_delete(const char *root, const char *id, int force);
int front_list(const char *root, const char *format, int quiet);

/* A container id as src/runtime/state-store.ts validateId accepts it ([A-Za-z0-9_+.-], at most
 * 1024, not "." or ".."); the state root's other entries are not containers. */
int valid_id(const char *id);

/* Writes all of buf to fd; -1 on error. */
int write_all(int fd, const char *buf, size_t len);

#endif
