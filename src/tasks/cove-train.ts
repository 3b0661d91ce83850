// Training CoVe's translation model (English→German, as McCann et al. on Multi30k/WMT): parallel text read and
// tokenised, the source vocabulary taken from the GloVe vectors (fixed) and the target's built by frequency, teacher
// forcing with the cross-entropy of every target word and </s>, batches bucketed by length, and evaluation by
// held-out loss and by BLEU (sacrebleu's semantics, bleu.ts) of greedy translations, detokenised, against the raw
// references. The model directory holds config.json, model.safetensors and both vocabularies.
import { CoveModel, COVE_BOS, COVE_EOS } from '../models/cove.js';
import { loadPretrained } from '../models/pretrained.js';
import { WordVectors } from '../models/vectors.js';
import { Glove, type GloveOptions } from '../models/word2vec/glove.js';
import { fsp, nodePath } from '../platform/node.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import { Generator, hash32 } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Corpus, type CorpusStats } from '../text/corpus.js';
import { BOS, EOS, UNK, WordVocab } from '../text/word-lm.js';
import { corpusBleu, type BleuScore } from './bleu.js';
import { LOOP_DEFAULTS, type TrainConfig, type TrainTask } from './trainer.js';

// ---------------------------------------------------------------------------------------------------------------
// Tokens

/**
 * Marks a token written against the previous one, with no space between (OpenNMT Tokenizer's joiner, U+FFED), so
 * that detokenising puts the text back: "T-Shirt." → T ￭- ￭Shirt ￭.
 */
export const JOINER = '\uffed';

/** Words (letters and digits, inner apostrophes kept, as the vector trainers' words) and every other character alone. */
const TOKEN = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;

/** A sentence's tokens, each written against the previous one marked with JOINER (the target side). */
export function joinerTokens(text: string): string[] {
  const out: string[] = [];
  let end = -1;
  for (const m of text.matchAll(TOKEN)) {
    out.push(m.index === end ? JOINER + m[0] : m[0]);
    end = m.index! + m[0].length;
  }
  return out;
}

/** A sentence's tokens without marks (the source side, and the CoVe encoder's split of a text). */
export function sourceTokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** Puts joinerTokens' output back into text: a space before every token but a marked one. */
export function detokenize(tokens: readonly string[]): string {
  return tokens.map((t, i) => (t.startsWith(JOINER) && t.length > 1 ? t.slice(1) : i === 0 ? t : ` ${t}`)).join('');
}

// ---------------------------------------------------------------------------------------------------------------
// Data

/** One sentence pair: the source's tokens, the target's (with joiners) and the target as written (BLEU's reference). */
export interface TranslationPair {
  source: string[];
  target: string[];
  reference: string;
}

/** A parallel corpus read, with what was left out. */
export interface ParallelText {
  pairs: TranslationPair[];
  /** Line pairs with an empty side (no tokens), skipped. */
  skippedEmpty: number;
  /** What the reads counted (invalid UTF-8 replaced). */
  stats: CorpusStats[];
}

async function readLines(path: string): Promise<{ lines: string[]; stats: CorpusStats }> {
  const corpus = await Corpus.open(path, { layout: 'raw' });
  const lines: string[] = [];
  for await (const line of corpus.lines()) lines.push(line);
  return { lines, stats: corpus.stats };
}

/** Reads a source and a target file (.gz allowed) line by line; the line counts must agree. */
export async function readParallel(sourcePath: string, targetPath: string): Promise<ParallelText> {
  const [src, tgt] = await Promise.all([readLines(sourcePath), readLines(targetPath)]);
  if (src.lines.length !== tgt.lines.length) {
    throw new Error(`${sourcePath} has ${src.lines.length} lines but ${targetPath} has ${tgt.lines.length}; line i of one must translate line i of the other`);
  }
  const pairs: TranslationPair[] = [];
  let skippedEmpty = 0;
  src.lines.forEach((line, i) => {
    const source = sourceTokens(line), target = joinerTokens(tgt.lines[i]!);
    if (source.length === 0 || target.length === 0) skippedEmpty++;
    else pairs.push({ source, target, reference: tgt.lines[i]!.trim() });
  });
  return { pairs, skippedEmpty, stats: [src.stats, tgt.stats] };
}

/** The source vocabulary of GloVe vectors: `<unk>`, `<s>`, `</s>` (zero rows) and the vectors' words, with the table. */
export function gloveVocabulary(vectors: WordVectors): { vocab: WordVocab; table: Float32Array } {
  const specials = new Set([UNK, BOS, EOS]);
  const rows = vectors.words.map((w, i) => [w, i] as const).filter(([w]) => !specials.has(w));
  const seen = new Set<string>();
  const kept = rows.filter(([w]) => !seen.has(w) && seen.add(w));
  const d = vectors.dim;
  const table = new Float32Array((kept.length + 3) * d);
  kept.forEach(([, i], r) => table.set(vectors.vectors.subarray(i * d, (i + 1) * d), (r + 3) * d));
  return { vocab: new WordVocab([UNK, BOS, EOS, ...kept.map(([w]) => w)]), table };
}

/** A source word's row: the word itself, else lowercased (vectors trained here are lowercase; GloVe 840B is cased), else `<unk>`. */
export function sourceId(vocab: WordVocab, word: string): number {
  return vocab.index.get(word) ?? vocab.id(word.toLowerCase());
}

/** The share of source tokens with no GloVe vector. */
export function sourceOovRate(vocab: WordVocab, pairs: readonly TranslationPair[]): number {
  let n = 0, oov = 0;
  for (const p of pairs) for (const w of p.source) { n++; if (sourceId(vocab, w) === 0) oov++; }
  return n ? oov / n : 0;
}

/** GloVe trained here on the source side (lowercased tokens): CoVe's input when no vectors are given. */
export async function trainSourceGlove(pairs: readonly TranslationPair[], opts: Partial<GloveOptions> = {}, onEpoch?: (epoch: number, loss: number) => void): Promise<WordVectors> {
  const sentences = pairs.map((p) => p.source.map((w) => w.toLowerCase()));
  const glove = await Glove.train(() => sentences, opts, (p) => { if (p.epoch !== undefined) onEpoch?.(p.epoch, p.loss ?? NaN); });
  return glove.toVectors();
}

/** The vocabularies a CoVe model reads and writes, saved beside it. */
export interface CoveVocabularies {
  source: WordVocab;
  target: WordVocab;
}

export const SOURCE_VOCAB_FILE = 'source_vocab.txt';
export const TARGET_VOCAB_FILE = 'target_vocab.txt';

/** Writes both vocabularies into a model directory. */
export async function saveCoveVocabularies(dir: string, vocabs: CoveVocabularies): Promise<void> {
  await fsp.writeFile(nodePath.join(dir, SOURCE_VOCAB_FILE), vocabs.source.toText());
  await fsp.writeFile(nodePath.join(dir, TARGET_VOCAB_FILE), vocabs.target.toText());
}

/** Reads the vocabularies beside a model, checked against its config's sizes. */
export async function readCoveVocabularies(dir: string, config: { source_vocab_size: number; target_vocab_size: number }): Promise<CoveVocabularies> {
  const read = async (file: string, size: number) => {
    const path = nodePath.join(dir, file);
    const text = await fsp.readFile(path, 'utf8').catch(() => { throw new Error(`${dir}: no ${file} beside the model (pretrain cove train writes it)`); });
    const vocab = WordVocab.fromText(text, path);
    if (vocab.size !== size) throw new Error(`${path}: ${vocab.size} words, but config.json says ${size}`);
    return vocab;
  };
  return { source: await read(SOURCE_VOCAB_FILE, config.source_vocab_size), target: await read(TARGET_VOCAB_FILE, config.target_vocab_size) };
}

/** A CoVe model directory (a checkpoint or `best`) with its vocabularies, in evaluation mode. */
export async function loadCove(dir: string): Promise<{ model: CoveModel; vocabs: CoveVocabularies }> {
  const { model } = await loadPretrained(dir);
  if (!(model instanceof CoveModel)) throw new Error(`${dir}: not a CoVe model (${model.constructor.name})`);
  return { model, vocabs: await readCoveVocabularies(dir, model.config) };
}

/** A pair as ids: source rows, and the target words then `</s>`. */
interface EncodedPair {
  source: Int32Array;
  target: Int32Array;
}

function encodePair(p: TranslationPair, vocabs: CoveVocabularies): EncodedPair {
  return {
    source: Int32Array.from(p.source, (w) => sourceId(vocabs.source, w)),
    target: Int32Array.from([...p.target.map((w) => vocabs.target.id(w)), COVE_EOS]),
  };
}

/** A padded batch: source ids and mask, decoder inputs (`<s>` w…, padded with `</s>`) and labels (-100 at padding). */
function pairBatch(pairs: readonly EncodedPair[]): { sourceIds: Tensor; sourceMask: Tensor; targetIds: Tensor; labels: Tensor; tokens: number } {
  const B = pairs.length;
  const S = Math.max(...pairs.map((p) => p.source.length)), T = Math.max(...pairs.map((p) => p.target.length));
  const src = new Int32Array(B * S), mask = new Float32Array(B * S), inp = new Int32Array(B * T).fill(COVE_EOS), lab = new Int32Array(B * T).fill(-100);
  let tokens = 0;
  pairs.forEach((p, b) => {
    src.set(p.source, b * S);
    mask.fill(1, b * S, b * S + p.source.length);
    inp[b * T] = COVE_BOS;
    inp.set(p.target.subarray(0, p.target.length - 1), b * T + 1);
    lab.set(p.target, b * T);
    tokens += p.target.length;
  });
  return {
    sourceIds: ops.fromArray(src, [B, S], { dtype: 'int32' }), sourceMask: ops.fromArray(mask, [B, S]),
    targetIds: ops.fromArray(inp, [B, T], { dtype: 'int32' }), labels: ops.fromArray(lab, [B, T], { dtype: 'int32' }), tokens,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/** Options of greedy translation. */
export interface TranslateOptions {
  /** Sentences per batch. Default 64. */
  batchSize?: number;
  /** The most target tokens per sentence; default twice the source's length plus 10. */
  maxLength?: number;
  /** Called after each batch with the number of sentences translated so far. */
  onProgress?: (done: number) => void;
}

/** Greedy decoding of source id rows, batched (sentences sorted by length), with grad off: the target ids, `</s>` cut. */
export async function greedyTranslate(model: CoveModel, sources: readonly Int32Array[], opts: TranslateOptions = {}): Promise<number[][]> {
  const batchSize = opts.batchSize ?? 64;
  const order = sources.map((_, i) => i).sort((a, b) => sources[a]!.length - sources[b]!.length);
  const out: number[][] = new Array(sources.length);
  model.eval();
  for (let start = 0; start < order.length; start += batchSize) {
    const rows = order.slice(start, start + batchSize);
    const B = rows.length, S = Math.max(1, ...rows.map((i) => sources[i]!.length));
    const ids = new Int32Array(B * S), mask = new Float32Array(B * S);
    rows.forEach((i, b) => { ids.set(sources[i]!, b * S); mask.fill(1, b * S, b * S + sources[i]!.length); });
    const limit = opts.maxLength ?? 2 * S + 10;
    const result: number[][] = rows.map(() => []);
    const done = new Array<boolean>(B).fill(false);
    const encoded = noGrad(() => model.encode(ops.fromArray(ids, [B, S], { dtype: 'int32' }), ops.fromArray(mask, [B, S])));
    const source = encoded.source;
    let state = encoded.state;
    let prev = new Int32Array(B).fill(COVE_BOS);
    for (let t = 0; t < limit && done.includes(false); t++) {
      const step = noGrad(() => {
        const r = model.decoder.forward(ops.fromArray(prev, [B, 1], { dtype: 'int32' }), source, state);
        return { state: r.state, next: ops.argmax(model.decoder.logits(r.hTilde), -1) };
      });
      state = step.state;
      const next = (await step.next.data()) as Int32Array;
      prev = Int32Array.from(next);
      next.forEach((id, b) => {
        if (done[b]) return;
        if (id === COVE_EOS) done[b] = true;
        else result[b]!.push(id);
      });
    }
    rows.forEach((i, b) => { out[i] = result[b]!; });
    opts.onProgress?.(start + rows.length);
  }
  return out;
}

/** Translates sentences (raw text) into detokenised target text. */
export async function translateSentences(model: CoveModel, vocabs: CoveVocabularies, sentences: readonly string[], opts: TranslateOptions = {}): Promise<string[]> {
  const sources = sentences.map((s) => Int32Array.from(sourceTokens(s), (w) => sourceId(vocabs.source, w)));
  const ids = await greedyTranslate(model, sources, opts);
  return ids.map((row) => detokenize(row.map((id) => vocabs.target.words[id]!)));
}

// ---------------------------------------------------------------------------------------------------------------
// Training

/**
 * CoVe training's recipe: Adam at 1e-3 (no weight decay, so AdamW is Adam), a short warmup and cosine decay to a
 * tenth, gradients clipped at norm 5 (OpenNMT's), 1,000 steps of 64 pairs (about two epochs of Multi30k; minutes on two
 * cores at the CLI's default size).
 */
export const COVE_TRAIN: TrainConfig = {
  ...LOOP_DEFAULTS, maxSteps: 1000, lr: 1e-3, minLrRate: 0.1, warmupSteps: 100, schedule: 'cosine', weightDecay: 0,
  beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 5, evalEvery: 250, checkpointEvery: 250,
};

/** Options of CoVe training. */
export interface CoveTaskOptions {
  batchSize: number;
  /** Validation pairs scored by loss and translated for BLEU at each evaluation (the first this many). */
  evalPairs: number;
  /** Seeds the order of each epoch (with the epoch's number), so that a resumed run draws the same batches. */
  seed: number;
  /** Writes the vocabularies (and anything else) beside the model in checkpoints. */
  saveExtras?: (dir: string) => Promise<void>;
}

/** English→German teacher forcing on bucketed batches; validation loss, perplexity and greedy BLEU. */
export class CoveTrainTask implements TrainTask {
  private readonly train: EncodedPair[];
  private readonly val: EncodedPair[];
  private readonly references: string[];
  private order: number[][] = [];
  private epoch = 0;
  private position = 0;
  /** The last evaluation's BLEU, with its breakdown. */
  lastBleu: BleuScore | null = null;

  constructor(readonly model: CoveModel, train: readonly TranslationPair[], val: readonly TranslationPair[], readonly vocabs: CoveVocabularies, readonly opts: CoveTaskOptions) {
    for (const name of ['batchSize', 'evalPairs'] as const) {
      if (!(Number.isInteger(opts[name]) && opts[name] > 0)) throw new RangeError(`CoveTrainTask: ${name} must be a positive integer, got ${opts[name]}`);
    }
    if (train.length === 0) throw new Error('CoveTrainTask: no training pairs');
    if (val.length === 0) throw new Error('CoveTrainTask: no validation pairs');
    if (vocabs.source.size !== model.config.source_vocab_size || vocabs.target.size !== model.config.target_vocab_size) {
      throw new Error(`CoveTrainTask: vocabularies of ${vocabs.source.size} and ${vocabs.target.size} words for a model of ${model.config.source_vocab_size} and ${model.config.target_vocab_size}`);
    }
    this.train = train.map((p) => encodePair(p, vocabs));
    const evalSet = val.slice(0, opts.evalPairs);
    this.val = evalSet.map((p) => encodePair(p, vocabs));
    this.references = evalSet.map((p) => p.reference);
    this.buildEpoch();
  }

  /** The epoch's batches: a shuffle seeded by (seed, epoch), sorted by length within chunks of 50 batches, batches shuffled. */
  private buildEpoch(): void {
    const rng = new Generator(hash32(this.opts.seed, this.epoch));
    const shuffle = <T>(xs: T[]) => { for (let i = xs.length - 1; i > 0; i--) { const j = Math.floor(rng.random() * (i + 1)); [xs[i], xs[j]] = [xs[j]!, xs[i]!]; } return xs; };
    const idx = shuffle(this.train.map((_, i) => i));
    const B = this.opts.batchSize, chunk = 50 * B;
    const key = (i: number) => this.train[i]!.source.length * 1000 + this.train[i]!.target.length;
    const batches: number[][] = [];
    for (let c = 0; c < idx.length; c += chunk) {
      const part = idx.slice(c, c + chunk).sort((a, b) => key(a) - key(b));
      for (let b = 0; b < part.length; b += B) batches.push(part.slice(b, b + B));
    }
    this.order = shuffle(batches);
  }

  async trainLoss(): Promise<{ loss: Tensor; tokens: number }> {
    if (this.position >= this.order.length) { this.epoch++; this.position = 0; this.buildEpoch(); }
    const { tokens, ...inputs } = pairBatch(this.order[this.position++]!.map((i) => this.train[i]!));
    return { loss: this.model.forward(inputs).loss!, tokens };
  }

  async evaluate(): Promise<Record<string, number>> {
    // teacher-forced loss over every labelled target token
    let sum = 0, count = 0;
    const byLength = this.val.map((_, i) => i).sort((a, b) => this.val[a]!.source.length - this.val[b]!.source.length);
    for (let s = 0; s < byLength.length; s += 64) {
      const { tokens, labels, ...inputs } = pairBatch(byLength.slice(s, s + 64).map((i) => this.val[i]!));
      const { logits } = this.model.forward(inputs);
      sum += await ops.crossEntropy(ops.reshape(logits, [-1, this.model.config.target_vocab_size]), ops.reshape(labels, [-1]), { reduction: 'sum' }).item();
      count += tokens;
    }
    const hyps = (await greedyTranslate(this.model, this.val.map((p) => p.source))).map((row) => detokenize(row.map((id) => this.vocabs.target.words[id]!)));
    this.lastBleu = corpusBleu(hyps, [this.references]);
    const loss = sum / count;
    return { val_loss: loss, perplexity: Math.exp(loss), bleu: this.lastBleu.score };
  }

  dataState(): unknown { return { epoch: this.epoch, position: this.position }; }
  restoreDataState(state: unknown): void {
    const s = state as { epoch: number; position: number };
    this.epoch = s.epoch;
    this.buildEpoch();
    this.position = s.position;
  }

  saveExtras(dir: string): Promise<void> {
    return this.opts.saveExtras ? this.opts.saveExtras(dir) : Promise.resolve();
  }
}
