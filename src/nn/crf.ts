// A linear-chain conditional random field (Lafferty et al. 2001) over per-step emission scores, as the output layer
// of Lample et al.'s (2016) BiLSTM-CRF tagger: the log-likelihood by the forward algorithm in differentiable tensor
// ops (so autograd gives its gradient), and the best tag sequences by Viterbi on the host. Names, initialisation
// and semantics follow the pytorch-crf package (`torchcrf.CRF`, kmkurn/pytorch-crf, with batch_first=True); the
// optional decoding constraints follow AllenNLP's `allowed_transitions` (allennlp/modules/conditional_random_field.py).
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TypedArray } from '../tensor/dtype.js';
import { Module, Parameter } from './module.js';

/** How the per-sequence log-likelihoods are reduced (pytorch-crf's `reduction`). */
export type CRFReduction = 'none' | 'sum' | 'mean' | 'token_mean';

/** The CRF's scores: to the first tag, from the last tag, and between consecutive tags (row = from, column = to). */
export interface CRFTransitions {
  /** [K]: the score of starting a sequence with each tag. */
  start_transitions: Tensor;
  /** [K]: the score of ending a sequence with each tag. */
  end_transitions: Tensor;
  /** [K, K]: transitions[i, j] is the score of tag j following tag i. */
  transitions: Tensor;
}

/** A tagging scheme that `allowedTransitions` knows (AllenNLP's constraint types). */
export type TagScheme = 'BIO' | 'IOB1' | 'BIOUL' | 'BMES';

/** Options of a CRF. */
export interface CRFOptions {
  /**
   * Transitions `decode` may use, as (from, to) pairs over tags 0..K-1 plus START = K and END = K+1 (the format of
   * AllenNLP's `allowed_transitions`). Others are forbidden at decode time only: the log-likelihood, as in AllenNLP,
   * uses the learned scores unconstrained. Absent: every transition is allowed.
   */
  constraints?: readonly (readonly [number, number])[];
}

const REDUCTIONS: readonly CRFReduction[] = ['none', 'sum', 'mean', 'token_mean'];

/**
 * A linear-chain CRF over K tags, batch first. The score of a tag sequence y of length n under emissions x is
 * start[y_0] + Σ_t x[t, y_t] + Σ_{t≥1} transitions[y_{t-1}, y_t] + end[y_{n-1}]; its log-likelihood is that score
 * minus the log-sum-exp over all K^n sequences (the log-partition). Parameters (pytorch-crf's names and init,
 * U(-0.1, 0.1)): `start_transitions` [K], `end_transitions` [K], `transitions` [K, K] (from → to).
 *
 * Masks [B, T] hold 1 for real steps and 0 for padding, which may only come at the end of a sequence; the first step
 * of every sequence must be real (pytorch-crf's rule). Tags under padding are ignored, so any value there (-100
 * included) is fine; tags under the mask must lie in 0..K-1. Mask and tag values are checked wherever they read
 * synchronously (the CPU backends); on WebGPU `forward` checks shapes only, and `decode` checks the mask.
 *
 * The forward algorithm slices the emissions step by step, so its backward costs O(T²·B·K) memory traffic (each
 * slice's adjoint is full-size): negligible at tagging lengths, worth a fused op for very long sequences.
 */
export class CRF extends Module implements CRFTransitions {
  start_transitions: Parameter;
  end_transitions: Parameter;
  transitions: Parameter;
  /** The decoding constraints as additive masks (0 allowed, -Infinity forbidden), or null. Not parameters. */
  private readonly allowed: { start: number[]; end: number[]; transitions: number[] } | null;

  constructor(readonly numTags: number, opts: CRFOptions = {}) {
    super();
    if (!Number.isInteger(numTags) || numTags <= 0) throw new Error(`CRF: invalid number of tags: ${numTags}`);
    this.start_transitions = new Parameter(ops.uniform([numTags], -0.1, 0.1));
    this.end_transitions = new Parameter(ops.uniform([numTags], -0.1, 0.1));
    this.transitions = new Parameter(ops.uniform([numTags, numTags], -0.1, 0.1));
    this.allowed = opts.constraints ? constraintMasks(numTags, opts.constraints) : null;
  }

  /**
   * The log-likelihood of `tags` (int32 [B, T]) under `emissions` [B, T, K], reduced as pytorch-crf's forward does:
   * 'sum' (its default) over the batch, 'mean' over the batch, 'token_mean' divided by the number of real steps,
   * 'none' one value per sequence [B]. Training minimises its negative: see `negLogLikelihood`.
   */
  forward(emissions: Tensor, tags: Tensor, mask: Tensor | null = null, reduction: CRFReduction = 'sum'): Tensor {
    if (!REDUCTIONS.includes(reduction)) throw new Error(`CRF: invalid reduction '${String(reduction)}' (one of ${REDUCTIONS.join(', ')})`);
    const llh = crfLogLikelihood(emissions, tags, mask, this); // (B,)
    if (reduction === 'none') return llh;
    if (reduction === 'sum') return ops.sum(llh);
    if (reduction === 'mean') return ops.mean(llh);
    const steps = mask ? ops.sum(mask.cast(emissions.dtype).detach()) : emissions.shape[0]! * emissions.shape[1]!;
    return ops.div(ops.sum(llh), steps);
  }

  /**
   * The mean negative log-likelihood per sequence, -forward(..., 'mean'): the training loss of a CRF tagger (the
   * scale of a per-sequence mean, which pytorch-crf's default 'sum' is not).
   */
  negLogLikelihood(emissions: Tensor, tags: Tensor, mask: Tensor | null = null): Tensor {
    return ops.neg(this.forward(emissions, tags, mask, 'mean'));
  }

  /** The log-partition log Σ_y exp(score(y)) of each sequence: [B]. */
  logPartition(emissions: Tensor, mask: Tensor | null = null): Tensor {
    return crfLogPartition(emissions, mask, this);
  }

  /** The score of the given tag sequences: [B]. */
  score(emissions: Tensor, tags: Tensor, mask: Tensor | null = null): Tensor {
    return crfPathScore(emissions, tags, mask, this);
  }

  /**
   * The highest-scoring tag sequence of each sequence by Viterbi (pytorch-crf's `decode`), one list of its real
   * length per sequence; with `constraints`, the best among the allowed sequences. Runs on the host, no gradient.
   */
  async decode(emissions: Tensor, mask: Tensor | null = null): Promise<number[][]> {
    checkShapes(this.numTags, emissions, null, mask);
    const [B, T, K] = emissions.shape as [number, number, number];
    const [x, m, start, end, trans] = await Promise.all([
      emissions.data(), mask ? mask.data() : Promise.resolve(null),
      this.start_transitions.data(), this.end_transitions.data(), this.transitions.data(),
    ]);
    const lengths = m ? maskLengths(m, B, T) : Array.from({ length: B }, () => T);
    const allowed = this.allowed;
    const s = (k: number) => start[k]! + (allowed ? allowed.start[k]! : 0);
    const e = (k: number) => end[k]! + (allowed ? allowed.end[k]! : 0);
    const tr = (i: number, j: number) => trans[i * K + j]! + (allowed ? allowed.transitions[i * K + j]! : 0);
    return lengths.map((n, b) => viterbi(x, b * T * K, n, K, s, e, tr));
  }
}

/**
 * The log-likelihood of each sequence [B], score(tags) - logPartition, with the transition scores given explicitly
 * (a CRF module is a CRFTransitions), so that gradients can be taken with respect to them as inputs.
 */
export function crfLogLikelihood(emissions: Tensor, tags: Tensor, mask: Tensor | null, p: CRFTransitions): Tensor {
  return ops.sub(crfPathScore(emissions, tags, mask, p), crfLogPartition(emissions, mask, p));
}

/** The log-partition of each sequence [B] by the forward algorithm: a loop over time, vectorised over batch and tags. */
export function crfLogPartition(emissions: Tensor, mask: Tensor | null, p: CRFTransitions): Tensor {
  const K = p.transitions.shape[0]!;
  checkShapes(K, emissions, null, mask);
  const [B, T] = emissions.shape as [number, number, number];
  const steps = ops.split(emissions, 1, 1).map((x) => ops.reshape(x, [B, K])); // T × (B, K)
  const on = mask ? ops.split(mask.cast(emissions.dtype).detach(), 1, 1) : null; // T × (B, 1)
  const trans = ops.reshape(p.transitions, [1, K, K]);
  // alpha[b, j]: log Σ over the tag prefixes ending in tag j at step t of exp(their score so far).
  let alpha = ops.add(ops.reshape(p.start_transitions, [1, K]), steps[0]!); // (B, K)
  for (let t = 1; t < T; t++) {
    // (B, K_from, 1) + (1, K_from, K_to), summed out over the previous tag in log space, then the step's emission.
    const next = ops.add(logSumExp(ops.add(ops.reshape(alpha, [B, K, 1]), trans), 1), steps[t]!); // (B, K)
    // Past a sequence's end, alpha stays as it was at its last real step.
    alpha = on ? ops.where(on[t]!, next, alpha) : next;
  }
  return logSumExp(ops.add(alpha, ops.reshape(p.end_transitions, [1, K])), 1); // (B,)
}

/** The score of the given tag sequences [B]: start, emissions and transitions along each path, and its end. */
export function crfPathScore(emissions: Tensor, tags: Tensor, mask: Tensor | null, p: CRFTransitions): Tensor {
  const K = p.transitions.shape[0]!;
  checkShapes(K, emissions, tags, mask);
  const [B, T] = emissions.shape as [number, number, number];
  const on = mask ? mask.cast(emissions.dtype).detach() : ops.full([B, T], 1, emissions.dtype);
  // Tags under padding are never scored; tag 0 stands in for them so that every index below is valid.
  const y = mask ? ops.where(mask.detach(), tags, 0) : tags; // (B, T) int32
  const emitted = ops.reshape(ops.gather(emissions, 2, ops.reshape(y, [B, T, 1])), [B, T]);
  let score = ops.add(ops.indexSelect(p.start_transitions, 0, ops.reshape(ops.slice(y, 1, 0, 1), [B])), ops.sum(ops.mul(emitted, on), 1));
  if (T > 1) {
    // transitions[y_{t-1}, y_t] as one lookup into the flattened [K·K] matrix.
    const pair = ops.add(ops.mul(ops.slice(y, 1, 0, T - 1), K), ops.slice(y, 1, 1, T)); // (B, T-1)
    const moved = ops.reshape(ops.indexSelect(ops.reshape(p.transitions, [K * K]), 0, ops.reshape(pair, [B * (T - 1)])), [B, T - 1]);
    score = ops.add(score, ops.sum(ops.mul(moved, ops.slice(on, 1, 1, T)), 1));
  }
  const last = ops.sub(ops.sum(on, 1, true).cast('int32'), 1); // (B, 1): each sequence's last real step
  const lastTag = ops.reshape(ops.gather(y, 1, last), [B]);
  return ops.add(score, ops.indexSelect(p.end_transitions, 0, lastTag));
}

/** log Σ exp(x) along `axis`, shifted by the (detached) maximum so that nothing overflows. */
function logSumExp(x: Tensor, axis: number): Tensor {
  // The shift cancels in both the value and the gradient, so it needs no gradient of its own.
  const shift = ops.max(x.detach(), axis, true);
  return ops.squeeze(ops.add(ops.log(ops.sum(ops.exp(ops.sub(x, shift)), axis, true)), shift), axis);
}

/** Viterbi over one sequence of n steps whose emissions start at x[offset] ([n, K] row-major). */
function viterbi(x: TypedArray, offset: number, n: number, K: number,
  start: (k: number) => number, end: (k: number) => number, trans: (i: number, j: number) => number): number[] {
  let score = Array.from({ length: K }, (_, k) => start(k) + x[offset + k]!);
  const back: Int32Array[] = [];
  for (let t = 1; t < n; t++) {
    const next = new Array<number>(K), from = new Int32Array(K);
    for (let j = 0; j < K; j++) {
      let best = -Infinity, arg = 0;
      for (let i = 0; i < K; i++) {
        const v = score[i]! + trans(i, j);
        if (v > best) { best = v; arg = i; }
      }
      next[j] = best + x[offset + t * K + j]!;
      from[j] = arg;
    }
    score = next;
    back.push(from);
  }
  let best = -Infinity, tag = 0;
  for (let k = 0; k < K; k++) {
    const v = score[k]! + end(k);
    if (v > best) { best = v; tag = k; }
  }
  if (best === -Infinity) throw new Error('CRF.decode: no tag sequence is allowed by the constraints (or a score is -Infinity)');
  const path = [tag];
  for (let t = n - 2; t >= 0; t--) path.push(tag = back[t]![tag]!);
  return path.reverse();
}

/** Throws unless emissions are [B, T, K] with T ≥ 1 and tags and mask are [B, T]; checks mask and tag values where they read synchronously. */
function checkShapes(K: number, emissions: Tensor, tags: Tensor | null, mask: Tensor | null): void {
  if (emissions.rank !== 3) throw new Error(`CRF: emissions must have 3 dimensions [B, T, K], got [${emissions.shape.join(', ')}]`);
  const [B, T, k] = emissions.shape as [number, number, number];
  if (k !== K) throw new Error(`CRF: expected the last dimension of emissions to be ${K}, got ${k}`);
  if (T === 0) throw new Error('CRF: sequences must have at least one step');
  for (const [what, t] of [['tags', tags], ['mask', mask]] as const) {
    if (t && (t.rank !== 2 || t.shape[0] !== B || t.shape[1] !== T)) {
      throw new Error(`CRF: the first two dimensions of emissions and ${what} must match, got [${B}, ${T}] and [${t.shape.join(', ')}]`);
    }
  }
  if (tags && tags.dtype !== 'int32') throw new Error(`CRF: tags must be int32, got ${tags.dtype}`);
  // Values can be checked only where they can be read synchronously (host backends); decode checks the mask everywhere.
  const m = mask && mask.backend.readSync ? mask.dataSync() : null;
  if (m) maskLengths(m, B, T);
  if (tags && tags.backend.readSync && (!mask || m)) {
    const y = tags.dataSync();
    for (let i = 0; i < B * T; i++) {
      if ((!m || m[i] !== 0) && !(y[i]! >= 0 && y[i]! < K)) {
        throw new Error(`CRF: tag ${y[i]} at sequence ${Math.floor(i / T)}, step ${i % T} is not in 0..${K - 1} (only padding may hold other values)`);
      }
    }
  }
}

/** Each sequence's length from a [B, T] mask; throws unless the mask is 0/1, on at step 0, and off only at the end. */
function maskLengths(m: TypedArray, B: number, T: number): number[] {
  return Array.from({ length: B }, (_, b) => {
    if (m[b * T] !== 1) throw new Error(`CRF: mask of the first timestep must all be on (sequence ${b} starts with ${m[b * T]})`);
    let n = 0;
    for (let t = 0; t < T; t++) {
      const v = m[b * T + t]!;
      if (v !== 0 && v !== 1) throw new Error(`CRF: mask values must be 0 or 1, got ${v} at sequence ${b}, step ${t}`);
      if (v === 1 && n < t) throw new Error(`CRF: padding must come only at the end of a sequence (sequence ${b} resumes at step ${t} after padding at step ${n})`);
      if (v === 1) n = t + 1;
    }
    return n;
  });
}

/** Additive masks (0 or -Infinity) for the start scores, end scores and [K·K] transitions from allowed (from, to) pairs. */
function constraintMasks(K: number, pairs: readonly (readonly [number, number])[]): { start: number[]; end: number[]; transitions: number[] } {
  const start = new Array<number>(K).fill(-Infinity), end = new Array<number>(K).fill(-Infinity);
  const transitions = new Array<number>(K * K).fill(-Infinity);
  const START = K, END = K + 1;
  for (const [from, to] of pairs) {
    const ok = (i: number) => Number.isInteger(i) && i >= 0 && i <= END;
    if (!ok(from) || !ok(to)) throw new Error(`CRF: constraint (${from}, ${to}) is outside tags 0..${K - 1}, START ${START} and END ${END}`);
    if (from === START && to < K) start[to] = 0;
    else if (to === END && from < K) end[from] = 0;
    else if (from < K && to < K) transitions[from * K + to] = 0;
    // (START, END) and pairs into START or out of END mean nothing for a sequence of at least one tag.
  }
  return { start, end, transitions };
}

/**
 * The (from, to) transitions a tagging scheme allows, over label indices plus START = labels.length and
 * END = labels.length + 1, as AllenNLP's `allowed_transitions`: a label's first character is its tag (B, I, O, L, U,
 * M, E, S) and the rest its entity ('B-PER' is tag B, entity '-PER'). For BIO: START → O or B-x; O, B-x, I-x → END;
 * anything → O or B-x; B-x or I-x → I-x of the same x only (so O → I-x and B-X → I-Y are forbidden).
 */
export function allowedTransitions(scheme: TagScheme, labels: readonly string[]): [number, number][] {
  const parts: [string, string][] = [...labels.map((l): [string, string] => [l.slice(0, 1), l.slice(1)]), ['START', ''], ['END', '']];
  const out: [number, number][] = [];
  for (let i = 0; i < parts.length; i++) {
    for (let j = 0; j < parts.length; j++) {
      if (isTransitionAllowed(scheme, parts[i]![0], parts[i]![1], parts[j]![0], parts[j]![1])) out.push([i, j]);
    }
  }
  return out;
}

/** Whether a scheme allows `fromTag`+`fromEntity` → `toTag`+`toEntity` (AllenNLP's `is_transition_allowed`). */
function isTransitionAllowed(scheme: TagScheme, fromTag: string, fromEntity: string, toTag: string, toEntity: string): boolean {
  if (toTag === 'START' || fromTag === 'END') return false;
  const same = fromEntity === toEntity;
  switch (scheme) {
    case 'BIO':
      if (fromTag === 'START') return toTag === 'O' || toTag === 'B';
      if (toTag === 'END') return ['O', 'B', 'I'].includes(fromTag);
      return toTag === 'O' || toTag === 'B' || (toTag === 'I' && (fromTag === 'B' || fromTag === 'I') && same);
    case 'IOB1':
      if (fromTag === 'START') return toTag === 'O' || toTag === 'I';
      if (toTag === 'END') return ['O', 'B', 'I'].includes(fromTag);
      return toTag === 'O' || toTag === 'I' || (toTag === 'B' && (fromTag === 'B' || fromTag === 'I') && same);
    case 'BIOUL':
      if (fromTag === 'START') return ['O', 'B', 'U'].includes(toTag);
      if (toTag === 'END') return ['O', 'L', 'U'].includes(fromTag);
      return (['O', 'L', 'U'].includes(fromTag) && ['O', 'B', 'U'].includes(toTag))
        || ((fromTag === 'B' || fromTag === 'I') && (toTag === 'I' || toTag === 'L') && same);
    case 'BMES':
      if (fromTag === 'START') return toTag === 'B' || toTag === 'S';
      if (toTag === 'END') return fromTag === 'E' || fromTag === 'S';
      return ((toTag === 'B' || toTag === 'S') && (fromTag === 'E' || fromTag === 'S'))
        || ((toTag === 'M' || toTag === 'E') && (fromTag === 'B' || fromTag === 'M') && same);
    default:
      throw new Error(`allowedTransitions: unknown scheme '${String(scheme)}' (BIO, IOB1, BIOUL or BMES)`);
  }
}
