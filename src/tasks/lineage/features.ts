// Frozen features kept between runs: an encoder wrapped so that each input row's states are computed once, kept in
// memory for every run that reads the same rows (other seeds, label counts, the frozen mode of each task), and saved
// to the content-hash cache so that a rerun reads them from disk. Only the positions a feature model reads are kept:
// each word's first token and the sequence token (first and last), per layer. On a host backend only (the CPU's): a
// device that cannot be read synchronously runs its encoder every time.
import { readFile } from 'node:fs/promises';
import { readSafetensors, writeSafetensors } from '../../io/safetensors.js';
import type { Module } from '../../nn/module.js';
import * as ops from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Encoder, TokenBatch } from '../transfer/encoders.js';
import type { TokenizedInput, TokenizeOptions, WordsInput } from '../transfer/inputs.js';

/** One row's kept states: the positions, and per layer their vectors. */
interface RowStates {
  positions: Int32Array;
  /** Per layer, [positions, H]. */
  layers: Float32Array[];
}

const rowKey = (ids: ArrayLike<number>, types: ArrayLike<number>) => `${Array.from(ids).join(',')}|${Array.from(types).join('')}`;

/**
 * An encoder whose forward pass reads each row from a store of computed states when it has them all, and otherwise
 * runs the encoder it wraps and keeps the rows' states. For frozen use only: it never trains (nothing flows back
 * through stored states).
 */
export class CachedFeatureEncoder implements Encoder {
  private readonly rows = new Map<string, RowStates>();
  /** The positions each tokenised row needs (recorded by tokenize). */
  private readonly wanted = new Map<string, Int32Array>();
  /** Rows computed since the store was last saved. */
  added = 0;
  /** Rows served from the store, and rows computed, since construction. */
  hits = 0;
  misses = 0;

  constructor(readonly inner: Encoder) {}

  get kind(): string { return this.inner.kind; }
  get layers(): readonly Module[] { return this.inner.layers; }
  get numStates(): number { return this.inner.numStates; }
  get hiddenSize(): number { return this.inner.hiddenSize; }
  get maxTokens(): number { return this.inner.maxTokens; }
  get padId(): number { return this.inner.padId; }
  get sequenceToken(): 'first' | 'last' { return this.inner.sequenceToken; }
  get splitText(): ((text: string) => string[]) | undefined { return this.inner.splitText?.bind(this.inner); }

  /** The rows the store holds. */
  get size(): number { return this.rows.size; }

  tokenize(examples: readonly WordsInput[], opts?: Partial<TokenizeOptions>) {
    const out = this.inner.tokenize(examples, opts);
    const note = (x: TokenizedInput) => {
      const keep = new Set<number>([0, x.ids.length - 1]);
      for (const t of x.wordStarts) if (t >= 0) keep.add(t);
      this.wanted.set(rowKey(x.ids, x.typeIds), Int32Array.from([...keep].filter((t) => t >= 0).sort((a, b) => a - b)));
      if (x.swapped) note(x.swapped);
    };
    out.inputs.forEach(note);
    return out;
  }

  forward(batch: TokenBatch): Tensor[] {
    // a device that cannot be read synchronously (WebGPU) runs the encoder every time: no store
    if (!batch.typeIds.backend.readSync) return this.inner.forward(batch);
    const [B, T] = batch.inputIds.shape as [number, number];
    const ids = batch.hostIds ?? (batch.inputIds.dataSync() as Int32Array);
    const types = batch.typeIds.dataSync() as Int32Array;
    const keys = batch.lengths.map((n, b) => rowKey(ids.subarray(b * T, b * T + n), types.subarray(b * T, b * T + n)));
    const S = this.inner.numStates, H = this.inner.hiddenSize;
    if (keys.every((k) => this.rows.has(k))) {
      this.hits += B;
      const out = Array.from({ length: S }, () => new Float32Array(B * T * H));
      keys.forEach((k, b) => {
        const row = this.rows.get(k)!;
        row.positions.forEach((t, i) => { for (let s = 0; s < S; s++) out[s]!.set(row.layers[s]!.subarray(i * H, (i + 1) * H), (b * T + t) * H); });
      });
      return out.map((d) => ops.fromArray(d, [B, T, H]));
    }
    const states = this.inner.forward(batch);
    const data = states.map((t) => t.dataSync() as Float32Array);
    keys.forEach((k, b) => {
      if (this.rows.has(k)) return;
      const positions = this.wanted.get(k) ?? Int32Array.from({ length: batch.lengths[b]! }, (_, t) => t);
      const layers = data.map((d) => {
        const kept = new Float32Array(positions.length * H);
        positions.forEach((t, i) => kept.set(d.subarray((b * T + t) * H, (b * T + t + 1) * H), i * H));
        return kept;
      });
      this.rows.set(k, { positions, layers });
      this.added++;
      this.misses++;
    });
    return states;
  }

  /** Writes the store to a safetensors file: per layer one [positions, H] matrix, the rows' keys and positions in its metadata. */
  async save(path: string): Promise<void> {
    const entries = [...this.rows];
    const total = entries.reduce((n, [, r]) => n + r.positions.length, 0);
    const H = this.inner.hiddenSize;
    const tensors: Record<string, { dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }> = {};
    const positions = new Int32Array(total);
    let at = 0;
    for (const [, r] of entries) { positions.set(r.positions, at); at += r.positions.length; }
    tensors.positions = { dtype: 'I32', shape: [total], data: positions };
    for (let s = 0; s < this.inner.numStates; s++) {
      const m = new Float32Array(total * H);
      at = 0;
      for (const [, r] of entries) { m.set(r.layers[s]!, at * H); at += r.positions.length; }
      tensors[`layer_${s}`] = { dtype: 'F32', shape: [total, H], data: m };
    }
    const index = entries.map(([k, r]) => [k, r.positions.length]);
    await writeSafetensors(path, tensors, { format: 'pretrain.lineage.features', version: '1', hidden_size: String(H), states: String(this.inner.numStates), rows: JSON.stringify(index) });
    this.added = 0;
  }

  /** Reads a store that `save` wrote for this encoder (its shape checked), adding its rows. */
  async load(path: string): Promise<void> {
    const file = await readSafetensors(new Uint8Array(await readFile(path)));
    const m = file.metadata;
    if (m.format !== 'pretrain.lineage.features') throw new Error(`${path}: not a lineage feature store (format '${m.format ?? ''}')`);
    if (Number(m.hidden_size) !== this.inner.hiddenSize || Number(m.states) !== this.inner.numStates) {
      throw new Error(`${path}: features of ${m.states} states of ${m.hidden_size}, but the encoder has ${this.inner.numStates} of ${this.inner.hiddenSize}`);
    }
    const H = this.inner.hiddenSize;
    const positions = file.tensors.get('positions')!.data as Int32Array;
    const layers = Array.from({ length: this.inner.numStates }, (_, s) => file.tensors.get(`layer_${s}`)!.data as Float32Array);
    let at = 0;
    for (const [key, n] of JSON.parse(m.rows!) as [string, number][]) {
      this.rows.set(key, { positions: positions.slice(at, at + n), layers: layers.map((l) => l.slice(at * H, (at + n) * H)) });
      at += n;
    }
  }
}
