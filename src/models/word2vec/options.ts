// word2vec's training settings and gensim 4's defaults, apart from the trainer so that the inner loops can name them.

/** Which inner loops train: WebAssembly SIMD, or the TypeScript reference. */
export type Word2VecKernels = 'wasm' | 'js';

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
  /** Inner loops: WebAssembly SIMD ('wasm', needs build/wasm) or the TypeScript reference ('js', slower). */
  kernels: Word2VecKernels;
  /**
   * Keep the first epoch's word ids in a temporary file (4 bytes a word) and replay them in later epochs instead of
   * reading the text again; a corpus function is then called twice in all (vocabulary, first epoch).
   */
  cacheJobs: boolean;
}

/** gensim 4's defaults. */
export const WORD2VEC_DEFAULTS: Word2VecOptions = {
  model: 'cbow', cbowMean: true, hs: false, negative: 5, window: 5, dim: 100, minCount: 5, maxVocabSize: Infinity,
  sample: 1e-3, alpha: 0.025, minAlpha: 0.0001, epochs: 5, seed: 1, threads: 1, kernels: 'wasm', cacheJobs: true,
};

/** Throws for settings outside their ranges, naming the setting (a zero dim or window would otherwise fail deep inside). */
export function checkWord2VecOptions(o: Word2VecOptions): void {
  const int = (name: keyof Word2VecOptions, min: number) => {
    const v = o[name];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) throw new RangeError(`word2vec: ${name} must be an integer >= ${min}, got ${String(v)}`);
  };
  int('dim', 1); int('window', 1); int('negative', 0); int('minCount', 0); int('epochs', 0); int('threads', 1);
  if (!(o.alpha > 0 && Number.isFinite(o.alpha))) throw new RangeError(`word2vec: alpha must be positive, got ${o.alpha}`);
  if (!(o.minAlpha >= 0 && o.minAlpha <= o.alpha)) throw new RangeError(`word2vec: minAlpha must be in [0, alpha], got ${o.minAlpha}`);
  if (!(o.sample >= 0)) throw new RangeError(`word2vec: sample must be >= 0, got ${o.sample}`);
  if (!o.hs && o.negative <= 0) throw new Error('word2vec: use hierarchical softmax, negative sampling, or both');
}
