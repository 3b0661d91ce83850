// Runs every test file under test/ with Node's test runner (TypeScript through tsx).
// Usage: npm test [-- filter...]  (filters are substrings of test file paths). PRETRAIN_TEST_BACKENDS=cpu-wasm,webgpu
// (for example) runs the per-backend tests on those backends only; the others are reported as skipped.
import { readdirSync, statSync } from 'node:fs';
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
// Each engine test runs its body once per backend itself (test/helpers/backends.ts: reference, native, WebAssembly,
// WebGPU), so one pass covers every kernel set.
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
