// BERT pretraining as a TrainTask: masked LM at the masked positions plus next-sentence prediction, on batches of
// prepared examples (google-research/bert's create_pretraining_data layout), with held-out MLM and NSP accuracy.
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

/** A batch of pretraining examples, row-major, padded to fixed lengths (the shard layout). */
export interface BertBatch {
  size: number;
  seqLength: number;
  maxPredictions: number;
  /** [size, seqLength] each. */
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
  /** [size, maxPredictions] each; padding predictions have weight 0. */
  maskedPositions: Int32Array;
  maskedIds: Int32Array;
  maskedWeights: Float32Array;
  /** [size]: 1 when sentence B is a random sentence, 0 when it really follows A. */
  nextSentenceLabels: Int32Array;
}

/** Where batches come from: a stream over shards whose position can be saved and restored. */
export interface BertBatchSource {
  /** The next `size` examples (wrapping around at the end of the data). */
  next(size: number): Promise<BertBatch>;
  /** The position, for checkpoints. */
  state(): unknown;
  restore(state: unknown): void;
}

/** A source over examples held in memory (tests, small corpora, the held-out split). */
export class MemoryBertSource implements BertBatchSource {
  private position = 0;
  constructor(private readonly all: BertBatch) {}
  get length(): number { return this.all.size; }
  async next(size: number): Promise<BertBatch> {
    const rows = Array.from({ length: size }, (_, i) => (this.position + i) % this.all.size);
    this.position = (this.position + size) % this.all.size;
    return selectRows(this.all, rows);
  }
  state(): unknown { return this.position; }
  restore(state: unknown): void { this.position = Number(state); }
}

/** The given rows of a batch. */
export function selectRows(b: BertBatch, rows: readonly number[]): BertBatch {
  const pick = <A extends Int32Array | Float32Array>(src: A, width: number): A => {
    const out = new (src.constructor as new (n: number) => A)(rows.length * width);
    rows.forEach((r, i) => out.set(src.subarray(r * width, (r + 1) * width), i * width));
    return out;
  };
  return {
    size: rows.length, seqLength: b.seqLength, maxPredictions: b.maxPredictions,
    inputIds: pick(b.inputIds, b.seqLength), tokenTypeIds: pick(b.tokenTypeIds, b.seqLength), attentionMask: pick(b.attentionMask, b.seqLength),
    maskedPositions: pick(b.maskedPositions, b.maxPredictions), maskedIds: pick(b.maskedIds, b.maxPredictions),
    maskedWeights: pick(b.maskedWeights, b.maxPredictions), nextSentenceLabels: pick(b.nextSentenceLabels, 1),
  };
}

/** Model inputs of a batch: MLM targets are the masked ids, -100 where a prediction slot is padding. */
export function bertInputs(b: BertBatch) {
  const int = (a: Int32Array, shape: number[]) => ops.fromArray(a, shape, { dtype: 'int32' });
  const labels = Int32Array.from(b.maskedIds, (id, i) => (b.maskedWeights[i]! > 0 ? id : -100));
  return {
    inputIds: int(b.inputIds, [b.size, b.seqLength]),
    tokenTypeIds: int(b.tokenTypeIds, [b.size, b.seqLength]),
    attentionMask: ops.fromArray(b.attentionMask, [b.size, b.seqLength], { dtype: 'float32' }),
    maskedPositions: int(b.maskedPositions, [b.size, b.maxPredictions]),
    mlmLabels: int(labels, [b.size, b.maxPredictions]),
    nextSentenceLabels: int(b.nextSentenceLabels, [b.size]),
  };
}

/** Options of BERT pretraining. */
export interface BertTaskOptions {
  batchSize: number;
  /** Held-out examples for evaluation (evaluated in batches of batchSize). */
  heldOut?: BertBatch;
  saveExtras?: (dir: string) => Promise<void>;
}

/** Masked-LM + next-sentence pretraining on prepared examples. */
export class BertPretrainTask implements TrainTask {
  constructor(readonly model: BertForPreTraining, readonly train: BertBatchSource, readonly opts: BertTaskOptions) {}

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
