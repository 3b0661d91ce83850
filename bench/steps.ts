// Training-step workloads shared by the cpu and models suites, at torch_cpu.py's default shapes, and a child-process
// entry that times one of them and reports its peak RSS:  node --import tsx bench/steps.ts gpt|bert|lstm [steps] [warmup]
import { pathToFileURL } from 'node:url';
import { Embedding, LSTM, Linear, LogUniformSampler, Module } from '../src/nn/index.js';
import { BertForPreTraining, bertConfig } from '../src/models/bert.js';
import { LeNet5, ResNet, cnnConfig } from '../src/models/cnn.js';
import { ElmoBiLM, charIds, elmoConfig, type ElmoBatch } from '../src/models/elmo.js';
import { GPT, gptConfig } from '../src/models/gpt.js';
import { AdamW } from '../src/optim/index.js';
import * as T from '../src/tensor/index.js';
import { transformerFlopsPerToken } from './fma-peak.js';

/** torch_cpu.py's defaults for the Transformer steps and the LSTM step. */
export const SHAPES = {
  transformer: { layers: 4, dim: 256, heads: 4, ffn: 1024, vocab: 8000, seq: 128, batch: 16 },
  lstm: { layers: 2, dim: 512, vocab: 8000, seq: 64, batch: 32 },
  /** ELMo's tiny biLM on sentences of `seq` tokens; tokens drawn Zipf-like, so a batch has realistic distinct words. */
  elmo: { vocab: 8000, seq: 20, batch: 64 },
  /** LeNet-5 and ResNet-8 on 28×28 grayscale images in 10 classes, as bench/peers/torch_cnn.py runs them. */
  cnn: { batch: 64, size: 28, classes: 10 },
} as const;

/** The step workloads by name. */
export type StepKind = 'gpt' | 'bert' | 'lstm' | 'elmo' | 'lenet5' | 'resnet8';

/** What a timed workload reports; the Transformer steps also give their model FLOPs per token (for MFU). */
export interface StepReport { tokensPerSec: number; msPerStep: number; maxRssMb: number; flopsPerToken?: number }

const ids = (rng: T.Generator, n: number, vocab: number) => Int32Array.from({ length: n }, () => Math.floor(rng.random() * vocab));

/** An LSTM language model like the peer's: embedding, stacked LSTM, linear head. */
class LSTMLM extends Module {
  emb: Embedding; lstm: LSTM; head: Linear;
  constructor(vocab: number, dim: number, layers: number) {
    super();
    this.emb = new Embedding(vocab, dim);
    this.lstm = new LSTM({ inputSize: dim, hiddenSize: dim, numLayers: layers });
    this.head = new Linear(dim, vocab);
  }
  forward(x: T.Tensor): T.Tensor { return this.head.forward(this.lstm.forward(this.emb.forward(x)).output); }
}

/** An ELMo biLM training batch: Zipf-drawn words (as bench/peers/torch_elmo.py draws them), their characters and targets. */
export function elmoBatch(rng: T.Generator, vocab: number, batch: number, seq: number): ElmoBatch & { distinct: number } {
  const sampler = new LogUniformSampler(vocab);
  const words = Int32Array.from({ length: batch * seq }, () => sampler.draw(rng));
  const rows = new Map<number, number>();
  const tokens = words.map((w) => { if (!rows.has(w)) rows.set(w, rows.size); return rows.get(w)!; });
  const chars = new Int32Array(rows.size * 50);
  for (const [w, r] of rows) charIds(`w${w}`, 50, chars.subarray(r * 50, (r + 1) * 50));
  const forward = words.map((_, i) => (i % seq < seq - 1 ? words[i + 1]! : -1));
  const backward = words.map((_, i) => (i % seq > 0 ? words[i - 1]! : -1));
  return {
    chars: T.fromArray(chars, [rows.size, 50], { dtype: 'int32' }), tokens: T.fromArray(tokens, [batch, seq], { dtype: 'int32' }),
    mask: T.ones([batch, seq]), targets: { forward, backward }, distinct: rows.size,
  };
}

/** nanoGPT's count for a Transformer step: its parameters without the position table, at SHAPES.transformer. */
function transformerFlops(model: Module): number {
  const { layers, dim, seq } = SHAPES.transformer;
  const params = model.namedParameters().filter(([name]) => !/\.wpe\.|position_embeddings/.test(name)).reduce((n, [, p]) => n + p.size, 0);
  return transformerFlopsPerToken(params, layers, dim, seq);
}

/** A function that runs one AdamW training step on random tokens. */
export function makeStep(kind: StepKind): { step: () => Promise<void>; tokens: number; flopsPerToken?: number } {
  const rng = new T.Generator(0);
  T.manualSeed(0);
  if (kind === 'lenet5' || kind === 'resnet8') {
    // "tokens" are images here; random pixels and labels, fresh each step as a data loader would hand them over. The
    // pixels come from the tensor RNG, as the peer's torch.rand (a JavaScript loop over 50,176 draws took ~1.8 ms,
    // a third of a LeNet-5 step).
    const { batch, size, classes } = SHAPES.cnn;
    const config = cnnConfig({ image_size: size });
    const model = kind === 'lenet5' ? new LeNet5(config) : new ResNet(config);
    const opt = new AdamW(model.parameters(), { lr: 1e-3 });
    return {
      tokens: batch,
      step: async () => {
        const pixels = T.rand([batch, 1, size, size], { generator: rng });
        const loss = model.forward(pixels, T.fromArray(ids(rng, batch, classes), [batch], { dtype: 'int32' })).loss!;
        opt.zeroGrad(); loss.backward(); opt.step();
        await loss.item();
      },
    };
  }
  if (kind === 'elmo') {
    const { vocab, seq, batch } = SHAPES.elmo;
    const model = new ElmoBiLM(elmoConfig({ vocab_size: vocab, dropout: 0 }));
    const opt = new AdamW(model.parameters(), { lr: 1e-3 });
    return {
      tokens: batch * seq,
      step: async () => {
        const loss = model.forward(elmoBatch(rng, vocab, batch, seq)).loss!;
        opt.zeroGrad(); loss.backward(); opt.step();
        await loss.item();
      },
    };
  }
  if (kind === 'lstm') {
    const { layers, dim, vocab, seq, batch } = SHAPES.lstm;
    const model = new LSTMLM(vocab, dim, layers);
    const opt = new AdamW(model.parameters(), { lr: 3e-4 });
    return {
      tokens: batch * seq,
      step: async () => {
        const x = T.fromArray(ids(rng, batch * (seq + 1), vocab), [batch, seq + 1], { dtype: 'int32' });
        const logits = model.forward(x.slice(1, 0, seq));
        const loss = T.crossEntropy(T.reshape(logits, [-1, vocab]), T.reshape(x.slice(1, 1, seq + 1), [-1]));
        opt.zeroGrad(); loss.backward(); opt.step();
        await loss.item();
      },
    };
  }
  const { layers, dim, heads, ffn, vocab, seq, batch } = SHAPES.transformer;
  if (kind === 'gpt') {
    const model = new GPT(gptConfig({ vocab_size: vocab, n_positions: seq, n_embd: dim, n_layer: layers, n_head: heads, n_inner: ffn, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }));
    const opt = new AdamW(model.parameters(), { lr: 3e-4 });
    return {
      tokens: batch * seq, flopsPerToken: transformerFlops(model),
      step: async () => {
        const x = T.fromArray(ids(rng, batch * (seq + 1), vocab), [batch, seq + 1], { dtype: 'int32' });
        const loss = model.forward({ inputIds: x.slice(1, 0, seq), targets: x.slice(1, 1, seq + 1) }).loss!;
        opt.zeroGrad(); loss.backward(); opt.step();
        await loss.item();
      },
    };
  }
  const model = new BertForPreTraining(bertConfig({ vocab_size: vocab, hidden_size: dim, num_hidden_layers: layers, num_attention_heads: heads,
    intermediate_size: ffn, max_position_embeddings: seq, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }));
  const opt = new AdamW(model.parameters(), { lr: 3e-4 });
  return {
    tokens: batch * seq, flopsPerToken: transformerFlops(model),
    step: async () => {
      const x = ids(rng, batch * seq, vocab);
      // MLM labels on ~15% of positions, logits at every position: the peer's layout.
      const labels = Int32Array.from(x, (id) => (rng.random() < 0.15 ? id : -100));
      const out = model.forward({
        inputIds: T.fromArray(x, [batch, seq], { dtype: 'int32' }), mlmLabels: T.fromArray(labels, [batch, seq], { dtype: 'int32' }),
        nextSentenceLabels: T.fromArray(ids(rng, batch, 2), [batch], { dtype: 'int32' }),
      });
      opt.zeroGrad(); out.loss!.backward(); opt.step();
      await out.loss!.item();
    },
  };
}

/** Median milliseconds of `step` after warmup, as the peer measures it; one event-loop turn between steps lets
 * finalizers return device buffers. */
export async function medianStepMs(step: () => Promise<void>, steps: number, warmup: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t = performance.now();
    await step();
    if (i >= warmup) times.push(performance.now() - t);
    await new Promise((r) => setImmediate(r));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Tokens/s and peak RSS of one of the workloads. */
export async function timeSteps(kind: StepKind, steps: number, warmup: number): Promise<StepReport> {
  const { step, tokens, flopsPerToken } = makeStep(kind);
  const ms = await medianStepMs(step, steps, warmup);
  return { tokensPerSec: tokens / (ms / 1000), msPerStep: ms, maxRssMb: process.resourceUsage().maxRSS / 1024, ...(flopsPerToken ? { flopsPerToken } : {}) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [kind, steps = '8', warmup = '2'] = process.argv.slice(2);
  console.log(JSON.stringify(await timeSteps(kind as 'gpt', Number(steps), Number(warmup))));
}
