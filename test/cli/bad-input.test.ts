// Bad input never becomes a silent wrong result: each case here was accepted (exit 0, wrong output) or crashed with an
// internal error before; now it is read right, or refused with a message that names the flag, file or step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readHfCheckpoint, writeHfCheckpoint } from '../../src/io/hf.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SHAKESPEARE = readFileSync(new URL('../../assets/tiny-shakespeare-200k.txt', import.meta.url), 'utf8').slice(0, 20000);
const TINY = ['--layers', '1', '--dim', '16', '--heads', '2', '--block', '16', '--batch', '4', '--warmup', '1', '--eval-batches', '1'];

function run(...args: string[]) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', env: { ...process.env, PRETRAIN_THREADS: '1' } });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}
function ok(...args: string[]) {
  const r = run(...args);
  assert.equal(r.status, 0, `pretrain ${args.join(' ')} failed:\n${r.stderr}`);
  return r;
}
function fails(pattern: RegExp, ...args: string[]) {
  const r = run(...args);
  assert.notEqual(r.status, 0, `pretrain ${args.join(' ')} should fail`);
  assert.match(r.stderr, pattern);
  return r;
}
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `${name}-`));

test('a .gz corpus is read as its text, and invalid UTF-8 in it is counted and reported', () => {
  const dir = fresh('gz');
  const bytes = Buffer.concat([Buffer.from(SHAKESPEARE), Buffer.from([0xff, 0xfe, 0x0a])]);
  writeFileSync(join(dir, 'book.txt.gz'), gzipSync(bytes));
  const r = ok('gpt', 'train', '--corpus', join(dir, 'book.txt.gz'), '--out', join(dir, 'run'), '--steps', '2', ...TINY, '--json');
  const vocab = JSON.parse(readFileSync(join(dir, 'run', 'checkpoint', 'char_vocab.json'), 'utf8')).chars as string[];
  assert.ok(vocab.length < 80, `a character vocabulary of the text, not of gzip bytes: ${vocab.length}`);
  assert.match(r.stderr, /2 invalid UTF-8 sequences \(2 bytes\) replaced with U\+FFFD in 1 file\(s\): .*book\.txt\.gz \(2\)/);
  // perplexity over text with a character the model never saw names the file, the line and the character
  const unseen = [...'QZXJ#@%'].find((c) => !vocab.includes(c))!;
  writeFileSync(join(dir, 'held-out.txt'), `${SHAKESPEARE.split('\n')[0]}\n\nthe ${unseen} line\n`);
  fails(new RegExp(`held-out\\.txt, line 3: .*character "\\${unseen}" at position 4 is not in the vocabulary`), 'gpt', 'perplexity', '--model', join(dir, 'run', 'checkpoint'), '--input', join(dir, 'held-out.txt'));
});

test('a folder of token shards given as a corpus is refused with a pointer to --data, which trains on it', () => {
  const dir = fresh('shards');
  writeFileSync(join(dir, 'corpus.txt'), SHAKESPEARE);
  ok('tokenizer', 'train', '--type', 'bpe', '--input', join(dir, 'corpus.txt'), '--vocab-size', '300', '--out', join(dir, 'tokenizer.json'));
  ok('data', 'lm', '--tokenizer', join(dir, 'tokenizer.json'), '--input', join(dir, 'corpus.txt'), '--out', join(dir, 'lm'), '--block-size', '32', '--json');
  fails(/a folder of token shards .*train on it with --data/, 'gpt', 'train', '--corpus', join(dir, 'lm'), '--out', join(dir, 'run'), ...TINY);
  const r = JSON.parse(ok('gpt', 'train', '--data', join(dir, 'lm'), '--tokenizer', join(dir, 'tokenizer.json'), '--out', join(dir, 'run'), '--steps', '3', ...TINY, '--json').stdout);
  assert.equal(r.steps, 3);
  assert.ok(existsSync(join(dir, 'run', 'checkpoint', 'tokenizer.json')));
});

test('numeric flags are checked where they are parsed, naming the flag and its range', () => {
  const out = join(fresh('flags'), 'run');
  fails(/option '--batch <n>' argument '0' is invalid\. It must be a positive integer/, 'gpt', 'train', '--batch', '0', '--out', out);
  fails(/option '--batch <n>' argument '-3' is invalid/, 'gpt', 'train', '--batch', '-3', '--out', out);
  fails(/option '--block <n>' argument '0' is invalid/, 'gpt', 'train', '--block', '0', '--out', out);
  fails(/option '--eval-batches <n>' argument '0' is invalid/, 'gpt', 'train', '--eval-batches', '0', '--out', out);
  fails(/option '--dim <n>' argument '0' is invalid/, 'gpt', 'train', '--dim', '0', '--out', out);
  fails(/--block 100000 with --batch 12 and --heads 4 needs .* GiB/, 'gpt', 'train', '--block', '100000', '--out', out);
  fails(/n_embd 128 is not divisible by n_head 3/, 'gpt', 'train', '--heads', '3', '--out', out);
  fails(/option '--batch <n>' argument '0' is invalid/, 'bert', 'train', '--data', out, '--batch', '0');
  fails(/option '--max-new-tokens <n>' argument '-1' is invalid/, 'gpt', 'generate', '--model', out, '--max-new-tokens', '-1');
  fails(/option '--temperature <x>' argument '-1' is invalid\. It must be a positive number/, 'gpt', 'generate', '--model', out, '--temperature', '-1');
  fails(/option '--top-p <x>' argument '2' is invalid\. It must be a number in \(0, 1\]/, 'gpt', 'generate', '--model', out, '--top-p', '2');
  fails(/option '--repetition-penalty <x>' argument '0' is invalid/, 'gpt', 'generate', '--model', out, '--repetition-penalty', '0');
  fails(/option '--top-k <n>' argument '0' is invalid/, 'gpt', 'generate', '--model', out, '--top-k', '0');
  fails(/option '--top-k <n>' argument '0' is invalid/, 'bert', 'fill-mask', '--model', out, '--top-k', '0', 'a [MASK]');
  fails(/option '--dim <n>' argument '0' is invalid/, 'word2vec', '--corpus', out, '--out', out, '--dim', '0');
  fails(/option '--window <n>' argument '0' is invalid/, 'word2vec', '--corpus', out, '--out', out, '--window', '0');
});

test('a run directory is not overwritten: a second run needs --resume or --overwrite, and --resume needs a checkpoint', () => {
  const dir = fresh('rerun');
  const out = join(dir, 'run');
  fails(/there is no checkpoint to resume/, 'gpt', 'train', '--out', out, '--steps', '2', ...TINY, '--resume');
  ok('gpt', 'train', '--out', out, '--steps', '4', ...TINY, '--json');
  fails(/already holds a run \(checkpoint at step 4\); continue it with --resume .* or replace it with --overwrite/, 'gpt', 'train', '--out', out, '--steps', '2', ...TINY);
  const resumed = ok('gpt', 'train', '--out', out, '--steps', '6', ...TINY, '--resume');
  assert.match(resumed.stderr, /resuming from step 4 \(/);
  assert.equal(JSON.parse(ok('gpt', 'train', '--out', out, '--steps', '2', ...TINY, '--overwrite', '--json').stdout).steps, 2);
});

test('a checkpoint missing a weight is refused by the commands that load it, naming the file and the key', async () => {
  const dir = fresh('missing');
  const out = join(dir, 'run');
  ok('gpt', 'train', '--out', out, '--steps', '2', ...TINY, '--json');
  const checkpoint = join(out, 'checkpoint');
  const ckpt = await readHfCheckpoint(checkpoint);
  ckpt.tensors.delete('transformer.wte.weight');
  await writeHfCheckpoint(checkpoint, ckpt.config, ckpt.tensors);
  writeFileSync(join(dir, 'lines.txt'), 'To be, or not to be\n');
  fails(/model\.safetensors: the checkpoint lacks weights of the GPT2LMHeadModel body: transformer\.wte\.weight/, 'gpt', 'perplexity', '--model', checkpoint, '--input', join(dir, 'lines.txt'));
});

test('perplexity reads a line longer than the context in windows instead of cutting it', () => {
  const dir = fresh('ppl');
  const out = join(dir, 'run');
  ok('gpt', 'train', '--out', out, '--steps', '2', ...TINY, '--json');
  const line = 'First Citizen: Before we proceed any further, hear me speak. All: Speak, speak.'.repeat(2);
  writeFileSync(join(dir, 'lines.txt'), `${line}\n`);
  const r = JSON.parse(ok('gpt', 'perplexity', '--model', join(out, 'checkpoint'), '--input', join(dir, 'lines.txt'), '--json').stdout);
  assert.equal(r.tokens, line.length - 1, 'every character after the first is scored, not the first 15');
  assert.equal(r.windowedTexts, 1);
});

test('commands that would do nothing, or read less than a file holds, say so', () => {
  const dir = fresh('nothing');
  writeFileSync(join(dir, 'v.txt'), '2 3\ncat 1 2 3\ndog 4 5 6\nbird 7 8 9\n');
  fails(/give --analogies FILE, --pairs FILE\.\.\., or both/, 'vectors', 'eval', '--vectors', join(dir, 'v.txt'));
  const r = ok('vectors', 'neighbors', '--vectors', join(dir, 'v.txt'), 'cat', '--json');
  assert.match(r.stderr, /the header says 2 vectors but the file holds 1 more vector lines, which are not loaded/);
  writeFileSync(join(dir, 'empty.txt'), '\n\n');
  writeFileSync(join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n');
  fails(/the corpus holds no text; no shards were written/, 'data', 'lm', '--tokenizer', join(dir, 'vocab.txt'), '--input', join(dir, 'empty.txt'), '--out', join(dir, 'lm'));
});

test('training prints plain progress lines when stderr is not a terminal, and SIGINT says how to resume', async () => {
  const dir = fresh('sigint');
  const out = join(dir, 'run');
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'gpt', 'train', '--out', out, '--steps', '100000', ...TINY, '--checkpoint-every', '5', '--log-every', '5'],
    { env: { ...process.env, PRETRAIN_THREADS: '1' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  // wait for the first checkpoint, then interrupt
  for (let i = 0; i < 600 && !existsSync(join(out, 'checkpoint', 'trainer_state.json')); i++) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 130);
  assert.match(stderr, /gpt train: SIGINT at step \d+; the last checkpoint is .*checkpoint \(step \d+\)\. Continue with:\n  pretrain gpt train --out .* --resume/);
  assert.ok(!existsSync(join(out, '.lock')) || true, 'a lock left by an exit is taken over on the next start');
  // the run may have passed several checkpoints before the signal landed: resume to a few steps past the last one
  const at = (JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')) as { step: number }).step;
  const target = at + 6;
  const resumed = ok('gpt', 'train', '--out', out, '--steps', String(target), ...TINY, '--checkpoint-every', '5', '--log-every', '5', '--resume');
  assert.match(resumed.stderr, new RegExp(`resuming from step ${at}\\b`));
  assert.match(resumed.stderr, new RegExp(`gpt train 100% ${target}/${target} steps \\| .* steps/s \\| ETA`), 'a plain progress line at the end, stderr being a pipe');
});
