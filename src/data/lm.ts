// Language-model streams: contiguous token blocks for GPT (documents joined by a separator, cut into fixed blocks,
// as GPT-2's training data and Hugging Face's run_clm group_texts do), and BPTT windows for recurrent LMs (ELMo,
// the NNLM): the stream split into `batchSize` parallel rows, read `bptt` steps at a time, with next-token targets
// for the forward LM and previous-token targets for the backward LM; and nanoGPT's random blocks of a stream.
import * as ops from '../tensor/ops.js';
import type { Generator as RandomGenerator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** A tokenised corpus split into training and validation streams. */
export interface LMSplits {
  train: Int32Array;
  val: Int32Array;
}

/** Splits a token stream: the first `trainFraction` for training, the rest for validation (nanoGPT: 0.9). */
export function splitTokens(tokens: Int32Array, trainFraction = 0.9): LMSplits {
  const n = Math.floor(tokens.length * trainFraction);
  return { train: tokens.subarray(0, n), val: tokens.subarray(n) };
}

/** Draws `batch` random windows of `block + 1` tokens: inputs and the next-token targets, each int32 [batch, block]. */
export function sampleBlocks(tokens: Int32Array, batch: number, block: number, rng: RandomGenerator): { x: Tensor; y: Tensor } {
  if (tokens.length <= block) throw new Error(`sampleBlocks: ${tokens.length} tokens are too few for blocks of ${block}`);
  const x = new Int32Array(batch * block), y = new Int32Array(batch * block);
  for (let b = 0; b < batch; b++) {
    const start = Math.floor(rng.random() * (tokens.length - block));
    x.set(tokens.subarray(start, start + block), b * block);
    y.set(tokens.subarray(start + 1, start + block + 1), b * block);
  }
  return { x: ops.fromArray(x, [batch, block], { dtype: 'int32' }), y: ops.fromArray(y, [batch, block], { dtype: 'int32' }) };
}

/** Ignored target (no previous token at the start of a row), as cross-entropy's ignore index. */
export const IGNORE_INDEX = -100;

/** Options of `tokenBlocks`. */
export interface BlockOptions {
  blockSize: number;
  /** Id appended after every document (GPT-2's <|endoftext|>); none when undefined. */
  separator?: number;
}

/** Cuts a stream of documents (token ids) into blocks of `blockSize` ids; the last partial block is dropped (as run_clm). */
export async function* tokenBlocks(docs: AsyncIterable<ArrayLike<number>> | Iterable<ArrayLike<number>>, opts: BlockOptions): AsyncGenerator<Int32Array> {
  const { blockSize, separator } = opts;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
  let block = new Int32Array(blockSize);
  let filled = 0;
  for await (const doc of docs) {
    const n = doc.length + (separator === undefined ? 0 : 1);
    for (let k = 0; k < n; k++) {
      block[filled++] = k < doc.length ? doc[k]! : separator!;
      if (filled === blockSize) {
        yield block;
        block = new Int32Array(blockSize);
        filled = 0;
      }
    }
  }
}

/** Concatenates documents' ids (a separator after each, if given) into one stream, for `bpttWindows`. */
export async function concatIds(docs: AsyncIterable<ArrayLike<number>> | Iterable<ArrayLike<number>>, separator?: number): Promise<Int32Array> {
  let buf = new Int32Array(1 << 16), n = 0;
  const reserve = (k: number) => {
    if (n + k <= buf.length) return;
    const bigger = new Int32Array(Math.max(2 * buf.length, n + k));
    bigger.set(buf.subarray(0, n));
    buf = bigger;
  };
  for await (const doc of docs) {
    reserve(doc.length + 1);
    for (let k = 0; k < doc.length; k++) buf[n++] = doc[k]!;
    if (separator !== undefined) buf[n++] = separator;
  }
  return buf.slice(0, n);
}

/** One BPTT step: [batchSize, steps] row-major inputs and targets. */
export interface BpttWindow {
  batchSize: number;
  steps: number;
  inputs: Int32Array;
  /** Token after each input (forward LM). */
  nextTargets: Int32Array;
  /** Token before each input (backward LM); IGNORE_INDEX at the start of a row. */
  prevTargets: Int32Array;
}

/** BPTT windows over a token stream (batchify + get_batch of PyTorch's word_language_model); rows are contiguous
 * slices of the stream, so the hidden state carries over from one window to the next. A tail shorter than
 * batchSize is dropped. */
export function* bpttWindows(ids: ArrayLike<number>, opts: { batchSize: number; bptt: number }): Generator<BpttWindow> {
  const { batchSize: B, bptt } = opts;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(bptt) || bptt < 1) throw new RangeError(`batchSize and bptt must be positive integers, got ${B} and ${bptt}`);
  const rowLength = Math.floor(ids.length / B);
  for (let start = 0; start < rowLength - 1; start += bptt) {
    const T = Math.min(bptt, rowLength - 1 - start);
    const w: BpttWindow = { batchSize: B, steps: T, inputs: new Int32Array(B * T), nextTargets: new Int32Array(B * T), prevTargets: new Int32Array(B * T) };
    for (let b = 0; b < B; b++) {
      const base = b * rowLength + start;
      for (let t = 0; t < T; t++) {
        w.inputs[b * T + t] = ids[base + t]!;
        w.nextTargets[b * T + t] = ids[base + t + 1]!;
        w.prevTargets[b * T + t] = start + t === 0 ? IGNORE_INDEX : ids[base + t - 1]!;
      }
    }
    yield w;
  }
}
