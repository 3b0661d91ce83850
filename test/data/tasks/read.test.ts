// readTask's dispatch (formats told by name, options checked per format), the trainSize samples for learning
// curves, and that the readers load in a browser bundle (csv-parse is loaded only when a CSV is read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { detectTaskFormat, readTask, sampleIndices, sortLabels, TASK_FORMATS } from '../../../src/data/tasks/index.js';
import type { ClassificationDataset, PairDataset, SequenceDataset } from '../../../src/data/tasks/index.js';
import { fixture } from './helpers.js';

test('detectTaskFormat tells a format by extension or data-set name, and nothing where the name is ambiguous', () => {
  const cases: [string, string | undefined][] = [
    ['ud/en_ewt-ud-dev.conllu', 'conllu'], ['train.conllu.gz', 'conllu'], ['data.jsonl', 'jsonl'], ['x.NDJSON', 'jsonl'],
    ['sst-2/train.tsv.gz', 'tsv'], ['ChnSentiCorp_htl_all.csv.gz', 'csv'], ['mrpc/msr_paraphrase_train.txt', 'mrpc'],
    ['sick2014/SICK_trial.txt', 'sick'], ['conll2003/train.txt.gz', undefined], ['msra/train.txt', undefined],
    ['afqmc/train.json', undefined], ['README', undefined],
  ];
  for (const [path, format] of cases) assert.equal(detectTaskFormat(path), format, path);
});

test('readTask dispatches on the name, or the format given; an ambiguous name lists every format', async () => {
  const sick = await readTask(fixture('SICK_sample.txt'), { labelColumn: 'relatedness' }) as PairDataset;
  assert.equal(sick.format, 'sick');
  assert.equal(sick.regression, true);
  const mrpc = await readTask(fixture('msr_paraphrase_sample.txt'));
  assert.equal(mrpc.format, 'mrpc');
  const ud = await readTask(fixture('en-ewt.conllu'), { labelColumn: 'xpos', textColumns: ['lemma'] }) as SequenceDataset;
  assert.deepEqual(ud.examples[0]!.words, ['I', 'do', 'not', 'know', '.']);
  const lcqmc = await readTask(fixture('lcqmc-dev.tsv'), { header: false, textColumns: [0, 1], labelColumn: 2 });
  assert.equal(lcqmc.kind, 'pair');
  const csv = await readTask(fixture('chnsenticorp.csv.gz'));
  assert.equal(csv.kind, 'classification');
  const conll = await readTask(fixture('conll2003-iob1.txt'), { format: 'conll', labelColumn: 'ner', iob: 'keep' }) as SequenceDataset;
  assert.equal(conll.examples[0]!.labels[0], 'I-ORG');
  const bio = await readTask(fixture('msra-char.txt'), { format: 'char-bio' });
  assert.equal(bio.format, 'char-bio');
  const clue = await readTask(fixture('afqmc_public.json'), { format: 'jsonl' });
  assert.equal(clue.kind, 'pair');

  // a .txt of columns is told by its lines: CoNLL's word and tags, or MSRA's character and tag
  assert.equal((await readTask(fixture('conll2000.txt'))).format, 'conll');
  assert.equal((await readTask(fixture('conll2003-iob2.txt.gz'))).format, 'conll');
  assert.equal((await readTask(fixture('msra-char.txt'))).format, 'char-bio');
  const prose = join(mkdtempSync(join(tmpdir(), 'sniff-')), 'notes.txt');
  writeFileSync(prose, 'This is a sentence of prose, not columns.\nAnd another one here.\n');
  await assert.rejects(() => readTask(prose), (e: Error) => {
    assert.ok(e.message.startsWith(`${prose}: cannot tell the task format`), e.message);
    for (const f of TASK_FORMATS) assert.ok(e.message.includes(f), `lists ${f}`);
    return true;
  });
  await assert.rejects(() => readTask(fixture('conll2000.txt'), { format: 'xml' as never }), /unknown task format "xml"/);
});

test('readTask refuses options the format does not take, and undefined options are ignored', async () => {
  await assert.rejects(() => readTask(fixture('conll2000.txt'), { format: 'conll', header: false }), /option header does not apply to format conll/);
  await assert.rejects(() => readTask(fixture('msra-char.txt'), { format: 'char-bio', labelColumn: 1 }), /option labelColumn does not apply to format char-bio/);
  await assert.rejects(() => readTask(fixture('sst2-dev.tsv'), { delimiter: ';' }), /option delimiter does not apply to format tsv/);
  await assert.rejects(() => readTask(fixture('SICK_sample.txt'), { labelColumn: 'score' }), /SICK's labelColumn is 'entailment' or 'relatedness'/);
  await assert.rejects(() => readTask(fixture('en-ewt.conllu'), { textColumns: ['form', 'lemma'] }), /takes one word column in textColumns, got 2/);
  await assert.rejects(() => readTask(fixture('reviews.jsonl'), { labelColumn: 1 }), /JSON fields are named/);
  const d = await readTask(fixture('conll2000.txt'), { format: 'conll', header: undefined, delimiter: undefined });
  assert.equal(d.kind, 'sequence');
});

test('sampleIndices: stratified shares follow the labels, samples are seeded and nested as the size grows', () => {
  const strata = [...Array(70).fill('a'), ...Array(30).fill('b')] as string[];
  const ten = sampleIndices(100, 10, 5, strata);
  assert.equal(ten.filter((i) => strata[i] === 'a').length, 7);
  assert.equal(ten.filter((i) => strata[i] === 'b').length, 3);
  assert.deepEqual(sampleIndices(100, 10, 5, strata), ten, 'the same seed gives the same sample');
  assert.notDeepEqual(sampleIndices(100, 10, 6, strata), ten, 'another seed another sample');
  assert.deepEqual(ten, [...ten].sort((x, y) => x - y), 'in file order');
  for (const labels of [strata, undefined]) {
    let prev: number[] = [];
    for (let n = 0; n <= 100; n++) {
      const s = sampleIndices(100, n, 11, labels);
      assert.equal(new Set(s).size, n);
      assert.ok(prev.every((i) => s.includes(i)), `size ${n} holds size ${n - 1}${labels ? ' (stratified)' : ''}`);
      if (labels) {
        const a = s.filter((i) => strata[i] === 'a').length;
        assert.ok(Math.abs(a - 0.7 * n) <= 1, `size ${n}: ${a} of label a`);
      }
      prev = s;
    }
  }
  // A rare label still gets its share once the sample is large enough, and never more than it has.
  const rare = [...Array(98).fill('x'), 'y', 'y'] as string[];
  assert.equal(sampleIndices(100, 50, 1, rare).filter((i) => rare[i] === 'y').length, 1);
  assert.equal(sampleIndices(100, 100, 1, rare).filter((i) => rare[i] === 'y').length, 2);
  assert.throws(() => sampleIndices(3, 4, 0), /size must be in \[0, 3\]/);
});

test('trainSize: a stratified sample for classification and pairs, a plain one for sentences; the label set stays whole', async () => {
  const full = await readTask(fixture('sst2-train.tsv')) as ClassificationDataset;
  const two = await readTask(fixture('sst2-train.tsv'), { trainSize: 2, seed: 3 }) as ClassificationDataset;
  assert.equal(two.examples.length, 2);
  assert.deepEqual(two.labelCounts, { 0: 1, 1: 1 }, '3:2 of five gives one of each in two');
  assert.deepEqual(two.sample, { size: 2, seed: 3, stratified: true });
  assert.deepEqual(two.counts, { examples: 5 });
  assert.ok(two.examples.every((e) => full.examples.some((f) => f.text === e.text)));
  assert.deepEqual((await readTask(fixture('sst2-train.tsv'), { trainSize: 2, seed: 3 })).examples, two.examples);

  const one = await readTask(fixture('conll2003-iob1.txt'), { format: 'conll', trainSize: 1, seed: 0 }) as SequenceDataset;
  assert.equal(one.examples.length, 1);
  assert.deepEqual(one.sample, { size: 1, seed: 0, stratified: false });
  assert.deepEqual(one.labels, ['B-LOC', 'B-MISC', 'B-ORG', 'B-PER', 'I-PER', 'O'], 'labels of the whole file');
  const total = Object.values(one.labelCounts).reduce((s, n) => s + n, 0);
  assert.equal(total, one.examples[0]!.words.length, 'label counts are the sample\'s');
  const seeds = new Set<string>();
  for (let seed = 0; seed < 12; seed++) {
    const d = await readTask(fixture('conll2003-iob1.txt'), { format: 'conll', trainSize: 1, seed }) as SequenceDataset;
    seeds.add(d.examples[0]!.words.join(' '));
  }
  assert.ok(seeds.size > 1, 'seeds draw different sentences');

  const sts = await readTask(fixture('SICK_sample.txt'), { labelColumn: 'relatedness', trainSize: 2 }) as PairDataset;
  assert.equal(sts.sample!.stratified, false, 'scores are sampled plainly');
  assert.equal(sts.examples.length, 2);

  await assert.rejects(() => readTask(fixture('sst2-train.tsv'), { trainSize: 6 }), /trainSize 6 is more than the 5 examples/);
  await assert.rejects(() => readTask(fixture('sst2-train.tsv'), { trainSize: 0 }), /trainSize must be a positive integer/);
  await assert.rejects(() => readTask(fixture('sst2-train.tsv'), { trainSize: 2.5 }), /trainSize must be a positive integer/);
});

test('sortLabels: by number when every label is one, else by code units', () => {
  assert.deepEqual(sortLabels(['10', '2', '1', '0']), ['0', '1', '2', '10']);
  assert.deepEqual(sortLabels(['O', 'I-PER', 'B-PER', 'B-LOC']), ['B-LOC', 'B-PER', 'I-PER', 'O']);
  assert.deepEqual(sortLabels(['neutral', '1', 'Entailment']), ['1', 'Entailment', 'neutral']);
});

test('the readers bundle for the browser with no Node built-in and load in a bare context (csv-parse loads on use)', async () => {
  const builtins: string[] = [];
  const result = await build({
    entryPoints: [new URL('../../../src/data/tasks/index.ts', import.meta.url).pathname],
    bundle: true, platform: 'browser', format: 'iife', globalName: 'tasks', write: false, logLevel: 'silent',
    plugins: [{
      name: 'record-node-builtins',
      setup(b) {
        b.onResolve({ filter: /^node:|^(fs|path|zlib|stream|buffer|util)$/ }, (args) => {
          builtins.push(`${args.importer} imports ${args.path}`);
          return { path: args.path, external: true };
        });
      },
    }],
  });
  assert.deepEqual(builtins, []);
  const code = result.outputFiles[0]!.text;
  assert.match(code, /csv-parse|Quote Not Closed/, 'csv-parse is in the bundle');
  const context: Record<string, unknown> = { TextDecoder, TextEncoder, console };
  runInNewContext(code, context); // no Buffer here: csv-parse's module body (Buffer.from at its top) must not run yet
  const lib = context.tasks as typeof import('../../../src/data/tasks/index.js');
  assert.equal(typeof lib.readTask, 'function');
  assert.deepEqual(JSON.parse(JSON.stringify(lib.sortLabels(['b', 'a']))), ['a', 'b']);
});
