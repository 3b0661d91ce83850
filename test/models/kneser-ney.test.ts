// The Kneser-Ney baseline: NLTK's KneserNeyInterpolated probabilities with a fixed discount (fixture from
// scripts/gen_kneser_ney_fixtures.py), modified KN against probabilities worked out by hand, and both normalised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KneserNey, perplexityOf } from '../../src/models/kneser-ney.js';
import { WordVocab, ngramWindows, splitWords } from '../../src/text/word-lm.js';

interface Case {
  order: number;
  discount: number;
  held_out: { context: string[]; word: string; p: number }[];
  distributions: { context: string[]; p: Record<string, number> }[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/ngram/kneser-ney.json', import.meta.url), 'utf8')) as { train: string; held_out: string; min_count: number; cases: Case[] };
const paragraphs = (text: string) => text.split('\n\n').map((p) => splitWords(p, 'words')).filter((p) => p.length > 0);

test('KneserNey with a fixed discount gives NLTK KneserNeyInterpolated probabilities (orders 2-4, discounts 0.1 and 0.75)', () => {
  const train = paragraphs(fixture.train);
  const vocab = WordVocab.build(train, { minCount: fixture.min_count });
  for (const c of fixture.cases) {
    const lm = KneserNey.train(ngramWindows(train, vocab, c.order), vocab, { order: c.order, discount: c.discount });
    const held = ngramWindows(paragraphs(fixture.held_out), vocab, c.order);
    assert.equal(held.count, c.held_out.length);
    c.held_out.forEach((want, i) => {
      assert.deepEqual(Array.from(held.contexts.subarray(i * (c.order - 1), (i + 1) * (c.order - 1)), (id) => vocab.words[id]), want.context);
      assert.equal(vocab.words[held.targets[i]!], want.word);
      const p = lm.probability(vocab.id(want.word), want.context.map((w) => vocab.id(w)));
      assert.ok(Math.abs(p - want.p) < 1e-12, `order ${c.order}, d ${c.discount}, window ${i}: ${p} vs NLTK ${want.p}`);
    });
    for (const d of c.distributions) {
      for (const [word, want] of Object.entries(d.p)) {
        const p = lm.probability(vocab.id(word), d.context.map((w) => vocab.id(w)));
        assert.ok(Math.abs(p - want) < 1e-12, `P(${word} | ${d.context.join(' ')}): ${p} vs NLTK ${want}`);
      }
    }
    const logs = lm.logProbabilities(held);
    assert.ok(Math.abs(perplexityOf(logs).perplexity - Math.exp(-c.held_out.reduce((s, w) => s + Math.log(w.p), 0) / c.held_out.length)) < 1e-9);
  }
});

test('modified KneserNey: discounts from count-of-counts, <s> n-grams keep raw counts, unigrams mixed with uniform (worked by hand)', () => {
  // paragraphs "a b", "a b", "b a c": bigram windows (<s> a) (a b) (b </s>) twice, (<s> b) (b a) (a c) (c </s>)
  const train = [['a', 'b'], ['a', 'b'], ['b', 'a', 'c']];
  const vocab = new WordVocab(['<unk>', '<s>', '</s>', 'a', 'b', 'c']);
  const lm = KneserNey.train(ngramWindows(train, vocab, 2), vocab, { order: 2, discount: 'modified' });
  // bigram counts: <s>a 2, ab 2, b</s> 2, <s>b 1, ba 1, ac 1, c</s> 1 → n1 = 3, n2 = 4, n3 = n4 = 0: no modified
  // discounts (D3+ undefined), so KenLM's fallback; unigram adjusted counts (left extensions): a 2 (<s>, b), b 2 (<s>, a),
  // </s> 2 (b, c), c 1 → n1 = 1, n2 = 3: the fallback too.
  assert.deepEqual(lm.discounts.map((d) => d.fallback), [true, true]);
  const [d1, d2] = [0.5, 1];
  // unigrams: total 7, γ = (D1·1 + D2·3)/7, uniform over the 5 predictable words (all but <s>)
  const gamma1 = (d1 * 1 + d2 * 3) / 7;
  const uni = (c: number) => (c === 0 ? 0 : Math.max(c - (c === 1 ? d1 : d2), 0)) / 7 + gamma1 / 5;
  const unigram = { a: uni(2), b: uni(2), '</s>': uni(2), c: uni(1), '<unk>': uni(0) };
  // context a: followers b 2, c 1 → total 3, γ = (D1·1 + D2·1)/3
  const pAfterA = (w: keyof typeof unigram, c: number) => Math.max(c - (c === 0 ? 0 : c === 1 ? d1 : d2), 0) / 3 + ((d1 + d2) / 3) * unigram[w];
  const id = (w: string) => vocab.id(w);
  assert.ok(Math.abs(lm.probability(id('b'), [id('a')]) - pAfterA('b', 2)) < 1e-15);
  assert.ok(Math.abs(lm.probability(id('c'), [id('a')]) - pAfterA('c', 1)) < 1e-15);
  assert.ok(Math.abs(lm.probability(id('<unk>'), [id('a')]) - pAfterA('<unk>', 0)) < 1e-15);
  // a context never seen (c is followed only by </s>, <unk> never precedes anything) hands over to the unigrams whole
  assert.ok(Math.abs(lm.probability(id('a'), [id('<unk>')]) - unigram.a) < 1e-15);
});

test('KneserNey distributions sum to one over the predictable words, in both schemes, on every context seen', () => {
  const text = 'the cat sat on the mat\n\nthe dog sat on the log and the cat saw the dog\n\na dog and a cat and a mat\n\non the log a cat sat';
  const train = paragraphs(text);
  const vocab = WordVocab.build(train, { minCount: 1 });
  for (const order of [2, 3, 4]) {
    const windows = ngramWindows(train, vocab, order);
    for (const discount of ['modified', 0.3] as const) {
      const lm = KneserNey.train(windows, vocab, { order, discount });
      for (let i = 0; i < windows.count; i += 3) {
        const context = windows.contexts.subarray(i * (order - 1), (i + 1) * (order - 1));
        let sum = 0;
        for (let w = 0; w < vocab.size; w++) if (w !== vocab.id('<s>')) sum += lm.probability(w, context);
        // NLTK's scheme gives <unk> (never seen) nothing, so it sums to one over the rest as well
        assert.ok(Math.abs(sum - 1) < 1e-12, `order ${order}, ${discount}, window ${i}: sums to ${sum}`);
      }
    }
  }
});

test('KneserNey rejects an order above the windows and a discount outside (0, 1)', () => {
  const vocab = WordVocab.build([['a', 'b']]);
  const windows = ngramWindows([['a', 'b']], vocab, 2);
  assert.throws(() => KneserNey.train(windows, vocab, { order: 3 }), /order must be an integer in \[1, 2\]/);
  assert.throws(() => KneserNey.train(windows, vocab, { order: 2, discount: 1.5 }), /fixed discount must be in \(0, 1\)/);
});
