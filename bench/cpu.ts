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
import { fmaPeak } from './fma-peak.js';
import { MODEL_SHAPES, SQUARE, type GemmShape } from './gemm.js';
import { PYTHON, SHARED_PEERS, peerEnv, runPython } from './peer.js';
import { figure, throughput, writeResults, type BenchRow } from './results.js';
import type { StepReport } from './steps.js';

const arg = (args: string[], name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};

/** The peer's GFLOP/s per shape name (bench/peers/torch_gemm.py), or an empty map without it. */
function peerGemm(shapes: GemmShape[], threads: number): Map<string, number> {
  const spec = shapes.map((s) => `${s.name}:${s.m},${s.n},${s.k},${Number(s.ta)},${Number(s.tb)}`).join(';');
  const lines = runPython(fileURLToPath(new URL('./peers/torch_gemm.py', import.meta.url)), ['--threads', String(threads), '--shapes', spec]) ?? [];
  return new Map(lines.map((l) => [String(l['name']), Number(l['value'])]));
}

/** Our GFLOP/s per shape on `threads` threads, from a child process (bench/gemm.ts), with the kernel set's description. */
function oursGemm(threads: number, kernels: 'default' | 'wasm', which: 'all' | 'square' = 'all'): { description: string; gflops: Record<string, number> } | null {
  const script = fileURLToPath(new URL('./gemm.ts', import.meta.url));
  const res = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, String(threads), kernels, which], { encoding: 'utf8' });
  if (res.status !== 0) { console.error(`ours gemm (${kernels}, ${threads} threads) failed:\n${res.stderr}`); return null; }
  const { description, ...gflops } = JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, number> & { description: string };
  return { description, gflops: gflops as Record<string, number> };
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
    const ours = new Map<string, number>(), peer = new Map<string, number>();
    let description = '';
    for (let r = 0; r < rounds; r++) {
      const run = oursGemm(t, 'default');
      if (run) { description = run.description; for (const s of shapes) ours.set(s.name, Math.max(ours.get(s.name) ?? 0, run.gflops[s.name]!)); }
      for (const [name, v] of peerGemm(shapes, t)) peer.set(name, Math.max(peer.get(name) ?? 0, v));
    }
    console.error(`ours: ${description}; ${rounds} round(s)`);
    const who = `torch-cpu 1.13 (${t} thread${t > 1 ? 's' : ''})`;
    for (const s of shapes) if (ours.has(s.name)) rows.push(throughput(`${s.name}-${t}t`, ours.get(s.name)!, 'GFLOP/s', peer.has(s.name) ? who : null, peer.get(s.name) ?? null));
    const p = peak.get(t);
    if (p && ours.size) {
      // how close each side's best GEMM comes to the machine's ceiling
      const best = (m: Map<string, number>) => (m.size ? Math.max(...m.values()) / p : null);
      rows.push(figure(`gemm-best-${t}t-of-fma-peak`, best(ours)!, 'fraction', peer.size ? who : null, best(peer)));
    }
    // the kernels a browser gets, against the native ones on the same shapes
    const wasm = description.startsWith('native') ? oursGemm(t, 'wasm', 'square') : null;
    if (wasm) for (const s of SQUARE) rows.push(throughput(`${s.name}-wasm-${t}t`, wasm.gflops[s.name]!, 'GFLOP/s', `ours, native kernels (${t}t)`, ours.get(s.name)!));
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
