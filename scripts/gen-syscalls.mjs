#!/usr/bin/env node
// Generates src/runtime/seccomp/syscalls.generated.ts: per seccomp architecture, a map from syscall
// name to number, read from the kernel UAPI headers installed on this system (linux-libc-dev and,
// when present, the aarch64 cross or multiarch headers). Numbers are never typed in by hand.
//
// The headers are run through a small C preprocessor (enough for #define, #include, #if/#ifdef)
// with the defines a compiler for that ABI would set, so x32 numbers come out with
// __X32_SYSCALL_BIT already applied and asm-generic tables follow their #if branches.
// Output is deterministic: sorted by number, then name; no dates, no host-specific text.
//
// Usage: node scripts/gen-syscalls.mjs [--out FILE] [--include-root DIR]...
// (--include-root replaces /usr/include and the aarch64 roots; for tests.)

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const defaultOut = join(repoRoot, 'src/runtime/seccomp/syscalls.generated.ts');

/**
 * The ABIs berth knows how to read. `roots` are include directories tried in order (the
 * first holding `entry` wins); `defines` are what gcc would predefine for that ABI.
 */
export function abiSources(usrInclude = '/usr/include', extraRoots = {}) {
  const x86 = join(usrInclude, 'x86_64-linux-gnu');
  const arm64Roots = extraRoots.aarch64 ?? [join(usrInclude, 'aarch64-linux-gnu'), '/usr/aarch64-linux-gnu/include'];
  return [
    { arch: 'SCMP_ARCH_X86_64', roots: [x86], entry: 'asm/unistd.h', defines: { __x86_64__: '1', __LP64__: '1' } },
    { arch: 'SCMP_ARCH_X86', roots: [x86], entry: 'asm/unistd.h', defines: { __i386__: '1' } },
    { arch: 'SCMP_ARCH_X32', roots: [x86], entry: 'asm/unistd.h', defines: { __x86_64__: '1', __ILP32__: '1' } },
    {
      arch: 'SCMP_ARCH_AARCH64',
      roots: arm64Roots,
      entry: 'asm/unistd.h',
      defines: { __aarch64__: '1', __LP64__: '1', __BITS_PER_LONG: '64' },
    },
  ].map((abi) => ({ ...abi, fallbackRoots: [usrInclude] }));
}

// ---------------------------------------------------------------------------------------------
// A minimal C preprocessor: enough for the kernel's unistd headers.

function tokenize(expr) {
  const tokens = [];
  const re = /\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|<<|>>|&&|\|\||==|!=|<=|>=|[-+*/%()!~&|^<>?:,])/y;
  let pos = 0;
  expr = expr.trim();
  while (pos < expr.length) {
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m) throw new Error(`cannot tokenize expression: ${expr}`);
    tokens.push(m[1]);
    pos = re.lastIndex;
    while (pos < expr.length && /\s/.test(expr[pos])) pos++;
  }
  return tokens;
}

const binaryPrecedence = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6,
  '<': 7, '>': 7, '<=': 7, '>=': 7, '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
};

/** Evaluates a preprocessor expression with BigInt arithmetic. */
export function evaluateExpression(expr, macros, seen = new Set()) {
  const tokens = tokenize(expr.replace(/\/\*.*?\*\//g, '').replace(/\b(\d+|0[xX][0-9a-fA-F]+)[uUlL]+\b/g, '$1'));
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const expect = (t) => {
    if (next() !== t) throw new Error(`expected ${t} in: ${expr}`);
  };
  function primary() {
    const t = next();
    if (t === undefined) throw new Error(`unexpected end of expression: ${expr}`);
    if (t === '(') {
      const v = parse(0);
      expect(')');
      return v;
    }
    if (t === '!') return primary() === 0n ? 1n : 0n;
    if (t === '-') return -primary();
    if (t === '+') return primary();
    if (t === '~') return ~primary();
    if (/^\d/.test(t)) return BigInt(t);
    if (t === 'defined') {
      const paren = peek() === '(';
      if (paren) next();
      const name = next();
      if (paren) expect(')');
      return macros.has(name) ? 1n : 0n;
    }
    // An identifier: expand a macro, an undefined one is 0 as in #if.
    if (!macros.has(t) || seen.has(t)) return 0n;
    const body = macros.get(t);
    if (body.trim() === '') return 0n;
    return evaluateExpression(body, macros, new Set([...seen, t]));
  }
  function parse(minPrec) {
    let left = primary();
    for (;;) {
      const op = peek();
      if (op === '?' && minPrec === 0) {
        next();
        const a = parse(0);
        expect(':');
        const b = parse(0);
        left = left !== 0n ? a : b;
        continue;
      }
      const prec = binaryPrecedence[op];
      if (prec === undefined || prec < minPrec) return left;
      next();
      const right = parse(prec + 1);
      left = applyBinary(op, left, right);
    }
  }
  const value = parse(0);
  if (i !== tokens.length) throw new Error(`trailing tokens in expression: ${expr}`);
  return value;
}

function applyBinary(op, a, b) {
  switch (op) {
    case '||': return a !== 0n || b !== 0n ? 1n : 0n;
    case '&&': return a !== 0n && b !== 0n ? 1n : 0n;
    case '|': return a | b;
    case '^': return a ^ b;
    case '&': return a & b;
    case '==': return a === b ? 1n : 0n;
    case '!=': return a !== b ? 1n : 0n;
    case '<': return a < b ? 1n : 0n;
    case '>': return a > b ? 1n : 0n;
    case '<=': return a <= b ? 1n : 0n;
    case '>=': return a >= b ? 1n : 0n;
    case '<<': return a << b;
    case '>>': return a >> b;
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
    case '%': return a % b;
    default: throw new Error(`unknown operator ${op}`);
  }
}

/** Joins continuation lines and drops comments, keeping one logical line per entry. */
function logicalLines(text) {
  const noBlockComments = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));
  return noBlockComments
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\/\/.*$/, ''));
}

/**
 * Preprocesses `entry` (found under one of `roots`) and returns the macro table.
 * `readFile(path)` returns the text or undefined when the file does not exist.
 */
export function preprocess(entry, roots, defines, readFile = defaultReadFile) {
  const macros = new Map(Object.entries(defines));
  const included = [];
  function findInclude(name, fromDir, quoted) {
    const dirs = quoted ? [fromDir, ...roots] : roots;
    for (const dir of dirs) {
      const path = join(dir, name);
      const text = readFile(path);
      if (text !== undefined) return { path, text };
    }
    return undefined;
  }
  function run(path, text, depth) {
    if (depth > 20) throw new Error(`#include nested too deeply at ${path}`);
    included.push(path);
    // Each entry: is this branch active, has any branch of this #if been taken, was the parent active.
    const stack = [];
    const active = () => stack.every((s) => s.active);
    for (const line of logicalLines(text)) {
      const m = /^\s*#\s*(\w+)\s*(.*?)\s*$/.exec(line);
      if (!m) continue;
      const [, directive, rest] = m;
      switch (directive) {
        case 'if':
        case 'ifdef':
        case 'ifndef': {
          const parentActive = active();
          let cond = false;
          if (parentActive) {
            if (directive === 'ifdef') cond = macros.has(rest.split(/\s/)[0]);
            else if (directive === 'ifndef') cond = !macros.has(rest.split(/\s/)[0]);
            else cond = evaluateExpression(rest, macros) !== 0n;
          }
          stack.push({ active: cond, taken: cond, parentActive });
          break;
        }
        case 'elif': {
          const top = stack.at(-1);
          if (!top) throw new Error(`#elif without #if in ${path}`);
          const cond = top.parentActive && !top.taken && evaluateExpression(rest, macros) !== 0n;
          top.active = cond;
          top.taken ||= cond;
          break;
        }
        case 'else': {
          const top = stack.at(-1);
          if (!top) throw new Error(`#else without #if in ${path}`);
          top.active = top.parentActive && !top.taken;
          top.taken = true;
          break;
        }
        case 'endif':
          if (!stack.pop()) throw new Error(`#endif without #if in ${path}`);
          break;
        case 'define': {
          if (!active()) break;
          const d = /^([A-Za-z_]\w*)(\([^)]*\))?\s*(.*)$/.exec(rest);
          if (!d) throw new Error(`malformed #define in ${path}: ${rest}`);
          // Function-like macros never define syscall numbers; record only that they exist.
          macros.set(d[1], d[2] ? '' : d[3]);
          break;
        }
        case 'undef':
          if (active()) macros.delete(rest.split(/\s/)[0]);
          break;
        case 'include': {
          if (!active()) break;
          const inc = /^([<"])([^>"]+)[>"]/.exec(rest);
          if (!inc) throw new Error(`malformed #include in ${path}: ${rest}`);
          const found = findInclude(inc[2], dirname(path), inc[1] === '"');
          // Headers outside the unistd tables (e.g. <asm/bitsperlong.h>) may be missing for a
          // foreign ABI; their macros are predefined instead.
          if (found) run(found.path, found.text, depth + 1);
          break;
        }
        default:
          break; // #error, #pragma, #warning: not needed here
      }
    }
    if (stack.length) throw new Error(`unterminated #if in ${path}`);
  }
  const start = findInclude(entry, '', false);
  if (!start) return undefined;
  run(start.path, start.text, 0);
  return { macros, included };
}

function defaultReadFile(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  }
}

// Names under __NR_ that are table bookkeeping, not syscalls.
const notSyscalls = new Set(['syscalls', 'arch_specific_syscall']);

/** Extracts { name: number } from a macro table: every __NR_<name> with a constant value. */
export function syscallTable(macros) {
  const table = {};
  for (const [macro, body] of macros) {
    if (!macro.startsWith('__NR_')) continue;
    const name = macro.slice('__NR_'.length);
    if (notSyscalls.has(name) || body.trim() === '') continue;
    const value = evaluateExpression(body, macros);
    if (value < 0n || value > 0xffffffffn) throw new Error(`__NR_${name} = ${value} is not a u32`);
    table[name] = Number(value);
  }
  return table;
}

/** Reads every ABI whose headers exist; returns [{arch, headers, table}] in a fixed order. */
export function readAllTables(sources, readFile = defaultReadFile) {
  const out = [];
  for (const abi of sources) {
    let result;
    for (const root of abi.roots) {
      result = preprocess(abi.entry, [root, ...abi.fallbackRoots], abi.defines, readFile);
      if (result) break;
    }
    if (!result) continue;
    const table = syscallTable(result.macros);
    if (Object.keys(table).length === 0) continue;
    out.push({ arch: abi.arch, headers: result.included, table });
  }
  return out;
}

export function renderModule(tables) {
  const lines = [
    '// Generated by scripts/gen-syscalls.mjs from the kernel UAPI headers. Do not edit; do not commit.',
    '// Regenerate with: node scripts/gen-syscalls.mjs',
    '',
    '/** Syscall name -> number, per seccomp architecture name (x32 numbers include __X32_SYSCALL_BIT). */',
    'export const syscallTables: Readonly<Record<string, Readonly<Record<string, number>>>> = {',
  ];
  for (const { arch, headers, table } of tables) {
    lines.push(`  // from ${headers.join(', ')}`);
    lines.push(`  ${arch}: {`);
    const entries = Object.entries(table).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [name, nr] of entries) lines.push(`    ${JSON.stringify(name)}: ${nr},`);
    lines.push('  },');
  }
  lines.push('};', '');
  return lines.join('\n');
}

function main(argv) {
  let out = defaultOut;
  let usrInclude = '/usr/include';
  const extra = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = resolve(argv[++i]);
    else if (argv[i] === '--include-root') {
      usrInclude = resolve(argv[++i]);
      extra.aarch64 = [join(usrInclude, 'aarch64-linux-gnu')];
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  const tables = readAllTables(abiSources(usrInclude, extra));
  if (tables.length === 0) {
    throw new Error(`no syscall headers found under ${usrInclude} (install linux-libc-dev)`);
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, renderModule(tables));
  const summary = tables.map((t) => `${t.arch}=${Object.keys(t.table).length}`).join(' ');
  process.stdout.write(`wrote ${out}: ${summary}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`gen-syscalls: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
