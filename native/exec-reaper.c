/* A detached runtime exec leaves its process behind with no parent that can read its status:
 * runc and crun hand a terminal to --console-socket only with --detach, and then exit. As a child
 * subreaper (what containerd's shim is), this process inherits the orphan when the runtime's
 * intermediate processes exit, so waitpid() returns its status. The process may exit before the
 * runtime does (`true`): statuses reaped meanwhile are kept until the pid file names one. */
#include "exec-reaper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEPT 64

struct reaped {
  pid_t pid;
  int status;
};

static int code_of(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static pid_t read_pid(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long pid = -1;
  if (fscanf(f, "%ld", &pid) != 1) pid = -1;
  fclose(f);
  return pid > 0 ? (pid_t)pid : -1;
}

static int report(const char *what, int code) {
  printf("%s %d\n", what, code);
  fflush(stdout);
  return 0;
}

int exec_reaper_main(int argc, char **argv) {
  if (argc < 4) {
    dprintf(2, "usage: berth-spawn --exec-reaper <pid-file> <program> [args...]\n");
    return 2;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    dprintf(2, "berth-spawn: exec-reaper: PR_SET_CHILD_SUBREAPER: %m\n");
    return 1;
  }
  pid_t runtime = fork();
  if (runtime < 0) {
    dprintf(2, "berth-spawn: exec-reaper: fork: %m\n");
    return 1;
  }
  if (runtime == 0) {
    execvp(argv[3], argv + 3);
    dprintf(2, "berth-spawn: exec-reaper: %s: %m\n", argv[3]);
    _exit(127);
  }
  struct reaped kept[KEPT];
  size_t nkept = 0;
  pid_t target = -1;
  for (;;) {
    int status;
    pid_t r = waitpid(-1, &status, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      /* No child left and none was the pid file's: the runtime kept no process of ours. */
      dprintf(2, "berth-spawn: exec-reaper: the process %d the runtime started was never reaped here\n", (int)target);
      return report("runtime", 255);
    }
    if (r == runtime) {
      if (code_of(status) != 0) return report("runtime", code_of(status));
      target = read_pid(argv[2]);
      if (target < 0) {
        dprintf(2, "berth-spawn: exec-reaper: no pid in %s after the runtime exited\n", argv[2]);
        return report("runtime", 255);
      }
      for (size_t i = 0; i < nkept; i++)
        if (kept[i].pid == target) return report("exit", code_of(kept[i].status));
      continue;
    }
    if (target > 0 && r == target) return report("exit", code_of(status));
    if (target < 0) {
      /* Before the pid is known: the runtime's own helpers exit here too; keep the latest. */
      kept[nkept % KEPT] = (struct reaped){r, status};
      nkept = nkept < KEPT ? nkept + 1 : KEPT;
    }
  }
}
