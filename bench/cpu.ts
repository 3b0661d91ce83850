// `npm run bench -- cpu`: the fast CPU backend next to PyTorch 1.13, same run, same configurations, same thread count:
//   - the machine's FMA peak (bench/fma-peak.ts), the ceiling everything below is measured against;
//   - GEMM GFLOP/s, square at 256-2048 and the GPT-mini step's own shapes with the operand layouts of its forward and
//     backward passes, on 1 thread and on --threads (peer: bench/peers/torch_gemm.py, OpenBLAS), with the best
//     figure as a fraction of the FMA peak; the WebAssembly kernels' square GEMMs against the native ones;
//   - GPT-, BERT- and LSTM-style AdamW training steps in tokens/s (../shared/peers/torch_cpu.py; each workload in a
//     fresh child process, which also gives its peak RSS), with the Transformer steps' MFU as nanoGPT counts it.
//   npm run bench -- cpu [--threads 2] [--steps 8] [--warmup 2] [--rounds 1]
// Ours runs with the kernels the backend picks (native where built, else WebAssembly; PRETRAIN_NATIVE=0 measures the
// WebAssembly ones).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCpuKernels } from '../src/backend/cpu/fast.js';
import type { CpuKernels } from '../src/backend/cpu/kernels.js';
import { fmaPeak } from './fma-peak.js';
import { PYTHON, SHARED_PEERS, peerEnv, runPython } from './peer.js';
import { figure, throughput, writeResults, type BenchRow } from './results.js';
import type { StepReport } from './steps.js';

const arg = (args: string[], name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};

/** C[M, N] = op(A) op(B), op(A) [M, K] the transpose of a stored [K, M] when ta, op(B) [K, N] of a stored [N, K] when tb. */
interface GemmShape { name: string; m: number; n: number; k: number; ta: boolean; tb: boolean }

const SQUARE: GemmShape[] = [256, 512, 1024, 2048].map((n) => ({ name: `gemm-${n}`, m: n, n, k: n, ta: false, tb: false }));

/**
 * The GPT-mini step's GEMMs (bench/steps.ts: B·T = 2048 rows, d 256, FFN 1024, vocab 8000), in the layouts its
 * passes hand over: nn.Linear's x·Wᵀ forward, dY·W for the input's gradient, dYᵀ·x for the weight's.
 */
const MODEL_SHAPES: GemmShape[] = [
  { name: 'gemm-ffn-up', m: 2048, n: 1024, k: 256, ta: false, tb: true },
  { name: 'gemm-ffn-down', m: 2048, n: 256, k: 1024, ta: false, tb: true },
  { name: 'gemm-lm-head', m: 2048, n: 8000, k: 256, ta: false, tb: true },
  { name: 'gemm-ffn-up-grad-input', m: 2048, n: 256, k: 1024, ta: false, tb: false },
  { name: 'gemm-ffn-up-grad-weight', m: 1024, n: 256, k: 2048, ta: true, tb: false },
  { name: 'gemm-lm-head-grad-weight', m: 8000, n: 256, k: 2048, ta: true, tb: false },
];

/** Median GFLOP/s of one shape on a kernel set, the operands laid out as the shape says. */
function gemmGflops(gemm: CpuKernels, s: GemmShape): number {
  const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  const a = random(s.m * s.k), b = random(s.k * s.n);
  const aStrides: [number, number, number] = s.ta ? [0, 1, s.m] : [0, s.k, 1];
  const bStrides: [number, number, number] = s.tb ? [0, 1, s.k] : [0, s.n, 1];
  const run = () => gemm.matmul({ data: a, shape: [1, s.m, s.k], strides: aStrides, offset: 0 }, { data: b, shape: [1, s.k, s.n], strides: bStrides, offset: 0 });
  run();
  const flops = 2 * s.m * s.n * s.k;
  const reps = Math.max(5, Math.round(1e10 / flops));
  const times: number[] = [];
  for (let i = 0; i < reps; i++) { const t = performance.now(); run(); times.push(performance.now() - t); }
  times.sort((x, y) => x - y);
  return flops / (times[Math.floor(times.length / 2)]! / 1000) / 1e9;
}

/** The peer's GFLOP/s per shape name (bench/peers/torch_gemm.py), or an empty map without it. */
function peerGemm(shapes: GemmShape[], threads: number): Map<string, number> {
  const spec = shapes.map((s) => `${s.name}:${s.m},${s.n},${s.k},${Number(s.ta)},${Number(s.tb)}`).join(';');
  const lines = runPython(fileURLToPath(new URL('./peers/torch_gemm.py', import.meta.url)), ['--threads', String(threads), '--shapes', spec]) ?? [];
  return new Map(lines.map((l) => [String(l['name']), Number(l['value'])]));
}

function oursStep(kind: string, steps: string, warmup: string, threads: string): StepReport | null {
  const script = fileURLToPath(new URL('./steps.ts', import.meta.url));
  const res = spawnSync(process.execPath, ['--import', 'tsx', script, kind, steps, warmup], { encoding: 'utf8', env: { ...process.env, PRETRAIN_THREADS: threads } });
  if (res.status !== 0) { console.error(`ours ${kind} failed:\n${res.stderr}`); return null; }
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as StepReport;
}

/** The peer's step, run under a wrapper that also reports the process's peak RSS. */
function peerStep(kind: string, threads: string, steps: string, warmup: string): { value: number; maxRssMb: number } | null {
  const wrapper = `import json, resource, runpy, sys
sys.argv = [sys.argv[1]] + sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))`;
  const res = spawnSync(PYTHON, ['-c', wrapper, `${SHARED_PEERS}torch_cpu.py`, kind, '--threads', threads, '--steps', steps, '--warmup', warmup], { encoding: 'utf8', env: peerEnv() });
  if (res.status !== 0) { console.error(`peer ${kind} unavailable: ${(res.stderr || res.error?.message || '').trim().split('\n').pop()}`); return null; }
  const lines = res.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { value: lines[0].value, maxRssMb: lines[lines.length - 1].maxrss_kb / 1024 };
}

export default async function cpu(args: string[]): Promise<void> {
  const threads = arg(args, 'threads', '2'), steps = arg(args, 'steps', '8'), warmup = arg(args, 'warmup', '2');
  // On a shared machine, load comes and goes: with --rounds R, ours and the peer alternate R times and each keeps
  // its best figure (its least disturbed run), so neither side is judged by the other's bad moment.
  const rounds = Math.max(1, Number(arg(args, 'rounds', '1')));
  const peerName = `torch-cpu 1.13 (${threads} threads)`;
  const rows: BenchRow[] = [];
  const threadCounts = [...new Set([1, Number(threads)])];
  const peak = new Map(threadCounts.map((t) => [t, fmaPeak(t)]));
  for (const t of threadCounts) rows.push(figure(`fma-peak-${t}t`, peak.get(t) ?? NaN, 'GFLOP/s'));
  const shapes = [...SQUARE, ...MODEL_SHAPES];
  for (const t of threadCounts) {
    const gemm = createCpuKernels({ threads: t });
    console.error(`ours: ${gemm.description}; ${rounds} round(s)`);
    const ours = new Map<string, number>(), peer = new Map<string, number>();
    for (let r = 0; r < rounds; r++) {
      for (const s of shapes) ours.set(s.name, Math.max(ours.get(s.name) ?? 0, gemmGflops(gemm, s)));
      for (const [name, v] of peerGemm(shapes, t)) peer.set(name, Math.max(peer.get(name) ?? 0, v));
    }
    const who = `torch-cpu 1.13 (${t} thread${t > 1 ? 's' : ''})`;
    for (const s of shapes) rows.push(throughput(`${s.name}-${t}t`, ours.get(s.name)!, 'GFLOP/s', peer.has(s.name) ? who : null, peer.get(s.name) ?? null));
    const p = peak.get(t);
    if (p) {
      // how close each side's best GEMM comes to the machine's ceiling
      const best = (m: Map<string, number>) => (m.size ? Math.max(...m.values()) / p : null);
      rows.push(figure(`gemm-best-${t}t-of-fma-peak`, best(ours)!, 'fraction', peer.size ? who : null, best(peer)));
    }
    // the kernels a browser gets, against the native ones on the same shapes
    if (gemm.description.includes('native')) {
      const wasm = createCpuKernels({ threads: t, kernels: 'wasm' });
      for (const s of SQUARE) rows.push(throughput(`${s.name}-wasm-${t}t`, gemmGflops(wasm, s), 'GFLOP/s', `ours, native kernels (${t}t)`, ours.get(s.name)!));
    }
  }
  for (const kind of ['gpt', 'bert', 'lstm']) {
    let ours: StepReport | null = null;
    let peer: { value: number; maxRssMb: number } | null = null;
    for (let r = 0; r < rounds; r++) {
      const o = oursStep(kind, steps, warmup, threads);
      if (o && (!ours || o.tokensPerSec > ours.tokensPerSec)) ours = o;
      const p = peerStep(kind, threads, steps, warmup);
      if (p && (!peer || p.value > peer.value)) peer = p;
    }
    rows.push(throughput(`${kind}-step`, ours?.tokensPerSec ?? NaN, 'tokens/s', peer ? peerName : null, peer?.value ?? null));
    const p = peak.get(Number(threads));
    if (ours?.flopsPerToken && p) {
      // model FLOP/s over the FMA peak (nanoGPT's MFU); the peer does the same model FLOPs per token
      const mfu = (tokensPerSec: number) => (tokensPerSec * ours!.flopsPerToken!) / (p * 1e9);
      rows.push(figure(`${kind}-step-mfu`, mfu(ours.tokensPerSec), 'fraction of FMA peak', peer ? peerName : null, peer ? mfu(peer.value) : null));
    }
    if (kind === 'gpt' && ours) {
      const ratio = peer ? Number((ours.maxRssMb / peer.maxRssMb).toPrecision(4)) : null;
      rows.push({ ...figure('gpt-step-peak-rss-ratio', ratio ?? NaN, 'ours/peer', peer ? peerName : null, null), ratio });
      rows.push(figure('gpt-step-peak-rss', ours.maxRssMb, 'MB', peer ? peerName : null, peer?.maxRssMb ?? null));
    }
  }
  console.table(rows);
  console.log(`wrote ${writeResults('cpu', rows)}`);
}
