// Sampled softmax (Jean et al. 2015) as TensorFlow's tf.nn.sampled_softmax_loss computes it, which bilm-tf trains
// ELMo with: each step scores the true classes and a shared set of sampled candidates instead of the whole
// vocabulary, the logits corrected by the log of each class's expected count under the sampler, and a candidate that
// happens to be a row's own target removed from that row (remove_accidental_hits). Candidates come from TensorFlow's
// log-uniform (Zipfian) sampler, which suits ids sorted by falling frequency.
import * as ops from '../tensor/ops.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** TensorFlow's LogUniformCandidateSampler over ids [0, range): P(k) = log((k + 2) / (k + 1)) / log(range + 1). */
export class LogUniformSampler {
  private readonly logRange: number;
  constructor(readonly range: number) {
    if (!(Number.isInteger(range) && range > 0)) throw new RangeError(`LogUniformSampler: range must be a positive integer, got ${range}`);
    this.logRange = Math.log(range + 1);
  }

  /** The probability of drawing id k in one try. */
  probability(k: number): number {
    return Math.log((k + 2) / (k + 1)) / this.logRange;
  }

  /** One draw: floor(exp(u · log(range + 1))) − 1, as TensorFlow's RangeSampler. */
  draw(rng: Generator): number {
    const k = Math.floor(Math.exp(rng.random() * this.logRange)) - 1;
    return Math.min(Math.max(k, 0), this.range - 1);
  }

  /** `count` distinct ids (TensorFlow's unique=True) and how many draws it took. */
  sampleUnique(count: number, rng: Generator = defaultGenerator): { ids: Int32Array; tries: number } {
    if (!(Number.isInteger(count) && count > 0 && count <= this.range)) throw new RangeError(`LogUniformSampler: cannot draw ${count} distinct ids of ${this.range}`);
    const seen = new Set<number>();
    const ids = new Int32Array(count);
    let tries = 0;
    while (seen.size < count) {
      const k = this.draw(rng);
      tries++;
      if (!seen.has(k)) { ids[seen.size] = k; seen.add(k); }
    }
    return { ids, tries };
  }

  /** The expected number of times id k appears in `tries` unique-sampling draws: 1 − (1 − P(k))^tries. */
  expectedCount(k: number, tries: number): number {
    return -Math.expm1(tries * Math.log1p(-this.probability(k)));
  }
}

/** Options of sampledSoftmaxLoss. */
export interface SampledSoftmaxOptions {
  /** Candidates per call, shared by every row. */
  numSampled: number;
  /** The candidate sampler (log-uniform over the weight's rows by default). */
  sampler?: LogUniformSampler;
  rng?: Generator;
}

/**
 * The mean sampled-softmax loss of hidden states [N, D] against int32 targets (N of them), for an output layer with
 * weight [V, D] and bias [V]: per row, cross-entropy over [the true class, the sampled classes], each logit minus the
 * log of its expected count, and a row's own target among the samples masked out.
 */
export function sampledSoftmaxLoss(hidden: Tensor, weight: Tensor, bias: Tensor | null, targets: Int32Array, opts: SampledSoftmaxOptions): Tensor {
  const [N] = hidden.shape as [number];
  const V = weight.shape[0]!;
  if (targets.length !== N) throw new RangeError(`sampledSoftmaxLoss: ${N} rows but ${targets.length} targets`);
  const sampler = opts.sampler ?? new LogUniformSampler(V);
  const { ids, tries } = sampler.sampleUnique(opts.numSampled, opts.rng);
  const S = ids.length;
  const dtype = hidden.dtype;
  const target = ops.fromArray(targets, [N], { dtype: 'int32' });
  const sampled = ops.fromArray(ids, [S], { dtype: 'int32' });
  const column = bias ? ops.reshape(bias, [V, 1]) : null;

  let trueLogits = ops.sum(ops.mul(hidden, ops.embedding(weight, target)), -1, true); // [N, 1]
  if (column) trueLogits = ops.add(trueLogits, ops.embedding(column, target));
  const sampledLogits = ops.linear(hidden, ops.embedding(weight, sampled), column ? ops.reshape(ops.embedding(column, sampled), [S]) : null); // [N, S]

  const trueCorrection = new Float32Array(N);
  for (let i = 0; i < N; i++) trueCorrection[i] = Math.log(sampler.expectedCount(targets[i]!, tries));
  const sampledCorrection = new Float32Array(S);
  const position = new Map<number, number>();
  ids.forEach((k, s) => { sampledCorrection[s] = Math.log(sampler.expectedCount(k, tries)); position.set(k, s); });
  // The correction of every sampled column, and a huge one where a row's own target was sampled (its logit minus that is out of the softmax).
  const offsets = new Float32Array(N * S);
  for (let i = 0; i < N; i++) {
    offsets.set(sampledCorrection, i * S);
    const hit = position.get(targets[i]!);
    if (hit !== undefined) offsets[i * S + hit] = ACCIDENTAL_HIT;
  }
  const logits = ops.concat([
    ops.sub(trueLogits, ops.fromArray(trueCorrection, [N, 1], { dtype })),
    ops.sub(sampledLogits, ops.fromArray(offsets, [N, S], { dtype })),
  ], 1);
  return ops.crossEntropy(logits, ops.zeros([N], { dtype: 'int32' }));
}

/** What an accidental hit's logit loses: enough that its probability is 0 in float32, finite so no NaN appears. */
const ACCIDENTAL_HIT = 1e30;
