/* The plan executor's main loop and OP_CLONE, shared by `berth-spawn <channel-fd>` and the
 * monitor's plan mode (monitor-plan.c). OP_CLONE splits the plan: operations before it run in the
 * process that reads the plan (joining namespaces by path, opening the exec fifo), the child runs
 * the rest. The parent reports "pid N" on the channel, then exits, or, with the clone's wait flag,
 * stays, forwards signals to the child and exits with its status (128+signal when it was killed). */
#include "executor.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t forward_to;

static void forward_signal(int sig) {
  if (forward_to > 0) kill(forward_to, sig);
}

/* Waits for the child and exits with its status, which it also reports on the channel ("exit
 * <status>"): a caller that did not start this process itself (bin/berth-runtime's front starts
 * it while Node boots) cannot wait for it. */
static __attribute__((noreturn)) void wait_for_child(pid_t pid, int chan) {
  static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
  forward_to = pid;
  struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaction(forwarded[i], &sa, NULL);
  int status;
  for (;;) {
    pid_t r = waitpid(pid, &status, 0);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) _exit(255);
  }
  int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  char line[32];
  int n = snprintf(line, sizeof line, "exit %d\n", code);
  if (chan >= 0) send(chan, line, (size_t)n, MSG_NOSIGNAL);
  _exit(code);
}

static void do_clone(struct exec_state *st, const struct op *op) {
  unsigned long flags = (unsigned long)arg_u64(op, ARG_CLONE_NAMESPACES);
  int wait = (int)arg_u64(op, ARG_CLONE_WAIT) && !st->clone_parent;
  if (st->clone_parent) flags |= CLONE_PARENT;
  /* The child waits until the parent has reported its pid, so that "pid N" always comes before
   * anything the child writes on the shared channel. */
  int order[2];
  if (pipe2(order, O_CLOEXEC) < 0) fail(st, errno, "pipe");
  pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) fail(st, errno, "clone");
  if (pid == 0) {
    char go;
    close(order[1]);
    while (read(order[0], &go, 1) < 0 && errno == EINTR) {}
    close(order[0]);
    return;
  }
  close(order[0]);
  chan_send(st, "pid %d", pid);
  close(order[1]); /* EOF releases the child */
  if (!wait) _exit(0);
  for (int i = 0; i < SLOT_MAX; i++)
    if (st->slots[i] >= 0) close(st->slots[i]);
  wait_for_child(pid, st->chan);
}

void run_plan(struct exec_state *st, const struct plan *plan) {
  for (size_t i = 0; i < plan->nops; i++) {
    st->index = i;
    if (plan->ops[i].code == OP_CLONE)
      do_clone(st, &plan->ops[i]);
    else
      run_op(st, &plan->ops[i]);
  }
  chan_send(st, "done");
}
