// word2vec text/binary formats: gensim-written files load, our files round-trip byte-for-byte, errors name positions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseWord2VecBinary, parseWord2VecText, readWord2Vec, serializeWord2VecBinary, serializeWord2VecText, writeWord2Vec,
  readVectorsSafetensors, writeVectorsSafetensors, writeVocab, readVocab, Word2VecFormatError,
} from '../../src/io/word2vec-format.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'word2vec');

test('gensim binary and text files load to the same vectors', async () => {
  const bin = await readWord2Vec(join(fixtures, 'gensim.bin'));
  const txt = await readWord2Vec(join(fixtures, 'gensim.txt'));
  assert.equal(bin.words.length, 13);
  assert.equal(bin.dim, 8);
  assert.deepEqual(bin.words, txt.words);
  assert.ok(bin.words.includes('café'));
  assert.deepEqual(Array.from(bin.vectors), Array.from(txt.vectors));
});

test('our binary output of gensim vectors is byte-identical to gensim\'s file', async () => {
  const raw = readFileSync(join(fixtures, 'gensim.bin'));
  assert.deepEqual(Buffer.from(serializeWord2VecBinary(parseWord2VecBinary(raw))), raw);
});

test('text output round-trips float32 exactly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2v-'));
  const data = { words: ['a', 'b'], dim: 3, vectors: new Float32Array([0.1, -1e-8, 3.4028234e38, 1 / 3, 0, -2.5]) };
  await writeWord2Vec(join(dir, 'v.txt'), data, false);
  const back = await readWord2Vec(join(dir, 'v.txt'));
  assert.deepEqual(Array.from(back.vectors), Array.from(data.vectors));
  assert.equal(readFileSync(join(dir, 'v.txt'), 'utf8').split('\n')[0], '2 3');
});

test('fastText .vec (trailing spaces) and CRLF text files load', () => {
  const d = parseWord2VecText('2 2\r\nfoo 1 2 \r\nbar 3 4 \r\n');
  assert.deepEqual(d.words, ['foo', 'bar']);
  assert.deepEqual(Array.from(d.vectors), [1, 2, 3, 4]);
});

test('malformed text names the file and line', () => {
  assert.throws(() => parseWord2VecText('2 3\nfoo 1 2 3\nbar 1 x 3\n', 'v.txt'), /v\.txt:3: not a number/);
  assert.throws(() => parseWord2VecText('2 3\nfoo 1 2 3\nbar 1 3\n', 'v.txt'), /v\.txt:3: expected a word and 3 numbers/);
  assert.throws(() => parseWord2VecText('3 3\nfoo 1 2 3\n', 'v.txt'), (e: unknown) => e instanceof Word2VecFormatError && /v\.txt:3: file ends/.test(e.message));
  assert.throws(() => parseWord2VecText('hello\n', 'v.txt'), /v\.txt:1: expected a header/);
});

test('truncated binary names the byte offset', () => {
  const good = serializeWord2VecBinary({ words: ['ab', 'cd'], dim: 2, vectors: new Float32Array([1, 2, 3, 4]) });
  // header "2 2\n" (4 bytes), "ab " + 8 bytes (11), then "cd " starts at 15, its vector at 18
  assert.throws(() => parseWord2VecBinary(good.subarray(0, 22), 'v.bin'), /v\.bin: byte 18: file ends inside the vector of word 1/);
  assert.throws(() => parseWord2VecBinary(good.subarray(0, 16), 'v.bin'), /v\.bin: byte 15: file ends inside word 1/);
  // word2vec.c writes a newline after each vector: also read
  const c = new Uint8Array([...Buffer.from('1 1\nab '), 0, 0, 128, 63, 0x0a]);
  assert.deepEqual(parseWord2VecBinary(c).words, ['ab']);
});

test('invalid UTF-8 in a word is replaced, not fatal', () => {
  const bytes = new Uint8Array([...Buffer.from('1 1\n'), 0xff, 0x61, 0x20, 0, 0, 128, 63, 0x0a]);
  const d = parseWord2VecBinary(bytes);
  assert.equal(d.words[0], '\uFFFDa');
  assert.equal(d.vectors[0], 1);
});

test('safetensors and vocabulary round-trip', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2v-'));
  const data = { words: ['x', 'y z?'.replace(' ', '_')], dim: 2, vectors: new Float32Array([1, 2, 3, 4]), counts: [5, 3] };
  await writeVectorsSafetensors(join(dir, 'v.safetensors'), data);
  assert.deepEqual(await readVectorsSafetensors(join(dir, 'v.safetensors')), data);
  await writeVocab(join(dir, 'vocab.txt'), data.words, data.counts);
  assert.deepEqual(await readVocab(join(dir, 'vocab.txt')), { words: data.words, counts: data.counts });
  writeFileSync(join(dir, 'bad.txt'), 'a 1\nb\n');
  await assert.rejects(readVocab(join(dir, 'bad.txt')), /bad\.txt:2/);
  assert.equal(serializeWord2VecText({ words: ['a'], dim: 1, vectors: new Float32Array([0.5]) }), '1 1\na 0.5\n');
});
