// One entry for the CLI: readTask(path, { format, textColumns, labelColumn, ... }) calls the reader of the format,
// told by the file name where that is unambiguous, and refuses options the format does not take.
import { readCharBio } from './char-bio.js';
import { readConll } from './conll.js';
import { readConllu } from './conllu.js';
import { readJsonl } from './jsonl.js';
import { readMrpc, readSick } from './pairs.js';
import { readCsv, readTsv } from './table.js';
import { checkCommonOptions, readTaskLines } from './source.js';
import { TASK_FORMATS, type ColumnRef, type CommonReadOptions, type TaskDataset, type TaskFormat } from './types.js';

/** Options of readTask: the format and what its reader takes (see each reader's options). */
export interface ReadTaskOptions extends CommonReadOptions {
  /** The file's format; default told by its name (detectTaskFormat). */
  format?: TaskFormat;
  /** Tables, JSON lines: the text column(s), one or two. CoNLL, CoNLL-U: the word column (one). */
  textColumns?: readonly ColumnRef[];
  /**
   * The label column: a name or index (tables, CoNLL, CoNLL-U: 'upos' or 'xpos'), a field (JSON lines), or for SICK
   * 'entailment' (default) or 'relatedness' (also by their column names).
   */
  labelColumn?: ColumnRef;
  /** Tables: whether the first row is a header (default true). */
  header?: boolean;
  /** Tables, JSON lines: 'number' reads a pair's label as a regression score. */
  labelType?: 'string' | 'number';
  /** CSV: the field delimiter (default ','). */
  delimiter?: string;
  /** CoNLL: the names of the file's columns. */
  columnNames?: readonly string[];
  /** Sequence labelling: 'iob2' (default) converts IOB1 tags, 'keep' leaves them. */
  iob?: 'iob2' | 'keep';
  /** MRPC: turn <QUOTE> back into " (default true). */
  restoreQuotes?: boolean;
}

type FormatOption = Exclude<keyof ReadTaskOptions, keyof CommonReadOptions | 'format'>;

/** The options each format takes beyond the common ones (labels, trainSize, seed). */
const TAKES: Record<TaskFormat, readonly FormatOption[]> = {
  conll: ['textColumns', 'labelColumn', 'columnNames', 'iob'],
  conllu: ['textColumns', 'labelColumn', 'iob'],
  'char-bio': ['iob'],
  tsv: ['textColumns', 'labelColumn', 'header', 'labelType'],
  csv: ['textColumns', 'labelColumn', 'header', 'labelType', 'delimiter'],
  jsonl: ['textColumns', 'labelColumn', 'labelType', 'iob'],
  mrpc: ['restoreQuotes'],
  sick: ['labelColumn'],
};

/**
 * The format a file's name tells (a .gz suffix ignored): .conllu; .jsonl or .ndjson; .tsv; .csv; MRPC's
 * msr_paraphrase_*.txt; SICK*.txt. Undefined where the name does not settle it (a CoNLL .txt and MSRA's
 * character-per-line .txt look alike by name; CLUE's .json files are JSON lines but a .json may be one document).
 */
export function detectTaskFormat(path: string): TaskFormat | undefined {
  const name = (path.split(/[\\/]/).pop() ?? path).replace(/\.gz$/i, '').toLowerCase();
  if (name.endsWith('.conllu')) return 'conllu';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  if (name.endsWith('.tsv')) return 'tsv';
  if (name.endsWith('.csv')) return 'csv';
  if (/^msr_paraphrase.*\.txt$/.test(name)) return 'mrpc';
  if (/^sick.*\.txt$/.test(name)) return 'sick';
  return undefined;
}

/**
 * The column format of a file whose name does not tell it (CoNLL's and MSRA's .txt), from its first 200 lines that
 * are not blank, comments or -DOCSTART-: each a token and its tags in the same number (2 or more) of fields, split at
 * tabs where a line has one, else at spaces. Two fields whose first is always one character are MSRA's char-bio; the rest is CoNLL columns.
 * Undefined when the lines are not columns (prose, a table with a header, JSON).
 */
export function sniffColumnFormat(lines: readonly string[]): 'conll' | 'char-bio' | undefined {
  const sample = [];
  for (const line of lines) {
    const t = line.trim();
    if (t === '' || t.startsWith('-DOCSTART-') || t.startsWith('#')) continue;
    // tab-separated fields as they are (MSRA's character may be a full-width space); else runs of spaces
    sample.push(line.includes('\t') ? line.split('\t') : t.split(/\s+/));
    if (sample.length === 200) break;
  }
  if (sample.length === 0) return undefined;
  const width = sample[0]!.length;
  // a tag column holds short labels (O, B-PER, NN): a line of many words or a long last field is not a column file
  if (width < 2 || width > 12 || sample.some((f) => f.length !== width || f[width - 1]!.length > 12)) return undefined;
  return width === 2 && sample.every((f) => Array.from(f[0]!).length === 1) ? 'char-bio' : 'conll';
}

const SICK_LABELS: Record<string, 'entailment' | 'relatedness'> = {
  entailment: 'entailment', entailment_judgment: 'entailment', entailment_label: 'entailment',
  relatedness: 'relatedness', relatedness_score: 'relatedness',
};

/** Reads a task file in the format given, told by its name, or (a .txt of columns) by its first lines; see the readers. */
export async function readTask(path: string, options: ReadTaskOptions = {}): Promise<TaskDataset> {
  const format = options.format ?? detectTaskFormat(path) ?? sniffColumnFormat((await readTaskLines(path)).lines);
  if (format === undefined) {
    throw new Error(`${path}: cannot tell the task format from the file name or its first lines; pass format: one of ${TASK_FORMATS.join(', ')} `
      + '(conll: CoNLL-2003/2000 columns; conllu: Universal Dependencies; char-bio: a character and a tag a line, as MSRA NER; '
      + 'tsv/csv: tables with named columns; jsonl: JSON lines, as CLUE\'s .json files; mrpc: msr_paraphrase_*.txt; sick: SICK_*.txt)');
  }
  if (!TASK_FORMATS.includes(format)) throw new Error(`${path}: unknown task format "${String(format)}"; the formats are ${TASK_FORMATS.join(', ')}`);
  const takes = TAKES[format];
  for (const key of Object.keys(options) as (keyof ReadTaskOptions)[]) {
    if (options[key] === undefined || key === 'format' || key === 'labels' || key === 'trainSize' || key === 'seed') continue;
    if (!takes.includes(key as FormatOption)) {
      throw new RangeError(`${path}: option ${key} does not apply to format ${format} (it takes ${[...takes, 'labels', 'trainSize', 'seed'].join(', ')})`);
    }
  }
  checkCommonOptions(options, path); // before reading: a bad trainSize should not cost a read of the file
  const { labels, trainSize, seed } = options;
  const common: CommonReadOptions = { labels, trainSize, seed };
  const one = (what: string): ColumnRef | undefined => {
    const cols = options.textColumns;
    if (cols === undefined) return undefined;
    if (cols.length !== 1) throw new RangeError(`${path}: format ${format} takes one ${what} in textColumns, got ${cols.length}`);
    return cols[0];
  };
  const named = (ref: ColumnRef | undefined, what: string): string | undefined => {
    if (ref !== undefined && typeof ref !== 'string') throw new RangeError(`${path}: JSON fields are named; ${what} ${ref} is an index`);
    return ref;
  };
  switch (format) {
    case 'conll':
      return readConll(path, { ...common, tokenColumn: one('word column'), labelColumn: options.labelColumn, columnNames: options.columnNames, iob: options.iob });
    case 'conllu':
      return readConllu(path, { ...common, tokenColumn: one('word column'), labelColumn: options.labelColumn, iob: options.iob });
    case 'char-bio':
      return readCharBio(path, { ...common, iob: options.iob });
    case 'tsv':
      return readTsv(path, { ...common, textColumns: options.textColumns, labelColumn: options.labelColumn, header: options.header, labelType: options.labelType });
    case 'csv':
      return readCsv(path, { ...common, textColumns: options.textColumns, labelColumn: options.labelColumn, header: options.header, labelType: options.labelType, delimiter: options.delimiter });
    case 'jsonl':
      return readJsonl(path, {
        ...common,
        textColumns: options.textColumns?.map((c) => named(c, 'text column')!),
        labelColumn: named(options.labelColumn, 'label column'),
        labelType: options.labelType,
        iob: options.iob,
      });
    case 'mrpc':
      return readMrpc(path, { ...common, restoreQuotes: options.restoreQuotes });
    case 'sick': {
      const ref = options.labelColumn;
      const label = ref === undefined ? undefined : SICK_LABELS[String(ref).toLowerCase()];
      if (ref !== undefined && label === undefined) {
        throw new RangeError(`${path}: SICK's labelColumn is 'entailment' or 'relatedness' (or entailment_judgment, relatedness_score), got ${String(ref)}`);
      }
      return readSick(path, { ...common, label });
    }
  }
}
