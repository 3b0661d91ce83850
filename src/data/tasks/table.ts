// TSV and CSV tables for classification (one text column) and sentence pairs (two), columns named by the header or
// picked by 0-based index.
//
// TSV (SST-2 here: `label<TAB>sentence`, header `label\tsentence` in train and `label\tcontent` in dev, the reverse of
// GLUE's order; LCQMC: `sentence1<TAB>sentence2<TAB>label`, no header): fields are split at every tab and quotes are
// plain characters, as GLUE's readers do (QUOTE_NONE), so a sentence may hold `"` freely.
// CSV (ChnSentiCorp and waimai: `label,review`; AFQMC: `sentence1,sentence2,label`): RFC 4180 through csv-parse, so
// quoted fields may hold commas, doubled quotes ("") and line breaks; an example's line is the line it starts on.
//
// Quirks handled:
// - The header row is expected unless `header: false` (LCQMC); without one, columns are named by index only.
// - Defaults: the label column is the header's `label`; the text columns are all the others when they are one or two.
// - Labels are trimmed and kept as strings ('0'/'1' stay strings); `labelType: 'number'` reads a pair's label as a
//   score (regression) and refuses one that is not a number. Texts are kept as read.
// - Blank lines are skipped. A row with fewer fields than the header (a missing column), more (a tab inside a TSV
//   sentence), an empty label or a broken CSV quote is an error naming the file and line.
// - A file whose first line is a JSON object is refused with a pointer to format 'jsonl' (CLUE ships AFQMC as JSON
//   lines; the copy in ../shared/data is a real CSV with a header).
// - SST-2's train.tsv has CRLF line ends though its SOURCE.md says LF; CRLF, .gz, a BOM and invalid UTF-8 (replaced,
//   counted) come from the shared line reader. In CSV, a quoted field's CRLF becomes LF.
import { resolveColumn } from './conll.js';
import { classificationDataset, pairDataset, readTaskLines, requireExamples, type Located } from './source.js';
import {
  TaskFormatError,
  type ClassificationDataset,
  type ClassificationExample,
  type ColumnRef,
  type CommonReadOptions,
  type PairDataset,
  type PairExample,
  type TaskFormat,
  type Utf8Replacements,
} from './types.js';

/** Options of readTsv and readCsv. */
export interface TableOptions extends CommonReadOptions {
  /** The text column (classification) or the two columns of a pair; default every column but the label. */
  textColumns?: readonly ColumnRef[];
  /** The label column; default the header's `label`. */
  labelColumn?: ColumnRef;
  /** Whether the first row names the columns (default true). */
  header?: boolean;
  /** 'string' (default) keeps labels as classes; 'number' reads a pair's label as a regression target. */
  labelType?: 'string' | 'number';
  /** CSV only: the field delimiter (default ','). */
  delimiter?: string;
}

/** A row of a table: its fields and the line it starts on. */
export interface TableRow {
  fields: string[];
  line: number;
}

/** A table's rows as read, before any column is chosen. */
export interface TableRows {
  file: string;
  rows: TableRow[];
  lines: number;
  utf8: Utf8Replacements;
}

function refuseJsonLines(file: string, lines: readonly string[]): void {
  const i = lines.findIndex((l) => l.trim() !== '');
  const first = i < 0 ? '' : lines[i]!.trim();
  if (!first.startsWith('{') || !first.endsWith('}')) return;
  try {
    if (typeof JSON.parse(first) !== 'object') return;
  } catch {
    return;
  }
  throw new TaskFormatError(file, i + 1, "this line is a JSON object: the file looks like JSON lines (CLUE's data sets are), read it with format 'jsonl'");
}

/** Reads a TSV file's rows: every tab separates fields, no quoting. */
export async function readTsvRows(path: string): Promise<TableRows> {
  const { file, lines, utf8 } = await readTaskLines(path);
  refuseJsonLines(file, lines);
  const rows: TableRow[] = [];
  // A line of spaces is blank; one with a tab is a row (of empty fields, refused below for its empty label).
  for (let i = 0; i < lines.length; i++) if (!/^ *$/.test(lines[i]!)) rows.push({ fields: lines[i]!.split('\t'), line: i + 1 });
  return { file, rows, lines: lines.length, utf8 };
}

/** Reads a CSV file's rows through csv-parse (loaded on first use, so that the package entry loads in a browser). */
export async function readCsvRows(path: string, delimiter = ','): Promise<TableRows> {
  const { file, lines, utf8 } = await readTaskLines(path);
  refuseJsonLines(file, lines);
  const { parse } = await import('csv-parse/sync');
  const rows: TableRow[] = [];
  let lastEnd = 0;
  try {
    parse(lines.join('\n'), {
      delimiter,
      record_delimiter: '\n',
      relax_column_count: true, // a short or long row is reported below, with its line
      skip_empty_lines: true,
      on_record: (record: string[], context) => {
        // context.lines is the line a record ends on; the line breaks inside its quoted fields say where it began.
        const inside = record.reduce((n, f) => n + (f.match(/\n/g)?.length ?? 0), 0);
        rows.push({ fields: record, line: context.lines - inside });
        lastEnd = context.lines;
        return null;
      },
    });
  } catch (err) {
    const e = err as Error & { code?: string; lines?: number };
    if (e.code === 'CSV_QUOTE_NOT_CLOSED') {
      let start = lastEnd;
      while (start < lines.length && lines[start]!.trim() === '') start++;
      throw new TaskFormatError(file, start + 1, `a quoted field opened in the row starting here is not closed before the end of the file (line ${lines.length})`);
    }
    throw new TaskFormatError(file, e.lines ?? lastEnd + 1, `malformed CSV: ${e.message}`);
  }
  return { file, rows, lines: lines.length, utf8 };
}

/** How a table's columns become examples (the MRPC and SICK readers fix them; TSV and CSV take them from options). */
export interface TableColumns {
  textColumns?: readonly ColumnRef[];
  labelColumn?: ColumnRef;
  header?: boolean;
  labelType?: 'string' | 'number';
  /** Applied to each text (MRPC's <QUOTE> restored). */
  text?: (s: string) => string;
}

/** Examples from a table's rows: the header read, the columns resolved, every row checked. */
export function tableDataset(table: TableRows, format: TaskFormat, cols: TableColumns, opts: CommonReadOptions): ClassificationDataset | PairDataset {
  const { file, rows, utf8 } = table;
  if (rows.length === 0) requireExamples(file, table.lines, 0, 'rows');
  const header = cols.header ?? true;
  const first = rows[0]!;
  const names = header ? first.fields.map((f) => f.trim()) : first.fields.map((_, i) => `column ${i}`);
  const where = header ? `the header (line ${first.line})` : `the first row (line ${first.line})`;
  const resolve = (ref: ColumnRef, what: string) => {
    if (!header && typeof ref === 'string') throw new TaskFormatError(file, first.line, `${what} "${ref}" is a name, but the file has no header (header: false): pick columns by 0-based index`);
    return resolveColumn(ref, names, file, first.line, what);
  };
  let labelRef = cols.labelColumn;
  if (labelRef === undefined) {
    if (!header || !names.some((n) => n.toLowerCase() === 'label')) {
      throw new TaskFormatError(file, first.line, `name the label column (labelColumn): ${where} has ${names.join(', ')} and no "label"`);
    }
    labelRef = 'label';
  }
  const labelAt = resolve(labelRef, 'label column');
  let textAt: number[];
  if (cols.textColumns) textAt = cols.textColumns.map((c) => resolve(c, 'text column'));
  else {
    textAt = names.map((_, i) => i).filter((i) => i !== labelAt);
    if (textAt.length < 1 || textAt.length > 2) {
      throw new TaskFormatError(file, first.line, `name the text column or columns (textColumns): ${where} has ${names.length} columns (${names.join(', ')})`);
    }
  }
  if (textAt.length < 1 || textAt.length > 2) throw new RangeError(`${file}: textColumns takes one column (classification) or two (a pair), got ${textAt.length}`);
  if (textAt.includes(labelAt)) throw new TaskFormatError(file, first.line, `column ${names[labelAt]} is both a text and the label column`);
  const numeric = (cols.labelType ?? 'string') === 'number';
  if (cols.labelType !== undefined && cols.labelType !== 'string' && cols.labelType !== 'number') {
    throw new RangeError(`${file}: labelType must be 'string' or 'number', got ${String(cols.labelType)}`);
  }
  if (numeric && textAt.length === 1) throw new RangeError(`${file}: labelType 'number' (regression) is for sentence pairs; classification labels stay strings`);
  const text = cols.text ?? ((s: string) => s);
  const located: Located<ClassificationExample | PairExample>[] = [];
  for (const row of header ? rows.slice(1) : rows) {
    const { fields, line } = row;
    if (fields.length !== names.length) {
      const problem = fields.length < names.length ? `missing column${names.length - fields.length === 1 ? '' : 's'} (${names.slice(fields.length).join(', ')})` : 'extra fields';
      throw new TaskFormatError(file, line, `${problem}: ${fields.length} field${fields.length === 1 ? '' : 's'}, but ${where} has ${names.length}`);
    }
    const raw = fields[labelAt]!.trim();
    if (raw === '') throw new TaskFormatError(file, line, `empty label (column ${names[labelAt]})`);
    let label: string | number = raw;
    if (numeric) {
      label = Number(raw);
      if (!Number.isFinite(label)) throw new TaskFormatError(file, line, `label "${raw}" (column ${names[labelAt]}) is not a number`);
    }
    const example = textAt.length === 1
      ? { text: text(fields[textAt[0]!]!), label: raw }
      : { a: text(fields[textAt[0]!]!), b: text(fields[textAt[1]!]!), label };
    located.push({ example, line });
  }
  requireExamples(file, table.lines, located.length, header ? 'rows after the header' : 'rows');
  return textAt.length === 1
    ? classificationDataset(file, format, located as Located<ClassificationExample>[], utf8, opts)
    : pairDataset(file, format, located as Located<PairExample>[], numeric, utf8, opts);
}

/** Reads a TSV table as classification examples (one text column) or pairs (two). */
export async function readTsv(path: string, opts: TableOptions = {}): Promise<ClassificationDataset | PairDataset> {
  if (opts.delimiter !== undefined) throw new RangeError(`${path}: delimiter is for CSV; TSV fields are separated by tabs`);
  return tableDataset(await readTsvRows(path), 'tsv', opts, opts);
}

/** Reads a CSV table (RFC 4180 quoting) as classification examples or pairs. */
export async function readCsv(path: string, opts: TableOptions = {}): Promise<ClassificationDataset | PairDataset> {
  return tableDataset(await readCsvRows(path, opts.delimiter), 'csv', opts, opts);
}
