// Read-only word vectors with gensim KeyedVectors semantics: similarity queries, analogies and the standard evaluations.
import { fsp } from '../platform/node.js';
import { readWord2Vec, readVectorsSafetensors, type WordVectorsData } from '../io/word2vec-format.js';

/** One (word, score) answer of a similarity query. */
export type Scored = [word: string, score: number];

/** Options of most_similar. */
export interface MostSimilarOptions {
  positive?: string[];
  negative?: string[];
  topn?: number;
  /** Only the first N words (most frequent, in file order) are candidates. */
  restrictVocab?: number;
}

/** One section of an analogy evaluation. */
export interface AnalogySection {
  section: string;
  correct: number;
  incorrect: number;
  accuracy: number;
}

/** Result of evaluateWordAnalogies (gensim's evaluate_word_analogies). */
export interface AnalogyEvaluation {
  /** correct / answered over all sections. */
  accuracy: number;
  answered: number;
  /** Questions skipped because a word is outside the restricted vocabulary. */
  skipped: number;
  sections: AnalogySection[];
}

/** Result of evaluateWordPairs (gensim's evaluate_word_pairs). */
export interface PairsEvaluation {
  pearson: number;
  spearman: number;
  /** Percentage of pairs with an out-of-vocabulary word. */
  oovPercent: number;
  pairs: number;
}

/** Word vectors with lookups and evaluation, like gensim's KeyedVectors (read-only). */
export class WordVectors {
  readonly words: string[];
  readonly dim: number;
  readonly vectors: Float32Array;
  readonly counts: number[] | undefined;
  /** What the file held past its header's count, which was not loaded (see WordVectorsData.beyondHeader). */
  readonly beyondHeader: WordVectorsData['beyondHeader'];
  private readonly index = new Map<string, number>();
  private normed: Float32Array | undefined;

  constructor(data: WordVectorsData) {
    if (data.vectors.length !== data.words.length * data.dim) throw new Error(`WordVectors: ${data.vectors.length} values for ${data.words.length} × ${data.dim}`);
    this.words = data.words;
    this.dim = data.dim;
    this.vectors = data.vectors;
    this.counts = data.counts;
    this.beyondHeader = data.beyondHeader;
    // the first occurrence wins, as in gensim's load (later duplicates would be unreachable there too)
    data.words.forEach((w, i) => { if (!this.index.has(w)) this.index.set(w, i); });
  }

  /** Loads word2vec binary/text (by extension: .txt/.vec are text) or safetensors (.safetensors). */
  static async load(path: string, opts: { binary?: boolean } = {}): Promise<WordVectors> {
    if (path.endsWith('.safetensors')) return new WordVectors(await readVectorsSafetensors(path));
    return new WordVectors(await readWord2Vec(path, opts.binary));
  }

  /** Number of words. */
  get size(): number { return this.words.length; }

  /** Whether the word has a vector. */
  has(word: string): boolean { return this.index.has(word); }

  /** Row index of a word (throws for an unknown word, naming it). */
  indexOf(word: string): number {
    const i = this.index.get(word);
    if (i === undefined) throw new Error(`word ${JSON.stringify(word)} not in vocabulary`);
    return i;
  }

  /** The raw vector of a word (a view, do not modify). */
  get(word: string): Float32Array {
    const i = this.indexOf(word);
    return this.vectors.subarray(i * this.dim, (i + 1) * this.dim);
  }

  /** Unit-length rows, computed once. */
  private unit(): Float32Array {
    if (!this.normed) {
      const d = this.dim;
      const out = new Float32Array(this.vectors.length);
      for (let i = 0; i < this.words.length; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += this.vectors[i * d + j]! ** 2;
        const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
        for (let j = 0; j < d; j++) out[i * d + j] = this.vectors[i * d + j]! * inv;
      }
      this.normed = out;
    }
    return this.normed;
  }

  private unitRow(i: number): Float32Array { return this.unit().subarray(i * this.dim, (i + 1) * this.dim); }

  /** Cosine similarity of two words. */
  similarity(a: string, b: string): number {
    const u = this.unitRow(this.indexOf(a));
    const v = this.unitRow(this.indexOf(b));
    let s = 0;
    for (let j = 0; j < this.dim; j++) s += u[j]! * v[j]!;
    return s;
  }

  /** Dot products of a query vector with every unit row among the first `limit`. */
  private scores(query: Float32Array, limit: number): Float32Array {
    const n = Math.min(limit, this.words.length);
    const d = this.dim;
    const unit = this.unit();
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const o = i * d;
      for (let j = 0; j < d; j++) s += unit[o + j]! * query[j]!;
      out[i] = s;
    }
    return out;
  }

  /** The topn highest scores, skipping the given row indices. */
  private static top(scores: Float32Array, topn: number, skip: Set<number>, words: string[]): Scored[] {
    const order = Array.from(scores.keys()).filter((i) => !skip.has(i));
    order.sort((x, y) => scores[y]! - scores[x]! || x - y);
    return order.slice(0, topn).map((i) => [words[i]!, scores[i]!]);
  }

  /** Words closest to mean(unit(positive)) − mean(unit(negative)) by cosine, as gensim's most_similar (3CosAdd). */
  mostSimilar(opts: MostSimilarOptions | string): Scored[] {
    const o = typeof opts === 'string' ? { positive: [opts] } : opts;
    const pos = o.positive ?? [];
    const neg = o.negative ?? [];
    if (pos.length + neg.length === 0) throw new Error('mostSimilar: give at least one positive or negative word');
    const mean = new Float32Array(this.dim);
    const skip = new Set<number>();
    for (const [list, w] of [[pos, 1], [neg, -1]] as const) {
      for (const word of list) {
        const i = this.indexOf(word);
        skip.add(i);
        const u = this.unitRow(i);
        for (let j = 0; j < this.dim; j++) mean[j]! += w * u[j]!;
      }
    }
    let s = 0;
    for (let j = 0; j < this.dim; j++) s += mean[j]! * mean[j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < this.dim; j++) mean[j]! *= inv;
    return WordVectors.top(this.scores(mean, o.restrictVocab ?? Infinity), o.topn ?? 10, skip, this.words);
  }

  /** 3CosMul (Levy & Goldberg 2014), as gensim's most_similar_cosmul: prod((1+cos)/2 of positives) / (prod over negatives + 1e-6). */
  mostSimilarCosmul(opts: MostSimilarOptions): Scored[] {
    const pos = opts.positive ?? [];
    const neg = opts.negative ?? [];
    if (pos.length + neg.length === 0) throw new Error('mostSimilarCosmul: give at least one positive or negative word');
    const limit = opts.restrictVocab ?? Infinity;
    const skip = new Set<number>();
    const sims = (words: string[]) => words.map((w) => {
      const i = this.indexOf(w);
      skip.add(i);
      return this.scores(this.unitRow(i), limit);
    });
    const p = sims(pos);
    const q = sims(neg);
    const n = Math.min(limit, this.words.length);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let num = 1;
      let den = 1;
      for (const s of p) num *= (1 + s[i]!) / 2;
      for (const s of q) den *= (1 + s[i]!) / 2;
      out[i] = num / (den + 1e-6);
    }
    return WordVectors.top(out, opts.topn ?? 10, skip, this.words);
  }

  /** Answer to "a is to b as c is to ?" by 3CosAdd (default) or 3CosMul. */
  analogy(a: string, b: string, c: string, opts: { method?: '3cosadd' | '3cosmul'; topn?: number; restrictVocab?: number } = {}): Scored[] {
    const q = { positive: [b, c], negative: [a], topn: opts.topn ?? 1, ...(opts.restrictVocab !== undefined ? { restrictVocab: opts.restrictVocab } : {}) };
    return opts.method === '3cosmul' ? this.mostSimilarCosmul(q) : this.mostSimilar(q);
  }

  /** The word farthest from the mean of the (known) words, as gensim's doesnt_match. */
  doesntMatch(words: string[]): string {
    const used = words.filter((w) => this.has(w));
    if (used.length === 0) throw new Error('doesntMatch: none of the words is in the vocabulary');
    const mean = new Float32Array(this.dim);
    for (const w of used) {
      const u = this.unitRow(this.indexOf(w));
      for (let j = 0; j < this.dim; j++) mean[j]! += u[j]! / used.length;
    }
    let s = 0;
    for (let j = 0; j < this.dim; j++) s += mean[j]! * mean[j]!;
    for (let j = 0; j < this.dim; j++) mean[j]! /= Math.sqrt(s) || 1;
    let worst = used[0]!;
    let min = Infinity;
    for (const w of used) {
      const u = this.unitRow(this.indexOf(w));
      let d = 0;
      for (let j = 0; j < this.dim; j++) d += u[j]! * mean[j]!;
      if (d < min) { min = d; worst = w; }
    }
    return worst;
  }

  /** Upper-cased (or exact) word → row for the first `restrict` words; the more frequent spelling wins, as in gensim. */
  private okVocab(restrict: number, caseInsensitive: boolean): Map<string, number> {
    const m = new Map<string, number>();
    const n = Math.min(restrict, this.words.length);
    for (let i = n - 1; i >= 0; i--) m.set(caseInsensitive ? this.words[i]!.toUpperCase() : this.words[i]!, i);
    return m;
  }

  /** Analogy accuracy on a questions-words file (`: section` lines), with gensim's evaluate_word_analogies semantics. */
  async evaluateWordAnalogies(path: string, opts: { restrictVocab?: number; caseInsensitive?: boolean } = {}): Promise<AnalogyEvaluation> {
    return this.evaluateAnalogyText(await fsp.readFile(path, 'utf8'), path, opts);
  }

  /** evaluateWordAnalogies on file contents already read. */
  evaluateAnalogyText(text: string, where: string, opts: { restrictVocab?: number; caseInsensitive?: boolean } = {}): AnalogyEvaluation {
    const restrict = opts.restrictVocab ?? 300000;
    const ci = opts.caseInsensitive ?? true;
    const ok = this.okVocab(restrict, ci);
    const sections: AnalogySection[] = [];
    let current: AnalogySection | undefined;
    let skipped = 0;
    const d = this.dim;
    const query = new Float32Array(d);
    text.split('\n').forEach((raw, lineNo) => {
      const line = raw.trim();
      if (line === '') return;
      if (line.startsWith(':')) {
        current = { section: line.slice(1).trim(), correct: 0, incorrect: 0, accuracy: 0 };
        sections.push(current);
        return;
      }
      if (!current) throw new Error(`${where}:${lineNo + 1}: analogy question before the first ": section" line`);
      const parts = line.split(/\s+/).map((w) => (ci ? w.toUpperCase() : w));
      if (parts.length !== 4) throw new Error(`${where}:${lineNo + 1}: expected 4 words, got ${parts.length}`);
      const ids = parts.map((w) => ok.get(w));
      if (ids.some((i) => i === undefined)) { skipped++; return; }
      const [a, b, c] = ids as number[];
      query.fill(0);
      for (const [i, w] of [[b!, 1], [c!, 1], [a!, -1]] as const) {
        const u = this.unitRow(i);
        for (let j = 0; j < d; j++) query[j]! += w * u[j]!;
      }
      // the best candidate whose (upper-cased) form is none of the question words, as gensim
      const question = new Set(parts.slice(0, 3));
      const s = this.scores(query, restrict);
      let best = -1;
      for (let i = 0; i < s.length; i++) {
        if (best >= 0 && s[i]! <= s[best]!) continue;
        if (question.has(ci ? this.words[i]!.toUpperCase() : this.words[i]!)) continue;
        best = i;
      }
      const predicted = best >= 0 ? (ci ? this.words[best]!.toUpperCase() : this.words[best]!) : undefined;
      if (predicted === parts[3]) current.correct++;
      else current.incorrect++;
    });
    let correct = 0;
    let answered = 0;
    for (const s of sections) {
      const n = s.correct + s.incorrect;
      s.accuracy = n > 0 ? s.correct / n : 0;
      correct += s.correct;
      answered += n;
    }
    return { accuracy: answered > 0 ? correct / answered : 0, answered, skipped, sections };
  }

  /** Correlation with human similarity judgements (`word1<TAB>word2<TAB>score` lines, # comments), as gensim's evaluate_word_pairs. */
  async evaluateWordPairs(path: string, opts: { restrictVocab?: number; caseInsensitive?: boolean; delimiter?: string } = {}): Promise<PairsEvaluation> {
    return this.evaluatePairsText(await fsp.readFile(path, 'utf8'), path, opts);
  }

  /** evaluateWordPairs on file contents already read. */
  evaluatePairsText(text: string, where: string, opts: { restrictVocab?: number; caseInsensitive?: boolean; delimiter?: string } = {}): PairsEvaluation {
    const ci = opts.caseInsensitive ?? true;
    const ok = this.okVocab(opts.restrictVocab ?? 300000, ci);
    const gold: number[] = [];
    const model: number[] = [];
    let oov = 0;
    text.split('\n').forEach((raw, lineNo) => {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '' || line.startsWith('#')) return;
      // gensim splits on the delimiter (tab); files separated by spaces are accepted too
      const parts = opts.delimiter !== undefined || line.includes('\t') ? line.split(opts.delimiter ?? '\t') : line.trim().split(/\s+/);
      const score = Number(parts[2]?.trim());
      if (parts.length !== 3 || parts[2]!.trim() === '' || Number.isNaN(score)) throw new Error(`${where}:${lineNo + 1}: expected "word1<TAB>word2<TAB>score"`);
      const ia = ok.get(ci ? parts[0]!.toUpperCase() : parts[0]!);
      const ib = ok.get(ci ? parts[1]!.toUpperCase() : parts[1]!);
      if (ia === undefined || ib === undefined) { oov++; return; }
      let s = 0;
      const u = this.unitRow(ia);
      const v = this.unitRow(ib);
      for (let j = 0; j < this.dim; j++) s += u[j]! * v[j]!;
      gold.push(score);
      model.push(s);
    });
    const total = gold.length + oov;
    return { pearson: pearson(gold, model), spearman: spearman(gold, model), oovPercent: total > 0 ? (100 * oov) / total : 0, pairs: gold.length };
  }
}

/** Pearson correlation (NaN for fewer than 2 points or a constant series, as scipy). */
export function pearson(x: number[], y: number[]): number {
  const n = x.length;
  if (n < 2) return NaN;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Ranks with ties averaged (1-based), as scipy.stats.rankdata. */
export function rankdata(x: number[]): number[] {
  const order = x.map((_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const ranks = new Array<number>(x.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]!] === x[order[i]!]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/** Spearman rank correlation (Pearson of tie-averaged ranks, as scipy.stats.spearmanr). */
export function spearman(x: number[], y: number[]): number {
  return pearson(rankdata(x), rankdata(y));
}
