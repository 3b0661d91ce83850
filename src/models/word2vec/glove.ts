// GloVe (Pennington et al. 2014) as the reference glove.c: symmetric windowed co-occurrence counts weighted 1/distance,
// kept within a memory budget by spilling sorted shards to disk and merging them, then AdaGrad on the weighted
// least-squares loss f(x)·(wᵢ·w̃ⱼ + bᵢ + b̃ⱼ − log x)², f(x) = min(1, (x/x_max)^alpha). Saves W + W̃.
// Training runs the WebAssembly SIMD kernel (gloveBlock in assembly/word2vec.ts) on this thread or on Hogwild worker
// threads over one shared memory, as glove.c's threads; the TypeScript loop here is the single-threaded reference.
import { fs, os, nodePath } from '../../platform/node.js';
import { WordVectors } from '../vectors.js';
import { sentencePass, type SentenceSource } from './corpus.js';
import { seedState, word2vecModule } from './kernels.js';
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
}

/** glove.c defaults (x_max 100, alpha 0.75, eta 0.05). */
export const GLOVE_DEFAULTS: GloveOptions = { dim: 100, window: 10, minCount: 5, xMax: 100, alpha: 0.75, eta: 0.05, epochs: 15, seed: 1, memoryEntries: 4_000_000, threads: 1, kernels: 'wasm' };

/** Progress: phase and the loss of the last epoch. */
export interface GloveProgress { phase: 'vocab' | 'cooccur' | 'train'; epoch?: number; loss?: number }

const ENTRY = 24; // i (f64), j (f64), x (f64) per shard entry, sorted by (i, j)
/** Entries per training block: each is shuffled on its own (glove.c's bounded shuffle) and is one kernel call. */
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

/** A trained GloVe model. */
export class Glove {
  private constructor(readonly vocab: Vocab, readonly opts: GloveOptions, readonly w: Float32Array, readonly wTilde: Float32Array) {}

  /** Counts, merges and trains; the co-occurrence shards live in a temporary folder removed at the end. */
  static async train(corpus: SentenceSource, options: Partial<GloveOptions> = {}, onProgress?: (p: GloveProgress) => void): Promise<Glove> {
    const opts = { ...GLOVE_DEFAULTS, ...options };
    const pass = () => sentencePass(corpus);
    onProgress?.({ phase: 'vocab' });
    const counter = new VocabCounter();
    for await (const s of pass()) counter.add(s);
    const vocab = counter.build(opts.minCount, 0);
    const v = vocab.words.length;
    if (v === 0) throw new Error(`no word occurs ${opts.minCount} times or more in the corpus`);
    const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'pretrain-glove-'));
    try {
      onProgress?.({ phase: 'cooccur' });
      const shards: string[] = [];
      const table = new CooccurTable(v);
      const ids: number[] = [];
      for await (const s of pass()) {
        ids.length = 0;
        for (const w of s) { const i = vocab.index.get(w); if (i !== undefined) ids.push(i); }
        for (let a = 0; a < ids.length; a++) {
          for (let b = Math.max(0, a - opts.window); b < a; b++) {
            const x = 1 / (a - b); // symmetric: both (i, j) and (j, i) get 1/distance
            table.add(ids[a]!, ids[b]!, x);
            table.add(ids[b]!, ids[a]!, x);
          }
        }
        if (table.size > opts.memoryEntries) { shards.push(nodePath.join(dir, `shard-${shards.length}.bin`)); table.spill(shards.at(-1)!); }
      }
      shards.push(nodePath.join(dir, `shard-${shards.length}.bin`));
      const last = table.spill(shards.at(-1)!);
      // a single shard is already sorted and summed
      const merged = shards.length === 1 ? shards[0]! : nodePath.join(dir, 'cooccur.bin');
      const entries = shards.length === 1 ? last : mergeShards(shards, merged);
      const model = await Glove.fit(vocab, opts, merged, entries, onProgress);
      return model;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** AdaGrad over the merged entries, read in blocks and shuffled within each block (as glove.c's shuffle buffer). */
  private static async fit(vocab: Vocab, opts: GloveOptions, path: string, entries: number, onProgress?: (p: GloveProgress) => void): Promise<Glove> {
    const v = vocab.words.length;
    const d = opts.dim;
    if (opts.kernels === 'js' && opts.threads > 1) throw new Error("GloVe: the TypeScript reference kernels train on one thread; use kernels 'wasm' for threads > 1");
    const memory = opts.kernels === 'wasm' ? new GloveMemory(2 * v * (d + 1), opts.threads > 1 ? opts.threads + 1 : 1) : undefined;
    let rng = seedState(opts.seed);
    const rand = () => { rng ^= rng << 13; rng ^= rng >>> 17; rng ^= rng << 5; rng >>>= 0; return rng / 2 ** 32; };
    // rows: d weights then the bias, for W and W̃; AdaGrad sums start at 1 as glove.c
    const w = memory?.w ?? new Float32Array(2 * v * (d + 1));
    for (let i = 0; i < w.length; i++) w[i] = (rand() - 0.5) / d;
    const gsq = (memory?.gradsq ?? new Float32Array(w.length)).fill(1);
    const block = new Float64Array(3 * BLOCK);
    const trainer = memory ? new GloveTrainer(memory, opts, v, rng) : undefined;
    try {
      for (let epoch = 0; epoch < opts.epochs; epoch++) {
        const reader = new ShardReader(path);
        let loss = 0;
        for (let n = reader.read(block); n > 0; n = reader.read(block)) {
          if (trainer) {
            await trainer.submit(block, n);
            continue;
          }
          const order = Array.from({ length: n }, (_, i) => i);
          for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j]!, order[i]!]; }
          for (const idx of order) {
            const l1 = block[3 * idx]! * (d + 1);
            const l2 = (v + block[3 * idx + 1]!) * (d + 1);
            const x = block[3 * idx + 2]!;
            let diff = w[l1 + d]! + w[l2 + d]! - Math.log(x);
            for (let k = 0; k < d; k++) diff += w[l1 + k]! * w[l2 + k]!;
            const fdiff = (x > opts.xMax ? 1 : (x / opts.xMax) ** opts.alpha) * diff;
            loss += 0.5 * fdiff * diff;
            const g = fdiff * opts.eta;
            for (let k = 0; k < d; k++) {
              const t1 = g * w[l2 + k]!;
              const t2 = g * w[l1 + k]!;
              w[l1 + k]! -= t1 / Math.sqrt(gsq[l1 + k]!);
              w[l2 + k]! -= t2 / Math.sqrt(gsq[l2 + k]!);
              gsq[l1 + k]! += t1 * t1;
              gsq[l2 + k]! += t2 * t2;
            }
            w[l1 + d]! -= g / Math.sqrt(gsq[l1 + d]!);
            w[l2 + d]! -= g / Math.sqrt(gsq[l2 + d]!);
            gsq[l1 + d]! += g * g;
            gsq[l2 + d]! += g * g;
          }
        }
        if (trainer) loss = await trainer.takeCost();
        onProgress?.({ phase: 'train', epoch, loss: loss / Math.max(1, entries) });
      }
    } finally {
      await trainer?.close();
    }
    const main = new Float32Array(v * d);
    const ctx = new Float32Array(v * d);
    for (let i = 0; i < v; i++) for (let k = 0; k < d; k++) { main[i * d + k] = w[i * (d + 1) + k]!; ctx[i * d + k] = w[(v + i) * (d + 1) + k]!; }
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
 * (the context row offset by the vocabulary), log x and f(x), and the shuffle's scratch.
 */
class GloveMemory {
  readonly memory: WebAssembly.Memory;
  readonly w: Float32Array;
  readonly gradsq: Float32Array;
  /** Byte offsets of each slot's arrays: rowsI, rowsJ, logX, fX, order (BLOCK entries each). */
  readonly slots: number[][];
  readonly wAt: number;
  readonly gradsqAt: number;

  constructor(weights: number, slots: number) {
    const slotBytes = 5 * 4 * BLOCK;
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
    this.slots = Array.from({ length: slots }, (_, s) => [0, 1, 2, 3, 4].map((k) => first + s * slotBytes + k * 4 * BLOCK));
  }
}

/** The exports of build/wasm/word2vec.*.wasm that GloVe uses. */
interface GloveExports {
  setRandomState(s: number): void;
  gloveBlock(n: number, rowsI: number, rowsJ: number, logX: number, fX: number, order: number, w: number, gradsq: number, d: number, eta: number): number;
}

/** GloVe's WebAssembly worker (plain JavaScript); it gets GloveMemory's offsets and answers each block with its cost. */
const GLOVE_WASM_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { memory, module, rng, slots, w, gradsq, dim, eta } = workerData;
const e = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('glove wasm: abort'); } } }).exports;
e.setRandomState(rng);
parentPort.on('message', ({ slot, n }) => {
  const [rowsI, rowsJ, logX, fX, order] = slots[slot];
  parentPort.postMessage({ slot, cost: e.gloveBlock(n, rowsI, rowsJ, logX, fX, order, w, gradsq, dim, eta) });
});
`;

interface BlockJob extends SlotJob { n: number }
interface BlockDone extends SlotDone { cost: number }

/** Trains blocks with the WebAssembly kernel: on this thread (threads 1, the random stream going on from `rng`) or on a pool. */
class GloveTrainer {
  private readonly local: GloveExports | undefined;
  private readonly pool: SlotPool<BlockJob, BlockDone> | undefined;
  private cost = 0;

  constructor(private readonly mem: GloveMemory, private readonly opts: GloveOptions, private readonly vocabSize: number, rng: number) {
    const module = word2vecModule();
    if (opts.threads > 1) {
      const workers = Array.from({ length: opts.threads }, (_, i) => scriptWorker(GLOVE_WASM_WORKER, {
        memory: mem.memory, module, rng: seedState(opts.seed + 1 + i), slots: mem.slots, w: mem.wAt, gradsq: mem.gradsqAt, dim: opts.dim, eta: opts.eta,
      }));
      this.pool = new SlotPool<BlockJob, BlockDone>(workers, mem.slots.length, (done) => { this.cost += done.cost; });
    } else {
      this.local = new WebAssembly.Instance(module, { env: { memory: mem.memory, abort: () => { throw new Error('glove wasm: abort'); } } }).exports as unknown as GloveExports;
      this.local.setRandomState(rng);
    }
  }

  /** Writes n entries of `block` ((i, j, x) triples) into a free slot as rows, log x and f(x), and trains them. */
  async submit(block: Float64Array, n: number): Promise<void> {
    const slot = this.pool ? this.pool.freeSlot() : 0;
    const [rowsI, rowsJ, logX, fX, order] = this.mem.slots[slot]!;
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
    else this.cost += this.local!.gloveBlock(n, rowsI!, rowsJ!, logX!, fX!, order!, this.mem.wAt, this.mem.gradsqAt, this.opts.dim, this.opts.eta);
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
