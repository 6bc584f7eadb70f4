/* berth-spawn --monitor: the parent of one container for its whole life (DESIGN.md, process
 * model; what conmon is to cri-o). It runs the OCI runtime's `create` with stdio pipes it owns,
 * becomes the container init's parent as a child subreaper, writes everything the container
 * prints to a log file in the CRI format, reaps it, and writes its exit status to a file. The
 * caller (berth) can exit: the monitor keeps the container's pipes, so nothing blocks on them.
 *
 *   berth-spawn --monitor --ready-fd N --pid-file P --log L --exit-file E
 *               [--exit-command PATH [--exit-command-arg A]...] -- <runtime> <args...>
 *
 * The ready fd receives one line: "ok <pid>" once `create` succeeded, or "error <text>" with what
 * the runtime printed. The container's stdin is /dev/null.
 * Log lines: "<RFC 3339 UTC time, ns> <stdout|stderr> <F|P> <text>\n", P for a piece of a line
 * that had not ended when it was read (the CRI's partial-line tag). The exit file holds the exit
 * code, or 128 + the signal number, written with a rename so that readers see all or nothing;
 * then the exit command, if any, runs (as conmon's --exit-command: cleaning up after `run --rm`). */
#include "monitor.h"
#include "console-relay.h"
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { OUT = 0, ERR = 1 };
static const char *stream_name[2] = {"stdout", "stderr"};

/* Clients of the attach socket (`berth attach`). */
static struct attach att;

/* What the runtime printed while `create` ran, kept for the error report. */
static char create_output[4096];
static size_t create_len;

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static void log_piece(int log, int stream, const char *text, size_t len, int full) {
  char line[16384 + 128];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  int head = snprintf(line, 128, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %c ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec, stream_name[stream], full ? 'F' : 'P');
  memcpy(line + head, text, len);
  line[head + len] = '\n';
  if (log >= 0) write_all(log, line, (size_t)head + len + 1);
}

/* Reads what is available on a container pipe and logs it line by line; -1 at end of file. */
static int pump(int fd, int stream, int log) {
  char buf[16384];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return -1;
  if (log < 0) {
    size_t room = sizeof create_output - 1 - create_len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(create_output + create_len, buf, take);
    create_len += take;
    return 0;
  }
  size_t start = 0;
  for (size_t i = 0; i < (size_t)n; i++) {
    if (buf[i] != '\n') continue;
    log_piece(log, stream, buf + start, i - start, 1);
    start = i + 1;
  }
  if (start < (size_t)n) log_piece(log, stream, buf + start, (size_t)n - start, 0);
  attach_send(&att, stream, buf, (size_t)n);
  return 0;
}

static void report(int ready, const char *fmt, const char *text, long value) {
  char msg[4200];
  int len = text ? snprintf(msg, sizeof msg, fmt, text) : snprintf(msg, sizeof msg, fmt, value);
  for (int i = 0; text && i < len - 1; i++)
    if (msg[i] == '\n') msg[i] = ' ';
  write_all(ready, msg, (size_t)len);
}

static int write_exit_file(const char *path, int code) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  char text[16];
  int len = snprintf(text, sizeof text, "%d", code);
  int rc = write_all(fd, text, (size_t)len);
  if (fsync(fd) < 0) rc = -1;
  close(fd);
  if (rc == 0) rc = rename(tmp, path);
  return rc;
}

static long read_pid_file(const char *path) {
  char buf[32] = {0};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  char *end;
  long pid = strtol(buf, &end, 10);
  return pid > 0 ? pid : -1;
}

static int status_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct monitor_args {
  int ready;
  const char *pid_file, *log_file, *exit_file;
  /* Run once the exit file is written (e.g. `berth rm` for `run -d --rm`); NULL-terminated. */
  char *exit_command[64];
  /* The runtime sends the container's pty master here (process.terminal); logged as stdout. */
  const char *console_socket;
  /* The container's stdin is a pipe this process holds open (`run -d -i`), not /dev/null. */
  int stdin_pipe;
  /* Where `berth attach` connects: output out, input (to the pty or the stdin pipe) in. */
  const char *attach_socket;
  char **cmd;
};

static int parse_args(int argc, char **argv, struct monitor_args *a) {
  int nexit = 0;
  a->ready = -1;
  for (int i = 2; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--stdin-pipe") == 0) {
      a->stdin_pipe = 1;
      continue;
    }
    if (strcmp(opt, "--") == 0) {
      a->cmd = argv + i + 1;
      return (i + 1 < argc && a->ready >= 3 && a->pid_file && a->log_file && a->exit_file) ? 0 : -1;
    }
    if (i + 1 >= argc) return -1;
    const char *val = argv[++i];
    if (strcmp(opt, "--ready-fd") == 0) a->ready = atoi(val);
    else if (strcmp(opt, "--pid-file") == 0) a->pid_file = val;
    else if (strcmp(opt, "--log") == 0) a->log_file = val;
    else if (strcmp(opt, "--exit-file") == 0) a->exit_file = val;
    else if (strcmp(opt, "--console-socket") == 0) a->console_socket = val;
    else if (strcmp(opt, "--attach-socket") == 0) a->attach_socket = val;
    else if (strcmp(opt, "--exit-command") == 0 || strcmp(opt, "--exit-command-arg") == 0) {
      if (nexit >= 63 || (nexit == 0) != (strcmp(opt, "--exit-command") == 0)) return -1;
      a->exit_command[nexit++] = (char *)val;
      a->exit_command[nexit] = NULL;
    } else
      return -1;
  }
  return -1;
}

static void run_exit_command(char **argv) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    syscall(SYS_close_range, 3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(argv[0], argv);
    _exit(127);
  }
  if (pid > 0)
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

int monitor_main(int argc, char **argv) {
  struct monitor_args args = {0};
  if (parse_args(argc, argv, &args) < 0) {
    dprintf(2,
            "usage: berth-spawn --monitor --ready-fd N --pid-file P --log L --exit-file E "
            "[--console-socket S] [--stdin-pipe] [--attach-socket A] [--exit-command PATH [--exit-command-arg A]...] -- <runtime> <args...>\n");
    return 2;
  }
  attach_init(&att);
  int ready = args.ready;
  const char *pid_file = args.pid_file, *log_file = args.log_file, *exit_file = args.exit_file;
  char **cmd = args.cmd;
  if (fcntl(ready, F_SETFD, FD_CLOEXEC) < 0) {
    dprintf(2, "berth-spawn --monitor: bad ready fd %d\n", ready);
    return 2;
  }
  /* A process that lives as long as the container keeps nothing its caller left open (a pipe
   * held here would keep the caller's reader waiting). */
  if (ready > 3) syscall(SYS_close_range, 3, (unsigned)ready - 1, 0);
  syscall(SYS_close_range, (unsigned)ready + 1, ~0U, 0);
  /* The container's init is reparented here when the runtime's own processes exit. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    report(ready, "error cannot become a child subreaper: %s\n", strerror(errno), 0);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  int pipes[2][2], in[2] = {-1, -1};
  if (sfd < 0 || pipe2(pipes[OUT], O_CLOEXEC) < 0 || pipe2(pipes[ERR], O_CLOEXEC) < 0 || (args.stdin_pipe && pipe2(in, O_CLOEXEC) < 0)) {
    report(ready, "error cannot set up the monitor: %s\n", strerror(errno), 0);
    return 1;
  }
  int console_ls = -1, master = -1;
  if (args.console_socket && (console_ls = console_listen(args.console_socket)) < 0) {
    report(ready, "error cannot listen on the console socket: %s\n", strerror(errno), 0);
    return 1;
  }
  pid_t runtime = fork();
  if (runtime < 0) {
    report(ready, "error fork: %s\n", strerror(errno), 0);
    return 1;
  }
  if (runtime == 0) {
    int input = args.stdin_pipe ? in[0] : open("/dev/null", O_RDONLY);
    if (input < 0 || dup2(input, 0) < 0 || dup2(pipes[OUT][1], 1) < 0 || dup2(pipes[ERR][1], 2) < 0) _exit(127);
    syscall(SYS_close_range, 3, ~0U, 0);
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execvp(cmd[0], cmd);
    dprintf(2, "cannot run %s: %s\n", cmd[0], strerror(errno));
    _exit(127);
  }
  close(pipes[OUT][1]);
  close(pipes[ERR][1]);
  /* The write end stays open and unused: the container reads from a stdin that never ends. */
  if (in[0] >= 0) close(in[0]);
  if (in[1] >= 0) fcntl(in[1], F_SETFL, O_NONBLOCK); /* attach input never blocks the monitor for long */
  for (int s = OUT; s <= ERR; s++) fcntl(pipes[s][0], F_SETFL, O_NONBLOCK);

  int log = -1;
  pid_t container = -1;
  int runtime_status = -1, container_status = -1;
  int open_pipes[2] = {1, 1};
  int master_open = 0;
  struct attach_input input = {.fd = -1};
  struct timespec exited_at = {0};
  for (;;) {
    struct pollfd fds[5 + 1 + ATTACH_MAX] = {{.fd = sfd, .events = POLLIN},
                                             {.fd = open_pipes[OUT] ? pipes[OUT][0] : -1, .events = POLLIN},
                                             {.fd = open_pipes[ERR] ? pipes[ERR][0] : -1, .events = POLLIN},
                                             {.fd = console_ls, .events = POLLIN},
                                             {.fd = master_open && log >= 0 ? master : -1, .events = POLLIN}};
    int nfds = 5 + attach_pollfds(&att, fds + 5);
    /* After the container ended, processes that kept its pipes open get a moment, not forever. */
    int timeout = container_status >= 0 ? 200 : -1;
    int n = poll(fds, (nfds_t)nfds, timeout);
    if (n < 0 && errno != EINTR) break;
    if (n > 0) attach_handle(&att, fds + 5, &input);
    if (console_ls >= 0 && fds[3].revents & POLLIN) {
      /* The runtime hands over the pty while `create` runs. */
      master = console_accept_master(console_ls, args.console_socket);
      console_ls = -1;
      master_open = master >= 0;
      if (master >= 0) fcntl(master, F_SETFL, O_NONBLOCK);
    }
    /* EIO once every slave fd is closed: the container and everything it started are gone. */
    if (master_open && fds[4].revents & (POLLIN | POLLHUP | POLLERR))
      if (pump(master, OUT, log) < 0) master_open = 0;
    for (int s = OUT; s <= ERR; s++)
      if (fds[1 + s].revents & (POLLIN | POLLHUP | POLLERR))
        if (pump(pipes[s][0], s, log) < 0) open_pipes[s] = 0;
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) break;
        if (pid == runtime) runtime_status = status;
        if (pid == container) container_status = status_code(status);
      }
    }
    if (runtime_status >= 0 && container < 0) {
      /* `create` has finished: its output so far is the runtime's, not the container's. */
      for (int s = OUT; s <= ERR; s++)
        while (open_pipes[s] && pump(pipes[s][0], s, -1) == 0 && create_len < sizeof create_output - 1) {
          struct pollfd p = {.fd = pipes[s][0], .events = POLLIN};
          if (poll(&p, 1, 0) <= 0) break;
        }
      create_output[create_len] = 0;
      if (!WIFEXITED(runtime_status) || WEXITSTATUS(runtime_status) != 0) {
        report(ready, "error %s\n", create_len ? create_output : "the runtime's create failed without a message", 0);
        return 1;
      }
      container = (pid_t)read_pid_file(pid_file);
      log = open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
      const char *problem = container <= 0                     ? "the runtime wrote no container pid"
                            : log < 0                          ? "cannot open the log file"
                            : args.console_socket && master < 0 ? "the runtime sent no terminal over the console socket"
                                                               : NULL;
      if (problem) {
        report(ready, "error %s\n", problem, 0);
        if (container > 0) kill(container, SIGKILL);
        return 1;
      }
      /* What the runtime printed while creating (warnings) goes first into the log. */
      if (create_len)
        for (size_t start = 0, i = 0; i <= create_len; i++)
          if (i == create_len || create_output[i] == '\n') {
            if (i > start) log_piece(log, ERR, create_output + start, i - start, 1);
            start = i + 1;
          }
      input.fd = master >= 0 ? master : in[1];
      input.is_tty = master >= 0;
      if (args.attach_socket && attach_listen(&att, args.attach_socket) < 0) {
        report(ready, "error cannot listen on the attach socket: %s\n", strerror(errno), 0);
        kill(container, SIGKILL);
        return 1;
      }
      report(ready, "ok %ld\n", NULL, (long)container);
      close(ready);
      /* Keep no caller's directory busy for the container's lifetime (every path given is absolute). */
      if (chdir("/") < 0) {
      }
      /* The container may have exited before we learned its pid. */
      int status;
      if (waitpid(container, &status, WNOHANG) == container) container_status = status_code(status);
      continue;
    }
    if (container_status >= 0) {
      if (exited_at.tv_sec == 0) clock_gettime(CLOCK_MONOTONIC, &exited_at);
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long waited_ms = (now.tv_sec - exited_at.tv_sec) * 1000 + (now.tv_nsec - exited_at.tv_nsec) / 1000000;
      if ((!open_pipes[OUT] && !open_pipes[ERR] && !master_open) || waited_ms >= 1000) break;
    }
  }
  attach_close(&att, args.attach_socket);
  if (log >= 0) fsync(log);
  if (container_status < 0) container_status = 255;
  if (write_exit_file(exit_file, container_status) < 0) return 1;
  /* Reap whatever else was reparented here and has ended. */
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  if (args.exit_command[0]) run_exit_command(args.exit_command);
  return 0;
}
