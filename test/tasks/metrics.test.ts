// The metrics against their references: scikit-learn and SciPy values from test/fixtures/metrics/metrics.json
// (written by scripts/gen_metric_fixtures.py), and entity-level counts worked out by hand per case below. The IOB1/IOB2
// cases' reports were also produced by running conlleval (the CoNLL perl script, version 2004-01-26) on the same
// sentences, and the IOBES case's counts by seqeval's default-mode get_entities, when these tests were written; the
// reports pasted here are conlleval's output, the script itself is not part of the repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  accuracy, binaryF1, entities, entityScores, formatConllevalReport, glueAccAndF1, gluePearsonSpearman, macroF1,
  matthewsCorrcoef, pearsonr, perClassScores, spearmanr, toIob2,
  type EntityScheme, type EntityScores, type Label, type ZeroDivision,
} from '../../src/tasks/metrics.js';

type Value = number | 'NaN' | { error: string };
interface ClassificationCase {
  name: string;
  y_true: Label[];
  y_pred: Label[];
  pos_label?: Label;
  labels?: Label[];
  zero_division?: ZeroDivision;
  accuracy: Value;
  binary_f1: Value;
  macro_f1: Value;
  mcc: Value;
  per_class?: { labels: Label[]; precision: number[]; recall: number[]; f1: number[]; support: number[] } | { error: string };
}
interface CorrelationCase { name: string; x: number[]; y: number[]; pearson: Value; spearman: Value }
interface Fixture {
  versions: Record<string, string>;
  classification: ClassificationCase[];
  correlation: CorrelationCase[];
  glue: {
    mrpc: { name: string; y_true: number[]; y_pred: number[]; acc: number; f1: number; acc_and_f1: number }[];
    stsb: { name: string; y_true: number[]; y_pred: number[]; pearson: number; spearmanr: number; corr: number }[];
  };
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/metrics/metrics.json', import.meta.url), 'utf8')) as Fixture;

/** Equal to 1e-12 relative (so an expected 0 must be exactly 0), NaN only where NaN is expected. */
function close(actual: number, expected: number | 'NaN', what: string): void {
  if (expected === 'NaN') return assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(Math.abs(actual), Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

/** Checks f() against a fixture value: a number (or NaN), or a refusal where the reference raised. */
function check(f: () => number, expected: Value, what: string): void {
  if (typeof expected === 'object') return void assert.throws(f, Error, `${what}: the reference raised ${expected.error}`);
  close(f(), expected, what);
}

test('the fixture was written by scikit-learn and SciPy and holds the edge cases', () => {
  assert.ok(fixture.versions.sklearn && fixture.versions.scipy);
  assert.ok(fixture.classification.length >= 20 && fixture.correlation.length >= 10);
});

test('accuracy, binary F1, macro F1 and Matthews correlation equal scikit-learn on every case', () => {
  for (const c of fixture.classification) {
    const zeroDivision = c.zero_division ?? 0;
    check(() => accuracy(c.y_true, c.y_pred), c.accuracy, `${c.name}: accuracy`);
    check(() => binaryF1(c.y_true, c.y_pred, { posLabel: c.pos_label ?? 1, zeroDivision }), c.binary_f1, `${c.name}: binary F1`);
    check(() => macroF1(c.y_true, c.y_pred, { labels: c.labels, zeroDivision }), c.macro_f1, `${c.name}: macro F1`);
    check(() => matthewsCorrcoef(c.y_true, c.y_pred), c.mcc, `${c.name}: MCC`);
    if (c.per_class === undefined) continue;
    assert.ok(!('error' in c.per_class), c.name);
    const want = c.per_class;
    const rows = perClassScores(c.y_true, c.y_pred, { labels: c.labels, zeroDivision });
    assert.deepEqual(rows.map((r) => r.label), want.labels, `${c.name}: labels in sklearn's order`);
    rows.forEach((r, i) => {
      close(r.precision, want.precision[i]!, `${c.name}: precision of ${r.label}`);
      close(r.recall, want.recall[i]!, `${c.name}: recall of ${r.label}`);
      close(r.f1, want.f1[i]!, `${c.name}: F1 of ${r.label}`);
      assert.equal(r.support, want.support[i], `${c.name}: support of ${r.label}`);
    });
  }
});

test('the refusals are scikit-learn\'s: multiclass for binary F1, a missing pos_label, mixed or continuous labels', () => {
  assert.throws(() => binaryF1([0, 1, 2], [0, 1, 1]), /multiclass/);
  assert.throws(() => binaryF1([0, 2, 2], [0, 2, 0]), /posLabel=1 is not a valid label/);
  assert.equal(binaryF1([0, 2, 2], [0, 2, 0], { posLabel: 2 }), 2 / 3);
  assert.throws(() => accuracy([0, 1], [0]), /yTrue has 2 labels, yPred has 1/);
  assert.throws(() => macroF1([0, 1], ['0', '1']), /mix numbers and strings/);
  assert.throws(() => matthewsCorrcoef([0.5, 1], [0, 1]), /must be integers/);
});

test('Pearson and Spearman equal SciPy, NaN for constant input and spearmanr on short input, pearsonr throws there', () => {
  for (const c of fixture.correlation) {
    check(() => pearsonr(c.x, c.y), c.pearson, `${c.name}: pearsonr`);
    check(() => spearmanr(c.x, c.y), c.spearman, `${c.name}: spearmanr`);
  }
  assert.throws(() => pearsonr([1, 2, 3], [1, 2]), /x has 3 values, y has 2/);
});

test('GLUE\'s combined rows equal transformers\' glue_compute_metrics: MRPC acc_and_f1, STS-B corr', () => {
  for (const c of fixture.glue.mrpc) {
    const r = glueAccAndF1(c.y_true, c.y_pred);
    close(r.acc, c.acc, `${c.name}: acc`);
    close(r.f1, c.f1, `${c.name}: f1`);
    close(r.acc_and_f1, c.acc_and_f1, `${c.name}: acc_and_f1`);
  }
  for (const c of fixture.glue.stsb) {
    const r = gluePearsonSpearman(c.y_true, c.y_pred);
    close(r.pearson, c.pearson, `${c.name}: pearson`);
    close(r.spearmanr, c.spearmanr, `${c.name}: spearmanr`);
    close(r.corr, c.corr, `${c.name}: corr`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Entity level

const w = (s: string): string[] => s.split(' ');

interface EntityCase {
  name: string;
  scheme?: EntityScheme;
  gold: string[][];
  pred: string[][];
  /** tokens, tags equal, gold entities, predicted entities, correct entities */
  counts: [number, number, number, number, number];
  /** [type, support (gold), predicted, correct], sorted by type */
  types: [string, number, number, number][];
}

const CASES: EntityCase[] = [
  {
    // gold: two one-token PERs (B- after B- opens a new entity); pred: one two-token PER, which matches neither.
    // Sentence 2 predicts both adjacent PERs right. Tags equal: tokens 0 and 2 of sentence 1, both of sentence 2.
    name: 'adjacent entities of one type (B-PER B-PER)',
    gold: [w('B-PER B-PER O'), w('B-PER B-PER')],
    pred: [w('B-PER I-PER O'), w('B-PER B-PER')],
    counts: [5, 4, 4, 3, 2],
    types: [['PER', 4, 3, 2]],
  },
  {
    // An I- after O opens an entity, so gold "I-LOC I-LOC" (1-2) and the lone "B-LOC" (4) are the same two LOCs as
    // predicted "B-LOC I-LOC" and "I-LOC": 2 of 2 correct although tokens 1 and 4 differ as tags (3 of 5 equal).
    name: 'I- that starts an entity after O',
    gold: [w('O I-LOC I-LOC O B-LOC')],
    pred: [w('O B-LOC I-LOC O I-LOC')],
    counts: [5, 3, 2, 2, 2],
    types: [['LOC', 2, 2, 2]],
  },
  {
    // I-LOC after B-PER is a change of type, so it opens a LOC: pred has PER 0-0 and LOC 1-1, gold one PER 0-1.
    // Nothing matches; LOC gets a row with support 0.
    name: 'type switch inside an entity (B-PER I-LOC)',
    gold: [w('B-PER I-PER O')],
    pred: [w('B-PER I-LOC O')],
    counts: [3, 2, 1, 2, 0],
    types: [['LOC', 0, 1, 0], ['PER', 1, 1, 0]],
  },
  {
    // ORG 1-2 reaches the last token and is closed there (right); gold MISC 0-1 ends the second sentence, pred's
    // MISC 0-0 is shorter (wrong). Tags equal: all 3 of sentence 1, token 0 of sentence 2.
    name: 'entities at the end of a sentence',
    gold: [w('O B-ORG I-ORG'), w('B-MISC I-MISC')],
    pred: [w('O B-ORG I-ORG'), w('B-MISC O')],
    counts: [5, 4, 2, 2, 1],
    types: [['MISC', 1, 1, 0], ['ORG', 1, 1, 1]],
  },
  {
    // The gold I-PER opening sentence 2 cannot continue sentence 1's B-PER: two PERs, 1-1 of sentence 1 and 0-0 of
    // sentence 2. The predicted PER 1-1 of sentence 1 is therefore right (were the sentences joined, it would be
    // one PER spanning the boundary, and wrong).
    name: 'entities never cross a sentence boundary',
    gold: [w('O B-PER'), w('I-PER O')],
    pred: [w('O B-PER'), w('O O')],
    counts: [4, 3, 2, 1, 1],
    types: [['PER', 2, 1, 1]],
  },
  {
    // IOB1 (CoNLL-2003's original files): I- opens an entity, B- only separates two of one type. Gold: PER 0-1,
    // LOC 3-3, LOC 4-4, ORG 6-6; pred: PER 0-0 and PER 1-1 (B- split it), LOC 3-4 (merged), ORG 6-6. Only ORG is
    // right. Tags equal: all but tokens 1 and 4.
    name: 'IOB1 input',
    scheme: 'IOB1',
    gold: [w('I-PER I-PER O I-LOC B-LOC O I-ORG')],
    pred: [w('I-PER B-PER O I-LOC I-LOC O I-ORG')],
    counts: [7, 5, 4, 4, 1],
    types: [['LOC', 2, 1, 0], ['ORG', 1, 1, 1], ['PER', 1, 2, 0]],
  },
  {
    // The first CoNLL-2003 English training sentences (IOB2). Gold: ORG EU, MISC German, MISC British | PER Peter
    // Blackburn | LOC BRUSSELS | ORG European Commission, MISC German, MISC British | LOC Germany, ORG European Union,
    // PER Werner Zwingmann = 11. Pred: sentences 1-2 right (4); BRUSSELS as ORG (wrong, LOC missed); sentence 4 right
    // on ORG and the first MISC, misses British and adds MISC "mad cow" (2 right of 3); sentence 5 right on LOC and
    // ORG, splits the PER into two (2 right of 4). Found 4+1+3+4 = 12, correct 4+0+2+2 = 8.
    // Tags differ at BRUSSELS, British, mad, cow and Zwingmann: 51 of 56 equal.
    name: 'a realistic corpus (CoNLL-2003 style)',
    gold: [
      w('B-ORG O B-MISC O O O B-MISC O O'),
      w('B-PER I-PER'),
      w('B-LOC O'),
      w('O B-ORG I-ORG O O O O O O B-MISC O O O O O B-MISC O O O O O O O O O O O O O O'),
      w('B-LOC O O O O B-ORG I-ORG O O O B-PER I-PER O'),
    ],
    pred: [
      w('B-ORG O B-MISC O O O B-MISC O O'),
      w('B-PER I-PER'),
      w('B-ORG O'),
      w('O B-ORG I-ORG O O O O O O B-MISC O O O O O O O O O O O B-MISC I-MISC O O O O O O O'),
      w('B-LOC O O O O B-ORG I-ORG O O O B-PER B-PER O'),
    ],
    counts: [56, 51, 11, 12, 8],
    types: [['LOC', 2, 1, 1], ['MISC', 4, 4, 3], ['ORG', 3, 4, 3], ['PER', 2, 3, 1]],
  },
  {
    // IOBES, read by seqeval's default-mode rules. Gold: PER 0-1, LOC 2-2, ORG 4-6, PER 7-7, PER 8-8 | MISC 1-1 = 6.
    // Pred: PER 0-1 (right); B-LOC then O closes LOC 2-2 without an E- (right, the reading is lenient); ORG 4-5
    // (wrong, too short); S-PER 7-7 (right); I-PER after S- opens PER 8-8 (right) | E-MISC after O is MISC 1-1
    // (right). Found 6, correct 5. Tags equal: 7 of 12 (tokens 2, 5, 6, 8 of sentence 1 and 1 of sentence 2 differ).
    name: 'IOBES input',
    scheme: 'IOBES',
    gold: [w('B-PER E-PER S-LOC O B-ORG I-ORG E-ORG S-PER S-PER'), w('O S-MISC O')],
    pred: [w('B-PER E-PER B-LOC O B-ORG E-ORG O S-PER I-PER'), w('O E-MISC O')],
    counts: [12, 7, 6, 6, 5],
    types: [['LOC', 1, 1, 1], ['MISC', 1, 1, 1], ['ORG', 1, 1, 0], ['PER', 3, 3, 3]],
  },
];

function assertScores(r: EntityScores, c: EntityCase): void {
  assert.deepEqual([r.tokens, r.correctTags, r.support, r.predicted, r.correct], c.counts, `${c.name}: counts`);
  assert.deepEqual(r.types.map((t) => [t.type, t.support, t.predicted, t.correct]), c.types, `${c.name}: per-type counts`);
  const p = c.counts[3] > 0 ? c.counts[4] / c.counts[3] : 0, rec = c.counts[2] > 0 ? c.counts[4] / c.counts[2] : 0;
  close(r.precision, p, `${c.name}: precision`);
  close(r.recall, rec, `${c.name}: recall`);
  close(r.f1, p + rec > 0 ? (2 * p * rec) / (p + rec) : 0, `${c.name}: F1`);
  close(r.tokenAccuracy, c.counts[1] / c.counts[0], `${c.name}: token accuracy`);
  for (const t of r.types) {
    const tp = t.predicted > 0 ? t.correct / t.predicted : 0, tr = t.support > 0 ? t.correct / t.support : 0;
    close(t.precision, tp, `${c.name}: ${t.type} precision`);
    close(t.recall, tr, `${c.name}: ${t.type} recall`);
    close(t.f1, tp + tr > 0 ? (2 * tp * tr) / (tp + tr) : 0, `${c.name}: ${t.type} F1`);
  }
}

test('entity-level counts equal the hand-worked ones (conlleval\'s and seqeval\'s) on every case', () => {
  for (const c of CASES) assertScores(entityScores(c.gold, c.pred, { scheme: c.scheme }), c);
});

test('entities reads each scheme as documented, and toIob2 converts IOB1 and IOBES', () => {
  assert.deepEqual(entities(w('I-PER I-PER O I-LOC B-LOC O I-ORG'), 'IOB1'), [
    { type: 'PER', start: 0, end: 2 }, { type: 'LOC', start: 3, end: 4 }, { type: 'LOC', start: 4, end: 5 }, { type: 'ORG', start: 6, end: 7 },
  ]);
  assert.deepEqual(toIob2(w('I-PER I-PER O I-LOC B-LOC O I-ORG'), 'IOB1'), w('B-PER I-PER O B-LOC B-LOC O B-ORG'));
  assert.deepEqual(toIob2(w('B-PER E-PER S-LOC S-LOC O B-ORG I-ORG E-ORG O E-MISC'), 'BIOES'), w('B-PER I-PER B-LOC B-LOC O B-ORG I-ORG I-ORG O B-MISC'));
  // a type may hold hyphens: conlleval splits at the first one only
  assert.deepEqual(entities(w('B-GPE-LOC I-GPE-LOC')), [{ type: 'GPE-LOC', start: 0, end: 2 }]);
  // IOB1 scored as given or after conversion finds the same entities (tag accuracy is of the tags as given)
  const iob1 = CASES.find((c) => c.scheme === 'IOB1')!;
  const converted = entityScores(iob1.gold.map((s) => toIob2(s, 'IOB1')), iob1.pred.map((s) => toIob2(s, 'IOB1')));
  assert.deepEqual([converted.support, converted.predicted, converted.correct], iob1.counts.slice(2));
});

test('tags outside the scheme are refused, with the sentence and token', () => {
  assert.throws(() => entityScores([w('O E-PER')], [w('O O')]), /gold sentence 0, token 1: tag "E-PER" is not O or B-TYPE, I-TYPE \(scheme IOB2\)/);
  assert.throws(() => entityScores([w('O O'), w('O O')], [w('O O'), w('B- O')]), /predicted sentence 1, token 0/);
  assert.throws(() => entities(['PER']), /tag "PER"/);
  assert.throws(() => entities(['L-PER'], 'IOBES'), /tag "L-PER"/);
  assert.throws(() => entityScores([w('O O')], [w('O')]), /sentence 0 has 2 gold tags, 1 predicted/);
  // no tokens: nothing to score, and conlleval prints no accuracy line
  const empty = entityScores([], []);
  assert.ok(Number.isNaN(empty.tokenAccuracy) && empty.f1 === 0);
  assert.equal(formatConllevalReport(empty), 'processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n');
});

test('formatConllevalReport prints conlleval\'s output digit for digit, ties rounded to even as its printf does', () => {
  const realistic = CASES.find((c) => c.name.startsWith('a realistic'))!;
  // conlleval's output on the realistic case (one "word gold predicted" line per token, a blank line between sentences)
  assert.equal(formatConllevalReport(entityScores(realistic.gold, realistic.pred)), [
    'processed 56 tokens with 11 phrases; found: 12 phrases; correct: 8.',
    'accuracy:  91.07%; precision:  66.67%; recall:  72.73%; FB1:  69.57',
    '              LOC: precision: 100.00%; recall:  50.00%; FB1:  66.67  1',
    '             MISC: precision:  75.00%; recall:  75.00%; FB1:  75.00  4',
    '              ORG: precision:  75.00%; recall: 100.00%; FB1:  85.71  4',
    '              PER: precision:  33.33%; recall:  50.00%; FB1:  40.00  3',
    '',
  ].join('\n'));
  // 1 right of 800 predicted: 100/800 = 0.125 exactly, which glibc's printf (and so conlleval) prints as 0.12, where
  // toFixed would print 0.13. conlleval's output on this sentence:
  const gold = [['B-X', ...Array<string>(799).fill('O')]], pred = [Array<string>(800).fill('B-X')];
  assert.equal(formatConllevalReport(entityScores(gold, pred)), [
    'processed 800 tokens with 1 phrases; found: 800 phrases; correct: 1.',
    'accuracy:   0.12%; precision:   0.12%; recall: 100.00%; FB1:   0.25',
    '                X: precision:   0.12%; recall: 100.00%; FB1:   0.25  800',
    '',
  ].join('\n'));
});
