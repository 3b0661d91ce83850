// GloVe (Pennington et al. 2014) as the reference glove.c: symmetric windowed co-occurrence counts weighted 1/distance,
// kept within a memory budget by spilling sorted shards to disk and merging them, then AdaGrad on the weighted
// least-squares loss f(x)·(wᵢ·w̃ⱼ + bᵢ + b̃ⱼ − log x)², f(x) = min(1, (x/x_max)^alpha). Saves W + W̃.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WordVectors } from '../vectors.js';
import { readSentences } from './corpus.js';
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
}

/** glove.c defaults (x_max 100, alpha 0.75, eta 0.05). */
export const GLOVE_DEFAULTS: GloveOptions = { dim: 100, window: 10, minCount: 5, xMax: 100, alpha: 0.75, eta: 0.05, epochs: 15, seed: 1, memoryEntries: 4_000_000 };

/** Progress: phase and the loss of the last epoch. */
export interface GloveProgress { phase: 'vocab' | 'cooccur' | 'train'; epoch?: number; loss?: number }

const ENTRY = 24; // i (f64), j (f64), x (f64) per shard entry, sorted by (i, j)

/** Writes the map's entries sorted by key to a new shard file. */
function spill(map: Map<number, number>, v: number, path: string): void {
  const keys = Float64Array.from(map.keys()).sort();
  const buf = new Float64Array(keys.length * 3);
  keys.forEach((k, n) => { buf[3 * n] = Math.floor(k / v); buf[3 * n + 1] = k % v; buf[3 * n + 2] = map.get(k)!; });
  const fd = openSync(path, 'w');
  writeSync(fd, new Uint8Array(buf.buffer));
  closeSync(fd);
}

/** Buffered sequential reader of a shard. */
class ShardReader {
  private readonly fd: number;
  private buf = new Float64Array(3 * 4096);
  private n = 0;
  private at = 0;
  private done = false;
  constructor(path: string) { this.fd = openSync(path, 'r'); }
  /** The next entry [i, j, x], or undefined at the end. */
  next(): [number, number, number] | undefined {
    if (this.done) return undefined;
    if (this.at >= this.n) {
      const bytes = readSync(this.fd, new Uint8Array(this.buf.buffer));
      this.n = Math.floor(bytes / ENTRY);
      this.at = 0;
      if (this.n === 0) { closeSync(this.fd); this.done = true; return undefined; }
    }
    const o = 3 * this.at++;
    return [this.buf[o]!, this.buf[o + 1]!, this.buf[o + 2]!];
  }
}

/** Merges sorted shards into one file of summed entries; returns the entry count. */
function mergeShards(shards: string[], out: string): number {
  const readers = shards.map((s) => new ShardReader(s));
  const heads = readers.map((r) => r.next());
  const fd = openSync(out, 'w');
  const buf = new Float64Array(3 * 4096);
  let fill = 0;
  let count = 0;
  const emit = (e: [number, number, number]) => {
    buf.set(e, 3 * fill++);
    count++;
    if (fill === 4096) { writeSync(fd, new Uint8Array(buf.buffer)); fill = 0; }
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
  if (fill > 0) writeSync(fd, new Uint8Array(buf.buffer, 0, fill * ENTRY));
  closeSync(fd);
  return count;
}

/** A trained GloVe model. */
export class Glove {
  private constructor(readonly vocab: Vocab, readonly opts: GloveOptions, readonly w: Float32Array, readonly wTilde: Float32Array) {}

  /** Counts, merges and trains; the co-occurrence shards live in a temporary folder removed at the end. */
  static async train(corpus: string | (() => AsyncIterable<string[]> | Iterable<string[]>), options: Partial<GloveOptions> = {}, onProgress?: (p: GloveProgress) => void): Promise<Glove> {
    const opts = { ...GLOVE_DEFAULTS, ...options };
    const pass = () => (typeof corpus === 'string' ? readSentences(corpus) : corpus());
    onProgress?.({ phase: 'vocab' });
    const counter = new VocabCounter();
    for await (const s of pass()) counter.add(s);
    const vocab = counter.build(opts.minCount, 0);
    const v = vocab.words.length;
    if (v === 0) throw new Error(`no word occurs ${opts.minCount} times or more in the corpus`);
    const dir = mkdtempSync(join(tmpdir(), 'pretrain-glove-'));
    try {
      onProgress?.({ phase: 'cooccur' });
      const shards: string[] = [];
      let map = new Map<number, number>();
      for await (const s of pass()) {
        const ids: number[] = [];
        for (const w of s) { const i = vocab.index.get(w); if (i !== undefined) ids.push(i); }
        for (let a = 0; a < ids.length; a++) {
          for (let b = Math.max(0, a - opts.window); b < a; b++) {
            const x = 1 / (a - b); // symmetric: both (i, j) and (j, i) get 1/distance
            const k1 = ids[a]! * v + ids[b]!;
            const k2 = ids[b]! * v + ids[a]!;
            map.set(k1, (map.get(k1) ?? 0) + x);
            map.set(k2, (map.get(k2) ?? 0) + x);
          }
        }
        if (map.size > opts.memoryEntries) { shards.push(join(dir, `shard-${shards.length}.bin`)); spill(map, v, shards.at(-1)!); map = new Map(); }
      }
      shards.push(join(dir, `shard-${shards.length}.bin`));
      spill(map, v, shards.at(-1)!);
      map = new Map();
      const merged = join(dir, 'cooccur.bin');
      const entries = mergeShards(shards, merged);
      const model = Glove.fit(vocab, opts, merged, entries, onProgress);
      return model;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** AdaGrad over the merged entries, read in blocks and shuffled within each block (as glove.c's shuffle buffer). */
  private static fit(vocab: Vocab, opts: GloveOptions, path: string, entries: number, onProgress?: (p: GloveProgress) => void): Glove {
    const v = vocab.words.length;
    const d = opts.dim;
    let rng = (opts.seed * 2654435761) >>> 0 || 1;
    const rand = () => { rng ^= rng << 13; rng ^= rng >>> 17; rng ^= rng << 5; rng >>>= 0; return rng / 2 ** 32; };
    // rows: d weights then the bias, for W and W̃; AdaGrad sums start at 1 as glove.c
    const w = Float32Array.from({ length: 2 * v * (d + 1) }, () => (rand() - 0.5) / d);
    const gsq = new Float32Array(w.length).fill(1);
    const block = new Float64Array(3 * 65536);
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const reader = new ShardReader(path);
      let loss = 0;
      for (;;) {
        let n = 0;
        for (let e = reader.next(); e; e = n < 65535 ? reader.next() : undefined) { block.set(e, 3 * n++); }
        if (n === 0) break;
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
        if (n < 65535) break;
      }
      onProgress?.({ phase: 'train', epoch, loss: loss / Math.max(1, entries) });
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
