// Compiles native/kernels.cc into build/native/kernels.node for this machine's CPU (-march=native: the build runs
// where the package is installed). Runs from `npm ci` / `npm install` (prepare, through npm run build).
//
// Optional by design: without a C++ compiler or Node's headers (node_api.h), or on a platform this script does not
// know, it says why and leaves nothing behind, and the fast CPU backend uses its WebAssembly kernels. It calls the
// compiler directly rather than node-gyp: one file, no Python, and node-gyp would fetch headers over the network
// when they are not installed. A freshly built addon is loaded in a child process before it is kept, so a broken
// build can never take the backend down.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'native');
const target = join(out, 'kernels.node');

function skip(reason) {
  rmSync(target, { force: true });
  console.log(`native kernels not built (${reason}); the CPU backend will use its WebAssembly kernels`);
  process.exit(0);
}

if (process.env.PRETRAIN_NATIVE === '0') skip('PRETRAIN_NATIVE=0');
if (process.platform !== 'linux' && process.platform !== 'darwin') skip(`no build recipe for ${process.platform}`);

// Node's headers: npm's nodedir setting, else beside the running node binary (/usr/include/node, ~/.nvm/.../include/node).
const candidates = [process.env.npm_config_nodedir, dirname(dirname(process.execPath))].filter(Boolean).map((d) => join(d, 'include', 'node'));
const include = candidates.find((d) => existsSync(join(d, 'node_api.h')));
if (!include) skip(`node_api.h not found in ${candidates.join(' or ')}`);

const cxx = process.env.CXX || 'c++';
if (spawnSync(cxx, ['--version']).status !== 0) skip(`no C++ compiler (${cxx})`);

mkdirSync(out, { recursive: true });
const tmp = join(out, `kernels.${process.pid}.node`);
const flags = ['-O3', '-march=native', '-std=c++17', '-shared', '-fPIC', '-pthread', '-fvisibility=hidden', '-I', include];
if (process.platform === 'darwin') flags.push('-undefined', 'dynamic_lookup');
try {
  execFileSync(cxx, [...flags, join(root, 'native', 'kernels.cc'), '-o', tmp], { stdio: ['ignore', 'inherit', 'inherit'] });
} catch {
  rmSync(tmp, { force: true });
  skip(`${cxx} failed`);
}
const check = spawnSync(process.execPath, ['-e', `const k = require(${JSON.stringify(tmp)}); const o = new Float32Array(4);
k.sgemm(1, 2, 2, 2, Float32Array.of(1, 2, 3, 4), 0, 0, 2, 1, Float32Array.of(5, 6, 7, 8), 0, 0, 2, 1, o);
if (o.join() !== '19,22,43,50') throw new Error('wrong product ' + o.join());`], { encoding: 'utf8' });
if (check.status !== 0) {
  rmSync(tmp, { force: true });
  skip(`the built addon failed its load check: ${(check.stderr || String(check.signal)).trim().split('\n')[0]}`);
}
renameSync(tmp, target);
console.log('built build/native/kernels.node');
