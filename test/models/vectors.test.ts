// WordVectors against answers gensim 4.2 gave on the same vectors (test/fixtures/word2vec/gensim-answers.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WordVectors, spearman, rankdata } from '../../src/models/vectors.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'word2vec');
const gensim = JSON.parse(readFileSync(join(fixtures, 'gensim-answers.json'), 'utf8'));

function close(actual: [string, number][], expected: [string, number][]) {
  assert.deepEqual(actual.map((x) => x[0]), expected.map((x) => x[0]));
  actual.forEach(([, s], i) => assert.ok(Math.abs(s - expected[i]![1]) < 1e-5, `${s} vs ${expected[i]![1]}`));
}

test('most_similar, restrict_vocab, cosmul, similarity, doesnt_match match gensim', async () => {
  const kv = await WordVectors.load(join(fixtures, 'gensim.bin'));
  close(kv.mostSimilar({ positive: ['king'], topn: 5 }), gensim.most_similar_king);
  close(kv.mostSimilar({ positive: ['woman', 'king'], negative: ['man'], topn: 5 }), gensim.most_similar_pn);
  close(kv.mostSimilar({ positive: ['apple'], topn: 3, restrictVocab: 6 }), gensim.most_similar_restrict);
  close(kv.mostSimilarCosmul({ positive: ['woman', 'king'], negative: ['man'], topn: 5 }), gensim.cosmul);
  assert.ok(Math.abs(kv.similarity('king', 'queen') - gensim.similarity_king_queen) < 1e-6);
  assert.equal(kv.doesntMatch(['king', 'queen', 'man', 'banana']), gensim.doesnt_match);
  assert.equal(kv.analogy('man', 'king', 'woman')[0]![0], gensim.most_similar_pn[0][0]);
  assert.throws(() => kv.similarity('king', 'nope'), /"nope" not in vocabulary/);
});

test('evaluate_word_analogies: sections, case-insensitivity, unknown words skipped and counted', async () => {
  const kv = await WordVectors.load(join(fixtures, 'gensim.txt'));
  const r = await kv.evaluateWordAnalogies(join(fixtures, 'analogies.txt'));
  const expected: [string, number, number][] = gensim.analogy.sections;
  const total = expected.pop()!;
  assert.equal(total[0], 'Total accuracy');
  assert.deepEqual(r.sections.map((s) => [s.section, s.correct, s.incorrect]), expected);
  assert.equal(r.answered, total[1] + total[2]);
  assert.equal(r.skipped, 1);
  assert.ok(Math.abs(r.accuracy - gensim.analogy.score) < 1e-12);
});

test('evaluate_word_pairs: CRLF, comments, no final newline, OOV percent', async () => {
  const kv = await WordVectors.load(join(fixtures, 'gensim.bin'));
  const r = await kv.evaluateWordPairs(join(fixtures, 'pairs.tsv'));
  assert.ok(Math.abs(r.pearson - gensim.pairs.pearson) < 1e-6);
  assert.ok(Math.abs(r.spearman - gensim.pairs.spearman) < 1e-6);
  assert.ok(Math.abs(r.oovPercent - gensim.pairs.oov) < 1e-9);
  assert.equal(r.pairs, 6);
});

test('spearman ranks ties by their average, as scipy', () => {
  assert.deepEqual(rankdata([10, 20, 10, 30]), [1.5, 3, 1.5, 4]);
  assert.ok(Math.abs(spearman([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-12);
});
