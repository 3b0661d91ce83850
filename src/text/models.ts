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

/**
 * A word that needs the unknown token when the model's vocabulary lacks it: Hugging Face loads such a model (its
 * trainer leaves [UNK] out of the vocabulary by default) and fails the encode with `hf`'s message, as we do.
 */
function missingUnk(model: string, word: string, unk: string, hf: string): Error {
  const shown = JSON.stringify(word.length > 60 ? `${word.slice(0, 60)}...` : word);
  return new Error(`${model}: cannot encode the word ${shown}: it needs the unknown token ${unk}, which is not in the model's vocabulary (an added token does not count; Hugging Face fails too: "${hf}")`);
}

/** Options of a WordPiece model (Hugging Face's names in camelCase). */
export interface WordPieceOptions {
  unkToken?: string;
  continuingSubwordPrefix?: string;
  maxInputCharsPerWord?: number;
}

/**
 * WordPiece: greedy longest-match-first over the vocabulary; a word with an unmatched rest is one unknown token, or
 * an error when the vocabulary has no unknown token (as in Hugging Face).
 */
export class WordPiece implements Model {
  readonly type = 'WordPiece';
  readonly unkToken: string;
  readonly prefix: string;
  readonly maxInputCharsPerWord: number;
  /** Undefined when the vocabulary lacks the unknown token. */
  private readonly unkId: number | undefined;
  /** Continuation pieces keyed without their prefix, so matching never concatenates strings. */
  private readonly cont = new Map<string, number>();
  private readonly maxLen: number;
  private readonly maxContLen: number;
  private readonly cache = new WordCache();

  constructor(readonly vocab: Vocab, opts: WordPieceOptions = {}) {
    this.unkToken = opts.unkToken ?? '[UNK]';
    this.prefix = opts.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = opts.maxInputCharsPerWord ?? 100;
    this.unkId = vocab.ids.get(this.unkToken);
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
    const whole = () => {
      if (this.unkId === undefined) throw missingUnk('WordPiece', word, this.unkToken, 'WordPiece error: Missing [UNK] token from the vocabulary');
      return Int32Array.of(this.unkId, n);
    };
    if (n > this.maxInputCharsPerWord) {
      let chars = 0;
      for (let i = 0; i < n; i++) if (!isLowSurrogate(word.charCodeAt(i))) chars++;
      if (chars > this.maxInputCharsPerWord) return whole();
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
      if (id === undefined) return whole();
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
  /** The token for a byte the vocabulary lacks; null (the default, and HF's trainer's) drops such bytes. */
  unkToken?: string | null;
  /** One unknown token for a run of such bytes instead of one each. */
  fuseUnk?: boolean;
}

const KEY = 2 ** 21; // ids < 2^21, so a pair (a, b) packs exactly into a * KEY + b

/**
 * UTF-8 length of each byte's character (1 or 2): Hugging Face's BPE measures symbols in bytes of the byte-level
 * string, so a dropped byte shifts the offsets of what follows in its word by this much.
 */
const BYTE_CHAR_LEN = Uint8Array.from(BYTE_CHARS, (c) => (c.charCodeAt(0) < 0x80 ? 1 : 2));

/**
 * Byte-level BPE (GPT-2): a word's UTF-8 bytes as byte characters, merged lowest rank first (leftmost on ties).
 * A vocabulary may lack some bytes (HF's trainer keeps only those of its corpus): such a byte is dropped, or is the
 * unknown token when there is one, exactly as in Hugging Face.
 */
export class ByteLevelBpe implements Model {
  readonly type = 'BPE';
  readonly merges: ReadonlyArray<readonly [string, string]>;
  readonly ignoreMerges: boolean;
  readonly unkToken: string | null;
  readonly fuseUnk: boolean;
  /** (left id, right id) -> rank * KEY + merged id. */
  private readonly ranks = new Map<number, number>();
  /** Each byte's token, -1 for a byte the vocabulary lacks. */
  private readonly byteIds = new Int32Array(256);
  private readonly cache = new WordCache();
  private readonly utf8 = new TextEncoder();
  private bytes = new Uint8Array(256);

  constructor(readonly vocab: Vocab, merges: ReadonlyArray<readonly [string, string]>, opts: BpeOptions = {}) {
    if (vocab.size >= KEY) throw new Error(`BPE: vocabularies over ${KEY} tokens are not supported`);
    this.merges = merges;
    this.ignoreMerges = opts.ignoreMerges ?? false;
    this.unkToken = opts.unkToken ?? null;
    this.fuseUnk = opts.fuseUnk ?? false;
    BYTE_CHARS.forEach((c, b) => { this.byteIds[b] = vocab.ids.get(c) ?? -1; });
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
    const nBytes = r[0]!;
    if (nBytes === word.length) { // as many bytes as UTF-16 units: all ASCII
      for (let k = 1; k < r.length; k += 3) pushSpan(sink, r[k]!, start, align, r[k + 1]!, r[k + 2]!);
      return;
    }
    // Byte spans -> UTF-16 units: a token covering part of a character gets the whole character.
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
    for (let k = 1; k < r.length; k += 3) pushSpan(sink, r[k]!, start, align, unitStart[r[k + 1]!]!, unitEnd[r[k + 2]! - 1]!);
  }

  /** Tokens of a word as [byte count, id, start byte, end byte, id, start byte, end byte, ...]. */
  private pieces(word: string): Int32Array {
    if (this.bytes.length < word.length * 3) this.bytes = new Uint8Array(word.length * 3);
    const n = this.utf8.encodeInto(word, this.bytes).written;
    const bytes = this.bytes;
    if (this.ignoreMerges) {
      let s = '';
      for (let i = 0; i < n; i++) s += BYTE_CHARS[bytes[i]!];
      const id = this.vocab.ids.get(s);
      if (id !== undefined) return Int32Array.of(n, id, 0, n);
    }
    // Symbols as Hugging Face's merge_word makes them, each with its length in bytes of the byte-level string.
    const ids = new Int32Array(n);
    const lens = new Int32Array(n);
    let m = 0;
    let unkLen = 0; // a pending unknown token's length (0: none)
    for (let i = 0; i < n; i++) {
      const b = bytes[i]!;
      const id = this.byteIds[b]!;
      if (id >= 0) {
        if (unkLen > 0) { ids[m] = this.unkId(word); lens[m++] = unkLen; unkLen = 0; }
        ids[m] = id; lens[m++] = BYTE_CHAR_LEN[b]!;
      } else if (this.unkToken !== null) {
        if (unkLen > 0 && !this.fuseUnk) { ids[m] = this.unkId(word); lens[m++] = unkLen; unkLen = 0; }
        unkLen += BYTE_CHAR_LEN[b]!;
      } // else: a byte with no token is dropped
    }
    if (unkLen > 0) { ids[m] = this.unkId(word); lens[m++] = unkLen; }
    while (m > 1) {
      let best = Infinity, at = -1;
      for (let i = 0; i < m - 1; i++) {
        const v = this.ranks.get(ids[i]! * KEY + ids[i + 1]!);
        if (v !== undefined && v < best) { best = v; at = i; }
      }
      if (at < 0) break;
      ids[at] = best % KEY;
      lens[at] = lens[at]! + lens[at + 1]!;
      ids.copyWithin(at + 1, at + 2, m);
      lens.copyWithin(at + 1, at + 2, m);
      m--;
    }
    // A symbol's span is where its length puts it in the byte-level string (the lengths of the symbols before it,
    // dropped bytes not counted: HF's offsets), mapped back to the bytes under it.
    const out = new Int32Array(1 + 3 * m);
    out[0] = n;
    let pos = 0, i = 0, t = 0; // byte i starts at t in the byte-level string
    const byteAt = (p: number) => { while (t + BYTE_CHAR_LEN[bytes[i]!]! <= p) t += BYTE_CHAR_LEN[bytes[i++]!]!; return i; };
    for (let k = 0; k < m; k++) {
      const len = lens[k]!;
      out[1 + 3 * k] = ids[k]!;
      out[2 + 3 * k] = byteAt(pos);
      out[3 + 3 * k] = byteAt(pos + len - 1) + 1;
      pos += len;
    }
    return out;
  }

  /** The unknown token's id, for a byte the vocabulary lacks; Hugging Face fails the encode without one. */
  private unkId(word: string): number {
    const id = this.vocab.ids.get(this.unkToken!);
    if (id === undefined) throw new Error(`BPE: cannot encode the word ${JSON.stringify(word)}: a byte of it has no token and the unknown token ${this.unkToken} is not in the model's vocabulary (Hugging Face fails too: "Unk token \`${this.unkToken}\` not found in the vocabulary")`);
    return id;
  }

  toJSON(): Record<string, unknown> {
    return {
      type: 'BPE', dropout: null, unk_token: this.unkToken, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: this.fuseUnk, byte_fallback: false, ignore_merges: this.ignoreMerges,
      vocab: this.vocab.toJSON(), merges: this.merges.map(([a, b]) => `${a} ${b}`),
    };
  }
}

/** Word-level: a word is its own token, or the unknown token (an error when the vocabulary lacks it, as in HF). */
export class WordLevel implements Model {
  readonly type = 'WordLevel';
  private readonly unkId: number | undefined;

  constructor(readonly vocab: Vocab, readonly unkToken = '[UNK]') {
    this.unkId = vocab.ids.get(unkToken);
  }

  tokenize(word: string, start: number, align: Int32Array | null, sink: TokenSink): void {
    const id = this.vocab.ids.get(word) ?? this.unkId;
    if (id === undefined) throw missingUnk('WordLevel', word, this.unkToken, 'WordLevel error: Missing [UNK] token from the vocabulary');
    pushSpan(sink, id, start, align, 0, word.length);
  }

  toJSON(): Record<string, unknown> {
    return { type: 'WordLevel', vocab: this.vocab.toJSON(), unk_token: this.unkToken };
  }
}
