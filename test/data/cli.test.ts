import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BertShardSource, readManifest } from '../../src/data/shards.js';
import { Tokenizer } from '../../src/text/index.js';
import { testEncoder } from './helpers.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'data');
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT });

test('pretrain data bert and lm: shards, a JSON summary, and a warning for invalid UTF-8', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'data-cli-'));
  const vocab = join(dir, 'vocab.txt');
  writeFileSync(vocab, testEncoder(readFileSync(join(FIXTURES, 'pretrain-corpus.txt'), 'utf8'), 2000).vocab.join('\n') + '\n');
  const out = join(dir, 'bert');
  const { stdout, stderr } = await cli('data', 'bert', '--tokenizer', vocab, '--input', join(FIXTURES, 'pretrain-corpus.txt'), join(FIXTURES, 'invalid-utf8.txt'),
    '--out', out, '--max-seq-length', '64', '--dupe-factor', '2', '--whole-word-mask', '--examples-per-shard', '500', '--json');
  const summary = JSON.parse(stdout);
  assert.equal(summary.invalidSequences, 10);
  assert.match(stderr, /warning: 10 invalid UTF-8 sequences \(11 bytes\) replaced with U\+FFFD in 1 file\(s\): .*invalid-utf8\.txt \(10\)/);
  const manifest = await readManifest(out, 'bert');
  assert.equal(manifest.examples, summary.examples);
  assert.equal((manifest.info.options as { wholeWordMask: boolean }).wholeWordMask, true);
  const source = await BertShardSource.open(out);
  assert.equal(source.seqLength, 64);
  const batch = await source.next(8);
  assert.equal(batch.inputIds.length, 8 * 64);
  const lm = await cli('data', 'lm', '--tokenizer', vocab, '--input', join(FIXTURES, 'pretrain-corpus.txt'), '--out', join(dir, 'lm'), '--block-size', '50', '--separator', 'none');
  assert.match(lm.stdout, /examples\s+\d/);
  assert.match(lm.stdout, /block size\s+50/);
  assert.equal((await readManifest(join(dir, 'lm'), 'lm')).columns.input_ids!.width, 50);
  await assert.rejects(cli('data', 'bert', '--tokenizer', vocab, '--input', join(dir, 'missing.txt'), '--out', join(dir, 'x')), /missing\.txt: no such file or folder/);
  const inspect = JSON.parse((await cli('data', 'inspect', out, '--tokenizer', vocab, '--examples', '2', '--json')).stdout);
  assert.equal(inspect.manifest.examples, summary.examples);
  assert.equal(inspect.examples.length, 2);
  const ex = inspect.examples[0];
  assert.equal(ex.tokens[0], '[CLS]');
  assert.equal(ex.tokens.at(-1), '[SEP]');
  assert.equal(ex.tokens.length, ex.segment_ids.length);
  assert.equal(ex.masked_lm_positions.length, ex.masked_lm_labels.length);
  // Hugging Face tokenizer.json files (the text fixtures): GPT-2 byte-level BPE for LM blocks, BERT WordPiece.
  const gpt2 = join(ROOT, 'test', 'fixtures', 'text', 'gpt2.json');
  const lmJson = JSON.parse((await cli('data', 'lm', '--tokenizer', gpt2, '--input', join(FIXTURES, 'pretrain-corpus.txt'), '--out', join(dir, 'gpt2'), '--block-size', '64', '--json')).stdout);
  const eot = Tokenizer.fromFile(gpt2).tokenToId('<|endoftext|>');
  assert.equal(lmJson.separator, eot);
  assert.ok(lmJson.examples > 100);
  const bertJson = JSON.parse((await cli('data', 'bert', '--tokenizer', join(ROOT, 'test', 'fixtures', 'text', 'bert-uncased.json'), '--input', join(FIXTURES, 'pretrain-corpus.txt'), '--out', join(dir, 'bert-json'), '--dupe-factor', '1', '--json')).stdout);
  assert.ok(bertJson.examples > 100 && bertJson.maskedPerExample > 15);
  await assert.rejects(cli('data', 'bert', '--tokenizer', vocab, '--input', join(FIXTURES, 'pretrain-corpus.txt'), '--out', join(dir, 'raw'), '--layout', 'raw'), /BERT examples need sentences/);
  const help = await cli('data', 'bert', '--help');
  assert.match(help.stdout, /--whole-word-mask/);
  assert.match(help.stdout, /--dupe-factor <n>/);
});
