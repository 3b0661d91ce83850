// Trainers: vocabularies trained here load in Hugging Face tokenizers and encode identically; WordPiece and BPE
// learn the frequent words whole; word-level ranks by count; the options (size, min frequency, specials) hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer, trainBpe, trainWordLevel, trainWordPiece, type TrainProgress } from '../../src/text/index.js';
import { CORPUS } from './corpus.js';

const hf = createRequire(import.meta.url)('tokenizers') as typeof import('tokenizers');
const lines = readFileSync(new URL('../fixtures/text/corpus.txt', import.meta.url), 'utf8').split('\n');
const tmp = mkdtempSync(join(tmpdir(), 'text-train-'));

async function sameAsHf(tok: Tokenizer, name: string): Promise<void> {
  const path = join(tmp, name);
  tok.save(path);
  const theirs = hf.Tokenizer.fromFile(path);
  const ours = Tokenizer.fromFile(path);
  for (const text of [...CORPUS, ...lines.slice(0, 40)]) {
    const h = await theirs.encode(text, null);
    for (const e of [tok.encode(text), ours.encode(text)]) {
      assert.deepEqual(e.ids, h.getIds(), `ids of ${JSON.stringify(text).slice(0, 50)}`);
      assert.deepEqual(e.offsets, h.getOffsets(), `offsets of ${JSON.stringify(text).slice(0, 50)}`);
    }
  }
}

test('trainWordPiece: size, specials first, ## pieces; loads in Hugging Face and encodes identically', async () => {
  const tok = await trainWordPiece(lines, { vocabSize: 600 });
  assert.equal(tok.vocabSize, 600);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => tok.idToToken(i)), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.ok(tok.tokenToId('the') !== undefined && tok.tokenToId('##s') !== undefined);
  assert.deepEqual(tok.encode('The sisters').tokens.slice(0, 2), ['[CLS]', 'the']);
  await sameAsHf(tok, 'wordpiece.json');
});

test('trainWordPiece: minFrequency stops merging; texts may be an async iterable', async () => {
  async function* gen() { yield* lines; }
  const small = await trainWordPiece(gen(), { vocabSize: 100_000, minFrequency: 50 });
  const large = await trainWordPiece(lines, { vocabSize: 100_000, minFrequency: 2 });
  assert.ok(small.vocabSize < large.vocabSize && large.vocabSize < 100_000);
});

test('trainBpe: byte-level GPT-2 vocabulary; loads in Hugging Face and encodes identically; decodes back', async () => {
  const tok = await trainBpe(lines, { vocabSize: 800 });
  assert.equal(tok.vocabSize, 800);
  assert.equal(tok.idToToken(0), '<|endoftext|>');
  assert.ok(tok.tokenToId('Ġthe') !== undefined);
  for (const t of CORPUS) assert.equal(tok.decode(tok.encode(t).ids, false), t);
  await sameAsHf(tok, 'bpe.json');
});

test('trainWordLevel: specials, then by count with ties alphabetical, min count and max size', async () => {
  const tok = await trainWordLevel(['b a c a b a', 'd'], { specialTokens: ['[UNK]', '[PAD]'], minFrequency: 1 });
  assert.deepEqual(Array.from({ length: tok.vocabSize }, (_, i) => tok.idToToken(i)), ['[UNK]', '[PAD]', 'a', 'b', 'c', 'd']);
  const capped = await trainWordLevel(['b a c a b a', 'd'], { minFrequency: 2, vocabSize: 10 });
  assert.equal(capped.vocabSize, 3);
  assert.deepEqual(capped.encode('a c').ids, [1, 0]);
  await sameAsHf(await trainWordLevel(lines, { vocabSize: 300 }), 'wordlevel.json');
});

test('the last merge report says why merging stopped: the size reached, no pair left, or none frequent enough', async () => {
  const stop = async (train: (p: (x: TrainProgress) => void) => Promise<Tokenizer>) => {
    let last: TrainProgress | undefined;
    const tok = await train((p) => { if (p.phase === 'merge') last = p; });
    return [last?.stopped, tok.vocabSize] as const;
  };
  assert.deepEqual(await stop((onProgress) => trainBpe(lines, { vocabSize: 400, onProgress })), ['vocab-size', 400]);
  const [none, size] = await stop((onProgress) => trainWordPiece(lines, { onProgress }));
  assert.equal(none, 'no-pairs');
  assert.ok(size < 30_000);
  const [rare, small] = await stop((onProgress) => trainBpe(lines, { minFrequency: 20, onProgress }));
  assert.equal(rare, 'min-frequency');
  assert.ok(small < 1000);
});
