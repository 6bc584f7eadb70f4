// Proves the kernel accepts berth's compiled filters and enforces them as the compiler's tests
// say: a throwaway C loader (built here with gcc) installs the program bytes with
// prctl(PR_SET_NO_NEW_PRIVS) + seccomp(SECCOMP_SET_MODE_FILTER, flags) and then makes one syscall.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Seccomp } from '../../../src/oci/runtime-spec.ts';
import { compileSeccomp, SECCOMP_FILTER_FLAG } from '../../../src/runtime/seccomp/index.ts';
import { syscallTables } from '../../../src/runtime/seccomp/syscalls.generated.ts';

const loaderSource = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void say(const char *what, long rc, int err) {
  char buf[128];
  int n = snprintf(buf, sizeof buf, "%s rc=%ld errno=%d\n", what, rc, rc < 0 ? err : 0);
  if (write(1, buf, n) != n) _exit(3);
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  static struct sock_filter insns[4096];
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) return 2;
  ssize_t len = read(fd, insns, sizeof insns);
  close(fd);
  if (len <= 0 || len % sizeof(struct sock_filter)) return 2;
  struct sock_fprog prog = { .len = (unsigned short)(len / sizeof(struct sock_filter)), .filter = insns };
  unsigned long flags = strtoul(argv[2], NULL, 0);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { say("no_new_privs", -1, errno); return 1; }
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc != 0) { say("seccomp", rc, errno); return 1; }
  const char *op = argv[3];
  const char *path = argc > 4 ? argv[4] : "";
  if (!strcmp(op, "mkdir")) rc = syscall(SYS_mkdir, path, 0700);
  else if (!strcmp(op, "mkdir-mode")) rc = syscall(SYS_mkdir, path, strtoul(argv[5], NULL, 0));
  else if (!strcmp(op, "x32-mkdir")) rc = syscall(SYS_mkdir | 0x40000000, path, 0700);
  else if (!strcmp(op, "getpid")) rc = syscall(SYS_getpid);
  else return 2;
  say(op, rc, errno);
  syscall(SYS_exit_group, 0);
  return 0;
}
`;

const X86_64 = 'SCMP_ARCH_X86_64';
const haveGcc = spawnSync('gcc', ['--version']).status === 0;
const skip = process.arch !== 'x64' ? 'x86_64 only' : !haveGcc ? 'gcc is not installed' : false;

describe('seccomp filters in the kernel', { skip }, () => {
  let dir = '';
  let loader = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-it-'));
    loader = join(dir, 'loader');
    writeFileSync(join(dir, 'loader.c'), loaderSource);
    execFileSync('gcc', ['-O1', '-Wall', '-o', loader, join(dir, 'loader.c')]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  function runUnder(profile: Seccomp, args: string[], flagsOverride?: number) {
    const compiled = compileSeccomp(profile, { nativeArch: X86_64 });
    const file = join(dir, `filter-${n++}.bin`);
    writeFileSync(file, compiled.program);
    const r = spawnSync(loader, [file, String(flagsOverride ?? compiled.flags), ...args], { encoding: 'utf8', timeout: 10_000 });
    return { status: r.status, signal: r.signal, stdout: r.stdout, compiled };
  }

  it('denies mkdir with the errno the profile gives, and the directory is not created', () => {
    const target = join(dir, 'denied');
    const r = runUnder({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }, ['mkdir', target]);
    assert.equal(r.stdout, 'mkdir rc=-1 errno=13\n');
    assert.equal(existsSync(target), false);
    const ok = runUnder({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['rmdir'], action: 'SCMP_ACT_ERRNO' }] }, ['mkdir', join(dir, 'allowed')]);
    assert.equal(ok.stdout, 'mkdir rc=0 errno=0\n');
    assert.equal(existsSync(join(dir, 'allowed')), true);
  });

  it('applies argument conditions in the kernel (mkdir allowed only with mode 0700)', () => {
    const profile: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      syscalls: [
        { names: ['write', 'exit_group', 'exit'], action: 'SCMP_ACT_ALLOW' },
        { names: ['mkdir'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 0o700, op: 'SCMP_CMP_EQ' }] },
      ],
    };
    assert.equal(runUnder(profile, ['mkdir-mode', join(dir, 'm1'), '0700']).stdout, 'mkdir-mode rc=0 errno=0\n');
    assert.equal(runUnder(profile, ['mkdir-mode', join(dir, 'm2'), '0755']).stdout, 'mkdir-mode rc=-1 errno=1\n');
    assert.equal(existsSync(join(dir, 'm2')), false);
  });

  it('kills an x32 syscall when the profile lists only x86_64, and checks it when x32 is listed', () => {
    const only64 = runUnder({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [X86_64] }, ['x32-mkdir', join(dir, 'x1')]);
    assert.equal(only64.signal, 'SIGSYS');
    const withX32 = runUnder(
      { defaultAction: 'SCMP_ACT_ALLOW', architectures: [X86_64, 'SCMP_ARCH_X32'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 77 }] },
      ['x32-mkdir', join(dir, 'x2')],
    );
    assert.equal(withX32.stdout, 'x32-mkdir rc=-1 errno=77\n');
  });

  it('returns ENOSYS for syscalls newer than the profile, as runc does', () => {
    // A profile whose highest syscall is just below getpid's number.
    const names = Object.entries(syscallTables[X86_64]!).filter(([, nr]) => nr < syscallTables[X86_64]!.getpid!).map(([name]) => name);
    const r = runUnder({ defaultAction: 'SCMP_ACT_ERRNO', architectures: [X86_64], syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }] }, ['getpid']);
    assert.equal(r.stdout, 'getpid rc=-1 errno=38\n');
  });

  it('accepts a docker-sized filter with long jumps and every supported flag', () => {
    const names = Object.keys(syscallTables[X86_64]!);
    const syscalls: NonNullable<Seccomp['syscalls']> = names
      .filter((name) => name !== 'mkdir')
      .map((name, i) =>
        i % 5 === 0
          ? { names: [name], action: 'SCMP_ACT_ALLOW' as const, args: [{ index: 5, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' as const, valueTwo: 0 }] }
          : { names: [name], action: 'SCMP_ACT_ALLOW' as const },
      );
    const profile: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 95,
      architectures: [X86_64, 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
      syscalls,
    };
    const r = runUnder(profile, ['mkdir', join(dir, 'big')]);
    assert.equal(r.compiled.flags, SECCOMP_FILTER_FLAG.TSYNC | SECCOMP_FILTER_FLAG.LOG | SECCOMP_FILTER_FLAG.SPEC_ALLOW);
    assert.ok(r.compiled.length > 256, `${r.compiled.length} instructions`);
    assert.equal(r.stdout, 'mkdir rc=-1 errno=95\n');
    assert.equal(runUnder(profile, ['getpid']).stdout.startsWith('getpid rc='), true);
    assert.doesNotMatch(runUnder(profile, ['getpid']).stdout, /rc=-1/);
  });
});
