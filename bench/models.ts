// `npm run bench -- models`: GPT-mini and BERT-mini pretraining steps on the CPU, tokens/s, next to PyTorch
// (../shared/peers/torch_cpu.py gpt|bert) with the same shapes: 4 layers, d 256, 4 heads, FFN 1024, vocab 8000,
// seq 128, batch 16, AdamW; median step time after warmup.
//   npm run bench -- models [--steps 6] [--warmup 2] [--threads 2] [--backend cpu]
import { setBackend } from '../src/backend/backend.js';
import { BertForPreTraining, bertConfig } from '../src/models/bert.js';
import { GPT, gptConfig } from '../src/models/gpt.js';
import { AdamW } from '../src/optim/index.js';
import * as T from '../src/tensor/index.js';
import { SHARED_PEERS, runPython } from './peer.js';
import { throughput, writeResults, type BenchRow } from './results.js';

const SHAPE = { layers: 4, dim: 256, heads: 4, ffn: 1024, vocab: 8000, seq: 128, batch: 16 };

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

async function medianStepSeconds(step: () => Promise<void>, warmup: number, steps: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t = performance.now();
    await step();
    if (i >= warmup) times.push((performance.now() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function randomIds(rng: T.Generator, n: number, vocab: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng.random() * vocab));
}

export default async function models(args: string[]): Promise<void> {
  const steps = Number(arg(args, 'steps', '6')), warmup = Number(arg(args, 'warmup', '2')), threads = arg(args, 'threads', '2');
  setBackend(arg(args, 'backend', 'cpu'));
  const { layers, dim, heads, ffn, vocab, seq, batch } = SHAPE;
  const rng = new T.Generator(0);
  T.manualSeed(0);

  const gpt = new GPT(gptConfig({ vocab_size: vocab, n_positions: seq, n_embd: dim, n_layer: layers, n_head: heads, n_inner: ffn, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }));
  const gptOpt = new AdamW(gpt.parameters(), { lr: 3e-4 });
  const gptSec = await medianStepSeconds(async () => {
    const ids = T.fromArray(randomIds(rng, batch * (seq + 1), vocab), [batch, seq + 1], { dtype: 'int32' });
    const loss = gpt.forward({ inputIds: ids.slice(1, 0, seq), targets: ids.slice(1, 1, seq + 1) }).loss!;
    gptOpt.zeroGrad(); loss.backward(); gptOpt.step();
    await loss.item();
  }, warmup, steps);

  const bert = new BertForPreTraining(bertConfig({ vocab_size: vocab, hidden_size: dim, num_hidden_layers: layers, num_attention_heads: heads,
    intermediate_size: ffn, max_position_embeddings: seq, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }));
  const bertOpt = new AdamW(bert.parameters(), { lr: 3e-4 });
  const bertSec = await medianStepSeconds(async () => {
    const ids = randomIds(rng, batch * seq, vocab);
    // MLM labels on ~15% of positions, over the full sequence (the peer's layout: logits at every position).
    const labels = Int32Array.from(ids, (id) => (rng.random() < 0.15 ? id : -100));
    const out = bert.forward({
      inputIds: T.fromArray(ids, [batch, seq], { dtype: 'int32' }), mlmLabels: T.fromArray(labels, [batch, seq], { dtype: 'int32' }),
      nextSentenceLabels: T.fromArray(randomIds(rng, batch, 2), [batch], { dtype: 'int32' }),
    });
    bertOpt.zeroGrad(); out.loss!.backward(); bertOpt.step();
    await out.loss!.item();
  }, warmup, steps);

  const ours = { gpt: (batch * seq) / gptSec, bert: (batch * seq) / bertSec };
  const peerArgs = ['--threads', threads, '--steps', String(Math.max(steps, 5)), '--warmup', String(warmup)];
  const peer = (bench: string) => {
    const lines = runPython(`${SHARED_PEERS}torch_cpu.py`, [bench, ...peerArgs]);
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
