// Evaluation metrics of the transfer tasks on plain arrays, each with the semantics of the reference that papers
// report: scikit-learn 1.2 (accuracy_score, f1_score, matthews_corrcoef), SciPy 1.10 (pearsonr, spearmanr), the GLUE
// combined scores as Hugging Face's glue_compute_metrics forms them, and entity-level scores that count as conlleval
// (the CoNLL-2000/2003 perl script, version 2004-01-26) and seqeval's default mode do.

/** A class label: integers or strings, never mixed (scikit-learn refuses a mix, and so do we). */
export type Label = number | string;

/**
 * What a precision or recall with a zero denominator becomes (scikit-learn's `zero_division`). scikit-learn's default,
 * "warn", warns and uses 0; a library does not print, so 0 is the default here and there is no warning.
 */
export type ZeroDivision = 0 | 1;

/** Checks two label arrays as scikit-learn's `_check_targets` does, so a call it would refuse is refused here too. */
function checkTargets(fn: string, yTrue: readonly Label[], yPred: readonly Label[]): void {
  if (yTrue.length !== yPred.length) throw new RangeError(`${fn}: yTrue has ${yTrue.length} labels, yPred has ${yPred.length}`);
  let kind: 'number' | 'string' | undefined;
  for (const y of [yTrue, yPred]) {
    for (const v of y) {
      const k = typeof v === 'number' ? 'number' : typeof v === 'string' ? 'string' : undefined;
      if (k === undefined) throw new TypeError(`${fn}: a label must be a number or a string, got ${typeof v}`);
      // scikit-learn calls non-integer numbers "continuous" targets and refuses them
      if (k === 'number' && !Number.isInteger(v)) throw new RangeError(`${fn}: numeric labels must be integers, got ${v}`);
      if (kind !== undefined && k !== kind) throw new TypeError(`${fn}: labels mix numbers and strings`);
      kind = k;
    }
  }
}

/** Labels sorted as numpy.unique sorts them (numbers ascending; strings by code point, as Python compares them). */
function sortedLabels(labels: Iterable<Label>): Label[] {
  return [...new Set(labels)].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : compareCodePoints(String(a), String(b))));
}

/** Compares strings by Unicode code point (Python's and perl's order), not by UTF-16 unit as `<` does. */
function compareCodePoints(a: string, b: string): number {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Precision, recall and F1 from counts, as scikit-learn 1.2's precision_recall_fscore_support forms them. */
function prf(correct: number, predicted: number, support: number, zeroDivision: ZeroDivision): { precision: number; recall: number; f1: number } {
  const precision = predicted > 0 ? correct / predicted : zeroDivision;
  const recall = support > 0 ? correct / support : zeroDivision;
  // sklearn 1.2: F = 2PR / (P + R), and 0 where P + R = 0 (so zero_division=1 gives 1 only when the class is absent
  // from both arrays, where P = R = 1)
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** The fraction of positions where the labels agree (sklearn accuracy_score; NaN for empty arrays, as numpy's mean). */
export function accuracy(yTrue: readonly Label[], yPred: readonly Label[]): number {
  checkTargets('accuracy', yTrue, yPred);
  let same = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) same++;
  return same / yTrue.length;
}

/** Options of `binaryF1`. */
export interface BinaryF1Options {
  /** The class whose F1 is reported (sklearn's `pos_label`); default 1. */
  posLabel?: Label;
  /** See `ZeroDivision`; default 0. */
  zeroDivision?: ZeroDivision;
}

/**
 * F1 of the positive class (sklearn f1_score with average='binary'). As scikit-learn, it throws when the two arrays
 * together hold more than two labels ("Target is multiclass"), or two labels of which neither is `posLabel`; with one
 * label only (all one class) it is allowed, and a positive class that is never predicted nor true scores
 * `zeroDivision` for precision and recall, so F1 = 0 by default.
 */
export function binaryF1(yTrue: readonly Label[], yPred: readonly Label[], opts: BinaryF1Options = {}): number {
  checkTargets('binaryF1', yTrue, yPred);
  const pos = opts.posLabel ?? 1;
  const present = sortedLabels([...yTrue, ...yPred]);
  if (present.length > 2) throw new RangeError(`binaryF1: target is multiclass (labels ${present.join(', ')}); use macroF1`);
  if (present.length === 2 && !present.includes(pos)) throw new RangeError(`binaryF1: posLabel=${pos} is not a valid label; it should be one of ${present.join(', ')}`);
  return classCounts(yTrue, yPred, [pos], opts.zeroDivision ?? 0)[0]!.f1;
}

/** One class's scores (a row of sklearn's classification_report). */
export interface ClassScores {
  label: Label;
  precision: number;
  recall: number;
  f1: number;
  /** How many true labels are this class. */
  support: number;
  /** How many predictions are this class. */
  predicted: number;
  /** How many predictions of this class are right (true positives). */
  correct: number;
}

/** Options of `macroF1` and `perClassScores`. */
export interface MacroF1Options {
  /**
   * The classes to score and average (sklearn's `labels`), e.g. every class of a task even if the evaluation set
   * lacks one: a class absent from both arrays scores `zeroDivision`'s F1. Default: the sorted union of both arrays.
   */
  labels?: readonly Label[];
  /** See `ZeroDivision`; default 0. */
  zeroDivision?: ZeroDivision;
}

function classCounts(yTrue: readonly Label[], yPred: readonly Label[], labels: readonly Label[], zeroDivision: ZeroDivision): ClassScores[] {
  return labels.map((label) => {
    let correct = 0, predicted = 0, support = 0;
    for (let i = 0; i < yTrue.length; i++) {
      if (yTrue[i] === label) support++;
      if (yPred[i] === label) predicted++;
      if (yTrue[i] === label && yPred[i] === label) correct++;
    }
    return { label, ...prf(correct, predicted, support, zeroDivision), support, predicted, correct };
  });
}

/** Per-class precision, recall, F1 and counts (sklearn precision_recall_fscore_support with average=None). */
export function perClassScores(yTrue: readonly Label[], yPred: readonly Label[], opts: MacroF1Options = {}): ClassScores[] {
  checkTargets('perClassScores', yTrue, yPred);
  return classCounts(yTrue, yPred, opts.labels ?? sortedLabels([...yTrue, ...yPred]), opts.zeroDivision ?? 0);
}

/**
 * The unweighted mean of the per-class F1s (sklearn f1_score with average='macro'). A class predicted but never
 * true, or true but never predicted, scores 0 and still counts in the mean. Empty arrays (no classes) give NaN.
 */
export function macroF1(yTrue: readonly Label[], yPred: readonly Label[], opts: MacroF1Options = {}): number {
  const rows = perClassScores(yTrue, yPred, opts);
  return rows.reduce((s, r) => s + r.f1, 0) / rows.length;
}

/**
 * Matthews correlation coefficient, binary or multiclass (sklearn matthews_corrcoef: Gorodkin's R_K from the
 * confusion matrix). 0 when either array holds a single class (or is empty), where the coefficient is undefined.
 */
export function matthewsCorrcoef(yTrue: readonly Label[], yPred: readonly Label[]): number {
  checkTargets('matthewsCorrcoef', yTrue, yPred);
  const labels = sortedLabels([...yTrue, ...yPred]);
  const index = new Map(labels.map((l, i) => [l, i]));
  const tSum = new Array<number>(labels.length).fill(0), pSum = new Array<number>(labels.length).fill(0);
  let nCorrect = 0;
  for (let i = 0; i < yTrue.length; i++) {
    tSum[index.get(yTrue[i]!)!]!++;
    pSum[index.get(yPred[i]!)!]!++;
    if (yTrue[i] === yPred[i]) nCorrect++;
  }
  const n = yTrue.length;
  let tp = 0, pp = 0, tt = 0;
  for (let k = 0; k < labels.length; k++) {
    tp += tSum[k]! * pSum[k]!;
    pp += pSum[k]! * pSum[k]!;
    tt += tSum[k]! * tSum[k]!;
  }
  const covYtYp = nCorrect * n - tp, covYpYp = n * n - pp, covYtYt = n * n - tt;
  if (covYpYp * covYtYt === 0) return 0;
  return covYtYp / Math.sqrt(covYtYt * covYpYp);
}

function checkPaired(fn: string, x: readonly number[], y: readonly number[]): void {
  if (x.length !== y.length) throw new RangeError(`${fn}: x has ${x.length} values, y has ${y.length}`);
}

const isConstant = (v: readonly number[]): boolean => v.every((a) => a === v[0]);

/** The Euclidean norm, scaled by the largest entry first so that squares cannot overflow (as scipy.linalg.norm). */
function norm(v: readonly number[]): number {
  const m = v.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  if (m === 0 || !Number.isFinite(m)) return m;
  let s = 0;
  for (const a of v) s += (a / m) ** 2;
  return m * Math.sqrt(s);
}

const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * Pearson's r (scipy.stats.pearsonr's statistic). Throws for fewer than 2 points, as scipy does; NaN when either
 * series is constant (scipy warns ConstantInputWarning and returns NaN); two points give the product of the signs of
 * their differences. r is clipped to [-1, 1] against rounding.
 */
export function pearsonr(x: readonly number[], y: readonly number[]): number {
  checkPaired('pearsonr', x, y);
  if (x.length < 2) throw new RangeError('pearsonr: x and y must have length at least 2');
  if (isConstant(x) || isConstant(y)) return NaN;
  if (x.length === 2) return Math.sign(x[1]! - x[0]!) * Math.sign(y[1]! - y[0]!);
  // scipy normalises the centred vectors before the dot product rather than dividing at the end
  const mx = mean(x), my = mean(y);
  const xm = x.map((a) => a - mx), ym = y.map((b) => b - my);
  const nx = norm(xm), ny = norm(ym);
  let r = 0;
  for (let i = 0; i < x.length; i++) r += (xm[i]! / nx) * (ym[i]! / ny);
  return Math.max(Math.min(r, 1), -1);
}

/** 1-based ranks with tied values given the mean of their ranks (scipy.stats.rankdata, method='average'). */
function averageRanks(v: readonly number[]): number[] {
  const order = v.map((_, i) => i).sort((a, b) => v[a]! - v[b]! || a - b);
  const ranks = new Array<number>(v.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && v[order[j + 1]!] === v[order[i]!]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/**
 * Spearman's ρ (scipy.stats.spearmanr's statistic): Pearson's correlation of the ranks, ties given their average
 * rank, computed as numpy.corrcoef does. NaN for fewer than 2 points or a constant series (scipy returns NaN for both;
 * unlike pearsonr it does not throw on short input).
 */
export function spearmanr(x: readonly number[], y: readonly number[]): number {
  checkPaired('spearmanr', x, y);
  if (x.length < 2 || isConstant(x) || isConstant(y)) return NaN;
  const rx = averageRanks(x), ry = averageRanks(y);
  const mx = mean(rx), my = mean(ry);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < rx.length; i++) {
    const dx = rx[i]! - mx, dy = ry[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  // numpy.corrcoef: the covariance matrix (scaled by 1/(n-1)), divided by each standard deviation in turn
  const f = 1 / (rx.length - 1);
  const r = (sxy * f) / Math.sqrt(sxx * f) / Math.sqrt(syy * f);
  return Math.max(Math.min(r, 1), -1);
}

/** GLUE's MRPC/QQP row, with Hugging Face glue_compute_metrics' keys: accuracy, binary F1 of class 1, their mean. */
export interface AccAndF1 {
  acc: number;
  f1: number;
  acc_and_f1: number;
}

/** Accuracy and binary F1 (positive label 1) and their mean, as GLUE reports MRPC and QQP ("acc_and_f1"). */
export function glueAccAndF1(yTrue: readonly Label[], yPred: readonly Label[]): AccAndF1 {
  const acc = accuracy(yTrue, yPred);
  const f1 = binaryF1(yTrue, yPred);
  return { acc, f1, acc_and_f1: (acc + f1) / 2 };
}

/** GLUE's STS-B row, with Hugging Face glue_compute_metrics' keys: Pearson, Spearman, their mean. */
export interface PearsonAndSpearman {
  pearson: number;
  spearmanr: number;
  corr: number;
}

/** Pearson's and Spearman's correlations and their mean, as GLUE reports STS-B ("corr"). */
export function gluePearsonSpearman(yTrue: readonly number[], yPred: readonly number[]): PearsonAndSpearman {
  const pearson = pearsonr(yPred, yTrue);
  const spearman = spearmanr(yPred, yTrue);
  return { pearson, spearmanr: spearman, corr: (pearson + spearman) / 2 };
}

// ---------------------------------------------------------------------------------------------------------------
// Entity-level (chunk) scores for sequence labelling

/**
 * A tagging scheme of entity tags `PREFIX-TYPE` and `O` (the type is everything after the first hyphen, as
 * conlleval splits it).
 * - 'IOB2' (B- opens every entity) and 'IOB1' (B- only separates two adjacent entities of one type) accept B- and I-
 *   and are read alike, by conlleval's rules: B- always opens an entity; I- continues the entity before it when that
 *   has the same type, and otherwise (after O, or after an entity of another type) opens a new one, as conlleval and
 *   seqeval's default mode do. That reading is IOB1's definition, and on valid IOB2 it is IOB2's.
 * - 'IOBES' (alias 'BIOES') also accepts E- (last token) and S- (single-token entity), read by seqeval's default-mode
 *   rules (conlleval has no S-): an entity ends after E- or S-, and before B-, S- or O; an I- or E- that follows O, E-,
 *   S- or another type opens a new entity, as in IOB2 (so "O E-PER" is a one-token PER).
 */
export type EntityScheme = 'IOB1' | 'IOB2' | 'IOBES' | 'BIOES';

/** An entity (chunk) of one sentence: tokens start .. end-1. */
export interface Entity {
  type: string;
  start: number;
  end: number;
}

const SCHEMES: readonly EntityScheme[] = ['IOB1', 'IOB2', 'IOBES', 'BIOES'];

type Tag = { prefix: 'O' | 'B' | 'I' | 'E' | 'S'; type: string };

function parseTag(tag: string, scheme: EntityScheme, where: string): Tag {
  if (tag === 'O') return { prefix: 'O', type: '' };
  const dash = tag.indexOf('-');
  const prefix = tag.slice(0, dash), type = tag.slice(dash + 1);
  const allowed = scheme === 'IOB1' || scheme === 'IOB2' ? ['B', 'I'] : ['B', 'I', 'E', 'S'];
  if (dash < 0 || type === '' || !allowed.includes(prefix)) throw new RangeError(`${where}: tag "${tag}" is not O or ${allowed.map((a) => `${a}-TYPE`).join(', ')} (scheme ${scheme})`);
  return { prefix: prefix as Tag['prefix'], type };
}

/** Whether an entity ends between tags a and b (seqeval's end_of_chunk; conlleval's endOfChunk on B/I/O). */
function endsBetween(a: Tag, b: Tag): boolean {
  if (a.prefix === 'O') return false;
  if (a.prefix === 'E' || a.prefix === 'S') return true;
  return b.prefix === 'B' || b.prefix === 'S' || b.prefix === 'O' || a.type !== b.type;
}

/** Whether an entity starts at tag b after tag a (seqeval's start_of_chunk; conlleval's startOfChunk on B/I/O). */
function startsAt(a: Tag, b: Tag): boolean {
  if (b.prefix === 'O') return false;
  if (b.prefix === 'B' || b.prefix === 'S') return true;
  return a.prefix === 'O' || a.prefix === 'E' || a.prefix === 'S' || a.type !== b.type;
}

/** The entities of one sentence's tags, in order (seqeval's get_entities with an exclusive end). */
export function entities(tags: readonly string[], scheme: EntityScheme = 'IOB2'): Entity[] {
  if (!SCHEMES.includes(scheme)) throw new RangeError(`entities: unknown scheme ${String(scheme)}; expected one of ${SCHEMES.join(', ')}`);
  const out: Entity[] = [];
  const outside: Tag = { prefix: 'O', type: '' };
  let prev = outside, begin = 0;
  // one O past the end closes an entity that reaches the last token
  for (let i = 0; i <= tags.length; i++) {
    const tag = i < tags.length ? parseTag(tags[i]!, scheme, `token ${i}`) : outside;
    if (endsBetween(prev, tag)) out.push({ type: prev.type, start: begin, end: i });
    if (startsAt(prev, tag)) begin = i;
    prev = tag;
  }
  return out;
}

/** Rewrites one sentence's tags as IOB2 (B- opens every entity), e.g. to convert IOB1 or IOBES files. */
export function toIob2(tags: readonly string[], scheme: EntityScheme): string[] {
  const out = tags.map(() => 'O');
  for (const e of entities(tags, scheme)) for (let i = e.start; i < e.end; i++) out[i] = `${i === e.start ? 'B' : 'I'}-${e.type}`;
  return out;
}

/** One entity type's row (a per-type line of conlleval, a row of seqeval's classification_report). */
export interface EntityTypeScores {
  type: string;
  precision: number;
  recall: number;
  f1: number;
  /** Gold entities of this type. */
  support: number;
  /** Predicted entities of this type (the number conlleval prints at the end of the line). */
  predicted: number;
  /** Predicted entities of this type whose span and type match a gold one. */
  correct: number;
}

/** Entity-level scores over a corpus: micro-averaged over all entities, plus one row per type. */
export interface EntityScores {
  /** Tokens scored (sentence boundaries are not tokens). */
  tokens: number;
  /** Tokens whose predicted tag equals the gold tag, O included. */
  correctTags: number;
  /** correctTags / tokens (conlleval's "accuracy"; NaN for no tokens). */
  tokenAccuracy: number;
  /** Gold entities ("phrases"). */
  support: number;
  /** Predicted entities ("found"). */
  predicted: number;
  /** Predicted entities that match a gold one in start, end and type ("correct"). */
  correct: number;
  /** Micro-averaged: correct / predicted, 0 when nothing is predicted (conlleval's and seqeval's default). */
  precision: number;
  /** Micro-averaged: correct / support, 0 when there is no gold entity. */
  recall: number;
  /** 2PR / (P + R), 0 when P + R = 0. */
  f1: number;
  /** One row per type found in the gold or the predictions, sorted by name (as conlleval sorts them). */
  types: EntityTypeScores[];
}

/**
 * Entity-level precision, recall and F1 of predicted tag sequences against gold ones, one array per sentence
 * (entities never cross sentences). An entity is right only when its start, end and type all match. The counts
 * equal conlleval's and seqeval's default mode (non-strict) on IOB1/IOB2 input, and seqeval's default mode on IOBES;
 * see `EntityScheme` for how each scheme is read. Token accuracy compares whole tags as given (before any reading of
 * the scheme), as conlleval prints it.
 */
export function entityScores(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[], opts: { scheme?: EntityScheme } = {}): EntityScores {
  const scheme = opts.scheme ?? 'IOB2';
  if (gold.length !== pred.length) throw new RangeError(`entityScores: ${gold.length} gold sentences, ${pred.length} predicted`);
  const counts = new Map<string, { support: number; predicted: number; correct: number }>();
  const count = (type: string) => {
    let c = counts.get(type);
    if (c === undefined) counts.set(type, (c = { support: 0, predicted: 0, correct: 0 }));
    return c;
  };
  let tokens = 0, correctTags = 0;
  for (let s = 0; s < gold.length; s++) {
    const g = gold[s]!, p = pred[s]!;
    if (g.length !== p.length) throw new RangeError(`entityScores: sentence ${s} has ${g.length} gold tags, ${p.length} predicted`);
    tokens += g.length;
    for (let i = 0; i < g.length; i++) if (g[i] === p[i]) correctTags++;
    const where = (e: Error, side: string) => new RangeError(`entityScores: ${side} sentence ${s}, ${e.message}`);
    let ge: Entity[], pe: Entity[];
    try { ge = entities(g, scheme); } catch (e) { throw where(e as Error, 'gold'); }
    try { pe = entities(p, scheme); } catch (e) { throw where(e as Error, 'predicted'); }
    const goldKeys = new Set(ge.map((e) => `${e.start}:${e.end}:${e.type}`));
    for (const e of ge) count(e.type).support++;
    for (const e of pe) {
      const c = count(e.type);
      c.predicted++;
      if (goldKeys.has(`${e.start}:${e.end}:${e.type}`)) c.correct++;
    }
  }
  const types = [...counts.keys()].sort(compareCodePoints).map((type) => {
    const c = counts.get(type)!;
    return { type, ...prf(c.correct, c.predicted, c.support, 0), ...c };
  });
  const sum = (k: 'support' | 'predicted' | 'correct') => types.reduce((a, t) => a + t[k], 0);
  const support = sum('support'), predicted = sum('predicted'), correct = sum('correct');
  return { tokens, correctTags, tokenAccuracy: correctTags / tokens, support, predicted, correct, ...prf(correct, predicted, support, 0), types };
}

/**
 * C's printf("%6.2f"), which perl uses: glibc rounds the exact binary value, and an exact tie to even, where
 * Number#toFixed rounds a tie up. A double lies exactly halfway between two hundredths only when it is an odd
 * multiple of 1/8 (12.125 prints as "12.12" there and "12.13" from toFixed).
 */
function printf62(x: number): string {
  let s = x.toFixed(2);
  const e = x * 8; // exact: a power-of-two scaling
  if (Number.isInteger(e) && e % 2 !== 0) {
    const t = x.toFixed(3); // exact, since x has three decimals
    if (Number(t.at(-2)) % 2 === 0) s = t.slice(0, -1);
  }
  return s.padStart(6);
}

/** conlleval's percentages, from the counts and in its order of operations, so that the printed digits match. */
function conllevalPercents(correct: number, predicted: number, support: number): string {
  const p = predicted > 0 ? (100 * correct) / predicted : 0;
  const r = support > 0 ? (100 * correct) / support : 0;
  const f = p + r > 0 ? (2 * p * r) / (p + r) : 0;
  return `precision: ${printf62(p)}%; recall: ${printf62(r)}%; FB1: ${printf62(f)}`;
}

/**
 * The report conlleval prints for these scores, line for line, to compare with its output by eye or by diff:
 * the totals, the accuracy line (only when there are tokens, as conlleval), then one line per type ending with the
 * number of predicted entities of the type.
 */
export function formatConllevalReport(s: EntityScores): string {
  let out = `processed ${s.tokens} tokens with ${s.support} phrases; found: ${s.predicted} phrases; correct: ${s.correct}.\n`;
  if (s.tokens > 0) out += `accuracy: ${printf62((100 * s.correctTags) / s.tokens)}%; ${conllevalPercents(s.correct, s.predicted, s.support)}\n`;
  for (const t of s.types) out += `${t.type.padStart(17)}: ${conllevalPercents(t.correct, t.predicted, t.support)}  ${t.predicted}\n`;
  return out;
}
