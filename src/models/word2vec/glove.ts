// GloVe (Pennington et al. 2014) as the reference glove.c: symmetric windowed co-occurrence counts weighted 1/distance,
// kept within a memory budget by spilling sorted shards to disk and merging them; glove.c's shuffle (one random order
// of all the entries, kept for every epoch); then AdaGrad on the weighted least-squares loss
// f(x)·(wᵢ·w̃ⱼ + bᵢ + b̃ⱼ − log x)², f(x) = min(1, (x/x_max)^alpha), with glove.c's gradient clipping and bias step.
// Saves W + W̃. bench/peers/glove_numpy.py is the independent NumPy reference (test/fixtures/glove holds its counts and
// first epochs). Training runs the WebAssembly SIMD kernel (gloveBlock in assembly/word2vec.ts) on this thread or on
// Hogwild worker threads over one shared memory, as glove.c's threads; the TypeScript loop here is the reference.
import { fs, os, nodePath } from '../../platform/node.js';
import { WordVectors } from '../vectors.js';
import { sentencePass, type SentenceSource } from './corpus.js';
import { seedState, word2vecModule, xorshift32 } from './kernels.js';
import type { Word2VecKernels } from './options.js';
import { scriptWorker, SlotPool, type SlotDone, type SlotJob } from './threads.js';
import { VocabCounter, type Vocab } from './vocab.js';

/** GloVe settings (defaults: glove.c's demo). */
export interface GloveOptions {
  dim: number;
  window: number;
  minCount: number;
  xMax: number;
  alpha: number;
  /** AdaGrad learning rate. */
  eta: number;
  epochs: number;
  seed: number;
  /** Co-occurrence entries held in memory before a sorted shard is spilled to disk. */
  memoryEntries: number;
  /** Training threads (Hogwild); 1 trains on the calling thread, deterministically for a seed. */
  threads: number;
  /** AdaGrad loop: WebAssembly SIMD ('wasm', needs build/wasm), or the single-threaded TypeScript reference ('js'). */
  kernels: Word2VecKernels;
  /** Each weight component's gradient is clipped to [−gradClip, gradClip] before eta (glove.c's -grad-clip, 100). */
  gradClip: number;
  /**
   * Whether the biases learn at eta too (glove.c 1.2 and the paper). By default they learn at AdaGrad rate 1, as
   * glove.c has since its 2019 gradient clipping (eta there multiplies the weight components only).
   */
  biasEta: boolean;
  /**
   * Training order: 'global', glove.c's shuffle (one random order of all the entries, the same every epoch), or
   * 'blocks', the entries in (i, j) order with each block of 65536 shuffled on its own every epoch (this trainer's
   * order before it followed glove.c; kept to measure the difference).
   */
  shuffle: 'global' | 'blocks';
}

/** glove.c defaults (x_max 100, alpha 0.75, eta 0.05, grad-clip 100). */
export const GLOVE_DEFAULTS: GloveOptions = { dim: 100, window: 10, minCount: 5, xMax: 100, alpha: 0.75, eta: 0.05, epochs: 15, seed: 1, memoryEntries: 4_000_000, threads: 1, kernels: 'wasm', gradClip: 100, biasEta: false, shuffle: 'global' };

/** Progress: phase and the loss of the last epoch. */
export interface GloveProgress { phase: 'vocab' | 'cooccur' | 'train'; epoch?: number; loss?: number }

const ENTRY = 24; // i (f64), j (f64), x (f64) per entry of a shard (sorted by (i, j)) or of the shuffled file
/** Entries per training block: one kernel call. */
const BLOCK = 65536;

/**
 * Co-occurrence sums keyed by (i, j): open addressing with linear probing over typed arrays, which costs a small
 * fraction of a Map of numbers per update (the counting pass makes 2·window updates per word). Grows by doubling
 * at half full; the caller spills it to a shard past the memory budget.
 */
class CooccurTable {
  /** i·v + j per slot, or −1 when the slot is empty. */
  private keys = new Float64Array(1 << 16).fill(-1);
  private sums = new Float64Array(1 << 16);
  private bits = 16;
  size = 0;

  constructor(private readonly v: number) {}

  private slot(i: number, j: number): number {
    return Math.imul(Math.imul(i, 0x85ebca6b) ^ j, 0x9e3779b1) >>> (32 - this.bits);
  }

  /** Adds x to the sum of (i, j). */
  add(i: number, j: number, x: number): void {
    const key = i * this.v + j;
    const mask = this.keys.length - 1;
    for (let h = this.slot(i, j); ; h = (h + 1) & mask) {
      const k = this.keys[h]!;
      if (k === key) { this.sums[h]! += x; return; }
      if (k < 0) {
        this.keys[h] = key;
        this.sums[h] = x;
        if (++this.size * 2 > this.keys.length) this.grow();
        return;
      }
    }
  }

  private grow(): void {
    const [keys, sums] = [this.keys, this.sums];
    this.bits++;
    this.keys = new Float64Array(1 << this.bits).fill(-1);
    this.sums = new Float64Array(1 << this.bits);
    this.size = 0;
    for (let h = 0; h < keys.length; h++) if (keys[h]! >= 0) this.add(Math.floor(keys[h]! / this.v), keys[h]! % this.v, sums[h]!);
  }

  /** The slot holding (i, j), which is present. */
  private find(i: number, j: number): number {
    const key = i * this.v + j;
    const mask = this.keys.length - 1;
    let h = this.slot(i, j);
    while (this.keys[h] !== key) h = (h + 1) & mask;
    return h;
  }

  /** Writes the entries sorted by (i, j) to a new shard file, then empties the table; returns how many it wrote. */
  spill(path: string): number {
    const sorted = new Float64Array(this.size);
    let n = 0;
    for (let h = 0; h < this.keys.length; h++) if (this.keys[h]! >= 0) sorted[n++] = this.keys[h]!;
    sorted.sort();
    const buf = new Float64Array(n * 3);
    sorted.forEach((key, e) => {
      const i = Math.floor(key / this.v);
      const j = key % this.v;
      buf[3 * e] = i;
      buf[3 * e + 1] = j;
      buf[3 * e + 2] = this.sums[this.find(i, j)]!;
    });
    const fd = fs.openSync(path, 'w');
    fs.writeSync(fd, new Uint8Array(buf.buffer));
    fs.closeSync(fd);
    this.keys.fill(-1);
    this.size = 0;
    return n;
  }
}

/** Buffered sequential reader of a shard. */
class ShardReader {
  private readonly fd: number;
  private buf = new Float64Array(3 * 4096);
  private n = 0;
  private at = 0;
  private done = false;
  constructor(path: string) { this.fd = fs.openSync(path, 'r'); }

  /** Refills the buffer when it is used up; false at the end of the file. */
  private fill(): boolean {
    if (this.done) return false;
    if (this.at < this.n) return true;
    const bytes = fs.readSync(this.fd, new Uint8Array(this.buf.buffer));
    this.n = Math.floor(bytes / ENTRY);
    this.at = 0;
    if (this.n === 0) { fs.closeSync(this.fd); this.done = true; return false; }
    return true;
  }

  /** The next entry [i, j, x], or undefined at the end. */
  next(): [number, number, number] | undefined {
    if (!this.fill()) return undefined;
    const o = 3 * this.at++;
    return [this.buf[o]!, this.buf[o + 1]!, this.buf[o + 2]!];
  }

  /** Reads up to out.length / 3 entries into out as (i, j, x) triples; returns how many (0 at the end). */
  read(out: Float64Array): number {
    const max = out.length / 3;
    let n = 0;
    while (n < max && this.fill()) {
      const take = Math.min(max - n, this.n - this.at);
      out.set(this.buf.subarray(3 * this.at, 3 * (this.at + take)), 3 * n);
      this.at += take;
      n += take;
    }
    return n;
  }
}

/** Merges sorted shards into one file of summed entries; returns the entry count. */
function mergeShards(shards: string[], out: string): number {
  const readers = shards.map((s) => new ShardReader(s));
  const heads = readers.map((r) => r.next());
  const fd = fs.openSync(out, 'w');
  const buf = new Float64Array(3 * 4096);
  let fill = 0;
  let count = 0;
  const emit = (e: [number, number, number]) => {
    buf.set(e, 3 * fill++);
    count++;
    if (fill === 4096) { fs.writeSync(fd, new Uint8Array(buf.buffer)); fill = 0; }
  };
  for (;;) {
    let best = -1;
    for (let s = 0; s < heads.length; s++) {
      const h = heads[s];
      if (h && (best < 0 || h[0] < heads[best]![0] || (h[0] === heads[best]![0] && h[1] < heads[best]![1]))) best = s;
    }
    if (best < 0) break;
    const cur = heads[best]!;
    heads[best] = readers[best]!.next();
    // sum the same (i, j) across shards
    for (let s = 0; s < heads.length; s++) {
      while (heads[s] && heads[s]![0] === cur[0] && heads[s]![1] === cur[1]) { cur[2] += heads[s]![2]; heads[s] = readers[s]!.next(); }
    }
    emit(cur);
  }
  if (fill > 0) fs.writeSync(fd, new Uint8Array(buf.buffer, 0, fill * ENTRY));
  fs.closeSync(fd);
  return count;
}

/** A uniform draw in [0, 1) from xorshift32, seeded as the word2vec kernels' generator. */
function uniform(seed: number): () => number {
  let rng = seedState(seed);
  return () => (rng = xorshift32(rng)) / 2 ** 32;
}

/**
 * The vocabulary (count >= minCount, most frequent first), then cooccur's counts into `dir`: each line is a sentence,
 * out-of-vocabulary words are dropped first, and each word adds 1/distance to (context, word) and (word, context) for
 * each of the `window` words before it, nearest first (cooccur's order of additions). Past the memory budget the
 * table is spilled as a sorted shard; the shards are merged into one file of summed entries, sorted by (i, j).
 */
async function countCooccurrences(corpus: SentenceSource, opts: GloveOptions, dir: string, onProgress?: (p: GloveProgress) => void): Promise<{ vocab: Vocab; path: string; entries: number }> {
  const pass = () => sentencePass(corpus);
  onProgress?.({ phase: 'vocab' });
  const counter = new VocabCounter();
  for await (const s of pass()) counter.add(s);
  const vocab = counter.build(opts.minCount, 0);
  const v = vocab.words.length;
  if (v === 0) throw new Error(`no word occurs ${opts.minCount} times or more in the corpus`);
  onProgress?.({ phase: 'cooccur' });
  const shards: string[] = [];
  const table = new CooccurTable(v);
  const ids: number[] = [];
  for await (const s of pass()) {
    ids.length = 0;
    for (const w of s) { const i = vocab.index.get(w); if (i !== undefined) ids.push(i); }
    for (let a = 1; a < ids.length; a++) {
      for (let b = a - 1; b >= Math.max(0, a - opts.window); b--) {
        const x = 1 / (a - b);
        table.add(ids[b]!, ids[a]!, x);
        table.add(ids[a]!, ids[b]!, x);
      }
    }
    if (table.size > opts.memoryEntries) { shards.push(nodePath.join(dir, `shard-${shards.length}.bin`)); table.spill(shards.at(-1)!); }
  }
  shards.push(nodePath.join(dir, `shard-${shards.length}.bin`));
  const last = table.spill(shards.at(-1)!);
  // a single shard is already sorted and summed
  if (shards.length === 1) return { vocab, path: shards[0]!, entries: last };
  const path = nodePath.join(dir, 'cooccur.bin');
  const entries = mergeShards(shards, path);
  for (const s of shards) fs.rmSync(s);
  return { vocab, path, entries };
}

/** Reads a whole entry file into memory. */
function readEntries(path: string): Float64Array {
  const out = new Float64Array(fs.statSync(path).size / 8);
  const fd = fs.openSync(path, 'r');
  const bytes = new Uint8Array(out.buffer);
  for (let at = 0; at < bytes.length;) at += fs.readSync(fd, bytes, at, bytes.length - at, at);
  fs.closeSync(fd);
  return out;
}

/** Fisher–Yates over the n (i, j, x) triples of `e`. */
function shuffleTriples(e: Float64Array, n: number, rand: () => number): void {
  for (let k = n - 1; k > 0; k--) {
    const r = Math.floor(rand() * (k + 1));
    for (let c = 0; c < 3; c++) { const t = e[3 * k + c]!; e[3 * k + c] = e[3 * r + c]!; e[3 * r + c] = t; }
  }
}

/**
 * glove.c's shuffle: the entries of `path` in one uniformly random order, in a new file of `dir`, holding at most
 * about `memory` entries at a time. A file of more is first dealt at random into buckets that fit, then each bucket
 * is shuffled on its own and appended (a random partition, each part in random order: a uniform permutation).
 */
function shuffleEntries(path: string, entries: number, dir: string, memory: number, rand: () => number): string {
  const buckets = Math.max(1, Math.ceil((1.25 * entries) / memory));
  let inputs = [path];
  if (buckets > 1) {
    inputs = Array.from({ length: buckets }, (_, b) => nodePath.join(dir, `bucket-${b}.bin`));
    const fds = inputs.map((name) => fs.openSync(name, 'w'));
    const bufs = inputs.map(() => new Float64Array(3 * 4096));
    const fill = new Int32Array(buckets);
    const chunk = new Float64Array(3 * 4096);
    const reader = new ShardReader(path);
    for (let n = reader.read(chunk); n > 0; n = reader.read(chunk)) {
      for (let e = 0; e < n; e++) {
        const b = Math.floor(rand() * buckets);
        bufs[b]!.set(chunk.subarray(3 * e, 3 * e + 3), 3 * fill[b]!);
        if (++fill[b]! === 4096) { fs.writeSync(fds[b]!, new Uint8Array(bufs[b]!.buffer)); fill[b] = 0; }
      }
    }
    fds.forEach((fd, b) => { fs.writeSync(fd, new Uint8Array(bufs[b]!.buffer, 0, fill[b]! * ENTRY)); fs.closeSync(fd); });
  }
  const out = nodePath.join(dir, 'shuffled.bin');
  const fd = fs.openSync(out, 'w');
  for (const name of inputs) {
    const e = readEntries(name);
    shuffleTriples(e, e.length / 3, rand);
    fs.writeSync(fd, new Uint8Array(e.buffer));
    fs.rmSync(name);
  }
  fs.closeSync(fd);
  return out;
}

/** One epoch's blocks of an entry file, read into `block` in turn (each is trained before the next is read). */
function* fileBlocks(path: string, block: Float64Array): Generator<[Float64Array, number]> {
  const reader = new ShardReader(path);
  for (let n = reader.read(block); n > 0; n = reader.read(block)) yield [block, n];
}

/** Each block shuffled on its own: the order before glove.c's global shuffle was followed (kept for comparison). */
function* shuffledBlocks(blocks: Iterable<[Float64Array, number]>, rand: () => number): Generator<[Float64Array, number]> {
  for (const [block, n] of blocks) { shuffleTriples(block, n, rand); yield [block, n]; }
}

/** The learning rate of the biases: 1 as glove.c since 2019, or eta (glove.c 1.2, the paper). */
const biasRate = (opts: GloveOptions) => (opts.biasEta ? opts.eta : 1);

/**
 * glove_thread's step over the n entries of `block` in their order, in double-precision arithmetic on float32
 * parameters: the TypeScript reference the WebAssembly kernel is held to. Returns the summed cost ½·f(x)·diff².
 */
function referenceBlock(w: Float32Array, gsq: Float32Array, block: Float64Array, n: number, v: number, opts: GloveOptions): number {
  const d = opts.dim;
  const { eta, gradClip: clip, xMax, alpha } = opts;
  const rate = biasRate(opts);
  let cost = 0;
  for (let e = 0; e < n; e++) {
    const l1 = block[3 * e]! * (d + 1);
    const l2 = (v + block[3 * e + 1]!) * (d + 1);
    const x = block[3 * e + 2]!;
    let diff = w[l1 + d]! + w[l2 + d]! - Math.log(x);
    for (let k = 0; k < d; k++) diff += w[l1 + k]! * w[l2 + k]!;
    const fdiff = (x > xMax ? 1 : (x / xMax) ** alpha) * diff;
    cost += 0.5 * fdiff * diff;
    for (let k = 0; k < d; k++) {
      const t1 = Math.min(Math.max(fdiff * w[l2 + k]!, -clip), clip) * eta;
      const t2 = Math.min(Math.max(fdiff * w[l1 + k]!, -clip), clip) * eta;
      w[l1 + k]! -= t1 / Math.sqrt(gsq[l1 + k]!);
      w[l2 + k]! -= t2 / Math.sqrt(gsq[l2 + k]!);
      gsq[l1 + k]! += t1 * t1;
      gsq[l2 + k]! += t2 * t2;
    }
    const g = fdiff * rate;
    w[l1 + d]! -= g / Math.sqrt(gsq[l1 + d]!);
    w[l2 + d]! -= g / Math.sqrt(gsq[l2 + d]!);
    gsq[l1 + d]! += g * g;
    gsq[l2 + d]! += g * g;
  }
  return cost;
}

/** Parameters and AdaGrad sums after training, and each epoch's cost per entry. */
export interface GloveFit { params: Float32Array; gradsq: Float32Array; losses: number[] }

/**
 * AdaGrad epochs: the parameters (2v rows of dim weights and the bias, W then W̃) set by `init`, the AdaGrad sums 1 as
 * glove.c, then each epoch trains the blocks `epoch()` yields, in their order, with the WebAssembly kernel (on this
 * thread or on Hogwild workers) or the TypeScript reference.
 */
async function adagrad(v: number, opts: GloveOptions, init: (w: Float32Array) => void, epoch: () => Iterable<[Float64Array, number]>, entries: number, onProgress?: (p: GloveProgress) => void): Promise<GloveFit> {
  const d = opts.dim;
  if (opts.kernels === 'js' && opts.threads > 1) throw new Error("GloVe: the TypeScript reference kernels train on one thread; use kernels 'wasm' for threads > 1");
  const memory = opts.kernels === 'wasm' ? new GloveMemory(2 * v * (d + 1), opts.threads > 1 ? opts.threads + 1 : 1) : undefined;
  const w = memory?.w ?? new Float32Array(2 * v * (d + 1));
  init(w);
  const gsq = (memory?.gradsq ?? new Float32Array(w.length)).fill(1);
  const trainer = memory ? new GloveTrainer(memory, opts, v) : undefined;
  const losses: number[] = [];
  try {
    for (let e = 0; e < opts.epochs; e++) {
      let cost = 0;
      for (const [block, n] of epoch()) {
        if (trainer) await trainer.submit(block, n);
        else cost += referenceBlock(w, gsq, block, n, v, opts);
      }
      if (trainer) cost = await trainer.takeCost();
      losses.push(cost / Math.max(1, entries));
      onProgress?.({ phase: 'train', epoch: e, loss: losses.at(-1)! });
    }
  } finally {
    await trainer?.close();
  }
  return { params: w.slice(), gradsq: gsq.slice(), losses };
}

/** Co-occurrence entries sorted by (i, j), with the vocabulary their ids index. */
export interface GloveCooccurrences { vocab: Vocab; i: Int32Array; j: Int32Array; x: Float64Array }

/** The co-occurrence counts Glove.train trains on (vocabulary, window, memory budget and shards as it has them). */
export async function gloveCooccurrences(corpus: SentenceSource, options: Partial<GloveOptions> = {}): Promise<GloveCooccurrences> {
  const opts = { ...GLOVE_DEFAULTS, ...options };
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'pretrain-glove-'));
  try {
    const { vocab, path, entries } = await countCooccurrences(corpus, opts, dir);
    const e = readEntries(path);
    const out = { vocab, i: new Int32Array(entries), j: new Int32Array(entries), x: new Float64Array(entries) };
    for (let k = 0; k < entries; k++) { out.i[k] = e[3 * k]!; out.j[k] = e[3 * k + 1]!; out.x[k] = e[3 * k + 2]!; }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Glove.train's AdaGrad from given parameters over given entries ((i, j, x) triples) in their order, every epoch in
 * that order: for checking the arithmetic against a reference (test/fixtures/glove). `params` is not changed.
 */
export async function gloveTrainEntries(params: Float32Array, entries: Float64Array, options: Partial<GloveOptions> = {}, onProgress?: (p: GloveProgress) => void): Promise<GloveFit> {
  const opts = { ...GLOVE_DEFAULTS, ...options };
  const v = params.length / (2 * (opts.dim + 1));
  if (!Number.isInteger(v)) throw new Error(`gloveTrainEntries: ${params.length} parameters are not 2·v·(dim + 1) for dim ${opts.dim}`);
  const n = entries.length / 3;
  const epoch = function* (): Generator<[Float64Array, number]> { for (let s = 0; s < n; s += BLOCK) yield [entries.subarray(3 * s, 3 * Math.min(n, s + BLOCK)), Math.min(BLOCK, n - s)]; };
  return adagrad(v, opts, (w) => w.set(params), epoch, n, onProgress);
}

/** A trained GloVe model. */
export class Glove {
  private constructor(readonly vocab: Vocab, readonly opts: GloveOptions, readonly w: Float32Array, readonly wTilde: Float32Array) {}

  /** Counts, merges and trains; the co-occurrence shards live in a temporary folder removed at the end. */
  static async train(corpus: SentenceSource, options: Partial<GloveOptions> = {}, onProgress?: (p: GloveProgress) => void): Promise<Glove> {
    const opts = { ...GLOVE_DEFAULTS, ...options };
    for (const name of ['dim', 'window', 'epochs', 'memoryEntries', 'threads'] as const) {
      if (!(Number.isInteger(opts[name]) && opts[name] >= 1)) throw new RangeError(`glove: ${name} must be a positive integer, got ${opts[name]}`);
    }
    for (const name of ['xMax', 'alpha', 'eta'] as const) {
      if (!(opts[name] > 0 && Number.isFinite(opts[name]))) throw new RangeError(`glove: ${name} must be positive, got ${opts[name]}`);
    }
    const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'pretrain-glove-'));
    try {
      const { vocab, path, entries } = await countCooccurrences(corpus, opts, dir, onProgress);
      const v = vocab.words.length;
      const rand = uniform(opts.seed);
      // glove.c's shuffle: one random order of all the entries, kept for every epoch
      const order = opts.shuffle === 'global' ? shuffleEntries(path, entries, dir, opts.memoryEntries, rand) : path;
      const block = new Float64Array(3 * BLOCK);
      const epoch = opts.shuffle === 'global' ? () => fileBlocks(order, block) : () => shuffledBlocks(fileBlocks(order, block), rand);
      const { params } = await adagrad(v, opts, (w) => { for (let i = 0; i < w.length; i++) w[i] = (rand() - 0.5) / opts.dim; }, epoch, entries, onProgress);
      return Glove.fromParams(vocab, opts, params);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The model of trained parameters: rows of dim weights and the bias, W's v rows then W̃'s. */
  private static fromParams(vocab: Vocab, opts: GloveOptions, params: Float32Array): Glove {
    const v = vocab.words.length;
    const d = opts.dim;
    const main = new Float32Array(v * d);
    const ctx = new Float32Array(v * d);
    for (let i = 0; i < v; i++) for (let k = 0; k < d; k++) { main[i * d + k] = params[i * (d + 1) + k]!; ctx[i * d + k] = params[(v + i) * (d + 1) + k]!; }
    return new Glove(vocab, opts, main, ctx);
  }

  /** W + W̃, the vectors glove.c saves with model 2. */
  toVectors(): WordVectors {
    const sum = new Float32Array(this.w.length);
    for (let i = 0; i < sum.length; i++) sum[i] = this.w[i]! + this.wTilde[i]!;
    return new WordVectors({ words: this.vocab.words, dim: this.opts.dim, vectors: sum, counts: this.vocab.counts });
  }
}

const PAGE = 65536;

/**
 * GloVe's shared WebAssembly memory: the first 64 KiB for the modules' static data, then W and its AdaGrad sums
 * (rows of dim weights and the bias, W̃ after W), then one slot per block in flight: the block's rows i and j
 * (the context row offset by the vocabulary), log x and f(x).
 */
class GloveMemory {
  readonly memory: WebAssembly.Memory;
  readonly w: Float32Array;
  readonly gradsq: Float32Array;
  /** Byte offsets of each slot's arrays: rowsI, rowsJ, logX, fX (BLOCK entries each). */
  readonly slots: number[][];
  readonly wAt: number;
  readonly gradsqAt: number;

  constructor(weights: number, slots: number) {
    const slotBytes = 4 * 4 * BLOCK;
    this.wAt = PAGE;
    this.gradsqAt = this.wAt + Math.ceil((4 * weights) / 64) * 64;
    const first = this.gradsqAt + Math.ceil((4 * weights) / 64) * 64;
    const bytes = first + slots * slotBytes;
    const pages = Math.ceil(bytes / PAGE);
    if (pages > 65536) throw new Error(`GloVe: the model needs ${(bytes / 2 ** 30).toFixed(2)} GiB, over the 4 GiB a WebAssembly memory holds; lower dim or the vocabulary`);
    // never grown, so the views stay valid
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.w = new Float32Array(this.memory.buffer, this.wAt, weights);
    this.gradsq = new Float32Array(this.memory.buffer, this.gradsqAt, weights);
    this.slots = Array.from({ length: slots }, (_, s) => [0, 1, 2, 3].map((k) => first + s * slotBytes + k * 4 * BLOCK));
  }
}

/** The exports of build/wasm/word2vec.*.wasm that GloVe uses. */
interface GloveExports {
  gloveBlock(n: number, rowsI: number, rowsJ: number, logX: number, fX: number, w: number, gradsq: number, d: number, eta: number, clip: number, biasRate: number): number;
}

/** GloVe's WebAssembly worker (plain JavaScript); it gets GloveMemory's offsets and answers each block with its cost. */
const GLOVE_WASM_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { memory, module, slots, w, gradsq, dim, eta, clip, biasRate } = workerData;
const e = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('glove wasm: abort'); } } }).exports;
parentPort.on('message', ({ slot, n }) => {
  const [rowsI, rowsJ, logX, fX] = slots[slot];
  parentPort.postMessage({ slot, cost: e.gloveBlock(n, rowsI, rowsJ, logX, fX, w, gradsq, dim, eta, clip, biasRate) });
});
`;

interface BlockJob extends SlotJob { n: number }
interface BlockDone extends SlotDone { cost: number }

/** Trains blocks with the WebAssembly kernel: on this thread (threads 1) or on a pool of Hogwild workers. */
class GloveTrainer {
  private readonly local: GloveExports | undefined;
  private readonly pool: SlotPool<BlockJob, BlockDone> | undefined;
  private cost = 0;

  constructor(private readonly mem: GloveMemory, private readonly opts: GloveOptions, private readonly vocabSize: number) {
    const module = word2vecModule();
    if (opts.threads > 1) {
      const workers = Array.from({ length: opts.threads }, () => scriptWorker(GLOVE_WASM_WORKER, {
        memory: mem.memory, module, slots: mem.slots, w: mem.wAt, gradsq: mem.gradsqAt, dim: opts.dim, eta: opts.eta, clip: opts.gradClip, biasRate: biasRate(opts),
      }));
      this.pool = new SlotPool<BlockJob, BlockDone>(workers, mem.slots.length, (done) => { this.cost += done.cost; });
    } else {
      this.local = new WebAssembly.Instance(module, { env: { memory: mem.memory, abort: () => { throw new Error('glove wasm: abort'); } } }).exports as unknown as GloveExports;
    }
  }

  /** Writes n entries of `block` ((i, j, x) triples) into a free slot as rows, log x and f(x), and trains them. */
  async submit(block: Float64Array, n: number): Promise<void> {
    const slot = this.pool ? this.pool.freeSlot() : 0;
    const [rowsI, rowsJ, logX, fX] = this.mem.slots[slot]!;
    const buf = this.mem.memory.buffer;
    const ri = new Int32Array(buf, rowsI, n), rj = new Int32Array(buf, rowsJ, n), lx = new Float32Array(buf, logX, n), fx = new Float32Array(buf, fX, n);
    const { xMax, alpha } = this.opts;
    for (let k = 0; k < n; k++) {
      const x = block[3 * k + 2]!;
      ri[k] = block[3 * k]!;
      rj[k] = this.vocabSize + block[3 * k + 1]!;
      lx[k] = Math.log(x);
      fx[k] = x > xMax ? 1 : (x / xMax) ** alpha;
    }
    if (this.pool) await this.pool.submit({ slot, n });
    else this.cost += this.local!.gloveBlock(n, rowsI!, rowsJ!, logX!, fX!, this.mem.wAt, this.mem.gradsqAt, this.opts.dim, this.opts.eta, this.opts.gradClip, biasRate(this.opts));
  }

  /** Waits for every block handed out; the summed cost since the last call. */
  async takeCost(): Promise<number> {
    await this.pool?.drain();
    const c = this.cost;
    this.cost = 0;
    return c;
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}
