/* A pod sandbox's pause process for test images: PID 1 of nothing in particular. It sleeps until
 * SIGINT or SIGTERM (then exits 0) and reaps any child re-parented to it, as a sandbox's PID 1
 * must when the pod shares one PID namespace. Static, so an image needs nothing but this file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts("berth-pause 1");
    return 0;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
    perror("berth-pause: sigprocmask");
    return 1;
  }
  for (;;) {
    int sig = 0;
    int err = sigwait(&set, &sig);
    if (err != 0) {
      fprintf(stderr, "berth-pause: sigwait: %s\n", strerror(err));
      return 1;
    }
    if (sig == SIGCHLD) {
      while (waitpid(-1, NULL, WNOHANG) > 0) {
      }
      continue;
    }
    return 0;
  }
}
