// ROUGE (Lin 2004) with the semantics of Google's rouge-score package (`rouge_score.rouge_scorer.RougeScorer`, what
// the `evaluate` library's "rouge" metric wraps), so that a score here is the score it gives:
//
// - its default tokenizer: lowercase, every run of characters outside [a-z0-9] a space, split, and only tokens of
//   [a-z0-9]+ kept; with the stemmer, tokens longer than 3 characters go through NLTK's Porter stemmer (its default
//   NLTK_EXTENSIONS mode, written here from NLTK 3.8's nltk/stem/porter.py);
// - rouge1..rouge9: n-gram overlap, precision over the prediction's n-grams and recall over the target's;
// - rougeL: the longest common subsequence of the two token lists;
// - rougeLsum: summary-level LCS over sentences split on "\n" (the union LCS of each target sentence with every
//   predicted sentence, each token counted at most as often as both summaries hold it, as ROUGE-1.5.5 does);
// - F is the harmonic mean of precision and recall (0 when both are 0); several targets keep, per ROUGE type, the
//   one with the best F (`score_multi`);
// - the corpus score is the mean precision, recall and F over the pairs; `BootstrapAggregator` gives rouge-score's
//   low/mid/high instead: the 2.5th, 50th and 97.5th percentiles of 1,000 resampled means (numpy's linear
//   percentiles), from a seeded generator of ours rather than numpy's global one, so those three move with the seed
//   (by about 0.001 at a thousand pairs) while the mean does not. `evaluate`'s default report is the mid F.
//
// Scores are in [0, 1], as rouge-score's are. Reference: rouge/rouge_scorer.py, rouge/tokenize.py, rouge/tokenizers.py
// and rouge/scoring.py in github google-research/google-research (rouge-score 0.1.2's sources); test/tasks/rouge.test.ts
// checks rouge_scorer_test.py's and scoring_test.py's values and the stemmer against python3-nltk.
import { Generator, uniformAt } from '../tensor/random.js';

// ---------------------------------------------------------------------------------------------------------------
// Porter stemmer (NLTK_EXTENSIONS)

/** Whether each letter of `w` is a consonant in Porter's sense: not a, e, i, o, u, and a y only after a vowel (or first). */
function consonants(w: string): boolean[] {
  const out = new Array<boolean>(w.length);
  for (let i = 0; i < w.length; i++) {
    const c = w[i]!;
    out[i] = c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u' ? false : c === 'y' ? i === 0 || !out[i - 1] : true;
  }
  return out;
}

/** Porter's measure m of a stem [C](VC){m}[V]: the number of vowel-to-consonant transitions. */
function measure(stem: string): number {
  const cons = consonants(stem);
  let m = 0;
  for (let i = 1; i < cons.length; i++) if (cons[i] && !cons[i - 1]) m++;
  return m;
}

const containsVowel = (stem: string) => consonants(stem).some((c) => !c);

/** Condition *d: the word ends with a double consonant. */
function endsDoubleConsonant(w: string): boolean {
  return w.length >= 2 && w.at(-1) === w.at(-2) && consonants(w).at(-1)!;
}

/** Condition *o: the stem ends consonant-vowel-consonant, the last not w, x or y; or (NLTK) it is vowel-consonant. */
function endsCvc(w: string): boolean {
  const c = consonants(w), n = w.length;
  if (n >= 3 && c[n - 3] && !c[n - 2] && c[n - 1] && !'wxy'.includes(w[n - 1]!)) return true;
  return n === 2 && !c[0] && c[1]!;
}

/** A suffix rule: the suffix, its replacement, and the condition on the stem left without the suffix. */
type Rule = readonly [suffix: string, replacement: string, condition: ((stem: string) => boolean) | null];

/**
 * Applies the first rule whose suffix the word ends with: its replacement if the condition holds, else the word
 * unchanged (the later rules are not tried).
 */
function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (!word.endsWith(suffix)) continue;
    const stem = word.slice(0, word.length - suffix.length);
    return condition === null || condition(stem) ? stem + replacement : word;
  }
  return word;
}

const positive = (stem: string) => measure(stem) > 0;
const aboveOne = (stem: string) => measure(stem) > 1;

/** NLTK's irregular forms, mapped to their stems before the algorithm runs. */
const IRREGULAR: ReadonlyMap<string, string> = new Map(Object.entries({
  sky: ['sky', 'skies'], die: ['dying'], lie: ['lying'], tie: ['tying'], news: ['news'], inning: ['innings', 'inning'],
  outing: ['outings', 'outing'], canning: ['cannings', 'canning'], howe: ['howe'], proceed: ['proceed'], exceed: ['exceed'], succeed: ['succeed'],
}).flatMap(([stem, forms]) => forms.map((f) => [f, stem] as [string, string])));

function step1a(w: string): string {
  if (w.endsWith('ies') && w.length === 4) return `${w.slice(0, 1)}ie`; // NLTK: 'dies' -> 'die', 'flies' -> 'fli'
  return applyRules(w, [['sses', 'ss', null], ['ies', 'i', null], ['ss', 'ss', null], ['s', '', null]]);
}

function step1b(w: string): string {
  if (w.endsWith('ied')) return w.length === 4 ? `${w.slice(0, 1)}ie` : `${w.slice(0, -3)}i`; // NLTK: 'died' -> 'die', 'spied' -> 'spi'
  if (w.endsWith('eed')) return positive(w.slice(0, -3)) ? w.slice(0, -1) : w;
  let stem: string | null = null;
  for (const suffix of ['ed', 'ing']) {
    if (w.endsWith(suffix) && containsVowel(w.slice(0, -suffix.length))) { stem = w.slice(0, -suffix.length); break; }
  }
  if (stem === null) return w;
  // after -ed or -ing: -at, -bl, -iz get their e back; a double consonant other than l, s, z is undoubled; a short
  // cvc stem gets an e
  if (stem.endsWith('at') || stem.endsWith('bl') || stem.endsWith('iz')) return `${stem}e`;
  if (endsDoubleConsonant(stem)) return 'lsz'.includes(stem.at(-1)!) ? stem : stem.slice(0, -1);
  return measure(stem) === 1 && endsCvc(stem) ? `${stem}e` : stem;
}

function step1c(w: string): string {
  // NLTK: y -> i after a consonant that is not the whole stem ('happy' -> 'happi', 'enjoy' and 'by' kept)
  return applyRules(w, [['y', 'i', (stem) => stem.length > 1 && consonants(stem).at(-1)!]]);
}

function step2(w: string): string {
  // NLTK: -alli -> -al first, and step 2 again on the result
  if (w.endsWith('alli') && positive(w.slice(0, -4))) return step2(`${w.slice(0, -4)}al`);
  return applyRules(w, [
    ['ational', 'ate', positive], ['tional', 'tion', positive], ['enci', 'ence', positive], ['anci', 'ance', positive],
    ['izer', 'ize', positive], ['bli', 'ble', positive], ['alli', 'al', positive], ['entli', 'ent', positive], ['eli', 'e', positive],
    ['ousli', 'ous', positive], ['ization', 'ize', positive], ['ation', 'ate', positive], ['ator', 'ate', positive],
    ['alism', 'al', positive], ['iveness', 'ive', positive], ['fulness', 'ful', positive], ['ousness', 'ous', positive],
    ['aliti', 'al', positive], ['iviti', 'ive', positive], ['biliti', 'ble', positive], ['fulli', 'ful', positive],
    // the l of -logi stays with the stem for the measure, so 'geo', 'theo' count like 'archaeo'
    ['logi', 'log', () => positive(w.slice(0, -3))],
  ]);
}

function step3(w: string): string {
  return applyRules(w, [
    ['icate', 'ic', positive], ['ative', '', positive], ['alize', 'al', positive], ['iciti', 'ic', positive],
    ['ical', 'ic', positive], ['ful', '', positive], ['ness', '', positive],
  ]);
}

function step4(w: string): string {
  return applyRules(w, [
    ['al', '', aboveOne], ['ance', '', aboveOne], ['ence', '', aboveOne], ['er', '', aboveOne], ['ic', '', aboveOne],
    ['able', '', aboveOne], ['ible', '', aboveOne], ['ant', '', aboveOne], ['ement', '', aboveOne], ['ment', '', aboveOne],
    ['ent', '', aboveOne], ['ion', '', (stem) => aboveOne(stem) && (stem.endsWith('s') || stem.endsWith('t'))],
    ['ou', '', aboveOne], ['ism', '', aboveOne], ['ate', '', aboveOne], ['iti', '', aboveOne], ['ous', '', aboveOne],
    ['ive', '', aboveOne], ['ize', '', aboveOne],
  ]);
}

function step5(w: string): string {
  if (w.endsWith('e')) {
    const stem = w.slice(0, -1), m = measure(stem);
    if (m > 1 || (m === 1 && !endsCvc(stem))) w = stem;
  }
  return w.endsWith('ll') && measure(w.slice(0, -1)) > 1 ? w.slice(0, -1) : w;
}

/**
 * The stem of a word by NLTK's `PorterStemmer()` (mode NLTK_EXTENSIONS, NLTK 3.8): Porter's 1980 algorithm with the
 * changes Martin Porter endorsed and NLTK's own (irregular forms, -ies/-ied of 4-letter words, y -> i only after a
 * consonant, -alli, -fulli, -logi, words of 1-2 letters kept). The word is lowercased first, as NLTK's `stem` does.
 * Written for ASCII words, which is all rouge's tokenizer passes; other text is handled by UTF-16 units, where NLTK's
 * Python strings count code points.
 */
export function porterStem(word: string): string {
  const lower = word.toLowerCase();
  const irregular = IRREGULAR.get(word); // NLTK looks the word up before lowercasing
  if (irregular !== undefined) return irregular;
  if (word.length <= 2) return lower;
  return step5(step4(step3(step2(step1c(step1b(step1a(lower)))))));
}

/** Something with a `stem` method, as NLTK's stemmers have. */
export interface Stemmer {
  stem(word: string): string;
}

/** NLTK's PorterStemmer in its default mode, as rouge-score uses it (`porterStem`). */
export class PorterStemmer implements Stemmer {
  stem(word: string): string { return porterStem(word); }
}

// ---------------------------------------------------------------------------------------------------------------
// Tokenizer

/** A tokenizer to use instead of rouge-score's default, as its `RougeScorer(tokenizer=...)` takes. */
export interface RougeTokenizer {
  tokenize(text: string): string[];
}

/**
 * rouge-score's default tokenizer (`tokenize.tokenize`, after ROUGE-1.5.5): lowercase, each run of characters other
 * than a-z and 0-9 to a space, split on whitespace, with a stemmer stem the tokens longer than 3 characters, and keep
 * the tokens of [a-z0-9]+ only (so text in other scripts has no tokens).
 */
export function rougeTokenize(text: string, stemmer: Stemmer | null = null): string[] {
  const words = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(/\s+/);
  const stemmed = stemmer ? words.map((w) => (w.length > 3 ? stemmer.stem(w) : w)) : words;
  return stemmed.filter((w) => /^[a-z0-9]+$/.test(w));
}

// ---------------------------------------------------------------------------------------------------------------
// Scores

/** Precision, recall and F-measure, rouge-score's `Score` tuple. Each in [0, 1]. */
export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

/** The ROUGE types rouge-score computes: n-grams of 1..9, LCS, and summary-level LCS over "\n"-split sentences. */
export type RougeType = `rouge${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9}` | 'rougeL' | 'rougeLsum';

/** The types `evaluate`'s "rouge" reports by default. */
export const ROUGE_TYPES: readonly RougeType[] = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'];

/** rouge-score's `scoring.fmeasure`: the harmonic mean, 0 when precision and recall are both 0. */
export function rougeFmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

const score = (precision: number, recall: number): RougeScore => ({ precision, recall, fmeasure: rougeFmeasure(precision, recall) });
const ZERO: RougeScore = Object.freeze({ precision: 0, recall: 0, fmeasure: 0 });

/** Counts of the n-grams of a token list (keyed by the tokens joined by NUL). */
function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const g = tokens.slice(i, i + n).join('\u0000');
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  return counts;
}

/**
 * ROUGE-N of token lists: matched n-grams (each counted at most as often as both sides have it) over the prediction's
 * n-grams (precision) and the target's (recall); a side without n-grams divides by 1, so it scores 0.
 */
export function rougeN(target: readonly string[], prediction: readonly string[], n: number): RougeScore {
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`ROUGE-N: n must be a positive integer, got ${n}`);
  const t = ngramCounts(target, n), p = ngramCounts(prediction, n);
  let matched = 0, tTotal = 0, pTotal = 0;
  for (const [g, c] of t) { matched += Math.min(c, p.get(g) ?? 0); tTotal += c; }
  for (const c of p.values()) pTotal += c;
  return score(matched / Math.max(pTotal, 1), matched / Math.max(tTotal, 1));
}

/**
 * The dynamic-programming table of longest common subsequence lengths: `t[i][j]` is the LCS length of `ref[0, i)` and
 * `can[0, j)`, (ref.length + 1) x (can.length + 1) (rouge-score's `_lcs_table`).
 */
export function lcsTable<T>(ref: readonly T[], can: readonly T[]): number[][] {
  const t = Array.from({ length: ref.length + 1 }, () => new Array<number>(can.length + 1).fill(0));
  for (let i = 1; i <= ref.length; i++) {
    const row = t[i]!, prev = t[i - 1]!;
    for (let j = 1; j <= can.length; j++) row[j] = ref[i - 1] === can[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, row[j - 1]!);
  }
  return t;
}

/**
 * One longest common subsequence, as ascending indices into `ref`, read back from `lcsTable(ref, can)` from the end:
 * a match is taken, else the step toward the larger cell, toward `ref`'s start on a tie (rouge-score's
 * `_backtrack_norec`; `lcs_ind` without a table).
 */
export function lcsIndices<T>(ref: readonly T[], can: readonly T[], table: number[][] = lcsTable(ref, can)): number[] {
  const out: number[] = [];
  let i = ref.length, j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) { out.push(i - 1); i--; j--; }
    else if (table[i]![j - 1]! > table[i - 1]![j]!) j--;
    else i--;
  }
  return out.reverse();
}

/** The LCS length of two sequences, in one row of memory. */
function lcsLength<T>(a: readonly T[], b: readonly T[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0; // row[j - 1] of the previous i
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(up, row[j - 1]!);
      diag = up;
    }
  }
  return row[b.length]!;
}

/** ROUGE-L of token lists: the LCS length over the prediction's length and the target's; 0 if either is empty. */
export function rougeL(target: readonly string[], prediction: readonly string[]): RougeScore {
  if (target.length === 0 || prediction.length === 0) return { ...ZERO };
  const lcs = lcsLength(target, prediction);
  return score(lcs / prediction.length, lcs / target.length);
}

/** The sorted union of several index lists (rouge-score's `_find_union`). */
export function findUnion(lists: readonly (readonly number[])[]): number[] {
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}

/**
 * The union LCS of a reference sentence with candidate sentences: the reference's tokens at the union of the indices
 * of one LCS with each candidate, in order (rouge-score's `_union_lcs`; Lin 2004, section 3.2).
 */
export function unionLcs<T>(ref: readonly T[], candidates: readonly (readonly T[])[]): T[] {
  return findUnion(candidates.map((c) => lcsIndices(ref, c))).map((i) => ref[i]!);
}

/**
 * Summary-level ROUGE-L of tokenised sentences (rouge-score's `_summary_level_lcs`): the union LCS of each reference
 * sentence with all candidate sentences, a token counting as a hit only while both summaries still hold an unused
 * one (as ROUGE-1.5.5 avoids double counting); hits over the candidate's tokens (precision) and the reference's
 * (recall). No sentences or no tokens on a side scores 0.
 */
export function summaryLevelLcs<T>(refSentences: readonly (readonly T[])[], canSentences: readonly (readonly T[])[]): RougeScore {
  if (refSentences.length === 0 || canSentences.length === 0) return { ...ZERO };
  const m = refSentences.reduce((s, x) => s + x.length, 0), n = canSentences.reduce((s, x) => s + x.length, 0);
  if (m === 0 || n === 0) return { ...ZERO };
  const count = (sentences: readonly (readonly T[])[]) => {
    const c = new Map<T, number>();
    for (const s of sentences) for (const t of s) c.set(t, (c.get(t) ?? 0) + 1);
    return c;
  };
  const refLeft = count(refSentences), canLeft = count(canSentences);
  let hits = 0;
  for (const r of refSentences) {
    for (const t of unionLcs(r, canSentences)) {
      if ((canLeft.get(t) ?? 0) > 0 && (refLeft.get(t) ?? 0) > 0) {
        hits++;
        canLeft.set(t, canLeft.get(t)! - 1);
        refLeft.set(t, refLeft.get(t)! - 1);
      }
    }
  }
  return score(hits / n, hits / m);
}

/** Options of `RougeScorer`, rouge-score's. */
export interface RougeScorerOptions {
  /** Stem tokens longer than 3 characters with NLTK's Porter stemmer (the default tokenizer only). Default false. */
  useStemmer?: boolean;
  /** Tokenize with this instead of the default tokenizer (`useStemmer` is then not used). */
  tokenizer?: RougeTokenizer;
}

/** Scores of one pair, by ROUGE type. */
export type RougeScores = Partial<Record<RougeType, RougeScore>>;

function checkType(t: string): asserts t is RougeType {
  if (t === 'rougeL' || t === 'rougeLsum') return;
  const m = /^rouge([0-9])$/.exec(t);
  if (!m) throw new RangeError(`ROUGE: invalid rouge type ${JSON.stringify(t)} (rouge1..rouge9, rougeL or rougeLsum)`);
  if (m[1] === '0') throw new RangeError(`ROUGE: rougeN needs a positive n, got ${t}`);
}

/**
 * rouge-score's `RougeScorer`: scores a prediction against a target for each ROUGE type asked for.
 *
 *   new RougeScorer(['rouge1', 'rougeL'], { useStemmer: true }).score('The quick brown fox', 'The quick brown dog')
 */
export class RougeScorer {
  readonly rougeTypes: readonly RougeType[];
  readonly useStemmer: boolean;
  private readonly tokenizer: RougeTokenizer;

  constructor(rougeTypes: readonly string[] = ROUGE_TYPES, opts: RougeScorerOptions = {}) {
    if (rougeTypes.length === 0) throw new RangeError('ROUGE: no rouge types asked for');
    for (const t of rougeTypes) checkType(t);
    this.rougeTypes = [...rougeTypes] as RougeType[];
    this.useStemmer = opts.useStemmer ?? false;
    const stemmer = this.useStemmer ? new PorterStemmer() : null;
    this.tokenizer = opts.tokenizer ?? { tokenize: (text) => rougeTokenize(text, stemmer) };
  }

  /** The tokens the scorer compares. */
  tokenize(text: string): string[] {
    return this.tokenizer.tokenize(text);
  }

  /** Scores of `prediction` against `target` (the reference), by type. */
  score(target: string, prediction: string): RougeScores {
    if (typeof target !== 'string' || typeof prediction !== 'string') throw new TypeError('ROUGE: the target and the prediction must be strings');
    const needTokens = this.rougeTypes.some((t) => t !== 'rougeLsum');
    const tTokens = needTokens ? this.tokenize(target) : [], pTokens = needTokens ? this.tokenize(prediction) : [];
    const out: RougeScores = {};
    for (const type of this.rougeTypes) {
      if (type === 'rougeL') out[type] = rougeL(tTokens, pTokens);
      else if (type === 'rougeLsum') {
        // sentences are the lines; empty lines are none, a line without tokens is a sentence of none
        const sentences = (text: string) => text.split('\n').filter((s) => s.length > 0).map((s) => this.tokenize(s));
        out[type] = summaryLevelLcs(sentences(target), sentences(prediction));
      } else out[type] = rougeN(tTokens, pTokens, Number(type.slice(5)));
    }
    return out;
  }

  /** rouge-score's `score_multi`: for each type, the score against the target with the best F (the first on a tie). */
  scoreMulti(targets: readonly string[], prediction: string): RougeScores {
    if (targets.length === 0) throw new RangeError('ROUGE: no targets to score against');
    const all = targets.map((t) => this.score(t, prediction));
    const out: RougeScores = {};
    for (const type of this.rougeTypes) {
      let best = all[0]![type]!;
      for (const s of all) if (s[type]!.fmeasure > best.fmeasure) best = s[type]!;
      out[type] = best;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Aggregation

/** A confidence interval of a corpus score: rouge-score's `AggregateScore`. */
export interface RougeAggregate {
  low: RougeScore;
  mid: RougeScore;
  high: RougeScore;
}

/** Options of `BootstrapAggregator`. */
export interface BootstrapOptions {
  /** Width of the interval, in [0, 1]. Default 0.95 (the 2.5th and 97.5th percentiles). */
  confidenceInterval?: number;
  /** Resamples. Default 1000. */
  nSamples?: number;
  /** Seeds the resampling. Default 0. */
  seed?: number;
}

/** numpy.percentile's default (linear) of sorted values at q in [0, 100], with numpy's interpolation formula. */
function percentile(sorted: Float64Array, q: number): number {
  const h = ((sorted.length - 1) * q) / 100, lo = Math.floor(h), t = h - lo;
  const a = sorted[lo]!, b = sorted[Math.min(lo + 1, sorted.length - 1)]!;
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/**
 * rouge-score's `BootstrapAggregator`: collects per-pair scores and gives, per type, the low, mid and high
 * percentiles of the means of `nSamples` resamples of the pairs (drawn with replacement, all three measures of a
 * type from the same draw), the interval `confidenceInterval` wide around the median. The draws are ours, seeded, not
 * numpy's, so the bounds equal rouge-score's only as two bootstrap runs agree.
 */
export class BootstrapAggregator {
  readonly confidenceInterval: number;
  readonly nSamples: number;
  readonly seed: number;
  private readonly scores = new Map<string, RougeScore[]>();

  constructor(opts: BootstrapOptions = {}) {
    this.confidenceInterval = opts.confidenceInterval ?? 0.95;
    this.nSamples = opts.nSamples ?? 1000;
    this.seed = opts.seed ?? 0;
    if (!(this.confidenceInterval >= 0 && this.confidenceInterval <= 1)) throw new RangeError('ROUGE: confidenceInterval must be in [0, 1]');
    if (!(Number.isInteger(this.nSamples) && this.nSamples > 0)) throw new RangeError('ROUGE: nSamples must be a positive integer');
  }

  /** Adds one pair's scores (any types; each type is aggregated over the pairs that have it). */
  addScores(scores: Readonly<Record<string, RougeScore | undefined>>): void {
    for (const [type, s] of Object.entries(scores)) {
      if (!s) continue;
      if (!this.scores.has(type)) this.scores.set(type, []);
      this.scores.get(type)!.push(s);
    }
  }

  /** low/mid/high per type, in the order the types were first added. */
  aggregate(): Record<string, RougeAggregate> {
    const rng = new Generator(this.seed);
    const delta = (1 - this.confidenceInterval) / 2, qs = [100 * delta, 50, 100 * (1 - delta)];
    const out: Record<string, RougeAggregate> = {};
    for (const [type, list] of this.scores) {
      const n = list.length, k = this.nSamples;
      const means = [new Float64Array(k), new Float64Array(k), new Float64Array(k)];
      for (let s = 0; s < k; s++) {
        const key = rng.nextKey();
        let p = 0, r = 0, f = 0;
        for (let i = 0; i < n; i++) {
          const x = list[Math.min(n - 1, Math.floor(uniformAt(key, i) * n))]!;
          p += x.precision; r += x.recall; f += x.fmeasure;
        }
        means[0]![s] = p / n; means[1]![s] = r / n; means[2]![s] = f / n;
      }
      for (const m of means) m.sort();
      const [low, mid, high] = qs.map((q) => ({ precision: percentile(means[0]!, q), recall: percentile(means[1]!, q), fmeasure: percentile(means[2]!, q) }));
      out[type] = { low: low!, mid: mid!, high: high! };
    }
    return out;
  }
}

/** Options of `corpusRouge`. */
export interface CorpusRougeOptions extends RougeScorerOptions {
  /** Default rouge1, rouge2, rougeL, rougeLsum. */
  rougeTypes?: readonly RougeType[];
  /** Also rouge-score's bootstrap low/mid/high (true: its defaults, 0.95 and 1,000 resamples, seed 0). */
  bootstrap?: boolean | BootstrapOptions;
}

/** Corpus ROUGE: per-type means over the pairs, and optionally the bootstrap interval. */
export interface RougeCorpusScore {
  /** Mean precision, recall and F over the pairs, per type (`evaluate`'s use_aggregator=False, averaged). */
  mean: RougeScores;
  /** rouge-score's BootstrapAggregator, when asked for (`evaluate` reports `mid.fmeasure`). */
  bootstrap?: Partial<Record<RougeType, RougeAggregate>>;
  /** Pairs scored. */
  pairs: number;
  useStemmer: boolean;
}

/**
 * Corpus ROUGE of predictions against reference streams, each parallel to the predictions (the layout of
 * corpusBleu and corpusChrf; a null reference is absent for that pair): each prediction is scored against its
 * references (the best F per type over several, rouge-score's `score_multi`), and the scores averaged.
 */
export function corpusRouge(predictions: readonly string[], references: readonly (readonly (string | null)[])[], opts: CorpusRougeOptions = {}): RougeCorpusScore {
  if (predictions.length === 0) throw new Error('ROUGE: no predictions to score');
  if (references.length === 0) throw new Error('ROUGE: no reference streams');
  references.forEach((stream, k) => {
    if (stream.length !== predictions.length) throw new RangeError(`ROUGE: reference stream ${k + 1} has ${stream.length} segments but there are ${predictions.length} predictions`);
  });
  const scorer = new RougeScorer(opts.rougeTypes ?? ROUGE_TYPES, opts);
  const sums = new Map<RougeType, RougeScore>(scorer.rougeTypes.map((t) => [t, { precision: 0, recall: 0, fmeasure: 0 }]));
  const aggregator = opts.bootstrap ? new BootstrapAggregator(opts.bootstrap === true ? {} : opts.bootstrap) : null;
  predictions.forEach((prediction, i) => {
    const refs = references.map((s) => s[i]).filter((r): r is string => r !== null && r !== undefined);
    if (refs.length === 0) throw new RangeError(`ROUGE: prediction ${i + 1} has no reference`);
    const s = refs.length === 1 ? scorer.score(refs[0]!, prediction) : scorer.scoreMulti(refs, prediction);
    for (const [type, sum] of sums) {
      sum.precision += s[type]!.precision; sum.recall += s[type]!.recall; sum.fmeasure += s[type]!.fmeasure;
    }
    aggregator?.addScores(s);
  });
  const n = predictions.length;
  const mean: RougeScores = {};
  for (const [type, sum] of sums) mean[type] = { precision: sum.precision / n, recall: sum.recall / n, fmeasure: sum.fmeasure / n };
  return { mean, ...(aggregator ? { bootstrap: aggregator.aggregate() } : {}), pairs: n, useStemmer: scorer.useStemmer };
}

/** A one-line report: `ROUGE (rouge-score, no stemmer, mean F of 12 pairs x 100): rouge1 45.10 rouge2 20.31 rougeL 40.00`. */
export function formatRouge(s: RougeCorpusScore, width = 2): string {
  const parts = Object.entries(s.mean).map(([type, x]) => `${type} ${(100 * x!.fmeasure).toFixed(width)}`);
  return `ROUGE (rouge-score, ${s.useStemmer ? 'Porter stemmer' : 'no stemmer'}, mean F of ${s.pairs} pairs x 100): ${parts.join(' ')}`;
}
