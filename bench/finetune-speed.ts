// The speed half of `npm run bench -- finetune`: BERT-mini fine-tuning steps (4 layers, d 256, 4 heads, FFN 1024,
// vocab 8000) on SST-2-shaped (classification, seq 64) and CoNLL-shaped (token classification, seq 48) batches of 32,
// rows of random lengths padded to the longest, AdamW with clipping; and the frozen path's examples/s. Run as a child
// process so that its peak RSS is its own:  node --import tsx bench/finetune-speed.ts classification|tokens|frozen
import { pathToFileURL } from 'node:url';
import { BertForSequenceClassification, BertForTokenClassification, BertModel, bertConfig } from '../src/models/bert.js';
import { labelConfig } from '../src/models/heads.js';
import { AdamW, clipGradNorm } from '../src/optim/index.js';
import * as T from '../src/tensor/index.js';
import { BertEncoder } from '../src/tasks/transfer/encoders.js';
import { FeatureModel } from '../src/tasks/transfer/task-model.js';
import type { TokenizedInput } from '../src/tasks/transfer/inputs.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { medianStepMs } from './steps.js';

/** The workloads' shapes (the peer takes the same flags). */
export const FINETUNE_SHAPES = {
  classification: { seq: 64, batch: 32, labels: 2 },
  tokens: { seq: 48, batch: 32, labels: 9 },
  model: { layers: 4, dim: 256, heads: 4, ffn: 1024, vocab: 8000 },
} as const;

const cfg = () => {
  const m = FINETUNE_SHAPES.model;
  return { vocab_size: m.vocab, hidden_size: m.dim, num_hidden_layers: m.layers, num_attention_heads: m.heads, intermediate_size: m.ffn, max_position_embeddings: 128 };
};

/** One random batch like the peer's: ids, rows of lengths in [T/2, T], padded; labels per row or per real token. */
function batch(rng: T.Generator, B: number, Tn: number, labels: number, tokens: boolean) {
  const { vocab } = FINETUNE_SHAPES.model;
  const lengths = Array.from({ length: B }, () => Tn / 2 + Math.floor(rng.random() * (Tn / 2 + 1)));
  const ids = Int32Array.from({ length: B * Tn }, () => Math.floor(rng.random() * vocab));
  const mask = Float32Array.from({ length: B * Tn }, (_, i) => (i % Tn < lengths[Math.floor(i / Tn)]! ? 1 : 0));
  const y = tokens ? Int32Array.from({ length: B * Tn }, (_, i) => (mask[i] ? Math.floor(rng.random() * labels) : -100)) : Int32Array.from({ length: B }, () => Math.floor(rng.random() * labels));
  return {
    inputIds: T.fromArray(ids, [B, Tn], { dtype: 'int32' }), tokenTypeIds: T.zeros([B, Tn], { dtype: 'int32' }), attentionMask: T.fromArray(mask, [B, Tn]),
    labels: T.fromArray(y, tokens ? [B, Tn] : [B], { dtype: 'int32' }),
  };
}

/** Tokens/s of fine-tuning steps (padded tokens counted, as the peer counts them) and this process's peak RSS. */
async function finetuneSpeed(kind: 'classification' | 'tokens', steps: number, warmup: number) {
  T.manualSeed(0);
  const shape = FINETUNE_SHAPES[kind];
  const config = bertConfig({ ...cfg(), ...labelConfig(shape.labels) });
  const model = kind === 'tokens' ? new BertForTokenClassification(config) : new BertForSequenceClassification(config);
  model.train();
  const opt = new AdamW(model.parameters(), { lr: 5e-5, weightDecay: 0 });
  const rng = new T.Generator(1);
  const ms = await medianStepMs(async () => {
    const b = batch(rng, shape.batch, shape.seq, shape.labels, kind === 'tokens');
    const { loss } = model.forward(b);
    opt.zeroGrad(); loss!.backward(); clipGradNorm(model.parameters(), 1); opt.step();
    await loss!.item();
  }, steps, warmup);
  return { tokensPerSec: (shape.batch * shape.seq) / (ms / 1000), msPerStep: ms, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

/**
 * The frozen path on the same encoder and shapes (classification): examples/s of a first epoch (the encoder runs once
 * per example under noGrad and its states are cached) and of a later one (only the new top trains).
 */
async function frozenSpeed(examples: number) {
  T.manualSeed(0);
  const shape = FINETUNE_SHAPES.classification;
  const encoder = new BertEncoder(new BertModel(bertConfig(cfg())), Tokenizer.fromVocabTxt('[PAD]\n[UNK]\n[CLS]\n[SEP]\n'));
  const model = new FeatureModel('classification', encoder, shape.labels, { frozen: true });
  const opt = new AdamW(model.module.parameters(), { lr: 1e-3, weightDecay: 0 });
  const rng = new T.Generator(1);
  const inputs: TokenizedInput[] = Array.from({ length: examples }, (_, i) => {
    const n = shape.seq / 2 + Math.floor(rng.random() * (shape.seq / 2 + 1));
    const ids = Array.from({ length: n }, () => Math.floor(rng.random() * FINETUNE_SHAPES.model.vocab));
    return { ids, typeIds: ids.map(() => 0), wordStarts: ids.map((_, k) => k), scoredWords: ids.map(() => true), example: i, window: 0 };
  });
  const targets = inputs.map(() => Math.floor(rng.random() * shape.labels));
  const epoch = async () => {
    const t = performance.now();
    for (let s = 0; s < examples; s += shape.batch) {
      const { loss } = await model.forward(inputs.slice(s, s + shape.batch), targets.slice(s, s + shape.batch));
      opt.zeroGrad(); loss!.backward(); opt.step();
      await loss!.item();
    }
    return examples / ((performance.now() - t) / 1000);
  };
  const first = await epoch();
  const later = await epoch();
  return { firstEpochExamplesPerSec: first, laterEpochExamplesPerSec: later, encoderRuns: model.encoderRuns, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [what, steps = '8', warmup = '2'] = process.argv.slice(2);
  if (what === 'frozen') console.log(JSON.stringify(await frozenSpeed(Number(steps) * FINETUNE_SHAPES.classification.batch)));
  else console.log(JSON.stringify(await finetuneSpeed(what as 'classification' | 'tokens', Number(steps), Number(warmup))));
}
