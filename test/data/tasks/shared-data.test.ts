// Every task file in ../shared/data read through readTask, checked against the counts its SOURCE.md documents
// (sentences, tokens, documents, label counts). Skipped, saying so, where ../shared/data is not beside the project.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readTask, type ReadTaskOptions } from '../../../src/data/tasks/index.js';
import type { ClassificationDataset, PairDataset, SequenceDataset, TaskDataset } from '../../../src/data/tasks/index.js';

const DATA = resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data');

/** A test that reads ../shared/data/FILE, or is skipped with the reason. */
function onFile(name: string, file: string, options: ReadTaskOptions, check: (d: TaskDataset) => void): void {
  const path = join(DATA, file);
  const skip = !existsSync(DATA) ? `needs ../shared/data (${DATA}), the shared data sets beside the project; not there`
    : !existsSync(path) ? `needs ${path}, which is not there` : false;
  const given = Object.keys(options).length > 0 ? ` ${JSON.stringify(options)}` : '';
  test(`${name}: ${file}${given} matches its SOURCE.md`, { skip }, async () => {
    const d = await readTask(path, options);
    assert.deepEqual(d.utf8, { invalidSequences: 0, invalidBytes: 0 }, 'the task files are valid UTF-8');
    check(d);
  });
}

/** Entity mentions by type: the B- counts (IOB2). */
function entities(d: SequenceDataset): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [tag, n] of Object.entries(d.labelCounts)) if (tag.startsWith('B-')) out[tag.slice(2)] = n;
  return out;
}

onFile('CoNLL-2003 NER', 'conll2003-ner/train.txt.gz', { format: 'conll' }, (data) => {
  const d = data as SequenceDataset;
  assert.deepEqual(d.counts, { examples: 14041, tokens: 203621, documents: 946 });
  assert.deepEqual(entities(d), { LOC: 7140, MISC: 3438, ORG: 6321, PER: 6600 });
  assert.deepEqual(d.tagging, { scheme: 'IOB2', convertedTags: 0 }, 'this copy is IOB2 already (not the original IOB1)');
});

onFile('CoNLL-2003 NER', 'conll2003-ner/valid.txt', { format: 'conll', labelColumn: 'ner' }, (data) => {
  const d = data as SequenceDataset;
  assert.deepEqual(d.counts, { examples: 3250, tokens: 51362, documents: 216 });
  assert.deepEqual(entities(d), { LOC: 1837, MISC: 922, ORG: 1341, PER: 1842 });
  assert.deepEqual(d.tagging, { scheme: 'IOB2', convertedTags: 0 });
});

onFile('CoNLL-2000 chunking', 'conll2000-chunking/train.txt.gz', { format: 'conll' }, (data) => {
  const d = data as SequenceDataset;
  assert.deepEqual(d.counts, { examples: 8936, tokens: 211727, documents: 0 });
  assert.equal(Object.keys(entities(d)).length, 11, '11 chunk types');
  const top = Object.entries(d.labelCounts).sort((a, b) => b[1] - a[1]).slice(0, 5);
  assert.deepEqual(top, [['I-NP', 63307], ['B-NP', 55081], ['O', 27902], ['B-VP', 21467], ['B-PP', 21281]]);
  assert.equal(d.tagging.scheme, 'IOB2');
});

onFile('CoNLL-2000 chunking', 'conll2000-chunking/test.txt', { format: 'conll', labelColumn: 'pos' }, (data) => {
  const d = data as SequenceDataset;
  assert.deepEqual(d.counts, { examples: 2012, tokens: 47377, documents: 0 });
  assert.equal(d.tagging.scheme, 'none', 'the POS column');
});

onFile('UD English EWT', 'ud-english-ewt/en_ewt-ud-dev.conllu', {}, (data) => {
  const d = data as SequenceDataset;
  assert.equal(d.counts.examples, 2001);
  assert.equal(d.counts.tokens, 25147, 'syntactic words: ranges and empty nodes skipped');
  assert.ok(d.counts.multiwordTokens! > 0 && d.counts.emptyNodes! > 0, 'the dev file has both to skip');
  assert.deepEqual(d.labelCounts, {
    ADJ: 1865, ADP: 2039, ADV: 1231, AUX: 1567, CCONJ: 779, DET: 1900, INTJ: 115, NOUN: 4210, NUM: 383, PART: 647,
    PRON: 2225, PROPN: 1867, PUNCT: 3075, SCONJ: 397, SYM: 81, VERB: 2707, X: 59,
  });
  assert.equal(d.labels.length, 17);
});

onFile('MSRA NER (character BIO)', 'chinese-ner-msra/train.txt.gz', { format: 'char-bio', iob: 'keep' }, (data) => {
  const d = data as SequenceDataset;
  assert.equal(d.counts.examples, 49760, 'the first 49,760 of 55,289 sentences (SOURCE.md, "Split used here")');
  // SOURCE.md counts tags over the whole 55,289 sentences; this split holds part of each.
  const whole: Record<string, number> = { O: 2080575, 'B-LOC': 39394, 'I-LOC': 53792, 'B-ORG': 21902, 'I-ORG': 89255, 'B-PER': 19588, 'I-PER': 37974 };
  assert.deepEqual(d.labels, Object.keys(whole).sort());
  for (const [tag, n] of Object.entries(d.labelCounts)) assert.ok(n > 0.8 * whole[tag]! && n <= whole[tag]!, `${tag}: ${n} of ${whole[tag]}`);
  assert.ok(d.counts.tokens! < 2342480 && d.counts.tokens! > 0.85 * 2342480);
  // Not in SOURCE.md: this split's own counts, measured with awk (cut -f2 | sort | uniq -c) when this test was written.
  assert.equal(d.counts.tokens, 2130247);
  assert.deepEqual(d.labelCounts, { 'B-LOC': 36336, 'B-ORG': 20414, 'B-PER': 17342, 'I-LOC': 49118, 'I-ORG': 83024, 'I-PER': 33653, O: 1890360 });
  assert.ok(d.examples.every((e) => e.words.every((c) => [...c].length === 1)), 'one character a line');
  assert.equal(d.tagging.scheme, 'IOB2');
});

onFile('MSRA NER (character BIO)', 'chinese-ner-msra/train.txt.gz', { format: 'char-bio' }, (data) => {
  const d = data as SequenceDataset;
  // Six I- tags open an entity (after O or another type) in this split; by default they become B- (measured).
  assert.deepEqual(d.tagging, { scheme: 'IOB2', convertedTags: 6 });
  assert.equal(d.labelCounts['B-PER']! + d.labelCounts['B-ORG']! + d.labelCounts['B-LOC']!, 17342 + 20414 + 36336 + 6);
});

onFile('SST-2', 'sst-2/train.tsv.gz', {}, (data) => {
  const d = data as ClassificationDataset;
  assert.deepEqual([d.counts.examples, d.labelCounts], [67349, { 0: 29780, 1: 37569 }]);
  assert.ok(d.examples.every((e) => !e.text.includes('\r')), 'train.tsv has CRLF line ends; none is left');
});

onFile('SST-2', 'sst-2/dev.tsv', {}, (data) => {
  const d = data as ClassificationDataset;
  assert.deepEqual([d.counts.examples, d.labelCounts], [872, { 0: 428, 1: 444 }]);
});

onFile('ChnSentiCorp', 'chnsenticorp-htl/ChnSentiCorp_htl_all.csv.gz', {}, (data) => {
  const d = data as ClassificationDataset;
  assert.deepEqual([d.counts.examples, d.labelCounts], [7766, { 0: 2444, 1: 5322 }]);
  const mean = d.examples.reduce((s, e) => s + e.text.length, 0) / d.examples.length;
  assert.ok(Math.abs(mean - 128.5) < 0.5, `mean review length ${mean.toFixed(1)} (SOURCE.md: 128.5)`);
});

onFile('waimai_10k', 'waimai-10k/waimai_10k.csv', {}, (data) => {
  const d = data as ClassificationDataset;
  assert.deepEqual([d.counts.examples, d.labelCounts], [11987, { 0: 7987, 1: 4000 }]);
  const mean = d.examples.reduce((s, e) => s + e.text.length, 0) / d.examples.length;
  assert.ok(Math.abs(mean - 25.0) < 0.5, `mean review length ${mean.toFixed(1)} (SOURCE.md: 25.0)`);
});

onFile('MRPC', 'mrpc/msr_paraphrase_train.txt', {}, (data) => {
  const d = data as PairDataset;
  assert.equal(d.format, 'mrpc');
  assert.deepEqual([d.counts.examples, d.labelCounts], [4076, { 0: 1323, 1: 2753 }]);
  assert.ok(d.examples.every((e) => !`${e.a}${e.b}`.includes('<QUOTE>')), 'every <QUOTE> restored');
  assert.ok(d.examples.some((e) => e.a.includes('"')));
});

onFile('SICK', 'sick2014/SICK_train.txt', {}, (data) => {
  const d = data as PairDataset;
  assert.deepEqual([d.counts.examples, d.labelCounts], [4500, { CONTRADICTION: 665, ENTAILMENT: 1299, NEUTRAL: 2536 }]);
});

onFile('SICK', 'sick2014/SICK_trial.txt', { labelColumn: 'relatedness' }, (data) => {
  const d = data as PairDataset;
  assert.equal(d.counts.examples, 500);
  assert.equal(d.regression, true);
  assert.ok(d.scores!.min >= 1 && d.scores!.max <= 5, 'relatedness in [1, 5]');
});

onFile('SICK', 'sick2014/SICK_trial.txt', { labelColumn: 'entailment' }, (data) => {
  assert.deepEqual(data.labelCounts, { CONTRADICTION: 74, ENTAILMENT: 144, NEUTRAL: 282 });
});

onFile('LCQMC', 'lcqmc/dev.tsv', { header: false, textColumns: [0, 1], labelColumn: 2 }, (data) => {
  const d = data as PairDataset;
  assert.deepEqual([d.counts.examples, d.labelCounts], [8802, { 0: 4400, 1: 4402 }]);
});

onFile('AFQMC', 'afqmc/train.csv.gz', {}, (data) => {
  const d = data as PairDataset;
  assert.deepEqual([d.kind, d.counts.examples, d.labelCounts], ['pair', 34334, { 0: 23761, 1: 10573 }]);
});

onFile('AFQMC', 'afqmc/dev.csv', {}, (data) => {
  const d = data as PairDataset;
  assert.deepEqual([d.counts.examples, d.labelCounts], [4316, { 0: 2978, 1: 1338 }]);
});

onFile('SST-2 learning curve', 'sst-2/train.tsv.gz', { trainSize: 1000, seed: 1 }, (data) => {
  const d = data as ClassificationDataset;
  assert.equal(d.examples.length, 1000);
  assert.deepEqual(d.labelCounts, { 0: 442, 1: 558 }, '29,780 : 37,569 of 67,349, rounded to 1,000');
});
