// Character classes with Hugging Face tokenizers' definitions (BERT's BasicTokenizer, GPT-2's byte map), as
// lookup tables: ASCII by a precomputed table, everything else classified once per code point and cached.

/** How the BERT normaliser + pre-tokeniser treats one normalised code point. */
export const enum CharKind {
  /** Part of a word. */
  Word = 0,
  /** Splits words and is dropped (Unicode White_Space). */
  Space = 1,
  /** A word of its own (punctuation, and CJK ideographs when `handleChineseChars`). */
  Isolated = 2,
}

const PUNCT = /^\p{P}$/u;
const OTHER = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]$/u;
const MARK_NONSPACING = /^\p{Mn}$/u;
const MARK = /^\p{M}$/u;
// Rust's char::is_whitespace (the White_Space property); JS's \s differs (it has U+FEFF, lacks U+0085).
const WHITE_SPACE = /^[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;

/** Rust's `char::is_whitespace`. */
export const isWhiteSpace = (c: string): boolean => WHITE_SPACE.test(c);
/** BERT's punctuation: ASCII punctuation or a Unicode P* character. */
export const isPunctuation = (cp: number): boolean =>
  (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) || PUNCT.test(String.fromCodePoint(cp));
/** BERT's control characters, removed by `clean_text`: category C except \t \n \r. */
export const isControl = (cp: number): boolean => cp !== 9 && cp !== 10 && cp !== 13 && OTHER.test(String.fromCodePoint(cp));
/** Unicode Mn (what BertNormalizer's accent stripping removes). */
export const isMarkNonspacing = (c: string): boolean => MARK_NONSPACING.test(c);
/** Unicode M* (what the StripAccents normaliser removes). */
export const isMark = (c: string): boolean => MARK.test(c);

/** BERT's CJK ideograph ranges (not all of CJK: kana and hangul are not split per character). */
export function isChineseChar(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/** GPT-2's byte -> printable character map (`bytes_to_unicode`): printable Latin-1 bytes map to themselves. */
export const BYTE_CHARS: readonly string[] = (() => {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep(b) ? b : 256 + n++);
  return out;
})();

/** The inverse of BYTE_CHARS: a byte-level character's code -> its byte (-1 for other characters). */
export const CHAR_BYTES: Int16Array = (() => {
  const out = new Int16Array(324).fill(-1);
  BYTE_CHARS.forEach((c, b) => { out[c.charCodeAt(0)] = b; });
  return out;
})();
