// `npm run bench -- cnn [--rounds 3] [--threads 2,1]`: LeNet-5 and ResNet-8 training images/s (bench/steps.ts: 64
// random 28×28 images and labels a step, forward, cross-entropy, backward, AdamW) against bench/peers/torch_cnn.py,
// the same nets and batches in PyTorch. For each thread count (ours PRETRAIN_THREADS, the peer's torch threads), the
// two alternate --rounds times and each side's best round is kept, so that load from other work on a shared machine
// hits both sides alike. Each thread count runs in a child process (our native pool's size is fixed per process).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatNumber, table } from '../src/cli/ui.js';
import { runPython } from './peer.js';
import { throughput, writeResults, type BenchRow } from './results.js';
import { SHAPES, makeStep, medianStepMs } from './steps.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const NETS = ['lenet5', 'resnet8'] as const;
const arg = (args: string[], name: string, fallback: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : fallback; };

/** Ours: images/s of each net, in this process (its thread count set by the parent through PRETRAIN_THREADS). */
async function ours(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const net of NETS) {
    const { step, tokens } = makeStep(net);
    out[net] = tokens / ((await medianStepMs(step, net === 'lenet5' ? 20 : 8, 3)) / 1000);
  }
  return out;
}

export default async function cnnBench(args: string[]): Promise<void> {
  if (process.env.CNN_BENCH_CHILD) {
    console.log(JSON.stringify(await ours()));
    return;
  }
  const rounds = Number(arg(args, 'rounds', '3'));
  const threadCounts = arg(args, 'threads', '2,1').split(',').map(Number);
  const rows: BenchRow[] = [];
  for (const threads of threadCounts) {
    const best: Record<string, number> = {}, peer: Record<string, number> = {};
    for (let r = 0; r < rounds; r++) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./run.ts', import.meta.url)), 'cnn'],
        { encoding: 'utf8', env: { ...process.env, CNN_BENCH_CHILD: '1', PRETRAIN_THREADS: String(threads) } });
      if (child.status !== 0) throw new Error(`bench cnn: our run failed:\n${child.stderr}`);
      const got = JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, number>;
      for (const net of NETS) best[net] = Math.max(best[net] ?? 0, got[net]!);
      const { batch, size, classes } = SHAPES.cnn;
      const lines = runPython(`${HERE}peers/torch_cnn.py`, ['--batch', String(batch), '--size', String(size), '--classes', String(classes), '--threads', String(threads)]);
      for (const l of lines ?? []) {
        const net = String(l.bench).replace(/-train$/, '');
        peer[net] = Math.max(peer[net] ?? 0, l.value as number);
      }
      console.error(`${threads} thread(s), round ${r + 1}: ${NETS.map((n) => `${n} ours ${formatNumber(best[n]!)} peer ${peer[n] === undefined ? 'unavailable' : formatNumber(peer[n]!)}`).join('; ')} images/s`);
    }
    for (const net of NETS) {
      rows.push(throughput(`${net}-train-${threads}t`, best[net]!, 'images/s', peer[net] === undefined ? null : `torch-cpu 1.13 (${threads} thread${threads > 1 ? 's' : ''})`, peer[net] ?? null));
    }
  }
  console.log(table(rows as unknown as Record<string, unknown>[]));
  console.log(`wrote ${writeResults('cnn', rows)}`);
}
