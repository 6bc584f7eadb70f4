/* berth-spawn --monitor: the parent of one container for its whole life (DESIGN.md, process
 * model; what conmon is to cri-o). It holds the container's stdio pipes, is the parent of its init
 * (a child subreaper), writes everything the container prints to a CRI log file (log-writer.c,
 * rotated at the limits given), serves the attach socket (attach.c), reaps the container, and
 * writes its exit status to a file. The caller (berth, berthd) can exit: the monitor keeps the
 * container's pipes, so nothing blocks on them. Two ways to create the container:
 *
 *   berth-spawn --monitor --ready-fd N --pid-file P <common> -- <runtime> <args...>
 *       runs an OCI runtime's `create` (runc, crun, runsc...) and takes on the init it made,
 *       reparented here; the ready fd receives "ok <pid>" ("ok <pid> unbound <why>" when
 *       --exit-kill was asked for and the kernel refused it) or "error <what the runtime printed>".
 *   berth-spawn --monitor --plan-fd N <common>
 *       runs berth's own plan itself (plan-relay.c): the plan fd carries the plan and the
 *       executor's channel lines, relayed both ways, then "ready <pid>" ("ready <pid> unbound
 *       <why>") or "fail <why>".
 *
 *   <common>: --exit-file E [--log L] [--log-max-size BYTES] [--log-max-files N] [--exit-kill]
 *             [--console-socket S] [--stdin-pipe] [--attach-socket A]
 *             [--exit-command PATH [--exit-command-arg A]...]
 *
 * The ready or plan fd stays open after that: when the container has ended, the monitor writes
 * "exit <status> <unix time in ns>" on it (if the caller still listens), and sends the same to
 * every client of the attach socket (frame 8), so that nobody polls for exits.
 *
 * --exit-kill ties the container to this process: its init is attached with ptrace
 * (PTRACE_SEIZE, PTRACE_O_EXITKILL), so that the kernel SIGKILLs it if the monitor dies, however
 * it dies. Nothing else is traced; every signal the init receives stops it until the monitor lets
 * it through (a group stop stays a stop: PTRACE_LISTEN).
 *
 * The exit file holds the exit code, or 128 + the signal number, written with a rename so that
 * readers see all or nothing, its modification time the moment the init was reaped; then the exit
 * command, if any, runs (as conmon's --exit-command: cleaning up after `run --rm`).
 *
 * The monitor is in one of these phases, each with its handler:
 *   CREATING  the runtime's create runs; what it prints is kept for the error report
 *   PLANNING  berth's plan runs; its channel is relayed between the executor and the caller
 *   RUNNING   the container runs; its output goes to the log and to attached clients
 *   DRAINING  its init has exited; output still in its pipes is logged, for at most a second
 *   DONE      the exit file is written, the exit is announced and the exit command runs
 *   FAILED    create failed: the error was reported, there is no container */
#include "monitor.h"
#include "attach.h"
#include "console-relay.h"
#include "log-writer.h"
#include "plan-relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { OUT = 0, ERR = 1 };
enum phase { CREATING, PLANNING, RUNNING, DRAINING, DONE, FAILED };
/* Where the container's output comes from: its stdout and stderr pipes, and its pty master. */
enum { SRC_OUT = 0, SRC_ERR = 1, SRC_PTY = 2, NSRC = 3 };
/* The poll set: the SIGCHLD signalfd, the sources, the console socket, the caller's channel and
 * (while a plan runs) the executor's, then the attach socket. */
enum { FD_SIGNAL = 0, FD_SRC = 1, FD_CONSOLE = FD_SRC + NSRC, FD_CALLER, FD_EXECUTOR, FD_ATTACH, NFDS = FD_ATTACH + 1 + ATTACH_MAX };

struct monitor_args {
  int ready; /* CLI mode: where "ok"/"error" goes */
  int plan;  /* plan mode: the plan and the relayed channel */
  const char *pid_file, *log_file, *exit_file;
  /* Log rotation: bytes per file (0: no limit) and files kept. */
  unsigned long long log_max_size;
  int log_max_files;
  /* The container's init dies with the monitor (ptrace's PTRACE_O_EXITKILL). */
  int exit_kill;
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

struct source {
  int fd; /* -1 once closed, or before the pty arrives */
  int stream;
};

struct monitor {
  struct monitor_args args;
  enum phase phase;
  int sfd;
  /* The ready or plan fd: set-up reports, then the exit line; -1 once the caller hung up. */
  int caller;
  struct source src[NSRC];
  int stdin_write; /* the write end of the stdin pipe, kept open and never written by us */
  int console_ls;
  pid_t runtime, container;
  int runtime_status;   /* wait status of `create`, -1 while it runs */
  int container_status; /* exit code (or 128 + signal), -1 while the init runs */
  struct timespec finished; /* when the init was reaped (CLOCK_REALTIME) */
  struct timespec drain_until;
  struct log_writer log;
  struct attach att;
  struct attach_target target;
  /* What the runtime printed while `create` ran, kept for the error report. */
  char create_output[4096];
  size_t create_len;
  struct plan_relay relay;
};

static struct monitor mon;

/* One line to the caller, if it still listens (newlines in the text become spaces). */
static void tell(struct monitor *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tell(struct monitor *m, const char *fmt, ...) {
  if (m->caller < 0) return;
  char msg[4200];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(msg, sizeof msg - 1, fmt, ap);
  va_end(ap);
  if (len < 0) return;
  if ((size_t)len > sizeof msg - 2) len = sizeof msg - 2;
  for (int i = 0; i < len; i++)
    if (msg[i] == '\n') msg[i] = ' ';
  msg[len++] = '\n';
  if (write_all(m->caller, msg, (size_t)len) < 0) {
    close(m->caller);
    m->caller = -1;
  }
}

static long long unix_ns(const struct timespec *t) {
  return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int write_exit_file(const char *path, int code, const struct timespec *when) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  char text[16];
  int len = snprintf(text, sizeof text, "%d", code);
  int rc = write_all(fd, text, (size_t)len);
  /* The modification time says when the container ended, for whoever reads the file later. */
  const struct timespec times[2] = {*when, *when};
  futimens(fd, times);
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

static int parse_args(int argc, char **argv, struct monitor_args *a) {
  int nexit = 0;
  a->ready = a->plan = -1;
  a->log_max_files = 1;
  for (int i = 2; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--stdin-pipe") == 0) {
      a->stdin_pipe = 1;
      continue;
    }
    if (strcmp(opt, "--exit-kill") == 0) {
      a->exit_kill = 1;
      continue;
    }
    if (strcmp(opt, "--") == 0) {
      a->cmd = argv + i + 1;
      break;
    }
    if (i + 1 >= argc) return -1;
    const char *val = argv[++i];
    char *end = NULL;
    if (strcmp(opt, "--ready-fd") == 0) a->ready = atoi(val);
    else if (strcmp(opt, "--plan-fd") == 0) a->plan = atoi(val);
    else if (strcmp(opt, "--pid-file") == 0) a->pid_file = val;
    else if (strcmp(opt, "--log") == 0) a->log_file = val;
    else if (strcmp(opt, "--exit-file") == 0) a->exit_file = val;
    else if (strcmp(opt, "--log-max-size") == 0) {
      a->log_max_size = strtoull(val, &end, 10);
      if (*end) return -1;
    } else if (strcmp(opt, "--log-max-files") == 0) {
      a->log_max_files = (int)strtol(val, &end, 10);
      if (*end) return -1;
    } else if (strcmp(opt, "--console-socket") == 0) a->console_socket = val;
    else if (strcmp(opt, "--attach-socket") == 0) a->attach_socket = val;
    else if (strcmp(opt, "--exit-command") == 0 || strcmp(opt, "--exit-command-arg") == 0) {
      if (nexit >= 63 || (nexit == 0) != (strcmp(opt, "--exit-command") == 0)) return -1;
      a->exit_command[nexit++] = (char *)val;
      a->exit_command[nexit] = NULL;
    } else
      return -1;
  }
  if (!a->exit_file || a->log_max_files < 1) return -1;
  /* Exactly one way to create: a runtime command with its ready fd and pid file, or a plan. */
  if (a->plan >= 3) return a->ready < 0 && !a->cmd && !a->pid_file ? 0 : -1;
  return a->ready >= 3 && a->cmd && a->cmd[0] && a->pid_file ? 0 : -1;
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

static int reopen_log(void *ctx) {
  return log_reopen(&((struct monitor *)ctx)->log);
}

/* ---- reaping ---- */

/* A traced init stopped: let the signal through, or keep a group stop a stop. */
static void resume_tracee(pid_t pid, int status) {
  int sig = WSTOPSIG(status);
  if (status >> 16 == PTRACE_EVENT_STOP) {
    int stopping = sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
    ptrace(stopping ? PTRACE_LISTEN : PTRACE_CONT, pid, NULL, NULL);
  } else {
    ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
  }
}

static void reap(struct monitor *m) {
  struct signalfd_siginfo si;
  while (read(m->sfd, &si, sizeof si) == sizeof si) {
  }
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (WIFSTOPPED(status)) {
      if (pid == m->container) resume_tracee(pid, status);
      continue;
    }
    if (pid == m->runtime) m->runtime_status = status;
    if (pid == m->container) {
      m->container_status = status_code(status);
      clock_gettime(CLOCK_REALTIME, &m->finished);
    }
  }
}

/* ---- output ---- */

/* Reads what is available on a source; to the log and attached clients, or (while `create` runs)
 * into the create output. Closes the source at end of file (EIO for a pty: every slave closed). */
static void pump(struct monitor *m, struct source *s) {
  static char buf[LOG_CHUNK_MAX];
  ssize_t n = read(s->fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close(s->fd);
    s->fd = -1;
    return;
  }
  if (m->phase == CREATING) {
    size_t room = sizeof m->create_output - 1 - m->create_len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(m->create_output + m->create_len, buf, take);
    m->create_len += take;
    return;
  }
  log_write(&m->log, s->stream, buf, (size_t)n, 0);
  attach_send(&m->att, s->stream, buf, (size_t)n);
}

static void pump_ready(struct monitor *m, const struct pollfd *fds) {
  for (int i = 0; i < NSRC; i++)
    if (m->src[i].fd >= 0 && fds[FD_SRC + i].fd == m->src[i].fd && fds[FD_SRC + i].revents & (POLLIN | POLLHUP | POLLERR)) pump(m, &m->src[i]);
}

static int sources_open(const struct monitor *m) {
  for (int i = 0; i < NSRC; i++)
    if (m->src[i].fd >= 0) return 1;
  return 0;
}

/* The caller may hang up at any time once the container exists: then nobody hears the exit line. */
static void watch_caller(struct monitor *m, const struct pollfd *fds) {
  if (m->caller < 0 || fds[FD_CALLER].fd != m->caller || !(fds[FD_CALLER].revents & (POLLIN | POLLHUP | POLLERR))) return;
  char buf[256];
  ssize_t n = read(m->caller, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close(m->caller);
    m->caller = -1;
  }
  /* Anything the caller says after set-up is not a request (yet): ignored. */
}

/* ---- phases ---- */

static void fail(struct monitor *m, const char *what) {
  if (m->args.plan >= 0) {
    relay_abandon(&m->relay);
    tell(m, "fail %s", what);
  } else {
    tell(m, "error %s", what);
  }
  if (m->container > 0) kill(m->container, SIGKILL);
  m->phase = FAILED;
}

static long ms_until(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long ms = (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
  return ms > 0 ? ms : 0;
}

static void start_draining(struct monitor *m) {
  clock_gettime(CLOCK_MONOTONIC, &m->drain_until);
  m->drain_until.tv_sec += 1;
  m->phase = sources_open(m) ? DRAINING : DONE;
}

/* The container exists (its init is m->container): open what supervising it needs. 0, or -1 with
 * the reason in why. */
static int prepare_supervision(struct monitor *m, char *why, size_t whylen) {
  if (m->args.log_file && log_open(&m->log, m->args.log_file, m->args.log_max_size, m->args.log_max_files) < 0) {
    snprintf(why, whylen, "cannot open the log file: %s", strerror(errno));
    return -1;
  }
  if (m->args.console_socket && m->src[SRC_PTY].fd < 0) {
    snprintf(why, whylen, "the runtime sent no terminal over the console socket");
    return -1;
  }
  m->target = (struct attach_target){.fd = m->src[SRC_PTY].fd >= 0 ? m->src[SRC_PTY].fd : m->stdin_write,
                                     .is_tty = m->src[SRC_PTY].fd >= 0,
                                     .reopen_log = reopen_log,
                                     .ctx = m};
  if (m->args.attach_socket && attach_listen(&m->att, m->args.attach_socket) < 0) {
    snprintf(why, whylen, "cannot listen on the attach socket: %s", strerror(errno));
    return -1;
  }
  return 0;
}

/* Ties the init to this process if asked; the reason it could not, or NULL. */
static const char *tie(struct monitor *m, char *why, size_t whylen) {
  /* ESRCH: the init has already exited, and there is nothing left to tie. */
  if (!m->args.exit_kill || ptrace(PTRACE_SEIZE, m->container, NULL, (void *)(long)PTRACE_O_EXITKILL) == 0 || errno == ESRCH) return NULL;
  snprintf(why, whylen, "ptrace: %s", strerror(errno));
  return why;
}

static void supervise(struct monitor *m) {
  /* Keep no caller's directory busy for the container's lifetime (every path given is absolute). */
  if (chdir("/") < 0) {
  }
  m->phase = RUNNING;
  /* The container may have exited before we learned its pid. */
  int status;
  if (m->container_status < 0 && waitpid(m->container, &status, WNOHANG) == m->container && !WIFSTOPPED(status)) {
    m->container_status = status_code(status);
    clock_gettime(CLOCK_REALTIME, &m->finished);
  }
  if (m->container_status >= 0) start_draining(m);
}

/* `create` has exited: report its failure, or take the container on. */
static void finish_create(struct monitor *m) {
  /* What it printed so far is the runtime's, not the container's. */
  for (int s = SRC_OUT; s <= SRC_ERR; s++)
    for (int i = 0; i < 64 && m->src[s].fd >= 0 && m->create_len < sizeof m->create_output - 1; i++) {
      struct pollfd p = {.fd = m->src[s].fd, .events = POLLIN};
      if (poll(&p, 1, 0) <= 0) break;
      pump(m, &m->src[s]);
    }
  m->create_output[m->create_len] = 0;
  if (!WIFEXITED(m->runtime_status) || WEXITSTATUS(m->runtime_status) != 0) {
    fail(m, m->create_len ? m->create_output : "the runtime's create failed without a message");
    return;
  }
  m->container = (pid_t)read_pid_file(m->args.pid_file);
  if (m->container <= 0) {
    fail(m, "the runtime wrote no container pid");
    return;
  }
  char why[256];
  if (prepare_supervision(m, why, sizeof why) < 0) {
    fail(m, why);
    return;
  }
  /* What the runtime printed while creating (warnings) goes first into the log, as stderr lines. */
  if (m->create_len) log_write(&m->log, ERR, m->create_output, m->create_len, 1);
  const char *unbound = tie(m, why, sizeof why);
  if (unbound) tell(m, "ok %ld unbound %s", (long)m->container, unbound);
  else tell(m, "ok %ld", (long)m->container);
  supervise(m);
}

static void accept_console(struct monitor *m) {
  int master = console_accept_master(m->console_ls, m->args.console_socket);
  m->console_ls = -1;
  if (master >= 0) fcntl(master, F_SETFL, O_NONBLOCK);
  m->src[SRC_PTY].fd = master;
}

static void creating(struct monitor *m, const struct pollfd *fds) {
  /* The runtime hands over the pty while `create` runs. */
  if (m->console_ls >= 0 && fds[FD_CONSOLE].revents & POLLIN) accept_console(m);
  pump_ready(m, fds);
  if (m->runtime_status >= 0) finish_create(m);
}

/* The caller acknowledged "sync created": the init waits for start. Take it on, then let it go. */
static void finish_plan(struct monitor *m) {
  m->container = m->relay.container;
  /* init sent the pty before it reached "sync created": its connection is queued by now. */
  struct pollfd p = {.fd = m->console_ls, .events = POLLIN};
  if (m->console_ls >= 0 && poll(&p, 1, 0) > 0) accept_console(m);
  char why[256];
  if (m->container <= 0) {
    fail(m, "the plan reported no container pid");
    return;
  }
  if (prepare_supervision(m, why, sizeof why) < 0) {
    fail(m, why);
    return;
  }
  const char *unbound = tie(m, why, sizeof why);
  if (relay_finish(&m->relay) < 0) {
    fail(m, "the container's init is gone");
    return;
  }
  if (unbound) tell(m, "ready %ld unbound %s", (long)m->container, unbound);
  else tell(m, "ready %ld", (long)m->container);
  supervise(m);
}

static void planning(struct monitor *m, const struct pollfd *fds) {
  enum relay_event e = relay_handle(&m->relay, fds + FD_CALLER);
  m->container = m->relay.container;
  if (e == RELAY_FAILED) {
    fail(m, m->relay.failure);
  } else if (e == RELAY_CREATED) {
    finish_plan(m);
  }
}

static void running(struct monitor *m, const struct pollfd *fds) {
  pump_ready(m, fds);
  watch_caller(m, fds);
  if (m->container_status >= 0) start_draining(m);
}

/* After the container ended, processes that kept its pipes open get a moment, not forever. */
static void draining(struct monitor *m, const struct pollfd *fds) {
  pump_ready(m, fds);
  watch_caller(m, fds);
  if (!sources_open(m) || ms_until(&m->drain_until) == 0) m->phase = DONE;
}

/* The container has ended: the exit file, then everyone listening is told, then the exit command. */
static int done(struct monitor *m) {
  log_close(&m->log);
  if (m->container_status < 0) m->container_status = 255;
  if (m->finished.tv_sec == 0) clock_gettime(CLOCK_REALTIME, &m->finished);
  int rc = write_exit_file(m->args.exit_file, m->container_status, &m->finished);
  long long ns = unix_ns(&m->finished);
  attach_exit(&m->att, m->container_status, ns);
  tell(m, "exit %d %lld", m->container_status, ns);
  attach_close(&m->att, m->args.attach_socket);
  if (rc < 0) return 1;
  /* Reap whatever else was reparented here and has ended. */
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  if (m->args.exit_command[0]) run_exit_command(m->args.exit_command);
  return 0;
}

static int poll_set(const struct monitor *m, struct pollfd *fds) {
  fds[FD_SIGNAL] = (struct pollfd){.fd = m->sfd, .events = POLLIN};
  for (int i = 0; i < NSRC; i++) {
    /* The container's output is read once it exists: nothing comes from the pty during create. */
    int fd = (i == SRC_PTY && m->phase == CREATING) || m->phase == PLANNING ? -1 : m->src[i].fd;
    fds[FD_SRC + i] = (struct pollfd){.fd = fd, .events = POLLIN};
  }
  /* A plan's init connects before its clone and sends the pty only near the end of set-up: it is
   * received then (finish_plan), not waited for while the plan needs its sync points answered. */
  fds[FD_CONSOLE] = (struct pollfd){.fd = m->phase == PLANNING ? -1 : m->console_ls, .events = POLLIN};
  if (m->phase == PLANNING) {
    relay_pollfds(&m->relay, fds + FD_CALLER);
  } else {
    fds[FD_CALLER] = (struct pollfd){.fd = m->phase == CREATING ? -1 : m->caller, .events = POLLIN};
    fds[FD_EXECUTOR] = (struct pollfd){.fd = -1};
  }
  return FD_ATTACH + attach_pollfds(&m->att, fds + FD_ATTACH);
}

/* ---- set-up ---- */

/* The signalfd, the container's stdio pipes and the console socket. */
static int make_stdio(struct monitor *m, int out[2], int err[2], int in[2]) {
  struct monitor_args *a = &m->args;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  m->sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (m->sfd < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || (a->stdin_pipe && pipe2(in, O_CLOEXEC) < 0)) {
    tell(m, "%s cannot set up the monitor: %s", a->plan >= 0 ? "fail" : "error", strerror(errno));
    return -1;
  }
  if (a->console_socket && (m->console_ls = console_listen(a->console_socket)) < 0) {
    tell(m, "%s cannot listen on the console socket: %s", a->plan >= 0 ? "fail" : "error", strerror(errno));
    return -1;
  }
  return 0;
}

/* The monitor keeps the read ends of the output pipes and the write end of the stdin pipe. */
static void keep_stdio(struct monitor *m, int out[2], int err[2], int in[2]) {
  close(out[1]);
  close(err[1]);
  /* The write end stays open and unused: the container reads from a stdin that never ends. */
  if (in[0] >= 0) close(in[0]);
  m->stdin_write = in[1];
  if (in[1] >= 0) fcntl(in[1], F_SETFL, O_NONBLOCK); /* attach input never blocks the monitor for long */
  m->src[SRC_OUT] = (struct source){.fd = out[0], .stream = OUT};
  m->src[SRC_ERR] = (struct source){.fd = err[0], .stream = ERR};
  for (int s = SRC_OUT; s <= SRC_ERR; s++) fcntl(m->src[s].fd, F_SETFL, O_NONBLOCK);
}

static int start_create(struct monitor *m) {
  struct monitor_args *a = &m->args;
  int out[2], err[2], in[2] = {-1, -1};
  if (make_stdio(m, out, err, in) < 0) return -1;
  m->runtime = fork();
  if (m->runtime < 0) {
    tell(m, "error fork: %s", strerror(errno));
    return -1;
  }
  if (m->runtime == 0) {
    int input = a->stdin_pipe ? in[0] : open("/dev/null", O_RDONLY);
    if (input < 0 || dup2(input, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(127);
    syscall(SYS_close_range, 3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execvp(a->cmd[0], a->cmd);
    dprintf(2, "cannot run %s: %s\n", a->cmd[0], strerror(errno));
    _exit(127);
  }
  keep_stdio(m, out, err, in);
  return 0;
}

static int start_plan(struct monitor *m) {
  struct monitor_args *a = &m->args;
  int out[2], err[2], in[2] = {-1, -1};
  /* Every path in a plan is absolute. */
  if (chdir("/") < 0) {
  }
  if (make_stdio(m, out, err, in) < 0) return -1;
  int input = a->stdin_pipe ? in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int stdio[3] = {input, out[1], err[1]};
  int rc = relay_start(&m->relay, m->caller, stdio);
  if (!a->stdin_pipe && input >= 0) close(input);
  if (rc < 0) {
    tell(m, "fail %s", m->relay.failure);
    return -1;
  }
  m->runtime = m->relay.runner;
  keep_stdio(m, out, err, in);
  return 0;
}

static const char USAGE[] =
    "usage: berth-spawn --monitor (--ready-fd N --pid-file P | --plan-fd N) --exit-file E [--log L] [--log-max-size BYTES] "
    "[--log-max-files N] [--exit-kill] [--console-socket S] [--stdin-pipe] [--attach-socket A] "
    "[--exit-command PATH [--exit-command-arg A]...] [-- <runtime> <args...>]\n";

int monitor_main(int argc, char **argv) {
  struct monitor *m = &mon; /* static: zeroed, and too large for the stack */
  m->sfd = m->stdin_write = m->console_ls = m->log.fd = m->caller = -1;
  m->runtime_status = m->container_status = -1;
  m->src[SRC_OUT].fd = m->src[SRC_ERR].fd = -1;
  m->src[SRC_PTY] = (struct source){.fd = -1, .stream = OUT};
  if (parse_args(argc, argv, &m->args) < 0) {
    dprintf(2, "%s", USAGE);
    return 2;
  }
  attach_init(&m->att);
  int caller = m->args.plan >= 0 ? m->args.plan : m->args.ready;
  if (fcntl(caller, F_SETFD, FD_CLOEXEC) < 0) {
    dprintf(2, "berth-spawn --monitor: bad %s fd %d\n", m->args.plan >= 0 ? "plan" : "ready", caller);
    return 2;
  }
  m->caller = caller;
  m->phase = m->args.plan >= 0 ? PLANNING : CREATING;
  /* A process that lives as long as the container keeps nothing its caller left open (a pipe
   * held here would keep the caller's reader waiting). */
  if (caller > 3) syscall(SYS_close_range, 3, (unsigned)caller - 1, 0);
  syscall(SYS_close_range, (unsigned)caller + 1, ~0U, 0);
  /* The container's init is reparented here when the runtime's own processes exit. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    tell(m, "%s cannot become a child subreaper: %s", m->args.plan >= 0 ? "fail" : "error", strerror(errno));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  if ((m->phase == PLANNING ? start_plan(m) : start_create(m)) < 0) return 1;

  while (m->phase != DONE && m->phase != FAILED) {
    struct pollfd fds[NFDS];
    int nfds = poll_set(m, fds);
    int n = poll(fds, (nfds_t)nfds, m->phase == DRAINING ? (int)ms_until(&m->drain_until) : -1);
    if (n < 0 && errno != EINTR) break;
    if (n < 0) continue;
    if (fds[FD_SIGNAL].revents & POLLIN) reap(m);
    if (m->phase != CREATING && m->phase != PLANNING) attach_handle(&m->att, fds + FD_ATTACH, &m->target);
    switch (m->phase) {
    case CREATING: creating(m, fds); break;
    case PLANNING: planning(m, fds); break;
    case RUNNING: running(m, fds); break;
    case DRAINING: draining(m, fds); break;
    case DONE:
    case FAILED: break;
    }
  }
  /* What set-up started and did not finish was killed (fail) or exits at its next sync point. */
  if (m->phase == FAILED) return 1;
  return done(m);
}
