// Compiles every AssemblyScript module in assembly/ into build/wasm/<name>.simd.wasm and <name>.relaxed.wasm
// (the second with relaxed SIMD, used where the runtime supports it). Runs from `npm ci` / `npm install` (prepare).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asc = createRequire(import.meta.url).resolve('assemblyscript/bin/asc.js');
const out = join(root, 'build', 'wasm');
mkdirSync(out, { recursive: true });

const common = ['--optimizeLevel', '3', '--shrinkLevel', '0', '--noAssert', '--runtime', 'stub', '--enable', 'simd', '--enable', 'threads',
  '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536', '--exportRuntime'];
for (const file of readdirSync(join(root, 'assembly')).filter((f) => f.endsWith('.ts')).sort()) {
  const name = basename(file, '.ts');
  for (const [variant, extra] of [['simd', []], ['relaxed', ['--enable', 'relaxed-simd']]]) {
    const target = join(out, `${name}.${variant}.wasm`);
    execFileSync(process.execPath, [asc, join(root, 'assembly', file), '-o', target, ...common, ...extra], { stdio: 'inherit' });
  }
  console.log(`built build/wasm/${name}.{simd,relaxed}.wasm`);
}
