// The same bundle under runc and under berth-runtime: the container must see the same world.
// Each config runs the probe (probe.ts) once per runtime and compares it section by section.
// Where the two legitimately differ the difference is normalised below, with the reason.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Spec } from '../../../src/oci/runtime-spec.ts';
import { makeBundle, type TestBundle } from '../../support/bundle.ts';
import { runCli, RuntimeCli, type RunResult } from '../../support/cli.ts';
import { lineDiff, mountLine, parseMountinfo, parseProbe, probeScript, PROBE_EXIT_CODE, type MountEntry } from './probe.ts';

const runcBin = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p));
const skip = runcBin ? false : 'runc is not installed';

interface Config {
  name: string;
  /** Adjusts the default spec; gets a scratch dir on the host for bind sources. */
  mutate(spec: Spec, hostDir: string): void;
  /** Runs before the bundle is written: host-side preparation of the rootfs. */
  prepare?(bundle: TestBundle, hostDir: string): void;
  /** Shell printed as the probe's "extra" section. */
  extra?: string;
}

const USERNS_HOST_ID = 100000;

const configs: Config[] = [
  {
    name: 'default spec',
    mutate: (s) => (s.hostname = 'cmp-default'),
  },
  {
    name: 'user namespace with uid/gid mappings',
    mutate: (s) => {
      s.hostname = 'cmp-userns';
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = [{ containerID: 0, hostID: USERNS_HOST_ID, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: USERNS_HOST_ID, size: 65536 }];
    },
    prepare: (b) => {
      // The container's root is host uid 100000: it owns its rootfs, and can walk to it
      // (mkdtemp made the bundle dir 0700).
      execFileSync('chown', ['-R', '-h', `${USERNS_HOST_ID}:${USERNS_HOST_ID}`, b.rootfs]);
      chmodSync(b.dir, 0o755);
    },
    extra: 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; stat -c "%u:%g" / /bin/busybox',
  },
  {
    name: 'non-root user with additionalGids, umask 0077, cwd /tmp',
    mutate: (s) => {
      s.hostname = 'cmp-user';
      s.domainname = 'cmp.example';
      s.process!.user = { uid: 1000, gid: 1000, additionalGids: [10, 20, 1000], umask: 0o077 };
      s.process!.cwd = '/tmp';
      // The rootfs is read-only; a tmpfs makes /tmp writable so that the umask shows in new files.
      s.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] });
    },
    prepare: (b) => {
      writeFileSync(join(b.rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n');
      writeFileSync(join(b.rootfs, 'etc/group'), 'root:x:0:\nwheel:x:10:\ndialout:x:20:\nuser:x:1000:\n');
    },
    extra: 'touch /tmp/made && stat -c "%a %u:%g" /tmp/made; mkdir /tmp/dir && stat -c "%a" /tmp/dir',
  },
  {
    name: 'extra rlimits',
    mutate: (s) => {
      s.hostname = 'cmp-rlimits';
      // Only lowering: this host lacks CAP_SYS_RESOURCE, so no hard limit can be raised.
      s.process!.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 },
        { type: 'RLIMIT_CORE', soft: 4096, hard: 8192 },
      ];
    },
    extra: 'ulimit -n; ulimit -Hn; ulimit -c; ulimit -Hc',
  },
  {
    name: 'read-only bind mount of a host dir',
    mutate: (s, hostDir) => {
      s.hostname = 'cmp-bind';
      s.mounts!.push({ destination: '/mnt/ro', type: 'bind', source: hostDir, options: ['rbind', 'ro', 'nosuid', 'nodev'] });
    },
    prepare: (_b, hostDir) => writeFileSync(join(hostDir, 'hello'), 'from the host\n'),
    extra: 'cat /mnt/ro/hello; if touch /mnt/ro/new 2>/dev/null; then echo "write ok"; else echo "write refused"; fi',
  },
  {
    name: 'tmpfs with size and mode',
    mutate: (s) => {
      s.hostname = 'cmp-tmpfs';
      s.mounts!.push({ destination: '/mnt/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=1m', 'mode=0700'] });
    },
    extra: 'stat -c "%a %u:%g" /mnt/scratch; df -k /mnt/scratch | tail -n 1 | awk \'{print $2}\'; echo x > /mnt/scratch/f && echo "write ok"',
  },
  {
    name: 'rootfsPropagation rprivate',
    mutate: (s) => {
      s.hostname = 'cmp-rprivate';
      s.linux!.rootfsPropagation = 'rprivate';
    },
  },
];

// Both runtimes run from this process, so both inherit its rlimits and see its namespaces as "host".
const hostNs = new Map(readdirSync('/proc/self/ns').map((t) => [t, readlinkSync(`/proc/self/ns/${t}`)]));

// Set to a directory to keep both runtimes' raw probe output there, for reading a failure.
const dumpDir = process.env.BERTH_COMPARE_DUMP;

let berth: RuntimeCli;
let runcRoot: string;
const runcIds: string[] = [];

before(() => {
  berth = new RuntimeCli();
  runcRoot = mkdtempSync(join(tmpdir(), 'berth-test-runc-root-'));
});
after(() => {
  berth?.cleanup();
  if (runcRoot && runcBin) {
    for (const id of runcIds) runCli(runcBin, ['--root', runcRoot, 'delete', '--force', id]);
    rmSync(runcRoot, { recursive: true, force: true });
  }
});

interface Observed {
  run: RunResult;
  sections: Map<string, string[]>;
}

function observe(run: RunResult): Observed {
  return { run, sections: parseProbe(run.stdout) };
}

function section(o: Observed, name: string): string[] {
  const lines = o.sections.get(name);
  assert.ok(lines, `probe section "${name}" missing; exit ${o.run.code}, stderr:\n${o.run.stderr}`);
  return lines;
}

/** Fails with a readable line diff when the two lists differ (order ignored when sorted). */
function assertSameLines(what: string, runc: string[], berthLines: string[], opts: { sorted?: boolean } = {}): void {
  const a = opts.sorted ? [...runc].sort() : runc;
  const b = opts.sorted ? [...berthLines].sort() : berthLines;
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const diff = lineDiff(a, b, 'runc', 'berth');
  assert.fail(`${what} differ between runc and berth-runtime:\n${diff || `same lines, other order:\n  runc:  ${a.join(' | ')}\n  berth: ${b.join(' | ')}`}`);
}

// Masked directories are read-only tmpfs mounts in both runtimes; berth mounts them with
// "size=0k,mode=755" (as crun does) where runc passes no data (tmpfs defaults). The spec only asks
// that the path be masked, which the "masked" section checks.
function isMaskedDir(m: MountEntry, spec: Spec): boolean {
  return m.fsType === 'tmpfs' && m.root === '/' && (spec.linux?.maskedPaths ?? []).includes(m.mountPoint);
}

// The tmpfs runc and berth put at /sys/fs/cgroup under cgroup v1, for a cgroup mount with "ro":
// runc 1.1.5 means to remount it read-only but leaves it rw here (mountinfo shows "rw" on the
// mount and its superblock), berth remounts it read-only. Both mount the hierarchies under it
// read-only, which stays compared. That berth's tmpfs is read-only is asserted on its own below.
function isCgroupRoot(m: MountEntry, spec: Spec): boolean {
  const cg = (spec.mounts ?? []).find((x) => x.type === 'cgroup');
  return !!cg && m.fsType === 'tmpfs' && m.mountPoint === cg.destination;
}

function normalisedMounts(lines: string[], spec: Spec): string[] {
  return parseMountinfo(lines)
    .map((m): MountEntry => {
      // The root's source device is the host's block device; not what is compared.
      if (m.mountPoint === '/') return { ...m, source: '<host device>' };
      // runc bind-mounts the host's v1 hierarchies, so a mount's source is whatever the host named
      // it ("systemd" for name=systemd on Debian); berth mounts each hierarchy afresh as "cgroup".
      // The source of a cgroup mount means nothing to the kernel.
      if (m.fsType === 'cgroup') return { ...m, source: 'cgroup' };
      if (isMaskedDir(m, spec)) return { ...m, superOptions: m.superOptions.filter((o) => o === 'ro' || o === 'rw') };
      if (isCgroupRoot(m, spec)) {
        const dropRoRw = (o: string[]) => o.filter((x) => x !== 'ro' && x !== 'rw');
        return { ...m, options: dropRoRw(m.options), superOptions: dropRoRw(m.superOptions) };
      }
      return m;
    })
    .map(mountLine)
    .sort();
}

// runc sets HOME from the user's /etc/passwd entry when process.env lacks it (crun does too);
// the runtime-spec does not ask for it. Left out here, reported separately.
function normalisedEnv(lines: string[]): string[] {
  return lines.filter((l) => !l.startsWith('HOME=')).sort();
}

// The mqueue filesystem of an IPC namespace is made when the namespace is, and its root belongs to
// the creator's fsuid/fsgid then. runc enters the user namespace and becomes its uid 0 before it
// unshares IPC (its gid stays the host's 0, shown as 65534): 0:65534. berth creates all namespaces
// in one clone, while still the host's root: 65534:65534. The directory is 1777 either way, and
// the runtime-spec does not say who owns it.
function normalisedDev(lines: string[], spec: Spec): string[] {
  if (!spec.linux?.namespaces?.some((n) => n.type === 'user')) return lines;
  return lines.map((l) => (l.startsWith('/dev/mqueue|directory|') ? l.replace(/\|\d+:\d+\|$/, '|<owner>|') : l));
}

/** Per namespace type: "new" when the container's link differs from this process's, else "host". */
function nsSharing(lines: string[]): string[] {
  return lines.map((l) => {
    const [type, link] = l.split(' ');
    return `${type} ${hostNs.get(type!) === link ? 'host' : 'new'}`;
  });
}

const SPEC_NS_FILES: Record<string, string[]> = {
  pid: ['pid', 'pid_for_children'],
  network: ['net'],
  ipc: ['ipc'],
  uts: ['uts'],
  mount: ['mnt'],
  cgroup: ['cgroup'],
  user: ['user'],
  time: ['time', 'time_for_children'],
};

for (const config of configs) {
  describe(`runc and berth-runtime agree: ${config.name}`, { skip }, () => {
    let bundle: TestBundle;
    let hostDir: string;
    let runc: Observed;
    let ours: Observed;
    const tag = `${config.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 24)}-${process.pid}`;
    const runcId = `cmp-runc-${tag}`;
    const berthId = `cmp-berth-${tag}`;

    before(() => {
      hostDir = mkdtempSync(join(tmpdir(), 'berth-test-host-'));
      bundle = makeBundle(['sh', '-c', 'true'], (s) => config.mutate(s, hostDir));
      bundle.spec.process!.args = ['sh', '-c', probeScript(bundle.spec, config.extra)];
      config.prepare?.(bundle, hostDir);
      bundle.write();
      runcIds.push(runcId);
      runc = observe(runCli(runcBin!, ['--root', runcRoot, 'run', '--bundle', bundle.dir, runcId]));
      ours = observe(berth.run(['run', '--bundle', bundle.dir, berthId]));
      if (dumpDir) {
        for (const [who, o] of [['runc', runc], ['berth', ours]] as const) writeFileSync(join(dumpDir, `${tag}.${who}.out`), `${o.run.stdout}\n==== stderr\n${o.run.stderr}\n==== exit ${o.run.code}\n`);
      }
    });
    after(() => {
      runCli(runcBin!, ['--root', runcRoot, 'delete', '--force', runcId]);
      berth.run(['delete', '--force', berthId]);
      bundle?.cleanup();
      if (hostDir) rmSync(hostDir, { recursive: true, force: true });
    });

    it('exits with the probe status', () => {
      assert.equal(runc.run.code, PROBE_EXIT_CODE, `runc: ${runc.run.stderr}`);
      assert.equal(ours.run.code, PROBE_EXIT_CODE, `berth-runtime: ${ours.run.stderr}`);
      assert.equal(ours.run.stderr, runc.run.stderr, 'the probe wrote the same errors');
    });

    it('mounts (mountinfo)', () => {
      const spec = bundle.spec;
      assertSameLines('mounts', normalisedMounts(section(runc, 'mountinfo'), spec), normalisedMounts(section(ours, 'mountinfo'), spec));
      const cgroupRoot = parseMountinfo(section(ours, 'mountinfo')).find((m) => isCgroupRoot(m, spec));
      const cgroupMount = (spec.mounts ?? []).find((m) => m.type === 'cgroup');
      if (cgroupRoot && cgroupMount?.options?.includes('ro')) assert.ok(cgroupRoot.options.includes('ro'), `berth's ${cgroupRoot.mountPoint} is read-only, as asked`);
    });

    it('hostname and domainname', () => {
      assertSameLines('hostname', section(runc, 'hostname'), section(ours, 'hostname'));
      assert.deepEqual(section(ours, 'hostname'), [bundle.spec.hostname]);
      if (bundle.spec.domainname === undefined) {
        assertSameLines('domainname', section(runc, 'domainname'), section(ours, 'domainname'));
      } else {
        // "domainname" came with runtime-spec 1.1 (runc 1.2); runc 1.1.5 ignores it and leaves
        // the new UTS namespace's "(none)". berth must set what the spec asks.
        assert.deepEqual(section(ours, 'domainname'), [bundle.spec.domainname]);
        assert.ok(['(none)', bundle.spec.domainname].includes(section(runc, 'domainname')[0]!), `runc's domainname: ${section(runc, 'domainname')}`);
      }
    });

    it('uid, gid and groups (id)', () => {
      assertSameLines('id', section(runc, 'id'), section(ours, 'id'));
    });

    it('capabilities and NoNewPrivs (/proc/self/status)', () => {
      assertSameLines('status lines', section(runc, 'status'), section(ours, 'status'));
    });

    it('resource limits (/proc/self/limits)', () => {
      assertSameLines('limits', section(runc, 'limits'), section(ours, 'limits'));
    });

    it('umask and cwd', () => {
      assertSameLines('umask', section(runc, 'umask'), section(ours, 'umask'));
      assertSameLines('cwd', section(runc, 'cwd'), section(ours, 'cwd'));
      assert.deepEqual(section(ours, 'cwd'), [bundle.spec.process!.cwd]);
    });

    it('environment', () => {
      assertSameLines('environment', normalisedEnv(section(runc, 'env')), normalisedEnv(section(ours, 'env')));
    });

    it('namespaces: which are new and which are the host\'s', () => {
      const theirs = nsSharing(section(runc, 'ns'));
      assertSameLines('namespaces', theirs, nsSharing(section(ours, 'ns')));
      // Sanity of the comparison itself: exactly the spec's namespace types are new.
      const asked = new Set((bundle.spec.linux?.namespaces ?? []).flatMap((n) => SPEC_NS_FILES[n.type] ?? []));
      for (const line of theirs) {
        const [file, sharing] = line.split(' ');
        assert.equal(sharing, asked.has(file!) ? 'new' : 'host', `runc's ${file} namespace`);
      }
    });

    it('/dev listing', () => {
      assertSameLines('/dev entries', normalisedDev(section(runc, 'dev'), bundle.spec), normalisedDev(section(ours, 'dev'), bundle.spec), { sorted: true });
    });

    it('masked and read-only paths', () => {
      assertSameLines('masked paths', section(runc, 'masked'), section(ours, 'masked'));
      assertSameLines('read-only paths', section(runc, 'readonly'), section(ours, 'readonly'));
      for (const line of section(ours, 'masked')) assert.match(line, / (absent|entries=0|bytes=0)$/, 'masked paths show nothing');
      // As the host's root the mount's read-only flag is what refuses; a non-root user, or a root
      // whose user namespace does not map the files' owner, is refused by permissions first.
      const hostRoot = bundle.spec.process!.user.uid === 0 && !bundle.spec.linux?.namespaces?.some((n) => n.type === 'user');
      const refusal = hostRoot ? 'Read-only file system' : 'Read-only file system|Permission denied';
      const refused = new RegExp(`(^\\S+ (absent|has no file)|: (${refusal}))$`);
      for (const line of section(ours, 'readonly')) assert.match(line, refused, 'read-only paths refuse writing');
    });

    it('config-specific checks', () => {
      assertSameLines('extra checks', section(runc, 'extra'), section(ours, 'extra'));
    });
  });
}
