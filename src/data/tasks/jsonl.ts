// JSON lines: one object a line, its fields named. The kind follows the text fields: one string field is
// classification, two are a pair, one array field (with an array of labels) is a sentence for sequence labelling.
//
// Quirks handled:
// - Defaults: the label field is the first of `label`, `labels`, `tags`, `ner_tags` the first object has; the text
//   fields the first of [sentence1, sentence2], [text_a, text_b], [text], [sentence], [words], [tokens] it has.
// - Labels given as numbers or booleans (HF datasets' ner_tags are ints, CLUE's labels strings) become strings, so
//   the label set is explicit; `labelType: 'number'` keeps a pair's label as a regression score.
// - A line that is not JSON, not an object, lacks a field (the error lists the fields it has), has a field of the
//   wrong type, or a sentence whose words and labels differ in number, is an error naming the file and line.
// - Blank lines are skipped; .gz, CRLF, a BOM and invalid UTF-8 (replaced, counted) come from the shared line reader.
import { classificationDataset, pairDataset, readTaskLines, requireExamples, sequenceDataset, type Located, type SequenceReadOptions } from './source.js';
import {
  TaskFormatError,
  type ClassificationDataset,
  type ClassificationExample,
  type PairDataset,
  type PairExample,
  type SequenceDataset,
  type SequenceExample,
} from './types.js';

/** Options of readJsonl. */
export interface JsonlOptions extends SequenceReadOptions {
  /** The text field (classification), two (a pair), or the words field (a sentence: an array); see the defaults above. */
  textColumns?: readonly string[];
  /** The label field (an array of labels for a sentence). */
  labelColumn?: string;
  /** 'string' (default), or 'number' for a pair's regression score. */
  labelType?: 'string' | 'number';
}

const LABEL_FIELDS = ['label', 'labels', 'tags', 'ner_tags'];
const TEXT_FIELDS = [['sentence1', 'sentence2'], ['text_a', 'text_b'], ['text'], ['sentence'], ['words'], ['tokens']];

/** A scalar label as a string, or undefined when it is not one. */
function scalar(v: unknown): string | undefined {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** Reads JSON lines as classification examples, pairs or labelled sentences. */
export async function readJsonl(path: string, opts: JsonlOptions = {}): Promise<ClassificationDataset | PairDataset | SequenceDataset> {
  const { file, lines, utf8 } = await readTaskLines(path);
  const objects: { obj: Record<string, unknown>; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new TaskFormatError(file, i + 1, `not valid JSON (${(err as Error).message}); JSON lines hold one object a line`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new TaskFormatError(file, i + 1, `a JSON ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}, expected an object with named fields`);
    }
    objects.push({ obj: value as Record<string, unknown>, line: i + 1 });
  }
  requireExamples(file, lines.length, objects.length, 'JSON objects');
  const first = objects[0]!;
  const keys = Object.keys(first.obj);
  const labelField = opts.labelColumn ?? LABEL_FIELDS.find((f) => f in first.obj);
  if (labelField === undefined) throw new TaskFormatError(file, first.line, `name the label field (labelColumn): the object has ${keys.join(', ')}`);
  const textFields = opts.textColumns ? [...opts.textColumns] : TEXT_FIELDS.find((fs) => fs.every((f) => f in first.obj));
  if (textFields === undefined) throw new TaskFormatError(file, first.line, `name the text field or fields (textColumns): the object has ${keys.join(', ')}`);
  if (textFields.length < 1 || textFields.length > 2) throw new RangeError(`${file}: textColumns takes one field or two (a pair), got ${textFields.length}`);
  for (const f of [...textFields, labelField]) if (typeof f !== 'string') throw new RangeError(`${file}: JSON fields are named, got ${String(f)}`);
  const numeric = (opts.labelType ?? 'string') === 'number';
  const sequence = textFields.length === 1 && Array.isArray(first.obj[textFields[0]!]);
  if (numeric && (textFields.length === 1)) throw new RangeError(`${file}: labelType 'number' (regression) is for sentence pairs`);

  const field = (o: { obj: Record<string, unknown>; line: number }, name: string): unknown => {
    const v = o.obj[name];
    if (v === undefined || v === null) {
      throw new TaskFormatError(file, o.line, `missing field "${name}" (the object has ${Object.keys(o.obj).join(', ') || 'no fields'})`);
    }
    return v;
  };
  const str = (o: { obj: Record<string, unknown>; line: number }, name: string): string => {
    const v = field(o, name);
    if (typeof v !== 'string') throw new TaskFormatError(file, o.line, `field "${name}" is ${Array.isArray(v) ? 'an array' : `a ${typeof v}`}, expected a string`);
    return v;
  };
  const label = (o: { obj: Record<string, unknown>; line: number }): string => {
    const s = scalar(field(o, labelField));
    if (s === undefined) throw new TaskFormatError(file, o.line, `field "${labelField}" is not a label (a string, number or boolean)`);
    if (s === '') throw new TaskFormatError(file, o.line, `empty label (field "${labelField}")`);
    return s;
  };

  if (sequence) {
    const located: Located<SequenceExample>[] = objects.map((o) => {
      const words = field(o, textFields[0]!), labels = field(o, labelField);
      if (!Array.isArray(words)) throw new TaskFormatError(file, o.line, `field "${textFields[0]}" is not an array of words (it is on line ${first.line})`);
      if (!Array.isArray(labels)) throw new TaskFormatError(file, o.line, `field "${labelField}" is not an array of labels, one per word`);
      if (words.length !== labels.length) {
        throw new TaskFormatError(file, o.line, `${words.length} words ("${textFields[0]}") but ${labels.length} labels ("${labelField}"): a sentence needs one label per word`);
      }
      const w = words.map((x, i) => {
        if (typeof x !== 'string') throw new TaskFormatError(file, o.line, `word ${i} of "${textFields[0]}" is not a string`);
        return x;
      });
      const l = labels.map((x, i) => {
        const s = scalar(x);
        if (s === undefined || s === '') throw new TaskFormatError(file, o.line, `label ${i} of "${labelField}" is not a label (a string or number)`);
        return s;
      });
      return { example: { words: w, labels: l }, line: o.line };
    });
    return sequenceDataset(file, 'jsonl', located, {}, utf8, opts);
  }
  if (textFields.length === 1) {
    const located: Located<ClassificationExample>[] = objects.map((o) => ({ example: { text: str(o, textFields[0]!), label: label(o) }, line: o.line }));
    return classificationDataset(file, 'jsonl', located, utf8, opts);
  }
  const located: Located<PairExample>[] = objects.map((o) => {
    const a = str(o, textFields[0]!), b = str(o, textFields[1]!);
    if (!numeric) return { example: { a, b, label: label(o) }, line: o.line };
    const v = field(o, labelField);
    const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(x)) throw new TaskFormatError(file, o.line, `field "${labelField}" is not a number (labelType 'number')`);
    return { example: { a, b, label: x }, line: o.line };
  });
  return pairDataset(file, 'jsonl', located, numeric, utf8, opts);
}
