// The word2vec vocabulary as gensim builds it: counts with max_vocab_size pruning, min_count, frequency order,
// subsampling thresholds, the unigram^0.75 negative-sampling table and the Huffman tree for hierarchical softmax.

/** A trained vocabulary: words by descending count, and the per-word tables the trainers need. */
export interface Vocab {
  words: string[];
  counts: number[];
  index: Map<string, number>;
  /** Words in the corpus that are in the vocabulary (the total that drives alpha decay and words/s). */
  totalWords: number;
  /** Keep probability × 2^32 per word (word2vec.c's subsampling formula); 2^32 means always kept. */
  sampleInt: Float64Array;
}

/** Counts words with gensim's max_vocab_size pruning (each time the table outgrows it, drop counts < min_reduce, then raise min_reduce). */
export class VocabCounter {
  readonly counts = new Map<string, number>();
  private minReduce = 1;
  /** Raw words seen. */
  total = 0;

  constructor(private readonly maxVocabSize = Infinity) {}

  /** Adds one sentence. */
  add(sentence: string[]): void {
    for (const w of sentence) this.counts.set(w, (this.counts.get(w) ?? 0) + 1);
    this.total += sentence.length;
    // gensim prunes after each sentence
    if (this.counts.size > this.maxVocabSize) {
      for (const [w, c] of this.counts) if (c < this.minReduce) this.counts.delete(w);
      this.minReduce++;
    }
  }

  /** The vocabulary: words with count >= minCount, most frequent first (ties keep first-seen order). */
  build(minCount: number, sample: number): Vocab {
    const kept = [...this.counts].filter(([, c]) => c >= minCount);
    kept.sort((a, b) => b[1] - a[1]);
    const words = kept.map(([w]) => w);
    const counts = kept.map(([, c]) => c);
    const totalWords = counts.reduce((s, c) => s + c, 0);
    return { words, counts, index: new Map(words.map((w, i) => [w, i])), totalWords, sampleInt: sampleThresholds(counts, sample, totalWords) };
  }
}

/** Keep probabilities × 2^32: (sqrt(f/(sample·total)) + 1) · (sample·total)/f, capped at 1; sample >= 1 is an absolute count, as gensim. */
export function sampleThresholds(counts: number[], sample: number, total: number): Float64Array {
  const out = new Float64Array(counts.length);
  const threshold = sample <= 0 ? 0 : sample < 1 ? sample * total : sample;
  counts.forEach((c, i) => {
    const p = threshold === 0 ? 1 : Math.min(1, (Math.sqrt(c / threshold) + 1) * (threshold / c));
    out[i] = Math.round(p * 2 ** 32);
  });
  return out;
}

/** gensim's cumulative unigram^power table over a 2^31−1 domain; a negative is bisect_left(table, r mod table[last]). */
export function cumulativeTable(counts: number[], power = 0.75): Uint32Array {
  const domain = 2 ** 31 - 1;
  const total = counts.reduce((s, c) => s + c ** power, 0);
  const table = new Uint32Array(counts.length);
  let cum = 0;
  counts.forEach((c, i) => {
    cum += c ** power;
    table[i] = Math.round((cum / total) * domain);
  });
  return table;
}

/** Huffman codes and inner-node paths per word (word2vec.c's CreateBinaryTree; points index syn1 rows). */
export interface Huffman {
  /** codes[w]: bits from the root down, 0/1. */
  codes: Uint8Array[];
  /** points[w]: inner nodes (0..V−2) from the root down. */
  points: Int32Array[];
}

/** Builds the Huffman tree of word counts (counts sorted descending, as word2vec.c requires). */
export function huffman(counts: number[]): Huffman {
  const v = counts.length;
  if (v < 2) return { codes: counts.map(() => new Uint8Array(0)), points: counts.map(() => new Int32Array(0)) };
  const count = new Float64Array(2 * v - 1).fill(Infinity);
  counts.forEach((c, i) => (count[i] = c));
  const binary = new Uint8Array(2 * v - 1);
  const parent = new Int32Array(2 * v - 1);
  // two cursors: leaves from the rarest upward, inner nodes in creation order (both ascending; uncreated ones are ∞)
  let pos1 = v - 1;
  let pos2 = v;
  const pick = () => (pos1 >= 0 && count[pos1]! < count[pos2]! ? pos1-- : pos2++);
  for (let a = 0; a < v - 1; a++) {
    const min1 = pick();
    const min2 = pick();
    count[v + a] = count[min1]! + count[min2]!;
    parent[min1] = v + a;
    parent[min2] = v + a;
    binary[min2] = 1;
  }
  const root = 2 * v - 2;
  const codes: Uint8Array[] = [];
  const points: Int32Array[] = [];
  for (let w = 0; w < v; w++) {
    const code: number[] = [];
    const point: number[] = [];
    for (let b = w; b !== root; b = parent[b]!) {
      code.push(binary[b]!);
      point.push(parent[b]! - v);
    }
    codes.push(Uint8Array.from(code.reverse()));
    points.push(Int32Array.from(point.reverse()));
  }
  return { codes, points };
}
