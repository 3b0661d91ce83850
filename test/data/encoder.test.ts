import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { encoderFromTokenizer } from '../../src/data/encoder.js';

test('encoderFromTokenizer encodes without special tokens, truncation or padding, and leaves the tokenizer as it was', () => {
  const tok = Tokenizer.fromVocabTxt(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat'].join('\n'));
  tok.truncation = { maxLength: 3 } as typeof tok.truncation;
  const enc = encoderFromTokenizer(tok);
  assert.deepEqual(Array.from(enc.encode('The cat sat').ids), [5, 6, 7]);
  assert.deepEqual(enc.encode('the dog').tokens, ['the', '[UNK]']);
  assert.deepEqual(tok.truncation, { maxLength: 3 });
  assert.deepEqual(tok.encode('the cat sat').ids.length, 3, 'the tokenizer itself still truncates');
});
