// The batch types that data sources give and training tasks take: BERT pretraining batches in the shard layout,
// sources that stream them with a position to checkpoint, and the model inputs of a batch.
import type { BertPreTrainingInputs } from '../models/bert.js';
import * as ops from '../tensor/ops.js';

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
export function bertInputs(b: BertBatch): Required<Pick<BertPreTrainingInputs, 'inputIds' | 'tokenTypeIds' | 'attentionMask' | 'maskedPositions' | 'mlmLabels' | 'nextSentenceLabels'>> {
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
