import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { syscallTables } from '../../../src/runtime/seccomp/syscalls.generated.ts';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/gen-syscalls.mjs');

interface GenModule {
  evaluateExpression(expr: string, macros: Map<string, string>): bigint;
  abiSources(usrInclude?: string, extraRoots?: Record<string, string[]>): unknown[];
  readAllTables(sources: unknown[]): { arch: string; headers: string[]; table: Record<string, number> }[];
  renderModule(tables: unknown[]): string;
}
const gen = (await import(pathToFileURL(script).href)) as GenModule;

// A fake /usr/include laid out like Debian's, with made-up numbers.
const fakeHeaders: Record<string, string> = {
  'x86_64-linux-gnu/asm/unistd.h': [
    '#ifndef _ASM_X86_UNISTD_H',
    '#define _ASM_X86_UNISTD_H',
    '/* x32 syscall flag bit */',
    '#define __X32_SYSCALL_BIT\t0x40000000',
    '# ifdef __i386__',
    '#  include <asm/unistd_32.h>',
    '# elif defined(__ILP32__)',
    '#  include <asm/unistd_x32.h>',
    '# else',
    '#  include <asm/unistd_64.h>',
    '# endif',
    '#endif',
  ].join('\n'),
  'x86_64-linux-gnu/asm/unistd_64.h': '#define __NR_read 0\n#define __NR_write 1\n#define __NR_zzz_last 450\n',
  'x86_64-linux-gnu/asm/unistd_32.h': '#define __NR_exit 1\n#define __NR_read 3\n',
  'x86_64-linux-gnu/asm/unistd_x32.h': '#define __NR_read (__X32_SYSCALL_BIT + 0)\n#define __NR_rt_sigaction (__X32_SYSCALL_BIT + 512)\n',
  'aarch64-linux-gnu/asm/unistd.h': '#define __ARCH_WANT_RENAMEAT\n#define __ARCH_WANT_NEW_STAT\n#include <asm-generic/unistd.h>\n',
  'asm-generic/unistd.h': [
    '#include <asm/bitsperlong.h>',
    '#ifndef __SYSCALL',
    '#define __SYSCALL(x, y)',
    '#endif',
    '#define __NR_io_setup 0',
    '__SYSCALL(__NR_io_setup, sys_io_setup)',
    '#define __NR3264_fcntl 25',
    '#ifdef __ARCH_WANT_RENAMEAT',
    '#define __NR_renameat 38',
    '#endif /* __ARCH_WANT_RENAMEAT */',
    '#ifdef __ARCH_WANT_NEVER',
    '#define __NR_never 99',
    '#endif',
    '#if defined(__ARCH_WANT_NEW_STAT) || defined(__ARCH_WANT_STAT64)',
    '#define __NR3264_fstatat 79',
    '#endif',
    '#if __BITS_PER_LONG == 64 && !defined(__SYSCALL_COMPAT)',
    '#define __NR_fcntl __NR3264_fcntl',
    '#define __NR_newfstatat __NR3264_fstatat',
    '#else',
    '#define __NR_fcntl64 __NR3264_fcntl',
    '#endif',
    '#define __NR_arch_specific_syscall 244',
    '#undef __NR_syscalls',
    '#define __NR_syscalls 451',
  ].join('\n'),
};

let root = '';
before(() => {
  root = mkdtempSync(join(tmpdir(), 'berth-gen-syscalls-'));
  for (const [path, text] of Object.entries(fakeHeaders)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
});
after(() => rmSync(root, { recursive: true, force: true }));

const tablesOf = (usrInclude: string) =>
  Object.fromEntries(gen.readAllTables(gen.abiSources(usrInclude, { aarch64: [join(usrInclude, 'aarch64-linux-gnu')] })).map((t) => [t.arch, t.table]));

describe('gen-syscalls', () => {
  it('evaluates preprocessor expressions', () => {
    const m = new Map([['A', '0x40000000'], ['B', '(A + 5)'], ['W', '']]);
    assert.equal(gen.evaluateExpression('(A + 0)', m), 0x40000000n);
    assert.equal(gen.evaluateExpression('B | 1', m), 0x40000005n);
    assert.equal(gen.evaluateExpression('defined(W) && !defined X && 2 == 2', m), 1n);
    assert.equal(gen.evaluateExpression('UNDEFINED == 0 || 1 << 3 == 9', m), 1n);
    assert.equal(gen.evaluateExpression('1 ? 7 : 9', m), 7n);
  });

  it('reads each ABI through the preprocessor, x32 with __X32_SYSCALL_BIT applied', () => {
    const t = tablesOf(root);
    assert.deepEqual(t.SCMP_ARCH_X86_64, { read: 0, write: 1, zzz_last: 450 });
    assert.deepEqual(t.SCMP_ARCH_X86, { exit: 1, read: 3 });
    assert.deepEqual(t.SCMP_ARCH_X32, { read: 0x40000000, rt_sigaction: 0x40000200 });
  });

  it('follows asm-generic #if branches and indirections, skipping bookkeeping names', () => {
    assert.deepEqual(tablesOf(root).SCMP_ARCH_AARCH64, { io_setup: 0, renameat: 38, fcntl: 25, newfstatat: 79 });
  });

  it('writes a deterministic module, sorted by number, and leaves out absent ABIs', () => {
    const noArm = mkdtempSync(join(tmpdir(), 'berth-gen-syscalls-'));
    try {
      for (const [path, text] of Object.entries(fakeHeaders)) {
        if (path.startsWith('aarch64')) continue;
        mkdirSync(dirname(join(noArm, path)), { recursive: true });
        writeFileSync(join(noArm, path), text);
      }
      const out1 = join(noArm, 'a.ts');
      const out2 = join(noArm, 'b.ts');
      execFileSync(process.execPath, [script, '--include-root', noArm, '--out', out1]);
      execFileSync(process.execPath, [script, '--include-root', noArm, '--out', out2]);
      const text = readFileSync(out1, 'utf8');
      assert.equal(text, readFileSync(out2, 'utf8'));
      assert.doesNotMatch(text, /AARCH64/);
      assert.match(text, /SCMP_ARCH_X86_64: \{\n {4}"read": 0,\n {4}"write": 1,\n {4}"zzz_last": 450,\n {2}\},/);
      assert.ok(text.indexOf('"exit": 1') < text.indexOf('"read": 3'));
    } finally {
      rmSync(noArm, { recursive: true, force: true });
    }
  });

  it('fails clearly when no headers exist at all', () => {
    const empty = mkdtempSync(join(tmpdir(), 'berth-gen-syscalls-'));
    try {
      const r = spawnSync(process.execPath, [script, '--include-root', empty, '--out', join(empty, 'x.ts')], { encoding: 'utf8' });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no syscall headers found.*linux-libc-dev/);
      assert.equal(existsSync(join(empty, 'x.ts')), false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  // The strongest check available: the real tables agree with what gcc's preprocessor computes.
  const haveGcc = spawnSync('gcc', ['--version']).status === 0;
  const haveX86 = existsSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h');
  for (const [arch, flags] of [
    ['SCMP_ARCH_X86_64', []],
    ['SCMP_ARCH_X86', ['-U__x86_64__', '-D__i386__']],
    ['SCMP_ARCH_X32', ['-D__ILP32__']],
  ] as const) {
    it(`matches gcc -dM for ${arch}`, { skip: !haveGcc || !haveX86 ? 'needs gcc and x86 kernel headers' : false }, () => {
      const defs = execFileSync('gcc', [...flags, '-dM', '-E', '-'], { input: '#include <asm/unistd.h>\n', encoding: 'utf8' });
      const want: Record<string, number> = {};
      for (const line of defs.split('\n')) {
        const m = /^#define __NR_(\w+) (.*)$/.exec(line);
        if (m) want[m[1]!] = Number(gen.evaluateExpression(m[2]!, new Map([['__X32_SYSCALL_BIT', '0x40000000']])));
      }
      assert.ok(Object.keys(want).length > 300);
      assert.deepEqual({ ...syscallTables[arch] }, want);
    });
  }
});
