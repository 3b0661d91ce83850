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
// The modules share one memory, so each module's static data (lookup tables, runtime state) gets its own 16 KiB
// window of the first 64 KiB; without it, instantiating one module would overwrite another's tables.
const files = readdirSync(join(root, 'assembly')).filter((f) => f.endsWith('.ts')).sort();
if (files.length > 4) throw new Error('build-wasm: more than 4 modules do not fit the 64 KiB static-data area');
for (const [index, file] of files.entries()) {
  const name = basename(file, '.ts');
  const memoryBase = ['--memoryBase', String(index * 16384 + 16)];
  for (const [variant, extra] of [['simd', []], ['relaxed', ['--enable', 'relaxed-simd']]]) {
    const target = join(out, `${name}.${variant}.wasm`);
    execFileSync(process.execPath, [asc, join(root, 'assembly', file), '-o', target, ...common, ...memoryBase, ...extra], { stdio: 'inherit' });
  }
  console.log(`built build/wasm/${name}.{simd,relaxed}.wasm`);
}
