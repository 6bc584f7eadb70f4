/* plan-dump: reads a plan on stdin with berth-spawn's own decoder and prints what it decoded, one
 * operation per line: "<opcode> <argc> <hex of each argument>". Used by the tests to check the C
 * decoder against the TypeScript encoder (test/unit/runtime/plan-contract.test.ts). */
#include "plan.h"

#include <stdio.h>

int main(void) {
  struct plan plan;
  char err[256];
  if (plan_read(0, &plan, err, sizeof err) < 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  for (size_t i = 0; i < plan.nops; i++) {
    const struct op *op = &plan.ops[i];
    printf("%u %u", op->code, op->argc);
    for (uint16_t a = 0; a < op->argc; a++) {
      putchar(' ');
      if (!op->args[a].len) putchar('-');
      for (uint32_t b = 0; b < op->args[a].len; b++) printf("%02x", op->args[a].data[b]);
    }
    putchar('\n');
  }
  return 0;
}
