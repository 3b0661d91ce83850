// GEMM workloads of the cpu suite and a child-process entry that times them on one kernel set and thread count:
//   node --expose-gc --import tsx bench/gemm.ts THREADS default|wasm [square]   (default: the kernels the backend picks)
// prints {"<shape name>": GFLOP/s, ...}. A child per thread count, since the native pool's size is fixed by the
// first instance in a process. Each timed product is preceded by a garbage collection: V8 frees a result's buffer
// only at a collection, so without one every product writes into fresh pages and pays their first-touch faults
// (~10% of a 2048³ product on 2 threads), while PyTorch frees `x @ y`'s previous result at once (reference counts)
// and malloc hands the same memory back. With it, both sides write into reused memory. Outputs under 2 MB are timed
// back to back instead: their faults are few, and the pool's threads sleeping through a collection would cost more.
import { pathToFileURL } from 'node:url';
import { createCpuKernels } from '../src/backend/cpu/fast.js';
import type { CpuKernels } from '../src/backend/cpu/kernels.js';

/** C[M, N] = op(A) op(B), op(A) [M, K] the transpose of a stored [K, M] when ta, op(B) [K, N] of a stored [N, K] when tb. */
export interface GemmShape { name: string; m: number; n: number; k: number; ta: boolean; tb: boolean }

export const SQUARE: GemmShape[] = [256, 512, 1024, 2048].map((n) => ({ name: `gemm-${n}`, m: n, n, k: n, ta: false, tb: false }));

/**
 * The GPT-mini step's GEMMs (bench/steps.ts: B·T = 2048 rows, d 256, FFN 1024, vocab 8000), in the layouts its
 * passes hand over: nn.Linear's x·Wᵀ forward, dY·W for the input's gradient, dYᵀ·x for the weight's.
 */
export const MODEL_SHAPES: GemmShape[] = [
  { name: 'gemm-ffn-up', m: 2048, n: 1024, k: 256, ta: false, tb: true },
  { name: 'gemm-ffn-down', m: 2048, n: 256, k: 1024, ta: false, tb: true },
  { name: 'gemm-lm-head', m: 2048, n: 8000, k: 256, ta: false, tb: true },
  { name: 'gemm-ffn-up-grad-input', m: 2048, n: 256, k: 1024, ta: false, tb: false },
  { name: 'gemm-ffn-up-grad-weight', m: 1024, n: 256, k: 2048, ta: true, tb: false },
  { name: 'gemm-lm-head-grad-weight', m: 8000, n: 256, k: 2048, ta: true, tb: false },
];

/** Outputs of at least this many floats (2 MB) are timed after a collection. */
const LARGE_OUTPUT = 1 << 19;

/** Median GFLOP/s of one shape on a kernel set, the operands laid out as the shape says. */
function gemmGflops(gemm: CpuKernels, s: GemmShape, gc: () => void): number {
  const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  const a = random(s.m * s.k), b = random(s.k * s.n);
  const aStrides: [number, number, number] = s.ta ? [0, 1, s.m] : [0, s.k, 1];
  const bStrides: [number, number, number] = s.tb ? [0, 1, s.k] : [0, s.n, 1];
  const run = () => gemm.matmul({ data: a, shape: [1, s.m, s.k], strides: aStrides, offset: 0 }, { data: b, shape: [1, s.k, s.n], strides: bStrides, offset: 0 });
  run();
  const flops = 2 * s.m * s.n * s.k;
  const reps = Math.max(5, Math.round(1e10 / flops));
  const collect = s.m * s.n >= LARGE_OUTPUT;
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    if (collect) {
      // the collection frees the earlier results, and an untimed product wakes the pool's threads again
      gc();
      run();
    }
    const t = performance.now();
    run();
    times.push(performance.now() - t);
  }
  times.sort((x, y) => x - y);
  return flops / (times[Math.floor(times.length / 2)]! / 1000) / 1e9;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [threads = '2', kernels = 'default', which = 'all'] = process.argv.slice(2);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench/gemm.ts: run with node --expose-gc');
  const gemm = createCpuKernels({ threads: Number(threads), ...(kernels === 'wasm' ? { kernels: 'wasm' as const } : {}) });
  const shapes = which === 'square' ? SQUARE : [...SQUARE, ...MODEL_SHAPES];
  console.log(JSON.stringify({ description: gemm.description, ...Object.fromEntries(shapes.map((s) => [s.name, gemmGflops(gemm, s, gc)])) }));
}
