// `npm run bench -- models`: GPT-mini and BERT-mini pretraining steps on the CPU, tokens/s, next to PyTorch
// (../shared/peers/torch_cpu.py gpt|bert) with the same shapes: 4 layers, d 256, 4 heads, FFN 1024, vocab 8000,
// seq 128, batch 16, AdamW; median step time after warmup. (The cpu suite runs the same workloads in child processes.)
//   npm run bench -- models [--steps 6] [--warmup 2] [--threads 2]
import { SHARED_PEERS, runPython } from './peer.js';
import { throughput, writeResults, type BenchRow } from './results.js';
import { timeSteps } from './steps.js';

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

export default async function models(args: string[]): Promise<void> {
  const steps = Number(arg(args, 'steps', '6')), warmup = Number(arg(args, 'warmup', '2')), threads = arg(args, 'threads', '2');
  process.env.PRETRAIN_THREADS = threads;
  const ours = { gpt: (await timeSteps('gpt', steps, warmup)).tokensPerSec, bert: (await timeSteps('bert', steps, warmup)).tokensPerSec };
  const peer = (bench: string) => {
    const lines = runPython(`${SHARED_PEERS}torch_cpu.py`, [bench, '--threads', threads, '--steps', String(Math.max(steps, 5)), '--warmup', String(warmup)]);
    return (lines?.[0]?.value as number | undefined) ?? null;
  };
  const peerName = `torch-cpu (${threads} threads)`;
  const rows: BenchRow[] = [
    throughput('gpt-mini-train', ours.gpt, 'tokens/s', peerName, peer('gpt')),
    throughput('bert-mini-train', ours.bert, 'tokens/s', peerName, peer('bert')),
  ];
  console.table(rows);
  console.log(`wrote ${writeResults('models', rows)}`);
}
