// `pretrain tokenizer train|encode` end to end: a trained tokenizer.json, a JSON summary, and JSON lines equal to
// the library's encodings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Tokenizer } from '../../src/text/index.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const CORPUS = join(ROOT, 'test', 'fixtures', 'text', 'corpus.txt');
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT });

test('pretrain tokenizer train then encode --json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-cli-'));
  for (const type of ['wordpiece', 'bpe', 'word']) {
    const out = join(dir, `${type}.json`);
    const { stdout } = await cli('tokenizer', 'train', '--type', type, '--input', CORPUS, '--vocab-size', '800', '--out', out, '--json');
    const summary = JSON.parse(stdout);
    assert.equal(summary.vocabSize, 800, type);
    assert.equal(summary.lines, readFileSync(CORPUS, 'utf8').split('\n').length - 1);
    const tok = Tokenizer.fromFile(out);
    const enc = await cli('tokenizer', 'encode', '--tokenizer', out, '--input', CORPUS, '--json');
    const lines = enc.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    const texts = readFileSync(CORPUS, 'utf8').split('\n').slice(0, -1);
    assert.equal(lines.length, texts.length);
    for (let i = 0; i < texts.length; i += 17) {
      const e = tok.encode(texts[i]!);
      assert.deepEqual(lines[i], { ids: e.ids, tokens: e.tokens, offsets: e.offsets });
    }
    assert.match(enc.stderr, /encoded \d+ lines, [\d,]+ tokens/);
  }
  await assert.rejects(cli('tokenizer', 'train', '--type', 'wordpiece', '--input', join(dir, 'missing.txt'), '--out', join(dir, 'x.json')), /missing\.txt: no such file or folder/);
  assert.match((await cli('tokenizer', 'encode', '--help')).stdout, /--tokenizer <file>/);
});

test('tokenizer train: the summary says bytes on disk (compressed .gz) and text bytes, and why a vocabulary is smaller than asked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-cli-notes-'));
  const gz = join(dir, 'corpus.txt.gz');
  writeFileSync(gz, gzipSync(readFileSync(CORPUS)));
  const { stdout } = await cli('tokenizer', 'train', '--type', 'wordpiece', '--input', gz, '--out', join(dir, 'wp.json'), '--json');
  const s = JSON.parse(stdout);
  assert.equal(s.bytesOnDisk, statSync(gz).size);
  assert.equal(s.textBytes, statSync(CORPUS).size); // LF line ends throughout, so UTF-8 plus one \n a line is the file
  assert.equal(s.vocabSizeAsked, 30_000);
  assert.ok(s.vocabSize < 30_000);
  assert.equal(s.note, `the vocabulary has ${s.vocabSize.toLocaleString('en-US')} tokens, fewer than --vocab-size 30,000: no pair of adjacent tokens is left to merge (every word of the corpus is already one token; add text for more)`);
  const table = (await cli('tokenizer', 'train', '--type', 'bpe', '--input', CORPUS, '--min-frequency', '3', '--out', join(dir, 'bpe.json'), '--quiet')).stdout;
  assert.match(table, /bytes on disk \(compressed for \.gz\) +14,820/);
  assert.match(table, /text bytes \(UTF-8, uncompressed\) +14,820/);
  assert.match(table, /\nnote: the vocabulary has [\d,]+ tokens, fewer than --vocab-size 30,000: no pair of adjacent tokens left occurs at least --min-frequency 3 times/);
  const word = JSON.parse((await cli('tokenizer', 'train', '--type', 'word', '--input', CORPUS, '--out', join(dir, 'w.json'), '--json')).stdout);
  assert.match(word.note, /fewer than --vocab-size 30,000: the corpus has no more distinct words$/);
  const exact = JSON.parse((await cli('tokenizer', 'train', '--type', 'bpe', '--input', CORPUS, '--vocab-size', '300', '--out', join(dir, 'b.json'), '--json')).stdout);
  assert.equal(exact.vocabSize, 300);
  assert.equal(exact.note, undefined);
});

test('tokenizer encode: a line with a word that needs a missing [UNK] fails, naming the file, the line and the word', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-cli-unk-'));
  const input = join(dir, 'in.txt');
  writeFileSync(input, 'the sisters\nthe 😀 sisters\n');
  const tokenizer = join(ROOT, 'test', 'fixtures', 'text', 'hf-trained-wordpiece.json');
  await assert.rejects(cli('tokenizer', 'encode', '--tokenizer', tokenizer, '--input', input),
    (e: Error & { stderr: string }) => /in\.txt: line 2: WordPiece: cannot encode the word "😀": it needs the unknown token \[UNK\]/.test(e.stderr));
});
