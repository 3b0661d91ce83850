// Normalisation and pre-tokenisation in one pass over the text: BERT's BasicTokenizer (clean text, CJK split,
// accent stripping, lowercase, whitespace and punctuation split), whitespace splitting, and GPT-2's byte-level
// regex split. Each word comes out with where its characters came from, so tokens get offsets in the input.
import { CharKind, isChineseChar, isControl, isMark, isMarkNonspacing, isPunctuation, isWhiteSpace } from './unicode.js';

/**
 * Receives one word. `align` is null when normalised UTF-16 unit k came from `text[start + k]`; otherwise unit k
 * came from `text[align[2k], align[2k+1])` (a normalised character keeps the whole span of the one it came from).
 */
export type WordSink = (word: string, start: number, align: Int32Array | null) => void;

/** Splits a text into normalised words. */
export interface PreTokenizer {
  split(text: string, emit: WordSink): void;
  /** Whether the last text split was all ASCII (then code point and UTF-16 offsets agree). */
  lastAscii: boolean;
}

/** The normaliser settings this pass implements (Hugging Face's BertNormalizer and its parts). */
export interface NormalizerOptions {
  /** Drop control characters, U+0000 and U+FFFD; turn whitespace into spaces. */
  cleanText: boolean;
  /** Make every CJK ideograph a word of its own. */
  handleChineseChars: boolean;
  /** Remove accents after NFD: 'mn' removes Mn (BertNormalizer), 'm' all marks (StripAccents), 'none' keeps them. */
  stripAccents: 'none' | 'mn' | 'm';
  /** Apply NFD without stripping (an `NFD` normaliser alone). */
  nfd: boolean;
  lowercase: boolean;
}

/** No normalisation. */
export const IDENTITY_NORMALIZER: NormalizerOptions = { cleanText: false, handleChineseChars: false, stripAccents: 'none', nfd: false, lowercase: false };

/** How words are split: BERT's (whitespace + punctuation), `\w+|[^\w\s]+` (Whitespace) or whitespace only. */
export type SplitRule = 'bert' | 'whitespace' | 'whitespace-split';

/** A word character of Rust regex's Unicode `\w`. */
const REGEX_WORD = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
/** A symbol run in the Whitespace pre-tokeniser (`[^\w\s]+`): grouped like words, but apart from them. */
const SYMBOL = 3 as CharKind;

/** What one input code point becomes. */
interface Entry {
  /** Its normalised text ('' when dropped). */
  norm: string;
  /** The kind of every normalised code point, or one kind for all. */
  kind: CharKind | readonly CharKind[];
}

/** BERT-style normaliser + pre-tokeniser, fused so that plain ASCII words cost one table lookup per character. */
export class NormalizingPreTokenizer implements PreTokenizer {
  private readonly cache = new Map<number, Entry>();
  /** For ASCII: 0 = plain word character (kept or ASCII-lowercased), 1 = space, 2 = a word of its own, 3 = other. */
  private readonly asciiPlain = new Uint8Array(128);
  private align = new Int32Array(256);

  constructor(readonly normalizer: NormalizerOptions, readonly rule: SplitRule) {
    for (let c = 0; c < 128; c++) {
      const e = this.entry(c);
      const same = e.norm === String.fromCharCode(c);
      this.asciiPlain[c] = e.kind === CharKind.Word && e.norm.length === 1 ? 0 : e.kind === CharKind.Space && e.norm.length > 0 ? 1
        : e.kind === CharKind.Isolated && same ? 2 : 3;
    }
  }

  private entry(cp: number): Entry {
    let e = this.cache.get(cp);
    if (e) return e;
    const n = this.normalizer;
    let s = String.fromCodePoint(cp);
    if (n.cleanText) {
      if (cp === 0 || cp === 0xfffd || isControl(cp)) s = '';
      else if (isWhiteSpace(s)) s = ' ';
    }
    if (n.stripAccents !== 'none' || n.nfd) s = s.normalize('NFD');
    if (n.stripAccents !== 'none') s = Array.from(s).filter((c) => !(n.stripAccents === 'mn' ? isMarkNonspacing(c) : isMark(c))).join('');
    if (n.lowercase) s = Array.from(s, (c) => c.toLowerCase()).join('');
    const chinese = n.handleChineseChars && isChineseChar(cp);
    const kinds = Array.from(s, (c) => (chinese ? CharKind.Isolated : this.classify(c)));
    e = { norm: s, kind: kinds.every((k) => k === kinds[0]) ? (kinds[0] ?? CharKind.Word) : kinds };
    this.cache.set(cp, e);
    return e;
  }

  private classify(c: string): CharKind {
    if (isWhiteSpace(c)) return CharKind.Space;
    if (this.rule === 'bert') return isPunctuation(c.codePointAt(0)!) ? CharKind.Isolated : CharKind.Word;
    if (this.rule === 'whitespace') return REGEX_WORD.test(c) ? CharKind.Word : SYMBOL;
    return CharKind.Word;
  }

  lastAscii = false;

  split(text: string, emit: WordSink): void {
    this.lastAscii = this.splitAscii(text, emit);
    if (!this.lastAscii) this.splitGeneral(text, emit);
  }

  /** The common case, a text of ASCII words, spaces and punctuation only, in a tight loop; false for any other text. */
  private splitAscii(text: string, emit: WordSink): boolean {
    const plain = this.asciiPlain;
    const n = text.length;
    for (let i = 0; i < n; i++) { const c = text.charCodeAt(i); if (c >= 128 || plain[c] === 3) return false; }
    const low = this.normalizer.lowercase ? text.toLowerCase() : text;
    let i = 0;
    while (i < n) {
      const k = plain[text.charCodeAt(i)];
      if (k === 0) {
        let j = i + 1;
        while (j < n && plain[text.charCodeAt(j)] === 0) j++;
        emit(low.slice(i, j), i, null);
        i = j;
        continue;
      }
      if (k === 2) emit(text[i]!, i, null);
      i++;
    }
    return true;
  }

  private splitGeneral(text: string, emit: WordSink): void {
    const lower = this.normalizer.lowercase;
    const plain = this.asciiPlain;
    // Lowercasing the whole text once lets ASCII words be sliced from it, when no character changed length.
    const lowered = lower ? text.toLowerCase() : text;
    const lowSlice = lowered.length === text.length
      ? (a: number, b: number) => lowered.slice(a, b)
      : (a: number, b: number) => (lower ? text.slice(a, b).toLowerCase() : text.slice(a, b));
    const n = text.length;
    let ws = -1; // start of the current word in `text`, -1 when none
    let we = 0; // end of the plain (ASCII) part of the current word
    let complex = false; // the word has left the plain path: its text is in `parts`, its origins in `align`
    let kind: CharKind = CharKind.Word; // kind of the current word (Word or SYMBOL)
    const parts: string[] = [];
    let units = 0;
    const pushAlign = (s: number, e: number, count: number) => {
      if ((units + count) * 2 > this.align.length) {
        const grown = new Int32Array(Math.max(this.align.length * 2, (units + count) * 2));
        grown.set(this.align);
        this.align = grown;
      }
      for (let k = 0; k < count; k++) { this.align[2 * units] = s; this.align[2 * units + 1] = e; units++; }
    };
    const goComplex = () => {
      if (complex) return;
      parts.push(lowSlice(ws, we));
      for (let u = ws; u < we; u++) pushAlign(u, u + 1, 1);
      complex = true;
    };
    const end = () => {
      if (ws < 0) return;
      if (!complex) {
        emit(lowSlice(ws, we), ws, null);
      } else if (units > 0) {
        emit(parts.length === 1 ? parts[0]! : parts.join(''), ws, this.align.subarray(0, 2 * units));
      }
      ws = -1; complex = false; parts.length = 0; units = 0;
    };
    // One normalised piece `s` of kind `k`, which came from text[os, oe).
    const step = (s: string, k: CharKind, os: number, oe: number) => {
      if (k === CharKind.Space) { end(); return; }
      if (k === CharKind.Isolated) {
        end();
        if (s === text.slice(os, oe)) { emit(s, os, null); return; }
        ws = os; complex = true; parts.push(s); pushAlign(os, oe, s.length); end();
        return;
      }
      if (ws >= 0 && kind !== k) end();
      if (ws < 0) { ws = os; we = os; kind = k; complex = true; } else goComplex();
      parts.push(s);
      pushAlign(os, oe, s.length);
    };
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 128 && plain[c] === 0) {
        let j = i + 1;
        while (j < n) { const d = text.charCodeAt(j); if (d >= 128 || plain[d] !== 0) break; j++; }
        if (ws >= 0 && kind !== CharKind.Word) end();
        if (ws < 0) { ws = i; we = j; kind = CharKind.Word; complex = false; } else if (!complex && we === i) we = j;
        else { goComplex(); parts.push(lowSlice(i, j)); for (let u = i; u < j; u++) pushAlign(u, u + 1, 1); }
        i = j;
        continue;
      }
      if (c < 128 && plain[c] !== 3) {
        // A space ends the word; an isolated character (BERT's punctuation) is a word of its own.
        end();
        if (plain[c] === 2) emit(text[i]!, i, null);
        i++;
        continue;
      }
      const cp = c >= 0xd800 && c < 0xdc00 && i + 1 < n ? text.codePointAt(i)! : c;
      const len = cp > 0xffff ? 2 : 1;
      const e = this.entry(cp);
      if (e.norm === '') {
        if (ws >= 0) goComplex();
      } else if (typeof e.kind === 'number') {
        step(e.norm, e.kind, i, i + len);
      } else {
        let k = 0;
        for (const ch of e.norm) step(ch, e.kind[k++]!, i, i + len);
      }
      i += len;
    }
    end();
  }
}

// GPT-2's split, with Oniguruma's \s (White_Space, which JS's \s is not) spelled out.
const SP = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const GPT2_SPLIT = new RegExp(`'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${SP}\\p{L}\\p{N}]+|[${SP}]+(?![^${SP}])|[${SP}]+`, 'gu');

/** GPT-2's byte-level pre-tokeniser: words are the regex's matches; the model maps their UTF-8 bytes to tokens. */
export class ByteLevelPreTokenizer implements PreTokenizer {
  lastAscii = false;

  constructor(readonly addPrefixSpace = false, readonly useRegex = true) {}

  split(text: string, emit: WordSink): void {
    const prefix = this.addPrefixSpace && !text.startsWith(' ');
    const t = prefix ? ` ${text}` : text;
    const out: WordSink = !prefix ? emit : (word, at) => {
      if (at > 0) { emit(word, at - 1, null); return; }
      // The added space has no origin: it maps to the empty span at 0.
      const align = new Int32Array(word.length * 2);
      for (let k = 1; k < word.length; k++) { align[2 * k] = k - 1; align[2 * k + 1] = k; }
      emit(word, 0, align);
    };
    this.lastAscii = ASCII.test(t);
    if (!this.useRegex) { if (t.length) out(t, 0, null); return; }
    if (this.lastAscii) { splitAscii(t, out); return; }
    GPT2_SPLIT.lastIndex = 0;
    for (let m = GPT2_SPLIT.exec(t); m !== null; m = GPT2_SPLIT.exec(t)) out(m[0], m.index, null);
  }
}

const ASCII = /^[\x00-\x7f]*$/;
/** 1 letter, 2 digit, 3 whitespace, 0 other: GPT-2's regex classes on ASCII. */
const GPT2_CLASS = (() => {
  const c = new Uint8Array(128);
  for (let i = 0; i < 128; i++) {
    const ch = String.fromCharCode(i);
    c[i] = /[A-Za-z]/.test(ch) ? 1 : /[0-9]/.test(ch) ? 2 : /[\t\n\v\f\r ]/.test(ch) ? 3 : 0;
  }
  return c;
})();

/** GPT2_SPLIT on an ASCII text, without the regex engine (the same matches; tested against it). */
export function splitAscii(t: string, out: WordSink): void {
  const n = t.length;
  const cls = (k: number) => GPT2_CLASS[t.charCodeAt(k)]!;
  let i = 0;
  while (i < n) {
    const c = t.charCodeAt(i);
    if (c === 39 && i + 1 < n) { // 's 't 're 've 'm 'll 'd
      const a = t.charCodeAt(i + 1), b = i + 2 < n ? t.charCodeAt(i + 2) : 0;
      const len = a === 115 || a === 116 || a === 109 || a === 100 ? 2 : (a === 114 && b === 101) || (a === 118 && b === 101) || (a === 108 && b === 108) ? 3 : 0;
      if (len) { out(t.slice(i, i + len), i, null); i += len; continue; }
    }
    let j = i;
    if (c === 32 && i + 1 < n && cls(i + 1) !== 3) j = i + 1;
    const k = cls(j);
    if (k !== 3) {
      let e = j + 1;
      while (e < n && cls(e) === k) e++;
      out(t.slice(i, e), i, null);
      i = e;
      continue;
    }
    let e = i + 1;
    while (e < n && cls(e) === 3) e++;
    const end = e === n ? n : e - i >= 2 ? e - 1 : i + 1;
    out(t.slice(i, end), i, null);
    i = end;
  }
}
