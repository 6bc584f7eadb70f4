// berth's seccomp compiler against runc's (libseccomp): the same config.json, written by `berth
// run`, run by berth's runtime and by runc, gives the probe the same answers, for berth's default
// profile and for a profile another project wrote (podman's default, from Debian's
// containers-common, in docker's format with its archMap and capability conditions).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { probeResults } from '../../fixtures/hardening/probe.ts';
import { DENIED_BY_DEFAULT, PROBE_IMAGE, PROBE_SCRIPT, probeStore, seccompMode, type ProbeStore } from '../../fixtures/hardening/probe-store.ts';

let store: ProbeStore;
before(() => {
  store = probeStore('berth-hardening-runc-');
});
after(() => store?.cleanup());

function underBoth(options: string[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const runtime of ['berth', 'runc']) {
    const stdout = store.ok('run', '--rm', '--runtime', runtime, ...options, PROBE_IMAGE, 'sh', '-c', PROBE_SCRIPT);
    assert.equal(seccompMode(stdout), '2', `${runtime}: ${stdout}`);
    out[runtime] = probeResults(stdout);
  }
  return out;
}

test("berth's default profile: runc gives the same answers as berth's runtime", () => {
  const got = underBoth([]);
  assert.deepEqual(got.runc, got.berth);
  for (const [name, want] of Object.entries(DENIED_BY_DEFAULT)) assert.equal(got.berth![name], want, name);
  assert.equal(got.berth!.ordinary, 'ok');
});

const podmanProfile = '/usr/share/containers/seccomp.json';
test("podman's default profile as a --security-opt file: runc gives the same answers", { skip: !existsSync(podmanProfile) && `${podmanProfile} is not installed` }, () => {
  const got = underBoth(['--security-opt', `seccomp=${podmanProfile}`]);
  assert.deepEqual(got.runc, got.berth);
  // Podman's profile allows user namespaces but not perf_event_open without CAP_PERFMON.
  assert.equal(got.berth!.perf_event_open, 'EPERM');
  assert.equal(got.berth!.ordinary, 'ok');
});
