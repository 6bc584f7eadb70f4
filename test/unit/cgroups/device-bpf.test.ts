// The cgroup v2 device program, run in a small eBPF interpreter and compared with direct readings
// of the rules (device-reference-model.ts): hand-picked rule lists, the lists runc and docker
// produce, and many seeded random ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/oci/errors.ts';
import type { DeviceCgroupRule } from '../../../src/oci/runtime-spec.ts';
import { compileDeviceProgram, DEVCG_ACC, DEVCG_DEV, deviceProgramInsns, deviceMatches } from '../../../src/runtime/cgroups/device-bpf.ts';
import { withDefaultDeviceRules } from '../../../src/runtime/cgroups/device-rules.ts';
import { disassemble, loadDeviceProgram, runDeviceProgram, verifyProblem } from './ebpf-interpreter.ts';
import { rulesAllow, v1KernelAllows, type DeviceRequest } from './device-reference-model.ts';

function accessBits(access: string): number {
  let bits = 0;
  for (const a of access) bits |= DEVCG_ACC[a as 'r' | 'w' | 'm'];
  return bits;
}

const ctxOf = (req: DeviceRequest) => ({ accessType: (accessBits(req.access) << 16) | DEVCG_DEV[req.type], major: req.major, minor: req.minor });

function programAllows(program: Uint8Array, req: DeviceRequest): boolean {
  return runDeviceProgram(program, ctxOf(req)) === 1;
}

/** Every access combination, not only the ones the kernel asks for: the program must follow the rules for each. */
const ACCESSES = ['m', 'r', 'w', 'rw', 'rm', 'wm', 'rwm'];
const KERNEL_ACCESSES = ['m', 'r', 'w', 'rw'];
const NUMBERS = [0, 1, 3, 5, 7, 8, 9, 136, 200, 0x7fffffff, 0x80000000, 0xffffffff];

function requests(accesses = ACCESSES, numbers = NUMBERS): DeviceRequest[] {
  const out: DeviceRequest[] = [];
  for (const type of ['b', 'c'] as const) {
    for (const major of numbers) for (const minor of numbers) for (const access of accesses) out.push({ type, major, minor, access });
  }
  return out;
}

function assertMatchesModel(rules: DeviceCgroupRule[], reqs = requests()): void {
  const program = compileDeviceProgram(rules);
  const run = loadDeviceProgram(program);
  for (const req of reqs) {
    const want = rulesAllow(rules, req);
    if ((run(ctxOf(req)) === 1) !== want) {
      assert.fail(
        `${req.type} ${req.major}:${req.minor} ${req.access}: program says ${!want}, rules say ${want}\n` +
          `rules: ${JSON.stringify(rules)}\n${disassemble(program).join('\n')}`,
      );
    }
  }
}

const allow = (type: string | undefined, major: number | null, minor: number | null, access: string): DeviceCgroupRule => ({ allow: true, type, major, minor, access });
const deny = (type: string | undefined, major: number | null, minor: number | null, access: string): DeviceCgroupRule => ({ allow: false, type, major, minor, access });
const DENY_ALL: DeviceCgroupRule = { allow: false, access: 'rwm' };
const ALLOW_ALL: DeviceCgroupRule = { allow: true, access: 'rwm' };

test('the default is deny; an allow opens exactly its device and access', () => {
  const rules = [allow('c', 1, 3, 'rw')];
  const program = compileDeviceProgram(rules);
  assert.equal(programAllows(program, { type: 'c', major: 1, minor: 3, access: 'rw' }), true);
  assert.equal(programAllows(program, { type: 'c', major: 1, minor: 3, access: 'm' }), false);
  assert.equal(programAllows(program, { type: 'b', major: 1, minor: 3, access: 'r' }), false);
  assert.equal(programAllows(program, { type: 'c', major: 1, minor: 5, access: 'r' }), false);
  assert.equal(programAllows(compileDeviceProgram([]), { type: 'c', major: 1, minor: 3, access: 'r' }), false);
  assertMatchesModel(rules);
});

test('wildcards: a missing or -1 major/minor is any, and type "a" (or none) is block and char', () => {
  assertMatchesModel([allow('c', 136, null, 'rwm'), allow('b', -1, 0, 'r'), allow(undefined, 8, null, 'w'), allow('a', null, 7, 'm')]);
  const program = compileDeviceProgram([allow('c', 136, null, 'rwm')]);
  assert.equal(programAllows(program, { type: 'c', major: 136, minor: 4, access: 'rw' }), true);
  assert.equal(programAllows(program, { type: 'c', major: 137, minor: 4, access: 'rw' }), false);
});

test('the last matching rule decides each access type', () => {
  // A later deny takes back part of an earlier wider allow (v1 would ignore it; runc refuses it).
  const rules = [allow('c', 1, null, 'rwm'), deny('c', 1, 7, 'w')];
  const program = compileDeviceProgram(rules);
  assert.equal(programAllows(program, { type: 'c', major: 1, minor: 7, access: 'r' }), true);
  assert.equal(programAllows(program, { type: 'c', major: 1, minor: 7, access: 'w' }), false);
  assert.equal(programAllows(program, { type: 'c', major: 1, minor: 7, access: 'rw' }), false, 'one denied type denies the open');
  assert.equal(programAllows(program, { type: 'c', major: 1, minor: 8, access: 'rw' }), true);
  assertMatchesModel(rules);
  // ...and a later allow punches a hole in an earlier deny.
  assertMatchesModel([ALLOW_ALL, deny('b', null, null, 'rw'), allow('b', 7, 0, 'r')]);
  // Access types granted by different rules add up.
  const split = [allow('c', 1, null, 'r'), allow('c', 1, 3, 'w')];
  assert.equal(programAllows(compileDeviceProgram(split), { type: 'c', major: 1, minor: 3, access: 'rw' }), true);
  assertMatchesModel(split);
});

test('a leading "a" deny-all or allow-all resets, and rules before the last one are not emitted', () => {
  const tail = [allow('c', 1, 3, 'rwm')];
  const prologue = deviceProgramInsns([]).length - 2;
  assert.deepEqual(compileDeviceProgram([allow('b', 8, 0, 'rwm'), DENY_ALL, ...tail]), compileDeviceProgram([DENY_ALL, ...tail]));
  // deny-all ends the program where it stands: prologue, the tail's block (3 checks, verdict), then the deny-all's verdict.
  assert.equal(deviceProgramInsns(deviceMatches([DENY_ALL, ...tail])).length, prologue + 5 + 2);
  const open = compileDeviceProgram([DENY_ALL, allow('b', 8, 0, 'rwm'), ALLOW_ALL]);
  assert.equal(disassemble(open).length, prologue + 2, 'a final allow-all is the whole program');
  assert.equal(programAllows(open, { type: 'b', major: 9, minor: 9, access: 'rw' }), true);
  assertMatchesModel([allow('b', 8, 0, 'rwm'), DENY_ALL, ...tail]);
  assertMatchesModel([DENY_ALL, allow('b', 8, 0, 'rwm'), ALLOW_ALL, deny('c', 5, null, 'r')]);
});

test('numbers above 2^31 compare as u32 (a K operand would be sign-extended)', () => {
  const rules = [allow('c', 0xffffffff, 0x80000000, 'r')];
  assertMatchesModel(rules);
  assert.equal(programAllows(compileDeviceProgram(rules), { type: 'c', major: 0xffffffff, minor: 0x80000000, access: 'r' }), true);
});

test('runc\'s defaults after a config deny-all behave exactly as the v1 kernel list does', () => {
  const rules = withDefaultDeviceRules({ devices: [DENY_ALL] }).devices!;
  const reqs = requests(KERNEL_ACCESSES, [0, 1, 2, 3, 5, 7, 8, 9, 10, 136, 200, 229]);
  const program = compileDeviceProgram(rules);
  for (const req of reqs) assert.equal(programAllows(program, req), v1KernelAllows([DENY_ALL, ...rules], req), JSON.stringify(req));
  assertMatchesModel(rules, reqs);
  // The docker escape: mknod of a block device is allowed (b *:* m), reading it is not.
  assert.equal(programAllows(program, { type: 'b', major: 8, minor: 0, access: 'm' }), true);
  assert.equal(programAllows(program, { type: 'b', major: 8, minor: 0, access: 'r' }), false);
  assert.equal(programAllows(program, { type: 'c', major: 1, minor: 9, access: 'rw' }), true);
  assert.equal(programAllows(program, { type: 'c', major: 1, minor: 1, access: 'r' }), false, '/dev/mem');
});

test('docker\'s default device list (as `docker run` sends it) and a privileged container\'s', () => {
  // moby oci/defaults.go: deny all, then allows; --device-cgroup-rule and --device add to the end.
  const docker: DeviceCgroupRule[] = [
    DENY_ALL,
    allow('c', null, null, 'm'), allow('b', null, null, 'm'),
    allow('c', 1, 3, 'rwm'), allow('c', 1, 8, 'rwm'), allow('c', 1, 7, 'rwm'), allow('c', 5, 0, 'rwm'), allow('c', 1, 5, 'rwm'),
    allow('c', 1, 9, 'rwm'), allow('c', 5, 1, 'rwm'), allow('c', 136, null, 'rwm'), allow('c', 5, 2, 'rwm'), allow('c', 10, 200, 'rwm'),
    allow('c', 10, 229, 'rwm'),
  ];
  const reqs = requests(KERNEL_ACCESSES, [0, 1, 3, 5, 7, 8, 10, 136, 229]);
  for (const rules of [docker, withDefaultDeviceRules({ devices: docker }).devices!, [ALLOW_ALL], withDefaultDeviceRules({ devices: [ALLOW_ALL] }).devices!]) {
    const program = compileDeviceProgram(rules);
    for (const req of reqs) assert.equal(programAllows(program, req), v1KernelAllows([DENY_ALL, ...rules], req), `${JSON.stringify(req)} with ${rules.length} rules`);
  }
});

test('a blacklist (allow all, then denies) behaves as v1, including a deny that names only one of the requested types', () => {
  const rules = [ALLOW_ALL, deny('c', 1, 1, 'rwm'), deny('b', null, null, 'w'), deny('c', 10, 200, 'w')];
  const program = compileDeviceProgram(rules);
  for (const req of requests(KERNEL_ACCESSES, [0, 1, 8, 10, 200])) {
    assert.equal(programAllows(program, req), v1KernelAllows([DENY_ALL, ...rules], req), JSON.stringify(req));
  }
  // runc's program lets this open through (it needs every requested type in the deny rule).
  assert.equal(programAllows(program, { type: 'c', major: 10, minor: 200, access: 'rw' }), false);
});

/** A small seeded PRNG (mulberry32), so a failure names a reproducible case. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('random rule lists: the program agrees with the rules on every device and access', () => {
  const numbers = [0, 1, 3, 0x80000000];
  const reqs = requests(ACCESSES, [...numbers, 2]);
  for (let seed = 1; seed <= 300; seed++) {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const rules: DeviceCgroupRule[] = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => {
      const access = pick(ACCESSES);
      const shuffled = [...access].sort(() => rnd() - 0.5).join('');
      return {
        allow: rnd() < 0.5,
        type: pick(['a', 'b', 'c', 'c', 'b', undefined]),
        major: pick([null, -1, ...numbers]),
        minor: pick([null, ...numbers]),
        access: shuffled,
      };
    });
    const problem = verifyProblem(compileDeviceProgram(rules));
    assert.equal(problem, undefined, `seed ${seed}: ${problem}`);
    assertMatchesModel(rules, reqs);
  }
});

test('malformed rules are refused with the field at fault', () => {
  const failsOn = (field: string) => (err: unknown) => err instanceof BerthError && err.kind === 'invalid-argument' && err.where.field === field;
  assert.throws(() => compileDeviceProgram([DENY_ALL, { allow: true, type: 'x', access: 'r' }]), failsOn('linux.resources.devices[1].type'));
  assert.throws(() => compileDeviceProgram([{ allow: true, type: 'c', access: 'rx' }]), failsOn('linux.resources.devices[0].access'));
  assert.throws(() => compileDeviceProgram([{ allow: true, type: 'c', access: '' }]), failsOn('linux.resources.devices[0].access'));
  assert.throws(() => compileDeviceProgram([{ allow: true, type: 'c', major: 2 ** 32, access: 'r' }]), failsOn('linux.resources.devices[0].major'));
  assert.throws(() => compileDeviceProgram([{ allow: true, type: 'c', minor: 1.5, access: 'r' }]), failsOn('linux.resources.devices[0].minor'));
});

test('the interpreter rejects what the verifier rejects', () => {
  const good = compileDeviceProgram([allow('c', 1, 3, 'r')]);
  assert.equal(verifyProblem(good), undefined);
  const bytes = (...insns: number[][]): Uint8Array => {
    const out = new Uint8Array(insns.length * 8);
    const view = new DataView(out.buffer);
    insns.forEach(([code, regs, off, imm], i) => {
      view.setUint8(i * 8, code!);
      view.setUint8(i * 8 + 1, regs!);
      view.setInt16(i * 8 + 2, off!, true);
      view.setInt32(i * 8 + 4, imm!, true);
    });
    return out;
  };
  const MOV_R0_1 = [0xb4, 0x00, 0, 1];
  const EXIT = [0x95, 0, 0, 0];
  assert.equal(verifyProblem(bytes(MOV_R0_1, EXIT)), undefined);
  assert.match(verifyProblem(bytes(EXIT)) ?? '', /R0 !read_ok/);
  assert.match(verifyProblem(bytes(MOV_R0_1, EXIT, MOV_R0_1, EXIT)) ?? '', /unreachable/);
  assert.match(verifyProblem(bytes(MOV_R0_1)) ?? '', /falls off/);
  assert.match(verifyProblem(bytes([0x55, 0x02, 1, 0], MOV_R0_1, EXIT)) ?? '', /R2 is read before/);
  assert.match(verifyProblem(bytes([0x61, 0x12, 12, 0], MOV_R0_1, EXIT)) ?? '', /invalid bpf_context access off=12/);
  assert.match(verifyProblem(bytes([0x05, 0, -1, 0], MOV_R0_1, EXIT)) ?? '', /jump back/);
  assert.match(verifyProblem(bytes([0x85, 0, 0, 1], MOV_R0_1, EXIT)) ?? '', /outside the known subset/);
  assert.throws(() => runDeviceProgram(bytes([0xb4, 0x00, 0, 2], EXIT), { accessType: 0, major: 0, minor: 0 }), /returns 2/);
});
