// Classification and pair readers on fixtures with the real formats' quirks: SST-2's TSV (CRLF, bare quotes),
// ChnSentiCorp's quoted CSV (.gz, commas, doubled quotes, a line break in a field), AFQMC's CSV and CLUE's JSON lines,
// LCQMC without a header, MRPC (BOM, <QUOTE>), SICK (entailment or relatedness), and JSON lines of each kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCsv, readJsonl, readMrpc, readSick, readTsv } from '../../../src/data/tasks/index.js';
import type { ClassificationDataset, PairDataset, SequenceDataset } from '../../../src/data/tasks/index.js';
import { fixture, rejectsAt, scratchFile } from './helpers.js';

test('SST-2 TSV: label<TAB>sentence with a header; CRLF stripped, a bare " kept, labels stay strings', async () => {
  const d = await readTsv(fixture('sst2-train.tsv')) as ClassificationDataset;
  assert.equal(d.kind, 'classification');
  assert.deepEqual(d.examples.map((e) => e.label), ['0', '0', '1', '1', '0']);
  assert.equal(d.examples[0]!.text, 'hide new secretions from the parental units');
  assert.equal(d.examples[3]!.text, 'the " best " movie of the year');
  assert.deepEqual(d.labels, ['0', '1']);
  assert.deepEqual(d.labelCounts, { 0: 3, 1: 2 });
  assert.deepEqual(d.counts, { examples: 5 });
  assert.ok(d.examples.every((e) => !e.text.includes('\r')));
  // dev's header says `content`, not `sentence`: the text column is still the one that is not `label`.
  const dev = await readTsv(fixture('sst2-dev.tsv')) as ClassificationDataset;
  assert.deepEqual(dev.examples, [{ text: "it 's a charming and often affecting journey .", label: '1' }, { text: 'unflinchingly bleak and desperate', label: '0' }]);
  const named = await readTsv(fixture('sst2-dev.tsv'), { textColumns: ['content'], labelColumn: 0 }) as ClassificationDataset;
  assert.deepEqual(named.examples, dev.examples);
});

test('ChnSentiCorp CSV (.gz): quoted fields with commas, doubled quotes and a CRLF line break', async () => {
  const d = await readCsv(fixture('chnsenticorp.csv.gz')) as ClassificationDataset;
  assert.deepEqual(d.examples, [
    { text: '距离川沙公路较近,但是公交指示不对,如果是"蔡陆线"的话,会非常麻烦.', label: '1' },
    { text: '商务大床房，房间很大，床有2M宽', label: '1' },
    { text: '房间很小,\n隔音差', label: '0' },
    { text: '早餐太差', label: '0' },
  ]);
  assert.deepEqual(d.labelCounts, { 0: 2, 1: 2 });
});

test('a CSV error after a quoted line break names the line its row starts on', async () => {
  const path = scratchFile('lines.csv', 'label,review\n1,"two\nlines"\n\n0\n1,ok\n');
  await rejectsAt(() => readCsv(path), path, 5, /missing column \(review\): 1 field, but the header \(line 1\) has 2/);
});

test('AFQMC CSV pairs (sentence1,sentence2,label); CLUE\'s JSON lines read as jsonl and are refused as CSV', async () => {
  const d = await readCsv(fixture('afqmc.csv')) as PairDataset;
  assert.equal(d.kind, 'pair');
  assert.equal(d.regression, false);
  assert.deepEqual(d.examples[1], { a: '花呗,借呗怎么开通', b: '借呗***元怎么还', label: '0' });
  assert.deepEqual(d.labelCounts, { 0: 2, 1: 1 });
  const clue = await readJsonl(fixture('afqmc_public.json')) as PairDataset;
  assert.deepEqual(clue.examples, [{ a: '双十一花呗提额在哪', b: '里可以提花呗额度', label: '0' }, { a: '花呗怎么还款', b: '怎么还花呗', label: '1' }]);
  await rejectsAt(() => readCsv(fixture('afqmc_public.json')), fixture('afqmc_public.json'), 1, /looks like JSON lines.*format 'jsonl'/);
});

test('LCQMC TSV without a header: columns by index; names refused', async () => {
  const d = await readTsv(fixture('lcqmc-dev.tsv'), { header: false, textColumns: [0, 1], labelColumn: 2 }) as PairDataset;
  assert.equal(d.examples.length, 3);
  assert.deepEqual(d.examples[0], { a: '开初婚未育证明怎么弄？', b: '初婚未育情况证明怎么开？', label: '1' });
  assert.deepEqual(d.labelCounts, { 0: 1, 1: 2 });
  await rejectsAt(() => readTsv(fixture('lcqmc-dev.tsv'), { header: false, textColumns: ['sentence1', 'sentence2'], labelColumn: 2 }), fixture('lcqmc-dev.tsv'), 1, /no header.*index/);
  await rejectsAt(() => readTsv(fixture('lcqmc-dev.tsv'), { header: false }), fixture('lcqmc-dev.tsv'), 1, /name the label column/);
});

test('MRPC: the BOM dropped, <QUOTE> restored to " (or kept), Quality as the label', async () => {
  const d = await readMrpc(fixture('msr_paraphrase_sample.txt'));
  assert.equal(d.examples.length, 3);
  assert.equal(d.examples[0]!.a, 'Amrozi accused his brother , whom he called " the witness " , of deliberately distorting his evidence .');
  assert.equal(d.examples[0]!.b, 'Referring to him as only " the witness " , Amrozi accused his brother of deliberately distorting his evidence .');
  assert.ok(d.examples.every((e) => !e.a.includes('<QUOTE>') && !e.b.includes('<QUOTE>')));
  assert.deepEqual(d.examples.map((e) => e.label), ['1', '0', '1']);
  assert.deepEqual(d.labels, ['0', '1']);
  const raw = await readMrpc(fixture('msr_paraphrase_sample.txt'), { restoreQuotes: false });
  assert.match(raw.examples[0]!.a, /<QUOTE> the witness <QUOTE>/);
});

test('SICK: the entailment label by default, the relatedness score as a number for regression', async () => {
  const nli = await readSick(fixture('SICK_sample.txt'));
  assert.deepEqual(nli.labels, ['CONTRADICTION', 'ENTAILMENT', 'NEUTRAL']);
  assert.deepEqual(nli.labelCounts, { CONTRADICTION: 1, ENTAILMENT: 1, NEUTRAL: 2 });
  assert.equal(nli.examples[2]!.b, 'The kids are playing outdoors near a man with a smile');
  const sts = await readSick(fixture('SICK_sample.txt'), { label: 'relatedness' });
  assert.equal(sts.regression, true);
  assert.deepEqual(sts.examples.map((e) => e.label), [4.5, 3.2, 4.7, 3.6]);
  assert.deepEqual(sts.labels, []);
  assert.equal(sts.scores!.min, 3.2);
  assert.equal(sts.scores!.max, 4.7);
  assert.ok(Math.abs(sts.scores!.mean - 4) < 1e-12);
});

test('JSON lines: classification (numeric labels become strings), sequences (integer tags), pairs with scores', async () => {
  const cls = await readJsonl(fixture('reviews.jsonl')) as ClassificationDataset;
  assert.deepEqual(cls.examples, [{ text: 'great little hotel', label: '1' }, { text: 'never again', label: '0' }, { text: 'fine, "quiet"', label: '1' }]);
  const ner = await readJsonl(fixture('ner.jsonl')) as SequenceDataset;
  assert.equal(ner.kind, 'sequence');
  assert.deepEqual(ner.examples[0], { words: ['EU', 'rejects', 'German', 'call'], labels: ['3', '0', '7', '0'] });
  assert.deepEqual(ner.labels, ['0', '1', '2', '3', '7'], 'numeric labels sort by number');
  const sts = await readJsonl(fixture('sts.jsonl'), { labelType: 'number' }) as PairDataset;
  assert.deepEqual(sts.examples.map((e) => e.label), [5, 0.4]);
  assert.equal(sts.regression, true);
  const asClasses = await readJsonl(fixture('sts.jsonl')) as PairDataset;
  assert.deepEqual(asClasses.labels, ['0.4', '5']);
  const chosen = await readJsonl(fixture('reviews.jsonl'), { textColumns: ['text'], labelColumn: 'id' }).catch((e: Error) => e);
  assert.ok(chosen instanceof Error && /:1: missing field "id" \(the object has text, label\)/.test(chosen.message), String(chosen));
});

test('labels from another split: a fixed label set is kept in its order, and an unknown label names its line', async () => {
  const d = await readTsv(fixture('sst2-train.tsv'), { labels: ['1', '0', '2'] }) as ClassificationDataset;
  assert.deepEqual(d.labels, ['1', '0', '2']);
  assert.deepEqual(d.labelCounts, { 1: 2, 0: 3, 2: 0 });
  await rejectsAt(() => readTsv(fixture('sst2-train.tsv'), { labels: ['0'] }), fixture('sst2-train.tsv'), 4, /label "1" is not in the label set given \(0\)/);
});
