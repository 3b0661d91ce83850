// chrF (Popović 2015) and chrF++ (Popović 2017) with sacrebleu 2.x's semantics, so that a score here is the score
// sacrebleu prints: character n-grams of orders 1..6 with whitespace removed (kept with `whitespace`), word n-grams
// of orders 1..word order over words with a leading or trailing punctuation mark split off (chrF++: word order 2),
// statistics summed over the corpus, the reference with the best F chosen per segment, and the F-beta (beta 2) of the
// precision and recall averaged over the orders that have n-grams on both sides (sacrebleu's default); or, with
// epsSmoothing, the F-beta of every order averaged with 1e-16 for the empty ones (chrF++.py, Moses and NLTK).
//
// Reference: sacrebleu's sacrebleu/metrics/chrf.py and metrics/helpers.py (github mjpost/sacrebleu, 2.6.0);
// test/tasks/chrf.test.ts checks its own tests' values and NLTK's sentence_chrf.
import { SACREBLEU_VERSION, pyFixed, pySplit } from './bleu.js';

/** Options of chrF, with sacrebleu's names and defaults. */
export interface ChrfOptions {
  /** Character n-gram order. Default 6. */
  charOrder?: number;
  /** Word n-gram order: 0 is chrF, 2 is chrF++. Default 0. */
  wordOrder?: number;
  /** Recall is beta times as important as precision. Default 2. */
  beta?: number;
  /** Lowercase hypotheses and references first. Default false. */
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams. Default false. */
  whitespace?: boolean;
  /** chrF++.py's smoothing (every order averaged, 1e-16 for empty ones) instead of the effective order. Default false. */
  epsSmoothing?: boolean;
}

/** A chrF score with sacrebleu CHRFScore's fields. */
export interface ChrfScore {
  /** In [0, 100]. */
  score: number;
  /** `chrF2`, or `chrF2++` with word order 2 (a + per word order). */
  name: string;
  char_order: number;
  word_order: number;
  beta: number;
  /** sacrebleu's signature, e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`. */
  signature: string;
}

/** n-gram counts of one order. */
type Counts = Map<string, number>;

/** Counts of the character n-grams of orders 1..maxOrder (over code points, as Python's strings). */
function charNgrams(line: string, maxOrder: number, whitespace: boolean): Counts[] {
  const chars = [...(whitespace ? line : pySplit(line).join(''))];
  return Array.from({ length: maxOrder }, (_, k) => {
    const n = k + 1, counts: Counts = new Map();
    for (let i = 0; i + n <= chars.length; i++) {
      const g = chars.slice(i, i + n).join('');
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
    return counts;
  });
}

/** Counts of the word n-grams of order n, keyed by the words joined by spaces. */
function wordNgrams(words: readonly string[], n: number): Counts {
  const counts: Counts = new Map();
  for (let i = 0; i + n <= words.length; i++) {
    const g = words.slice(i, i + n).join(' ');
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  return counts;
}

const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** chrF++'s words: whitespace-split, a final (else an initial) punctuation mark of a longer word split off. */
export function chrfWords(line: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(line)) {
    const chars = [...w];
    // as sacrebleu: '(hi)' splits into '(hi' and ')' (its issue #124)
    if (chars.length === 1) out.push(w);
    else if (PUNCTUATION.has(chars.at(-1)!)) out.push(chars.slice(0, -1).join(''), chars.at(-1)!);
    else if (PUNCTUATION.has(chars[0]!)) out.push(chars[0]!, chars.slice(1).join(''));
    else out.push(w);
  }
  return out;
}

function checkOrder(name: string, value: number, min: number): void {
  if (!(Number.isInteger(value) && value >= min)) throw new RangeError(`chrF: ${name} must be an integer >= ${min}, got ${value}`);
}

/** sacrebleu's CHRF metric with fixed options: `corpusScore`, `sentenceScore`, and `signature` of the last score. */
export class CHRF {
  readonly charOrder: number;
  readonly wordOrder: number;
  readonly beta: number;
  readonly lowercase: boolean;
  readonly whitespace: boolean;
  readonly epsSmoothing: boolean;
  private numRefs: number | 'var' | null = null;

  constructor(opts: ChrfOptions = {}) {
    this.charOrder = opts.charOrder ?? 6;
    this.wordOrder = opts.wordOrder ?? 0;
    this.beta = opts.beta ?? 2;
    checkOrder('charOrder', this.charOrder, 0);
    checkOrder('wordOrder', this.wordOrder, 0);
    if (this.charOrder + this.wordOrder === 0) throw new RangeError('chrF: charOrder and wordOrder cannot both be 0');
    if (!(Number.isFinite(this.beta) && this.beta >= 0)) throw new RangeError(`chrF: beta must be a non-negative number, got ${this.beta}`);
    this.lowercase = opts.lowercase ?? false;
    this.whitespace = opts.whitespace ?? false;
    this.epsSmoothing = opts.epsSmoothing ?? false;
  }

  /** The n-gram counts of every order of a segment: characters first, then words. */
  private ngrams(line: string): Counts[] {
    const s = this.lowercase ? line.toLowerCase() : line;
    const all = charNgrams(s, this.charOrder, this.whitespace);
    if (this.wordOrder > 0) {
      const words = chrfWords(s);
      for (let n = 1; n <= this.wordOrder; n++) all.push(wordNgrams(words, n));
    }
    return all;
  }

  /** [hyp, ref, match] counts per order (sacrebleu's _get_match_statistics: no hypothesis count without a reference n-gram). */
  private static matchStatistics(hyp: readonly Counts[], ref: readonly Counts[]): number[] {
    return hyp.flatMap((h, k) => {
      const r = ref[k]!;
      let hypCount = 0, match = 0, refCount = 0;
      for (const [g, c] of h) { hypCount += c; match += Math.min(c, r.get(g) ?? 0); }
      for (const c of r.values()) refCount += c;
      return [r.size > 0 ? hypCount : 0, refCount, match];
    });
  }

  /** The F-beta score in [0, 100] of statistics [hyp, ref, match] per order (sacrebleu's _compute_f_score). */
  fScore(stats: readonly number[]): number {
    const eps = 1e-16, factor = this.beta ** 2, order = this.charOrder + this.wordOrder;
    let sum = 0, effective = 0, avgPrec = 0, avgRec = 0;
    for (let i = 0; i < order; i++) {
      const [nHyp, nRef, nMatch] = [stats[3 * i]!, stats[3 * i + 1]!, stats[3 * i + 2]!];
      const prec = nHyp > 0 ? nMatch / nHyp : eps, rec = nRef > 0 ? nMatch / nRef : eps;
      const denom = factor * prec + rec;
      sum += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
      if (nHyp > 0 && nRef > 0) { avgPrec += prec; avgRec += rec; effective++; }
    }
    if (this.epsSmoothing) return (100 * sum) / order;
    if (effective === 0) return 0;
    avgPrec /= effective;
    avgRec /= effective;
    return avgPrec + avgRec ? (100 * (1 + factor) * avgPrec * avgRec) / (factor * avgPrec + avgRec) : 0;
  }

  /**
   * Corpus chrF: `references` is a list of reference streams parallel to `hypotheses` (sacrebleu's layout); a null
   * reference is absent for that segment. Statistics are summed over segments, each against its best reference.
   */
  corpusScore(hypotheses: readonly string[], references: readonly (readonly (string | null)[])[]): ChrfScore {
    if (hypotheses.length === 0) throw new Error('chrF: no hypotheses to score');
    if (references.length === 0) throw new Error('chrF: no reference streams');
    references.forEach((stream, k) => {
      if (stream.length !== hypotheses.length) throw new RangeError(`chrF: reference stream ${k + 1} has ${stream.length} segments but there are ${hypotheses.length} hypotheses`);
    });
    const total = new Array<number>(3 * (this.charOrder + this.wordOrder)).fill(0);
    const refCounts = new Set<number>();
    hypotheses.forEach((hyp, i) => {
      if (typeof hyp !== 'string') throw new TypeError(`chrF: hypothesis ${i + 1} is not a string`);
      const refs = references.map((s) => s[i]).filter((r): r is string => r !== null && r !== undefined);
      refCounts.add(refs.length);
      const h = this.ngrams(hyp);
      let best: number[] = [], bestF = -1;
      for (const ref of refs) {
        const stats = CHRF.matchStatistics(h, this.ngrams(ref));
        const f = this.fScore(stats);
        if (f > bestF) { bestF = f; best = stats; }
      }
      best.forEach((v, k) => { total[k]! += v; });
    });
    this.numRefs = refCounts.size === 1 ? [...refCounts][0]! : 'var';
    return {
      score: this.fScore(total), name: `chrF${this.beta}${'+'.repeat(this.wordOrder)}`, char_order: this.charOrder, word_order: this.wordOrder,
      beta: this.beta, signature: this.signature(),
    };
  }

  /** Sentence chrF of one hypothesis against its references. */
  sentenceScore(hypothesis: string, references: readonly string[]): ChrfScore {
    return this.corpusScore([hypothesis], references.map((r) => [r]));
  }

  /** sacrebleu's signature of the options and of the references last scored. */
  signature(): string {
    if (this.numRefs === null) throw new Error('chrF: the signature names the number of references; score something first');
    return `nrefs:${this.numRefs}|case:${this.lowercase ? 'lc' : 'mixed'}|eff:${this.epsSmoothing ? 'no' : 'yes'}|nc:${this.charOrder}|nw:${this.wordOrder}` +
      `|space:${this.whitespace ? 'yes' : 'no'}|version:${SACREBLEU_VERSION}`;
  }
}

/** Corpus chrF, sacrebleu's `corpus_chrf` (chrF2: character order 6, no word n-grams, effective order). */
export function corpusChrf(hypotheses: readonly string[], references: readonly (readonly (string | null)[])[], opts: ChrfOptions = {}): ChrfScore {
  return new CHRF(opts).corpusScore(hypotheses, references);
}

/** Sentence chrF, sacrebleu's `sentence_chrf`. */
export function sentenceChrf(hypothesis: string, references: readonly string[], opts: ChrfOptions = {}): ChrfScore {
  return new CHRF(opts).sentenceScore(hypothesis, references);
}

/** sacrebleu's score line: `chrF2|<signature> = 59.73`, the score with `width` decimals. */
export function formatChrf(s: ChrfScore, width = 2): string {
  return `${s.name}|${s.signature} = ${pyFixed(s.score, width)}`;
}
