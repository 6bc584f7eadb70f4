// berth's seccomp compiler: OCI `linux.seccomp` -> classic BPF bytes + seccomp(2) flags, plus the
// tools to read and evaluate such programs.

export { compileSeccomp, seccompConfigured, type CompileSeccompOptions, type CompiledSeccomp } from './compile.ts';
export {
  SECCOMP_ARCHITECTURES,
  KNOWN_SECCOMP_ARCHITECTURES,
  nativeSeccompArch,
  seccompArchInfo,
  seccompSyscallNumber,
  type SeccompArchInfo,
} from './architectures.ts';
export { disassemble, describeSeccompReturn } from './bpf-disassemble.ts';
export { runFilter, type SeccompInput } from './bpf-interpret.ts';
export { seccompProgramProblem } from './bpf-check.ts';
export { decodeProgram, encodeProgram, type SockFilter } from './bpf.ts';
export { parseU64 } from './profile.ts';
export { AUDIT_ARCH, SECCOMP_FILTER_FLAG, SECCOMP_RET, X32_SYSCALL_BIT } from './seccomp-constants.ts';
