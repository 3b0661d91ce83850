// Runs every test file under test/ with Node's test runner (TypeScript through tsx).
// Usage: npm test [-- filter...]  (filters are substrings of test file paths)
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...find(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = find('test').sort().filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const run = (list, env = process.env) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...list], { stdio: 'inherit', env }).status ?? 1;
let status = run(files);
// The default CPU backend runs on the native kernels where they are built; the engine's tests (tensor, nn, optim)
// then run a second time on the WebAssembly kernels, the set browsers and machines without a compiler use.
const engine = files.filter((f) => /^test[\\/](tensor|nn|optim)[\\/]/.test(f));
if (status === 0 && engine.length > 0 && existsSync(join('build', 'native', 'kernels.node')) && process.env.PRETRAIN_NATIVE !== '0') {
  console.log(`\n# the engine's tests again on the WebAssembly kernels (PRETRAIN_NATIVE=0): ${engine.length} files`);
  status = run(engine, { ...process.env, PRETRAIN_NATIVE: '0' });
}
process.exit(status);
