// Pretraining examples on disk: a folder of safetensors shards (N examples each, fixed-width int32/float32 columns,
// row-major) plus manifest.json, written atomically shard by shard and read back one shard at a time.
//
// Layout (docs/data.md): DIR/manifest.json {format: "pretrain-data", version, kind, examples, columns, shards: [{file,
// examples}], ...info}; DIR/shard-00000.safetensors with one tensor per column, shape [examples, width] ([examples]
// for width 0), and the manifest's kind/version in the safetensors __metadata__.
import { fsp, nodePath } from '../platform/node.js';
import { SafetensorsReader, writeFileAtomic, writeSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import type { BertBatch, BertBatchSource } from './batches.js';
import { emptyBertBatch } from './bert.js';

/** The manifest's format tag. */
export const SHARD_FORMAT = 'pretrain-data';
/** Bumped when the layout changes; readers refuse other versions with an explanation. */
export const SHARD_VERSION = 1;

const SHARD_FILE = /^shard-\d{5,}\.safetensors$/;

/** One column: element type and values per example (0: one scalar per example). */
export interface ColumnSpec {
  dtype: 'I32' | 'F32';
  width: number;
}

/** The manifest of a shard folder. */
export interface ShardManifest {
  format: typeof SHARD_FORMAT;
  version: number;
  /** What the examples are: 'bert' (create_pretraining_data examples) or 'lm' (token blocks). */
  kind: string;
  examples: number;
  columns: Record<string, ColumnSpec>;
  shards: { file: string; examples: number }[];
  /** Options and statistics of the run that made the shards. */
  info: Record<string, unknown>;
}

/** Writes examples column by column into shards of `examplesPerShard`, then the manifest. */
export class ShardWriter {
  private buffers: Record<string, Int32Array | Float32Array> = {};
  private filled = 0;
  private readonly shards: { file: string; examples: number }[] = [];
  private total = 0;

  private constructor(readonly dir: string, readonly kind: string, readonly columns: Record<string, ColumnSpec>, readonly examplesPerShard: number) {
    this.allocate();
  }

  /** Creates the folder (if needed) and a writer. */
  static async create(dir: string, kind: string, columns: Record<string, ColumnSpec>, examplesPerShard: number): Promise<ShardWriter> {
    if (!Number.isInteger(examplesPerShard) || examplesPerShard < 1) throw new RangeError(`examplesPerShard must be a positive integer, got ${examplesPerShard}`);
    await fsp.mkdir(dir, { recursive: true });
    // An earlier run's manifest goes first, so that a run cut short never leaves a manifest over mixed shards.
    await fsp.rm(nodePath.join(dir, 'manifest.json'), { force: true });
    return new ShardWriter(dir, kind, columns, examplesPerShard);
  }

  private allocate(): void {
    for (const [name, c] of Object.entries(this.columns)) {
      const n = this.examplesPerShard * Math.max(1, c.width);
      this.buffers[name] = c.dtype === 'I32' ? new Int32Array(n) : new Float32Array(n);
    }
  }

  /** Appends `count` examples given as row-major column arrays (count x width values each). */
  async append(rows: Record<string, ArrayLike<number>>, count: number): Promise<void> {
    for (const [name, c] of Object.entries(this.columns)) {
      const w = Math.max(1, c.width);
      if (!rows[name]) throw new Error(`ShardWriter.append: missing column '${name}'`);
      if (rows[name].length !== count * w) throw new Error(`ShardWriter.append: column '${name}' has ${rows[name].length} values for ${count} examples of width ${w}`);
    }
    let done = 0;
    while (done < count) {
      const take = Math.min(count - done, this.examplesPerShard - this.filled);
      for (const [name, c] of Object.entries(this.columns)) {
        const w = Math.max(1, c.width);
        const src = rows[name]!;
        const dst = this.buffers[name]!;
        for (let k = 0; k < take * w; k++) dst[this.filled * w + k] = src[done * w + k]!;
      }
      this.filled += take;
      done += take;
      if (this.filled === this.examplesPerShard) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.filled === 0) return;
    const n = this.filled;
    const file = `shard-${String(this.shards.length).padStart(5, '0')}.safetensors`;
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [name, c] of Object.entries(this.columns)) {
      const w = Math.max(1, c.width);
      tensors.set(name, { dtype: c.dtype, shape: c.width === 0 ? [n] : [n, c.width], data: this.buffers[name]!.subarray(0, n * w) });
    }
    await writeSafetensors(nodePath.join(this.dir, file), tensors, { format: SHARD_FORMAT, version: String(SHARD_VERSION), kind: this.kind });
    this.shards.push({ file, examples: n });
    this.total += n;
    this.filled = 0;
  }

  /** Writes the last (partial) shard and the manifest; returns the manifest. */
  async finish(info: Record<string, unknown> = {}): Promise<ShardManifest> {
    await this.flush();
    // Shards left by an earlier, larger run in the same folder.
    const ours = new Set(this.shards.map((x) => x.file));
    for (const name of await fsp.readdir(this.dir)) if (SHARD_FILE.test(name) && !ours.has(name)) await fsp.rm(nodePath.join(this.dir, name), { force: true });
    const manifest: ShardManifest = { format: SHARD_FORMAT, version: SHARD_VERSION, kind: this.kind, examples: this.total, columns: this.columns, shards: this.shards, info };
    await writeFileAtomic(nodePath.join(this.dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }
}

/** Reads and checks DIR/manifest.json (format, version, kind). */
export async function readManifest(dir: string, kind?: string): Promise<ShardManifest> {
  const path = nodePath.join(dir, 'manifest.json');
  let m: ShardManifest;
  try {
    m = JSON.parse(await fsp.readFile(path, 'utf8')) as ShardManifest;
  } catch (err) {
    throw new Error(`${path}: cannot read the shard manifest (${(err as Error).message})`);
  }
  if (m.format !== SHARD_FORMAT) throw new Error(`${path}: not a pretraining-data manifest (format ${JSON.stringify(m.format)})`);
  if (m.version !== SHARD_VERSION) throw new Error(`${path}: layout version ${m.version}, this build reads version ${SHARD_VERSION}; re-create the data with this version`);
  if (kind && m.kind !== kind) throw new Error(`${path}: holds '${m.kind}' examples, expected '${kind}'`);
  return m;
}

/** Reads one shard's columns, checking names, dtypes and shapes against the manifest. */
export async function readShard(dir: string, manifest: ShardManifest, index: number): Promise<Record<string, Int32Array | Float32Array>> {
  const entry = manifest.shards[index];
  if (!entry) throw new RangeError(`${dir}: no shard ${index} (${manifest.shards.length} shards)`);
  const path = nodePath.join(dir, entry.file);
  const reader = await SafetensorsReader.open(path);
  try {
    const out: Record<string, Int32Array | Float32Array> = {};
    for (const [name, c] of Object.entries(manifest.columns)) {
      const info = reader.info(name);
      const shape = c.width === 0 ? [entry.examples] : [entry.examples, c.width];
      if (!info) throw new Error(`${path}: column '${name}' is missing`);
      if (info.dtype !== c.dtype || info.shape.join() !== shape.join()) {
        throw new Error(`${path}: column '${name}' is ${info.dtype} [${info.shape.join(', ')}], the manifest says ${c.dtype} [${shape.join(', ')}]`);
      }
      out[name] = (await reader.read(name)).data as Int32Array | Float32Array;
    }
    return out;
  } finally {
    await reader.close();
  }
}

/** Streams the shards of a folder in order, one in memory at a time. */
export async function* readShards(dir: string, kind?: string): AsyncGenerator<{ examples: number; columns: Record<string, Int32Array | Float32Array> }> {
  const manifest = await readManifest(dir, kind);
  for (let i = 0; i < manifest.shards.length; i++) yield { examples: manifest.shards[i]!.examples, columns: await readShard(dir, manifest, i) };
}

/** The BERT example columns (names as in Hugging Face / google-research/bert). */
export function bertColumns(maxSeqLength: number, maxPredictions: number): Record<string, ColumnSpec> {
  return {
    input_ids: { dtype: 'I32', width: maxSeqLength },
    token_type_ids: { dtype: 'I32', width: maxSeqLength },
    attention_mask: { dtype: 'I32', width: maxSeqLength },
    masked_lm_positions: { dtype: 'I32', width: maxPredictions },
    masked_lm_ids: { dtype: 'I32', width: maxPredictions },
    masked_lm_weights: { dtype: 'F32', width: maxPredictions },
    next_sentence_labels: { dtype: 'I32', width: 0 },
  };
}

/** A batch as shard columns. */
export function bertBatchColumns(b: BertBatch): Record<string, Int32Array | Float32Array> {
  return {
    input_ids: b.inputIds, token_type_ids: b.tokenTypeIds, attention_mask: b.attentionMask,
    masked_lm_positions: b.maskedPositions, masked_lm_ids: b.maskedIds, masked_lm_weights: b.maskedWeights,
    next_sentence_labels: b.nextSentenceLabels,
  };
}

function columnsToBertBatch(columns: Record<string, Int32Array | Float32Array>, size: number, seqLength: number, maxPredictions: number): BertBatch {
  return {
    size, seqLength, maxPredictions,
    inputIds: columns.input_ids as Int32Array, tokenTypeIds: columns.token_type_ids as Int32Array, attentionMask: columns.attention_mask as Int32Array,
    maskedPositions: columns.masked_lm_positions as Int32Array, maskedIds: columns.masked_lm_ids as Int32Array,
    maskedWeights: columns.masked_lm_weights as Float32Array, nextSentenceLabels: columns.next_sentence_labels as Int32Array,
  };
}

/** BERT examples from a shard folder, in order, wrapping around; one shard in memory; the position is resumable. */
export class BertShardSource implements BertBatchSource {
  private shard = 0;
  private row = 0;
  private loaded: { index: number; batch: BertBatch } | undefined;

  private constructor(readonly dir: string, readonly manifest: ShardManifest) {}

  /** Opens a folder written by `pretrain data bert`. */
  static async open(dir: string): Promise<BertShardSource> {
    const manifest = await readManifest(dir, 'bert');
    if (manifest.examples === 0) throw new Error(`${dir}: the shard folder has no examples`);
    return new BertShardSource(dir, manifest);
  }

  get length(): number { return this.manifest.examples; }
  get seqLength(): number { return this.manifest.columns.input_ids!.width; }
  get maxPredictions(): number { return this.manifest.columns.masked_lm_positions!.width; }

  private async load(index: number): Promise<BertBatch> {
    if (this.loaded?.index !== index) {
      const columns = await readShard(this.dir, this.manifest, index);
      this.loaded = { index, batch: columnsToBertBatch(columns, this.manifest.shards[index]!.examples, this.seqLength, this.maxPredictions) };
    }
    return this.loaded.batch;
  }

  /** The next `size` examples, continuing across shards and wrapping around at the end. */
  async next(size: number): Promise<BertBatch> {
    const L = this.seqLength, P = this.maxPredictions;
    const out = emptyBertBatch(size, L, P);
    let filled = 0;
    while (filled < size) {
      const b = await this.load(this.shard);
      const take = Math.min(size - filled, b.size - this.row);
      const copy = (dst: Int32Array | Float32Array, src: Int32Array | Float32Array, w: number) => dst.set(src.subarray(this.row * w, (this.row + take) * w), filled * w);
      copy(out.inputIds, b.inputIds, L); copy(out.tokenTypeIds, b.tokenTypeIds, L); copy(out.attentionMask, b.attentionMask, L);
      copy(out.maskedPositions, b.maskedPositions, P); copy(out.maskedIds, b.maskedIds, P); copy(out.maskedWeights, b.maskedWeights, P);
      copy(out.nextSentenceLabels, b.nextSentenceLabels, 1);
      filled += take;
      this.row += take;
      if (this.row === b.size) { this.row = 0; this.shard = (this.shard + 1) % this.manifest.shards.length; }
    }
    return out;
  }

  /** The position (shard and row), for checkpoints. */
  state(): unknown { return { shard: this.shard, row: this.row }; }
  /** Restores a position from `state`. */
  restore(state: unknown): void {
    const s = state as { shard?: unknown; row?: unknown };
    const shard = Number(s?.shard), row = Number(s?.row);
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.manifest.shards.length || !Number.isInteger(row) || row < 0 || row >= this.manifest.shards[shard]!.examples) {
      throw new Error(`${this.dir}: cannot restore data position ${JSON.stringify(state)}`);
    }
    this.shard = shard;
    this.row = row;
  }
}

/** All examples of a BERT shard folder in one batch (held-out sets, small corpora). */
export async function loadBertExamples(dir: string): Promise<BertBatch> {
  const source = await BertShardSource.open(dir);
  return source.next(source.length);
}
