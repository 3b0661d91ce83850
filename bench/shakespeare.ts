// `npm run bench -- shakespeare`: nanoGPT's character-level Shakespeare, ours and PyTorch in one run.
// The CPU config (the default): 4 layers, 4 heads, 128 dims, block 64, batch 12, 2,000 iterations, dropout 0.
// `--config gpu`: 6 layers, 6 heads, 384 dims, block 256, batch 64, 5,000 iterations, dropout 0.2, on --backend
// webgpu by default and the peer on CUDA (strict fp32); it writes bench/results/shakespeare-gpu.json.
// Both: lr 1e-3 (cosine to 1e-4 after 100 warmup steps), AdamW betas (0.9, 0.99), weight decay 0.1, clip 1.0, no
// biases (nanoGPT's bias=False; --bias 1 for GPT-2's); first 90% of the text for training, last 10% for validation,
// the loss averaged over --eval-iters batches of it. Rows: val-loss (ours vs the peer's) and wall-seconds (ratio =
// peer / ours: higher is better).
//   npm run bench -- shakespeare [--config cpu|gpu] [--iters N] [--threads 2] [--backend cpu] [--seed 1337] [--bias 0]
//     [--eval-iters 200] [--skip-peer]
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initWebGPU, setBackend } from '../src/backend/registry.js';
import { GPT, gptConfig } from '../src/models/gpt.js';
import { GPT_PRETRAIN, GPTPretrainTask } from '../src/tasks/gpt-pretrain.js';
import { splitTokens } from '../src/data/lm.js';
import { train, trainConfig } from '../src/tasks/trainer.js';
import { CharVocab } from '../src/text/char-vocab.js';
import { manualSeed } from '../src/tensor/random.js';
import { SHARED_DATA, runPython } from './peer.js';
import { figure, writeResults, type BenchRow } from './results.js';

const arg = (args: string[], name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};

export default async function shakespeare(args: string[]): Promise<void> {
  const data = `${SHARED_DATA}tiny-shakespeare/input.txt`;
  if (!existsSync(data)) {
    console.error(`shakespeare: ${data} is missing (the tiny-shakespeare data set of ../shared/data); nothing to run`);
    process.exitCode = 1;
    return;
  }
  const gpu = arg(args, 'config', 'cpu') === 'gpu';
  const shape = gpu
    ? { layers: 6, heads: 6, dim: 384, block: 256, batch: 64, iters: 5000, dropout: 0.2 }
    : { layers: 4, heads: 4, dim: 128, block: 64, batch: 12, iters: 2000, dropout: 0 };
  const iters = Number(arg(args, 'iters', String(shape.iters)));
  const threads = arg(args, 'threads', '2');
  const evalIters = Number(arg(args, 'eval-iters', '200'));
  const seed = Number(arg(args, 'seed', '1337'));
  const bias = arg(args, 'bias', '0') === '1';
  const backend = arg(args, 'backend', gpu ? 'webgpu' : 'cpu');
  if (backend === 'webgpu') await initWebGPU();
  setBackend(backend);
  manualSeed(seed);
  const text = readFileSync(data, 'utf8');
  const vocab = CharVocab.fromText(text);
  const model = new GPT(gptConfig({ vocab_size: vocab.size, n_positions: shape.block, n_embd: shape.dim, n_layer: shape.layers, n_head: shape.heads,
    resid_pdrop: shape.dropout, embd_pdrop: shape.dropout, attn_pdrop: shape.dropout, bias }));
  const task = new GPTPretrainTask(model, splitTokens(vocab.encode(text)), { batchSize: shape.batch, blockSize: shape.block, evalBatches: evalIters });
  const started = performance.now();
  const result = await train(task, trainConfig(GPT_PRETRAIN, { maxSteps: iters, evalEvery: 0, logEvery: 100, seed }), {
    onProgress: (p) => console.error(`step ${p.step}/${iters} loss ${p.record.loss?.toFixed(4)} ${Math.round(p.record.tokensPerSec ?? 0)} tok/s`),
  });
  // Training time alone, as the peer measures it: the last log record is timed before the final evaluation.
  const oursSeconds = result.history[result.history.length - 1]!.elapsedSec;
  const ours = { val: result.eval.val_loss!, seconds: oursSeconds };
  console.error(`ours: val loss ${ours.val.toFixed(4)} in ${ours.seconds.toFixed(1)} s (total with evaluation ${((performance.now() - started) / 1000).toFixed(1)} s)`);

  type PeerResult = { val_loss: number; wall_seconds: number };
  let peer: PeerResult | null = null;
  if (!args.includes('--skip-peer')) {
    const script = fileURLToPath(new URL('./peers/nanogpt_char.py', import.meta.url));
    const lines = runPython(script, ['--data', data, '--iters', String(iters), '--threads', threads, '--eval-iters', String(evalIters),
      '--seed', String(seed), '--bias', bias ? '1' : '0', '--layers', String(shape.layers), '--heads', String(shape.heads),
      '--dim', String(shape.dim), '--block', String(shape.block), '--batch', String(shape.batch), '--dropout', String(shape.dropout),
      '--device', gpu ? 'cuda' : 'cpu'], 4 * 3600_000);
    peer = (lines?.[0] as PeerResult | undefined) ?? null;
  }
  const name = gpu ? 'torch-cuda nanoGPT recipe (fp32)' : `torch-cpu nanoGPT recipe (${threads} threads)`;
  const rows: BenchRow[] = [
    figure('val-loss', ours.val, 'nats/char', peer ? name : null, peer?.val_loss ?? null),
    { ...figure('wall-seconds', ours.seconds, 's', peer ? name : null, peer?.wall_seconds ?? null), ratio: peer ? Number((peer.wall_seconds / ours.seconds).toPrecision(4)) : null },
  ];
  console.table(rows);
  console.log(`wrote ${writeResults(gpu ? 'shakespeare-gpu' : 'shakespeare', rows)}`);
}
