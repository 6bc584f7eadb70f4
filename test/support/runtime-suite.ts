// What most berth-runtime test files share: a runtime with its own state root, a scratch directory,
// bundles, and `runIn` for a one-shot `sh -c` container; all removed after the file's tests
// (containers first: `delete --force` of whatever is left).
import { after } from 'node:test';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Spec } from '../../src/oci/runtime-spec.ts';
import { makeBundle, type TestBundle } from './bundle.ts';
import { RuntimeCli } from './cli.ts';

export interface RunInResult {
  code: number;
  out: string;
  err: string;
  b: TestBundle;
}

export interface RuntimeSuite {
  rt: RuntimeCli;
  /** A scratch directory (mode 0755: hooks and containers with other uids can read it). */
  work: string;
  /** Every bundle made so far. */
  bundles: readonly TestBundle[];
  /** A bundle of busybox running `args`, removed with the suite. */
  newBundle(args: string[], mutate?: (s: Spec) => void): TestBundle;
  /** `berth-runtime run` of `sh -c script` in the foreground, with ids `<name>-<n>`. */
  runIn(script: string, mutate?: (s: Spec) => void, prepare?: (b: TestBundle) => void): RunInResult;
}

export function runtimeSuite(name: string): RuntimeSuite {
  const rt = new RuntimeCli();
  const work = mkdtempSync(join(tmpdir(), `berth-test-${name}-`));
  chmodSync(work, 0o755);
  const bundles: TestBundle[] = [];
  after(() => {
    rt.cleanup();
    for (const b of bundles) b.cleanup();
    rmSync(work, { recursive: true, force: true });
  });
  const newBundle = (args: string[], mutate?: (s: Spec) => void): TestBundle => {
    const b = makeBundle(args, mutate);
    bundles.push(b);
    return b;
  };
  let seq = 0;
  const runIn = (script: string, mutate?: (s: Spec) => void, prepare?: (b: TestBundle) => void): RunInResult => {
    const b = newBundle(['sh', '-c', script], mutate);
    prepare?.(b);
    const r = rt.run(['run', '--bundle', b.dir, `${name}-${seq++}`]);
    return { code: r.code, out: r.stdout, err: r.stderr, b };
  };
  return { rt, work, bundles, newBundle, runIn };
}
