// GPT pretraining as a TrainTask: random contiguous blocks of a token stream (nanoGPT's sampling), next-token loss,
// and held-out loss and perplexity on fixed validation blocks.
import { sampleBlocks, type LMSplits } from '../data/lm.js';
import type { GPT } from '../models/gpt.js';
import * as ops from '../tensor/ops.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { LOOP_DEFAULTS, type TrainConfig, type TrainTask } from './trainer.js';

/**
 * GPT pretraining's recipe: nanoGPT's shakespeare-char settings (AdamW at 1e-3, beta2 0.99, weight decay 0.1,
 * 100 warmup steps, cosine decay to a tenth), for 2,000 steps.
 */
export const GPT_PRETRAIN: TrainConfig = {
  ...LOOP_DEFAULTS, maxSteps: 2000, lr: 1e-3, minLrRate: 0.1, warmupSteps: 100, schedule: 'cosine', weightDecay: 0.1,
  beta1: 0.9, beta2: 0.99, eps: 1e-8, evalEvery: 250, checkpointEvery: 500,
};

/** Options of GPT pretraining. */
export interface GPTTaskOptions {
  batchSize: number;
  blockSize: number;
  /** Validation batches per evaluation (the same blocks every time, so evaluations compare). */
  evalBatches: number;
  /** Also report the loss on as many fixed training batches. */
  evalTrain?: boolean;
  /** Adds the tokenizer (or character vocabulary) to checkpoints, which already hold the model and its config.json. */
  saveExtras?: (dir: string) => Promise<void>;
}

/** Next-token prediction on random blocks of a token stream. */
export class GPTPretrainTask implements TrainTask {
  constructor(readonly model: GPT, readonly data: LMSplits, readonly opts: GPTTaskOptions) {
    for (const name of ['batchSize', 'blockSize', 'evalBatches'] as const) {
      if (!(Number.isInteger(opts[name]) && opts[name] > 0)) throw new RangeError(`GPTPretrainTask: ${name} must be a positive integer, got ${opts[name]}`);
    }
    if (opts.blockSize > model.config.n_positions) {
      throw new Error(`GPTPretrainTask: block size ${opts.blockSize} exceeds the model's context of ${model.config.n_positions}`);
    }
  }

  async trainLoss(rng: Generator): Promise<{ loss: Tensor; tokens: number }> {
    const { x, y } = sampleBlocks(this.data.train, this.opts.batchSize, this.opts.blockSize, rng);
    return { loss: this.model.forward({ inputIds: x, targets: y }).loss!, tokens: this.opts.batchSize * this.opts.blockSize };
  }

  /** Mean loss over fixed blocks of a split. */
  async meanLoss(tokens: Int32Array): Promise<number> {
    const rng = new Generator(0xe7a1);
    let sum = 0;
    for (let i = 0; i < this.opts.evalBatches; i++) {
      const { x, y } = sampleBlocks(tokens, this.opts.batchSize, this.opts.blockSize, rng);
      sum += await this.model.forward({ inputIds: x, targets: y }).loss!.item();
    }
    return sum / this.opts.evalBatches;
  }

  async evaluate(): Promise<Record<string, number>> {
    const val = await this.meanLoss(this.data.val);
    const out: Record<string, number> = { val_loss: val, perplexity: Math.exp(val) };
    if (this.opts.evalTrain) out.train_loss = await this.meanLoss(this.data.train);
    return out;
  }

  saveExtras(dir: string): Promise<void> {
    return this.opts.saveExtras ? this.opts.saveExtras(dir) : Promise.resolve();
  }
}
