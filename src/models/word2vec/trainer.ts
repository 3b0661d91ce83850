// word2vec training with word2vec.c / gensim semantics: CBOW (mean or sum) and skip-gram, negative sampling and/or
// hierarchical softmax, frequent-word subsampling, shrunk windows, linear alpha decay over all epochs. The corpus is
// streamed twice (vocabulary, then each epoch), so it never has to fit in memory; the main thread turns it into jobs
// of word ids written straight into the shared memory (arena.ts), which the inner loops (kernels.ts: WebAssembly
// SIMD, or the TypeScript reference) train on this thread or on Hogwild worker threads (threads.ts).
import { WordVectors } from '../vectors.js';
import { Arena, JOB_WORDS } from './arena.js';
import { MAX_SENTENCE_WORDS, sentencePass, type SentenceSource } from './corpus.js';

export type { SentenceSource } from './corpus.js';
import { JobCache } from './job-cache.js';
import { jobTrainer, seedState, word2vecModule, xorshift32 } from './kernels.js';
import { word2vecPool } from './threads.js';
import { VocabCounter, type Vocab } from './vocab.js';

import { WORD2VEC_DEFAULTS, checkWord2VecOptions, type Word2VecOptions } from './options.js';

export { WORD2VEC_DEFAULTS, type Word2VecKernels, type Word2VecOptions } from './options.js';

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

/** Counts the corpus and builds the vocabulary (pass one). */
export async function buildVocab(corpus: SentenceSource, opts: Pick<Word2VecOptions, 'minCount' | 'sample' | 'maxVocabSize'>): Promise<Vocab> {
  const counter = new VocabCounter(opts.maxVocabSize);
  for await (const s of sentencePass(corpus)) counter.add(s);
  const vocab = counter.build(opts.minCount, opts.sample);
  if (vocab.words.length === 0) throw new Error(`no word occurs ${opts.minCount} times or more in the corpus`);
  return vocab;
}

/** A word2vec model: vocabulary, input vectors (syn0) and output weights (syn1neg for negatives, syn1 for HS). */
export class Word2Vec {
  /** Input vectors, [vocabulary, dim], a view of the shared memory. */
  readonly syn0: Float32Array;
  /** Negative-sampling output weights (empty without negative sampling). */
  readonly syn1neg: Float32Array;
  /** Hierarchical-softmax output weights, one row per inner node (empty without hierarchical softmax). */
  readonly syn1: Float32Array;
  private readonly arena: Arena;
  /** xorshift32 state: initialises syn0, then drives a one-thread run, so a seed fixes the whole run. */
  private rng: number;

  constructor(readonly vocab: Vocab, readonly opts: Word2VecOptions) {
    checkWord2VecOptions(opts);
    const d = opts.dim;
    // one job slot per worker plus one the main thread fills meanwhile; one thread needs one slot
    this.arena = Arena.create(vocab.counts, vocab.sampleInt, opts, opts.threads > 1 ? opts.threads + 1 : 1);
    ({ syn0: this.syn0, syn1neg: this.syn1neg, syn1: this.syn1 } = this.arena);
    this.rng = seedState(opts.seed);
    // uniform in [−1, 1)/dim as gensim 4 (word2vec.c: [−0.5, 0.5)/dim; the wider start gives CBOW about 1 analogy
    // point more on the benchmark, docs/word2vec.md); output weights start at zero
    for (let i = 0; i < this.syn0.length; i++) {
      this.rng = xorshift32(this.rng);
      this.syn0[i] = (2 * (this.rng / 2 ** 32) - 1) / d;
    }
  }

  /** Trains from scratch: vocabulary pass, then `epochs` training passes. */
  static async train(corpus: SentenceSource, options: Partial<Word2VecOptions> = {}, onProgress?: (p: Word2VecProgress) => void): Promise<Word2Vec> {
    const opts = { ...WORD2VEC_DEFAULTS, ...options };
    const model = new Word2Vec(await buildVocab(corpus, opts), opts);
    await model.trainEpochs(corpus, onProgress);
    return model;
  }

  /** Runs every epoch over the corpus with linear alpha decay by words processed (on `threads` worker threads when > 1). */
  async trainEpochs(corpus: SentenceSource, onProgress?: (p: Word2VecProgress) => void): Promise<void> {
    const { epochs, alpha, minAlpha, threads, kernels } = this.opts;
    const total = epochs * this.vocab.totalWords;
    const module = kernels === 'wasm' ? word2vecModule() : undefined;
    let lossSum = 0;
    let lossPairs = 0;
    const addLoss = (l: { sum: number; pairs: number }) => {
      lossSum += l.sum;
      lossPairs += l.pairs;
    };
    const pool = threads > 1 ? word2vecPool(this.arena, this.opts, threads, module, addLoss) : undefined;
    const local = pool ? undefined : jobTrainer(kernels, this.arena, this.opts, this.rng, module);
    // epochs after the first replay the first one's jobs from disk: the text is read and split twice in all
    const cache = epochs > 1 && this.opts.cacheJobs ? new JobCache() : undefined;
    let done = 0;
    /** Words done when the last job was submitted (its alpha). */
    let lastJobStart = 0;
    let slot = pool ? pool.freeSlot() : 0;
    let job = this.arena.job(slot);
    let sentences = 0;
    let jobWords = 0;
    try {
      for (let epoch = 0; epoch < epochs; epoch++) {
        const flush = async () => {
          if (epoch === 0) cache?.append(job, jobWords, sentences);
          lastJobStart = done;
          const a = Math.max(minAlpha, alpha - (alpha - minAlpha) * (done / total));
          if (pool) {
            await pool.submit({ slot, sentences, alpha: a });
            slot = pool.freeSlot();
            job = this.arena.job(slot);
          } else {
            local!.train(slot, sentences, a);
            addLoss(local!.takeLoss());
          }
          done += jobWords;
          onProgress?.({ epoch, words: done, totalWords: total, alpha: a, loss: lossPairs > 0 ? lossSum / lossPairs : 0 });
          lossSum = 0;
          lossPairs = 0;
          sentences = 0;
          jobWords = 0;
        };
        if (epoch > 0 && cache) {
          cache.rewind();
          for (let next = cache.next(job); next; next = cache.next(job)) {
            ({ words: jobWords, sentences } = next);
            await flush();
          }
          continue;
        }
        for await (const sentence of sentencePass(corpus)) {
          let length = 0;
          for (const w of sentence) {
            const i = this.vocab.index.get(w);
            if (i === undefined) continue;
            // a sentence is cut every MAX_SENTENCE_WORDS vocabulary words (gensim's limit), so a job never
            // outgrows its slot (JOB_WORDS plus one sentence)
            if (length === MAX_SENTENCE_WORDS) {
              job.ends[sentences++] = jobWords;
              length = 0;
              if (jobWords >= JOB_WORDS) await flush();
            }
            job.words[jobWords++] = i;
            length++;
          }
          if (length === 0) continue;
          job.ends[sentences++] = jobWords;
          if (jobWords >= JOB_WORDS) await flush();
        }
        if (jobWords > 0) await flush();
      }
      await pool?.drain();
      // worker threads report a job's loss when it ends, after the report of its submission: the last jobs' loss
      // gets a report of its own
      if (lossPairs > 0) {
        onProgress?.({ epoch: epochs - 1, words: done, totalWords: total, alpha: Math.max(minAlpha, alpha - (alpha - minAlpha) * (lastJobStart / total)), loss: lossSum / lossPairs });
      }
    } finally {
      await pool?.close();
      cache?.close();
    }
    if (local) this.rng = local.randomState();
  }

  /** The trained word vectors (syn0), with counts. */
  toVectors(): WordVectors {
    return new WordVectors({ words: this.vocab.words, dim: this.opts.dim, vectors: this.syn0, counts: this.vocab.counts });
  }
}
