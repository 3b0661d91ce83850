// The two sentence-pair files with a layout of their own: MRPC (msr_paraphrase_train/test.txt) and SICK
// (SemEval-2014 Task 1). Both are TSV read as table.ts reads it (tabs only, no quoting), with their columns fixed.
//
// MRPC: header `Quality<TAB>#1 ID<TAB>#2 ID<TAB>#1 String<TAB>#2 String`, Quality 1 = paraphrase, 0 = not.
// - The file starts with a UTF-8 BOM (EF BB BF); it is dropped, so the first column is `Quality`.
// - Double quotes are written as the token `<QUOTE>` in this copy; they are restored to `"` unless
//   `restoreQuotes: false` (the sentences are tokenised, so `<QUOTE> the witness <QUOTE>` reads `" the witness "`).
// - A header that is not MRPC's, or a row without its 5 fields, is an error naming the file and line.
// SICK: header `pair_ID<TAB>sentence_A<TAB>sentence_B<TAB>relatedness_score<TAB>entailment_judgment` (SICK.txt's
// `entailment_label` is accepted too, since columns are found by name).
// - `label: 'entailment'` (default) gives the 3-way NLI label (CONTRADICTION, ENTAILMENT, NEUTRAL) as a string;
//   `label: 'relatedness'` the score in [1, 5] as a number (regression); a score that is not a number is an error.
import { readTsvRows, tableDataset } from './table.js';
import { TaskFormatError, type CommonReadOptions, type PairDataset } from './types.js';

/** Options of readMrpc. */
export interface MrpcOptions extends CommonReadOptions {
  /** Turn `<QUOTE>` back into `"` (default true). */
  restoreQuotes?: boolean;
}

/** The MRPC header, as its files have it. */
export const MRPC_COLUMNS = ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'] as const;

/** Reads MRPC's msr_paraphrase_*.txt as pairs labelled '0' / '1'. */
export async function readMrpc(path: string, opts: MrpcOptions = {}): Promise<PairDataset> {
  const table = await readTsvRows(path);
  const head = table.rows[0];
  if (head && head.fields.map((f) => f.trim()).join('\t') !== MRPC_COLUMNS.join('\t')) {
    throw new TaskFormatError(table.file, head.line, `not MRPC's header: expected ${MRPC_COLUMNS.join(' | ')}, got ${head.fields.join(' | ')}`);
  }
  const restore = opts.restoreQuotes ?? true;
  const text = restore ? (s: string) => s.replaceAll('<QUOTE>', '"') : undefined;
  return tableDataset(table, 'mrpc', { textColumns: ['#1 String', '#2 String'], labelColumn: 'Quality', text }, opts) as PairDataset;
}

/** Options of readSick. */
export interface SickOptions extends CommonReadOptions {
  /** 'entailment' (default): the NLI label; 'relatedness': the score, as a number. */
  label?: 'entailment' | 'relatedness';
}

/** Reads SICK's SICK_train/trial/test.txt as pairs with the entailment label or the relatedness score. */
export async function readSick(path: string, opts: SickOptions = {}): Promise<PairDataset> {
  const label = opts.label ?? 'entailment';
  if (label !== 'entailment' && label !== 'relatedness') throw new RangeError(`${path}: SICK's label is 'entailment' or 'relatedness', got ${String(label)}`);
  const table = await readTsvRows(path);
  const names = table.rows[0]?.fields.map((f) => f.trim()) ?? [];
  const labelColumn = label === 'relatedness' ? 'relatedness_score' : names.includes('entailment_label') ? 'entailment_label' : 'entailment_judgment';
  return tableDataset(table, 'sick', {
    textColumns: ['sentence_A', 'sentence_B'],
    labelColumn,
    labelType: label === 'relatedness' ? 'number' : 'string',
  }, opts) as PairDataset;
}
