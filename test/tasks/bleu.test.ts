// BLEU against sacrebleu. The cases of the first part are sacrebleu's own tests, copied with their inputs and expected
// numbers from github mjpost/sacrebleu (2.6.0, commit f615c72): test/test_bleu.py and test/test_sentence_bleu.py;
// each block names the test function it comes from. The second part (tokenizer outputs, score breakdowns, signatures
// and score lines) pastes what sacrebleu 2.6.0 itself returned on the inputs below when these tests were written;
// sacrebleu is not part of the repository and the tests do not need it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLEU, bleuTokenizer, computeBleu, corpusBleu, formatBleu, pyFixed, sentenceBleu, tokenize13a, tokenizeChar, tokenizeIntl, tokenizeZh,
  type BleuOptions,
} from '../../src/tasks/bleu.js';

const EPSILON = 1e-8;
const close = (actual: number, expected: number, eps: number, what: string) => assert.ok(Math.abs(actual - expected) < eps, `${what}: ${actual} vs ${expected}`);

/** sacrebleu.raw_corpus_bleu: no tokenization, floor smoothing, effective order. */
const rawCorpusBleu = (hyps: string[], refs: string[][], smoothValue: number | null = 0.1) =>
  corpusBleu(hyps, refs, { smoothMethod: 'floor', smoothValue, tokenize: 'none', effectiveOrder: true });

// test_bleu.py: the README example, two reference streams.
const REFS = [
  ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
  ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
];
const HYPS = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];

test('test_raw_bleu', () => {
  const cases: [string[], string[][], number][] = [
    [['this is a test', 'another test'], [['ref1', 'ref2']], 0.0],
    [['this is a test'], [['this is a test']], 1.0],
    [['this is a fest'], [['this is a test']], 0.223606797749979],
  ];
  for (const [hyps, refs, expected] of cases) close(rawCorpusBleu(hyps, refs, 0.01).score / 100, expected, EPSILON, hyps.join('|'));
});

test('test_corpus_bleu', () => {
  const cases: [string[], BleuOptions, number][] = [
    [HYPS, {}, 48.530827],
    [['', '', ''], {}, 0.0], // empty hypotheses are scored, not removed
    [HYPS, { tokenize: 'none' }, 49.1919566],
    [HYPS, { tokenize: '13a' }, 48.530827],
    [HYPS, { tokenize: 'intl' }, 43.91623493],
    [HYPS, { smoothMethod: 'none' }, 48.530827],
  ];
  for (const [hyps, opts, expected] of cases) close(corpusBleu(hyps, REFS, opts).score, expected, EPSILON, JSON.stringify(opts));
});

test('test_effective_order', () => {
  const cases: [string, string, number][] = [['test', 'a test', 0.3678794411714425], ['a test', 'a test', 1.0], ['a little test', 'a test', 0.03218297948685433]];
  for (const [hyp, ref, expected] of cases) close(rawCorpusBleu([hyp], [[ref]], 0.01).score / 100, expected, EPSILON, hyp);
});

test('test_statistics', () => {
  const s = rawCorpusBleu(['am I am a character sequence'], [['I am a symbol string sequence a a']], 0.01);
  assert.deepEqual(s.counts, [4, 2, 1, 0]);
  assert.deepEqual(s.totals, [6, 5, 4, 3]);
});

test('test_scoring', () => {
  close(computeBleu([9, 7, 5, 3], [10, 8, 6, 4], 11, 11).score / 100, 0.8375922397, EPSILON, 'compute_bleu');
});

test('test_offset', () => {
  const hyp = ['am I am a character sequence'], ref = [['I am a symbol string sequence a a']];
  close(rawCorpusBleu(hyp, ref, 0.0).score / 100, 0, EPSILON, 'offset 0');
  close(rawCorpusBleu(hyp, ref, null).score / 100, 0.1555722182, EPSILON, 'offset default');
  close(rawCorpusBleu(hyp, ref).score / 100, 0.1555722182, EPSILON, 'offset default');
});

test('test_degenerate_statistics', () => {
  const cases: [number[], number[], number, number, number][] = [
    [[0, 0, 0, 0], [4, 4, 2, 1], 0, 1, 0.0],
    [[0, 0, 0, 0], [10, 11, 12, 0], 14, 10, 0.0],
    [[0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.0],
    [[6, 5, 4, 0], [6, 5, 4, 3], 6, 6, 0.0],
    [[0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.1],
    [[0, 0, 0, 0], [0, 0, 0, 0], 1, 5, 0.01],
  ];
  for (const [correct, total, sys, ref, offset] of cases) {
    assert.equal(computeBleu(correct, total, sys, ref, { smoothMethod: 'floor', smoothValue: offset }).score / 100, 0);
  }
});

test('test_max_ngram_order', () => {
  const cases: [number, string][] = [[1, '77.65'], [2, '60.50'], [3, '53.93'], [4, '48.53'], [5, '46.14'], [6, '43.28']];
  for (const [order, expected] of cases) assert.equal(new BLEU({ maxNgramOrder: order }).corpusScore(HYPS, REFS).score.toFixed(2), expected);
});

test('test_sentence_bleu: test_api_sentence_bleu and test_api_sentence_bleu_zero', () => {
  // sacrebleu #98: Romanian, the reference writing ţ with a cedilla where the hypothesis has ț with a comma below
  const REF = 'producţia de zahăr brut se exprimă în zahăr alb;';
  const SYS = 'Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;';
  const cases: [BleuOptions['smoothMethod'], number | null, boolean, BleuOptions['tokenize'], number][] = [
    ['exp', null, false, '13a', 8.493],
    ['none', null, false, '13a', 0.0],
    ['floor', null, false, '13a', 4.51688],
    ['floor', 0.1, false, '13a', 4.51688],
    ['floor', 0.5, false, '13a', 10.10],
    ['add-k', null, false, '13a', 14.882],
    ['add-k', 1, false, '13a', 14.882],
    ['add-k', 2, false, '13a', 21.389],
    ['exp', null, false, 'none', 7.347],
    ['exp', null, false, 'intl', 8.493],
    ['exp', null, false, 'char', 40.8759],
    ['exp', null, true, 'char', 42.0267],
  ];
  for (const [smoothMethod, smoothValue, lowercase, tokenize, expected] of cases) {
    const opts = { smoothMethod, smoothValue, lowercase, tokenize, effectiveOrder: true };
    close(new BLEU(opts).sentenceScore(SYS, [REF]).score, expected, 1e-3, JSON.stringify(opts));
    close(sentenceBleu(SYS, [REF], { smoothMethod, smoothValue, lowercase, tokenize }).score, expected, 1e-3, `sentenceBleu ${JSON.stringify(opts)}`);
  }
  // #141: no match at all scores 0 whatever the smoothing
  for (const [smoothMethod, smoothValue] of [['exp', null], ['none', null], ['floor', null], ['floor', 0.1], ['add-k', null], ['add-k', 1]] as const) {
    assert.equal(sentenceBleu('this is a cat', ['okay thanks'], { smoothMethod, smoothValue }).score, 0);
  }
});

// ---- sacrebleu 2.6.0's outputs on inputs written for these tests

test('tokenizers: 13a, intl, zh and char give sacrebleu 2.6.0 tokenizers\' output', () => {
  const cases: { line: string; '13a': string; intl: string; zh: string }[] = [
    { line: "Hello, world! It's 3.5 km-long (really).", '13a': "Hello , world ! It's 3.5 km-long ( really ) .", intl: "Hello , world ! It ' s 3.5 km - long ( really ) .", zh: "Hello , world ! It's 3.5 km-long ( really ) ." },
    {
      line: 'The year 1999. Costs $1,000.50 or 5-6 items; a/b <tag> &amp; &quot;x&quot; &lt;y&gt;',
      '13a': 'The year 1999 . Costs $ 1,000.50 or 5 - 6 items ; a / b < tag > & " x " < y >',
      intl: 'The year 1999 . Costs $ 1,000.50 or 5-6 items ; a / b < tag > & amp ; & quot ; x & quot ; & lt ; y & gt ;',
      zh: 'The year 1999 . Costs $ 1,000.50 or 5 - 6 items ; a / b < tag > & amp ; & quot ; x & quot ; & lt ; y & gt ;',
    },
    { line: 'Zwei Männer stehen am Herd und bereiten Essen zu.', '13a': 'Zwei Männer stehen am Herd und bereiten Essen zu .', intl: 'Zwei Männer stehen am Herd und bereiten Essen zu .', zh: 'Zwei Männer stehen am Herd und bereiten Essen zu .' },
    { line: 'Ein Kind — im „roten“ T-Shirt — spielt…', '13a': 'Ein Kind — im „roten“ T-Shirt — spielt…', intl: 'Ein Kind — im „ roten “ T - Shirt — spielt …', zh: 'Ein Kind — im „ roten “ T-Shirt — spielt …' },
    // mteval-v14 (intl) keeps a sentence-final period on a number; 13a's padding spaces split it
    { line: 'end with digit 2019.', '13a': 'end with digit 2019 .', intl: 'end with digit 2019.', zh: 'end with digit 2019.' },
    {
      line: 'tabs\tand\u00a0nbsp and\u3000ideographic  space <skipped> here',
      '13a': 'tabs and nbsp and ideographic space here', intl: 'tabs and nbsp and ideographic space < skipped > here', zh: 'tabs and nbsp and ideographic space < skipped > here',
    },
    { line: '我们今天去北京，好吗？ OK 2.5', '13a': '我们今天去北京，好吗？ OK 2.5', intl: '我们今天去北京 ， 好吗 ？ OK 2.5', zh: '我 们 今 天 去 北 京 ， 好 吗 ？ OK 2.5' },
    // zh's table quirk: U+2010 and U+2020 count as Chinese (its '\u20000' range), U+20000 does not
    { line: '\u2010\u2020 ascii~tilde {braces} [brackets] `tick` ^caret_ |pipe|', '13a': '\u2010\u2020 ascii ~ tilde { braces } [ brackets ] ` tick ` ^ caret _ | pipe |', intl: '\u2010 \u2020 ascii ~ tilde { braces } [ brackets ] ` tick ` ^ caret _ | pipe |', zh: '\u2010 \u2020 ascii ~ tilde { braces } [ brackets ] ` tick ` ^ caret _ | pipe |' },
    { line: 'Emoji 😀 and 𠀀 astral', '13a': 'Emoji 😀 and 𠀀 astral', intl: 'Emoji 😀 and 𠀀 astral', zh: 'Emoji 😀 and 𠀀 astral' },
  ];
  for (const c of cases) {
    assert.equal(tokenize13a(c.line), c['13a'], `13a: ${c.line}`);
    assert.equal(tokenizeIntl(c.line), c.intl, `intl: ${c.line}`);
    assert.equal(tokenizeZh(c.line), c.zh, `zh: ${c.line}`);
  }
  assert.equal(tokenizeChar('Emoji 😀 a'), 'E m o j i   😀   a');
  assert.equal(bleuTokenizer('none')(' a  b '), ' a  b ');
  assert.throws(() => bleuTokenizer('moses'), /unknown tokenizer 'moses' \(known: 13a, intl, zh, char, none\)/);
});

test('the score breakdown, a variable number of references, and the signature and score line as sacrebleu prints them', () => {
  const refs = [REFS[0]!, ['The dog had bit the man.', null, 'The man had bitten the dog.']];
  const s = corpusBleu(HYPS, refs);
  close(s.score, 48.530827009929865, 1e-12, 'score');
  assert.deepEqual([s.counts, s.totals, s.sys_len, s.ref_len], [[14, 7, 5, 3], [17, 14, 11, 8], 17, 18]);
  close(s.bp, 0.9428731438548749, 1e-15, 'bp');
  assert.deepEqual(s.precisions.map((p) => +p.toFixed(10)), [82.3529411765, 50, 45.4545454545, 37.5]);
  assert.equal(formatBleu(s), 'BLEU|nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)');
  assert.equal(corpusBleu(HYPS, REFS).signature, 'nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0');
  assert.equal(corpusBleu(HYPS, refs, { smoothMethod: 'floor' }).signature, 'nrefs:var|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:2.6.0');
  assert.equal(corpusBleu(HYPS, refs, { effectiveOrder: true, tokenize: 'intl' }).signature, 'nrefs:var|case:mixed|eff:yes|tok:intl|smooth:exp|version:2.6.0');

  // add-k smooths the counts it reports; 56.25 prints as 56.2 (Python rounds a tie to even)
  const k = corpusBleu(HYPS, refs, { smoothMethod: 'add-k', smoothValue: 2 });
  close(k.score, 56.03183545640221, 1e-12, 'add-k');
  assert.deepEqual([k.counts, k.totals], [[14, 9, 7, 5], [17, 16, 13, 10]]);
  assert.equal(formatBleu(k), 'BLEU|nrefs:var|case:mixed|eff:no|tok:13a|smooth:add-k[2.00]|version:2.6.0 = 56.03 82.4/56.2/53.8/50.0 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)');

  // lowercase, the brevity penalty, and the closest reference length per segment
  const lc = corpusBleu(['THE DOG BIT THE MAN.', 'a b'], [['the dog bit the man .', 'a b c d e']], { lowercase: true });
  close(lc.score, 68.72892787909726, 1e-12, 'lowercase');
  assert.deepEqual([lc.counts, lc.totals], [[8, 6, 4, 3], [8, 6, 4, 3]]);
  assert.equal(formatBleu(lc), 'BLEU|nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0 = 68.73 100.0/100.0/100.0/100.0 (BP = 0.687 ratio = 0.727 hyp_len = 8 ref_len = 11)');
  assert.equal(sentenceBleu('a', ['a'], { smoothMethod: 'floor', smoothValue: 0.5 }).signature, 'nrefs:1|case:mixed|eff:yes|tok:13a|smooth:floor[0.50]|version:2.6.0');
});

test('the closest reference length is the shorter one on a tie; clipping takes the largest count in any one reference', () => {
  // hypothesis of 3 tokens, references of 2 and 4: both 1 away, the 2 is taken (BP = 1 since 3 > 2)
  const s = corpusBleu(['a a a'], [['a a'], ['b b b b']], { tokenize: 'none' });
  assert.equal(s.ref_len, 2);
  assert.equal(s.bp, 1);
  // 'a' appears at most twice in one reference: 2 of the 3 unigrams match, not 3
  assert.equal(s.counts[0], 2);
});

test('pyFixed rounds exact ties to even as Python does, and otherwise as toFixed', () => {
  assert.equal(pyFixed(56.25, 1), '56.2');
  assert.equal(pyFixed(56.75, 1), '56.8');
  assert.equal(pyFixed(0.125, 2), '0.12');
  assert.equal(pyFixed(-0.125, 2), '-0.12');
  assert.equal(pyFixed(2.675, 2), '2.67'); // 2.675 is below the tie in binary
  assert.equal(pyFixed(45.45454545, 1), '45.5');
  assert.equal(pyFixed(100, 1), '100.0');
});

test('bad input is refused with what is wrong', () => {
  assert.throws(() => corpusBleu(['a', 'b'], [['a']]), /reference stream 1 has 1 segments but there are 2 hypotheses/);
  assert.throws(() => corpusBleu([], [[]]), /no hypotheses/);
  assert.throws(() => corpusBleu(['a'], []), /no reference streams/);
  assert.throws(() => new BLEU({ smoothMethod: 'laplace' as never }), /unknown smoothMethod 'laplace'/);
  assert.throws(() => new BLEU({ maxNgramOrder: 0 }), /maxNgramOrder must be a positive integer/);
  assert.throws(() => new BLEU().signature(), /score something first/);
});
