// End-to-end data preparation behind `pretrain data bert|lm`: corpus -> tokens -> examples -> shards, with progress
// callbacks and a summary (the library never prints).
import { Corpus, type CorpusLayout, type CorpusStats } from '../text/corpus.js';
import { BERT_DATA_DEFAULTS, createTrainingInstances, instancesToBatch, tokenizeDocuments, type BertDataOptions, type BertInstance } from './bert.js';
import { bertVocab, type TokenEncoder } from './encoder.js';
import { tokenBlocks } from './lm.js';
import { Rng } from './random.js';
import { bertBatchColumns, bertColumns, ShardWriter, type ShardManifest } from './shards.js';

/** Where a preparation run is: reading the corpus (bytes), making examples (documents x passes), writing (examples). */
export interface PrepareProgress {
  phase: 'read' | 'examples' | 'write';
  done: number;
  total: number;
  corpus: Readonly<CorpusStats>;
}

/** Options common to both preparations. */
export interface PrepareOptions {
  /** Files and folders (recursive; .gz read through). */
  input: string | string[];
  /** Output folder: shards and manifest.json. */
  out: string;
  encoder: TokenEncoder;
  layout?: CorpusLayout;
  /** With the prose layout: a document is a file or a paragraph. */
  proseDocuments?: 'file' | 'paragraph';
  examplesPerShard?: number;
  onProgress?: (p: PrepareProgress) => void;
}

/** What a run read and wrote, for the CLI's summary table and --json. */
export interface PrepareSummary {
  files: number;
  bytes: number;
  documents: number;
  sentences: number;
  tokens: number;
  /** Invalid UTF-8 replaced while reading: U+FFFD characters, the bytes they replaced, and the files. */
  invalidSequences: number;
  invalidBytes: number;
  invalidFiles: { path: string; sequences: number; bytes: number }[];
  examples: number;
  shards: number;
  seconds: number;
  [stat: string]: unknown;
}

function corpusSummary(s: Readonly<CorpusStats>) {
  return { files: s.files, bytes: s.bytesRead, documents: s.documents, sentences: s.sentences, invalidSequences: s.invalidSequences, invalidBytes: s.invalidBytes, invalidFiles: s.invalidFiles };
}

/** Makes BERT pretraining examples (create_pretraining_data semantics) and writes them as shards. */
export async function prepareBertData(opts: PrepareOptions & Partial<BertDataOptions>): Promise<{ manifest: ShardManifest; summary: PrepareSummary }> {
  const started = Date.now();
  if (opts.layout === 'raw') throw new Error("BERT examples need sentences: use the 'sentence-per-line' or 'prose' layout, not 'raw'");
  const options: BertDataOptions = { ...BERT_DATA_DEFAULTS };
  for (const k of Object.keys(BERT_DATA_DEFAULTS) as (keyof BertDataOptions)[]) if (opts[k] !== undefined) (options as unknown as Record<string, unknown>)[k] = opts[k];
  const vocab = bertVocab(opts.encoder);
  const corpus = await Corpus.open(opts.input, {
    layout: opts.layout,
    proseDocuments: opts.proseDocuments,
    onProgress: (s) => opts.onProgress?.({ phase: 'read', done: s.bytesRead, total: s.totalBytes, corpus: s }),
  });
  const documents = await tokenizeDocuments(corpus.documents(), opts.encoder);
  if (documents.length === 0) throw new Error(`${[opts.input].flat().join(', ')}: no text to make examples from`);
  let tokens = 0;
  for (const d of documents) for (const s of d) tokens += s.length;
  const totalWork = documents.length * options.dupeFactor;
  const instances = createTrainingInstances(documents, vocab, options, new Rng(options.seed), (done) => opts.onProgress?.({ phase: 'examples', done, total: totalWork, corpus: corpus.stats }));
  const perShard = opts.examplesPerShard ?? 10_000;
  const writer = await ShardWriter.create(opts.out, 'bert', bertColumns(options.maxSeqLength, options.maxPredictionsPerSeq), perShard);
  for (let start = 0; start < instances.length; start += perShard) {
    const part = instances.slice(start, start + perShard);
    await writer.append(bertBatchColumns(instancesToBatch(part, options.maxSeqLength, options.maxPredictionsPerSeq, vocab.pad)), part.length);
    opts.onProgress?.({ phase: 'write', done: start + part.length, total: instances.length, corpus: corpus.stats });
  }
  const stats = instanceStats(instances, options.maxSeqLength);
  const summary: PrepareSummary = { ...corpusSummary(corpus.stats), tokens, examples: instances.length, shards: Math.ceil(instances.length / perShard), seconds: (Date.now() - started) / 1000, ...stats };
  const manifest = await writer.finish({ options, examplesPerShard: perShard, vocabSize: vocab.size, padId: vocab.pad, stats: summary });
  return { manifest, summary };
}

/** Length, NSP and masking statistics of instances (the rates the data should show). */
export function instanceStats(instances: Iterable<BertInstance> & { length: number }, maxSeqLength: number) {
  let length = 0, full = 0, randomNext = 0, masked = 0;
  for (const inst of instances) {
    length += inst.inputIds.length;
    if (inst.inputIds.length === maxSeqLength) full++;
    if (inst.isRandomNext) randomNext++;
    masked += inst.maskedPositions.length;
  }
  const n = Math.max(1, instances.length);
  return { meanLength: length / n, fullLengthFraction: full / n, randomNextFraction: randomNext / n, maskedPerExample: masked / n };
}

/** The id put between documents in LM streams: GPT-2's <|endoftext|>, else [SEP], else none. */
export function defaultSeparator(enc: TokenEncoder): number | undefined {
  return enc.tokenToId('<|endoftext|>') ?? enc.tokenToId('[SEP]');
}

/** Tokenizes a corpus into contiguous blocks of `blockSize` ids (documents joined by a separator) and writes shards
 * with one column, input_ids [examples, blockSize]. */
export async function prepareLmData(opts: PrepareOptions & { blockSize: number; separator?: number | null }): Promise<{ manifest: ShardManifest; summary: PrepareSummary }> {
  const started = Date.now();
  const separator = opts.separator === null ? undefined : opts.separator ?? defaultSeparator(opts.encoder);
  const corpus = await Corpus.open(opts.input, {
    layout: opts.layout,
    proseDocuments: opts.proseDocuments,
    onProgress: (s) => opts.onProgress?.({ phase: 'read', done: s.bytesRead, total: s.totalBytes, corpus: s }),
  });
  let tokens = 0;
  const encoder = opts.encoder;
  async function* docIds() {
    for await (const doc of corpus.documents()) {
      // A document is encoded as one text, its sentences (or, in the raw layout, its lines) joined by line breaks,
      // so byte-level BPE sees them.
      const ids = encoder.encode(doc.join('\n')).ids;
      tokens += ids.length;
      yield ids;
    }
  }
  const perShard = opts.examplesPerShard ?? 10_000;
  const writer = await ShardWriter.create(opts.out, 'lm', { input_ids: { dtype: 'I32', width: opts.blockSize } }, perShard);
  let blocks = 0;
  for await (const block of tokenBlocks(docIds(), { blockSize: opts.blockSize, separator })) {
    await writer.append({ input_ids: block }, 1);
    blocks++;
  }
  if (blocks === 0) {
    throw new Error(`${[opts.input].flat().join(', ')}: ${tokens === 0 ? 'the corpus holds no text' : `${tokens} tokens are fewer than one block of ${opts.blockSize}`}; no shards were written`);
  }
  const streamed = tokens + (separator === undefined ? 0 : corpus.stats.documents);
  const summary: PrepareSummary = {
    ...corpusSummary(corpus.stats), tokens, examples: blocks, shards: Math.ceil(blocks / perShard), seconds: (Date.now() - started) / 1000,
    blockSize: opts.blockSize, separator: separator ?? null, droppedTokens: streamed - blocks * opts.blockSize,
  };
  const manifest = await writer.finish({ blockSize: opts.blockSize, separator: separator ?? null, examplesPerShard: perShard, vocabSize: encoder.vocabSize, stats: summary });
  return { manifest, summary };
}
