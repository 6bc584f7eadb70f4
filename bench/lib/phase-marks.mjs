// Preloaded into berth-runtime (`node --import bench/lib/phase-marks.mjs dist/berth-runtime.mjs ...`)
// to timestamp the phases of one command without changing its code: it wraps a few Node built-ins
// and notes, in ms since the process's time origin, the first time each is used for the purpose
// named below. On exit it appends one JSON line to the file named by $BERTH_PHASE_MARKS.
//   preload      this module runs: Node's own start-up is over
//   config       config.json is read (the command's modules are loaded and it is at work)
//   cgroup       first file operation under /sys/fs/cgroup
//   spawn        berth-spawn is started
//   ack1, ack2   the first two sync points of berth-spawn are acknowledged
//   state        the last rename of a state.json into place
//   exit         process 'exit'
// Only the first occurrence counts, except `state`. Marks that never happen are absent.

import childProcess from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';

const out = process.env.BERTH_PHASE_MARKS;
const marks = { preload: performance.now() };
const mark = (name, always = false) => {
  if (always || marks[name] === undefined) marks[name] = performance.now();
};
const isCgroup = (p) => typeof p === 'string' && p.startsWith('/sys/fs/cgroup/');

function wrap(obj, name, before) {
  const original = obj[name];
  obj[name] = function wrapped(...args) {
    before(args);
    return original.apply(this, args);
  };
}

wrap(fs, 'readFileSync', ([p]) => {
  if (typeof p === 'string' && p.endsWith('/config.json')) mark('config');
  if (isCgroup(p)) mark('cgroup');
});
for (const name of ['mkdirSync', 'openSync', 'writeFileSync', 'rmdirSync']) wrap(fs, name, ([p]) => isCgroup(p) && mark('cgroup'));
for (const name of ['mkdir', 'open', 'readFile', 'writeFile', 'rmdir', 'stat']) wrap(fsp, name, ([p]) => isCgroup(p) && mark('cgroup'));
wrap(fs, 'renameSync', ([, to]) => typeof to === 'string' && to.endsWith('/state.json') && mark('state', true));
wrap(childProcess, 'spawn', ([file]) => typeof file === 'string' && file.endsWith('berth-spawn') && mark('spawn'));
wrap(net.Socket.prototype, 'write', ([data]) => {
  if (data === 'ack\n') mark(marks.ack1 === undefined ? 'ack1' : 'ack2');
});
// ESM importers of these built-ins see the wrapped functions only after this.
syncBuiltinESMExports();

process.on('exit', () => {
  mark('exit');
  if (out) fs.appendFileSync(out, `${JSON.stringify(marks)}\n`);
});
