/* The monitor's plan mode: the plan runs in a child of the monitor, whose channel lines the monitor
 * relays to its caller and back (see plan-relay.c). */
#ifndef BERTH_PLAN_RELAY_H
#define BERTH_PLAN_RELAY_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

enum relay_event {
  RELAY_BUSY,     /* set-up goes on */
  RELAY_CREATED,  /* init reached "sync created" and the caller acknowledged it: not yet passed on */
  RELAY_FAILED,   /* set-up ended without a container (r->failure says why) */
};

struct plan_relay {
  int caller;          /* the caller's channel (--plan-fd) */
  int executor;        /* our end of the executor's channel; -1 once closed */
  pid_t runner;        /* the process that reads the plan and clones init, then exits */
  pid_t container;     /* init, once "pid N" came */
  int created;         /* "sync created" was relayed; the caller's next line answers it */
  char failure[512];
  char from_executor[4096];
  size_t executor_len;
  char from_caller[256];
  size_t caller_len;
};

/* Reads the plan from `caller` and starts the process that runs it with the given stdio; the
 * container's init is cloned as the monitor's own child. 0, or -1 with r->failure set. */
int relay_start(struct plan_relay *r, int caller, const int stdio[3]);
/* fds[0] the caller, fds[1] the executor. */
void relay_pollfds(const struct plan_relay *r, struct pollfd *fds);
enum relay_event relay_handle(struct plan_relay *r, const struct pollfd *fds);
/* Passes the caller's acknowledgement of "sync created" on: init goes on to wait for start. */
int relay_finish(struct plan_relay *r);
/* Ends set-up without a container: init, waiting at a sync point, exits. */
void relay_abandon(struct plan_relay *r);

#endif
