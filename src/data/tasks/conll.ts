// CoNLL column files (CoNLL-2003 NER, CoNLL-2000 chunking, and their POS column): one word a line, its columns
// separated by spaces or tabs, a blank line between sentences.
//
// Quirks handled:
// - `-DOCSTART- -X- -X- O` lines (between CoNLL-2003's documents) are skipped, counted as documents, and end a sentence.
// - Runs of blank lines, and blank lines at the start or end, make no empty sentences.
// - Columns are picked by index or by name: by default the names follow the column count (4: token pos chunk ner, as
//   CoNLL-2003; 3: token pos chunk, as CoNLL-2000; 2: token tag), `columnNames` gives others. The tag column defaults
//   to the last one, the word column to the first.
// - The tag column's scheme is detected and reported; IOB1 tags (the original CoNLL-2003 release: a chunk opens with
//   I-) become IOB2 unless `iob: 'keep'` (see labels.ts). ../shared/data/conll2003-ner is already IOB2 (every entity
//   opens with B-), so there nothing is rewritten; the POS column reads as scheme 'none' and is never touched.
// - A line with another column count than the file's first word line is an error naming the file and line.
// - .gz, CRLF, a BOM and invalid UTF-8 (replaced, counted) come from the shared line reader.
import { readTaskLines, requireExamples, sequenceDataset, type Located, type SequenceReadOptions } from './source.js';
import { TaskFormatError, type ColumnRef, type SequenceDataset, type SequenceExample } from './types.js';

/** Options of readConll. */
export interface ConllOptions extends SequenceReadOptions {
  /** The tag column, by name or 0-based index; default the last column. */
  labelColumn?: ColumnRef;
  /** The word column, by name or 0-based index; default 0. */
  tokenColumn?: ColumnRef;
  /** Names of the file's columns (default: by column count, see the file comment). */
  columnNames?: readonly string[];
}

/** The column names a CoNLL file gets by its column count. */
export function defaultConllColumns(count: number): string[] {
  if (count === 4) return ['token', 'pos', 'chunk', 'ner'];
  if (count === 3) return ['token', 'pos', 'chunk'];
  if (count === 2) return ['token', 'tag'];
  return Array.from({ length: count }, (_, i) => (i === 0 ? 'token' : `col${i}`));
}

/** A column reference resolved against names; `what` and the line go into the error. */
export function resolveColumn(ref: ColumnRef, names: readonly string[], file: string, line: number, what: string): number {
  if (typeof ref === 'number') {
    if (!Number.isInteger(ref) || ref < 0 || ref >= names.length) {
      throw new TaskFormatError(file, line, `${what} ${ref} is missing: the line has ${names.length} columns (0-${names.length - 1}: ${names.join(', ')})`);
    }
    return ref;
  }
  let i = names.indexOf(ref);
  if (i < 0) i = names.findIndex((n) => n.toLowerCase() === ref.toLowerCase());
  if (i < 0) throw new TaskFormatError(file, line, `no ${what} named "${ref}": the columns are ${names.join(', ')}`);
  return i;
}

/** Reads a CoNLL column file as sentences of words and tags. */
export async function readConll(path: string, opts: ConllOptions = {}): Promise<SequenceDataset> {
  const { file, lines, utf8 } = await readTaskLines(path);
  const located: Located<SequenceExample>[] = [];
  let documents = 0;
  let columns = 0, firstLine = 0, tokenAt = 0, labelAt = 0;
  let words: string[] = [], labels: string[] = [], start = 0;
  const flush = () => {
    if (words.length > 0) located.push({ example: { words, labels }, line: start });
    words = []; labels = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.replace(/^[ \t]+|[ \t]+$/g, '');
    if (text === '') { flush(); continue; }
    const fields = text.split(/[ \t]+/);
    if (fields[0] === '-DOCSTART-') { flush(); documents++; continue; }
    const line = i + 1;
    if (columns === 0) {
      columns = fields.length; firstLine = line;
      const names = opts.columnNames ? [...opts.columnNames] : defaultConllColumns(columns);
      if (names.length !== columns) {
        throw new TaskFormatError(file, line, `${columns} columns, but columnNames names ${names.length} (${names.join(', ')})`);
      }
      if (columns < 2) throw new TaskFormatError(file, line, 'one column: a CoNLL line needs a word and at least one tag column');
      tokenAt = resolveColumn(opts.tokenColumn ?? 0, names, file, line, 'token column');
      labelAt = resolveColumn(opts.labelColumn ?? columns - 1, names, file, line, 'label column');
      if (tokenAt === labelAt) throw new TaskFormatError(file, line, `the token and label columns are both column ${tokenAt} (${names[tokenAt]})`);
    }
    if (fields.length !== columns) {
      throw new TaskFormatError(file, line, `${fields.length} column${fields.length === 1 ? '' : 's'}, expected ${columns} as on line ${firstLine} (a word and its tags, separated by spaces or tabs)`);
    }
    if (words.length === 0) start = line;
    words.push(fields[tokenAt]!);
    labels.push(fields[labelAt]!);
  }
  flush();
  requireExamples(file, lines.length, located.length, 'sentences');
  return sequenceDataset(file, 'conll', located, { documents }, utf8, opts);
}
