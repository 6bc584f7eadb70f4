/* berth-spawn: executes a berth plan, the ordered kernel operations that TypeScript compiled from
 * an OCI config. It decides nothing: it runs each operation in order and reports the first failure
 * with the operation's index and errno on the channel.
 *
 *   berth-spawn <channel-fd>
 *   berth-spawn --console-relay <socket-path>   (see console-relay.c)
 *   berth-spawn --netns-connect <netns> <port> <fd>   (see netns-connect.c)
 *   berth-spawn --exec-reaper <pid-file> <program> [args...]   (see exec-reaper.c)
 *
 * The channel is a socket: the plan arrives on it, and berth-spawn writes lines back:
 *   pid <n>                       after OP_CLONE, from the parent side
 *   sync <name>                   the child waits for a line "ack" (anything else aborts)
 *   error <index> <errno> <text>  an operation failed; the process exits 1
 *   done                          a plan without OP_CLONE ran to its end
 *   exit <status>                 with the clone's wait flag: the child's status, as we exit
 *
 * OP_CLONE splits the plan between this process and the container's init (executor.c). */
#include "console-relay.h"
#include "exec-reaper.h"
#include "executor.h"
#include "monitor.h"
#include "netns-connect.h"
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

static void pause_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void pause_reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

/* A pod's infra process (berthd, NamespaceMode POD): PID 1 of the pod's PID namespace, doing
 * nothing but reaping the orphans its namespace hands it, until SIGTERM or SIGINT. PID 1 gets
 * no default signal actions, so each one it obeys has a handler. */
static _Noreturn void pause_main(void) {
  struct sigaction stop = {.sa_handler = pause_stop};
  struct sigaction reap = {.sa_handler = pause_reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigemptyset(&stop.sa_mask);
  sigemptyset(&reap.sa_mask);
  sigaction(SIGTERM, &stop, NULL);
  sigaction(SIGINT, &stop, NULL);
  sigaction(SIGCHLD, &reap, NULL);
  for (;;) pause();
}

int main(int argc, char **argv) {
  /* The infra process needs none of what follows (and its root has no /proc/self/exe to seal). */
  if (argc == 2 && strcmp(argv[1], "--pause") == 0) pause_main();
  /* Nothing in the container may ptrace or read /proc/<pid>/exe of this process until execve. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* Joins a network namespace only: no process of a container can see this one, nothing to seal. */
  if (argc >= 2 && strcmp(argv[1], "--netns-connect") == 0) return netns_connect_main(argc, argv);
  /* Joins nothing either: it runs a runtime program, which protects itself, and waits. */
  if (argc >= 2 && strcmp(argv[1], "--exec-reaper") == 0) return exec_reaper_main(argc, argv);
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
  run_plan(&st, &plan);
  return 0;
}
