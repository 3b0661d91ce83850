// BERT pretraining examples with the semantics of google-research/bert's create_pretraining_data.py, step for step:
// documents shuffled, `dupe_factor` passes, segment pairs that respect documents with a target length drawn once per
// document (short with probability `short_seq_prob`), 50% random next segments from another document (the unused
// segments put back), truncate_seq_pair trimming a random end of the longer segment, masked-LM with
// `masked_lm_prob` capped by `max_predictions_per_seq`, 80/10/10, optional whole-word masking, and all instances
// shuffled at the end. Draws are made in the script's order; the PRNG is ours (src/data/random.ts), so the choices
// are reproducible for a seed but not bit-identical to Python's Mersenne Twister.
import type { BertBatch } from './batches.js';
import type { BertVocab, TokenEncoder } from './encoder.js';
import { Rng } from './random.js';

/** Options of create_pretraining_data (its defaults, except dupe_factor and seed where noted). */
export interface BertDataOptions {
  /** Length of every example, [CLS] and the two [SEP] included. */
  maxSeqLength: number;
  maxPredictionsPerSeq: number;
  maskedLmProb: number;
  /** Probability that a document's target length is drawn uniformly from [2, max] instead of max. */
  shortSeqProb: number;
  /** Passes over the corpus, each with different masks and pairs. */
  dupeFactor: number;
  /** Mask all the pieces of a word together (pieces after the first start with ##). */
  wholeWordMask: boolean;
  seed: number;
}

/** google-research/bert's defaults (max_seq_length 128, 20 predictions, 0.15, 0.1, dupe 10, seed 12345). */
export const BERT_DATA_DEFAULTS: BertDataOptions = {
  maxSeqLength: 128, maxPredictionsPerSeq: 20, maskedLmProb: 0.15, shortSeqProb: 0.1, dupeFactor: 10, wholeWordMask: false, seed: 12345,
};

/** A document: its sentences as token ids (no special tokens), none empty. */
export type TokenDocument = Int32Array[];

/** One example before padding. */
export interface BertInstance {
  /** [CLS] A [SEP] B [SEP], after masking. */
  inputIds: Int32Array;
  /** Length of [CLS] A [SEP]: segment id 0 before it, 1 from it on. */
  segmentALength: number;
  isRandomNext: boolean;
  /** Masked positions, ascending, and the original ids there. */
  maskedPositions: Int32Array;
  maskedIds: Int32Array;
}

/** Tokenizes documents (arrays of sentences), dropping sentences with no tokens and documents with no sentences. */
export async function tokenizeDocuments(docs: AsyncIterable<readonly string[]> | Iterable<readonly string[]>, enc: TokenEncoder): Promise<TokenDocument[]> {
  const cls = enc.tokenToId('[CLS]');
  if (cls !== undefined && enc.encode('a').ids[0] === cls) {
    throw new Error('the encoder adds special tokens ([CLS] first); pass encoderFromTokenizer(tokenizer), which encodes without them');
  }
  const out: TokenDocument[] = [];
  for await (const doc of docs) {
    const sentences: Int32Array[] = [];
    for (const s of doc) {
      const ids = Int32Array.from(enc.encode(s).ids);
      if (ids.length > 0) sentences.push(ids);
    }
    if (sentences.length > 0) out.push(sentences);
  }
  return out;
}

/** All instances of a corpus: shuffled documents, `dupeFactor` passes, then the instances shuffled. All are held in
 * memory until the final shuffle, as in the script, but packed (about 4 bytes a token); split a very large corpus
 * into several runs, as its README advises. */
export function createTrainingInstances(documents: readonly TokenDocument[], vocab: BertVocab, opts: BertDataOptions, rng = new Rng(opts.seed), onProgress?: (documentsDone: number) => void): BertInstances {
  checkOptions(opts);
  const docs = rng.shuffle(documents.filter((d) => d.length > 0));
  const instances = new BertInstances();
  for (let dupe = 0; dupe < opts.dupeFactor; dupe++) {
    for (let d = 0; d < docs.length; d++) {
      for (const inst of createInstancesFromDocument(docs, d, vocab, opts, rng)) instances.push(inst);
      onProgress?.(dupe * docs.length + d + 1);
    }
  }
  instances.shuffle(rng);
  return instances;
}

/** Instances packed into int32 pages ([length, segment A length, random next, predictions, ids..., positions...,
 * labels...] each), read back through an order that `shuffle` permutes exactly as shuffling an array would. */
export class BertInstances implements Iterable<BertInstance> {
  private static readonly PAGE = 1 << 20;
  private pages: Int32Array[] = [];
  private used = BertInstances.PAGE;
  /** Page and offset of each instance, in insertion order. */
  private where: number[] = [];
  private order: Int32Array | undefined;

  get length(): number { return this.where.length / 2; }

  /** Appends an instance (before `shuffle`). */
  push(inst: BertInstance): void {
    const n = inst.inputIds.length, m = inst.maskedPositions.length, size = 4 + n + 2 * m;
    if (this.used + size > BertInstances.PAGE) {
      this.pages.push(new Int32Array(Math.max(BertInstances.PAGE, size)));
      this.used = 0;
    }
    const page = this.pages[this.pages.length - 1]!, at = this.used;
    page[at] = n; page[at + 1] = inst.segmentALength; page[at + 2] = inst.isRandomNext ? 1 : 0; page[at + 3] = m;
    page.set(inst.inputIds, at + 4);
    page.set(inst.maskedPositions, at + 4 + n);
    page.set(inst.maskedIds, at + 4 + n + m);
    this.where.push(this.pages.length - 1, at);
    this.used += size;
    this.order = undefined;
  }

  /** Shuffles the order (random.shuffle over the instance list). */
  shuffle(rng: Rng): void {
    const order = Array.from({ length: this.length }, (_, i) => i);
    this.order = Int32Array.from(rng.shuffle(order));
  }

  /** The i-th instance (views into the pages). */
  get(i: number): BertInstance {
    const k = this.order ? this.order[i]! : i;
    const page = this.pages[this.where[2 * k]!]!, at = this.where[2 * k + 1]!;
    const n = page[at]!, m = page[at + 3]!;
    return {
      inputIds: page.subarray(at + 4, at + 4 + n), segmentALength: page[at + 1]!, isRandomNext: page[at + 2] === 1,
      maskedPositions: page.subarray(at + 4 + n, at + 4 + n + m), maskedIds: page.subarray(at + 4 + n + m, at + 4 + n + 2 * m),
    };
  }

  /** Instances [start, end) as an array. */
  slice(start: number, end = this.length): BertInstance[] {
    const out: BertInstance[] = [];
    for (let i = start; i < Math.min(end, this.length); i++) out.push(this.get(i));
    return out;
  }

  *[Symbol.iterator](): Iterator<BertInstance> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
}

function checkOptions(o: BertDataOptions): void {
  if (!Number.isInteger(o.maxSeqLength) || o.maxSeqLength < 5) throw new RangeError(`maxSeqLength must be an integer >= 5, got ${o.maxSeqLength}`);
  if (!Number.isInteger(o.maxPredictionsPerSeq) || o.maxPredictionsPerSeq < 1) throw new RangeError(`maxPredictionsPerSeq must be a positive integer, got ${o.maxPredictionsPerSeq}`);
  if (!(o.maskedLmProb > 0 && o.maskedLmProb <= 1)) throw new RangeError(`maskedLmProb must be in (0, 1], got ${o.maskedLmProb}`);
  if (!(o.shortSeqProb >= 0 && o.shortSeqProb <= 1)) throw new RangeError(`shortSeqProb must be in [0, 1], got ${o.shortSeqProb}`);
  if (!Number.isInteger(o.dupeFactor) || o.dupeFactor < 1) throw new RangeError(`dupeFactor must be a positive integer, got ${o.dupeFactor}`);
}

/** The instances of one document (create_instances_from_document). */
export function createInstancesFromDocument(docs: readonly TokenDocument[], docIndex: number, vocab: BertVocab, opts: BertDataOptions, rng: Rng): BertInstance[] {
  const document = docs[docIndex]!;
  // [CLS], [SEP], [SEP]
  const maxNumTokens = opts.maxSeqLength - 3;
  // Mostly fill the whole sequence; sometimes (short_seq_prob) a shorter one, to reduce the mismatch between
  // pretraining and fine-tuning. As in the script, the target is drawn once per document.
  const targetSeqLength = rng.random() < opts.shortSeqProb ? rng.randint(2, maxNumTokens) : maxNumTokens;
  const instances: BertInstance[] = [];
  let chunk: Int32Array[] = [];
  let chunkLength = 0;
  for (let i = 0; i < document.length; i++) {
    const segment = document[i]!;
    chunk.push(segment);
    chunkLength += segment.length;
    if (i !== document.length - 1 && chunkLength < targetSeqLength) continue;
    if (chunk.length > 0) {
      // How many segments of the chunk go into A.
      const aEnd = chunk.length >= 2 ? rng.randint(1, chunk.length - 1) : 1;
      const a: number[] = [];
      for (let j = 0; j < aEnd; j++) pushAll(a, chunk[j]!);
      const b: number[] = [];
      let isRandomNext: boolean;
      if (chunk.length === 1 || rng.random() < 0.5) {
        isRandomNext = true;
        const targetBLength = targetSeqLength - a.length;
        // Ten tries at a different document (a corpus of one document cannot have one).
        let randomIndex = 0;
        for (let t = 0; t < 10; t++) {
          randomIndex = rng.randint(0, docs.length - 1);
          if (randomIndex !== docIndex) break;
        }
        const randomDoc = docs[randomIndex]!;
        const start = rng.randint(0, randomDoc.length - 1);
        for (let j = start; j < randomDoc.length; j++) {
          pushAll(b, randomDoc[j]!);
          if (b.length >= targetBLength) break;
        }
        // The segments of the chunk not used for A are put back, so they are not wasted.
        i -= chunk.length - aEnd;
      } else {
        isRandomNext = false;
        for (let j = aEnd; j < chunk.length; j++) pushAll(b, chunk[j]!);
      }
      truncateSeqPair(a, b, maxNumTokens, rng);
      const tokens = new Int32Array(a.length + b.length + 3);
      tokens[0] = vocab.cls;
      tokens.set(a, 1);
      tokens[a.length + 1] = vocab.sep;
      tokens.set(b, a.length + 2);
      tokens[tokens.length - 1] = vocab.sep;
      const masked = createMaskedLmPredictions(tokens, vocab, opts, rng);
      instances.push({ inputIds: masked.tokens, segmentALength: a.length + 2, isRandomNext, maskedPositions: masked.positions, maskedIds: masked.labels });
    }
    chunk = [];
    chunkLength = 0;
  }
  return instances;
}

function pushAll(dst: number[], src: Int32Array): void {
  for (let k = 0; k < src.length; k++) dst.push(src[k]!);
}

/** Trims the longer of a and b, one token at a time from a random end, until they fit (truncate_seq_pair). */
export function truncateSeqPair(a: number[], b: number[], maxNumTokens: number, rng: Rng): void {
  while (a.length + b.length > maxNumTokens) {
    const trunc = a.length > b.length ? a : b;
    // Truncating from the front too avoids a bias towards sequence ends.
    if (rng.random() < 0.5) trunc.shift();
    else trunc.pop();
  }
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x), d = x - f;
  if (d !== 0.5) return Math.round(x);
  return f % 2 === 0 ? f : f + 1;
}

/** Masks a sequence (create_masked_lm_predictions): returns the masked copy, positions (ascending) and labels. */
export function createMaskedLmPredictions(tokens: Int32Array, vocab: BertVocab, opts: Pick<BertDataOptions, 'maskedLmProb' | 'maxPredictionsPerSeq' | 'wholeWordMask'>, rng: Rng): { tokens: Int32Array; positions: Int32Array; labels: Int32Array } {
  // Candidates: single positions, or with whole-word masking a word's positions (a ## piece joins the candidate
  // before it, even across a [SEP], as in the script). Candidate k is positions[first[k] .. first[k] + size[k]).
  const n = tokens.length;
  const positions = new Int32Array(n), first = new Int32Array(n), size = new Int32Array(n);
  let count = 0, groups = 0;
  for (let i = 0; i < n; i++) {
    const t = tokens[i]!;
    if (t === vocab.cls || t === vocab.sep) continue;
    if (opts.wholeWordMask && groups >= 1 && vocab.continuation[t] === 1) size[groups - 1]!++;
    else { first[groups] = count; size[groups] = 1; groups++; }
    positions[count++] = i;
  }
  const order = new Int32Array(groups);
  for (let k = 0; k < groups; k++) order[k] = k;
  rng.shuffle(order);
  const output = Int32Array.from(tokens);
  const numToPredict = Math.min(opts.maxPredictionsPerSeq, Math.max(1, roundHalfEven(n * opts.maskedLmProb)));
  const masked: number[] = [];
  // Candidates partition the positions, so the script's "already covered" check never fires and is left out.
  for (const k of order) {
    if (masked.length >= numToPredict) break;
    // A whole word that would overshoot the budget is skipped, not cut.
    if (masked.length + size[k]! > numToPredict) continue;
    for (let m = first[k]!; m < first[k]! + size[k]!; m++) {
      const index = positions[m]!;
      let replacement: number;
      if (rng.random() < 0.8) replacement = vocab.mask; // 80%: [MASK]
      else if (rng.random() < 0.5) replacement = tokens[index]!; // 10%: unchanged
      else replacement = rng.randint(0, vocab.size - 1); // 10%: a random vocabulary entry
      output[index] = replacement;
      masked.push(index);
    }
  }
  const sorted = Int32Array.from(masked).sort();
  return { tokens: output, positions: sorted, labels: sorted.map((p) => tokens[p]!) };
}

/** A zero-filled batch of `size` examples. */
export function emptyBertBatch(size: number, seqLength: number, maxPredictions: number): BertBatch {
  const L = seqLength, P = maxPredictions;
  return {
    size, seqLength: L, maxPredictions: P,
    inputIds: new Int32Array(size * L), tokenTypeIds: new Int32Array(size * L), attentionMask: new Int32Array(size * L),
    maskedPositions: new Int32Array(size * P), maskedIds: new Int32Array(size * P), maskedWeights: new Float32Array(size * P),
    nextSentenceLabels: new Int32Array(size),
  };
}

/** Instances padded into the fixed-length row-major layout of the shards (write_instance_to_example_files). */
export function instancesToBatch(instances: readonly BertInstance[], maxSeqLength: number, maxPredictions: number, padId: number): BertBatch {
  const L = maxSeqLength, P = maxPredictions;
  const batch = emptyBertBatch(instances.length, L, P);
  batch.inputIds.fill(padId);
  instances.forEach((inst, r) => {
    const len = inst.inputIds.length;
    if (len > L) throw new RangeError(`instance ${r} has ${len} tokens, more than maxSeqLength ${L}`);
    if (inst.maskedPositions.length > P) throw new RangeError(`instance ${r} has ${inst.maskedPositions.length} predictions, more than ${P}`);
    batch.inputIds.set(inst.inputIds, r * L);
    batch.tokenTypeIds.fill(1, r * L + inst.segmentALength, r * L + len);
    batch.attentionMask.fill(1, r * L, r * L + len);
    batch.maskedPositions.set(inst.maskedPositions, r * P);
    batch.maskedIds.set(inst.maskedIds, r * P);
    batch.maskedWeights.fill(1, r * P, r * P + inst.maskedPositions.length);
    batch.nextSentenceLabels[r] = inst.isRandomNext ? 1 : 0;
  });
  return batch;
}
