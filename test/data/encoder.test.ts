import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenizeDocuments } from '../../src/data/bert.js';
import { bertVocab, encoderFromTokenizer } from '../../src/data/encoder.js';
import { Tokenizer } from '../../src/text/index.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', '.', 'un', '##aff', '##able'].join('\n');

test('encoderFromTokenizer: no special tokens, no truncation or padding, the tokenizer left as it was', async () => {
  const tok = Tokenizer.fromVocabTxt(VOCAB);
  tok.truncation = { maxLength: 4 };
  tok.padding = { length: 16 };
  const enc = encoderFromTokenizer(tok);
  assert.deepEqual(enc.encode('The cat sat. Unaffable cat.').tokens, ['the', 'cat', 'sat', '.', 'un', '##aff', '##able', 'cat', '.']);
  assert.equal(tok.encode('the cat').ids.length, 16, 'the tokenizer still pads');
  assert.equal(enc.vocabSize, 12);
  const vocab = bertVocab(enc);
  assert.deepEqual([vocab.cls, vocab.sep, vocab.mask, vocab.pad], [2, 3, 4, 0]);
  assert.deepEqual(Array.from(vocab.continuation.keys()).filter((i) => vocab.continuation[i]), [10, 11]);
  const docs = await tokenizeDocuments([['the cat sat .', ''], []], enc);
  assert.deepEqual(docs.map((d) => d.map((s) => Array.from(s))), [[[5, 6, 7, 8]]]);
  // A tokenizer passed as is would put [CLS] ... [SEP] inside every sentence: refused.
  tok.truncation = null; tok.padding = null;
  await assert.rejects(tokenizeDocuments([['the cat']], tok), /adds special tokens .*encoderFromTokenizer/);
  assert.throws(() => bertVocab({ ...enc, tokenToId: (t) => (t === '[MASK]' ? undefined : enc.tokenToId(t)) }), /no \[MASK\] token/);
});
