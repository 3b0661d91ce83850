// Word-LM data: the splits, the two layouts (paragraphs, lines) and vocabularies with other specials (ELMo's).
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WordVocab, ngramWindows, readParagraphs, splitWords } from '../../src/text/word-lm.js';

test('splits: words lowercase letters and digits, whitespace keeps tokens, tokens keeps case and cuts punctuation off', () => {
  const text = 'The bank\'s "river" -- 3.5 banks!';
  assert.deepEqual(splitWords(text, 'words'), ["the", "bank's", 'river', '3', '5', 'banks']);
  assert.deepEqual(splitWords(text, 'whitespace'), ['The', "bank's", '"river"', '--', '3.5', 'banks!']);
  assert.deepEqual(splitWords(text, 'tokens'), ['The', "bank's", '"', 'river', '"', '-', '-', '3', '.', '5', 'banks', '!']);
});

test('layouts: paragraphs join wrapped lines; lines make each line a sequence and count the empty ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'word-lm-'));
  const path = join(dir, 'c.txt');
  await writeFile(path, 'one two\nthree\n\n\nfour\n   \n');
  assert.deepEqual((await readParagraphs(path, 'whitespace')).paragraphs, [['one', 'two', 'three'], ['four']]);
  const lines = await readParagraphs(path, 'whitespace', 'lines');
  assert.deepEqual(lines.paragraphs, [['one', 'two'], ['three'], ['four']]);
  assert.equal(lines.emptyLines, 3);
});

test('a vocabulary with bilm-tf specials: <S> </S> <UNK> first, unknown words map to <UNK>', () => {
  const specials = { words: ['<S>', '</S>', '<UNK>'], unk: '<UNK>' };
  const v = WordVocab.build([['a', 'b', 'a', '<UNK>']], { specials });
  assert.deepEqual(v.words, ['<S>', '</S>', '<UNK>', 'a', 'b']);
  assert.equal(v.id('zzz'), 2);
  assert.equal(WordVocab.fromText(v.toText(), 'vocab.txt', specials).id('b'), 4);
  assert.throws(() => WordVocab.fromText('<unk>\n<s>\n</s>\n', 'v.txt', specials), /v.txt: WordVocab: the first 3 words must be <S>, <\/S>, <UNK>/);
  // The n-gram windows count unknown words by the vocabulary's own unknown id.
  const plain = WordVocab.build([['a']]);
  assert.equal(ngramWindows([['a', 'q', 'q']], plain, 2).unknown, 2);
});
