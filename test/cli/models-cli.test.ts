// The GPT and BERT commands end to end, as a user runs them: train, then use the checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWebGPU } from '../backend/webgpu-helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function pretrain(...args: string[]): { stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', env: { ...process.env, PRETRAIN_THREADS: '1' } });
  assert.equal(res.status, 0, `pretrain ${args.join(' ')} failed:\n${res.stderr}`);
  return { stdout: res.stdout, stderr: res.stderr };
}

test('pretrain gpt train (bundled corpus), then generate and perplexity from its checkpoint', () => {
  const out = mkdtempSync(join(tmpdir(), 'gpt-cli-'));
  const result = JSON.parse(pretrain('gpt', 'train', '--out', out, '--steps', '30', '--layers', '1', '--dim', '32', '--heads', '2', '--block', '32',
    '--batch', '8', '--warmup', '5', '--eval-every', '15', '--eval-batches', '2', '--lr', '3e-3', '--json').stdout);
  assert.equal(result.steps, 30);
  assert.ok(result.val_loss < Math.log(62) && result.perplexity > 1, JSON.stringify(result));
  const checkpoint = join(out, 'checkpoint');
  for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'char_vocab.json']) assert.ok(existsSync(join(checkpoint, f)), f);
  assert.match(readFileSync(join(out, 'loss.svg'), 'utf8'), /^<svg/);
  const gen = JSON.parse(pretrain('gpt', 'generate', '--model', checkpoint, '--prompt', 'ROMEO:', '--max-new-tokens', '12', '--json').stdout);
  assert.equal(gen.prompt, 'ROMEO:');
  assert.equal([...gen.text].length, 12);
  const lines = join(out, 'lines.txt');
  writeFileSync(lines, 'First Citizen:\nBefore we proceed any further\n\nx\n');
  const ppl = JSON.parse(pretrain('gpt', 'perplexity', '--model', checkpoint, '--input', lines, '--json').stdout);
  // Each non-empty line predicts all but its first character; "x" predicts nothing.
  assert.equal(ppl.tokens, 'First Citizen:'.length - 1 + 'Before we proceed any further'.length - 1);
  assert.ok(Math.abs(ppl.perplexity - Math.exp(ppl.loss)) < 1e-9);
});

test('pretrain gpt train with a byte-level BPE tokenizer saves it and decodes with it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gpt-bpe-'));
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, readFileSync(new URL('../../assets/tiny-shakespeare-200k.txt', import.meta.url), 'utf8').slice(0, 20000));
  pretrain('tokenizer', 'train', '--type', 'bpe', '--input', corpus, '--vocab-size', '400', '--out', join(dir, 'tokenizer.json'));
  const result = JSON.parse(pretrain('gpt', 'train', '--corpus', corpus, '--tokenizer', join(dir, 'tokenizer.json'), '--out', join(dir, 'run'), '--steps', '10',
    '--layers', '1', '--dim', '32', '--heads', '2', '--block', '16', '--batch', '4', '--warmup', '2', '--eval-batches', '2', '--no-bias', '--json').stdout);
  assert.equal(result.steps, 10);
  const checkpoint = join(dir, 'run', 'checkpoint');
  assert.ok(existsSync(join(checkpoint, 'tokenizer.json')));
  assert.equal(JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')).bias, false);
  assert.equal(JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')).vocab_size, JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).model.vocab ? Object.keys(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).model.vocab).length : 400);
  const gen = JSON.parse(pretrain('gpt', 'generate', '--model', checkpoint, '--prompt', 'KING', '--max-new-tokens', '5', '--json').stdout);
  assert.equal(gen.tokens, 5);
  assert.equal(typeof gen.text, 'string');
});

test('pretrain data bert, then pretrain bert train with held-out MLM/NSP accuracy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-cli-'));
  const sentences = ['the cat sat on the mat .', 'a dog ran in the park .', 'the sun is warm today .', 'we read a book at home .', 'birds sing in the morning .'];
  const corpus = Array.from({ length: 12 }, (_, d) => Array.from({ length: 6 }, (_, s) => sentences[(d + s) % sentences.length]).join('\n')).join('\n\n');
  writeFileSync(join(dir, 'corpus.txt'), `${corpus}\n`);
  const words = [...new Set(sentences.join(' ').split(' '))];
  writeFileSync(join(dir, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words].join('\n'));
  for (const [name, seed] of [['train', '1'], ['eval', '2']]) {
    pretrain('data', 'bert', '--tokenizer', join(dir, 'vocab.txt'), '--input', join(dir, 'corpus.txt'), '--out', join(dir, name), '--max-seq-length', '32', '--dupe-factor', '2', '--seed', seed, '--json');
  }
  const result = JSON.parse(pretrain('bert', 'train', '--data', join(dir, 'train'), '--eval-data', join(dir, 'eval'), '--tokenizer', join(dir, 'vocab.txt'),
    '--out', join(dir, 'run'), '--steps', '20', '--layers', '1', '--hidden', '32', '--heads', '2', '--intermediate', '64', '--batch', '8', '--lr', '1e-3',
    '--warmup', '2', '--eval-every', '10', '--json').stdout);
  assert.equal(result.steps, 20);
  for (const k of ['mlm_loss', 'mlm_accuracy', 'nsp_accuracy']) assert.ok(Number.isFinite(result[k]), `${k} in ${JSON.stringify(result)}`);
  for (const f of ['config.json', 'model.safetensors', 'vocab.txt']) assert.ok(existsSync(join(dir, 'run', 'checkpoint', f)), f);
  assert.equal(JSON.parse(readFileSync(join(dir, 'run', 'checkpoint', 'config.json'), 'utf8')).model_type, 'bert');
  const filled = JSON.parse(pretrain('bert', 'fill-mask', '--model', join(dir, 'run', 'checkpoint'), 'the cat [MASK] on the mat .', '--top-k', '4', '--json').stdout);
  assert.equal(filled.length, 4);
  assert.ok(filled.every((c: { token: string; score: number }, i: number) => typeof c.token === 'string' && c.score > 0 && (i === 0 || c.score <= filled[i - 1].score)));
  assert.ok(filled.reduce((s: number, c: { score: number }) => s + c.score, 0) <= 1 + 1e-6);
  const two = JSON.parse(pretrain('bert', 'fill-mask', '--model', join(dir, 'run', 'checkpoint'), '[MASK] cat sat on the [MASK] .', '--json').stdout);
  assert.equal(two.length, 2, 'one list per mask');
});

test('pretrain gpt train --backend webgpu trains on the GPU backend (Mesa lavapipe in CI) and says which backend runs', async (t) => {
  const { skip } = await openWebGPU();
  if (skip) { t.skip(skip); return; }
  const out = mkdtempSync(join(tmpdir(), 'gpt-webgpu-'));
  const run = pretrain('gpt', 'train', '--backend', 'webgpu', '--out', out, '--steps', '3', '--layers', '1', '--dim', '16', '--heads', '2', '--block', '16',
    '--batch', '2', '--warmup', '1', '--eval-every', '0', '--eval-batches', '1', '--log-every', '1');
  assert.match(run.stderr, /backend: webgpu/);
  assert.ok(existsSync(join(out, 'checkpoint', 'model.safetensors')));
  const bad = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'gpt', 'train', '--backend', 'tpu'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Allowed choices are cpu, cpu-native, cpu-wasm, cpu-reference, webgpu/);
});

test('every model command has --help', () => {
  for (const cmd of [['gpt', 'train'], ['gpt', 'generate'], ['gpt', 'perplexity'], ['bert', 'train'], ['bert', 'fill-mask']]) {
    assert.match(pretrain(...cmd, '--help').stdout, /Usage: pretrain/);
  }
});
