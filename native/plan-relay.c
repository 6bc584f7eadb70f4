/* berth-spawn --monitor --plan-fd N: the monitor runs berth's own plan itself instead of a
 * runtime's `create` command, so that creating a container starts no program but this one.
 *
 * The caller (TypeScript, in berth or berthd) writes the plan on the --plan-fd socket. The monitor
 * forks a runner with the container's stdio, which executes the plan (executor.c, the executor
 * `berth-spawn <fd>` uses): the operations before OP_CLONE in the runner (joining namespaces by
 * path, the exec fifo, the console socket), then clone(CLONE_PARENT) makes init a child of the
 * monitor itself, with no reparenting. The runner reports "pid N" and exits.
 *
 * The executor's lines ("pid N", "sync NAME", "error INDEX ERRNO TEXT") are relayed to the caller
 * whole, and the caller's answers ("ack", or anything else to abandon) back. The monitor only
 * watches for "pid N" and for the acknowledgement of "sync created", the end of set-up: that one
 * it holds back until the monitor is ready to supervise (log open, attach socket listening). */
#include "plan-relay.h"
#include "executor.h"
#include "log-writer.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void runner(int chan, const int stdio[3], const struct plan *plan) {
  for (int i = 0; i < 3; i++)
    if (dup2(stdio[i], i) < 0) _exit(127);
  if (dup2(chan, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0) _exit(127);
  syscall(SYS_close_range, 4, ~0U, 0);
  /* The monitor's signal set-up is not the container's. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  struct exec_state st = {.chan = 3, .slots = {-1, -1, -1, -1}, .clone_parent = 1};
  run_plan(&st, plan);
  _exit(0);
}

int relay_start(struct plan_relay *r, int caller, const int stdio[3]) {
  r->caller = caller;
  r->executor = -1;
  r->container = 0;
  struct plan plan;
  char err[256];
  if (plan_read(caller, &plan, err, sizeof err) < 0) {
    snprintf(r->failure, sizeof r->failure, "%s", err);
    return -1;
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
    snprintf(r->failure, sizeof r->failure, "socketpair: %s", strerror(errno));
    return -1;
  }
  r->runner = fork();
  if (r->runner < 0) {
    snprintf(r->failure, sizeof r->failure, "fork: %s", strerror(errno));
    return -1;
  }
  if (r->runner == 0) runner(pair[1], stdio, &plan);
  close(pair[1]);
  free(plan.buf);
  free(plan.ops);
  r->executor = pair[0];
  fcntl(r->executor, F_SETFL, O_NONBLOCK);
  fcntl(r->caller, F_SETFL, O_NONBLOCK);
  return 0;
}

void relay_pollfds(const struct plan_relay *r, struct pollfd *fds) {
  fds[0] = (struct pollfd){.fd = r->caller, .events = POLLIN};
  fds[1] = (struct pollfd){.fd = r->executor, .events = POLLIN};
}

static void failed(struct plan_relay *r, const char *why) {
  if (!r->failure[0]) snprintf(r->failure, sizeof r->failure, "%s", why);
}

/* Reads what is there into buf; -1 at end of file or on an error. */
static int fill(int fd, char *buf, size_t *len, size_t size) {
  ssize_t n = read(fd, buf + *len, size - *len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return -1;
  *len += (size_t)n;
  return 0;
}

/* The next whole line of buf (NUL-terminated in place, newline dropped), or NULL. */
static char *take_line(char *buf, size_t *len, size_t *used) {
  char *nl = memchr(buf + *used, '\n', *len - *used);
  if (!nl) return NULL;
  char *line = buf + *used;
  *nl = 0;
  *used = (size_t)(nl - buf) + 1;
  return line;
}

static void consume(char *buf, size_t *len, size_t used) {
  memmove(buf, buf + used, *len - used);
  *len -= used;
}

static void send_line(int fd, const char *line) {
  char out[4200];
  int n = snprintf(out, sizeof out, "%s\n", line);
  write_all(fd, out, (size_t)n);
}

static enum relay_event from_executor(struct plan_relay *r) {
  if (fill(r->executor, r->from_executor, &r->executor_len, sizeof r->from_executor) < 0) {
    close(r->executor);
    r->executor = -1;
    failed(r, r->container ? "the container's init exited during set-up" : "the plan ended without creating a container");
    return RELAY_FAILED;
  }
  size_t used = 0;
  char *line;
  while ((line = take_line(r->from_executor, &r->executor_len, &used))) {
    if (strncmp(line, "pid ", 4) == 0) r->container = (pid_t)atol(line + 4);
    else if (strcmp(line, "sync created") == 0) r->created = 1;
    else if (strncmp(line, "error ", 6) == 0) {
      /* "error INDEX ERRNO TEXT": the caller reads the details; the monitor only stops. */
      const char *index = line + 6, *errno_at = strchr(index, ' '), *text = errno_at ? strchr(errno_at + 1, ' ') : NULL;
      failed(r, text ? text + 1 : index);
    }
    send_line(r->caller, line);
  }
  consume(r->from_executor, &r->executor_len, used);
  if (r->executor_len == sizeof r->from_executor) {
    failed(r, "the executor sent a line too long");
    return RELAY_FAILED;
  }
  return RELAY_BUSY;
}

static enum relay_event from_caller(struct plan_relay *r) {
  if (fill(r->caller, r->from_caller, &r->caller_len, sizeof r->from_caller) < 0) {
    failed(r, "the caller went away during set-up");
    return RELAY_FAILED;
  }
  size_t used = 0;
  char *line;
  while ((line = take_line(r->from_caller, &r->caller_len, &used))) {
    if (r->created) {
      consume(r->from_caller, &r->caller_len, used);
      if (strcmp(line, "ack") == 0) return RELAY_CREATED;
      failed(r, "the caller abandoned the container at the end of set-up");
      return RELAY_FAILED;
    }
    if (r->executor >= 0) send_line(r->executor, line);
  }
  consume(r->from_caller, &r->caller_len, used);
  if (r->caller_len == sizeof r->from_caller) {
    failed(r, "the caller sent a line too long");
    return RELAY_FAILED;
  }
  return RELAY_BUSY;
}

enum relay_event relay_handle(struct plan_relay *r, const struct pollfd *fds) {
  enum relay_event e = RELAY_BUSY;
  /* The executor first: a line it sent before it exited is relayed before its end of file. */
  if (r->executor >= 0 && fds[1].fd == r->executor && fds[1].revents & (POLLIN | POLLHUP | POLLERR)) e = from_executor(r);
  if (e == RELAY_BUSY && fds[0].fd == r->caller && fds[0].revents & (POLLIN | POLLHUP | POLLERR)) e = from_caller(r);
  return e;
}

int relay_finish(struct plan_relay *r) {
  if (r->executor < 0) return -1;
  send_line(r->executor, "ack");
  /* init closes its end after the last sync point; ours is not needed any more. */
  close(r->executor);
  r->executor = -1;
  return 0;
}

void relay_abandon(struct plan_relay *r) {
  if (r->executor >= 0) close(r->executor);
  r->executor = -1;
}
