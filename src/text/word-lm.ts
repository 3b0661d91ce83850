// Words, and word-level language-model data for the NNLM and the Kneser-Ney n-gram baseline: a corpus read as paragraphs
// (blank-line separated, wrapped lines joined), split into words, a frequency-sorted vocabulary with `<unk>`, `<s>`
// and `</s>`, and the n-gram windows both models are scored on. Each paragraph is one sequence: it starts with n−1
// `<s>` and ends with `</s>`, which is predicted (as SRILM and KenLM count it), so both models predict exactly the
// same tokens from the same n−1 previous ones.
import { Corpus, joinWrapped, type CorpusStats } from './corpus.js';

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

/** Lowercases a line and returns its words (letters/digits, with inner apostrophes): the static-vector trainers' words. */
export function tokenize(line: string): string[] {
  return line.toLowerCase().match(WORD) ?? [];
}

/**
 * How a paragraph becomes words: 'words' lowercases and keeps letters and digits (word2vec's); 'whitespace' splits
 * pre-tokenised text (wikitext); 'tokens' keeps case and makes each punctuation mark a token (for character models
 * such as ELMo, on raw text).
 */
export type WordSplit = 'words' | 'whitespace' | 'tokens';

const TOKEN = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;

export const UNK = '<unk>';
export const BOS = '<s>';
export const EOS = '</s>';

/** Splits a paragraph into words. */
export function splitWords(text: string, split: WordSplit): string[] {
  if (split === 'words') return tokenize(text);
  return split === 'tokens' ? text.match(TOKEN) ?? [] : text.split(/\s+/).filter(Boolean);
}

/** How a corpus divides into sequences: paragraphs (blank-line separated, wrapped lines joined) or lines (one sentence a line, bilm-tf's). */
export type SequenceLayout = 'paragraphs' | 'lines';

/**
 * The paragraphs (or lines) of a corpus (files, folders, .gz) as word arrays, and the read's stats (invalid UTF-8
 * counted); `emptyLines` counts the blank lines skipped in the 'lines' layout, and lines with no word.
 */
export async function readParagraphs(path: string | readonly string[], split: WordSplit, layout: SequenceLayout = 'paragraphs'): Promise<{ paragraphs: string[][]; stats: CorpusStats; emptyLines: number }> {
  const corpus = await Corpus.open(path, { layout: 'raw' });
  const paragraphs: string[][] = [];
  let lines: string[] = [];
  let emptyLines = 0;
  const flush = () => {
    const words = splitWords(joinWrapped(lines), split);
    if (words.length > 0) paragraphs.push(words);
    lines = [];
  };
  let file = -1;
  for await (const { line, fileIndex } of corpus.linesWithFiles()) {
    if (layout === 'lines') {
      const words = splitWords(line, split);
      if (words.length > 0) paragraphs.push(words);
      else emptyLines++;
      continue;
    }
    if (fileIndex !== file) { flush(); file = fileIndex; }
    if (line.trim() === '') flush();
    else lines.push(line);
  }
  flush();
  return { paragraphs, stats: corpus.stats, emptyLines };
}

/** The reserved words that head a vocabulary, in id order, and which of them stands for unknown words. */
export interface VocabSpecials {
  words: readonly string[];
  unk: string;
}

/** The word LMs' specials: `<unk>`, `<s>`, `</s>` (ids 0, 1, 2). ELMo's are bilm-tf's `<S>`, `</S>`, `<UNK>`. */
export const WORD_LM_SPECIALS: VocabSpecials = { words: [UNK, BOS, EOS], unk: UNK };

/** A closed word vocabulary: the specials (by default `<unk>`, `<s>`, `</s>`), then words by descending count (ties: first seen). */
export class WordVocab {
  readonly index: Map<string, number>;
  /** The id words outside the vocabulary get. */
  readonly unkId: number;
  constructor(readonly words: readonly string[], readonly specials: VocabSpecials = WORD_LM_SPECIALS) {
    if (specials.words.some((w, i) => words[i] !== w)) throw new Error(`WordVocab: the first ${specials.words.length} words must be ${specials.words.join(', ')}`);
    this.index = new Map(words.map((w, i) => [w, i]));
    if (this.index.size !== words.length) throw new Error('WordVocab: a word is listed twice');
    this.unkId = specials.words.indexOf(specials.unk);
    if (this.unkId < 0) throw new Error(`WordVocab: the unknown word ${specials.unk} is not among the specials`);
  }

  /**
   * The vocabulary of word arrays: the `maxSize` most frequent words (all specials included in the count) with at
   * least `minCount` occurrences. A word already written as a special in the text (wikitext's `<unk>`) is that special.
   */
  static build(paragraphs: readonly string[][], opts: { maxSize?: number; minCount?: number; specials?: VocabSpecials } = {}): WordVocab {
    const specials = opts.specials ?? WORD_LM_SPECIALS;
    const counts = new Map<string, number>();
    for (const p of paragraphs) for (const w of p) counts.set(w, (counts.get(w) ?? 0) + 1);
    for (const s of specials.words) counts.delete(s);
    const minCount = opts.minCount ?? 1;
    const kept = [...counts].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1]).map(([w]) => w);
    return new WordVocab([...specials.words, ...kept.slice(0, Math.max(0, (opts.maxSize ?? Infinity) - specials.words.length))], specials);
  }

  get size(): number { return this.words.length; }

  /** A word's id, the unknown word's for words outside the vocabulary. */
  id(word: string): number { return this.index.get(word) ?? this.unkId; }

  /** One word a line, in id order (the file `vocab.txt` beside a model). */
  toText(): string { return `${this.words.join('\n')}\n`; }

  /** Reads `toText`'s format; `where` names the file in errors. */
  static fromText(text: string, where = 'vocab.txt', specials: VocabSpecials = WORD_LM_SPECIALS): WordVocab {
    const words = text.split('\n');
    if (words[words.length - 1] === '') words.pop();
    const empty = words.findIndex((w) => w === '');
    if (empty >= 0) throw new Error(`${where}, line ${empty + 1}: an empty word`);
    try {
      return new WordVocab(words, specials);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  }
}

/** A corpus encoded for order-n models: every predicted token with its n−1 previous ones. */
export interface NgramWindows {
  order: number;
  /** int32 [count, order − 1]: the context of each prediction, oldest first, `<s>` before a paragraph's start. */
  contexts: Int32Array;
  /** int32 [count]: the predicted tokens, each paragraph's words and then `</s>`. */
  targets: Int32Array;
  count: number;
  /** Predicted tokens that were `<unk>` (out of vocabulary). */
  unknown: number;
}

/** The windows of each paragraph, padded as the file comment says. */
export function ngramWindows(paragraphs: readonly string[][], vocab: WordVocab, order: number): NgramWindows {
  if (!(Number.isInteger(order) && order >= 1)) throw new RangeError(`ngramWindows: order must be a positive integer, got ${order}`);
  const count = paragraphs.reduce((s, p) => s + p.length + 1, 0);
  const width = order - 1;
  const contexts = new Int32Array(count * width), targets = new Int32Array(count);
  const bos = vocab.id(BOS), eos = vocab.id(EOS);
  let at = 0, unknown = 0;
  for (const p of paragraphs) {
    const ids = [...new Array<number>(width).fill(bos), ...p.map((w) => vocab.id(w)), eos];
    for (let t = width; t < ids.length; t++, at++) {
      for (let j = 0; j < width; j++) contexts[at * width + j] = ids[t - width + j]!;
      targets[at] = ids[t]!;
      if (ids[t] === vocab.unkId) unknown++;
    }
  }
  return { order, contexts, targets, count, unknown };
}
