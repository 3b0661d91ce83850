// Subword models: each turns one pre-tokenised word into tokens (ids and their spans in the input):
// WordPiece (greedy longest match, "##" continuation), GPT-2 byte-level BPE (merge ranks), and word-level.
import { BYTE_CHARS } from './unicode.js';

/** Tokens of one text sequence as parallel arrays; offsets are UTF-16 spans of the input. */
export class TokenSink {
  ids: number[] = [];
  starts: number[] = [];
  ends: number[] = [];
  words: number[] = [];
  /** Index of the word being tokenised (the pre-tokeniser's split index). */
  word = 0;

  push(id: number, start: number, end: number): void {
    this.ids.push(id);
    this.starts.push(start);
    this.ends.push(end);
    this.words.push(this.word);
  }
}

/** Pushes a token covering normalised units [a, b) of a word, mapped back to the input through `align`. */
function pushSpan(sink: TokenSink, id: number, start: number, align: Int32Array | null, a: number, b: number): void {
  if (align === null) sink.push(id, start + a, start + b);
  else sink.push(id, align[2 * a]!, align[2 * b - 1]!);
}

/** A vocabulary: token <-> id. */
export class Vocab {
  readonly tokens: string[];
  readonly ids: Map<string, number>;

  constructor(vocab: Map<string, number> | Record<string, number>) {
    this.ids = vocab instanceof Map ? vocab : new Map(Object.entries(vocab));
    this.tokens = [];
    for (const [t, id] of this.ids) {
      if (!Number.isInteger(id) || id < 0) throw new Error(`vocabulary: token ${JSON.stringify(t)} has an invalid id ${id}`);
      this.tokens[id] = t;
    }
  }

  /** Tokens in id order, as vocab.txt lists them. */
  static fromList(tokens: readonly string[]): Vocab {
    return new Vocab(new Map(tokens.map((t, i) => [t, i])));
  }

  get size(): number { return this.tokens.length; }

  /** Object form for tokenizer.json / vocab.json, in id order. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    this.tokens.forEach((t, i) => { if (t !== undefined) out[t] = i; });
    return out;
  }
}

/** A subword model. */
export interface Model {
  readonly type: 'WordPiece' | 'BPE' | 'WordLevel';
  readonly vocab: Vocab;
  /** Appends the tokens of one word (see WordSink for `start`/`align`). */
  tokenize(word: string, start: number, align: Int32Array | null, sink: TokenSink): void;
  /** The model part of tokenizer.json. */
  toJSON(): Record<string, unknown>;
}

const SLOTS = 1 << 16;

/**
 * A bounded word -> tokens cache (Hugging Face keeps one of 10,000 words); cleared when full. A direct-mapped
 * table on our own hash of the characters comes first: a Map lookup hashes every fresh word string inside V8,
 * which measured slower than the rest of encoding together.
 */
class WordCache {
  private readonly map = new Map<string, Int32Array>();
  private readonly keys: (string | undefined)[] = new Array(SLOTS);
  private readonly values: (Int32Array | undefined)[] = new Array(SLOTS);
  constructor(private readonly capacity = 100_000) {}

  private static slot(word: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
    return (h ^ (h >>> 16)) & (SLOTS - 1);
  }

  get(word: string): Int32Array | undefined {
    const s = WordCache.slot(word);
    if (this.keys[s] === word) return this.values[s];
    const v = this.map.get(word);
    if (v !== undefined) { this.keys[s] = word; this.values[s] = v; }
    return v;
  }

  set(word: string, v: Int32Array): void {
    if (word.length > 64) return;
    if (this.map.size >= this.capacity) { this.map.clear(); this.keys.fill(undefined); this.values.fill(undefined); }
    this.map.set(word, v);
    const s = WordCache.slot(word);
    this.keys[s] = word; this.values[s] = v;
  }
}

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** Options of a WordPiece model (Hugging Face's names in camelCase). */
export interface WordPieceOptions {
  unkToken?: string;
  continuingSubwordPrefix?: string;
  maxInputCharsPerWord?: number;
}

/** WordPiece: greedy longest-match-first over the vocabulary; a word with an unmatched rest is one unknown token. */
export class WordPiece implements Model {
  readonly type = 'WordPiece';
  readonly unkToken: string;
  readonly prefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly unkId: number;
  /** Continuation pieces keyed without their prefix, so matching never concatenates strings. */
  private readonly cont = new Map<string, number>();
  private readonly maxLen: number;
  private readonly maxContLen: number;
  private readonly cache = new WordCache();

  constructor(readonly vocab: Vocab, opts: WordPieceOptions = {}) {
    this.unkToken = opts.unkToken ?? '[UNK]';
    this.prefix = opts.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = opts.maxInputCharsPerWord ?? 100;
    const unk = vocab.ids.get(this.unkToken);
    if (unk === undefined) throw new Error(`WordPiece: the unknown token ${this.unkToken} is not in the vocabulary`);
    this.unkId = unk;
    let maxLen = 1, maxContLen = 1;
    for (const [t, id] of vocab.ids) {
      maxLen = Math.max(maxLen, t.length);
      if (this.prefix && t.startsWith(this.prefix)) {
        this.cont.set(t.slice(this.prefix.length), id);
        maxContLen = Math.max(maxContLen, t.length - this.prefix.length);
      }
    }
    this.maxLen = maxLen;
    this.maxContLen = maxContLen;
  }

  tokenize(word: string, start: number, align: Int32Array | null, sink: TokenSink): void {
    let r = this.cache.get(word);
    if (r === undefined) { r = this.pieces(word); this.cache.set(word, r); }
    let a = 0;
    for (let k = 0; k < r.length; k += 2) {
      const b = r[k + 1]!;
      pushSpan(sink, r[k]!, start, align, a, b);
      a = b;
    }
  }

  /** Pieces of a word as [id, end unit, id, end unit, ...]. */
  private pieces(word: string): Int32Array {
    const n = word.length;
    const whole = Int32Array.of(this.unkId, n);
    if (n > this.maxInputCharsPerWord) {
      let chars = 0;
      for (let i = 0; i < n; i++) if (!isLowSurrogate(word.charCodeAt(i))) chars++;
      if (chars > this.maxInputCharsPerWord) return whole;
    }
    const out: number[] = [];
    let s = 0;
    while (s < n) {
      const map = s === 0 ? this.vocab.ids : this.cont;
      let e = Math.min(n, s + (s === 0 ? this.maxLen : this.maxContLen));
      let id: number | undefined;
      for (; e > s; e--) {
        if (e < n && isLowSurrogate(word.charCodeAt(e))) continue;
        id = map.get(word.slice(s, e));
        if (id !== undefined) break;
      }
      if (id === undefined) return whole;
      out.push(id, e);
      s = e;
    }
    return Int32Array.from(out);
  }

  toJSON(): Record<string, unknown> {
    return { type: 'WordPiece', unk_token: this.unkToken, continuing_subword_prefix: this.prefix, max_input_chars_per_word: this.maxInputCharsPerWord, vocab: this.vocab.toJSON() };
  }
}

/** Options of a byte-level BPE model. */
export interface BpeOptions {
  /** Hugging Face's `ignore_merges`: a word that is itself in the vocabulary is one token. */
  ignoreMerges?: boolean;
}

const KEY = 2 ** 21; // ids < 2^21, so a pair (a, b) packs exactly into a * KEY + b

/** Byte-level BPE (GPT-2): a word's UTF-8 bytes as byte characters, merged lowest rank first (leftmost on ties). */
export class ByteLevelBpe implements Model {
  readonly type = 'BPE';
  readonly merges: ReadonlyArray<readonly [string, string]>;
  readonly ignoreMerges: boolean;
  /** (left id, right id) -> rank * KEY + merged id. */
  private readonly ranks = new Map<number, number>();
  private readonly byteIds = new Int32Array(256);
  private readonly cache = new WordCache();
  private readonly utf8 = new TextEncoder();
  private bytes = new Uint8Array(256);

  constructor(readonly vocab: Vocab, merges: ReadonlyArray<readonly [string, string]>, opts: BpeOptions = {}) {
    if (vocab.size >= KEY) throw new Error(`BPE: vocabularies over ${KEY} tokens are not supported`);
    this.merges = merges;
    this.ignoreMerges = opts.ignoreMerges ?? false;
    BYTE_CHARS.forEach((c, b) => {
      const id = vocab.ids.get(c);
      if (id === undefined) throw new Error(`BPE: the byte-level vocabulary lacks the character for byte ${b} (${JSON.stringify(c)})`);
      this.byteIds[b] = id;
    });
    merges.forEach(([a, b], rank) => {
      const ia = vocab.ids.get(a), ib = vocab.ids.get(b), im = vocab.ids.get(a + b);
      if (ia === undefined || ib === undefined || im === undefined) throw new Error(`BPE: merge ${rank + 1} "${a} ${b}" uses a token that is not in the vocabulary`);
      const key = ia * KEY + ib;
      if (!this.ranks.has(key)) this.ranks.set(key, rank * KEY + im);
    });
  }

  tokenize(word: string, start: number, align: Int32Array | null, sink: TokenSink): void {
    let r = this.cache.get(word);
    if (r === undefined) { r = this.pieces(word); this.cache.set(word, r); }
    const nBytes = r[r.length - 1]!;
    if (nBytes === word.length) { // as many bytes as UTF-16 units: all ASCII
      let a = 0;
      for (let k = 0; k < r.length; k += 2) { const b = r[k + 1]!; pushSpan(sink, r[k]!, start, align, a, b); a = b; }
      return;
    }
    // Byte ends -> UTF-16 units: a token covering part of a character gets the whole character.
    const unitStart = new Int32Array(nBytes);
    const unitEnd = new Int32Array(nBytes);
    let byte = 0;
    for (let u = 0; u < word.length;) {
      const cp = word.codePointAt(u)!;
      const w = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      const units = cp > 0xffff ? 2 : 1;
      for (let k = 0; k < w; k++) { unitStart[byte + k] = u; unitEnd[byte + k] = u + units; }
      byte += w;
      u += units;
    }
    let a = 0;
    for (let k = 0; k < r.length; k += 2) {
      const b = r[k + 1]!;
      pushSpan(sink, r[k]!, start, align, unitStart[a]!, unitEnd[b - 1]!);
      a = b;
    }
  }

  /** Tokens of a word as [id, end byte, ...]. */
  private pieces(word: string): Int32Array {
    if (this.ignoreMerges) {
      const id = this.vocab.ids.get(Array.from(this.utf8.encode(word), (b) => BYTE_CHARS[b]).join(''));
      if (id !== undefined) return Int32Array.of(id, this.utf8.encode(word).length);
    }
    if (this.bytes.length < word.length * 3) this.bytes = new Uint8Array(word.length * 3);
    const n = this.utf8.encodeInto(word, this.bytes).written;
    const ids = new Int32Array(n);
    const ends = new Int32Array(n);
    for (let i = 0; i < n; i++) { ids[i] = this.byteIds[this.bytes[i]!]!; ends[i] = i + 1; }
    let m = n;
    while (m > 1) {
      let best = Infinity, at = -1;
      for (let i = 0; i < m - 1; i++) {
        const v = this.ranks.get(ids[i]! * KEY + ids[i + 1]!);
        if (v !== undefined && v < best) { best = v; at = i; }
      }
      if (at < 0) break;
      ids[at] = best % KEY;
      ends[at] = ends[at + 1]!;
      ids.copyWithin(at + 1, at + 2, m);
      ends.copyWithin(at + 1, at + 2, m);
      m--;
    }
    const out = new Int32Array(2 * m);
    for (let i = 0; i < m; i++) { out[2 * i] = ids[i]!; out[2 * i + 1] = ends[i]!; }
    return out;
  }

  toJSON(): Record<string, unknown> {
    return {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: this.ignoreMerges,
      vocab: this.vocab.toJSON(), merges: this.merges.map(([a, b]) => `${a} ${b}`),
    };
  }
}

/** Word-level: a word is its own token, or the unknown token. */
export class WordLevel implements Model {
  readonly type = 'WordLevel';
  private readonly unkId: number;

  constructor(readonly vocab: Vocab, readonly unkToken = '[UNK]') {
    const unk = vocab.ids.get(unkToken);
    if (unk === undefined) throw new Error(`WordLevel: the unknown token ${unkToken} is not in the vocabulary`);
    this.unkId = unk;
  }

  tokenize(word: string, start: number, align: Int32Array | null, sink: TokenSink): void {
    pushSpan(sink, this.vocab.ids.get(word) ?? this.unkId, start, align, 0, word.length);
  }

  toJSON(): Record<string, unknown> {
    return { type: 'WordLevel', vocab: this.vocab.toJSON(), unk_token: this.unkToken };
  }
}
