/* The executor's state and the implementation of each plan operation. */
#ifndef BERTH_OPS_H
#define BERTH_OPS_H

#include "plan.h"

enum slot { SLOT_ROOT = 0, SLOT_FIFO = 1, SLOT_CONSOLE = 2, SLOT_MAX = 4 };

struct exec_state {
  int chan;             /* channel to TypeScript; -1 once closed */
  int slots[SLOT_MAX];  /* fds produced by operations, all O_CLOEXEC */
  char *exec_path;      /* set by OP_RESOLVE_EXEC */
  char *start_state;    /* the state JSON `start` wrote into the exec fifo */
  uint32_t start_len;
  size_t index;         /* index of the operation being run, for error reports */
  int clone_parent;     /* OP_CLONE makes a sibling (CLONE_PARENT): the monitor's plan mode */
};

/* Reports the failure of the current operation (to the channel, else stderr) and exits 1. */
__attribute__((noreturn, format(printf, 3, 4))) void fail(struct exec_state *st, int err, const char *fmt, ...);

/* Writes one line to the channel. */
void chan_send(struct exec_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs one operation other than OP_CLONE. */
void run_op(struct exec_state *st, const struct op *op);

#endif
