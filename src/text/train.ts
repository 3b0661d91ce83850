// Trainers with Hugging Face tokenizers' semantics: word-level (counts), byte-level BPE and WordPiece (BPE merges
// over characters with "##" continuation, then greedy longest-match encoding), from streamed texts.
import { ByteLevelBpe, Vocab, WordLevel, WordPiece } from './models.js';
import { ByteLevelPreTokenizer, NormalizingPreTokenizer, type NormalizerOptions, type PreTokenizer, type SplitRule } from './pretokenize.js';
import { bertTemplate, Tokenizer } from './tokenizer.js';
import { BYTE_CHARS } from './unicode.js';

/** Why merging ended: the vocabulary reached its size, no adjacent pair is left, or none is frequent enough. */
export type MergeStop = 'vocab-size' | 'no-pairs' | 'min-frequency';

/** Progress of a training run: texts read, then merges learnt. */
export interface TrainProgress {
  phase: 'count' | 'merge';
  done: number;
  /** Merges to learn at most (the 'merge' phase). */
  total?: number;
  /** On the last 'merge' report: why merging ended (a vocabulary smaller than asked says which limit it hit). */
  stopped?: MergeStop;
}

/** Options shared by the trainers. */
export interface TrainOptions {
  vocabSize?: number;
  /** Pairs (BPE, WordPiece) or words (word-level) seen fewer times are not learnt. */
  minFrequency?: number;
  /** Put first in the vocabulary, in this order. */
  specialTokens?: string[];
  onProgress?: (p: TrainProgress) => void;
}

/** WordPiece trainer options; the normaliser defaults to BERT uncased. */
export interface WordPieceTrainOptions extends TrainOptions {
  lowercase?: boolean;
  stripAccents?: boolean;
  handleChineseChars?: boolean;
  /** Keep at most this many initial characters (the most frequent); others are dropped from words. */
  limitAlphabet?: number;
  continuingSubwordPrefix?: string;
}

/** Word-level trainer options. */
export interface WordLevelTrainOptions extends TrainOptions {
  lowercase?: boolean;
  /** How text is split into words: BERT's rule (default), `\w+|[^\w\s]+`, or whitespace only. */
  split?: SplitRule;
}

/** Byte-level BPE trainer options. */
export interface BpeTrainOptions extends TrainOptions {
  addPrefixSpace?: boolean;
}

type Texts = Iterable<string> | AsyncIterable<string>;

const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Counts the pre-tokenised words of the texts. */
async function countWords(texts: Texts, pre: PreTokenizer, onProgress?: (p: TrainProgress) => void): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const emit = (w: string) => { counts.set(w, (counts.get(w) ?? 0) + 1); };
  let n = 0;
  for await (const t of texts) {
    pre.split(t, emit);
    if (++n % 1000 === 0) onProgress?.({ phase: 'count', done: n });
  }
  onProgress?.({ phase: 'count', done: n });
  return counts;
}

const KEY = 2 ** 21;

/** A max-heap of pairs by count, ties to the smaller (left id, right id): Hugging Face's merge order. */
class PairHeap {
  private keys: number[] = [];
  private counts: number[] = [];
  get size(): number { return this.keys.length; }
  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!, cj = this.counts[j]!;
    return ci !== cj ? ci > cj : this.keys[i]! < this.keys[j]!;
  }
  private swap(i: number, j: number): void {
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
  }
  push(key: number, count: number): void {
    this.keys.push(key); this.counts.push(count);
    for (let i = this.keys.length - 1; i > 0;) { const p = (i - 1) >> 1; if (!this.above(i, p)) break; this.swap(i, p); i = p; }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.keys[0]!, this.counts[0]!];
    const k = this.keys.pop()!, c = this.counts.pop()!;
    if (this.keys.length) {
      this.keys[0] = k; this.counts[0] = c;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.keys.length && this.above(l, m)) m = l;
        if (r < this.keys.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m); i = m;
      }
    }
    return top;
  }
}

/**
 * Hugging Face's BpeTrainer core: starting from `tokens` (specials + alphabet) and words as symbol strings,
 * repeatedly merges the most frequent adjacent pair until the vocabulary has `vocabSize` tokens.
 */
function learnMerges(
  words: [string[], number][], tokens: string[], vocabSize: number, minFrequency: number, prefix: string,
  onProgress?: (p: TrainProgress) => void,
): [string, string][] {
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const idOf = (t: string) => { let id = ids.get(t); if (id === undefined) { id = tokens.length; tokens.push(t); ids.set(t, id); } return id; };
  const seqs = words.map(([syms]) => Int32Array.from(syms, idOf));
  const counts = words.map(([, c]) => c);
  const pairCounts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const add = (w: number, seq: Int32Array, sign: number) => {
    for (let i = 0; i + 1 < seq.length; i++) {
      const key = seq[i]! * KEY + seq[i + 1]!;
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * counts[w]!);
      if (sign > 0) { let s = where.get(key); if (!s) where.set(key, (s = new Set())); s.add(w); }
    }
  };
  seqs.forEach((s, w) => add(w, s, 1));
  const heap = new PairHeap();
  for (const [key, c] of pairCounts) if (c > 0) heap.push(key, c);
  const merges: [string, string][] = [];
  const target = vocabSize - tokens.length;
  let stopped: MergeStop = 'no-pairs';
  while (heap.size > 0) {
    if (tokens.length >= vocabSize) { stopped = 'vocab-size'; break; }
    const [key, c] = heap.pop();
    const now = pairCounts.get(key) ?? 0;
    if (c !== now) { if (now > 0) heap.push(key, now); continue; }
    if (c < 1 || c < minFrequency) { stopped = 'min-frequency'; break; }
    const a = Math.floor(key / KEY), b = key % KEY;
    const right = tokens[b]!;
    const merged = idOf(tokens[a]! + (prefix && right.startsWith(prefix) ? right.slice(prefix.length) : right));
    merges.push([tokens[a]!, right]);
    const touched = new Set<number>();
    for (const w of where.get(key) ?? []) {
      const seq = seqs[w]!;
      let hit = false;
      for (let i = 0; i + 1 < seq.length; i++) if (seq[i] === a && seq[i + 1] === b) { hit = true; break; }
      if (!hit) continue;
      add(w, seq, -1);
      const out: number[] = [];
      for (let i = 0; i < seq.length;) {
        if (i + 1 < seq.length && seq[i] === a && seq[i + 1] === b) { out.push(merged); i += 2; } else out.push(seq[i++]!);
      }
      const next = Int32Array.from(out);
      seqs[w] = next;
      add(w, next, 1);
      for (let i = 0; i + 1 < next.length; i++) if (next[i] === merged || next[i + 1] === merged) touched.add(next[i]! * KEY + next[i + 1]!);
    }
    where.delete(key);
    for (const k of touched) { const n = pairCounts.get(k)!; if (n > 0) heap.push(k, n); }
    if (merges.length % 500 === 0) onProgress?.({ phase: 'merge', done: merges.length, total: target });
  }
  if (tokens.length >= vocabSize) stopped = 'vocab-size';
  onProgress?.({ phase: 'merge', done: merges.length, total: target, stopped });
  return merges;
}

/** The alphabet: characters by frequency, the `limit` most frequent kept, in code point order (as Hugging Face). */
function alphabet(counts: Map<string, number>, initial: readonly string[], limit?: number): string[] {
  const chars = new Map<string, number>();
  for (const [w, c] of counts) for (const ch of w) chars.set(ch, (chars.get(ch) ?? 0) + c);
  for (const ch of initial) chars.set(ch, Infinity);
  let kept = [...chars];
  if (limit !== undefined && kept.length > limit) kept = kept.sort((x, y) => y[1] - x[1]).slice(0, limit);
  return kept.map(([ch]) => ch).sort((x, y) => x.codePointAt(0)! - y.codePointAt(0)!);
}

/** Trains a BERT WordPiece tokenizer (uncased by default; vocab size 30,000 and BERT's special tokens by default). */
export async function trainWordPiece(texts: Texts, opts: WordPieceTrainOptions = {}): Promise<Tokenizer> {
  const lowercase = opts.lowercase ?? true;
  const normalizer: NormalizerOptions = { cleanText: true, handleChineseChars: opts.handleChineseChars ?? true, stripAccents: (opts.stripAccents ?? lowercase) ? 'mn' : 'none', nfd: false, lowercase };
  const counts = await countWords(texts, new NormalizingPreTokenizer(normalizer, 'bert'), opts.onProgress);
  const specials = opts.specialTokens ?? BERT_SPECIALS;
  const prefix = opts.continuingSubwordPrefix ?? '##';
  const alpha = new Set(alphabet(counts, [], opts.limitAlphabet));
  const tokens = [...specials, ...[...alpha].filter((c) => !specials.includes(c))];
  // Continuation characters ("##a") enter the vocabulary in code point order, after the alphabet.
  const words: [string[], number][] = [];
  const cont = new Set<string>();
  for (const [w, c] of counts) {
    const syms = Array.from(w).filter((ch) => alpha.has(ch)).map((ch, i) => (i === 0 ? ch : prefix + ch));
    syms.slice(1).forEach((s) => cont.add(s));
    if (syms.length) words.push([syms, c]);
  }
  tokens.push(...[...cont].sort((x, y) => x.codePointAt(prefix.length)! - y.codePointAt(prefix.length)!));
  learnMerges(words, tokens, opts.vocabSize ?? 30_000, opts.minFrequency ?? 0, prefix, opts.onProgress);
  const unk = specials.includes('[UNK]') ? '[UNK]' : specials[0];
  if (unk === undefined) throw new Error('trainWordPiece: give an unknown token among the special tokens');
  const vocab = Vocab.fromList(tokens);
  return new Tokenizer({
    normalizer, preTokenizer: { type: 'split', rule: 'bert' },
    model: new WordPiece(vocab, { unkToken: unk, continuingSubwordPrefix: prefix }),
    template: vocab.ids.has('[CLS]') && vocab.ids.has('[SEP]') ? bertTemplate() : null,
    addedTokens: specials.map((content) => ({ content, special: true })),
    decoder: { type: 'WordPiece', prefix, cleanup: true },
  });
}

/** Trains a GPT-2 byte-level BPE tokenizer (every byte is in the vocabulary, so nothing is unknown). */
export async function trainBpe(texts: Texts, opts: BpeTrainOptions = {}): Promise<Tokenizer> {
  const pre = new ByteLevelPreTokenizer(opts.addPrefixSpace ?? false, true);
  const counts = await countWords(texts, pre, opts.onProgress);
  const specials = opts.specialTokens ?? ['<|endoftext|>'];
  const utf8 = new TextEncoder();
  const words: [string[], number][] = [];
  for (const [w, c] of counts) words.push([Array.from(utf8.encode(w), (b) => BYTE_CHARS[b]!), c]);
  const tokens = [...specials, ...alphabet(new Map(), BYTE_CHARS).filter((c) => !specials.includes(c))];
  const merges = learnMerges(words, tokens, opts.vocabSize ?? 30_000, opts.minFrequency ?? 0, '', opts.onProgress);
  return new Tokenizer({
    normalizer: null, preTokenizer: { type: 'byte-level', addPrefixSpace: opts.addPrefixSpace ?? false, useRegex: true },
    model: new ByteLevelBpe(Vocab.fromList(tokens), merges),
    trimOffsets: false,
    addedTokens: specials.map((content) => ({ content, special: true })),
    decoder: { type: 'ByteLevel' },
  });
}

/** Trains a word-level vocabulary: special tokens, then words by count (ties alphabetical) down to `minFrequency`. */
export async function trainWordLevel(texts: Texts, opts: WordLevelTrainOptions = {}): Promise<Tokenizer> {
  const lowercase = opts.lowercase ?? false;
  const normalizer: NormalizerOptions = { cleanText: true, handleChineseChars: true, stripAccents: 'none', nfd: false, lowercase };
  const counts = await countWords(texts, new NormalizingPreTokenizer(normalizer, opts.split ?? 'bert'), opts.onProgress);
  const specials = opts.specialTokens ?? ['[UNK]'];
  const min = opts.minFrequency ?? 0;
  const max = opts.vocabSize ?? Infinity;
  const ranked = [...counts].filter(([w, c]) => c >= min && !specials.includes(w))
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const tokens = [...specials, ...ranked.slice(0, Math.max(0, max - specials.length)).map(([w]) => w)];
  const unk = specials.includes('[UNK]') ? '[UNK]' : specials[0];
  if (unk === undefined) throw new Error('trainWordLevel: give an unknown token among the special tokens');
  return new Tokenizer({
    normalizer, preTokenizer: { type: 'split', rule: opts.split ?? 'bert' },
    model: new WordLevel(Vocab.fromList(tokens), unk),
    addedTokens: specials.map((content) => ({ content, special: true })),
  });
}
