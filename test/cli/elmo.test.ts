// `pretrain elmo`: train a small biLM on a corpus of our own (empty lines skipped and counted), its perplexity per
// direction from the checkpoint, embed's safetensors in AllenNLP's layout, resuming, and the errors of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '../../src/io/safetensors.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
const SMALL = ['--lstm-dim', '16', '--projection-dim', '8', '--filter-scale', '0.125', '--batch', '16', '--warmup', '2', '--lr', '0.01'];

test('pretrain elmo train, perplexity and embed: the held-out perplexity falls, matches the checkpoint, and embed writes AllenNLP\'s layout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'elmo-cli-'));
  const nouns = ['cat', 'dog', 'bird'], verbs = ['sees', 'likes'];
  const line = (i: number) => `The ${nouns[i % 3]} ${verbs[i % 2]} the ${nouns[(i + 1) % 3]} .`;
  writeFileSync(join(dir, 'train.txt'), Array.from({ length: 150 }, (_, i) => line(i)).join('\n') + '\n\n\n');
  writeFileSync(join(dir, 'held.txt'), Array.from({ length: 10 }, (_, i) => line(i + 7)).join('\n') + '\nAn unseen zebra .\n');
  const out = join(dir, 'run');
  const trained = run('elmo', 'train', '--corpus', join(dir, 'train.txt'), '--held-out', join(dir, 'held.txt'), ...SMALL, '--steps', '60', '--eval-every', '30', '--out', out);
  assert.equal(trained.status, 0, trained.stderr);
  assert.match(trained.stderr, /2 empty line\(s\) skipped/);
  assert.match(trained.stdout, /forward_perplexity/);
  const ckpt = join(out, 'checkpoint');
  assert.ok(existsSync(join(ckpt, 'vocab.txt')) && existsSync(join(ckpt, 'model.safetensors')) && existsSync(join(out, 'loss.svg')));
  assert.deepEqual(readFileSync(join(ckpt, 'vocab.txt'), 'utf8').split('\n').slice(0, 3), ['<S>', '</S>', '<UNK>']);
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const evals = log.filter((r) => r.perplexity !== undefined).map((r) => r.perplexity as number);
  assert.ok(evals.length >= 2 && evals[evals.length - 1]! < evals[0]!, `held-out perplexity ${evals.join(' -> ')}`);

  const ppl = run('elmo', 'perplexity', '--model', ckpt, '--input', join(dir, 'held.txt'), '--json');
  assert.equal(ppl.status, 0, ppl.stderr);
  const p = JSON.parse(ppl.stdout) as { tokens: number; unknown: number; perplexity: number; forward: { perplexity: number }; backward: { perplexity: number } };
  // 10 lines of 6 tokens and one of 4: each predicts its tokens and one boundary per direction
  assert.equal(p.tokens, 10 * 7 + 5);
  assert.equal(p.unknown, 3, '"An", "unseen", "zebra" are <UNK> targets');
  // vocabulary: 3 specials + The the cat dog bird sees likes . = 11 words; the model does better than uniform each way
  assert.ok(p.forward.perplexity < 11 && p.backward.perplexity < 11, JSON.stringify(p));
  assert.ok(Math.abs(p.perplexity - Math.sqrt(p.forward.perplexity * p.backward.perplexity)) < 1e-6 * p.perplexity);

  writeFileSync(join(dir, 'sentences.txt'), 'the cat sees\n\nthe dog likes the bird\nthe cat sees\n');
  const file = join(dir, 'elmo.safetensors');
  const embedded = run('elmo', 'embed', '--model', ckpt, '--input', join(dir, 'sentences.txt'), '--out', file, '--json');
  assert.equal(embedded.status, 0, embedded.stderr);
  assert.deepEqual(JSON.parse(embedded.stdout), { sentences: 3, tokens: 11, layers: 'all', out: file });
  const { tensors, metadata } = await readSafetensors(file);
  assert.deepEqual([...tensors.keys()].sort(), ['0', '1', '2']);
  assert.deepEqual(tensors.get('1')!.shape, [3, 5, 16]);
  assert.deepEqual(JSON.parse(metadata.sentence_to_index!), { 'the cat sees': 0, 'the dog likes the bird': 1 });
  assert.deepEqual([...tensors.get('0')!.data], [...tensors.get('2')!.data], 'the same sentence, the same vectors');
  const top = run('elmo', 'embed', '--model', ckpt, '--input', join(dir, 'sentences.txt'), '--out', join(dir, 'top.safetensors'), '--layers', 'top', '--json');
  assert.equal(top.status, 0, top.stderr);
  const topT = (await readSafetensors(join(dir, 'top.safetensors'))).tensors.get('1')!;
  assert.deepEqual(topT.shape, [5, 16]);
  assert.deepEqual([...topT.data], [...tensors.get('1')!.data.subarray(2 * 5 * 16)]);

  // Resuming a finished run continues to a higher step count from its checkpoint.
  const resumed = run('elmo', 'train', '--corpus', join(dir, 'train.txt'), '--held-out', join(dir, 'held.txt'), ...SMALL, '--steps', '64', '--eval-every', '30', '--out', out, '--resume', '--json');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal((JSON.parse(resumed.stdout.trim().split('\n').pop()!) as { steps: number }).steps, 64);
});

test('pretrain elmo: bad input gets an error naming what is wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'elmo-bad-'));
  writeFileSync(join(dir, 'empty.txt'), '\n\n  \n');
  const empty = run('elmo', 'train', '--corpus', join(dir, 'empty.txt'), '--steps', '1');
  assert.notEqual(empty.status, 0);
  assert.match(empty.stderr, /empty\.txt: no tokens in the corpus/);
  const notModel = run('elmo', 'perplexity', '--model', dir, '--input', join(dir, 'empty.txt'));
  assert.notEqual(notModel.status, 0);
  assert.match(notModel.stderr, /config\.json/);
  const help = run('elmo', 'embed', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--layers <which>/);
});

test('pretrain elmo import converts a released model; embed reads the converted directory and the released one alike', async () => {
  const fixture = fileURLToPath(new URL('../fixtures/elmo/bilm-tf/', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'elmo-import-'));
  const imported = run('elmo', 'import', '--options', join(fixture, 'options.json'), '--weights', join(fixture, 'weights.hdf5'), '--vocab', join(fixture, 'vocab.txt'), '--out', join(dir, 'model'), '--json');
  assert.equal(imported.status, 0, imported.stderr);
  assert.equal((JSON.parse(imported.stdout) as { softmax: boolean }).softmax, true);
  assert.equal(JSON.parse(readFileSync(join(dir, 'model', 'config.json'), 'utf8')).model_type, 'elmo');
  writeFileSync(join(dir, 's.txt'), 'the bank\n');
  const a = run('elmo', 'embed', '--model', join(dir, 'model'), '--input', join(dir, 's.txt'), '--out', join(dir, 'a.safetensors'), '--json');
  const b = run('elmo', 'embed', '--model', fixture, '--input', join(dir, 's.txt'), '--out', join(dir, 'b.safetensors'), '--json');
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  const [ta, tb] = [(await readSafetensors(join(dir, 'a.safetensors'))).tensors.get('0')!, (await readSafetensors(join(dir, 'b.safetensors'))).tensors.get('0')!];
  assert.deepEqual(ta.shape, [3, 2, 8]);
  assert.deepEqual([...ta.data], [...tb.data]);
});
