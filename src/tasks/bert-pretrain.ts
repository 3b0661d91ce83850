// BERT pretraining as a TrainTask: masked LM at the masked positions plus next-sentence prediction, on batches of
// prepared examples (google-research/bert's create_pretraining_data layout), with held-out MLM and NSP accuracy.
import { bertInputs, selectRows, type BertBatch, type BertBatchSource } from '../data/batches.js';
import type { BertForPreTraining } from '../models/bert.js';
import * as ops from '../tensor/ops.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { LOOP_DEFAULTS, type TrainConfig, type TrainTask } from './trainer.js';

/**
 * BERT pretraining's recipe: google-research/bert's optimizer (AdamW at 1e-4, weight decay 0.01, beta2 0.999,
 * eps 1e-6, linear decay to 0 after warmup), for 1,000 steps with 100 of warmup.
 */
export const BERT_PRETRAIN: TrainConfig = {
  ...LOOP_DEFAULTS, maxSteps: 1000, lr: 1e-4, minLrRate: 0, warmupSteps: 100, schedule: 'linear', weightDecay: 0.01,
  beta1: 0.9, beta2: 0.999, eps: 1e-6, evalEvery: 200, seed: 12345, checkpointEvery: 500,
};

/** Options of BERT pretraining. */
export interface BertTaskOptions {
  batchSize: number;
  /** Held-out examples for evaluation (evaluated in batches of batchSize). */
  heldOut?: BertBatch;
  saveExtras?: (dir: string) => Promise<void>;
}

/** Masked-LM + next-sentence pretraining on prepared examples. */
export class BertPretrainTask implements TrainTask {
  constructor(readonly model: BertForPreTraining, readonly train: BertBatchSource, readonly opts: BertTaskOptions) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) throw new RangeError(`BertPretrainTask: batchSize must be a positive integer, got ${opts.batchSize}`);
  }

  async trainLoss(_rng: Generator): Promise<{ loss: Tensor; tokens: number }> {
    const batch = await this.train.next(this.opts.batchSize);
    const out = this.model.forward(bertInputs(batch));
    let tokens = 0;
    for (const m of batch.attentionMask) tokens += m;
    return { loss: out.loss!, tokens };
  }

  /** MLM loss and accuracy over real predictions, NSP accuracy, on the held-out examples. */
  async evaluate(): Promise<Record<string, number>> {
    const held = this.opts.heldOut;
    if (!held) return {};
    let mlmLoss = 0, mlmCorrect = 0, mlmCount = 0, nspCorrect = 0;
    for (let start = 0; start < held.size; start += this.opts.batchSize) {
      const rows = Array.from({ length: Math.min(this.opts.batchSize, held.size - start) }, (_, i) => start + i);
      const b = selectRows(held, rows);
      const inputs = bertInputs(b);
      const out = this.model.forward(inputs);
      const V = out.predictionLogits.shape[2]!;
      const flat = ops.reshape(out.predictionLogits, [-1, V]);
      const labels = ops.reshape(inputs.mlmLabels, [-1]);
      mlmLoss += await ops.crossEntropy(flat, labels, { reduction: 'sum' }).item();
      const pred = await ops.argmax(flat, -1).data();
      const nsp = await ops.argmax(out.seqRelationshipLogits, -1).data();
      const lab = await labels.data();
      for (let i = 0; i < lab.length; i++) if (lab[i]! >= 0) { mlmCount++; if (pred[i] === lab[i]) mlmCorrect++; }
      for (let i = 0; i < b.size; i++) if (nsp[i] === b.nextSentenceLabels[i]) nspCorrect++;
    }
    return { mlm_loss: mlmLoss / mlmCount, mlm_accuracy: mlmCorrect / mlmCount, nsp_accuracy: nspCorrect / held.size };
  }

  dataState(): unknown { return this.train.state(); }
  restoreDataState(state: unknown): void { this.train.restore(state); }
  saveExtras(dir: string): Promise<void> { return this.opts.saveExtras ? this.opts.saveExtras(dir) : Promise.resolve(); }
}
