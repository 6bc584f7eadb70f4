#ifndef BERTH_ATTACH_H
#define BERTH_ATTACH_H
/* The monitor's attach socket; the protocol is described in attach.c. */
#include <poll.h>
#include <stddef.h>

#define ATTACH_MAX 8
#define ATTACH_FRAME_MAX 65536

struct attach {
  int ls;
  int clients[ATTACH_MAX];
  unsigned char buf[ATTACH_MAX][ATTACH_FRAME_MAX + 5];
  size_t len[ATTACH_MAX];
  /* The client asked for control frames only (no output): berthd watching for the exit. */
  int quiet[ATTACH_MAX];
};

/* What clients act on: their input goes to the pty master or the write end of the container's
 * stdin pipe; a "reopen the log" request calls reopen_log (0 or an errno, sent back). */
struct attach_target {
  int fd;
  int is_tty;
  int (*reopen_log)(void *ctx);
  void *ctx;
};

void attach_init(struct attach *a);
int attach_listen(struct attach *a, const char *path);
/* Fills fds[0..ATTACH_MAX] (the listening socket, then the clients); returns the count. */
int attach_pollfds(const struct attach *a, struct pollfd *fds);
void attach_handle(struct attach *a, const struct pollfd *fds, struct attach_target *t);
/* Sends output of `stream` (0 stdout, 1 stderr) to every client, dropping those that lag. */
void attach_send(struct attach *a, int stream, const char *data, size_t len);
/* Tells every client that the container ended: its exit status and the time (Unix ns). */
void attach_exit(struct attach *a, int status, long long unix_ns);
void attach_close(struct attach *a, const char *path);

#endif
