/* berth-spawn: executes a berth plan, the ordered kernel operations that TypeScript compiled from
 * an OCI config. It decides nothing: it runs each operation in order and reports the first failure
 * with the operation's index and errno on the channel.
 *
 *   berth-spawn <channel-fd>
 *
 * The channel is a socket: the plan arrives on it, and berth-spawn writes lines back:
 *   pid <n>                       after OP_CLONE, from the parent side
 *   sync <name>                   the child waits for a line "ack" (anything else aborts)
 *   error <index> <errno> <text>  an operation failed; the process exits 1
 *
 * OP_CLONE splits the plan: operations before it run in this process (joining namespaces by
 * path), the child runs the rest. With the clone's wait flag set, the parent stays, forwards
 * signals to the child and exits with the child's status (128+signal when it was killed). */
#include "ops.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t forward_to;

static void forward_signal(int sig) {
  if (forward_to > 0) kill(forward_to, sig);
}

static __attribute__((noreturn)) void wait_for_child(pid_t pid) {
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
  if (WIFSIGNALED(status)) _exit(128 + WTERMSIG(status));
  _exit(WEXITSTATUS(status));
}

static void do_clone(struct exec_state *st, const struct op *op) {
  unsigned long flags = (unsigned long)arg_u64(op, 0);
  int wait = (int)arg_u64(op, 1);
  pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) fail(st, errno, "clone");
  if (pid == 0) return;
  chan_send(st, "pid %d", pid);
  if (!wait) _exit(0);
  close(st->chan);
  st->chan = -1;
  for (int i = 0; i < SLOT_MAX; i++)
    if (st->slots[i] >= 0) close(st->slots[i]);
  wait_for_child(pid);
}

int main(int argc, char **argv) {
  /* Nothing in the container may ptrace or read /proc/<pid>/exe of this process until execve. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct exec_state st = {.chan = -1, .slots = {-1, -1, -1, -1}};
  if (argc != 2) {
    dprintf(2, "usage: berth-spawn <channel-fd>\n");
    return 2;
  }
  st.chan = atoi(argv[1]);
  if (st.chan < 3 || fcntl(st.chan, F_SETFD, FD_CLOEXEC) < 0) {
    dprintf(2, "berth-spawn: bad channel fd %s\n", argv[1]);
    return 2;
  }
  struct plan plan;
  char err[256];
  if (plan_read(st.chan, &plan, err, sizeof err) < 0) {
    st.index = (size_t)-1;
    chan_send(&st, "error -1 %d %s", EINVAL, err);
    return 1;
  }
  for (size_t i = 0; i < plan.nops; i++) {
    st.index = i;
    if (plan.ops[i].code == OP_CLONE)
      do_clone(&st, &plan.ops[i]);
    else
      run_op(&st, &plan.ops[i]);
  }
  chan_send(&st, "done");
  return 0;
}
