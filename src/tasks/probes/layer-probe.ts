// Linear probes per layer (Liu et al. 2019, "Linguistic Knowledge and Transferability of Contextual Representations";
// Tenney et al. 2019): the encoder is frozen, each of its layers' word features trains its own softmax regression,
// and held-out accuracy says how linearly available the property is at that depth. The essay's claim to test: ELMo's
// first biLSTM layer carries more syntax (POS), its second more semantics (word sense).
//
// The probe, fixed so that layers and models compare: features standardised (each dimension to zero mean and unit
// variance over the training rows: hidden-state scales differ wildly between layers), a linear layer from zero
// logits, Adam at lr 1e-2 without weight decay, batches of 256 rows, 10 epochs, seeded shuffling; accuracy of the
// last epoch's weights (no selection on the held-out rows).
//
// Data:
// - POS: tagged sentences (UD-EWT's UPOS through the CoNLL-U reader, CoNLL-2003's POS column through the CoNLL
//   one); a word is one row, the mean over its tokens. Without a held-out file, a seeded fifth of the sentences is held out.
// - Sense: the polysemy data; each found occurrence of a lemma is a row labelled with its sense, and the softmax runs
//   over that lemma's senses only. Of each sense with at least two found sentences one, drawn with the seed, is held
//   out; the rest (and senses with one sentence) train.
import type { SequenceDataset } from '../../data/tasks/types.js';
import { Rng } from '../../data/random.js';
import { headLinear } from '../../models/heads.js';
import { Adam } from '../../optim/adam.js';
import { noGrad } from '../../tensor/autograd.js';
import * as ops from '../../tensor/ops.js';
import type { Encoder } from '../transfer/encoders.js';
import { spanFeatures, type SpanFeatureOptions, type SpanQuery } from './features.js';
import { findLemma, probeWords, type PolysemyData } from './polysemy.js';

/** One side of a probe's data: sentences with the spans to classify, a label id per span (in query order). */
export interface ProbeSplit {
  queries: SpanQuery[];
  labels: number[];
  /** Per span, the label ids it is classified among (default: all). */
  allowed?: number[][];
}

/** A probe's training and held-out rows, and the label names. */
export interface ProbeData {
  task: string;
  labels: string[];
  train: ProbeSplit;
  dev: ProbeSplit;
  /** How the held-out rows were chosen, for the report. */
  heldOut: string;
}

/** The probe's training recipe (see the file comment for the defaults). */
export interface LinearProbeOptions {
  epochs: number;
  lr: number;
  batchSize: number;
  seed: number;
}

/** The defaults the file comment states. */
export const LINEAR_PROBE: LinearProbeOptions = { epochs: 10, lr: 1e-2, batchSize: 256, seed: 0 };

/** A probe's accuracy at one layer. */
export interface LayerScore {
  layer: number;
  train: number;
  dev: number;
}

/** What `layerProbe` measured. */
export interface LayerProbeResult {
  task: string;
  layers: LayerScore[];
  /** Held-out accuracy of a uniform guess among each row's allowed labels. */
  chance: number;
  /** Held-out accuracy of the most frequent training label (per lemma for sense: its most frequent sense). */
  majority: number;
  trainRows: number;
  devRows: number;
  labels: number;
  heldOut: string;
  /** Spans the tokenizer gave no token (zero features). */
  emptySpans: number;
}

/** Options of `layerProbe`. */
export interface LayerProbeOptions extends SpanFeatureOptions {
  probe?: Partial<LinearProbeOptions>;
  /** Called as each layer's probe finishes. */
  onLayer?: (score: LayerScore) => void;
}

/** The rows' additive logit mask: 0 where a label is allowed, -1e9 elsewhere (null when every label is). */
function maskRows(split: ProbeSplit, rows: readonly number[], K: number): Float32Array | null {
  if (!split.allowed) return null;
  const mask = new Float32Array(rows.length * K).fill(-1e9);
  rows.forEach((r, b) => { for (const k of split.allowed![r]!) mask[b * K + k] = 0; });
  return mask;
}

/** Per-dimension mean and 1/std of the training rows (a constant dimension gets scale 0). */
function standardiser(x: Float32Array, n: number, H: number): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(H), sq = new Float64Array(H);
  for (let i = 0; i < n; i++) for (let k = 0; k < H; k++) { const v = x[i * H + k]!; mean[k]! += v; sq[k]! += v * v; }
  const scale = new Float64Array(H);
  for (let k = 0; k < H; k++) {
    mean[k]! /= n;
    const variance = sq[k]! / n - mean[k]! ** 2;
    scale[k] = variance > 1e-12 ? 1 / Math.sqrt(variance) : 0;
  }
  return { mean, scale };
}

/** Rows of a feature matrix, standardised, as a float32 [rows, H] tensor. */
function rowsTensor(x: Float32Array, rows: readonly number[], H: number, st: { mean: Float64Array; scale: Float64Array }) {
  const out = new Float32Array(rows.length * H);
  rows.forEach((r, b) => { for (let k = 0; k < H; k++) out[b * H + k] = (x[r * H + k]! - st.mean[k]!) * st.scale[k]!; });
  return ops.fromArray(out, [rows.length, H]);
}

/**
 * Trains a softmax regression on one layer's features and returns its accuracy on the training and held-out rows.
 * `train`/`dev` are [rows, H] features in the splits' span order.
 */
export async function linearProbe(train: Float32Array, dev: Float32Array, data: ProbeData, H: number, options: Partial<LinearProbeOptions> = {}): Promise<{ train: number; dev: number }> {
  const o = { ...LINEAR_PROBE, ...options };
  for (const name of ['epochs', 'batchSize'] as const) if (!(Number.isInteger(o[name]) && o[name] > 0)) throw new RangeError(`linearProbe: ${name} must be a positive integer, got ${o[name]}`);
  if (!(o.lr > 0)) throw new RangeError(`linearProbe: lr must be positive, got ${o.lr}`);
  const K = data.labels.length, n = data.train.labels.length;
  if (n === 0) throw new Error(`${data.task} probe: no training rows`);
  const st = standardiser(train, n, H);
  const head = headLinear(H, K, 0);
  const optimizer = new Adam(head.parameters(), { lr: o.lr });
  const rng = new Rng(o.seed);
  const order = Array.from({ length: n }, (_, i) => i);
  const logitsOf = (x: Float32Array, split: ProbeSplit, rows: number[]) => {
    const logits = head.forward(rowsTensor(x, rows, H, st));
    const mask = maskRows(split, rows, K);
    return mask ? ops.add(logits, ops.fromArray(mask, [rows.length, K])) : logits;
  };
  head.train();
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    rng.shuffle(order);
    for (let at = 0; at < n; at += o.batchSize) {
      const rows = order.slice(at, at + o.batchSize);
      const y = ops.fromArray(Int32Array.from(rows, (r) => data.train.labels[r]!), [rows.length], { dtype: 'int32' });
      ops.crossEntropy(logitsOf(train, data.train, rows), y).backward();
      optimizer.step();
      optimizer.zeroGrad();
    }
  }
  head.eval();
  const accuracy = async (x: Float32Array, split: ProbeSplit) => {
    const rows = split.labels.length;
    if (rows === 0) return NaN;
    let right = 0;
    for (let at = 0; at < rows; at += 1024) {
      const idx = Array.from({ length: Math.min(1024, rows - at) }, (_, i) => at + i);
      const logits = (await noGrad(() => logitsOf(x, split, idx)).data()) as Float32Array;
      idx.forEach((r, b) => {
        let best = 0;
        for (let k = 1; k < K; k++) if (logits[b * K + k]! > logits[b * K + best]!) best = k;
        if (best === split.labels[r]) right++;
      });
    }
    return right / rows;
  };
  return { train: await accuracy(train, data.train), dev: await accuracy(dev, data.dev) };
}

/** Runs a linear probe on every layer of a frozen encoder (see the file comment). */
export async function layerProbe(encoder: Encoder, data: ProbeData, opts: LayerProbeOptions = {}): Promise<LayerProbeResult> {
  const K = data.labels.length;
  if (data.dev.labels.length === 0) throw new Error(`${data.task} probe: no held-out rows`);
  // one pass of the encoder over both splits' sentences
  const all = await spanFeatures(encoder, [...data.train.queries, ...data.dev.queries], opts);
  const H = all.hiddenSize, n = data.train.labels.length;
  const layers: LayerScore[] = [];
  for (let layer = 0; layer < all.layers.length; layer++) {
    const x = all.layers[layer]!;
    const score = { layer, ...(await linearProbe(x.subarray(0, n * H), x.subarray(n * H), data, H, opts.probe)) };
    layers.push(score);
    opts.onLayer?.(score);
  }
  return {
    task: data.task, layers, ...baselines(data, K), trainRows: n, devRows: data.dev.labels.length, labels: K, heldOut: data.heldOut, emptySpans: all.empty,
  };
}

/** Chance and majority-label accuracy on the held-out rows. */
function baselines(data: ProbeData, K: number): { chance: number; majority: number } {
  const { train, dev } = data;
  const key = (split: ProbeSplit, i: number) => (split.allowed ? split.allowed[i]!.join(',') : '');
  // the most frequent training label per allowed set (one set for POS, a lemma's senses for sense)
  const counts = new Map<string, Map<number, number>>();
  train.labels.forEach((y, i) => {
    const k = key(train, i);
    const c = counts.get(k) ?? new Map<number, number>();
    c.set(y, (c.get(y) ?? 0) + 1);
    counts.set(k, c);
  });
  const majorityOf = (k: string) => {
    let best = -1, bestCount = 0;
    for (const [y, c] of counts.get(k) ?? []) if (c > bestCount) { best = y; bestCount = c; }
    return best;
  };
  let chance = 0, majority = 0;
  dev.labels.forEach((y, i) => {
    chance += 1 / (dev.allowed ? dev.allowed[i]!.length : K);
    if (majorityOf(key(dev, i)) === y) majority++;
  });
  return { chance: chance / dev.labels.length, majority: majority / dev.labels.length };
}

/** Every word of a sentence as its own span. */
function wordSpans(words: readonly string[]): SpanQuery {
  return { words, spans: words.map((_, i) => [i, i + 1] as const) };
}

/**
 * POS probe data from tagged sentences: the training set's tags as labels (held-out tags outside them are an error),
 * `dev` as the held-out sentences, else a seeded `devFraction` of the training sentences (default 0.2).
 */
export function posProbeData(train: SequenceDataset, dev: SequenceDataset | null, opts: { devFraction?: number; seed?: number } = {}): ProbeData {
  const labels = [...train.labels];
  const id = new Map(labels.map((l, i) => [l, i]));
  let trainSentences = train.examples, devSentences = dev?.examples ?? [];
  let heldOut = dev ? dev.file : '';
  if (!dev) {
    const fraction = opts.devFraction ?? 0.2;
    if (!(fraction > 0 && fraction < 1)) throw new RangeError(`posProbeData: devFraction must be in (0, 1), got ${fraction}`);
    const order = new Rng(opts.seed ?? 0).shuffle(Array.from({ length: train.examples.length }, (_, i) => i));
    const cut = Math.round(train.examples.length * fraction);
    if (cut === 0 || cut === train.examples.length) throw new Error(`${train.file}: ${train.examples.length} sentence(s) are too few to hold out ${fraction}; give a held-out file`);
    const held = new Set(order.slice(0, cut));
    trainSentences = train.examples.filter((_, i) => !held.has(i));
    devSentences = train.examples.filter((_, i) => held.has(i));
    heldOut = `${cut} of ${train.file}'s ${train.examples.length} sentences (seed ${opts.seed ?? 0})`;
  }
  const split = (sentences: typeof trainSentences, where: string): ProbeSplit => ({
    queries: sentences.map((s) => wordSpans(s.words)),
    labels: sentences.flatMap((s, i) => s.labels.map((l, w) => {
      const k = id.get(l);
      if (k === undefined) throw new Error(`${where}: sentence ${i + 1} word ${w + 1} has the tag "${l}", which the training sentences do not (${labels.join(', ')})`);
      return k;
    })),
  });
  return { task: 'pos', labels, train: split(trainSentences, train.file), dev: split(devSentences, dev?.file ?? train.file), heldOut };
}

/** Sense probe data from polysemy data (see the file comment); `split` makes a sentence words (default probeWords). */
export function senseProbeData(data: PolysemyData, opts: { split?: (text: string) => string[]; seed?: number } = {}): ProbeData & { notFound: number } {
  const split = opts.split ?? probeWords;
  const rng = new Rng(opts.seed ?? 0);
  const labels: string[] = [];
  const train: Required<ProbeSplit> = { queries: [], labels: [], allowed: [] }, dev: Required<ProbeSplit> = { queries: [], labels: [], allowed: [] };
  let notFound = 0;
  for (const [lemma, senses] of Object.entries(data)) {
    const lemmaWords = split(lemma);
    const found = Object.entries(senses).map(([, sentences]) => sentences.flatMap((s) => {
      const words = split(s);
      const span = findLemma(words, lemmaWords);
      if (!span) notFound++;
      return span ? [{ words, spans: [span] }] : [];
    }));
    if (found.filter((f) => f.length > 0).length < 2) continue; // one sense found: nothing to tell apart
    const ids = Object.keys(senses).map((sense, k) => (found[k]!.length > 0 ? labels.push(`${lemma} ${sense}`) - 1 : -1));
    const allowed = ids.filter((k) => k >= 0);
    found.forEach((queries, k) => {
      const held = queries.length >= 2 ? rng.below(queries.length) : -1;
      queries.forEach((q, j) => {
        const side = j === held ? dev : train;
        side.queries.push(q);
        side.labels.push(ids[k]!);
        side.allowed.push(allowed);
      });
    });
  }
  return { task: 'sense', labels, train, dev, heldOut: 'one sentence of each sense with two or more (seeded)', notFound };
}
