// chrF against sacrebleu, and BLEU and chrF against NLTK where their settings coincide. The first cases are
// sacrebleu's own tests, copied with their inputs and expected numbers from github mjpost/sacrebleu (2.6.0, commit
// f615c72): test/test_chrf.py, each block naming the test function it comes from. NLTK's values come from
// scripts/gen_nltk_metric_fixtures.py (Debian's python3-nltk), which says where the two libraries agree. The chrF++
// case is worked out by hand below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHRF, chrfWords, corpusChrf, formatChrf, sentenceChrf } from '../../src/tasks/chrf.js';
import { corpusBleu } from '../../src/tasks/bleu.js';

const EPSILON = 1e-4;
const close = (actual: number, expected: number, eps: number, what: string) => assert.ok(Math.abs(actual - expected) < eps, `${what}: ${actual} vs ${expected}`);

test('test_chrf (beta 3, eps smoothing)', () => {
  const cases: [string[], string[], number][] = [
    [['abcdefg'], ['hijklmnop'], 0.0],
    [['a'], ['b'], 0.0],
    [[''], ['b'], 0.0],
    [[''], ['ref'], 0.0],
    [[''], ['reference'], 0.0],
    [['aa'], ['ab'], 8.3333],
    [['a', 'b'], ['a', 'c'], 8.3333],
    [['a'], ['a'], 16.6667],
    [['a b c'], ['a b c'], 50.0],
    [['a b c'], ['abc'], 50.0],
    [[' risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .'],
      ['risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .'], 63.361730],
    [[' Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. '],
      ['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.'], 64.1302698],
    [['Niemand hat die Absicht, eine Mauer zu errichten'], ['Niemand hat die Absicht, eine Mauer zu errichten'], 100.0],
  ];
  for (const [hyps, refs, expected] of cases) close(corpusChrf(hyps, [refs], { charOrder: 6, wordOrder: 0, beta: 3, epsSmoothing: true }).score, expected, EPSILON, hyps.join('|'));
});

test('test_chrf_eff_order (beta 3, effective order)', () => {
  const cases: [string[], string[], number][] = [
    [['a'], ['a'], 100.0],
    [[''], ['reference'], 0.0],
    [['a b c'], ['a b c'], 100.0],
    [['a b c'], ['abc'], 100.0],
    [[''], ['c'], 0.0],
    [['a', 'b'], ['a', 'c'], 50.0],
    [['aa'], ['ab'], 25.0],
  ];
  for (const [hyps, refs, expected] of cases) close(corpusChrf(hyps, [refs], { charOrder: 6, wordOrder: 0, beta: 3 }).score, expected, EPSILON, hyps.join('|'));
});

test('test_chrf_keep_whitespace (beta 3, remove_whitespace=False)', () => {
  const cases: [string[], string[], number][] = [
    [['Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.'], ['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.'], 67.3481606],
    [['risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .'],
      ['risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .'], 65.2414427],
  ];
  for (const [hyps, refs, expected] of cases) close(corpusChrf(hyps, [refs], { beta: 3, whitespace: true }).score, expected, EPSILON, hyps.join('|'));
});

test('test_chrf_sentence_level (defaults, eps smoothing)', () => {
  const cases: [string, string[], number][] = [
    ['Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.', ['Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.'], 39.14078509],
    ['Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.', ['A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.'], 31.22557079],
    ['Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.', ['Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.'], 57.15704367],
  ];
  for (const [hyp, refs, expected] of cases) close(sentenceChrf(hyp, refs, { epsSmoothing: true }).score, expected, EPSILON, hyp);
});

test("chrF++ by hand: 'a b.' against 'a b c.' with character order 1 and word order 2, beta 1", () => {
  // words: hyp a | b | .  ref a | b | c | .  (the final period split off); characters (no spaces): hyp a b .  ref a b c .
  // chars-1: 3 of 3 match, 3/4 recall; words-1: 3/3, 3/4; words-2 (a b, b .) vs (a b, b c, c .): 1/2, 1/3
  const p = (1 + 1 + 0.5) / 3, r = (0.75 + 0.75 + 1 / 3) / 3;
  const s = new CHRF({ charOrder: 1, wordOrder: 2, beta: 1 }).corpusScore(['a b.'], [['a b c.']]);
  close(s.score, (100 * 2 * p * r) / (p + r), 1e-9, 'chrF1++');
  assert.equal(s.name, 'chrF1++');
  assert.deepEqual(chrfWords('(hi) there, "you"'), ['(hi', ')', 'there', ',', '"you', '"']);
});

test("sacrebleu's signature and score line; several and variable references; the best reference per segment", () => {
  const refs = [['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'], ['The dog had bit the man.', null, 'The man had bitten the dog.']];
  const hyps = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];
  const s = corpusChrf(hyps, refs);
  assert.equal(s.signature, 'nrefs:var|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0');
  assert.match(formatChrf(s), /^chrF2\|nrefs:var\|case:mixed\|eff:yes\|nc:6\|nw:0\|space:no\|version:2\.6\.0 = \d+\.\d\d$/);
  assert.equal(corpusChrf(hyps, [refs[0]!], { wordOrder: 2, lowercase: true, epsSmoothing: true }).signature, 'nrefs:1|case:lc|eff:no|nc:6|nw:2|space:no|version:2.6.0');
  // a perfect match with one of two references scores as that reference alone
  close(sentenceChrf('The dog bit the man.', ['A cat.', 'The dog bit the man.']).score, 100, 1e-9, 'best reference');
  assert.throws(() => corpusChrf(['a'], [['a', 'b']]), /reference stream 1 has 2 segments but there are 1 hypotheses/);
  assert.throws(() => new CHRF({ charOrder: 0, wordOrder: 0 }), /cannot both be 0/);
});

const NLTK = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/metrics/nltk-bleu-chrf.json', import.meta.url)), 'utf8')) as {
  bleu: { hypotheses: string[]; references: string[][]; score: number }[];
  chrf: { hypothesis: string; reference: string; score: number }[];
};

test("NLTK's corpus_bleu equals BLEU with tokenize 'none' and no smoothing on space-split text", () => {
  assert.ok(NLTK.bleu.length >= 15 && NLTK.bleu.some((c) => c.score > 20 && c.score < 99));
  for (const c of NLTK.bleu) {
    const streams = Array.from({ length: Math.max(...c.references.map((r) => r.length)) }, (_, k) => c.references.map((r) => r[k] ?? null));
    close(corpusBleu(c.hypotheses, streams, { tokenize: 'none', smoothMethod: 'none' }).score, c.score, 1e-6, c.hypotheses.join(' | '));
  }
});

test("NLTK's sentence_chrf equals chrF with beta 3 and eps smoothing on one sentence", () => {
  for (const c of NLTK.chrf) close(sentenceChrf(c.hypothesis, [c.reference], { beta: 3, epsSmoothing: true }).score, c.score, 1e-9, c.hypothesis);
});
