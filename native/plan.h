/* The plan wire format: what TypeScript (src/sys/plan-wire.ts) sends on the channel fd.
 *
 *   header: "BPLN" u32 version, u32 op count
 *   op:     u16 opcode, u16 argc, then argc times (u32 length, bytes)
 *
 * Integers are 8-byte little endian arguments; strings carry no NUL; string lists are
 * NUL-terminated strings concatenated. Opcode numbers must match src/sys/plan-ops.ts. */
#ifndef BERTH_PLAN_H
#define BERTH_PLAN_H

#include <stdint.h>
#include <stddef.h>

#define PLAN_MAGIC "BPLN"
#define PLAN_VERSION 1
#define PLAN_MAX_OPS 4096
#define PLAN_MAX_ARGS 8
#define PLAN_MAX_BYTES (16u << 20)

enum opcode {
  OP_SETNS = 1,
  OP_CLONE = 2,
  OP_SYNC = 3,
  OP_UNSHARE = 4,
  OP_OPEN_ROOT = 5,
  OP_MOUNT = 6,
  OP_MKDIR = 7,
  OP_MKFILE = 8,
  OP_SYMLINK = 9,
  OP_MKNOD = 10,
  OP_PIVOT_ROOT = 11,
  OP_MOVE_ROOT = 12,
  OP_SETHOSTNAME = 13,
  OP_SETDOMAINNAME = 14,
  OP_SETRLIMIT = 15,
  OP_SETGROUPS = 16,
  OP_SETGID = 17,
  OP_SETUID = 18,
  OP_UMASK = 19,
  OP_NO_NEW_PRIVS = 20,
  OP_CHDIR = 21,
  OP_OPEN_FIFO = 22,
  OP_CONNECT_CONSOLE = 23,
  OP_CONSOLE = 24,
  OP_RESOLVE_EXEC = 25,
  OP_WAIT_START = 26,
  OP_HOOK = 27,
  OP_EXECVE = 28,
  OP_SETSID = 29,
  OP_WRITE_FILE = 30,
  OP_CAPSET = 31,
  OP_SECCOMP = 32,
  OP_PERSONALITY = 33,
  OP_MASK_PATH = 34,
  OP_KEEP_CAPS = 35,
  OP_MOUNT_SETATTR = 36,
  OP_MKFIFO = 37,
  OP_REOPEN_DEV_NULL = 38,
  OP_CLOSE_FDS = 39,
  OP_CHROOT = 40,
  OP_UMOUNT = 41,
  OP_MAX = 42
};

struct arg {
  uint32_t len;
  const unsigned char *data;
};

struct op {
  uint16_t code;
  uint16_t argc;
  struct arg args[PLAN_MAX_ARGS];
};

struct plan {
  unsigned char *buf;
  size_t nops;
  struct op *ops;
};

/* Reads exactly len bytes (retrying on EINTR); -1 on EOF or error. */
int read_full(int fd, void *buf, size_t len);

/* Reads and validates a whole plan from fd. Returns 0, or -1 with a message in err. */
int plan_read(int fd, struct plan *plan, char *err, size_t errlen);

uint64_t arg_u64(const struct op *op, int i);
/* A NUL-terminated copy of a string argument (NULL when the argument is empty). */
char *arg_str(const struct op *op, int i);
/* Splits a NUL-separated list argument into a NULL-terminated vector. */
char **arg_list(const struct op *op, int i);

#endif
