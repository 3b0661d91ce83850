// `pretrain probe polysemy | layers` on inputs made here: a tiny BERT directory, word vectors, tagged sentences in
// CoNLL-U and CoNLL-2003 columns, and the hand-written polysemy set (test/fixtures/probes); every option, the JSON
// and table outputs, and the errors of options that do not apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/tensor/index.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { savePretrained } from '../../src/models/pretrained.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const POLYSEMY = fileURLToPath(new URL('../fixtures/probes/polysemy.json', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
function json(...args: string[]): Record<string, unknown> {
  const r = run(...args, '--json');
  assert.equal(r.status, 0, `pretrain ${args.join(' ')}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}
type Layers = { layer: number; accuracy?: number; dev_accuracy?: number; train_accuracy?: number }[];

const TAGGED = [['the', 'DET', 'DT'], ['cat', 'NOUN', 'NN'], ['sat', 'VERB', 'VBD'], ['.', 'PUNCT', '.']] as const;

/** A directory with a tiny BERT over the words of the inputs below, tagged sentences in two formats, and word vectors. */
async function inputs() {
  const dir = mkdtempSync(join(tmpdir(), 'cli-probe-'));
  const words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', 'the', 'a', 'river', 'bank', 'savings', 'bat', 'vampire', 'cricket', 'cat', 'dog', 'sat', 'ran'];
  writeFileSync(join(dir, 'vocab.txt'), `${words.join('\n')}\n`);
  T.manualSeed(1);
  await savePretrained(new BertForPreTraining(bertConfig({ vocab_size: words.length, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
    intermediate_size: 32, max_position_embeddings: 32 })), join(dir, 'bert'));
  writeFileSync(join(dir, 'bert', 'vocab.txt'), `${words.join('\n')}\n`);
  const sentence = (i: number, format: 'conllu' | 'conll') => TAGGED.map(([w, upos, xpos], k) => {
    const word = k === 1 ? ['cat', 'dog'][i % 2]! : k === 2 ? ['sat', 'ran'][i % 2]! : w;
    return format === 'conllu' ? `${k + 1}\t${word}\t${word}\t${upos}\t${xpos}\t_\t0\t_\t_\t_` : `${word} ${xpos} O O`;
  }).join('\n');
  writeFileSync(join(dir, 'tags.conllu'), Array.from({ length: 20 }, (_, i) => sentence(i, 'conllu')).join('\n\n') + '\n');
  writeFileSync(join(dir, 'train.txt'), `-DOCSTART- -X- -X- O\n\n${Array.from({ length: 12 }, (_, i) => sentence(i, 'conll')).join('\n\n')}\n`);
  writeFileSync(join(dir, 'dev.txt'), `${Array.from({ length: 4 }, (_, i) => sentence(i, 'conll')).join('\n\n')}\n`);
  const vocab = ['the', 'river', 'bank', 'savings', 'we', 'sat', 'by', 'a', 'in', 'spring', 'was', 'muddy', 'my', 'is', 'closed', 'opened', 'late', 'plane', 'went', 'into'];
  writeFileSync(join(dir, 'v.txt'), `${vocab.length} 4\n${vocab.map((w, i) => `${w} ${[1, 2, 3, 4].map((k) => Math.sin(i * 7 + k).toFixed(4)).join(' ')}`).join('\n')}\n`);
  const bank = JSON.parse(readFileSync(POLYSEMY, 'utf8')).bank;
  writeFileSync(join(dir, 'bank.json'), JSON.stringify({ bank }));
  return dir;
}

test('pretrain probe polysemy: per-layer accuracy beside the hand-computed chance; word vectors score chance; a table without --json', async () => {
  const dir = await inputs();
  const bert = json('probe', 'polysemy', '--model', join(dir, 'bert'), '--data', POLYSEMY, '--batch', '3');
  assert.equal((bert.layers as Layers).length, 3);
  assert.ok(Math.abs((bert.chance as number) - (3 * 2 / 5 + 2 / 5 + 8 / 3) / 13) < 1e-9);
  assert.equal(bert.queries, 13);
  assert.equal(bert.not_found, 1);
  assert.equal(bert.encoder, 'bert');
  const vectors = json('probe', 'polysemy', '--model', join(dir, 'v.txt'), '--data', join(dir, 'bank.json'));
  const [only] = vectors.layers as Layers;
  assert.equal(vectors.encoder, 'static');
  assert.ok(Math.abs(only!.accuracy! - (vectors.chance as number)) < 1e-9, `static ${only!.accuracy} vs chance ${vectors.chance}`);
  const shown = run('probe', 'polysemy', '--model', `scratch:${join(dir, 'bert')}`, '--data', POLYSEMY);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /13 queries from 3 of 4 lemmas; chance 0\.3282/);
  assert.match(shown.stdout, /layer\s+accuracy\s+vs chance\s+tied queries/);
  assert.match(shown.stderr, /1 of 17 sentences do not contain their lemma .* bank: "the shore was muddy"/);
});

test('pretrain probe layers --task pos: CoNLL-U UPOS with a seeded held-out fraction, CoNLL-2003 POS with a dev file; every probe option', async () => {
  const dir = await inputs();
  const ud = json('probe', 'layers', '--model', join(dir, 'v.txt'), '--task', 'pos', '--data', join(dir, 'tags.conllu'), '--dev-fraction', '0.25',
    '--max-sentences', '16', '--epochs', '30', '--lr', '0.05', '--probe-batch', '8', '--seed', '2');
  assert.equal(ud.task, 'pos');
  assert.equal(ud.labels, 4);
  assert.equal(ud.dev_rows, 4 * 4);
  assert.equal(ud.train_rows, 12 * 4);
  assert.match(ud.held_out as string, /4 of .*tags\.conllu's 16 sentences \(seed 2\)/);
  const [layer] = ud.layers as Layers;
  // "cat", "dog", "sat", "ran" are in the vectors' vocabulary: their tags follow; "the" and "." share the unknown row
  assert.ok(layer!.dev_accuracy! >= 0.75, `held-out accuracy ${layer!.dev_accuracy}`);
  assert.equal(ud.majority, 0.25);
  const conll = json('probe', 'layers', '--model', join(dir, 'bert'), '--task', 'pos', '--data', join(dir, 'train.txt'), '--dev', join(dir, 'dev.txt'), '--batch', '4');
  assert.equal(conll.labels, 4, 'the pos column: DT NN VBD .');
  assert.equal(conll.dev_rows, 16);
  assert.equal((conll.layers as Layers).length, 3);
  const chunk = json('probe', 'layers', '--model', join(dir, 'bert'), '--task', 'pos', '--data', join(dir, 'train.txt'), '--format', 'conll', '--label-column', 'ner');
  assert.equal(chunk.labels, 1);
  const shown = run('probe', 'layers', '--model', join(dir, 'bert'), '--task', 'pos', '--data', join(dir, 'tags.conllu'), '--epochs', '2');
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /pos probe: chance 0\.2500, majority label 0\.\d+\nlayer\s+train accuracy\s+held-out accuracy/);
  assert.match(shown.stderr, /layer 2: held-out accuracy/);
});

test('pretrain probe layers --task sense on polysemy data; options that do not apply and bad input are errors that say why', async () => {
  const dir = await inputs();
  const sense = json('probe', 'layers', '--model', `scratch:${join(dir, 'bert')}`, '--task', 'sense', '--data', POLYSEMY);
  assert.equal(sense.task, 'sense');
  assert.equal(sense.dev_rows, 6, 'bank river and money, bat animal and club, fly travel and insect');
  assert.equal((sense.layers as Layers).length, 3);
  const dev = run('probe', 'layers', '--model', join(dir, 'bert'), '--task', 'sense', '--data', POLYSEMY, '--dev', POLYSEMY);
  assert.equal(dev.status, 1);
  assert.match(dev.stderr, /--dev is for --task pos/);
  const noTask = run('probe', 'layers', '--model', join(dir, 'bert'), '--data', POLYSEMY);
  assert.notEqual(noTask.status, 0);
  assert.match(noTask.stderr, /--task <task>' not specified/);
  const notTagged = run('probe', 'layers', '--model', join(dir, 'bert'), '--task', 'pos', '--data', POLYSEMY);
  assert.equal(notTagged.status, 1);
  assert.match(notTagged.stderr, /polysemy\.json: cannot tell the task format/);
  const missing = run('probe', 'polysemy', '--model', join(dir, 'bert'), '--data', join(dir, 'none.json'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /none\.json: no such file/);
  const help = run('probe', '--help');
  assert.match(help.stdout, /polysemy[\s\S]*layers/);
});
