/* Running a whole plan: each operation in order, OP_CLONE splitting it between the process that
 * runs the plan and the container's init (see executor.c). */
#ifndef BERTH_EXECUTOR_H
#define BERTH_EXECUTOR_H

#include "ops.h"
#include "plan.h"

/* Runs the plan; returns only if it has no OP_CLONE (then "done" was sent) and never from the
 * process that cloned: that one reports "pid N" and exits, or waits for the child (clone's wait
 * flag) and exits with its status. With st->clone_parent the child is created as a sibling
 * (CLONE_PARENT): its parent is the caller of the process running the plan (the monitor). */
void run_plan(struct exec_state *st, const struct plan *plan);

#endif
