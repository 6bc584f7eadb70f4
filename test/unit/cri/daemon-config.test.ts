// berthd's config: the TOML file, flags over it, defaults, and errors that name file and key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG, parseDaemonConfig, parseDuration, resolveDaemonConfig } from '../../../src/cri/daemon-config.ts';
import { loadConfig } from '../../../src/cli/berthd/main.ts';

const FILE = '/etc/berth/berthd.toml';
const bad = (text: string, re: RegExp) =>
  assert.throws(() => resolveDaemonConfig(parseDaemonConfig(text, FILE), {}, FILE), (e: Error & { kind?: string }) => e.kind === 'invalid-argument' && re.test(e.message), text);

test('defaults', () => {
  const c = resolveDaemonConfig({});
  assert.equal(c.root, '/var/lib/berth');
  assert.equal(c.state, '/run/berth');
  assert.equal(c.listen, '/run/berth/berthd.sock');
  assert.equal(c.registriesConfig, '/etc/containers/registries.conf');
  assert.equal(c.defaultRuntime, 'berth');
  assert.deepEqual(Object.keys(c.runtimes), ['berth']);
  assert.deepEqual(c.cni, { confDir: '/etc/cni/net.d', binDirs: ['/opt/cni/bin', '/usr/lib/cni'] });
  assert.deepEqual(c.streaming, { address: '127.0.0.1', port: 0, idleTimeoutMs: 4 * 3600_000 });
  assert.equal(c.logLevel, 'info');
  c.cni.binDirs.push('/x');
  assert.deepEqual(DEFAULT_CONFIG.cni.binDirs, ['/opt/cni/bin', '/usr/lib/cni'], 'a resolved config shares nothing with the defaults');
});

test('a full file, then flags over it', () => {
  const text = `
root = "/srv/berth"
state = "/run/b"
listen = "/run/b/cri.sock"
registries_config = "/etc/b/registries.conf"
default_runtime = "runc"
log_level = "warn"
[runtimes.runc]
path = "/usr/sbin/runc"
[runtimes.gvisor]
path = "/usr/bin/runsc"
args = ["--network=host", "--platform=ptrace"]
[cni]
conf_dir = "/etc/b/net.d"
bin_dirs = ["/usr/lib/cni"]
[streaming]
address = "::1"
port = 10010
idle_timeout = "1h30m"
`;
  const file = parseDaemonConfig(text, FILE);
  const c = resolveDaemonConfig(file, { root: '/tmp/r', listen: '/tmp/s.sock', logLevel: 'debug' }, FILE);
  assert.equal(c.root, '/tmp/r');
  assert.equal(c.state, '/run/b');
  assert.equal(c.listen, '/tmp/s.sock');
  assert.equal(c.registriesConfig, '/etc/b/registries.conf');
  assert.equal(c.defaultRuntime, 'runc');
  assert.deepEqual(c.runtimes, { berth: { name: 'berth' }, runc: { name: 'runc', path: '/usr/sbin/runc' }, gvisor: { name: 'gvisor', path: '/usr/bin/runsc', args: ['--network=host', '--platform=ptrace'] } });
  assert.deepEqual(c.cni, { confDir: '/etc/b/net.d', binDirs: ['/usr/lib/cni'] });
  assert.deepEqual(c.streaming, { address: '::1', port: 10010, idleTimeoutMs: 90 * 60_000 });
  assert.equal(c.logLevel, 'debug');
});

test('errors name the file and the key', () => {
  bad('root = ', new RegExp(`^${FILE}: not valid TOML`));
  bad('rot = "/x"', new RegExp(`^${FILE}: rot: unknown key \\(known here: root, state`));
  bad('[cni]\nconfdir = "/x"', /: cni\.confdir: unknown key/);
  bad('[streaming]\nport = 70000', /: streaming\.port: must be an integer from 0 to 65535/);
  bad('[streaming]\nport = "80"', /: streaming\.port: must be an integer/);
  bad('[streaming]\nidle_timeout = "4 hours"', /: streaming\.idle_timeout: "4 hours" is not a duration/);
  bad('[streaming]\nidle_timeout = "10ms"', /: streaming\.idle_timeout: "10ms" is not a duration of at least 1s/);
  bad('[streaming]\naddress = "localhost"', /: streaming\.address: "localhost" is not an IP address/);
  bad('root = "relative/dir"', /: root: "relative\/dir" must be an absolute path/);
  bad('root = 5', /: root: must be a string/);
  bad('listen = ""', /: listen: must not be empty/);
  bad('[runtimes.runc]\npath = "runc"', /: runtimes\.runc\.path: "runc" must be an absolute path/);
  bad('[runtimes.runc]\nbinary = "/usr/sbin/runc"', /: runtimes\.runc\.binary: unknown key/);
  bad('[runtimes.runc]\n', /: runtimes\.runc\.path: required/);
  bad('[runtimes.runsc]\npath = "/x"\nargs = "--network=host"', /: runtimes\.runsc\.args: must be an array of strings/);
  bad('[runtimes.runsc]\npath = "/x"\nargs = ["--debug", "run"]', /: runtimes\.runsc\.args\[1\]: "run" is not a flag/);
  bad('[runtimes.runsc]\npath = "/x"\nargs = [3]', /: runtimes\.runsc\.args\[0\]: must be a string/);
  bad('[runtimes.Run_C]\npath = "/x"', /: runtimes\.Run_C: "Run_C" is not a valid handler name/);
  bad('[runtimes.berth]\npath = "/x"', /: runtimes\.berth: "berth" is berth's built-in runtime/);
  bad('runtimes = 3', /: runtimes: must be a table/);
  bad('[cni]\nbin_dirs = []', /: cni\.bin_dirs: must be a non-empty list/);
  bad('[cni]\nbin_dirs = ["/a", "b"]', /: cni\.bin_dirs\[1\]: "b" must be an absolute path/);
  bad('default_runtime = "crun"', new RegExp(`^${FILE}: default_runtime: "crun" is not berth's built-in runtime or a \\[runtimes.NAME\\] table \\(known: berth\\)`));
  bad('log_level = "trace"', /: log_level: "trace" is not one of debug, info, warn, error/);
  bad(`listen = "/${'x'.repeat(120)}"`, /longer than a unix socket path can be/);
  assert.throws(() => resolveDaemonConfig({}, { logLevel: 'loud' }), /--log-level: "loud" is not one of/);
});

test('the command line: relative flag paths become absolute; a missing --config file is an error', () => {
  const c = loadConfig(['--root', 'rel/root', '--state=/s', '--listen', '/l.sock', '--log-level', 'debug', '--config', '/dev/null']);
  assert.ok(c !== 'help');
  assert.equal(c.root, `${process.cwd()}/rel/root`);
  assert.equal(c.state, '/s');
  assert.equal(c.logLevel, 'debug');
  assert.equal(loadConfig(['--help']), 'help');
  assert.throws(() => loadConfig(['--config', '/nonexistent/berthd.toml']), /read config \/nonexistent\/berthd\.toml: no such file/);
  assert.throws(() => loadConfig(['--bogus']), /unknown flag --bogus/);
  assert.throws(() => loadConfig(['serve']), /unexpected argument "serve"/);
});

test('durations as Go writes them', () => {
  assert.equal(parseDuration('4h'), 4 * 3600_000);
  assert.equal(parseDuration('1h30m'), 90 * 60_000);
  assert.equal(parseDuration('4h0m0s'), 4 * 3600_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('250ms'), 250);
  for (const bad of ['', '4', 'h', '4d', '-1s', '1 h']) assert.equal(parseDuration(bad), undefined, bad);
});
