// word2vec training with word2vec.c / gensim semantics: CBOW (mean or sum) and skip-gram, negative sampling and/or
// hierarchical softmax, frequent-word subsampling, shrunk windows, linear alpha decay over all epochs. This is the
// pure-TypeScript reference path; it streams the corpus twice (vocabulary, then each epoch), so the corpus never
// has to fit in memory.
import { WordVectors } from '../vectors.js';
import { readSentences } from './corpus.js';
import { TrainerPool } from './threads.js';
import { cumulativeTable, huffman, VocabCounter, type Huffman, type Vocab } from './vocab.js';

/** Training settings (defaults: gensim's). */
export interface Word2VecOptions {
  /** 'skipgram' (gensim sg=1) or 'cbow' (default, as gensim). */
  model: 'cbow' | 'skipgram';
  /** CBOW input: mean of the context vectors (default) or their sum. */
  cbowMean: boolean;
  /** Hierarchical softmax over a Huffman tree. */
  hs: boolean;
  /** Negative samples per positive (0 = none). */
  negative: number;
  window: number;
  dim: number;
  minCount: number;
  /** Prune the counts table while counting whenever it grows past this many words (gensim's max_vocab_size). */
  maxVocabSize: number;
  /** Subsampling threshold (0 = off). */
  sample: number;
  alpha: number;
  minAlpha: number;
  epochs: number;
  seed: number;
  /** Training threads (Hogwild over shared weights); 1 trains on the calling thread, deterministically for a seed. */
  threads: number;
}

/** gensim 4's defaults. */
export const WORD2VEC_DEFAULTS: Word2VecOptions = {
  model: 'cbow', cbowMean: true, hs: false, negative: 5, window: 5, dim: 100, minCount: 5, maxVocabSize: Infinity,
  sample: 1e-3, alpha: 0.025, minAlpha: 0.0001, epochs: 5, seed: 1, threads: 1,
};

/** Progress report, about every 10000 words. */
export interface Word2VecProgress {
  epoch: number;
  /** Vocabulary words processed so far over all epochs (before subsampling, as gensim counts). */
  words: number;
  totalWords: number;
  alpha: number;
  /** Mean loss per trained (word, target) pair since the previous report. */
  loss: number;
}

/** The trained arrays of a model. */
export interface Word2VecWeights {
  syn0: Float32Array;
  syn1neg: Float32Array;
  syn1: Float32Array;
}

/** A corpus: a path (file, folder, .gz) or a function giving a fresh pass of tokenised sentences. */
export type Corpus = string | (() => AsyncIterable<string[]> | Iterable<string[]>);

function pass(corpus: Corpus): AsyncIterable<string[]> | Iterable<string[]> {
  return typeof corpus === 'string' ? readSentences(corpus) : corpus();
}

/** Counts the corpus and builds the vocabulary (pass one). */
export async function buildVocab(corpus: Corpus, opts: Pick<Word2VecOptions, 'minCount' | 'sample' | 'maxVocabSize'>): Promise<Vocab> {
  const counter = new VocabCounter(opts.maxVocabSize);
  for await (const s of pass(corpus)) counter.add(s);
  const vocab = counter.build(opts.minCount, opts.sample);
  if (vocab.words.length === 0) throw new Error(`no word occurs ${opts.minCount} times or more in the corpus`);
  return vocab;
}

const MAX_EXP = 6;
const EXP_TABLE_SIZE = 1000;
/** word2vec.c's sigmoid table over [−MAX_EXP, MAX_EXP]. */
const EXP_TABLE = Float32Array.from({ length: EXP_TABLE_SIZE }, (_, i) => {
  const e = Math.exp(((i / EXP_TABLE_SIZE) * 2 - 1) * MAX_EXP);
  return e / (e + 1);
});
/** log σ over the same grid (gensim's LOG_TABLE): the loss costs a lookup, not a Math.log per pair. */
const LOG_TABLE = Float32Array.from(EXP_TABLE, (s) => Math.log(s));
const cell = (f: number) => Math.trunc((f + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2));
/** −log σ(x) for the loss, saturating at the table's ends. */
const negLogSigmoid = (x: number) => (x >= MAX_EXP ? 0 : -LOG_TABLE[cell(Math.max(x, -MAX_EXP + 1e-6))]!);
const sigmoid = (f: number) => EXP_TABLE[cell(f)]!;

/** Words per training job: alpha is recomputed and progress reported per job, as gensim. */
const JOB_WORDS = 10000;

/** A word2vec model: vocabulary, input vectors (syn0) and output weights (syn1neg for negatives, syn1 for HS). */
export class Word2Vec {
  readonly syn0: Float32Array;
  readonly syn1neg: Float32Array;
  readonly syn1: Float32Array;
  private readonly cumTable: Uint32Array;
  private readonly tree: Huffman | undefined;
  private rng: number;
  private readonly neu1: Float32Array;
  private readonly neu1e: Float32Array;
  private lossSum = 0;
  private lossCount = 0;

  /** New weights (or, in a worker thread, the shared weights of the model it helps train). */
  constructor(readonly vocab: Vocab, readonly opts: Word2VecOptions, weights?: Word2VecWeights) {
    const v = vocab.words.length;
    const d = opts.dim;
    if (!opts.hs && opts.negative <= 0) throw new Error('word2vec: use hierarchical softmax, negative sampling, or both');
    this.rng = (opts.seed * 2654435761) >>> 0 || 1;
    // SharedArrayBuffer-backed, so worker threads train them in place (Hogwild)
    const shared = (n: number) => new Float32Array(new SharedArrayBuffer(4 * n));
    this.syn0 = weights?.syn0 ?? shared(v * d);
    this.syn1neg = weights?.syn1neg ?? shared(opts.negative > 0 ? v * d : 0);
    this.syn1 = weights?.syn1 ?? shared(opts.hs ? v * d : 0);
    // uniform in [−0.5, 0.5)/dim as word2vec.c and gensim; output weights start at zero
    if (!weights) for (let i = 0; i < this.syn0.length; i++) this.syn0[i] = (this.next() / 2 ** 32 - 0.5) / d;
    this.cumTable = cumulativeTable(vocab.counts);
    this.tree = opts.hs ? huffman(vocab.counts) : undefined;
    this.neu1 = new Float32Array(d);
    this.neu1e = new Float32Array(d);
  }

  /** Trains from scratch: vocabulary pass, then `epochs` training passes. */
  static async train(corpus: Corpus, options: Partial<Word2VecOptions> = {}, onProgress?: (p: Word2VecProgress) => void): Promise<Word2Vec> {
    const opts = { ...WORD2VEC_DEFAULTS, ...options };
    const model = new Word2Vec(await buildVocab(corpus, opts), opts);
    await model.trainEpochs(corpus, onProgress);
    return model;
  }

  /** xorshift32: the trainer's only randomness, seeded by `seed`. */
  private next(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng;
  }

  /** Runs every epoch over the corpus with linear alpha decay by words processed (on `threads` worker threads when > 1). */
  async trainEpochs(corpus: Corpus, onProgress?: (p: Word2VecProgress) => void): Promise<void> {
    const { epochs, alpha, minAlpha, threads } = this.opts;
    const total = epochs * this.vocab.totalWords;
    const pool = threads > 1 ? new TrainerPool(this.vocab, this.opts, this, threads) : undefined;
    let done = 0;
    try {
      for (let epoch = 0; epoch < epochs; epoch++) {
        let job: number[][] = [];
        let jobWords = 0;
        const flush = async () => {
          const a = Math.max(minAlpha, alpha - (alpha - minAlpha) * (done / total));
          if (pool) await pool.submit(job, a);
          else for (const s of job) this.trainSentence(s, a);
          done += jobWords;
          onProgress?.({ epoch, words: done, totalWords: total, alpha: a, loss: pool ? pool.takeLoss() : this.takeLoss() });
          job = [];
          jobWords = 0;
        };
        for await (const sentence of pass(corpus)) {
          const ids: number[] = [];
          for (const w of sentence) {
            const i = this.vocab.index.get(w);
            if (i !== undefined) ids.push(i);
          }
          job.push(ids);
          jobWords += ids.length;
          if (jobWords >= JOB_WORDS) await flush();
        }
        if (jobWords > 0) await flush();
      }
      await pool?.drain();
    } finally {
      await pool?.close();
    }
  }

  /** Mean loss since the last call (and resets it). */
  takeLoss(): number {
    const l = this.lossCount > 0 ? this.lossSum / this.lossCount : 0;
    this.lossSum = 0;
    this.lossCount = 0;
    return l;
  }

  /** Trains on one sentence of vocabulary ids (subsampling applied here, before windows are formed, as gensim). */
  trainSentence(ids: number[], alpha: number): void {
    const kept: number[] = [];
    for (const w of ids) if (this.vocab.sampleInt[w]! >= this.next()) kept.push(w);
    const { window, model } = this.opts;
    const d = this.opts.dim;
    for (let pos = 0; pos < kept.length; pos++) {
      const b = this.next() % window; // reduced_window: the effective window is window − b
      const lo = Math.max(0, pos - window + b);
      const hi = Math.min(kept.length - 1, pos + window - b);
      const word = kept[pos]!;
      if (model === 'skipgram') {
        for (let c = lo; c <= hi; c++) {
          if (c === pos) continue;
          this.neu1e.fill(0);
          this.update(this.syn0, kept[c]! * d, word, alpha);
          const o = kept[c]! * d;
          for (let j = 0; j < d; j++) this.syn0[o + j]! += this.neu1e[j]!;
        }
      } else {
        const count = hi - lo;
        if (count === 0) continue;
        this.neu1.fill(0);
        for (let c = lo; c <= hi; c++) {
          if (c === pos) continue;
          const o = kept[c]! * d;
          for (let j = 0; j < d; j++) this.neu1[j]! += this.syn0[o + j]!;
        }
        if (this.opts.cbowMean) for (let j = 0; j < d; j++) this.neu1[j]! /= count;
        this.neu1e.fill(0);
        this.update(this.neu1, 0, word, alpha);
        // gensim spreads the error over a summed context; a mean context passes it whole to each word (word2vec.c)
        if (!this.opts.cbowMean) for (let j = 0; j < d; j++) this.neu1e[j]! /= count;
        for (let c = lo; c <= hi; c++) {
          if (c === pos) continue;
          const o = kept[c]! * d;
          for (let j = 0; j < d; j++) this.syn0[o + j]! += this.neu1e[j]!;
        }
      }
    }
  }

  /** One prediction of `word` from input vector l1 (at src[off..]): HS and/or negative sampling updates, error into neu1e. */
  private update(src: Float32Array, off: number, word: number, alpha: number): void {
    const d = this.opts.dim;
    const neu1e = this.neu1e;
    if (this.tree) {
      const code = this.tree.codes[word]!;
      const point = this.tree.points[word]!;
      for (let k = 0; k < code.length; k++) {
        const row = point[k]! * d;
        let f = 0;
        for (let j = 0; j < d; j++) f += src[off + j]! * this.syn1[row + j]!;
        if (f <= -MAX_EXP || f >= MAX_EXP) continue; // word2vec.c skips saturated nodes
        const s = sigmoid(f);
        const g = (1 - code[k]! - s) * alpha;
        this.lossSum += negLogSigmoid(code[k] ? -f : f);
        this.lossCount++;
        for (let j = 0; j < d; j++) neu1e[j]! += g * this.syn1[row + j]!;
        for (let j = 0; j < d; j++) this.syn1[row + j]! += g * src[off + j]!;
      }
    }
    const table = this.cumTable;
    const last = table[table.length - 1]!;
    const syn1neg = this.syn1neg;
    const negative = this.opts.negative;
    for (let n = 0; n <= negative && negative > 0; n++) {
      let target = word;
      if (n > 0) {
        // bisect_left over the cumulative unigram^0.75 table, as gensim
        const r = this.next() % last;
        let a = 0;
        let z = table.length;
        while (a < z) {
          const m = (a + z) >>> 1;
          if (table[m]! < r) a = m + 1;
          else z = m;
        }
        target = a;
        if (target === word) continue;
      }
      const label = n === 0 ? 1 : 0;
      const row = target * d;
      let f = 0;
      for (let j = 0; j < d; j++) f += src[off + j]! * syn1neg[row + j]!;
      // word2vec.c clamps saturated dot products to 0/1 instead of skipping them
      const s = f >= MAX_EXP ? 1 : f <= -MAX_EXP ? 0 : sigmoid(f);
      const g = (label - s) * alpha;
      this.lossSum += negLogSigmoid(label ? f : -f);
      this.lossCount++;
      for (let j = 0; j < d; j++) {
        neu1e[j]! += g * syn1neg[row + j]!;
        syn1neg[row + j]! += g * src[off + j]!;
      }
    }
  }

  /** The trained word vectors (syn0), with counts. */
  toVectors(): WordVectors {
    return new WordVectors({ words: this.vocab.words, dim: this.opts.dim, vectors: this.syn0, counts: this.vocab.counts });
  }
}
