// Malformed input: every reader's error names the file and the line to blame (the file alone where there is none).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readCharBio, readConll, readConllu, readCsv, readJsonl, readMrpc, readSick, readTask, readTsv, TaskFormatError } from '../../../src/data/tasks/index.js';
import { rejectsAt, scratchFile } from './helpers.js';

test('token and label count mismatch on a line: CoNLL, character BIO and JSON-lines sentences', async () => {
  const conll = scratchFile('short.txt', 'EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nBlackburn NNP I-NP\n');
  await rejectsAt(() => readConll(conll), conll, 3, /3 columns, expected 4 as on line 1/);
  const bio = scratchFile('short.bio', '北\tB-LOC\n京\n');
  await rejectsAt(() => readCharBio(bio), bio, 2, /a character without a tag/);
  const bioEmptyTag = scratchFile('empty-tag.bio', '北\tB-LOC\n京\t\n');
  await rejectsAt(() => readCharBio(bioEmptyTag), bioEmptyTag, 2, /a character without a tag/);
  const bioExtra = scratchFile('extra.bio', '北\tB-LOC\tX\n');
  await rejectsAt(() => readCharBio(bioExtra), bioExtra, 1, /3 fields/);
  const jsonl = scratchFile('mismatch.jsonl', '{"words": ["a"], "labels": ["O"]}\n{"words": ["EU", "rejects", "German"], "labels": ["B-ORG", "O"]}\n');
  await rejectsAt(() => readJsonl(jsonl), jsonl, 2, /3 words \("words"\) but 2 labels \("labels"\)/);
});

test('a missing column: by name, by index, and a row short of the header', async () => {
  const tsv = scratchFile('sst.tsv', 'label\tsentence\n1\tgood\n0\n');
  await rejectsAt(() => readTsv(tsv, { labelColumn: 'sentiment' }), tsv, 1, /no label column named "sentiment": the columns are label, sentence/);
  await rejectsAt(() => readTsv(tsv, { textColumns: [5] }), tsv, 1, /text column 5 is missing: the line has 2 columns/);
  await rejectsAt(() => readTsv(tsv), tsv, 3, /missing column \(sentence\): 1 field, but the header \(line 1\) has 2/);
  const conll = scratchFile('cols.txt', '\n\nEU NNP B-NP B-ORG\n');
  await rejectsAt(() => readConll(conll, { labelColumn: 7 }), conll, 3, /label column 7 is missing: the line has 4 columns \(0-3: token, pos, chunk, ner\)/);
  await rejectsAt(() => readConll(conll, { labelColumn: 'lemma' }), conll, 3, /no label column named "lemma"/);
  const conllu = scratchFile('cols.conllu', '1\tHi\thi\tINTJ\tUH\t_\t0\troot\t0:root\t_\n');
  await rejectsAt(() => readConllu(conllu, { labelColumn: 'tag' }), conllu, 1, /no label column named "tag": the columns are id, form/);
  const jsonl = scratchFile('nolabel.jsonl', '{"text": "a"}\n');
  await rejectsAt(() => readJsonl(jsonl), jsonl, 1, /name the label field \(labelColumn\): the object has text/);
  const sick = scratchFile('SICK_bad.txt', 'pair_ID\tsentence_A\tsentence_B\tentailment_judgment\n1\ta\tb\tNEUTRAL\n');
  await rejectsAt(() => readSick(sick, { label: 'relatedness' }), sick, 1, /no label column named "relatedness_score"/);
});

test('an empty file, and a file with no examples in its lines', async () => {
  const empty = scratchFile('empty.txt', '');
  for (const read of [readConll, readConllu, readCharBio, readTsv, readCsv, readJsonl, readMrpc, readSick]) {
    await rejectsAt(() => read(empty), empty, null, /empty file \(0 lines, no examples\)/);
  }
  const blank = scratchFile('blank.txt', '\n\n-DOCSTART- -X- -X- O\n\n');
  await rejectsAt(() => readConll(blank), blank, 4, /no sentences in the file's 4 lines/);
  const header = scratchFile('header.csv', 'label,review\n');
  await rejectsAt(() => readCsv(header), header, 1, /no rows after the header/);
  const comments = scratchFile('comments.conllu', '# sent_id = 1\n# text = nothing\n');
  await rejectsAt(() => readConllu(comments), comments, 2, /no sentences/);
});

test('malformed rows: CSV quotes, JSON, CoNLL-U columns and IDs, MRPC header, labels that are empty or not numbers', async () => {
  const unclosed = scratchFile('unclosed.csv', 'label,review\n1,fine\n\n0,"never closed\n1,more\n');
  await rejectsAt(() => readCsv(unclosed), unclosed, 4, /quoted field opened in the row starting here is not closed/);
  const badQuote = scratchFile('quote.csv', 'label,review\n1,fine\n0,bad"quote"here\n');
  await rejectsAt(() => readCsv(badQuote), badQuote, 3, /malformed CSV/);
  const json = scratchFile('bad.jsonl', '{"text": "a", "label": 1}\n{"text": "b", label: 0}\n');
  await rejectsAt(() => readJsonl(json), json, 2, /not valid JSON/);
  const array = scratchFile('array.jsonl', '["a", 1]\n');
  await rejectsAt(() => readJsonl(array), array, 1, /a JSON array, expected an object/);
  const type = scratchFile('type.jsonl', '{"text": "a", "label": 1}\n{"text": ["b"], "label": 0}\n');
  await rejectsAt(() => readJsonl(type), type, 2, /field "text" is an array, expected a string/);
  const nine = scratchFile('nine.conllu', '# text = Hi\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t0:root\n');
  await rejectsAt(() => readConllu(nine), nine, 2, /9 tab-separated columns, expected 10/);
  const spaces = scratchFile('spaces.conllu', '1 Hi hi INTJ UH _ 0 root 0:root _\n');
  await rejectsAt(() => readConllu(spaces), spaces, 1, /1 tab-separated column, expected 10/);
  const ids = scratchFile('ids.conllu', '1\tA\ta\tDET\tDT\t_\t2\tdet\t2:det\t_\n3\tdog\tdog\tNOUN\tNN\t_\t0\troot\t0:root\t_\n');
  await rejectsAt(() => readConllu(ids), ids, 2, /word ID "3", expected 2/);
  const mrpc = scratchFile('msr_paraphrase_bad.txt', 'label\tsentence1\tsentence2\n1\ta\tb\n');
  await rejectsAt(() => readMrpc(mrpc), mrpc, 1, /not MRPC's header/);
  const mrpcRow = scratchFile('msr_paraphrase_row.txt', 'Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tonly one sentence\n');
  await rejectsAt(() => readMrpc(mrpcRow), mrpcRow, 2, /missing column \(#2 String\)/);
  const score = scratchFile('SICK_score.txt', 'pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n1\ta\tb\t4.5\tNEUTRAL\n2\tc\td\tn/a\tNEUTRAL\n');
  await rejectsAt(() => readSick(score, { label: 'relatedness' }), score, 3, /label "n\/a" \(column relatedness_score\) is not a number/);
  const emptyLabel = scratchFile('empty-label.tsv', 'label\tsentence\n \tgood\n');
  await rejectsAt(() => readTsv(emptyLabel), emptyLabel, 2, /empty label \(column label\)/);
  const tabs = scratchFile('tabs.tsv', 'label\tsentence\n1\tgood\n   \n\t\n');
  await rejectsAt(() => readTsv(tabs), tabs, 4, /empty label/);
  const extra = scratchFile('extra.tsv', 'label\tsentence\n1\tgood\tand\tmore\n');
  await rejectsAt(() => readTsv(extra), extra, 2, /extra fields: 4 fields, but the header \(line 1\) has 2/);
  const unknown = scratchFile('unknown.tsv', 'label\tsentence\n1\tgood\n');
  await rejectsAt(() => readTsv(unknown, { labels: ['0'] }), unknown, 2, /label "1" is not in the label set/);
});

test('paths: a missing file and a folder are errors naming the path; errors are TaskFormatErrors with file and line', async () => {
  const missing = join(dirname(scratchFile('x.txt', '')), 'nope.tsv');
  await assert.rejects(() => readTsv(missing), (e: Error) => e.message.startsWith(`${missing}: no such file`));
  const folder = join(dirname(scratchFile('y.txt', '')), 'folder');
  mkdirSync(folder, { recursive: true });
  scratchFile('folder/a.tsv', 'label\tsentence\n1\ta\n');
  await assert.rejects(() => readTask(folder, { format: 'tsv' }), (e: Error) => e.message.startsWith(`${folder}: is a folder`));
  const bad = scratchFile('bad-line.conll', 'a B-X\nb\n');
  const err = await readConll(bad).catch((e: unknown) => e);
  assert.ok(err instanceof TaskFormatError);
  assert.equal(err.file, bad);
  assert.equal(err.line, 2);
});
