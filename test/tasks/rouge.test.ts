// ROUGE against rouge-score. The first cases are rouge-score's own tests, with their inputs and expected numbers from
// github google-research/google-research: rouge/rouge_scorer_test.py (the simple cases, the empty ones, the LCS and
// union helpers, rougeLsum, and the "ground truth" values of ROUGE-1.5.5 on its test data, copied into
// test/fixtures/rouge/ with a SOURCE.md), rouge/tokenize_test.py, rouge/tokenizers_test.py and rouge/scoring_test.py
// (the bootstrap cases that need no large data), each block naming the test it comes from. The stems come from
// scripts/gen_nltk_porter_fixtures.py (Debian's python3-nltk). The rest is worked out by hand below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BootstrapAggregator, PorterStemmer, RougeScorer, corpusRouge, findUnion, formatRouge, lcsIndices, lcsTable, porterStem, rougeFmeasure,
  rougeTokenize, summaryLevelLcs, unionLcs, type RougeScore,
} from '../../src/tasks/rouge.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8');
/** Python's readlines(): the lines with their newlines. */
const readlines = (text: string) => text.split(/(?<=\n)/);
const close = (actual: number, expected: number, eps: number, what: string) => assert.ok(Math.abs(actual - expected) < eps, `${what}: ${actual} vs ${expected}`);
/** assertAlmostEqual with `places` (round(a - b, places) == 0). */
const almost = (actual: number, expected: number, what: string, places = 7) => close(actual, expected, 0.5 * 10 ** -places, what);
function same(s: RougeScore | undefined, [precision, recall, fmeasure]: [number, number, number], what: string, places = 7): void {
  assert.ok(s, `${what}: no score`);
  almost(s.precision, precision, `${what} precision`, places);
  almost(s.recall, recall, `${what} recall`, places);
  almost(s.fmeasure, fmeasure, `${what} fmeasure`, places);
}

const TARGETS = readlines(fixture('rouge/target.txt'));
const PREDICTIONS = readlines(fixture('rouge/prediction.txt'));

test('testInvalidRougeTypes and testValidRougeTypes', () => {
  for (const t of ['rougen', 'rouge0', 'rouge10']) assert.throws(() => new RougeScorer([t]).score('testing one two', 'testing'), RangeError, t);
  for (const t of ['rouge1', 'rouge9', 'rougeL', 'rougeLsum']) assert.deepEqual(Object.keys(new RougeScorer([t]).score('testing one two', 'testing')), [t]);
});

test('testRouge1, testRouge2, testRougeLConsecutive, testRougeLNonConsecutive, testMultipleRougeTypes', () => {
  same(new RougeScorer(['rouge1']).score('testing one two', 'testing').rouge1, [1, 1 / 3, 1 / 2], 'rouge1');
  same(new RougeScorer(['rouge2']).score('testing one two', 'testing one').rouge2, [1, 1 / 2, 2 / 3], 'rouge2');
  same(new RougeScorer(['rougeL']).score('testing one two', 'testing one').rougeL, [1, 2 / 3, 4 / 5], 'rougeL consecutive');
  same(new RougeScorer(['rougeL']).score('testing one two', 'testing two').rougeL, [1, 2 / 3, 4 / 5], 'rougeL non-consecutive');
  const both = new RougeScorer(['rouge1', 'rougeL']).score('testing one two', 'testing one');
  assert.deepEqual(Object.keys(both), ['rouge1', 'rougeL']);
  same(both.rouge1, [1, 2 / 3, 4 / 5], 'rouge1 of both');
  same(both.rougeL, [1, 2 / 3, 4 / 5], 'rougeL of both');
});

test('testRougeEmpty', () => {
  for (const t of ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] as const) same(new RougeScorer([t]).score('testing one two', '')[t], [0, 0, 0], t);
});

test('testRouge1AgainstRouge155, testRouge2AgainstRouge155, testRougeLAgainstRouge155 (and with stemming)', () => {
  const cases: [string, boolean, number, [number, number, number]][] = [
    // [type, stemmer, line, [recall, precision, fmeasure]] as the Python test lists them
    ['rouge1', false, 0, [0.40741, 0.68750, 0.51163]],
    ['rouge1', false, 1, [0.40476, 0.65385, 0.50000]],
    ['rouge1', true, 0, [0.40741, 0.68750, 0.51163]],
    ['rouge1', true, 1, [0.42857, 0.69231, 0.52941]],
    ['rouge2', false, 0, [0.30769, 0.53333, 0.39024]],
    ['rouge2', false, 1, [0.29268, 0.48000, 0.36364]],
    ['rouge2', true, 0, [0.30769, 0.53333, 0.39024]],
    ['rouge2', true, 1, [0.29268, 0.48000, 0.36364]],
    ['rougeL', false, 0, [0.40741, 0.68750, 0.51163]],
    ['rougeL', false, 1, [0.40476, 0.65385, 0.50000]],
  ];
  for (const [type, useStemmer, line, [r, p, f]] of cases) {
    const s = new RougeScorer([type], { useStemmer }).score(TARGETS[line]!, PREDICTIONS[line]!);
    same(s[type as 'rouge1'], [p, r, f], `${type} line ${line}${useStemmer ? ' stemmed' : ''}`, 5);
  }
});

test('testRougeLSumAgainstRouge155WithStemming', () => {
  const s = new RougeScorer(['rougeLsum'], { useStemmer: true }).score(fixture('rouge/target_multi.0.txt'), fixture('rouge/prediction_multi.0.txt'));
  same(s.rougeLsum, [0.66667, 0.36538, 0.47205], 'rougeLsum', 5);
});

test('testLcsTable', () => {
  const ref = [1, 2, 3, 4, 5], c1 = [2, 5, 3, 4];
  let t = lcsTable(ref, c1);
  assert.equal(t[ref.length]![c1.length], 3);
  assert.deepEqual(lcsIndices(ref, c1, t), [1, 2, 3]);
  assert.deepEqual(lcsIndices(ref, c1).map((i) => ref[i]), [2, 3, 4]);
  const c2 = [8, 9];
  t = lcsTable(ref, c2);
  assert.equal(t[ref.length]![c2.length], 0);
  assert.deepEqual(lcsIndices(ref, c2, t), []);
});

test('testUnionLcs', () => {
  assert.deepEqual(findUnion([[0, 1], [0, 2, 4]]), [0, 1, 2, 4]);
  assert.deepEqual(findUnion([[0, 2, 4], [0, 1]]), [0, 1, 2, 4]);
  assert.deepEqual(unionLcs([1, 2, 3, 4, 5], [[1, 2, 6, 7, 8], [1, 3, 8, 9, 5]]), [1, 2, 3, 5]);
});

test('testSummaryLevelLcs', () => {
  const s = summaryLevelLcs([[1, 2, 3, 4, 5]], [[1, 2, 6, 7, 8], [1, 3, 8, 9, 5]]);
  assert.equal(s.recall, 0.8);
  assert.equal(s.precision, 0.4);
  almost(s.fmeasure, 0.5333, 'fmeasure', 3);
  assert.equal(summaryLevelLcs([['reference']], [[]]).recall, 0); // the tokenizer may leave a sentence empty
});

test('testRougeLsum', () => {
  const scorer = new RougeScorer(['rougeLsum']);
  const s = scorer.score('w1 w2 w3 w4 w5', 'w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5').rougeLsum!;
  almost(s.recall, 0.8, 'recall');
  almost(s.precision, 0.4, 'precision');
  almost(s.fmeasure, 0.5333, 'fmeasure', 3);
  for (const [target, prediction] of [['w1 w2 w3 w4 w5', ''], ['', 'w1'], ['w1 w2 w3 w4 w5', '/']]) same(scorer.score(target!, prediction!).rougeLsum, [0, 0, 0], `${target} | ${prediction}`, 3);
});

test("tokenize_test and tokenizers_test: the default tokenizer, without and with NLTK's stemmer", () => {
  assert.deepEqual(rougeTokenize('one Two three'), ['one', 'two', 'three']);
  assert.deepEqual(rougeTokenize('one\n Two \nthree'), ['one', 'two', 'three']);
  assert.deepEqual(rougeTokenize('this is a test'), ['this', 'is', 'a', 'test']);
  assert.deepEqual(rougeTokenize('the friends had a meeting', new PorterStemmer()), ['the', 'friend', 'had', 'a', 'meet']);
  assert.deepEqual(new RougeScorer(['rouge1'], { useStemmer: true }).tokenize('the friends had a meeting'), ['the', 'friend', 'had', 'a', 'meet']);
});

test("scoring_test's testConsistentPercentiles and testLargeConfidence: BootstrapAggregator", () => {
  const add = (a: BootstrapAggregator) => {
    a.addScores({ rouge1: { precision: 1, recall: 1 / 3, fmeasure: 1 / 2 } });
    a.addScores({ rouge1: { precision: 0, recall: 0, fmeasure: 0 } });
    a.addScores({ rouge1: { precision: 1, recall: 1, fmeasure: 1 } });
    return a.aggregate().rouge1!;
  };
  const check = (agg: ReturnType<typeof add>, p: number[], r: number[], f: number[], what: string) => {
    (['low', 'mid', 'high'] as const).forEach((k, i) => {
      close(agg[k].precision, p[i]!, 1e-8, `${what} ${k} precision`);
      close(agg[k].recall, r[i]!, 1e-8, `${what} ${k} recall`);
      close(agg[k].fmeasure, f[i]!, 1e-8, `${what} ${k} fmeasure`);
    });
  };
  for (const seed of [0, 1, 2]) {
    check(add(new BootstrapAggregator({ confidenceInterval: 0.9, seed })), [1 / 3, 2 / 3, 3 / 3], [1 / 9, 4 / 9, 7 / 9], [1 / 6, 3 / 6, 5 / 6], `interval 0.9, seed ${seed}`);
    check(add(new BootstrapAggregator({ confidenceInterval: 0, seed })), [2 / 3, 2 / 3, 2 / 3], [4 / 9, 4 / 9, 4 / 9], [3 / 6, 3 / 6, 3 / 6], `interval 0, seed ${seed}`);
  }
  assert.throws(() => new BootstrapAggregator({ confidenceInterval: 1.5 }), /confidenceInterval/);
  assert.throws(() => new BootstrapAggregator({ nSamples: 0 }), /nSamples/);
});

const NLTK = JSON.parse(fixture('metrics/nltk-porter.json')) as { nltk: string; mode: string; stems: [string, string][] };

test("porterStem equals NLTK's PorterStemmer (NLTK_EXTENSIONS) on every word of the fixture", () => {
  assert.equal(NLTK.mode, 'NLTK_EXTENSIONS');
  assert.ok(NLTK.stems.length > 1500);
  const wrong = NLTK.stems.filter(([w, s]) => porterStem(w) !== s).map(([w, s]) => `${w}: NLTK ${s}, here ${porterStem(w)}`);
  assert.deepEqual(wrong, []);
});

test("Porter stems by hand: the paper's examples and NLTK's departures from it", () => {
  const cases: Record<string, string> = {
    caresses: 'caress', ponies: 'poni', cats: 'cat', feed: 'feed', agreed: 'agre', plastered: 'plaster', motoring: 'motor', sing: 'sing',
    conflated: 'conflat', hopping: 'hop', falling: 'fall', filing: 'file', relational: 'relat', triplicate: 'triplic', adoption: 'adopt',
    // NLTK's extensions: irregular forms, 4-letter -ies/-ied, y -> i only after a consonant, 1-2 letters kept
    dying: 'die', news: 'news', dies: 'die', flies: 'fli', died: 'die', spied: 'spi', enjoy: 'enjoy', happy: 'happi', by: 'by', is: 'is',
    generously: 'gener', geology: 'geolog', fully: 'fulli', radically: 'radic',
  };
  for (const [w, s] of Object.entries(cases)) assert.equal(porterStem(w), s, w);
  // the tokenizer stems only tokens longer than 3 characters ('was' stays; NLTK alone would give 'wa')
  assert.equal(porterStem('was'), 'wa');
  assert.deepEqual(rougeTokenize('He was lying', new PorterStemmer()), ['he', 'was', 'lie']);
});

test('by hand: the docstring example, non-ASCII text and punctuation, and rougeLsum counting a token once', () => {
  // 9 target tokens, 8 predicted; 6 unigrams shared (the twice), 2 bigrams, LCS "the quick brown jumps the"
  const s = new RougeScorer(['rouge1', 'rouge2', 'rougeL', 'rougeLsum']).score('The quick brown fox jumps over the lazy dog', 'The quick brown dog jumps on the log.');
  same(s.rouge1, [6 / 8, 6 / 9, 12 / 17], 'rouge1');
  same(s.rouge2, [2 / 7, 2 / 8, 4 / 15], 'rouge2');
  same(s.rougeL, [5 / 8, 5 / 9, 10 / 17], 'rougeL');
  same(s.rougeLsum, [5 / 8, 5 / 9, 10 / 17], 'rougeLsum of one line each is rougeL');
  // characters outside a-z0-9 split words and vanish: 'Über café' is 'ber caf'; text in other scripts has no tokens
  assert.deepEqual(rougeTokenize("Über café, l'été 2024!"), ['ber', 'caf', 'l', 't', '2024']);
  same(new RougeScorer(['rouge1', 'rougeL']).score('Ein Hund', '一只狗').rouge1, [0, 0, 0], 'no tokens');
  // rougeLsum: both target lines match the one predicted line, but its tokens count once
  same(new RougeScorer(['rougeLsum']).score('a b\na b', 'a b').rougeLsum, [1, 0.5, 2 / 3], 'no double counting');
  // empty lines are no sentences; a line of spaces is a sentence without tokens
  same(new RougeScorer(['rougeLsum']).score('a b\n\n \nc', 'c\n\na b').rougeLsum, [1, 1, 1], 'lines in another order');
  assert.equal(rougeFmeasure(0, 0), 0);
});

test('scoreMulti and corpusRouge: the best target per type, the mean of per-pair scores, the bootstrap seeded', () => {
  const scorer = new RougeScorer(['rouge1', 'rouge2']);
  // against 'a b c d': 'a x b y c' shares more words (rouge1 F 2/3 to 2/5), 'c d q r s t' the only bigram (rouge2 F 1/4 to 0)
  const multi = scorer.scoreMulti(['a x b y c', 'c d q r s t'], 'a b c d');
  same(multi.rouge1, [3 / 4, 3 / 5, 2 / 3], 'rouge1 from the first target');
  same(multi.rouge2, [1 / 3, 1 / 5, 1 / 4], 'rouge2 from the second target');
  assert.throws(() => scorer.scoreMulti([], 'a'), /no targets/);

  const preds = ['the cat sat', 'a dog', 'birds fly south'];
  const refs = ['the cat sat down', 'the dog barked', 'birds fly'];
  const c = corpusRouge(preds, [refs], { rougeTypes: ['rouge1', 'rougeL'] });
  const f1 = [6 / 7, 2 / 5, 4 / 5]; // per pair: P 1, R 3/4; P 1/2, R 1/3; P 2/3, R 1
  close(c.mean.rouge1!.fmeasure, (f1[0]! + f1[1]! + f1[2]!) / 3, 1e-12, 'mean F');
  close(c.mean.rouge1!.precision, (1 + 1 / 2 + 2 / 3) / 3, 1e-12, 'mean precision');
  assert.equal(c.pairs, 3);
  assert.equal(c.bootstrap, undefined);
  assert.match(formatRouge(c), /^ROUGE \(rouge-score, no stemmer, mean F of 3 pairs x 100\): rouge1 \d+\.\d\d rougeL \d+\.\d\d$/);
  // a second stream, null where a pair has one reference: 'a dog' against 'a dog' too scores 1 there
  const two = corpusRouge(preds, [refs, [null, 'a dog', null]], { rougeTypes: ['rouge1'] });
  close(two.mean.rouge1!.fmeasure, (f1[0]! + 1 + f1[2]!) / 3, 1e-12, 'best of two references');
  assert.throws(() => corpusRouge(['a'], [['a', 'b']]), /reference stream 1 has 2 segments but there are 1 predictions/);
  assert.throws(() => corpusRouge(['a'], [[null]]), /prediction 1 has no reference/);

  // the bootstrap: the mid near the mean on a larger corpus, reproducible with the seed, a sensible interval
  const words = 'the a cat dog sat ran on mat big small red'.split(' ');
  let x = 7;
  const pick = () => { x = (x * 1103515245 + 12345) % 2147483648; return words[(x >>> 16) % words.length]!; };
  const sentence = () => Array.from({ length: 4 + ((x >>> 8) % 6) }, pick).join(' ');
  const P = Array.from({ length: 200 }, sentence), R = Array.from({ length: 200 }, sentence);
  const a = corpusRouge(P, [R], { rougeTypes: ['rouge1', 'rougeL'], bootstrap: true });
  const b = corpusRouge(P, [R], { rougeTypes: ['rouge1', 'rougeL'], bootstrap: { seed: 0 } });
  const other = corpusRouge(P, [R], { rougeTypes: ['rouge1', 'rougeL'], bootstrap: { seed: 5 } });
  assert.deepEqual(a.bootstrap, b.bootstrap);
  assert.notDeepEqual(a.bootstrap, other.bootstrap);
  for (const t of ['rouge1', 'rougeL'] as const) {
    const { low, mid, high } = a.bootstrap![t]!;
    close(mid.fmeasure, a.mean[t]!.fmeasure, 0.01, `${t} mid near the mean`);
    assert.ok(low.fmeasure < mid.fmeasure && mid.fmeasure < high.fmeasure && high.fmeasure - low.fmeasure < 0.1, `${t} interval ${low.fmeasure}..${high.fmeasure}`);
  }
});
