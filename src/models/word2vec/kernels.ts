// The two implementations of word2vec's inner loops, both training a job of sentences held in an arena slot:
// the WebAssembly SIMD kernels (assembly/word2vec.ts, the default) and this file's TypeScript reference, which the
// tests hold the WebAssembly kernels to. Both draw from the same xorshift32 stream in the same order, so with one
// thread and a seed they train on exactly the same words, windows and negatives; only float rounding differs
// (the reference computes in double precision, the kernels in float32 lanes).
import { compilePackageWasm } from '../../platform/node.js';
import { EXP_TABLE_SIZE, MAX_EXP, type Arena, type ArenaLayout } from './arena.js';
import type { Word2VecKernels, Word2VecOptions } from './options.js';

/** The model settings the inner loops need. */
export type KernelSettings = Pick<Word2VecOptions, 'model' | 'cbowMean' | 'hs' | 'negative' | 'window' | 'dim'>;

/** Trains jobs written into the slots of an arena, on one thread. */
export interface JobTrainer {
  /** Trains the job in `slot` (`sentences` sentences) at learning rate `alpha`. */
  train(slot: number, sentences: number, alpha: number): void;
  /** Summed loss and number of (word, target) pairs since the last call (and resets them). */
  takeLoss(): { sum: number; pairs: number };
  /** The random generator's state (to continue the stream on a later run). */
  randomState(): number;
}

/** The xorshift32 state for a seed (never 0, which xorshift cannot leave). */
export function seedState(seed: number): number {
  return (seed * 2654435761) >>> 0 || 1;
}

/** The next xorshift32 state (Marsaglia's 13, 17, 5): the one stream of the word2vec and GloVe loops and kernels. */
export function xorshift32(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** The TypeScript reference: word2vec.c / gensim's loops written out in plain arithmetic. */
export class JsTrainer implements JobTrainer {
  private readonly neu1: Float32Array;
  private readonly neu1e: Float32Array;
  private kept: Int32Array;
  private lossSum = 0;
  private lossCount = 0;
  private readonly cell = (f: number) => Math.trunc((f + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2));

  constructor(private readonly arena: Arena, private readonly opts: KernelSettings, private rng: number) {
    this.neu1 = new Float32Array(opts.dim);
    this.neu1e = new Float32Array(opts.dim);
    this.kept = new Int32Array(0);
  }

  randomState(): number { return this.rng; }

  takeLoss(): { sum: number; pairs: number } {
    const out = { sum: this.lossSum, pairs: this.lossCount };
    this.lossSum = 0;
    this.lossCount = 0;
    return out;
  }

  private next(): number {
    this.rng = xorshift32(this.rng);
    return this.rng;
  }

  /** −log σ(x) for the loss, saturating at the table's ends. */
  private negLogSigmoid(x: number): number {
    return x >= MAX_EXP ? 0 : -this.arena.logTable[this.cell(Math.max(x, -MAX_EXP + 1e-6))]!;
  }

  train(slot: number, sentences: number, alpha: number): void {
    const { words, ends } = this.arena.job(slot);
    let start = 0;
    for (let s = 0; s < sentences; s++) {
      this.trainSentence(words.subarray(start, ends[s]!), alpha);
      start = ends[s]!;
    }
  }

  /** One sentence of vocabulary ids (subsampling applied here, before windows are formed, as gensim). */
  private trainSentence(ids: Int32Array, alpha: number): void {
    if (this.kept.length < ids.length) this.kept = new Int32Array(ids.length);
    const kept = this.kept;
    const sampleInt = this.arena.sampleInt;
    let count = 0;
    for (const w of ids) if (sampleInt[w]! >= this.next()) kept[count++] = w;
    const { window, model, dim: d } = this.opts;
    const syn0 = this.arena.syn0;
    for (let pos = 0; pos < count; pos++) {
      const b = this.next() % window; // reduced_window: the effective window is window − b
      const lo = Math.max(0, pos - window + b);
      const hi = Math.min(count - 1, pos + window - b);
      const word = kept[pos]!;
      if (model === 'skipgram') {
        for (let c = lo; c <= hi; c++) {
          if (c === pos) continue;
          const o = kept[c]! * d;
          this.neu1e.fill(0);
          this.update(syn0, o, word, alpha);
          for (let j = 0; j < d; j++) syn0[o + j]! += this.neu1e[j]!;
        }
      } else {
        const contexts = hi - lo;
        if (contexts === 0) continue;
        this.neu1.fill(0);
        for (let c = lo; c <= hi; c++) {
          if (c === pos) continue;
          const o = kept[c]! * d;
          for (let j = 0; j < d; j++) this.neu1[j]! += syn0[o + j]!;
        }
        if (this.opts.cbowMean) for (let j = 0; j < d; j++) this.neu1[j]! /= contexts;
        this.neu1e.fill(0);
        this.update(this.neu1, 0, word, alpha);
        // gensim spreads the error over a summed context; a mean context passes it whole to each word (word2vec.c)
        if (!this.opts.cbowMean) for (let j = 0; j < d; j++) this.neu1e[j]! /= contexts;
        for (let c = lo; c <= hi; c++) {
          if (c === pos) continue;
          const o = kept[c]! * d;
          for (let j = 0; j < d; j++) syn0[o + j]! += this.neu1e[j]!;
        }
      }
    }
  }

  /** One prediction of `word` from input vector l1 (at src[off..]): HS and/or negative sampling updates, error into neu1e. */
  private update(src: Float32Array, off: number, word: number, alpha: number): void {
    const d = this.opts.dim;
    const neu1e = this.neu1e;
    const { expTable, syn1, syn1neg, codeStart, codes, points, cumTable: table } = this.arena;
    if (this.opts.hs) {
      for (let k = codeStart[word]!; k < codeStart[word + 1]!; k++) {
        const row = points[k]! * d;
        let f = 0;
        for (let j = 0; j < d; j++) f += src[off + j]! * syn1[row + j]!;
        if (f <= -MAX_EXP || f >= MAX_EXP) continue; // word2vec.c skips saturated nodes
        const s = expTable[this.cell(f)]!;
        const g = (1 - codes[k]! - s) * alpha;
        this.lossSum += this.negLogSigmoid(codes[k] ? -f : f);
        this.lossCount++;
        for (let j = 0; j < d; j++) {
          neu1e[j]! += g * syn1[row + j]!;
          syn1[row + j]! += g * src[off + j]!;
        }
      }
    }
    const negative = this.opts.negative;
    if (negative <= 0) return;
    const last = table[table.length - 1]!;
    for (let n = 0; n <= negative; n++) {
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
      const s = f >= MAX_EXP ? 1 : f <= -MAX_EXP ? 0 : expTable[this.cell(f)]!;
      const g = (label - s) * alpha;
      this.lossSum += this.negLogSigmoid(label ? f : -f);
      this.lossCount++;
      for (let j = 0; j < d; j++) {
        neu1e[j]! += g * syn1neg[row + j]!;
        syn1neg[row + j]! += g * src[off + j]!;
      }
    }
  }
}

/** The exports of build/wasm/word2vec.*.wasm. */
interface Word2VecExports {
  configure(dim: number, window: number, negative: number, hs: number, cbow: number, cbowMean: number, vocabSize: number,
    expTable: number, logTable: number, cumTable: number, sampleInt: number, codeStart: number, codes: number, points: number,
    syn0: number, syn1neg: number, syn1: number): void;
  setRandomState(s: number): void;
  randomState(): number;
  loss(): number;
  lossPairs(): number;
  resetLoss(): void;
  trainJob(sentences: number, alpha: number, words: number, ends: number, kept: number, neu1: number, neu1e: number, targets: number): void;
}

let compiled: WebAssembly.Module | undefined;

/** The compiled kernels: the relaxed-SIMD build (fused multiply-add) where the runtime takes it, else plain SIMD. */
export function word2vecModule(): WebAssembly.Module {
  if (compiled) return compiled;
  compiled = compilePackageWasm('word2vec', 'word2vec').module;
  return compiled;
}

/** The arguments of the kernels' configure(): the model's shape and the offsets of its tables and weights. */
export function configureArgs(layout: ArenaLayout, opts: KernelSettings): number[] {
  const l = layout;
  return [opts.dim, opts.window, opts.negative, opts.hs ? 1 : 0, opts.model === 'cbow' ? 1 : 0, opts.cbowMean ? 1 : 0, l.vocabSize,
    l.expTable, l.logTable, l.cumTable, l.sampleInt, l.codeStart, l.codes, l.points, l.syn0, l.syn1neg, l.syn1];
}

/** The arguments of the kernels' trainJob() after (sentences, alpha): the slot's job arrays and scratch. */
export function slotArgs(layout: ArenaLayout, slot: number): number[] {
  const s = layout.slots[slot]!;
  return [s.words, s.ends, s.kept, s.neu1, s.neu1e, s.targets];
}

/** The WebAssembly SIMD kernels on this thread: one instance over the arena's memory; a job is one call. */
export class WasmTrainer implements JobTrainer {
  private readonly exports: Word2VecExports;
  private readonly slots: number[][];

  constructor(arena: Arena, opts: KernelSettings, rng: number, module: WebAssembly.Module = word2vecModule()) {
    const instance = new WebAssembly.Instance(module, { env: { memory: arena.memory, abort: () => { throw new Error('word2vec wasm: abort'); } } });
    this.exports = instance.exports as unknown as Word2VecExports;
    this.exports.configure(...(configureArgs(arena.layout, opts) as Parameters<Word2VecExports['configure']>));
    this.exports.setRandomState(rng);
    this.slots = arena.layout.slots.map((_, i) => slotArgs(arena.layout, i));
  }

  randomState(): number { return this.exports.randomState() >>> 0; }

  takeLoss(): { sum: number; pairs: number } {
    const out = { sum: this.exports.loss(), pairs: this.exports.lossPairs() };
    this.exports.resetLoss();
    return out;
  }

  train(slot: number, sentences: number, alpha: number): void {
    const [words, ends, kept, neu1, neu1e, targets] = this.slots[slot]!;
    this.exports.trainJob(sentences, alpha, words!, ends!, kept!, neu1!, neu1e!, targets!);
  }
}

/** A trainer of the chosen kernels over an arena (`module`: the compiled WebAssembly, posted to worker threads). */
export function jobTrainer(kernels: Word2VecKernels, arena: Arena, opts: KernelSettings, rng: number, module?: WebAssembly.Module): JobTrainer {
  return kernels === 'wasm' ? new WasmTrainer(arena, opts, rng, module) : new JsTrainer(arena, opts, rng);
}
