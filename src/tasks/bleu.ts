// BLEU (Papineni et al. 2002) with sacrebleu 2.x's semantics, so that a score here is the score sacrebleu prints: its
// tokenizers (13a, the default, which is mteval-v13a.pl's; intl, mteval-v14's; zh; char; none), clipped n-gram
// counts against several references (the largest count any reference allows), the closest reference length (the
// shorter on a tie) for the brevity penalty, the smoothing methods of Chen & Cherry 2014 (exp, floor, add-k, none),
// effective order for sentence BLEU, and the reproducibility signature. Scores are in [0, 100].
//
// Reference: sacrebleu's sacrebleu/metrics/bleu.py and sacrebleu/tokenizers/ (github mjpost/sacrebleu, 2.6.0);
// test/tasks/bleu.test.ts checks its own tests' values.

/** The sacrebleu release whose semantics this follows; the signature names it, as sacrebleu's names its own version. */
export const SACREBLEU_VERSION = '2.6.0';

/** sacrebleu's tokenizer names. */
export type BleuTokenizerName = '13a' | 'intl' | 'zh' | 'char' | 'none';

/** Smoothing of zero n-gram matches (Chen & Cherry 2014): exp is mteval's (method 3), floor method 1, add-k method 2. */
export type BleuSmoothMethod = 'exp' | 'floor' | 'add-k' | 'none';

/** The default smoothing values, sacrebleu's SMOOTH_DEFAULTS (null: the method takes none). */
export const BLEU_SMOOTH_DEFAULTS: Readonly<Record<BleuSmoothMethod, number | null>> = { none: null, floor: 0.1, 'add-k': 1, exp: null };

/** Options of BLEU, with sacrebleu's defaults. */
export interface BleuOptions {
  /** Lowercase hypotheses and references first. Default false. */
  lowercase?: boolean;
  /** Default '13a'. */
  tokenize?: BleuTokenizerName;
  /** Default 'exp'. */
  smoothMethod?: BleuSmoothMethod;
  /** The value of floor (0.1) and add-k (1); null or absent takes the default. */
  smoothValue?: number | null;
  /** The largest n-gram order. Default 4. */
  maxNgramOrder?: number;
  /** Average the log precisions only up to the last order with any n-gram (for sentence BLEU). Default false. */
  effectiveOrder?: boolean;
}

/**
 * A BLEU score and its sufficient statistics, with sacrebleu BLEUScore's field names (so `--json` reads as sacrebleu's
 * attributes do): precisions in percent, the brevity penalty, and the system and reference lengths in tokens.
 */
export interface BleuScore {
  score: number;
  /** Matched n-grams per order (with add-k, the smoothed counts, as sacrebleu reports them). */
  counts: number[];
  /** Hypothesis n-grams per order (smoothed likewise). */
  totals: number[];
  /** 100·counts/totals per order, smoothed. */
  precisions: number[];
  bp: number;
  sys_len: number;
  ref_len: number;
  /** sys_len / ref_len (0 without reference tokens). */
  ratio: number;
  /** sacrebleu's signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`. */
  signature: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokenizers

/** Python's str.split() whitespace (not JS's \s: Python adds \x1c-\x1f and \x85, and leaves out \ufeff). */
const PY_SPACE = /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
const PY_SPACE_EDGE = new RegExp(`^${PY_SPACE.source}|${PY_SPACE.source}$`, 'g');

/** Python's `line.split()`: runs of whitespace separate, none at the ends. */
export function pySplit(line: string): string[] {
  return line.split(PY_SPACE).filter((t) => t !== '');
}

/** Python's `line.strip()`. */
function pyStrip(line: string): string {
  return line.replace(PY_SPACE_EDGE, '');
}

/** Python's `line.rstrip()`. */
function pyRstrip(line: string): string {
  return line.replace(new RegExp(`${PY_SPACE.source}$`), '');
}

/** mteval's language-dependent rules (sacrebleu's TokenizerRegexp), shared by 13a and zh. */
function regexpTokenize(line: string): string {
  const out = line
    // ASCII punctuation and symbols except . , ' - and the digits' neighbours below
    .replace(/([{-~[-` -&(-+:-@/])/g, ' $1 ')
    // period and comma unless preceded by a digit
    .replace(/([^0-9])([.,])/gu, '$1 $2 ')
    // period and comma unless followed by a digit
    .replace(/([.,])([^0-9])/gu, ' $1 $2')
    // a dash after a digit
    .replace(/([0-9])(-)/gu, '$1 $2 ');
  return pySplit(out).join(' ');
}

/** mteval-v13a.pl's tokenization, sacrebleu's default ('13a'). */
export function tokenize13a(line: string): string {
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  // the spaces make a final period a token even after a digit (mteval-v14 misses that; see intl)
  return regexpTokenize(` ${s} `);
}

/** mteval-v14.pl's international tokenization ('intl'): Unicode punctuation split off unless between digits, symbols always. */
export function tokenizeIntl(line: string): string {
  const out = line
    .replace(/(\P{N})(\p{P})/gu, '$1 $2 ')
    .replace(/(\p{P})(\P{N})/gu, ' $1 $2')
    .replace(/(\p{S})/gu, ' $1 ');
  return pySplit(out).join(' ');
}

/**
 * sacrebleu's 'zh' ranges of Chinese characters, as code points. Its table writes two ranges with five hex digits in
 * four-digit escapes ('\u20000', '\u2f800'), which Python reads as a character and a digit: the comparisons then take
 * U+2001-U+2A6D and U+2F81-U+2FA1 instead of the astral planes meant. Copied as they behave, so scores agree.
 */
const ZH_RANGES: readonly [number, number][] = [
  [0x3400, 0x4db5], [0x4e00, 0x9fa5], [0x9fa6, 0x9fbb], [0xf900, 0xfa2d], [0xfa30, 0xfa6a], [0xfa70, 0xfad9],
  [0x2001, 0x2a6d], [0x2f81, 0x2fa1], [0xff00, 0xffef], [0x2e80, 0x2eff], [0x3000, 0x303f], [0x31c0, 0x31ef],
  [0x2f00, 0x2fdf], [0x2ff0, 0x2fff], [0x3100, 0x312f], [0x31a0, 0x31bf], [0xfe10, 0xfe1f], [0xfe30, 0xfe4f],
  [0x2600, 0x26ff], [0x2700, 0x27bf], [0x3200, 0x32ff], [0x3300, 0x33ff],
];

/** sacrebleu's 'zh': every Chinese character a token, the rest tokenized as 13a's rules do. */
export function tokenizeZh(line: string): string {
  let spaced = '';
  for (const ch of pyStrip(line)) {
    const cp = ch.codePointAt(0)!;
    spaced += ZH_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi) ? ` ${ch} ` : ch;
  }
  return regexpTokenize(spaced);
}

/** sacrebleu's 'char': every character (code point) a token. */
export function tokenizeChar(line: string): string {
  return [...line].join(' ');
}

const TOKENIZERS: Readonly<Record<BleuTokenizerName, (line: string) => string>> = {
  '13a': tokenize13a, intl: tokenizeIntl, zh: tokenizeZh, char: tokenizeChar, none: (line) => line,
};

/** A tokenizer by its sacrebleu name, or an error listing the names. */
export function bleuTokenizer(name: string): (line: string) => string {
  const t = (TOKENIZERS as Record<string, (line: string) => string>)[name];
  if (!t) throw new Error(`BLEU: unknown tokenizer '${name}' (known: ${Object.keys(TOKENIZERS).join(', ')})`);
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics and the score

/** Counts of every n-gram of orders 1..maxOrder of a tokenized line, keyed by the n-gram's tokens joined by spaces. */
function ngramCounts(line: string, maxOrder: number): { counts: Map<string, number>; length: number } {
  const tokens = pySplit(line);
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      // tokens hold no whitespace, so the key cannot collide across orders or token boundaries
      const key = tokens.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return { counts, length: tokens.length };
}

/** The reference length closest to the hypothesis's, the shorter one on a tie. */
function closestRefLength(hypLen: number, refLens: readonly number[]): number {
  let best = -1, bestDiff = -1;
  for (const r of refLens) {
    const diff = Math.abs(hypLen - r);
    if (bestDiff === -1 || diff < bestDiff || (diff === bestDiff && r < best)) { bestDiff = diff; best = r; }
  }
  return best;
}

function checkOrder(maxOrder: number): void {
  if (!(Number.isInteger(maxOrder) && maxOrder >= 1)) throw new RangeError(`BLEU: maxNgramOrder must be a positive integer, got ${maxOrder}`);
}

/** The smoothing options, checked, with the method's default value filled in. */
function smoothing(opts: BleuOptions): { method: BleuSmoothMethod; value: number | null } {
  const method = opts.smoothMethod ?? 'exp';
  if (!(method in BLEU_SMOOTH_DEFAULTS)) throw new Error(`BLEU: unknown smoothMethod '${method}' (known: ${Object.keys(BLEU_SMOOTH_DEFAULTS).join(', ')})`);
  const value = opts.smoothValue ?? BLEU_SMOOTH_DEFAULTS[method];
  if (value !== null && !(Number.isFinite(value) && value >= 0)) throw new RangeError(`BLEU: smoothValue must be a non-negative number, got ${value}`);
  return { method, value };
}

/** The score of sufficient statistics without a signature (sacrebleu's BLEU.compute_bleu). */
export function computeBleu(correct: readonly number[], total: readonly number[], sysLen: number, refLen: number,
  opts: Pick<BleuOptions, 'smoothMethod' | 'smoothValue' | 'effectiveOrder' | 'maxNgramOrder'> = {}): Omit<BleuScore, 'signature'> {
  const maxOrder = opts.maxNgramOrder ?? 4;
  checkOrder(maxOrder);
  if (correct.length !== maxOrder || total.length !== maxOrder) throw new RangeError(`computeBleu: ${correct.length} matches and ${total.length} totals for order ${maxOrder}`);
  const { method, value } = smoothing(opts);
  const counts = [...correct], totals = [...total];
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const precisions = new Array<number>(maxOrder).fill(0);
  const result = (score: number) => ({ score, counts, totals, precisions, bp, sys_len: sysLen, ref_len: refLen, ratio: refLen ? sysLen / refLen : 0 });
  // no match at any order scores 0 whatever the smoothing (sacrebleu #141)
  if (!counts.some((c) => c !== 0)) return result(0);
  let smoothMteval = 1;
  let effOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (method === 'add-k' && n > 1) { counts[n - 1]! += value!; totals[n - 1]! += value!; }
    if (totals[n - 1] === 0) break;
    if (opts.effectiveOrder) effOrder = n;
    if (counts[n - 1] === 0) {
      if (method === 'exp') { smoothMteval *= 2; precisions[n - 1] = 100 / (smoothMteval * totals[n - 1]!); }
      else if (method === 'floor') precisions[n - 1] = (100 * value!) / totals[n - 1]!;
    } else precisions[n - 1] = (100 * counts[n - 1]!) / totals[n - 1]!;
  }
  // sacrebleu floors log(0) at -9999999999 rather than failing, so an order with nothing scores (practically) 0
  const logSum = precisions.slice(0, effOrder).reduce((s, p) => s + (p === 0 ? -9999999999 : Math.log(p)), 0);
  return result(bp * Math.exp(logSum / effOrder));
}

/**
 * BLEU with fixed options, sacrebleu's `BLEU` metric: `corpusScore` over reference streams, `sentenceScore` of one
 * hypothesis, and `signature` of the last score.
 */
export class BLEU {
  readonly lowercase: boolean;
  readonly tokenizerName: BleuTokenizerName;
  readonly maxNgramOrder: number;
  readonly effectiveOrder: boolean;
  readonly smoothMethod: BleuSmoothMethod;
  readonly smoothValue: number | null;
  private readonly tokenizer: (line: string) => string;
  /** References per segment of the last score: a number, or 'var' when segments differ. */
  private numRefs: number | 'var' | null = null;

  constructor(opts: BleuOptions = {}) {
    this.lowercase = opts.lowercase ?? false;
    this.tokenizerName = opts.tokenize ?? '13a';
    this.tokenizer = bleuTokenizer(this.tokenizerName);
    this.maxNgramOrder = opts.maxNgramOrder ?? 4;
    checkOrder(this.maxNgramOrder);
    this.effectiveOrder = opts.effectiveOrder ?? false;
    const { method, value } = smoothing(opts);
    this.smoothMethod = method;
    this.smoothValue = value;
  }

  /** A segment as BLEU sees it: lowercased if asked, trailing whitespace dropped, tokenized. */
  preprocess(line: string): string {
    return this.tokenizer(pyRstrip(this.lowercase ? line.toLowerCase() : line));
  }

  /**
   * Corpus BLEU: `references` is a list of reference streams, each parallel to `hypotheses` (sacrebleu's layout: one
   * stream per reference translation). A null reference is absent for that segment (a variable number of references).
   */
  corpusScore(hypotheses: readonly string[], references: readonly (readonly (string | null)[])[]): BleuScore {
    if (hypotheses.length === 0) throw new Error('BLEU: no hypotheses to score');
    if (references.length === 0) throw new Error('BLEU: no reference streams');
    references.forEach((stream, k) => {
      if (stream.length !== hypotheses.length) throw new RangeError(`BLEU: reference stream ${k + 1} has ${stream.length} segments but there are ${hypotheses.length} hypotheses`);
    });
    const n = this.maxNgramOrder;
    const correct = new Array<number>(n).fill(0), total = new Array<number>(n).fill(0);
    let sysLen = 0, refLen = 0;
    const refCounts = new Set<number>();
    hypotheses.forEach((hyp, i) => {
      if (typeof hyp !== 'string') throw new TypeError(`BLEU: hypothesis ${i + 1} is not a string`);
      const refs = references.map((s) => s[i]).filter((r): r is string => r !== null && r !== undefined);
      refCounts.add(refs.length);
      // the largest count of an n-gram in any one reference clips the hypothesis's count
      const maxRef = new Map<string, number>();
      const refLens: number[] = [];
      for (const ref of refs) {
        const { counts, length } = ngramCounts(this.preprocess(ref), n);
        refLens.push(length);
        for (const [g, c] of counts) if (c > (maxRef.get(g) ?? 0)) maxRef.set(g, c);
      }
      const { counts, length } = ngramCounts(this.preprocess(hyp), n);
      sysLen += length;
      refLen += closestRefLength(length, refLens);
      for (const [g, c] of counts) {
        const order = g.split(' ').length - 1;
        total[order]! += c;
        correct[order]! += Math.min(c, maxRef.get(g) ?? 0);
      }
    });
    this.numRefs = refCounts.size === 1 ? [...refCounts][0]! : 'var';
    const score = computeBleu(correct, total, sysLen, refLen, {
      smoothMethod: this.smoothMethod, smoothValue: this.smoothValue, effectiveOrder: this.effectiveOrder, maxNgramOrder: n,
    });
    return { ...score, signature: this.signature() };
  }

  /** Sentence BLEU of one hypothesis against its references (use effectiveOrder, as sacrebleu advises). */
  sentenceScore(hypothesis: string, references: readonly string[]): BleuScore {
    return this.corpusScore([hypothesis], references.map((r) => [r]));
  }

  /** sacrebleu's signature of the options and of the references last scored. */
  signature(): string {
    if (this.numRefs === null) throw new Error('BLEU: the signature names the number of references; score something first');
    const def = BLEU_SMOOTH_DEFAULTS[this.smoothMethod];
    const smooth = def === null ? this.smoothMethod : `${this.smoothMethod}[${(this.smoothValue ?? def).toFixed(2)}]`;
    return `nrefs:${this.numRefs}|case:${this.lowercase ? 'lc' : 'mixed'}|eff:${this.effectiveOrder ? 'yes' : 'no'}|tok:${this.tokenizerName}|smooth:${smooth}|version:${SACREBLEU_VERSION}`;
  }
}

/** Corpus BLEU, sacrebleu's `corpus_bleu` (exp smoothing, 13a, no effective order unless asked). */
export function corpusBleu(hypotheses: readonly string[], references: readonly (readonly (string | null)[])[], opts: BleuOptions = {}): BleuScore {
  return new BLEU(opts).corpusScore(hypotheses, references);
}

/** Sentence BLEU, sacrebleu's `sentence_bleu` (effective order on by default). */
export function sentenceBleu(hypothesis: string, references: readonly string[], opts: BleuOptions = {}): BleuScore {
  return new BLEU({ effectiveOrder: true, ...opts }).sentenceScore(hypothesis, references);
}

/**
 * Python's f'{x:.{d}f}': the nearest decimal, and on an exact tie (56.25 to one place) the even digit, where JS's
 * toFixed rounds up; sacrebleu's printed precisions differ from toFixed's there.
 */
export function pyFixed(x: number, d: number): string {
  if (!Number.isFinite(x)) return String(x);
  const exact = Math.abs(x).toFixed(100); // the double's whole expansion for the magnitudes a score has
  const dot = exact.indexOf('.');
  const rest = exact.slice(dot + 1 + d);
  if (!/^50*$/.test(rest)) return x.toFixed(d);
  const kept = exact.slice(0, dot + 1 + d).replace(/\.$/, '');
  const lastDigit = Number(kept[kept.length - 1]);
  // an even last digit stays (truncate); an odd one rounds away from zero, as toFixed does on a tie
  return lastDigit % 2 === 0 ? `${x < 0 ? '-' : ''}${kept}` : x.toFixed(d);
}

/**
 * sacrebleu's score line: `BLEU|<signature> = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17
 * ref_len = 18)`, the score with `width` decimals.
 */
export function formatBleu(s: BleuScore, width = 2): string {
  const prec = s.precisions.map((p) => pyFixed(p, 1)).join('/');
  return `BLEU|${s.signature} = ${pyFixed(s.score, width)} ${prec} (BP = ${pyFixed(s.bp, 3)} ratio = ${pyFixed(s.ratio, 3)} hyp_len = ${s.sys_len} ref_len = ${s.ref_len})`;
}
