// `pretrain finetune | evaluate | predict` end to end on the tiny sentiment set (test/fixtures/transfer): the run
// reaches a stated dev score, --test scores the best model once at the end, evaluate on the saved best model gives the
// same scores, and predict writes a TSV (a label and text header) that the readers read back, agreeing with evaluate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/tensor/index.js';
import { readTask } from '../../src/data/tasks/read.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { savePretrained } from '../../src/models/pretrained.js';

const FIX = fileURLToPath(new URL('../fixtures/transfer/', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function pretrain(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `pretrain ${args.join(' ')}\n${r.stderr}`);
  return r;
}

test('pretrain finetune reaches 0.9 dev accuracy, scores --test with the best model; evaluate and predict read it back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-finetune-'));
  T.manualSeed(1);
  const vocab = readFileSync(join(FIX, 'vocab.txt'), 'utf8');
  writeFileSync(join(dir, 'vocab.txt'), vocab);
  await savePretrained(new BertForPreTraining(bertConfig({ vocab_size: vocab.trim().split('\n').length, hidden_size: 32, num_hidden_layers: 2,
    num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 })), dir);
  const train = join(FIX, 'sentiment-train.tsv'), dev = join(FIX, 'sentiment-dev.tsv'), out = join(dir, 'run');
  const summary = JSON.parse(pretrain('finetune', '--model', dir, '--train', train, '--dev', dev, '--test', dev, '--steps', '160', '--lr', '2e-3',
    '--warmup', '5', '--batch', '8', '--eval-every', '40', '--seed', '3', '--out', out, '--json').stdout.trim().split('\n').pop()!) as Record<string, number | string>;
  assert.ok(Number(summary['best_accuracy']) >= 0.9, `best dev accuracy ${summary['best_accuracy']}`);
  // the test file is the dev file here, so the best model's test score is its dev score
  assert.equal(summary['test_accuracy'], summary['best_accuracy']);
  const evaluated = JSON.parse(pretrain('evaluate', '--model', join(out, 'best'), '--data', dev, '--json').stdout) as Record<string, number>;
  assert.equal(evaluated['accuracy'], summary['best_accuracy']);
  const predictions = join(dir, 'predictions.tsv');
  pretrain('predict', '--model', join(out, 'best'), '--input', dev, '--output', predictions);
  const back = await readTask(predictions, { textColumns: ['text'], labelColumn: 'label' });
  const gold = await readTask(dev);
  assert.equal(back.examples.length, gold.examples.length);
  const agree = back.examples.filter((e, i) => (e as { label: string }).label === (gold.examples[i] as { label: string }).label).length;
  assert.equal(agree / gold.examples.length, evaluated['accuracy']);
  // discriminative rates train through the same loop (the log's rate is the head's, the base one)
  const ulmfit = JSON.parse(pretrain('finetune', '--model', dir, '--train', train, '--steps', '10', '--lr', '1e-3', '--schedule', 'constant',
    '--layer-lr-decay', '2.6', '--out', join(dir, 'ulmfit'), '--json').stdout.trim().split('\n').pop()!) as Record<string, number>;
  assert.equal(ulmfit['steps'], 10);
  assert.equal(JSON.parse(readFileSync(join(dir, 'ulmfit', 'log.jsonl'), 'utf8').trim().split('\n').pop()!).lr, 1e-3);
  // gradual unfreezing through the CLI, and refused where the mode fixes layers already
  const gradual = JSON.parse(pretrain('finetune', '--model', dir, '--train', train, '--steps', '6', '--gradual-unfreeze', '2', '--out', join(dir, 'gradual'), '--json')
    .stdout.trim().split('\n').pop()!) as Record<string, number>;
  assert.equal(gradual['steps'], 6);
  const refused = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'finetune', '--model', dir, '--train', train, '--mode', 'frozen', '--gradual-unfreeze', '--out', join(dir, 'no')], { encoding: 'utf8' });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /--gradual-unfreeze is for --mode finetune/);
  // frozen with a layer-normalised mix: the choice is saved, and evaluate rebuilds the same model (the same scores)
  const frozenOut = join(dir, 'frozen');
  const frozen = JSON.parse(pretrain('finetune', '--model', dir, '--mode', 'frozen', '--layer-norm', '--train', train, '--dev', dev, '--steps', '20',
    '--batch', '8', '--eval-every', '20', '--out', frozenOut, '--json').stdout.trim().split('\n').pop()!) as Record<string, number | string>;
  const saved = JSON.parse(readFileSync(join(frozenOut, 'best', 'transfer.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual([saved['mode'], saved['layer'], saved['layerNorm']], ['frozen', 'mix', true]);
  const again = JSON.parse(pretrain('evaluate', '--model', join(frozenOut, 'best'), '--data', dev, '--json').stdout) as Record<string, number>;
  assert.equal(again['accuracy'], frozen['best_accuracy']);
  // the rate a run takes by default follows what trains: a Transformer body fine-tuned takes 5e-5, a new top over word
  // vectors 1e-3 whether the vectors are fine-tuned with it or fixed
  const words = [...new Set(readFileSync(train, 'utf8').split('\n').slice(1).flatMap((l) => l.split('\t')[1]?.split(' ') ?? []))].filter(Boolean);
  const vectors = join(dir, 'vectors.vec');
  writeFileSync(vectors, `${words.length} 4\n${words.map((w, i) => `${w} ${[1, 2, 3, 4].map((k) => Math.sin(i * k).toFixed(3)).join(' ')}\n`).join('')}`);
  const rateOf = (name: string, ...args: string[]) => {
    pretrain('finetune', ...args, '--train', train, '--steps', '3', '--schedule', 'constant', '--out', join(dir, name));
    return JSON.parse(readFileSync(join(dir, name, 'log.jsonl'), 'utf8').trim().split('\n').pop()!).lr as number;
  };
  assert.equal(rateOf('bert-rate', '--model', dir), 5e-5);
  assert.equal(rateOf('vectors-finetune-rate', '--model', vectors, '--mode', 'finetune'), 1e-3);
  assert.equal(rateOf('vectors-frozen-rate', '--model', vectors, '--mode', 'frozen'), 1e-3);
});
