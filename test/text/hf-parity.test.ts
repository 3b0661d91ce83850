// Encodings (ids, tokens, offsets, type ids, word ids) equal to Hugging Face tokenizers' on a mixed-script corpus,
// for BERT uncased / cased / Chinese-style WordPiece and GPT-2-style byte-level BPE, loaded from files HF saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Tokenizer } from '../../src/text/index.js';
import { CORPUS } from './corpus.js';

const hf = createRequire(import.meta.url)('tokenizers') as typeof import('tokenizers');
const fixture = (name: string) => new URL(`../fixtures/text/${name}`, import.meta.url).pathname;


const texts = (): string[] => {
  const extra = readFileSync(fixture('corpus.txt'), 'utf8').split('\n').filter((l) => l.length > 0);
  return [...CORPUS, ...extra];
};

async function compare(file: string, pairs = false): Promise<void> {
  const ours = Tokenizer.fromFile(file);
  const theirs = hf.Tokenizer.fromFile(file);
  const all = texts();
  for (let i = 0; i < all.length; i++) {
    const a = all[i]!;
    const b = pairs ? all[(i + 1) % all.length]! : null;
    const e = ours.encode(a, b);
    const h = await theirs.encode(a, b);
    const what = `${file} on ${JSON.stringify(a).slice(0, 60)}`;
    assert.deepEqual(e.tokens, h.getTokens(), `tokens: ${what}`);
    assert.deepEqual(e.ids, h.getIds(), `ids: ${what}`);
    assert.deepEqual(e.offsets, h.getOffsets(), `offsets: ${what}`);
    assert.deepEqual(e.typeIds, h.getTypeIds(), `type ids: ${what}`);
    assert.deepEqual(e.specialTokensMask, h.getSpecialTokensMask(), `special mask: ${what}`);
    assert.deepEqual(e.wordIds, h.getWordIds().map((w) => w ?? null), `word ids: ${what}`);
    assert.equal(ours.decode(e.ids), await theirs.decode(h.getIds(), true), `decode: ${what}`);
  }
}

for (const name of ['bert-uncased.json', 'bert-cased.json', 'bert-chinese.json', 'gpt2.json']) {
  test(`${name}: encodings equal Hugging Face's`, () => compare(fixture(name)));
  test(`${name}: pair encodings equal Hugging Face's`, () => compare(fixture(name), true));
}
