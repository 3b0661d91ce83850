// ELMo biLM training as a TrainTask, and what training, perplexity and embedding share: a corpus encoded as sequences
// of token ids, each distinct token's characters computed once, batched as the biLM takes them (the batch's distinct
// tokens as characters, each position's row among them, the forward and backward targets).
import { ELMO_TOKENS, charIds, type CharIdsReport, type ElmoBatch, type ElmoBiLM } from '../models/elmo.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { VocabSpecials, WordVocab } from '../text/word-lm.js';
import { selectLayers, type LayerSelection } from './layer-selection.js';
import { LOOP_DEFAULTS, type TrainConfig, type TrainTask } from './trainer.js';

/** bilm-tf's vocabulary specials: `<S>`, `</S>`, `<UNK>` head the list, the rest by falling frequency. */
export const ELMO_SPECIALS: VocabSpecials = { words: [ELMO_TOKENS.bos, ELMO_TOKENS.eos, ELMO_TOKENS.unk], unk: ELMO_TOKENS.unk };

/**
 * ELMo training's recipe: AdamW at 2e-3 with a short warmup and cosine decay to a tenth, gradients clipped to norm 10
 * (bilm-tf's all_clip_norm_val; bilm-tf itself trains with Adagrad at 0.2, which suits its 10-day runs rather than
 * minutes), 600 steps of 64 sequences.
 */
export const ELMO_PRETRAIN: TrainConfig = {
  ...LOOP_DEFAULTS, maxSteps: 600, lr: 2e-3, minLrRate: 0.1, warmupSteps: 50, schedule: 'cosine', weightDecay: 0.01,
  beta1: 0.9, beta2: 0.99, eps: 1e-8, clipNorm: 10, evalEvery: 200, checkpointEvery: 200,
};

/** How a corpus was encoded: tokens cut to the character limit, tokens with text that is not Unicode, windows. */
export interface ElmoCorpusReport {
  truncatedTokens: number;
  replacedTokens: number;
  /** Sequences longer than the window, cut into several. */
  windowedSequences: number;
}

/**
 * Sequences of words encoded for the biLM: `<S>` w₁ … wₙ `</S>`, each sequence at most `maxTokens` words (longer ones
 * are cut into windows, each with its own boundaries, as bilm-tf's sentences are). Every distinct token (type) keeps
 * its characters, computed once, and its vocabulary id: a word outside the vocabulary still has its characters, and
 * only its target is `<UNK>`.
 */
export class ElmoCorpus {
  /** The distinct tokens; 0 and 1 are `<S>` and `</S>`. */
  readonly types: string[] = [ELMO_TOKENS.bos, ELMO_TOKENS.eos];
  /** Each type's vocabulary id. */
  private vocabIds: number[];
  /** Each type's characters, [types, maxChars]. */
  private chars: Int32Array[];
  private readonly typeIndex = new Map<string, number>();
  /** Each sequence's types, boundaries included. */
  readonly sequences: Int32Array[] = [];
  readonly report: ElmoCorpusReport = { truncatedTokens: 0, replacedTokens: 0, windowedSequences: 0 };

  constructor(readonly vocab: WordVocab, readonly maxChars = 50) {
    this.vocabIds = this.types.map((t) => vocab.id(t));
    this.chars = this.types.map((t) => charIds(t, maxChars));
  }

  /** Encodes word sequences, windowing each at `maxTokens` words. */
  static encode(paragraphs: readonly (readonly string[])[], vocab: WordVocab, opts: { maxTokens?: number; maxChars?: number } = {}): ElmoCorpus {
    const corpus = new ElmoCorpus(vocab, opts.maxChars);
    const window = opts.maxTokens ?? Infinity;
    if (!(window >= 1)) throw new RangeError(`ElmoCorpus: maxTokens must be at least 1, got ${window}`);
    for (const words of paragraphs) {
      if (words.length > window) corpus.report.windowedSequences++;
      for (let from = 0; from < words.length; from += window) corpus.add(words.slice(from, from + window));
    }
    return corpus;
  }

  /** The type id of a token, adding it (and counting what its characters lost) when new. */
  typeOf(token: string): number {
    let id = this.typeIndex.get(token);
    if (id === undefined) {
      id = this.types.length;
      const report: CharIdsReport = { truncated: false, replaced: false };
      this.chars.push(charIds(token, this.maxChars, undefined, report));
      if (report.truncated) this.report.truncatedTokens++;
      if (report.replaced) this.report.replacedTokens++;
      this.types.push(token);
      this.vocabIds.push(this.vocab.id(token));
      this.typeIndex.set(token, id);
    }
    return id;
  }

  /** Adds one sequence of words (no boundaries: they are added here). */
  add(words: readonly string[]): void {
    const seq = new Int32Array(words.length + 2);
    seq[0] = 0;
    words.forEach((w, i) => { seq[i + 1] = this.typeOf(w); });
    seq[words.length + 1] = 1;
    this.sequences.push(seq);
  }

  /** A sequence's tokens as vocabulary ids, boundaries included (what a word-level LM over the same vocabulary reads). */
  vocabIdsOf(row: number): Int32Array {
    return this.sequences[row]!.map((t) => this.vocabIds[t]!);
  }

  /** Predictions per direction over all sequences (each sequence of n words predicts n + 1 tokens each way). */
  get predictions(): number {
    return this.sequences.reduce((s, q) => s + q.length - 1, 0);
  }

  /** How many of the predicted tokens are `<UNK>` (forward direction: the words and `</S>`). */
  get unknownTargets(): number {
    let n = 0;
    for (const q of this.sequences) for (let t = 1; t < q.length; t++) if (this.vocabIds[q[t]!] === this.vocab.unkId) n++;
    return n;
  }

  /** The batch of the given sequences, padded to the longest; with targets for training and perplexity. */
  batch(rows: readonly number[], withTargets = true): ElmoBatch {
    const seqs = rows.map((r) => this.sequences[r]!);
    return elmoBatch(seqs, (t) => this.chars[t]!, this.maxChars, withTargets ? (t) => this.vocabIds[t]! : null);
  }
}

/**
 * A biLM batch of sequences of type ids: the distinct types' characters, each position's row among them, the mask,
 * and (given each type's vocabulary id) the forward targets (the next token's id) and backward ones (the previous').
 */
export function elmoBatch(seqs: readonly ArrayLike<number>[], charsOf: (type: number) => Int32Array, maxChars: number,
  vocabIdOf: ((type: number) => number) | null): ElmoBatch {
  const B = seqs.length, T = Math.max(1, ...seqs.map((s) => s.length));
  const rowOf = new Map<number, number>();
  const tokens = new Int32Array(B * T), mask = new Float32Array(B * T);
  const forward = new Int32Array(B * T).fill(-1), backward = new Int32Array(B * T).fill(-1);
  seqs.forEach((s, b) => {
    for (let t = 0; t < s.length; t++) {
      const type = s[t]!;
      let row = rowOf.get(type);
      if (row === undefined) { row = rowOf.size; rowOf.set(type, row); }
      tokens[b * T + t] = row;
      mask[b * T + t] = 1;
      if (vocabIdOf) {
        if (t + 1 < s.length) forward[b * T + t] = vocabIdOf(s[t + 1]!);
        if (t > 0) backward[b * T + t] = vocabIdOf(s[t - 1]!);
      }
    }
  });
  const chars = new Int32Array(Math.max(1, rowOf.size) * maxChars);
  for (const [type, row] of rowOf) chars.set(charsOf(type), row * maxChars);
  return {
    chars: ops.fromArray(chars, [Math.max(1, rowOf.size), maxChars], { dtype: 'int32' }), tokens: ops.fromArray(tokens, [B, T], { dtype: 'int32' }),
    mask: ops.fromArray(mask, [B, T]), targets: vocabIdOf ? { forward, backward } : undefined,
  };
}

/** Perplexities of the biLM on a corpus: each direction's, and bilm-tf's, exp of the mean of the two losses. */
export interface ElmoPerplexity {
  /** Predictions per direction. */
  tokens: number;
  forward: { loss: number; perplexity: number };
  backward: { loss: number; perplexity: number };
  loss: number;
  perplexity: number;
}

/** Held-out perplexity over the first `limit` sequences (all by default), full softmax, in batches of `batchSize`. */
export async function elmoPerplexity(model: ElmoBiLM, corpus: ElmoCorpus, opts: { batchSize?: number; limit?: number } = {}): Promise<ElmoPerplexity> {
  const n = Math.min(corpus.sequences.length, opts.limit ?? Infinity);
  if (n === 0) throw new Error('elmoPerplexity: no sequences to score');
  const size = opts.batchSize ?? 64;
  // Similar lengths together: less padding.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => corpus.sequences[a]!.length - corpus.sequences[b]!.length);
  let fSum = 0, bSum = 0, count = 0;
  for (let from = 0; from < n; from += size) {
    const nll = await model.negativeLogLikelihood(corpus.batch(order.slice(from, from + size)));
    fSum += nll.forward.sum; bSum += nll.backward.sum; count += nll.forward.count;
  }
  const f = fSum / count, b = bSum / count;
  return { tokens: count, forward: { loss: f, perplexity: Math.exp(f) }, backward: { loss: b, perplexity: Math.exp(b) }, loss: (f + b) / 2, perplexity: Math.exp((f + b) / 2) };
}

/** Options of ELMo training. */
export interface ElmoTaskOptions {
  /** Sequences per step. */
  batchSize: number;
  /** Held-out sequences scored at each evaluation: the first this many (the same every time). */
  evalSequences: number;
  /** Writes the vocabulary (and anything else) beside the model in checkpoints. */
  saveExtras?: (dir: string) => Promise<void>;
}

/** Both directions' language-model loss on random sequences. */
export class ElmoPretrainTask implements TrainTask {
  constructor(readonly model: ElmoBiLM, readonly train: ElmoCorpus, readonly val: ElmoCorpus, readonly opts: ElmoTaskOptions) {
    for (const name of ['batchSize', 'evalSequences'] as const) {
      if (!(Number.isInteger(opts[name]) && opts[name] > 0)) throw new RangeError(`ElmoPretrainTask: ${name} must be a positive integer, got ${opts[name]}`);
    }
    for (const [split, c] of [['training', train], ['held-out', val]] as const) {
      if (c.sequences.length === 0) throw new Error(`ElmoPretrainTask: the ${split} split has no sequences`);
      if (c.vocab.size !== model.config.vocab_size) throw new Error(`ElmoPretrainTask: the ${split} vocabulary has ${c.vocab.size} words, the model ${model.config.vocab_size}`);
    }
  }

  async trainLoss(rng: Generator): Promise<{ loss: Tensor; tokens: number }> {
    const rows = Array.from({ length: this.opts.batchSize }, () => Math.floor(rng.random() * this.train.sequences.length));
    const tokens = rows.reduce((s, r) => s + this.train.sequences[r]!.length - 1, 0);
    return { loss: this.model.forward(this.train.batch(rows)).loss!, tokens };
  }

  async evaluate(): Promise<Record<string, number>> {
    const p = await elmoPerplexity(this.model, this.val, { limit: this.opts.evalSequences });
    return { val_loss: p.loss, perplexity: p.perplexity, forward_perplexity: p.forward.perplexity, backward_perplexity: p.backward.perplexity };
  }

  saveExtras(dir: string): Promise<void> {
    return this.opts.saveExtras ? this.opts.saveExtras(dir) : Promise.resolve();
  }
}

/**
 * The biLM's representations of sentences, sentence boundaries removed as AllenNLP's Elmo removes them: per
 * sentence [layers, n, 2P] ('all') or [n, 2P] ('top': the last layer; 'average': the mean of the layers).
 */
export async function elmoEmbed(model: ElmoBiLM, sentences: readonly (readonly string[])[], opts: { layers?: LayerSelection; batchSize?: number } = {}): Promise<{ data: Float32Array; shape: number[] }[]> {
  const layers = opts.layers ?? 'all', size = opts.batchSize ?? 32;
  const maxChars = model.config.char_cnn.max_characters_per_token;
  const D = model.outputSize;
  const out: { data: Float32Array; shape: number[] }[] = [];
  const cache = new Map<string, Int32Array>();
  const charsOf = (word: string) => { let c = cache.get(word); if (!c) { c = charIds(word, maxChars); cache.set(word, c); } return c; };
  model.eval();
  for (let from = 0; from < sentences.length; from += size) {
    const group = sentences.slice(from, from + size);
    const words: string[] = [];
    const ids = new Map<string, number>();
    const idOf = (w: string) => { let i = ids.get(w); if (i === undefined) { i = words.length; ids.set(w, i); words.push(w); } return i; };
    const seqs = group.map((s) => [idOf(ELMO_TOKENS.bos), ...s.map(idOf), idOf(ELMO_TOKENS.eos)]);
    const batch = elmoBatch(seqs, (t) => charsOf(words[t]!), maxChars, null);
    const T = batch.tokens.shape[1]!;
    const states = noGrad(() => model.forward(batch).layers);
    const values = await Promise.all(states.map((s) => s.data() as Promise<Float32Array>));
    // Each sentence's words sit between its <S> (position 0) and </S>.
    group.forEach((s, b) => out.push(selectLayers(values.map((v) => v.subarray((b * T + 1) * D, (b * T + 1 + s.length) * D)), s.length, D, layers)));
  }
  return out;
}
