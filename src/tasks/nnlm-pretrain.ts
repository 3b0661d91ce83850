// NNLM training as a TrainTask: random mini-batches of the training corpus's n-gram windows, next-word loss, and
// held-out loss and perplexity; and the per-token log-probabilities that perplexity and the mixture with the
// Kneser-Ney baseline are computed from.
import type { NNLM } from '../models/nnlm.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { NgramWindows } from '../text/word-lm.js';
import { LOOP_DEFAULTS, type TrainConfig, type TrainTask } from './trainer.js';

/**
 * NNLM training's recipe: AdamW at 1e-3 with a short warmup and cosine decay to a tenth, light weight decay (the
 * paper's SGD used 1e-4 on the weights), 4,000 steps of 256 windows.
 */
export const NNLM_PRETRAIN: TrainConfig = {
  ...LOOP_DEFAULTS, maxSteps: 4000, lr: 1e-3, minLrRate: 0.1, warmupSteps: 100, schedule: 'cosine', weightDecay: 0.01,
  beta1: 0.9, beta2: 0.99, eps: 1e-8, evalEvery: 500, checkpointEvery: 1000,
};

/** Options of NNLM training. */
export interface NNLMTaskOptions {
  batchSize: number;
  /** Held-out windows scored at each evaluation: the first this many (the same every time, so evaluations compare). */
  evalWindows: number;
  /** Writes the vocabulary (and anything else) beside the model in checkpoints. */
  saveExtras?: (dir: string) => Promise<void>;
}

/** The given rows of windows, as tensors. */
function windowBatch(w: NgramWindows, rows: ArrayLike<number>): { contexts: Tensor; targets: Tensor } {
  const width = w.order - 1;
  const contexts = new Int32Array(rows.length * width), targets = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    contexts.set(w.contexts.subarray(r * width, (r + 1) * width), i * width);
    targets[i] = w.targets[r]!;
  }
  return { contexts: ops.fromArray(contexts, [rows.length, width], { dtype: 'int32' }), targets: ops.fromArray(targets, [rows.length], { dtype: 'int32' }) };
}

/** Natural log-probability of each window's target under the model, in batches of `batchSize`, with grad off and the model in eval mode. */
export async function nnlmLogProbabilities(model: NNLM, windows: NgramWindows, opts: { batchSize?: number; limit?: number } = {}): Promise<Float64Array> {
  if (windows.order !== model.config.order) throw new Error(`nnlmLogProbabilities: windows of order ${windows.order} for a model of order ${model.config.order}`);
  const n = Math.min(windows.count, opts.limit ?? Infinity);
  const batch = opts.batchSize ?? 1024;
  const out = new Float64Array(n);
  model.eval();
  for (let from = 0; from < n; from += batch) {
    const rows = Array.from({ length: Math.min(batch, n - from) }, (_, i) => from + i);
    const { contexts, targets } = windowBatch(windows, rows);
    const nll = noGrad(() => ops.crossEntropy(model.forward(contexts).logits, targets, { reduction: 'none' }));
    const values = (await nll.data()) as Float32Array;
    for (let i = 0; i < rows.length; i++) out[from + i] = -values[i]!;
  }
  return out;
}

/** Next-word prediction on random windows. */
export class NNLMPretrainTask implements TrainTask {
  constructor(readonly model: NNLM, readonly train: NgramWindows, readonly val: NgramWindows, readonly opts: NNLMTaskOptions) {
    for (const name of ['batchSize', 'evalWindows'] as const) {
      if (!(Number.isInteger(opts[name]) && opts[name] > 0)) throw new RangeError(`NNLMPretrainTask: ${name} must be a positive integer, got ${opts[name]}`);
    }
    for (const [split, w] of [['training', train], ['held-out', val]] as const) {
      if (w.order !== model.config.order) throw new Error(`NNLMPretrainTask: ${split} windows of order ${w.order} for a model of order ${model.config.order}`);
      if (w.count === 0) throw new Error(`NNLMPretrainTask: the ${split} split has no words`);
    }
  }

  async trainLoss(rng: Generator): Promise<{ loss: Tensor; tokens: number }> {
    const rows = Array.from({ length: this.opts.batchSize }, () => Math.floor(rng.random() * this.train.count));
    const { contexts, targets } = windowBatch(this.train, rows);
    return { loss: this.model.forward(contexts, targets).loss!, tokens: rows.length };
  }

  async evaluate(): Promise<Record<string, number>> {
    const logProbs = await nnlmLogProbabilities(this.model, this.val, { limit: this.opts.evalWindows });
    const loss = -logProbs.reduce((s, x) => s + x, 0) / logProbs.length;
    return { val_loss: loss, perplexity: Math.exp(loss) };
  }

  saveExtras(dir: string): Promise<void> {
    return this.opts.saveExtras ? this.opts.saveExtras(dir) : Promise.resolve();
  }
}
