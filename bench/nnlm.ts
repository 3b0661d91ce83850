// `npm run bench -- nnlm [--steps 3000] [--wikitext-steps 2000] [--train-words 800000] [--vocab 10000] [--no-direct]`:
// Bengio's NNLM against interpolated modified Kneser-Ney 3- and 5-gram LMs (src/models/kneser-ney.ts), each corpus
// with one vocabulary for every model and the same predicted tokens, on two corpora of ../shared/data:
//   gutenberg  split by book, in slug order: every 16th book is held out (4 books, ~407k words); the others, in
//              order, train until --train-words is reached (whole books: 7 books, ~880k words, the size of the
//              paper's Brown corpus), and the next one is the dev book. Words: lowercased letters and digits.
//   wikitext2  only valid.txt and test.txt are staged (no train.txt): the models train on valid.txt but its last 6 of
//              60 articles, which are the dev set, and are scored on test.txt. Words: its whitespace tokens.
// The vocabulary is the --vocab most frequent training words (<unk>, <s>, </s> included); every other word is <unk>,
// a word like any other. Each paragraph is one sequence ending in a predicted </s> (text/word-lm.ts).
// The NNLM is the CLI's default (n = 5, m = 64, h = 256, AdamW recipe of tasks/nnlm-pretrain.ts, batch 256), trained
// with and without the paper's direct connections, evaluated on dev every 500 steps, stopped after 2 evaluations
// without improvement, the best dev model kept. Dev also chooses the best KN order and the weight λ of the paper's
// mixture λ·P_NNLM + (1 − λ)·P_KN; the held-out/test text chooses nothing. Rows: perplexity on the held-out books and
// on test.txt; NNLM rows have the better KN (on dev) as the peer, ratio = NNLM / KN (below 1: the NNLM is better).
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration, formatNumber, progressBar, table } from '../src/cli/ui.js';
import { KneserNey, perplexityOf } from '../src/models/kneser-ney.js';
import { NNLM, nnlmConfig } from '../src/models/nnlm.js';
import { loadPretrained } from '../src/models/pretrained.js';
import { NNLM_PRETRAIN, NNLMPretrainTask, nnlmLogProbabilities } from '../src/tasks/nnlm-pretrain.js';
import { train, trainConfig } from '../src/tasks/trainer.js';
import { manualSeed } from '../src/tensor/random.js';
import { WordVocab, ngramWindows, readParagraphs, type NgramWindows } from '../src/text/word-lm.js';
import { SHARED_DATA } from './peer.js';
import { figure, writeResults, type BenchRow } from './results.js';

const ORDER = 5;
const HELD_OUT_EVERY = 16;
const WIKITEXT_DEV_ARTICLES = 6;
const EVAL_EVERY = 500;
const PATIENCE = 2;
/** Dev windows per evaluation during training (all of dev chooses the KN order and λ). */
const EVAL_WINDOWS = 25000;
const SEED = 1337;

/** The positive integer after `--name`, or the fallback; anything else is an error naming the flag. */
function count(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`bench nnlm: --${name} takes a positive integer, got ${args[i + 1] ?? 'nothing'}`);
  return v;
}

/** A corpus's three splits as paragraphs of words, and how they were made (printed, and in docs/recurrent.md). */
interface Splits { corpus: string; train: string[][]; dev: string[][]; test: string[][]; described: string }

const words = (ps: readonly string[][]) => ps.reduce((s, p) => s + p.length, 0);

/** Gutenberg split by book, as the file comment says. */
async function gutenbergSplits(trainWords: number): Promise<Splits> {
  const dir = join(SHARED_DATA, 'gutenberg', 'books');
  const names = readdirSync(dir).filter((n) => n.endsWith('.txt.gz')).sort();
  const read = async (name: string) => (await readParagraphs(join(dir, name), 'words')).paragraphs;
  const heldOut = names.filter((_, i) => i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1);
  const rest = names.filter((n) => !heldOut.includes(n));
  const train: string[][] = [];
  let used = 0;
  while (used < rest.length - 1 && words(train) < trainWords) train.push(...await read(rest[used++]!));
  if (used === rest.length - 1 && words(train) < trainWords) console.error(`gutenberg: every training book used: ${formatNumber(words(train))} words, under --train-words`);
  const dev = await read(rest[used]!);
  const test = (await Promise.all(heldOut.map(read))).flat();
  const slug = (n: string) => n.replace(/\.txt\.gz$/, '');
  return {
    corpus: 'gutenberg', train, dev, test,
    described: `train: ${rest.slice(0, used).map(slug).join(', ')}; dev: ${slug(rest[used]!)}; held out (every ${HELD_OUT_EVERY}th book in slug order): ${heldOut.map(slug).join(', ')}`,
  };
}

/** WikiText-2's staged splits: valid.txt but its last articles to train, those to dev, test.txt to score. */
async function wikitextSplits(): Promise<Splits> {
  const dir = join(SHARED_DATA, 'wikitext-2');
  const valid = (await readParagraphs(join(dir, 'valid.txt'), 'whitespace')).paragraphs;
  const test = (await readParagraphs(join(dir, 'test.txt'), 'whitespace')).paragraphs;
  // an article starts at its title, " = Title = " (sections are " = = Heading = = ")
  const starts = valid.flatMap((p, i) => (p.length >= 3 && p[0] === '=' && p[1] !== '=' && p[p.length - 1] === '=' ? [i] : []));
  if (starts.length <= WIKITEXT_DEV_ARTICLES) throw new Error(`${join(dir, 'valid.txt')}: ${starts.length} article titles found; more than ${WIKITEXT_DEV_ARTICLES} are needed`);
  const cut = starts[starts.length - WIKITEXT_DEV_ARTICLES]!;
  return {
    corpus: 'wikitext2', train: valid.slice(0, cut), dev: valid.slice(cut), test,
    described: `train: valid.txt's first ${starts.length - WIKITEXT_DEV_ARTICLES} articles; dev: its last ${WIKITEXT_DEV_ARTICLES}; test: test.txt (train.txt is not staged)`,
  };
}

/** Natural log of λ·p + (1 − λ)·q from log p and log q, without underflow. */
function mixLog(lp: number, lq: number, lambda: number): number {
  const a = Math.log(lambda) + lp, b = Math.log(1 - lambda) + lq;
  const m = Math.max(a, b);
  return m === -Infinity ? m : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

const mixed = (p: Float64Array, q: Float64Array, lambda: number) => p.map((x, i) => mixLog(x, q[i]!, lambda));

/** The mixture weight in 0.05 … 0.95 with the lowest perplexity on dev. */
function bestLambda(nnDev: Float64Array, knDev: Float64Array): number {
  let best = { lambda: 0.5, ppl: Infinity };
  for (let k = 1; k < 20; k++) {
    const ppl = perplexityOf(mixed(nnDev, knDev, k / 20)).perplexity;
    if (ppl < best.ppl) best = { lambda: k / 20, ppl };
  }
  return best.lambda;
}

/** Trains an NNLM with early stopping on dev and returns the best dev model, with the steps it ran and their time. */
async function trainNnlm(label: string, vocabSize: number, trainW: NgramWindows, devW: NgramWindows, direct: boolean, steps: number) {
  manualSeed(SEED);
  const model = new NNLM(nnlmConfig({ vocab_size: vocabSize, order: ORDER, direct_connections: direct }, label));
  const task = new NNLMPretrainTask(model, trainW, devW, { batchSize: 256, evalWindows: Math.min(EVAL_WINDOWS, devW.count) });
  const outDir = await mkdtemp(join(tmpdir(), 'pretrain-bench-nnlm-'));
  const bar = progressBar(label, steps, { unit: 'steps' });
  try {
    const result = await train(task, trainConfig(NNLM_PRETRAIN, { maxSteps: steps, evalEvery: EVAL_EVERY, checkpointEvery: 0, seed: SEED, outDir }), {
      best: { metric: 'val_loss', mode: 'min', patience: PATIENCE },
      onProgress: (p) => bar.update(p.step, `loss ${p.record.loss?.toFixed(3)} | ${formatNumber(Math.round(p.record.tokensPerSec ?? 0))} tok/s${p.eval ? ` | dev ppl ${p.eval.perplexity!.toFixed(1)}` : ''}`),
    }).finally(() => bar.stop());
    const best = (await loadPretrained(result.best!.dir!)).model;
    if (!(best instanceof NNLM)) throw new Error(`${result.best!.dir}: the best model did not load as an NNLM`);
    console.error(`${label}: ${result.steps} steps in ${formatDuration(result.wallSeconds)}${result.best!.stoppedEarly ? ' (stopped early)' : ''}; ` +
      `best dev ppl ${Math.exp(result.best!.value).toFixed(1)} at step ${result.best!.step}`);
    return { model: best, steps: result.steps, bestStep: result.best!.step, seconds: result.wallSeconds };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** A perplexity row; with a peer, ratio = ours / peer (below 1: ours is better). */
function pplRow(name: string, value: number, peer: string | null = null, peerValue: number | null = null): BenchRow {
  return { ...figure(name, value, 'ppl', peer, peerValue), ratio: peerValue === null ? null : Number((value / peerValue).toPrecision(4)) };
}

/** Every model on one corpus: its rows, and a summary table on stderr. */
async function runCorpus(s: Splits, opts: { steps: number; vocab: number; direct: boolean }): Promise<BenchRow[]> {
  const t0 = performance.now();
  const vocab = WordVocab.build(s.train, { maxSize: opts.vocab });
  const w = { train: ngramWindows(s.train, vocab, ORDER), dev: ngramWindows(s.dev, vocab, ORDER), test: ngramWindows(s.test, vocab, ORDER) };
  console.error(`${s.corpus}: ${s.described}`);
  console.error(`${s.corpus}: tokens (</s> included) train ${formatNumber(w.train.count)}, dev ${formatNumber(w.dev.count)}, test ${formatNumber(w.test.count)} ` +
    `(${(100 * w.test.unknown / w.test.count).toFixed(1)}% <unk>); vocabulary ${formatNumber(vocab.size)}: the most frequent training words`);
  const kn = new Map<number, { dev: Float64Array; test: Float64Array }>();
  for (const order of [3, 5]) {
    const lm = KneserNey.train(w.train, vocab, { order, discount: 'modified' });
    kn.set(order, { dev: lm.logProbabilities(w.dev), test: lm.logProbabilities(w.test) });
  }
  const knOrder = [...kn].sort((a, b) => perplexityOf(a[1].dev).perplexity - perplexityOf(b[1].dev).perplexity)[0]![0];
  const knBest = kn.get(knOrder)!, knName = `kn${knOrder}`, knPpl = perplexityOf(knBest.test).perplexity;
  console.error(`${s.corpus}: Kneser-Ney 3- and 5-gram in ${formatDuration((performance.now() - t0) / 1000)} (with the data); ${knName} is better on dev`);
  const rows: BenchRow[] = [3, 5].map((order) => pplRow(`${s.corpus}-kn${order}`, perplexityOf(kn.get(order)!.test).perplexity));
  const summary: Record<string, unknown>[] = rows.map((r) => ({ model: r.name, 'test ppl': r.value }));
  for (const direct of opts.direct ? [false, true] : [false]) {
    const name = `${s.corpus}-nnlm${direct ? '-direct' : ''}`;
    const run = await trainNnlm(name, vocab.size, w.train, w.dev, direct, opts.steps);
    const dev = await nnlmLogProbabilities(run.model, w.dev), test = await nnlmLogProbabilities(run.model, w.test);
    const lambda = bestLambda(dev, knBest.dev);
    const ppl = perplexityOf(test).perplexity, mixPpl = perplexityOf(mixed(test, knBest.test, lambda)).perplexity;
    rows.push(pplRow(name, ppl, knName, knPpl), pplRow(`${name}+${knName}`, mixPpl, knName, knPpl));
    summary.push({ model: name, 'test ppl': ppl, [`/ ${knName}`]: ppl / knPpl, steps: `${run.bestStep} of ${run.steps}`, 'train s': run.seconds },
      { model: `${name}+${knName} (λ ${lambda} on dev)`, 'test ppl': mixPpl, [`/ ${knName}`]: mixPpl / knPpl });
  }
  console.error(table(summary));
  return rows;
}

/** Runs the suite. */
export default async function nnlm(args: string[]): Promise<void> {
  const needed = [
    [join(SHARED_DATA, 'gutenberg', 'books'), 'the Gutenberg books (gutenberg/books/*.txt.gz)'],
    [join(SHARED_DATA, 'wikitext-2', 'valid.txt'), "WikiText-2's validation split"],
    [join(SHARED_DATA, 'wikitext-2', 'test.txt'), "WikiText-2's test split"],
  ] as const;
  const missing = needed.filter(([p]) => !existsSync(p));
  if (missing.length > 0) {
    for (const [p, what] of missing) console.error(`bench nnlm: ${p} is missing: ${what}, from the shared data folder beside the project`);
    console.error('bench nnlm: nothing run');
    process.exitCode = 1;
    return;
  }
  const steps = count(args, 'steps', 3000);
  const vocab = count(args, 'vocab', 10000);
  const direct = !args.includes('--no-direct');
  const started = performance.now();
  const rows = [
    ...await runCorpus(await gutenbergSplits(count(args, 'train-words', 800000)), { steps, vocab, direct }),
    ...await runCorpus(await wikitextSplits(), { steps: count(args, 'wikitext-steps', 2000), vocab, direct }),
  ];
  console.error(`bench nnlm: ${formatDuration((performance.now() - started) / 1000)} in all`);
  console.table(rows);
  console.log(`wrote ${writeResults('nnlm', rows)}`);
}
