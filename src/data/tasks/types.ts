// The examples and data sets the task readers return, the options they share, and the error they throw.

/** A sentence for sequence labelling (NER, chunking, POS): one label per word. */
export interface SequenceExample {
  words: string[];
  labels: string[];
}

/** A text with its class, the label as read (numeric labels stay strings, so the label set is explicit). */
export interface ClassificationExample {
  text: string;
  label: string;
}

/** A sentence pair (paraphrase, NLI, question matching): a string label, or a number for regression (SICK relatedness). */
export interface PairExample {
  a: string;
  b: string;
  label: string | number;
}

/** The file formats readTask reads; see each reader's header for what it does with the format's quirks. */
export type TaskFormat = 'conll' | 'conllu' | 'char-bio' | 'tsv' | 'csv' | 'jsonl' | 'mrpc' | 'sick';

/** Every format, in the order errors list them. */
export const TASK_FORMATS: readonly TaskFormat[] = ['conll', 'conllu', 'char-bio', 'tsv', 'csv', 'jsonl', 'mrpc', 'sick'];

/**
 * The tagging scheme of a label column as read: 'IOB1' (chunks open with I-; B- only between two chunks of one type,
 * as in the original CoNLL-2003 release), 'IOB2' (chunks open with B-), 'IOBES' (S-/E- tags seen), 'none' (no B-/I-
 * prefixes: POS tags). See labels.ts's detectScheme.
 */
export type TagScheme = 'IOB1' | 'IOB2' | 'IOBES' | 'none';

/** Invalid UTF-8 met while reading: U+FFFD characters put in, and the bytes they replaced. */
export interface Utf8Replacements {
  invalidSequences: number;
  invalidBytes: number;
}

/** What was read, before any `trainSize` sample: examples, and the lines of the file that are not examples. */
export interface TaskCounts {
  /** Examples in the file. */
  examples: number;
  /** Words of all sentences (sequence labelling). */
  tokens?: number;
  /** `-DOCSTART-` lines skipped (CoNLL). */
  documents?: number;
  /** CoNLL-U lines skipped: multiword-token ranges (3-4), empty nodes (5.1) and comments. */
  multiwordTokens?: number;
  emptyNodes?: number;
  comments?: number;
}

/** How a `trainSize` sample was drawn. */
export interface SampleInfo {
  size: number;
  seed: number;
  /** By label (classification, pairs with string labels) or plain (sequences, regression). */
  stratified: boolean;
}

interface DatasetBase {
  format: TaskFormat;
  file: string;
  /**
   * The label set: the labels of every example in the file (before a sample), sorted (by number when every label is
   * a number, else by UTF-16 code units: 'B-LOC' < 'I-LOC' < 'O'); the `labels` option's order when that is given.
   * Empty for regression.
   */
  labels: string[];
  /** How often each label occurs in `examples` (each tag, for sequences); empty for regression. */
  labelCounts: Record<string, number>;
  counts: TaskCounts;
  utf8: Utf8Replacements;
  /** Set when `trainSize` took a sample. */
  sample?: SampleInfo;
}

/** Sentences with one label per word. */
export interface SequenceDataset extends DatasetBase {
  kind: 'sequence';
  examples: SequenceExample[];
  /** The scheme detected in the file, and how many tags conversion to IOB2 rewrote (0 for valid IOB2 or `iob: 'keep'`). */
  tagging: { scheme: TagScheme; convertedTags: number };
}

/** Texts with a class each. */
export interface ClassificationDataset extends DatasetBase {
  kind: 'classification';
  examples: ClassificationExample[];
}

/** Sentence pairs, classified or scored. */
export interface PairDataset extends DatasetBase {
  kind: 'pair';
  examples: PairExample[];
  /** True when labels are numbers (regression); `labels` is then empty and `scores` summarises them. */
  regression: boolean;
  scores?: { min: number; max: number; mean: number };
}

/** Any task data set; `kind` tells which. */
export type TaskDataset = SequenceDataset | ClassificationDataset | PairDataset;

/** Options every reader takes. */
export interface CommonReadOptions {
  /** The label set to hold the data to (e.g. train's labels when reading dev): another label is an error naming the line. */
  labels?: readonly string[];
  /** Keep a seeded sample of this many examples (learning curves): stratified by label where labels are classes. */
  trainSize?: number;
  /** Seed of the `trainSize` sample (default 0); the same seed gives the same sample, and a smaller size a subset. */
  seed?: number;
}

/** A column of a table or a field of a JSON object: a header name, or a 0-based index. */
export type ColumnRef = string | number;

/** A malformed file: the message starts `file:line:` (or `file:` where no line is to blame). */
export class TaskFormatError extends Error {
  constructor(readonly file: string, readonly line: number | undefined, detail: string) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${detail}`);
    this.name = 'TaskFormatError';
  }
}
