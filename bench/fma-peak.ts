// The machine's measured FMA peak (bench/native/fma-peak.c, built here with the system C compiler for this CPU), the
// ceiling the cpu and models suites measure GEMM GFLOP/s and training-step MFU against.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./native/fma-peak.c', import.meta.url));
const BINARY = fileURLToPath(new URL('./cache/native/fma-peak', import.meta.url));

/** GFLOP/s of pure vector FMAs on `threads` threads, or null (with the reason printed) where it cannot be built. */
export function fmaPeak(threads: number): number | null {
  if (!existsSync(BINARY) || statSync(BINARY).mtimeMs < statSync(SOURCE).mtimeMs) {
    mkdirSync(join(BINARY, '..'), { recursive: true });
    const cc = process.env.CC ?? 'cc';
    const built = spawnSync(cc, ['-O2', '-march=native', '-pthread', SOURCE, '-o', BINARY], { encoding: 'utf8' });
    if (built.status !== 0) {
      console.error(`fma peak: cannot build ${SOURCE} with ${cc}: ${(built.stderr || built.error?.message || '').trim().split('\n')[0]}`);
      return null;
    }
  }
  const run = spawnSync(BINARY, [String(threads)], { encoding: 'utf8' });
  if (run.status !== 0) { console.error(`fma peak: ${BINARY} failed: ${run.stderr.trim()}`); return null; }
  return (JSON.parse(run.stdout) as { gflops: number }).gflops;
}

/**
 * Model FLOPs per trained token of a Transformer LM, as nanoGPT's estimate_mfu counts them: 6 per parameter (forward
 * and backward) plus the attention scores and their use, 12·layers·d·T (the parameters include the embeddings).
 */
export function transformerFlopsPerToken(params: number, layers: number, dim: number, seq: number): number {
  return 6 * params + 12 * layers * dim * seq;
}
