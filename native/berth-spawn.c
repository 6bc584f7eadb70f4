/* berth-spawn: executes a berth plan, the ordered kernel operations that TypeScript compiled from
 * an OCI config. It decides nothing: it runs each operation in order and reports the first failure
 * with the operation's index and errno on the channel.
 *
 *   berth-spawn <channel-fd>
 *   berth-spawn --console-relay <socket-path>   (see console-relay.c)
 *
 * The channel is a socket: the plan arrives on it, and berth-spawn writes lines back:
 *   pid <n>                       after OP_CLONE, from the parent side
 *   sync <name>                   the child waits for a line "ack" (anything else aborts)
 *   error <index> <errno> <text>  an operation failed; the process exits 1
 *
 * OP_CLONE splits the plan: operations before it run in this process (joining namespaces by
 * path), the child runs the rest. With the clone's wait flag set, the parent stays, forwards
 * signals to the child and exits with the child's status (128+signal when it was killed). */
#include "console-relay.h"
#include "monitor.h"
#include "ops.h"
#include "plan.h"
#include "vm-monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
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
  unsigned long flags = (unsigned long)arg_u64(op, ARG_CLONE_NAMESPACES);
  int wait = (int)arg_u64(op, ARG_CLONE_WAIT);
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
  close(st->chan);
  st->chan = -1;
  for (int i = 0; i < SLOT_MAX; i++)
    if (st->slots[i] >= 0) close(st->slots[i]);
  wait_for_child(pid);
}

/* CVE-2019-5736: a process in the container could open /proc/<our pid>/exe for writing while we
 * are in its namespaces and overwrite this binary on the host. Run from a sealed, anonymous
 * copy instead: the binary on disk is never what runs. */
static void run_from_sealed_copy(char **argv) {
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) return;
  int seals = fcntl(self, F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE)) {
    close(self);
    return; /* already the sealed copy */
  }
  int copy = memfd_create("berth-spawn", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  struct stat sb;
  if (copy < 0 || fstat(self, &sb) < 0) {
    dprintf(2, "berth-spawn: cannot make a sealed copy of itself: %s\n", strerror(errno));
    _exit(1);
  }
  off_t off = 0;
  while (off < sb.st_size) {
    ssize_t n = sendfile(copy, self, &off, (size_t)(sb.st_size - off));
    if (n <= 0) {
      dprintf(2, "berth-spawn: copying itself: %s\n", strerror(errno));
      _exit(1);
    }
  }
  close(self);
  if (fcntl(copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    dprintf(2, "berth-spawn: sealing its copy: %s\n", strerror(errno));
    _exit(1);
  }
  extern char **environ;
  fexecve(copy, argv, environ);
  dprintf(2, "berth-spawn: exec of its sealed copy: %s\n", strerror(errno));
  _exit(1);
}

int main(int argc, char **argv) {
  /* Nothing in the container may ptrace or read /proc/<pid>/exe of this process until execve. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  run_from_sealed_copy(argv);
  struct exec_state st = {.chan = -1, .slots = {-1, -1, -1, -1}};
  if (argc == 3 && strcmp(argv[1], "--console-relay") == 0) return console_relay(argv[2]);
  if (argc >= 2 && strcmp(argv[1], "--monitor") == 0) return monitor_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "--vm-monitor") == 0) return vm_monitor_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "--vm-exec") == 0) return vm_exec_main(argc, argv);
  if (argc != 2) {
    dprintf(2, "usage: berth-spawn <channel-fd> | --console-relay <socket-path> | --monitor ...\n");
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
