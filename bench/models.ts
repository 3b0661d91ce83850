// `npm run bench -- models`: GPT-mini and BERT-mini pretraining steps on the CPU, tokens/s, next to PyTorch
// (../shared/peers/torch_cpu.py gpt|bert) with the same shapes: 4 layers, d 256, 4 heads, FFN 1024, vocab 8000,
// seq 128, batch 16, AdamW; median step time after warmup, and the MFU of each side (model FLOP/s as nanoGPT counts
// them over the machine's measured FMA peak, bench/fma-peak.ts). (The cpu suite runs the same workloads in child processes.)
//   npm run bench -- models [--steps 6] [--warmup 2] [--threads 2]
import { SHARED_PEERS, runPython } from './peer.js';
import { fmaPeak } from './fma-peak.js';
import { figure, throughput, writeResults, type BenchRow } from './results.js';
import { timeSteps } from './steps.js';

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

export default async function models(args: string[]): Promise<void> {
  const steps = Number(arg(args, 'steps', '6')), warmup = Number(arg(args, 'warmup', '2')), threads = arg(args, 'threads', '2');
  process.env.PRETRAIN_THREADS = threads;
  const ours = { gpt: await timeSteps('gpt', steps, warmup), bert: await timeSteps('bert', steps, warmup) };
  const peer = (bench: string) => {
    const lines = runPython(`${SHARED_PEERS}torch_cpu.py`, [bench, '--threads', threads, '--steps', String(Math.max(steps, 5)), '--warmup', String(warmup)]);
    return (lines?.[0]?.value as number | undefined) ?? null;
  };
  const peerName = `torch-cpu (${threads} threads)`;
  const peak = fmaPeak(Number(threads));
  const rows: BenchRow[] = [];
  for (const kind of ['gpt', 'bert'] as const) {
    const o = ours[kind], p = peer(kind);
    rows.push(throughput(`${kind}-mini-train`, o.tokensPerSec, 'tokens/s', peerName, p));
    if (peak && o.flopsPerToken) {
      const mfu = (tokensPerSec: number) => (tokensPerSec * o.flopsPerToken!) / (peak * 1e9);
      rows.push(figure(`${kind}-mini-train-mfu`, mfu(o.tokensPerSec), 'fraction of FMA peak', p !== null ? peerName : null, p !== null ? mfu(p) : null));
    }
  }
  if (peak) rows.push(figure(`fma-peak-${threads}t`, peak, 'GFLOP/s'));
  console.table(rows);
  console.log(`wrote ${writeResults('models', rows)}`);
}
