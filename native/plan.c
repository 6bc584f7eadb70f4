#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int read_full(int fd, void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = read(fd, (char *)buf + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int plan_read(int fd, struct plan *plan, char *err, size_t errlen) {
  unsigned char hdr[16];
  if (read_full(fd, hdr, sizeof hdr) < 0) {
    snprintf(err, errlen, "plan: short read of header");
    return -1;
  }
  if (memcmp(hdr, PLAN_MAGIC, 4) != 0 || le32(hdr + 4) != PLAN_VERSION) {
    snprintf(err, errlen, "plan: bad magic or version");
    return -1;
  }
  uint32_t nops = le32(hdr + 8), nbytes = le32(hdr + 12);
  if (nops > PLAN_MAX_OPS || nbytes > PLAN_MAX_BYTES) {
    snprintf(err, errlen, "plan: too large (%u ops, %u bytes)", nops, nbytes);
    return -1;
  }
  plan->buf = malloc(nbytes ? nbytes : 1);
  plan->ops = calloc(nops ? nops : 1, sizeof(struct op));
  if (!plan->buf || !plan->ops || read_full(fd, plan->buf, nbytes) < 0) {
    snprintf(err, errlen, "plan: short read of body");
    return -1;
  }
  size_t off = 0;
  for (uint32_t i = 0; i < nops; i++) {
    struct op *op = &plan->ops[i];
    if (off + 4 > nbytes) goto truncated;
    op->code = (uint16_t)(plan->buf[off] | plan->buf[off + 1] << 8);
    op->argc = (uint16_t)(plan->buf[off + 2] | plan->buf[off + 3] << 8);
    off += 4;
    if (op->code == 0 || op->code >= OP_MAX || op->argc > PLAN_MAX_ARGS || op->argc != PLAN_ARGC[op->code]) {
      snprintf(err, errlen, "plan: op %u: bad opcode %u or argc %u", i, op->code, op->argc);
      return -1;
    }
    for (uint16_t a = 0; a < op->argc; a++) {
      if (off + 4 > nbytes) goto truncated;
      uint32_t len = le32(plan->buf + off);
      off += 4;
      if (len > nbytes - off) goto truncated;
      op->args[a].len = len;
      op->args[a].data = plan->buf + off;
      off += len;
    }
  }
  plan->nops = nops;
  return 0;
truncated:
  snprintf(err, errlen, "plan: truncated body");
  return -1;
}

uint64_t arg_u64(const struct op *op, int i) {
  if (i >= op->argc || op->args[i].len != 8) return 0;
  uint64_t v = 0;
  for (int b = 7; b >= 0; b--) v = v << 8 | op->args[i].data[b];
  return v;
}

char *arg_str(const struct op *op, int i) {
  if (i >= op->argc || op->args[i].len == 0) return NULL;
  char *s = malloc(op->args[i].len + 1);
  if (!s) return NULL;
  memcpy(s, op->args[i].data, op->args[i].len);
  s[op->args[i].len] = '\0';
  return s;
}

char **arg_list(const struct op *op, int i) {
  size_t n = 0, len = i < op->argc ? op->args[i].len : 0;
  const unsigned char *d = len ? op->args[i].data : NULL;
  for (size_t k = 0; k < len; k++)
    if (d[k] == '\0') n++;
  char **v = calloc(n + 1, sizeof(char *));
  if (!v) return NULL;
  size_t start = 0, j = 0;
  for (size_t k = 0; k < len; k++) {
    if (d[k] != '\0') continue;
    v[j] = malloc(k - start + 1);
    if (!v[j]) return NULL;
    memcpy(v[j], d + start, k - start + 1);
    j++;
    start = k + 1;
  }
  return v;
}
