// Frozen per-layer features of word spans, for the probes: each sentence runs once through an encoder (eval mode, no
// gradients), and a span of words gets, per layer, the mean of its tokens' states. A word's tokens run from its
// start to the next word's start (its subwords or characters, and a byte-level BPE's leading space token); the last
// word's run ends where the template's trailing special tokens begin.
import { noGrad } from '../../tensor/autograd.js';
import { padBatch, type Encoder } from '../transfer/encoders.js';
import type { TokenizedInput } from '../transfer/inputs.js';

/** A sentence as words, and spans of its words [from, to) whose features to take. */
export interface SpanQuery {
  words: readonly string[];
  spans: readonly (readonly [number, number])[];
}

/** Per layer, one row of `hiddenSize` floats per span (the queries' spans in order). */
export interface SpanFeatures {
  /** [layer][span * hiddenSize + k]. */
  layers: Float32Array[];
  hiddenSize: number;
  spans: number;
  /** Spans the tokenizer gave no token (their rows are zeros). */
  empty: number;
}

/** Options of `spanFeatures`. */
export interface SpanFeatureOptions {
  /** Sentences per forward pass (default 32). */
  batchSize?: number;
  /** Called after each batch with the sentences done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * How many special tokens the encoder's template puts after the content: measured once from an empty input (all
 * specials) and a one-word input (whose first token sits after the leading specials).
 */
function trailingSpecials(encoder: Encoder): number {
  const { inputs } = encoder.tokenize([{ words: [] }, { words: ['a'] }]);
  const leading = inputs[1]!.wordStarts[0]!;
  if (leading < 0) throw new Error(`${encoder.kind} encoder: the word "a" gives no token, so its template's special tokens cannot be placed`);
  return inputs[0]!.ids.length - leading;
}

/** The token run [start, end) of words [from, to) in one input, or null where that input holds none of them. */
function tokenRun(x: TokenizedInput, from: number, to: number, contentEnd: number): [number, number] | null {
  let start = -1;
  for (let w = from; w < to && start < 0; w++) start = x.wordStarts[w]!;
  if (start < 0) return null;
  let end = contentEnd;
  for (let w = to; w < x.wordStarts.length; w++) if (x.wordStarts[w]! >= 0) { end = x.wordStarts[w]!; break; }
  return [start, end];
}

/** The features of every query's spans; see the file comment. */
export async function spanFeatures(encoder: Encoder, queries: readonly SpanQuery[], opts: SpanFeatureOptions = {}): Promise<SpanFeatures> {
  const batchSize = opts.batchSize ?? 32;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`spanFeatures: batchSize must be a positive integer, got ${batchSize}`);
  const H = encoder.hiddenSize, S = encoder.numStates;
  const total = queries.reduce((n, q) => n + q.spans.length, 0);
  const layers = Array.from({ length: S }, () => new Float32Array(total * H));
  const trailing = trailingSpecials(encoder);
  for (const m of encoder.layers) m.eval();
  let row = 0, empty = 0;
  for (let from = 0; from < queries.length; from += batchSize) {
    const chunk = queries.slice(from, from + batchSize);
    const { inputs } = encoder.tokenize(chunk.map((q) => ({ words: q.words })));
    const batch = padBatch(inputs, encoder.padId);
    const T = batch.inputIds.shape[1]!;
    const states = noGrad(() => encoder.forward(batch));
    const data = (await Promise.all(states.map((s) => s.data()))) as Float32Array[];
    // each example's windows (one unless it was longer than the encoder's context)
    const windows = chunk.map(() => [] as number[]);
    inputs.forEach((x, i) => windows[x.example]!.push(i));
    chunk.forEach((q, e) => {
      for (const [a, b] of q.spans) {
        if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a < b && b <= q.words.length)) {
          throw new RangeError(`spanFeatures: span [${a}, ${b}) is not within the sentence's ${q.words.length} words`);
        }
        // the window that scores the span's first word (the one where it has the most context)
        const i = windows[e]!.find((k) => inputs[k]!.scoredWords[a]) ?? windows[e]![0]!;
        const x = inputs[i]!;
        const run = tokenRun(x, a, b, x.ids.length - trailing);
        if (!run || run[1] <= run[0]) { empty++; row++; continue; }
        const [s, t] = run;
        for (let l = 0; l < S; l++) {
          const out = layers[l]!.subarray(row * H, (row + 1) * H), d = data[l]!;
          for (let p = s; p < t; p++) for (let k = 0, at = (i * T + p) * H; k < H; k++) out[k]! += d[at + k]!;
          for (let k = 0; k < H; k++) out[k]! /= t - s;
        }
        row++;
      }
    });
    opts.onProgress?.(Math.min(from + batchSize, queries.length), queries.length);
  }
  return { layers, hiddenSize: H, spans: total, empty };
}
