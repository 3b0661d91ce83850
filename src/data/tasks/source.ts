// What every task reader shares: reading a file's lines (.gz, CRLF, BOM, invalid UTF-8 replaced and counted), then
// the label set, label counts, a fixed label set's check and the trainSize sample.
//
// A task file is megabytes, so it is read whole: the path checked by the corpus reader's listCorpusFiles, bytes
// counted by its Utf8Counter and decoded by the same non-fatal TextDecoder (a leading BOM dropped), lines split as
// Corpus splits them. Not through Corpus.lines(): its async iteration costs promises per line, 3 s for MSRA's 2.2M
// lines, and under node:test's async tracking 90 s. Line numbers are 1-based, as editors show them.
import { fsp, zlib } from '../../platform/node.js';
import { listCorpusFiles } from '../../text/corpus.js';
import { Utf8Counter } from '../../text/utf8.js';
import { detectScheme, sortLabels, toIob2 } from './labels.js';
import { sampleIndices } from './sample.js';
import {
  TaskFormatError,
  type ClassificationDataset,
  type ClassificationExample,
  type CommonReadOptions,
  type PairDataset,
  type PairExample,
  type SequenceDataset,
  type SequenceExample,
  type TaskCounts,
  type TaskFormat,
  type Utf8Replacements,
} from './types.js';

/** A file's lines (no line ends; a leading BOM dropped) and the invalid UTF-8 replaced in them. */
export interface TaskLines {
  file: string;
  lines: string[];
  utf8: Utf8Replacements;
}

/** Reads one file (a .gz is decompressed) as lines; a folder or a missing file is an error naming the path. */
export async function readTaskLines(path: string): Promise<TaskLines> {
  const files = await listCorpusFiles(path); // throws "PATH: no such file or folder"
  if (files.length !== 1 || files[0]!.path !== path) {
    throw new TaskFormatError(path, undefined, 'is a folder; task readers read one file (name the train or dev file)');
  }
  let bytes: Uint8Array = await fsp.readFile(path);
  if (/\.gz$/i.test(path)) {
    const packed = bytes;
    bytes = await new Promise<Uint8Array>((done, fail) => zlib.gunzip(packed, (err, out) => (err ? fail(new Error(`${path}: ${err.message}`)) : done(out))));
  }
  const counter = new Utf8Counter();
  counter.push(bytes);
  counter.end();
  const lines = new TextDecoder('utf-8').decode(bytes).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) if (lines[i]!.endsWith('\r')) lines[i] = lines[i]!.slice(0, -1);
  return { file: path, lines, utf8: { invalidSequences: counter.invalidSequences, invalidBytes: counter.invalidBytes } };
}

/** The error for a file with no line at all. */
export function emptyFileError(file: string): TaskFormatError {
  return new TaskFormatError(file, undefined, 'empty file (0 lines, no examples)');
}

/** Throws for a file whose lines held no example (blank lines, a header or comments only). */
export function requireExamples(file: string, lines: number, examples: number, what: string): void {
  if (lines === 0) throw emptyFileError(file);
  if (examples === 0) throw new TaskFormatError(file, lines, `no ${what} in the file's ${lines} line${lines === 1 ? '' : 's'}`);
}

/** Checks the common options once, before reading. */
export function checkCommonOptions(opts: CommonReadOptions, where: string): void {
  const { trainSize, seed, labels } = opts;
  if (trainSize !== undefined && !(Number.isInteger(trainSize) && trainSize >= 1)) {
    throw new RangeError(`${where}: trainSize must be a positive integer, got ${trainSize}`);
  }
  if (seed !== undefined && !Number.isInteger(seed)) throw new RangeError(`${where}: seed must be an integer, got ${seed}`);
  if (labels !== undefined && (labels.length === 0 || new Set(labels).size !== labels.length)) {
    throw new RangeError(`${where}: labels must be a non-empty list without repeats, got [${labels.join(', ')}]`);
  }
}

/** An example with the line it starts on, and its labels (one for a class, one per word for a sentence). */
export interface Located<E> {
  example: E;
  line: number;
}

/**
 * The label set, the fixed set's check, the sample and the label counts. `labelsOf` gives an example's labels (none
 * for regression); `stratify` samples by the first label (classification, pairs) instead of plainly (sequences).
 */
export function finishExamples<E>(
  file: string,
  format: TaskFormat,
  located: Located<E>[],
  labelsOf: (e: E) => readonly string[],
  stratify: boolean,
  opts: CommonReadOptions,
): { examples: E[]; labels: string[]; labelCounts: Record<string, number>; sample?: { size: number; seed: number; stratified: boolean } } {
  checkCommonOptions(opts, file);
  let labels: string[];
  if (opts.labels) {
    const known = new Set(opts.labels);
    for (const { example, line } of located) {
      for (const label of labelsOf(example)) {
        if (!known.has(label)) throw new TaskFormatError(file, line, `label "${label}" is not in the label set given (${opts.labels.join(', ')})`);
      }
    }
    labels = [...opts.labels];
  } else {
    const seen = new Set<string>();
    for (const { example } of located) for (const label of labelsOf(example)) seen.add(label);
    labels = sortLabels(seen);
  }
  let examples = located.map((l) => l.example);
  let sample: { size: number; seed: number; stratified: boolean } | undefined;
  if (opts.trainSize !== undefined) {
    const seed = opts.seed ?? 0;
    if (opts.trainSize > examples.length) {
      throw new RangeError(`${file}: trainSize ${opts.trainSize} is more than the ${examples.length} examples in the file (format ${format})`);
    }
    const strata = stratify ? examples.map((e) => labelsOf(e)[0] ?? '') : undefined;
    examples = sampleIndices(examples.length, opts.trainSize, seed, strata).map((i) => examples[i]!);
    sample = { size: opts.trainSize, seed, stratified: stratify };
  }
  const labelCounts: Record<string, number> = {};
  for (const label of labels) labelCounts[label] = 0;
  for (const e of examples) for (const label of labelsOf(e)) labelCounts[label] = (labelCounts[label] ?? 0) + 1;
  return { examples, labels, labelCounts, ...(sample ? { sample } : {}) };
}

/** Options of the readers of sequence labelling. */
export interface SequenceReadOptions extends CommonReadOptions {
  /**
   * 'iob2' (default): chunk tags come out as valid IOB2: IOB1 is converted, and a stray I- that opens a chunk in IOB2
   * data becomes B- (both counted in tagging.convertedTags); POS tags are untouched. 'keep' leaves tags as read.
   */
  iob?: 'iob2' | 'keep';
}

/** A sequence data set from located sentences: scheme detected, IOB1 converted unless kept, counted, sampled. */
export function sequenceDataset(
  file: string,
  format: TaskFormat,
  located: Located<SequenceExample>[],
  counts: Omit<TaskCounts, 'examples' | 'tokens'>,
  utf8: Utf8Replacements,
  opts: SequenceReadOptions,
): SequenceDataset {
  const iob = opts.iob ?? 'iob2';
  if (iob !== 'iob2' && iob !== 'keep') throw new RangeError(`${file}: iob must be 'iob2' or 'keep', got ${String(iob)}`);
  const scheme = detectScheme(located.map((l) => l.example.labels));
  let convertedTags = 0;
  if (iob === 'iob2' && (scheme === 'IOB1' || scheme === 'IOB2')) {
    for (const l of located) {
      const { tags, converted } = toIob2(l.example.labels);
      l.example.labels = tags;
      convertedTags += converted;
    }
  }
  const tokens = located.reduce((s, l) => s + l.example.words.length, 0);
  const done = finishExamples(file, format, located, (e) => e.labels, false, opts);
  return { kind: 'sequence', format, file, ...done, counts: { examples: located.length, tokens, ...counts }, utf8, tagging: { scheme, convertedTags } };
}

/** A classification data set from located examples, sampled by label. */
export function classificationDataset(
  file: string,
  format: TaskFormat,
  located: Located<ClassificationExample>[],
  utf8: Utf8Replacements,
  opts: CommonReadOptions,
): ClassificationDataset {
  const done = finishExamples(file, format, located, (e) => [e.label], true, opts);
  return { kind: 'classification', format, file, ...done, counts: { examples: located.length }, utf8 };
}

/** A pair data set: classes (sampled by label) or, with `regression`, scores (sampled plainly). */
export function pairDataset(
  file: string,
  format: TaskFormat,
  located: Located<PairExample>[],
  regression: boolean,
  utf8: Utf8Replacements,
  opts: CommonReadOptions,
): PairDataset {
  if (regression && opts.labels) throw new RangeError(`${file}: a label set does not apply to regression (numeric labels)`);
  const done = finishExamples(file, format, located, regression ? () => [] : (e) => [String(e.label)], !regression, opts);
  const out: PairDataset = { kind: 'pair', format, file, ...done, counts: { examples: located.length }, utf8, regression };
  if (regression) {
    let min = Infinity, max = -Infinity, sum = 0;
    for (const e of done.examples) {
      const x = e.label as number;
      min = Math.min(min, x); max = Math.max(max, x); sum += x;
    }
    out.scores = { min, max, mean: sum / done.examples.length };
  }
  return out;
}
