/* The plan wire format: what TypeScript (src/sys/plan-wire.ts) sends on the channel fd.
 *
 *   header: "BPLN" u32 version, u32 op count
 *   op:     u16 opcode, u16 argc, then argc times (u32 length, bytes)
 *
 * Integers are 8-byte little endian arguments; strings carry no NUL; string lists are
 * NUL-terminated strings concatenated. Opcodes and argument positions come from the schema in
 * src/sys (plan-ops.generated.h). */
#ifndef BERTH_PLAN_H
#define BERTH_PLAN_H

#include <stdint.h>
#include <stddef.h>

#include "plan-ops.generated.h"

#define PLAN_MAX_OPS 4096
#define PLAN_MAX_ARGS 8
#define PLAN_MAX_BYTES (16u << 20)

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
