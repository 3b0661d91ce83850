// `pretrain nnlm`: train on a small corpus of our own, then perplexity of the checkpoint and of the Kneser-Ney
// baseline on the same vocabulary, token for token; and the errors of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });

test('pretrain nnlm train, perplexity and kneser-ney agree on the tokens they score, and the trained model beats its start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nnlm-cli-'));
  const nouns = ['cat', 'dog', 'bird'], verbs = ['sees', 'likes'];
  const para = (i: number) => `The ${nouns[i % 3]} ${verbs[i % 2]} the ${nouns[(i + 1) % 3]}.\nThen the ${nouns[(i + 2) % 3]} runs.`;
  writeFileSync(join(dir, 'train.txt'), Array.from({ length: 120 }, (_, i) => para(i)).join('\n\n'));
  writeFileSync(join(dir, 'held.txt'), Array.from({ length: 12 }, (_, i) => para(i + 500)).join('\n\n') + '\n\nAn unseen zebra.');
  const out = join(dir, 'run');
  const trained = run('nnlm', 'train', '--corpus', join(dir, 'train.txt'), '--held-out', join(dir, 'held.txt'), '--order', '3', '--embedding-size', '8',
    '--hidden-size', '16', '--batch', '32', '--steps', '120', '--lr', '0.01', '--warmup', '5', '--eval-every', '60', '--out', out, '--json');
  assert.equal(trained.status, 0, trained.stderr);
  const summary = JSON.parse(trained.stdout.trim().split('\n').pop()!) as Record<string, number>;
  assert.ok(existsSync(join(out, 'checkpoint', 'vocab.txt')) && existsSync(join(out, 'checkpoint', 'model.safetensors')));
  assert.equal(JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8')).model_type, 'nnlm');
  // 12 paragraphs of 9 words and </s>, and "an unseen zebra" (3 words, all <unk>) and </s>
  assert.equal(summary.held_out_tokens, 12 * 10 + 4);
  const ppl = run('nnlm', 'perplexity', '--model', join(out, 'checkpoint'), '--input', join(dir, 'held.txt'), '--json');
  assert.equal(ppl.status, 0, ppl.stderr);
  const nnlm = JSON.parse(ppl.stdout) as Record<string, number>;
  assert.equal(nnlm.tokens, summary.held_out_tokens);
  assert.equal(nnlm.unknown, 3);
  assert.ok(Math.abs(nnlm.perplexity! - summary.perplexity!) < 1e-3 * summary.perplexity!);
  // vocabulary: 3 specials, the, then, runs, cat, dog, bird, sees, likes = 11 words; the model must do much better than uniform
  assert.ok(nnlm.perplexity! < 5, `perplexity ${nnlm.perplexity}`);
  const kn = run('nnlm', 'kneser-ney', '--corpus', join(dir, 'train.txt'), '--input', join(dir, 'held.txt'), '--order', '3', '--vocab-from', join(out, 'checkpoint'), '--json');
  assert.equal(kn.status, 0, kn.stderr);
  const baseline = JSON.parse(kn.stdout) as Record<string, number>;
  assert.equal(baseline.tokens, nnlm.tokens);
  assert.equal(baseline.unknown, 3);
});

test('pretrain nnlm: an empty corpus and a model directory without vocab.txt are errors that name the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nnlm-bad-'));
  writeFileSync(join(dir, 'empty.txt'), '\n\n');
  const empty = run('nnlm', 'kneser-ney', '--corpus', join(dir, 'empty.txt'), '--input', join(dir, 'empty.txt'));
  assert.equal(empty.status, 1);
  assert.match(empty.stderr, /empty\.txt: no words in the corpus/);
  writeFileSync(join(dir, 'text.txt'), 'some words here\n');
  const missing = run('nnlm', 'kneser-ney', '--corpus', join(dir, 'text.txt'), '--input', join(dir, 'text.txt'), '--vocab-from', dir);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no vocab\\.txt beside the model`));
});
