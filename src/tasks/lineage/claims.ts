// The essay's claims as rows decided by the numbers: each claim is a set of comparisons A − B between groups of
// measured runs (seeds of cells, or the queries of a probe), and one stated rule turns their mean difference and its
// standard error into "supported", "not supported" or "too noisy to say". Nothing here is a constant: a claim whose
// comparisons have no runs is "not run".
import { MODEL_FAMILY, type LineageConfig, type LineageMode, type LineageModel } from './grid.js';
import type { CellResult } from './transfer.js';

/** What the numbers say of a claim. */
export type Verdict = 'supported' | 'not supported' | 'too noisy to say' | 'not run';

/** One comparison: A − B, each side a set of measurements, with the difference's standard error. */
export interface Comparison {
  /** What is compared, e.g. "bert finetune − scratch, author, 100 labels". */
  label: string;
  meanA: number;
  meanB: number;
  /** Measurements on each side (seeds; for the polysemy probe, scored queries). */
  nA: number;
  nB: number;
  difference: number;
  /** √(sd_A²/n_A + sd_B²/n_B); NaN when a side has fewer than 2 measurements. */
  se: number;
}

/** A claim's row. */
export interface ClaimResult {
  id: number;
  claim: string;
  /** How it is measured. */
  measure: string;
  comparisons: Comparison[];
  /** The mean of the comparisons' differences, and its standard error √(Σ seᵢ²)/k. */
  difference: number;
  se: number;
  /** Comparisons whose difference favours the claim (> 0). */
  favouring: number;
  verdict: Verdict;
  /** Why it was not run, when it was not. */
  reason?: string;
}

/** The rule that decides every claim, as the table states it. */
export const DECISION_RULE = 'Each comparison is A − B of seed means (se = √(sd_A²/n_A + sd_B²/n_B)); a claim averages its k comparisons '
  + '(d̄, se = √(Σ seᵢ²)/k). Supported if d̄ − 2·se > 0; not supported if d̄ + 2·se ≤ 0; otherwise too noisy to say '
  + '(also when a side has fewer than 2 seeds).';

export function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** The sample standard deviation (n − 1); NaN for fewer than 2 values. */
export function sd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** A comparison of two sets of measurements. */
export function compare(label: string, a: readonly number[], b: readonly number[]): Comparison {
  const se = a.length < 2 || b.length < 2 ? NaN : Math.sqrt(sd(a) ** 2 / a.length + sd(b) ** 2 / b.length);
  return { label, meanA: mean(a), meanB: mean(b), nA: a.length, nB: b.length, difference: mean(a) - mean(b), se };
}

/** Applies the decision rule to comparisons. */
export function decide(id: number, claim: string, measure: string, comparisons: Comparison[], notRunReason: string): ClaimResult {
  const base = { id, claim, measure, comparisons };
  if (comparisons.length === 0) return { ...base, difference: NaN, se: NaN, favouring: 0, verdict: 'not run', reason: notRunReason };
  const k = comparisons.length;
  const difference = mean(comparisons.map((c) => c.difference));
  const se = Math.sqrt(comparisons.reduce((s, c) => s + c.se ** 2, 0)) / k;
  const favouring = comparisons.filter((c) => c.difference > 0).length;
  const verdict: Verdict = !Number.isFinite(se) ? 'too noisy to say' : difference - 2 * se > 0 ? 'supported' : difference + 2 * se <= 0 ? 'not supported' : 'too noisy to say';
  return { ...base, difference, se, favouring, verdict };
}

/** Polysemy accuracy of one model: the mean over its layers above the embeddings (its only layer, for vectors). */
export interface PolysemyScore {
  model: LineageModel;
  /** Per layer, bottom up. */
  accuracy: number[];
  value: number;
  chance: number;
  queries: number;
}

/** A comparison of two accuracies over n queries each, with binomial standard errors. */
function compareAccuracy(label: string, a: PolysemyScore, b: PolysemyScore): Comparison {
  const v = (p: PolysemyScore) => (p.value * (1 - p.value)) / p.queries;
  return { label, meanA: a.value, meanB: b.value, nA: a.queries, nB: b.queries, difference: a.value - b.value, se: Math.sqrt(v(a) + v(b)) };
}

/** Cells grouped by model, mode, task and label count: the seeds' scores. */
function groups(cells: readonly CellResult[]): Map<string, CellResult[]> {
  const out = new Map<string, CellResult[]>();
  for (const c of cells) {
    const k = `${c.model}/${c.mode}/${c.task}/${c.labels}`;
    out.set(k, [...(out.get(k) ?? []), c]);
  }
  return out;
}

/**
 * Steps to a target as a share of the run: the first evaluation at or above `target`, over the run's steps; a run
 * that never reaches it counts one evaluation past its end.
 */
export function shareToReach(cell: CellResult, target: number): number {
  const hit = cell.curve.find((p) => p.value >= target);
  return hit ? hit.step / cell.steps : 1 + cell.evalEvery / cell.steps;
}

/** The six claims' rows from a run's cells and polysemy scores. */
export function lineageClaims(config: LineageConfig, cells: readonly CellResult[], polysemy: readonly PolysemyScore[]): ClaimResult[] {
  const g = groups(cells);
  const scores = (model: LineageModel, mode: LineageMode, task: string, labels: number | 'all') =>
    (g.get(`${model}/${mode}/${task}/${labels}`) ?? []).sort((a, b) => a.seed - b.seed);
  const tasks = [...new Set(cells.map((c) => c.task))];
  const models = [...new Set(cells.map((c) => c.model))];
  const fewest = config.labels.filter((l): l is number => l !== 'all').sort((a, b) => a - b)[0];
  const most: number | 'all' | undefined = config.labels.includes('all') ? 'all' : config.labels.filter((l): l is number => l !== 'all').sort((a, b) => b - a)[0];
  const pairs = (a: LineageModel, modeA: LineageMode, b: LineageModel, modeB: LineageMode, labels: (number | 'all')[], name: (t: string, l: number | 'all') => string) =>
    tasks.flatMap((t) => labels.map((l) => {
      const x = scores(a, modeA, t, l).map((c) => c.score), y = scores(b, modeB, t, l).map((c) => c.score);
      return x.length && y.length ? compare(name(t, l), x, y) : null;
    })).filter((c): c is Comparison => c !== null);
  const at = (l: number | 'all') => (l === 'all' ? 'all labels' : `${l} labels`);

  const c1 = fewest === undefined ? [] : models.flatMap((m) => (['frozen', 'finetune'] as const).flatMap((mode) =>
    pairs(m, mode, m, 'scratch', [fewest], (t, l) => `${m} ${mode} − scratch, ${t}, ${at(l)}`)));

  const c2 = most === undefined ? [] : models.flatMap((m) => tasks.map((t) => {
    const scratch = scores(m, 'scratch', t, most), tuned = scores(m, 'finetune', t, most);
    const seeds = scratch.filter((s) => tuned.some((p) => p.seed === s.seed));
    if (seeds.length === 0) return null;
    const a = seeds.map((s) => s.bestStep / s.steps);
    const b = seeds.map((s) => shareToReach(tuned.find((p) => p.seed === s.seed)!, s.score));
    return compare(`${m}: share of steps to scratch's best, scratch − finetune, ${t}, ${at(most)}`, a, b);
  })).filter((c): c is Comparison => c !== null);

  const contextual = polysemy.filter((p) => MODEL_FAMILY[p.model] === 'lstm' || MODEL_FAMILY[p.model] === 'transformer');
  const staticOnes = polysemy.filter((p) => MODEL_FAMILY[p.model] === 'static');
  const c3 = contextual.flatMap((a) => staticOnes.map((b) => compareAccuracy(`polysemy accuracy, ${a.model} − ${b.model}`, a, b)));

  const lstms = models.filter((m) => MODEL_FAMILY[m] === 'lstm'), transformers = models.filter((m) => MODEL_FAMILY[m] === 'transformer');
  const c4 = transformers.flatMap((a) => lstms.flatMap((b) => pairs(a, 'frozen', b, 'frozen', config.labels, (t, l) => `frozen ${a} − ${b}, ${t}, ${at(l)}`)));
  const c5 = (['frozen', 'finetune'] as const).flatMap((mode) => pairs('bert', mode, 'gpt', mode, config.labels, (t, l) => `${mode} bert − gpt, ${t}, ${at(l)}`));
  const c6 = transformers.flatMap((m) => pairs(m, 'finetune', m, 'frozen', config.labels, (t, l) => `${m} finetune − frozen, ${t}, ${at(l)}`));

  const missing = (what: string) => `no runs of ${what} in this configuration`;
  return [
    decide(1, 'Pretraining lets a task be learned from few labels.', `dev score at the fewest labels (${fewest ?? '-'}): each pretrained model, frozen and fine-tuned, minus the same architecture from scratch`, c1, missing('a label count with pretrained and scratch cells')),
    decide(2, 'It speeds convergence even with many labels.', `at ${most === undefined ? '-' : at(most)}, fine-tuned: share of the run scratch took to reach its best dev score, minus the share the pretrained model took to reach that score`, c2, missing('fine-tuned and scratch cells at the most labels')),
    decide(3, "Static vectors cannot separate a word's senses; contextual ones can.", 'polysemy nearest-neighbour accuracy: each contextual model (ELMo, CoVe, GPT, BERT; mean of its layers above the embeddings) minus each static one (word2vec, GloVe); binomial se over the queries', c3, config.polysemy ? missing('contextual and static models') : 'no polysemy data for this language'),
    decide(4, 'LSTM features are weaker than Transformer features.', 'frozen dev score: each Transformer (GPT, BERT) minus each LSTM (ELMo, CoVe), every task and label count', c4, missing('frozen LSTM and Transformer cells')),
    decide(5, 'The unidirectional GPT loses information that bidirectional BERT keeps.', 'dev score, BERT minus GPT, frozen and fine-tuned, every task and label count', c5, missing('GPT and BERT cells')),
    decide(6, 'Fine-tuning beats frozen features for Transformers.', 'dev score, fine-tuned minus frozen, GPT and BERT, every task and label count', c6, missing('fine-tuned and frozen Transformer cells')),
  ];
}

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** The claims as a Markdown table, the rule under it. */
export function claimsMarkdown(claims: readonly ClaimResult[]): string {
  const rows = claims.map((c) => `| ${c.id} | ${c.claim} | ${c.measure} | ${c.verdict === 'not run' ? '–' : `${fmt(c.difference)} ± ${fmt(c.se)}`} | ` +
    `${c.verdict === 'not run' ? '–' : `${c.favouring}/${c.comparisons.length}`} | **${c.verdict}**${c.reason ? ` (${c.reason})` : ''} |`);
  return ['| # | claim | measured as | d̄ ± se | comparisons > 0 | verdict |', '|---|---|---|---|---|---|', ...rows, '', `Rule: ${DECISION_RULE}`].join('\n');
}
