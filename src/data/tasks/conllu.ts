// CoNLL-U (Universal Dependencies) for POS tagging: 10 tab-separated columns a word (ID FORM LEMMA UPOS XPOS FEATS
// HEAD DEPREL DEPS MISC), `#` comment lines before each sentence, a blank line between sentences.
//
// Quirks handled:
// - Comment lines (`# sent_id = ...`, `# text = ...`) are skipped and counted.
// - Multiword-token ranges (ID `3-4`: "don't" over the words "do" and "n't") are skipped: the syntactic words that
//   follow carry the tags. Empty nodes (ID `5.1`, enhanced graphs only) are skipped. Both are counted.
// - The tag column is UPOS by default; `labelColumn: 'xpos'` (or any column name or index) picks another, and
//   `tokenColumn` another word column (default FORM). Forms may hold spaces; only tabs separate columns.
// - A word line without 10 columns, or whose ID is not the next word of its sentence, is an error naming the file
//   and line. The last sentence needs no blank line after it.
// - .gz, CRLF, a BOM and invalid UTF-8 (replaced, counted) come from the shared line reader.
import { resolveColumn } from './conll.js';
import { readTaskLines, requireExamples, sequenceDataset, type Located, type SequenceReadOptions } from './source.js';
import { TaskFormatError, type ColumnRef, type SequenceDataset, type SequenceExample } from './types.js';

/** The CoNLL-U columns, by the names `labelColumn` and `tokenColumn` take (case-insensitive). */
export const CONLLU_COLUMNS = ['id', 'form', 'lemma', 'upos', 'xpos', 'feats', 'head', 'deprel', 'deps', 'misc'] as const;

/** Options of readConllu. */
export interface ConlluOptions extends SequenceReadOptions {
  /** The tag column: 'upos' (default), 'xpos', another column name, or a 0-based index. */
  labelColumn?: ColumnRef;
  /** The word column: 'form' (default), 'lemma', or an index. */
  tokenColumn?: ColumnRef;
}

/** Reads a CoNLL-U file as sentences of words and POS tags. */
export async function readConllu(path: string, opts: ConlluOptions = {}): Promise<SequenceDataset> {
  const { file, lines, utf8 } = await readTaskLines(path);
  const located: Located<SequenceExample>[] = [];
  let comments = 0, multiwordTokens = 0, emptyNodes = 0;
  let tokenAt = -1, labelAt = -1;
  let words: string[] = [], labels: string[] = [], start = 0;
  const flush = () => {
    if (words.length > 0) located.push({ example: { words, labels }, line: start });
    words = []; labels = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const line = i + 1;
    if (text.trim() === '') { flush(); continue; }
    if (text.startsWith('#')) { comments++; continue; }
    const fields = text.split('\t');
    if (fields.length !== 10) {
      throw new TaskFormatError(file, line, `${fields.length} tab-separated column${fields.length === 1 ? '' : 's'}, expected 10 (${CONLLU_COLUMNS.join(' ').toUpperCase()})`);
    }
    if (tokenAt < 0) {
      tokenAt = resolveColumn(opts.tokenColumn ?? 'form', CONLLU_COLUMNS, file, line, 'token column');
      labelAt = resolveColumn(opts.labelColumn ?? 'upos', CONLLU_COLUMNS, file, line, 'label column');
    }
    const id = fields[0]!;
    if (/^\d+-\d+$/.test(id)) { multiwordTokens++; continue; }
    if (/^\d+\.\d+$/.test(id)) { emptyNodes++; continue; }
    if (id !== String(words.length + 1)) {
      throw new TaskFormatError(file, line, `word ID "${id}", expected ${words.length + 1} (IDs count 1, 2, ... in each sentence; ranges like 3-4 and empty nodes like 5.1 are skipped)`);
    }
    if (words.length === 0) start = line;
    words.push(fields[tokenAt]!);
    labels.push(fields[labelAt]!);
  }
  flush();
  requireExamples(file, lines.length, located.length, 'sentences');
  return sequenceDataset(file, 'conllu', located, { multiwordTokens, emptyNodes, comments }, utf8, opts);
}
