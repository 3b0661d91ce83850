// The count-based baseline of the NNLM: an interpolated Kneser-Ney n-gram LM over a closed word vocabulary
// (out-of-vocabulary words are `<unk>`, a word like any other), trained on the n-gram windows of text/word-lm.ts.
//
// Two discounting schemes share the counts:
//   'modified'  Chen & Goodman's modified KN as KenLM's lmplz estimates it: three discounts per order (D1, D2, D3+)
//               from the count-of-counts of the adjusted counts, n-grams that begin with `<s>` keep their raw counts
//               (they cannot be extended to the left), and the unigrams interpolate with the uniform distribution
//               over the predictable words (all but `<s>`), so every word has a probability.
//   a number d  one absolute discount at every order, with NLTK's KneserNeyInterpolated formulas exactly: raw counts
//               at the top order, continuation counts below, γ = d·(distinct followers of h)/total, undiscounted
//               continuation unigrams (a word never seen after another has probability 0).
// In both, P_k(w | h) = max(a(hw) − D, 0)/Σ_v a(hv) + γ(h)·P_{k−1}(w | h'), and a context h never seen at order k
// hands over to order k − 1 whole. Adjusted counts a are raw counts at the top order and, below it, the number of
// distinct words seen before the n-gram (N1+(• hw)).
//
// References: Kneser & Ney 1995; Chen & Goodman 1998, "An Empirical Study of Smoothing Techniques for Language
// Modeling"; Heafield et al. 2013, "Scalable Modified Kneser-Ney Language Model Estimation" (KenLM); nltk.lm.
import { BOS, type NgramWindows } from '../text/word-lm.js';

/** How counts are discounted; see the file comment. */
export type KneserNeyDiscount = 'modified' | number;

/** Options of `KneserNey.train`. */
export interface KneserNeyOptions {
  /** n: the model conditions on the n − 1 previous words. At most the windows' order. */
  order: number;
  discount?: KneserNeyDiscount;
}

/** Discounts per order, lowest first: [D1, D2, D3+] (one value thrice for a fixed discount). */
export interface OrderDiscounts {
  order: number;
  discounts: [number, number, number];
  /** True when the count-of-counts could not give modified discounts (too little data) and KenLM's fallback 0.5, 1, 1.5 was used. */
  fallback: boolean;
}

/** Per-context statistics at one order: total adjusted count, distinct followers, and followers with adjusted count 1, 2 and 3+. */
interface ContextStats {
  index: Map<string, number>;
  total: Float64Array;
  types: Float64Array;
  n1: Float64Array;
  n2: Float64Array;
  n3: Float64Array;
}

const FALLBACK: [number, number, number] = [0.5, 1, 1.5];

/** An n-gram key: one UTF-16 unit per word id (the vocabulary is limited to 65,536 words). */
const key = (ids: ArrayLike<number>, from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(ids[i]!);
  return s;
};

/** A trained interpolated Kneser-Ney LM. */
export class KneserNey {
  private constructor(
    readonly order: number,
    readonly discount: KneserNeyDiscount,
    readonly vocabSize: number,
    private readonly bos: number,
    /** Adjusted counts per order (index k − 1). */
    private readonly adjusted: Map<string, number>[],
    private readonly contexts: ContextStats[],
    readonly discounts: OrderDiscounts[],
  ) {}

  /** Counts the windows' n-grams (each window contributes its suffixes of every order up to n) and estimates the model. */
  static train(windows: NgramWindows, vocab: { size: number; id(word: string): number }, opts: KneserNeyOptions): KneserNey {
    const n = opts.order;
    const discount = opts.discount ?? 'modified';
    if (!(Number.isInteger(n) && n >= 1 && n <= windows.order)) throw new RangeError(`KneserNey: order must be an integer in [1, ${windows.order}] (the windows' order), got ${n}`);
    if (typeof discount === 'number' && !(discount > 0 && discount < 1)) throw new RangeError(`KneserNey: a fixed discount must be in (0, 1), got ${discount}`);
    if (vocab.size > 65536) throw new RangeError(`KneserNey: the vocabulary has ${vocab.size} words; at most 65,536 are supported`);
    const width = windows.order - 1;
    const bos = vocab.id(BOS);
    // raw counts of each order's n-grams: the suffixes of the windows
    const raw = Array.from({ length: n }, () => new Map<string, number>());
    const gram = new Int32Array(n);
    for (let i = 0; i < windows.count; i++) {
      for (let j = 0; j < n - 1; j++) gram[j] = windows.contexts[i * width + width - (n - 1) + j]!;
      gram[n - 1] = windows.targets[i]!;
      for (let k = 1; k <= n; k++) {
        const g = key(gram, n - k, n);
        raw[k - 1]!.set(g, (raw[k - 1]!.get(g) ?? 0) + 1);
      }
    }
    const modified = discount === 'modified';
    const bosChar = String.fromCharCode(bos);
    const adjusted = raw.map((counts, k) => {
      if (k === n - 1) return counts;
      const a = new Map<string, number>();
      for (const g of raw[k + 1]!.keys()) {
        const suffix = g.slice(1);
        a.set(suffix, (a.get(suffix) ?? 0) + 1);
      }
      if (modified) for (const [g, c] of counts) if (g[0] === bosChar) a.set(g, c);
      return a;
    });
    const discounts = adjusted.map((counts, k): OrderDiscounts => {
      if (!modified) return { order: k + 1, discounts: [discount, discount, discount], fallback: false };
      const nOf = [0, 0, 0, 0, 0];
      for (const c of counts.values()) if (c <= 4) nOf[c]!++;
      const [, n1, n2, n3, n4] = nOf as [number, number, number, number, number];
      const y = n1 / (n1 + 2 * n2);
      const d: [number, number, number] = [1 - 2 * y * (n2 / n1), 2 - 3 * y * (n3 / n2), 3 - 4 * y * (n4 / n3)];
      const ok = d.every((x, j) => Number.isFinite(x) && x > 0 && x < j + 2);
      return { order: k + 1, discounts: ok ? d : FALLBACK, fallback: !ok };
    });
    const contexts = adjusted.map((counts, k): ContextStats => {
      const index = new Map<string, number>();
      for (const g of counts.keys()) {
        const h = g.slice(0, -1);
        if (!index.has(h)) index.set(h, index.size);
      }
      const size = index.size;
      const stats: ContextStats = { index, total: new Float64Array(size), types: new Float64Array(size), n1: new Float64Array(size), n2: new Float64Array(size), n3: new Float64Array(size) };
      for (const [g, c] of counts) {
        const at = index.get(g.slice(0, -1))!;
        stats.total[at] += c;
        stats.types[at]++;
        if (c === 1) stats.n1[at]++;
        else if (c === 2) stats.n2[at]++;
        else stats.n3[at]++;
      }
      // NLTK's γ counts the distinct followers in the raw counts, which below the top order can exceed the adjusted ones
      if (!modified && k < n - 1) {
        stats.types.fill(0);
        for (const g of raw[k]!.keys()) {
          const at = index.get(g.slice(0, -1));
          if (at !== undefined) stats.types[at]++;
        }
      }
      return stats;
    });
    return new KneserNey(n, discount, vocab.size, bos, adjusted, contexts, discounts);
  }

  /** P(word | context), the context's last n − 1 ids used (oldest first; fewer are padded with `<s>`). */
  probability(word: number, context: ArrayLike<number>): number {
    const n = this.order;
    const gram = new Array<number>(n).fill(this.bos);
    for (let j = 0; j < Math.min(n - 1, context.length); j++) gram[n - 2 - j] = context[context.length - 1 - j]!;
    gram[n - 1] = word;
    const modified = this.discount === 'modified';
    let p = 0;
    for (let k = 1; k <= n; k++) {
      const stats = this.contexts[k - 1]!;
      const h = key(gram, n - k, n - 1);
      const at = stats.index.get(h);
      const lower = k === 1 ? (modified ? 1 / (this.vocabSize - 1) : 0) : p;
      if (at === undefined || stats.total[at] === 0) { p = lower; continue; }
      const total = stats.total[at]!;
      const c = this.adjusted[k - 1]!.get(h + String.fromCharCode(word)) ?? 0;
      const [d1, d2, d3] = this.discounts[k - 1]!.discounts;
      if (!modified && k === 1) { p = c / total; continue; }
      const d = c === 0 ? 0 : c === 1 ? d1 : c === 2 ? d2 : d3;
      const gamma = modified ? (d1 * stats.n1[at]! + d2 * stats.n2[at]! + d3 * stats.n3[at]!) / total : d1 * stats.types[at]! / total;
      p = Math.max(c - d, 0) / total + gamma * lower;
    }
    return p;
  }

  /** The natural log-probability of each window's target given its context. */
  logProbabilities(windows: NgramWindows): Float64Array {
    const width = windows.order - 1;
    const out = new Float64Array(windows.count);
    for (let i = 0; i < windows.count; i++) {
      out[i] = Math.log(this.probability(windows.targets[i]!, windows.contexts.subarray(i * width, (i + 1) * width)));
    }
    return out;
  }

  /** Distinct n-grams per order, lowest first. */
  get ngramCounts(): number[] { return this.adjusted.map((m) => m.size); }
}

/** Mean negative log-likelihood and perplexity of log-probabilities (one per predicted token). */
export function perplexityOf(logProbs: ArrayLike<number>): { tokens: number; loss: number; perplexity: number } {
  let sum = 0;
  for (let i = 0; i < logProbs.length; i++) sum -= logProbs[i]!;
  const loss = sum / logProbs.length;
  return { tokens: logProbs.length, loss, perplexity: Math.exp(loss) };
}
