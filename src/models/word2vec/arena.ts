// The memory a word2vec model trains in: one shared WebAssembly.Memory holding the sigmoid tables, the negative-
// sampling table, the subsampling thresholds, the Huffman codes, the weights (syn0, syn1neg, syn1) and one slot per
// job in flight (the job's word ids and sentence ends, the kept ids, neu1 and neu1e). Every thread, whichever kernels
// it runs (WebAssembly or the TypeScript reference), reads and writes the same bytes: the main thread writes a job's
// ids into a free slot and a worker trains it in place, so neither weights nor jobs are ever copied.
import { MAX_SENTENCE_WORDS } from './corpus.js';
import { cumulativeTable, huffman } from './vocab.js';

/** Words per training job: alpha is recomputed and progress reported per job, as gensim. */
export const JOB_WORDS = 10000;
/** A job closes once it holds JOB_WORDS words, so its last sentence (at most MAX_SENTENCE_WORDS) may overrun that. */
export const JOB_CAPACITY = JOB_WORDS + MAX_SENTENCE_WORDS;

export const MAX_EXP = 6;
export const EXP_TABLE_SIZE = 1000;

const PAGE = 65536;
/** WebAssembly modules keep their own static data in the first 64 KiB (scripts/build-wasm.mjs). */
const STATIC_BYTES = PAGE;
/** wasm32 addresses at most 65536 pages. */
const MAX_PAGES = 65536;

/** Byte offsets of one job slot. */
export interface SlotLayout {
  words: number;
  ends: number;
  kept: number;
  neu1: number;
  neu1e: number;
  /** A prediction's output rows: the word and its negatives. */
  targets: number;
}

/** Byte offsets of every array in the memory (plain numbers, so the layout can be posted to workers). */
export interface ArenaLayout {
  dim: number;
  vocabSize: number;
  /** Rows of syn1neg (vocabSize with negative sampling, else 0) and of syn1 (vocabSize with hierarchical softmax). */
  syn1negRows: number;
  syn1Rows: number;
  /** Total length of all Huffman codes (0 without hierarchical softmax). */
  codeEntries: number;
  expTable: number;
  logTable: number;
  cumTable: number;
  sampleInt: number;
  codeStart: number;
  points: number;
  codes: number;
  syn0: number;
  syn1neg: number;
  syn1: number;
  slots: SlotLayout[];
  bytes: number;
}

/** What a worker thread needs to attach to a model's memory. */
export interface ArenaHandle {
  memory: WebAssembly.Memory;
  layout: ArenaLayout;
}

/** What decides the layout. */
export interface ArenaShape {
  dim: number;
  negative: number;
  hs: boolean;
}

const align = (n: number) => Math.ceil(n / 64) * 64;

function plan(vocabSize: number, codeEntries: number, shape: ArenaShape, slots: number): ArenaLayout {
  let end = STATIC_BYTES;
  const take = (bytes: number) => { const at = end; end = align(end + bytes); return at; };
  const v = vocabSize;
  const d = shape.dim;
  const layout: Omit<ArenaLayout, 'slots' | 'bytes'> = {
    dim: d, vocabSize: v, codeEntries, syn1negRows: shape.negative > 0 ? v : 0, syn1Rows: shape.hs ? v : 0,
    expTable: take(4 * EXP_TABLE_SIZE), logTable: take(4 * EXP_TABLE_SIZE), cumTable: take(4 * v), sampleInt: take(8 * v),
    codeStart: take(4 * (v + 1)), points: take(4 * codeEntries), codes: take(codeEntries),
    syn0: take(4 * v * d), syn1neg: take(shape.negative > 0 ? 4 * v * d : 0), syn1: take(shape.hs ? 4 * v * d : 0),
  };
  const slotList = Array.from({ length: slots }, () => ({
    words: take(4 * JOB_CAPACITY), ends: take(4 * JOB_CAPACITY), kept: take(4 * MAX_SENTENCE_WORDS), neu1: take(4 * d), neu1e: take(4 * d),
    targets: take(4 * (shape.negative + 1)),
  }));
  return { ...layout, slots: slotList, bytes: end };
}

/** A model's shared memory with typed views of its arrays. */
export class Arena {
  readonly syn0: Float32Array;
  readonly syn1neg: Float32Array;
  readonly syn1: Float32Array;
  readonly expTable: Float32Array;
  readonly logTable: Float32Array;
  readonly cumTable: Uint32Array;
  readonly sampleInt: Float64Array;
  /** Word w's Huffman path is entries codeStart[w] .. codeStart[w + 1] of points (inner nodes) and codes (bits). */
  readonly codeStart: Int32Array;
  readonly points: Int32Array;
  readonly codes: Uint8Array;

  private constructor(readonly memory: WebAssembly.Memory, readonly layout: ArenaLayout) {
    const buf = memory.buffer;
    const l = layout;
    const v = l.vocabSize;
    const f32 = (at: number, n: number) => new Float32Array(buf, at, n);
    this.expTable = f32(l.expTable, EXP_TABLE_SIZE);
    this.logTable = f32(l.logTable, EXP_TABLE_SIZE);
    this.cumTable = new Uint32Array(buf, l.cumTable, v);
    this.sampleInt = new Float64Array(buf, l.sampleInt, v);
    this.codeStart = new Int32Array(buf, l.codeStart, v + 1);
    this.points = new Int32Array(buf, l.points, l.codeEntries);
    this.codes = new Uint8Array(buf, l.codes, l.codeEntries);
    this.syn0 = f32(l.syn0, v * l.dim);
    this.syn1neg = f32(l.syn1neg, l.syn1negRows * l.dim);
    this.syn1 = f32(l.syn1, l.syn1Rows * l.dim);
  }

  /** A new memory for a vocabulary (counts by descending frequency), with the tables filled and the weights at zero. */
  static create(counts: number[], sampleInt: Float64Array, shape: ArenaShape, slots: number): Arena {
    const tree = shape.hs ? huffman(counts) : undefined;
    const codeEntries = tree ? tree.codes.reduce((s, c) => s + c.length, 0) : 0;
    const layout = plan(counts.length, codeEntries, shape, slots);
    const pages = Math.ceil(layout.bytes / PAGE);
    if (pages > MAX_PAGES) {
      throw new Error(`word2vec: the model needs ${(layout.bytes / 2 ** 30).toFixed(2)} GiB, over the 4 GiB a WebAssembly memory holds; lower dim or the vocabulary (min_count, max_vocab_size)`);
    }
    // never grown, so every view stays valid for the model's life
    const arena = new Arena(new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }), layout);
    for (let i = 0; i < EXP_TABLE_SIZE; i++) {
      const e = Math.exp(((i / EXP_TABLE_SIZE) * 2 - 1) * MAX_EXP);
      arena.expTable[i] = e / (e + 1); // word2vec.c's sigmoid table over [−MAX_EXP, MAX_EXP]
      arena.logTable[i] = Math.log(arena.expTable[i]!); // log σ on the same grid (gensim's LOG_TABLE), for the loss
    }
    arena.cumTable.set(cumulativeTable(counts));
    arena.sampleInt.set(sampleInt);
    if (tree) {
      let at = 0;
      tree.codes.forEach((code, w) => {
        arena.codeStart[w] = at;
        arena.codes.set(code, at);
        arena.points.set(tree.points[w]!, at);
        at += code.length;
      });
      arena.codeStart[counts.length] = at;
    }
    return arena;
  }

  /** The same memory seen from another thread. */
  static attach(handle: ArenaHandle): Arena {
    return new Arena(handle.memory, handle.layout);
  }

  /** What to post to a worker so that it can attach. */
  handle(): ArenaHandle {
    return { memory: this.memory, layout: this.layout };
  }

  /** A slot's job arrays: word ids back to back, and the index after each sentence's last word. */
  job(slot: number): { words: Int32Array; ends: Int32Array } {
    const s = this.layout.slots[slot]!;
    return { words: new Int32Array(this.memory.buffer, s.words, JOB_CAPACITY), ends: new Int32Array(this.memory.buffer, s.ends, JOB_CAPACITY) };
  }
}
