// Runs one command to completion and returns its wall time in milliseconds.
// stdin and stdout are /dev/null and stderr a regular file, never pipes: a container's init
// inherits the runtime's stdio, and a pipe it held open would keep the caller waiting.

import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, ftruncateSync } from 'node:fs';

/** The environment the benchmark gives every command: ours without NODE_EXTRA_CA_CERTS. */
export function cleanEnv(base = process.env) {
  const env = { ...base };
  // Node reads and parses the whole CA bundle at start-up when this is set (~50 ms here).
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

export class CommandRunner {
  /** stderrPath: a regular file that collects each command's stderr, shown when one fails. */
  constructor(stderrPath, env = cleanEnv()) {
    this.stderrPath = stderrPath;
    this.stderrFd = openSync(stderrPath, 'w+');
    this.env = env;
  }

  /** Wall time of `file args...` in ms; throws with its stderr if it does not exit with `expect`. */
  time(file, args, { expect = 0, env = this.env } = {}) {
    ftruncateSync(this.stderrFd, 0);
    const t0 = process.hrtime.bigint();
    const r = spawnSync(file, args, { stdio: ['ignore', 'ignore', this.stderrFd], env });
    const t1 = process.hrtime.bigint();
    if (r.error) throw new Error(`${file} ${args.join(' ')}: ${r.error.message}`);
    if (r.status !== expect) {
      const err = readFileSync(this.stderrPath, 'utf8').trim();
      throw Object.assign(new Error(`${file} ${args.join(' ')}: exit ${r.status ?? r.signal} (expected ${expect})${err ? `\n${err}` : ''}`), { signal: r.signal });
    }
    return Number(t1 - t0) / 1e6;
  }

  close() {
    closeSync(this.stderrFd);
  }
}
