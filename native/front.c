/* berth-runtime's front (bin/berth-runtime links here): answers `state`, `start`, `kill`,
 * `delete` and `list` itself when the container's fast-path data covers the case, and runs the
 * Node CLI with the same arguments for everything else (docs/fast-path.md). It holds no policy:
 * what it prints and removes was written by TypeScript at create time; it parses runc's command
 * line only as far as src/cli/argv.ts would, and anything it does not recognise goes to Node.
 *
 * BERTH_RUNTIME_FRONT=node sends every command to Node; =native never starts Node, and reports
 * instead why a command would have gone there (exit status 120): both are for tests. */
#include "front.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NATIVE_ONLY_STATUS 120

static char reason[512];

int fall_through(const char *why, const char *detail) {
  snprintf(reason, sizeof reason, "%s%s%s", why, detail ? ": " : "", detail ? detail : "");
  return FALL_THROUGH;
}

/* For create, run and exec: starts the berth-spawn that will execute the command's plan now,
 * so that it gets ready while Node boots, instead of Node forking it later (a fork of Node costs
 * more than Node's whole wait for it here). It inherits what Node's spawn would pass: our stdio,
 * every fd we hold (--preserve-fds), its own session; the channel goes on the lowest free fd.
 * Node finds the other end in BERTH_SPAWN_CHANNEL="<fd> <pid>" (src/sys/berth-spawn.ts) and
 * writes the plan; if it never does, berth-spawn reads end-of-file and exits. */
static void pre_spawn(const char *spawn) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int chan = fcntl(sv[1], F_DUPFD, 3); /* a new fd: without close-on-exec */
    char fd[16];
    snprintf(fd, sizeof fd, "%d", chan);
    if (chan >= 0) execl(spawn, spawn, fd, (char *)NULL);
    _exit(127);
  }
  close(sv[1]);
  int node_end = pid > 0 ? fcntl(sv[0], F_DUPFD, 3) : -1;
  close(sv[0]);
  if (node_end < 0) return;
  char env[64];
  snprintf(env, sizeof env, "%d %d", node_end, (int)pid);
  setenv("BERTH_SPAWN_CHANNEL", env, 1);
}

/* Runs the Node CLI (its V8 start-up snapshot when built) with our arguments, as the shell
 * launcher did: repository paths from where this binary is, BERTH_SPAWN for the snapshot, and
 * without NODE_EXTRA_CA_CERTS, which makes every Node start read a CA bundle (~30 ms) for TLS
 * connections berth-runtime never makes. */
static __attribute__((noreturn)) void run_node(int argc, char **argv, const char *command) {
  char repo[PATH_MAX], spawn[PATH_MAX + 64], blob[PATH_MAX + 64], cjs[PATH_MAX + 64];
  ssize_t n = readlink("/proc/self/exe", repo, sizeof repo - 1);
  if (n <= 0) {
    dprintf(2, "berth-runtime: cannot find its own executable: %s\n", strerror(errno));
    _exit(127);
  }
  repo[n] = '\0';
  for (int i = 0; i < 3; i++) { /* <repo>/native/build/berth-runtime */
    char *slash = strrchr(repo, '/');
    if (slash) *slash = '\0';
  }
  snprintf(spawn, sizeof spawn, "%s/native/build/berth-spawn", repo);
  snprintf(blob, sizeof blob, "%s/dist/berth-runtime.blob", repo);
  snprintf(cjs, sizeof cjs, "%s/dist/berth-runtime.cjs", repo);
  const char *given = getenv("BERTH_SPAWN");
  if (!given || !*given) setenv("BERTH_SPAWN", spawn, 1);
  unsetenv("NODE_EXTRA_CA_CERTS");
  unsetenv("BERTH_SPAWN_CHANNEL"); /* only ever meant for the Node we start */
  signal(SIGPIPE, SIG_DFL);
  if (command && (strcmp(command, "create") == 0 || strcmp(command, "run") == 0 || strcmp(command, "exec") == 0)) pre_spawn(getenv("BERTH_SPAWN"));
  char **args = calloc((size_t)argc + 5, sizeof *args);
  if (!args) _exit(127);
  int k = 0;
  args[k++] = "node";
  if (access(blob, R_OK) == 0) {
    /* The snapshot is tied to this node binary and to the flag that scripts/bundle.mjs built it
     * with; "--" keeps our flags away from node's parser. */
    args[k++] = "--no-rehash-snapshot";
    args[k++] = "--snapshot-blob";
    args[k++] = blob;
    args[k++] = "--";
  } else {
    args[k++] = cjs;
  }
  for (int i = 1; i < argc; i++) args[k++] = argv[i];
  execvp("node", args);
  dprintf(2, "berth-runtime: cannot run node: %s\n", strerror(errno));
  _exit(127);
}

/* Command-line parsing: the subset of src/cli/argv.ts the front accepts --------------------- */

struct flag {
  const char *name;
  const char *alias;
  int has_value;
};

/* --name, -name, --name=v, -name=v, by name or alias (as argv.ts, which strips up to two
 * dashes). Attached and bundled short flags (-fjson, -qf) are not matched: Node parses those. */
static int match_flag(const char *arg, const struct flag *table, const char **value) {
  const char *body = arg + 1;
  if (*body == '-') body++;
  const char *eq = strchr(body, '=');
  size_t len = eq ? (size_t)(eq - body) : strlen(body);
  *value = eq ? eq + 1 : NULL;
  for (int i = 0; table[i].name; i++) {
    const char *names[2] = {table[i].name, table[i].alias};
    for (int j = 0; j < 2; j++)
      if (names[j] && strlen(names[j]) == len && strncmp(body, names[j], len) == 0) return i;
  }
  return -1;
}

#define MAX_POSITIONALS 3

struct parsed {
  const char *positional[MAX_POSITIONALS];
  int npositional;
  const char *value[16]; /* string flags, by index in the table */
  int on[16];            /* bool flags */
};

/* Parses argv[i...] against a flag table into p; FALL_THROUGH on anything argv.ts would treat
 * differently or reject, and on --help. */
static int parse(int argc, char **argv, int i, const struct flag *table, struct parsed *p, int until_positional) {
  for (; i < argc; i++) {
    const char *arg = argv[i], *v;
    if (arg[0] != '-' || strcmp(arg, "-") == 0) {
      if (until_positional) break;
      if (p->npositional == MAX_POSITIONALS) return fall_through("too many arguments", arg);
      p->positional[p->npositional++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) return fall_through("--", NULL);
    int f = match_flag(arg, table, &v);
    if (f < 0) return fall_through("a flag the front does not take", arg);
    if (table[f].has_value) {
      if (!v && i + 1 >= argc) return fall_through("a flag without its value", arg);
      p->value[f] = v ? v : argv[++i];
    } else {
      if (v && strcmp(v, "true") != 0 && strcmp(v, "false") != 0) return fall_through("a bool flag with a value", arg);
      p->on[f] = !v || strcmp(v, "true") == 0;
    }
  }
  return i;
}

enum { G_ROOT, G_LOG, G_LOG_FORMAT, G_DEBUG, G_SYSTEMD_CGROUP, G_ROOTLESS, G_CRIU, G_HELP, G_VERSION };
/* src/cli/berth-runtime/commands.ts GLOBAL_FLAGS. --log and --log-format take effect only for
 * errors and warnings, which the front never prints itself (it leaves them to Node). */
static const struct flag GLOBAL_FLAGS[] = {
    {"root", NULL, 1},     {"log", NULL, 1},  {"log-format", NULL, 1}, {"debug", NULL, 0},   {"systemd-cgroup", NULL, 0},
    {"rootless", NULL, 1}, {"criu", NULL, 1}, {"help", "h", 0},        {"version", "v", 0},  {NULL, NULL, 0},
};
static const struct flag NO_FLAGS[] = {{"help", "h", 0}, {NULL, NULL, 0}};
static const struct flag KILL_FLAGS[] = {{"help", "h", 0}, {"all", "a", 0}, {NULL, NULL, 0}};
static const struct flag DELETE_FLAGS[] = {{"help", "h", 0}, {"force", "f", 0}, {NULL, NULL, 0}};
static const struct flag LIST_FLAGS[] = {{"help", "h", 0}, {"format", "f", 1}, {"quiet", "q", 0}, {NULL, NULL, 0}};

/* Node resolves --root lexically; the kernel resolves ".." after a symlink differently. */
static int plain_root(const char *root) {
  if (!*root) return 0;
  for (const char *p = root; (p = strstr(p, "..")) != NULL; p += 2)
    if ((p == root || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')) return 0;
  return 1;
}

/* The command name, once global flags are parsed (NULL if argv is not what the front reads). */
static const char *command;

/* Parses the global flags; returns the index of the command (argc if none), or FALL_THROUGH. */
static int parse_globals(int argc, char **argv, struct parsed *g) {
  int i = parse(argc, argv, 1, GLOBAL_FLAGS, g, 1);
  if (i >= 0 && i < argc) command = argv[i];
  return i;
}

static int answer(int argc, char **argv) {
  struct parsed g = {0};
  int i = parse_globals(argc, argv, &g);
  if (i < 0) return FALL_THROUGH;
  if (i >= argc) return fall_through("no command", NULL);
  if (g.on[G_HELP] || g.on[G_VERSION] || g.on[G_SYSTEMD_CGROUP]) return fall_through("--help, --version or --systemd-cgroup", NULL);
  const char *root = g.value[G_ROOT] ? g.value[G_ROOT] : "/run/berth-runtime";
  const char *log_format = g.value[G_LOG_FORMAT] ? g.value[G_LOG_FORMAT] : "text";
  if (strcmp(log_format, "text") != 0 && strcmp(log_format, "json") != 0) return fall_through("--log-format", log_format);
  if (!plain_root(root)) return fall_through("--root", root);

  const struct flag *table = strcmp(command, "kill") == 0     ? KILL_FLAGS
                             : strcmp(command, "delete") == 0 ? DELETE_FLAGS
                             : strcmp(command, "list") == 0   ? LIST_FLAGS
                                                              : NO_FLAGS;
  int positionals = strcmp(command, "list") == 0 ? 0 : strcmp(command, "kill") == 0 ? 2 : 1;
  if (strcmp(command, "state") != 0 && strcmp(command, "start") != 0 && strcmp(command, "kill") != 0 && strcmp(command, "delete") != 0 &&
      strcmp(command, "list") != 0)
    return fall_through("a command for Node", command);
  struct parsed p = {0};
  if (parse(argc, argv, i + 1, table, &p, 0) < 0) return FALL_THROUGH;
  if (p.on[0]) return fall_through("--help", NULL);
  if (p.npositional > positionals || (positionals > 0 && p.npositional < 1)) return fall_through("wrong number of arguments", command);
  if (positionals > 0 && !valid_id(p.positional[0])) return fall_through("invalid container id", p.positional[0]);

  const char *id = p.positional[0];
  if (strcmp(command, "state") == 0) return front_state(root, id);
  if (strcmp(command, "start") == 0) return front_start(root, id);
  if (strcmp(command, "kill") == 0) {
    if (p.on[1]) return fall_through("kill --all", NULL);
    return front_kill(root, id, p.npositional > 1 ? p.positional[1] : "15");
  }
  if (strcmp(command, "delete") == 0) return front_delete(root, id, p.on[1]);
  return front_list(root, p.value[1] ? p.value[1] : "table", p.on[2]);
}

int main(int argc, char **argv) {
  const char *mode = getenv("BERTH_RUNTIME_FRONT");
  int rc = FALL_THROUGH;
  if (mode && strcmp(mode, "node") == 0) {
    struct parsed g = {0};
    parse_globals(argc, argv, &g); /* for the command's name */
  } else {
    rc = answer(argc, argv);
  }
  if (rc != FALL_THROUGH) return rc;
  if (mode && strcmp(mode, "native") == 0) {
    dprintf(2, "berth-runtime: front: would run Node: %s\n", reason);
    return NATIVE_ONLY_STATUS;
  }
  run_node(argc, argv, command);
}
