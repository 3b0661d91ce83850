// Sentence splitting of raw prose, English and Chinese, by rule (no model): what BERT-style corpora need when the
// source is paragraphs rather than one sentence a line.
//
// English: a run of . ! ? (plus closing quotes or brackets) ends a sentence when whitespace follows and the next
// word does not start in lower case, unless the period belongs to a title (Mr., Dr.), a Latin abbreviation (e.g.,
// i.e.), an initial (J. R. R. Tolkien) or a dotted acronym (U.S.). Chinese: 。！？ always end a sentence, with any
// closing quotes (”」』) that follow, no whitespace needed.

/** Abbreviations after which a period does not end a sentence (lower case, without the final period). */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'messrs', 'mme', 'mlle', 'dr', 'prof', 'sr', 'jr', 'st', 'rev', 'hon', 'gen', 'col', 'capt', 'lt',
  'sgt', 'cpl', 'maj', 'adm', 'gov', 'sen', 'rep', 'pres', 'supt', 'esq', 'fr', 'mt', 'ft', 'no', 'nos', 'vol', 'vols',
  'ch', 'chap', 'pp', 'fig', 'figs', 'eq', 'vs', 'cf', 'viz', 'al', 'approx', 'dept', 'univ', 'inc', 'ltd', 'co',
  'corp', 'bros', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
]);

const CJK_TERMINATORS = '。！？';
/** Terminal punctuation, then closing quotes/brackets that belong to the same sentence. */
const BOUNDARY = /([.!?]+|[。！？]+)([\u201d\u2019"'\u300d\u300f\uff09)\]\u00bb]*)/g;
const OPENERS = /["'\u201c\u2018\u300c\u300e(\[\u00ab]/;

/** Splits raw text (one paragraph or more) into trimmed, non-empty sentences. */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  const push = (end: number) => {
    const s = text.slice(start, end).trim();
    if (s) out.push(s);
    start = end;
  };
  for (const m of text.matchAll(BOUNDARY)) {
    const end = m.index + m[0].length;
    if (CJK_TERMINATORS.includes(m[1]![0]!)) { push(end); continue; }
    if (endsEnglishSentence(text, start, m.index, m[1]!, end)) push(end);
  }
  push(text.length);
  return out;
}

/** Whether the punctuation run `punct` at [at, end) ends an English sentence begun at `start`. */
function endsEnglishSentence(text: string, start: number, at: number, punct: string, end: number): boolean {
  if (end === text.length) return true;
  if (!/\s/.test(text[end]!)) return false; // 3.14, U.S.A., "word.word"
  let next = end;
  while (next < text.length && /\s/.test(text[next]!)) next++;
  if (next === text.length) return true;
  let first = text[next]!;
  if (OPENERS.test(first) && next + 1 < text.length) first = text[next + 1]!;
  if (first !== first.toUpperCase()) return false; // "Why?" he asked. / e.g. some thing
  if (punct !== '.') return true; // ! ? and ellipses followed by a capital
  let w = at;
  while (w > start && !/\s/.test(text[w - 1]!)) w--;
  const word = text.slice(w, at).replace(/^["'\u201c\u2018(\[]+/, '');
  if (ABBREVIATIONS.has(word.toLowerCase())) return false;
  if (/^\p{Lu}$/u.test(word)) return false; // an initial
  if (/^\p{L}(\.\p{L})+$/u.test(word)) return false; // e.g, i.e, U.S, a.m
  return true;
}
