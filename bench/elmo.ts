// `npm run bench -- elmo [--part speed|quality|all] [--rounds 2] [--minutes 4] [--train-words 600000] [--vocab 20000]`
//   speed    ELMo's tiny biLM training step (bench/steps.ts: 64 sentences of 20 Zipf-drawn words, vocabulary 8,000, full
//            softmax) against bench/peers/torch_elmo.py, the same model in PyTorch (nn.LSTM(proj_size), nn.Conv1d),
//            alternating --rounds times, each side's best kept. The peer runs without clipping (nn.LSTM has none).
//   quality  ../shared/data/gutenberg split by book as `bench nnlm` splits it (every 16th book in slug order held out,
//            the others in order until --train-words), words with case and punctuation as tokens (the 'tokens' split),
//            the --vocab most frequent training words as targets (bilm-tf's <S> </S> <UNK> first). The tiny biLM trains
//            --minutes of wall time (sampled softmax, 2,048 candidates: bilm-tf's way with a large vocabulary), then a
//            word-level GPT of about the same size (without the embeddings) trains the same wall time on the same
//            windows; both are scored with the full softmax on every 8th held-out window. The GPT predicts as ELMo's
//            forward LM does (the next word, </S> included), so its perplexity is the peer of the forward one.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatNumber, table } from '../src/cli/ui.js';
import { ElmoBiLM, elmoConfig, publishedParameterCount } from '../src/models/elmo.js';
import { GPT, gptConfig } from '../src/models/gpt.js';
import { noGrad } from '../src/tensor/autograd.js';
import * as T from '../src/tensor/index.js';
import { ELMO_PRETRAIN, ELMO_SPECIALS, ElmoCorpus, ElmoPretrainTask, elmoPerplexity } from '../src/tasks/elmo-pretrain.js';
import { train, trainConfig, type TrainConfig, type TrainTask } from '../src/tasks/trainer.js';
import { WordVocab, readParagraphs } from '../src/text/word-lm.js';
import { SHARED_DATA, runPython } from './peer.js';
import { figure, throughput, writeResults, type BenchRow } from './results.js';
import { SHAPES, makeStep, medianStepMs } from './steps.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results', 'elmo.json');
const HELD_OUT_EVERY = 16, WINDOW = 20, BATCH = 64, SAMPLES = 2048, EVAL_EVERY_NTH = 8;

const arg = (args: string[], name: string, fallback: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : fallback; };

async function speed(rounds: number): Promise<BenchRow[]> {
  const peerName = 'torch-cpu 1.13 (2 threads)';
  let ours = 0, peer: number | null = null;
  const { vocab, seq, batch } = SHAPES.elmo;
  for (let r = 0; r < rounds; r++) {
    const { step, tokens } = makeStep('elmo');
    ours = Math.max(ours, tokens / ((await medianStepMs(step, 8, 2)) / 1000));
    const out = runPython(join(HERE, 'peers', 'torch_elmo.py'), ['--vocab', String(vocab), '--seq', String(seq), '--batch', String(batch), '--threads', '2']);
    const v = out?.find((l) => l.bench === 'elmo-step')?.value as number | undefined;
    if (v !== undefined) peer = Math.max(peer ?? 0, v);
    console.error(`round ${r + 1}: ours ${formatNumber(ours)} tokens/s, peer ${peer === null ? 'unavailable' : formatNumber(peer)}`);
  }
  return [throughput('elmo-step', ours, 'tokens/s', peer === null ? null : peerName, peer)];
}

/** Gutenberg's books by the rule of bench nnlm: every 16th in slug order held out, the rest train in order. */
async function gutenberg(trainWords: number): Promise<{ train: string[][]; heldOut: string[][]; described: string }> {
  const dir = join(SHARED_DATA, 'gutenberg', 'books');
  if (!existsSync(dir)) throw new Error(`bench elmo --part quality needs ${dir} (the shared data folder beside the project); it is missing`);
  const names = readdirSync(dir).filter((n) => n.endsWith('.txt.gz')).sort();
  const read = async (name: string) => (await readParagraphs(join(dir, name), 'tokens')).paragraphs;
  const held = names.filter((_, i) => i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1), rest = names.filter((n) => !held.includes(n));
  const train: string[][] = [];
  let used = 0, words = 0;
  while (used < rest.length && words < trainWords) for (const p of await read(rest[used++]!)) { train.push(p); words += p.length; }
  const heldOut = (await Promise.all(held.map(read))).flat();
  const slug = (n: string) => n.replace(/\.txt\.gz$/, '');
  return { train, heldOut, described: `train: ${rest.slice(0, used).map(slug).join(', ')} (${formatNumber(words)} tokens); held out: ${held.map(slug).join(', ')}` };
}

/** A word-level GPT on the biLM's training windows: [<S> w…] predicting [w… </S>], ELMo's forward LM's task. */
class WordGptTask implements TrainTask {
  constructor(readonly model: GPT, readonly corpus: ElmoCorpus, readonly batchSize: number) {}
  batch(rows: readonly number[]): { inputIds: T.Tensor; targets: T.Tensor } {
    const seqs = rows.map((r) => this.corpus.vocabIdsOf(r));
    const L = Math.max(...seqs.map((s) => s.length)) - 1;
    const ids = new Int32Array(rows.length * L), targets = new Int32Array(rows.length * L).fill(-100);
    seqs.forEach((s, b) => { for (let t = 0; t + 1 < s.length; t++) { ids[b * L + t] = s[t]!; targets[b * L + t] = s[t + 1]!; } });
    return { inputIds: T.fromArray(ids, [rows.length, L], { dtype: 'int32' }), targets: T.fromArray(targets, [rows.length, L], { dtype: 'int32' }) };
  }
  async trainLoss(rng: T.Generator): Promise<{ loss: T.Tensor; tokens: number }> {
    const rows = Array.from({ length: this.batchSize }, () => Math.floor(rng.random() * this.corpus.sequences.length));
    return { loss: this.model.forward(this.batch(rows)).loss!, tokens: rows.reduce((s, r) => s + this.corpus.sequences[r]!.length - 1, 0) };
  }
  async evaluate(): Promise<Record<string, number>> { return {}; }
  /** Perplexity over a corpus's windows (the next word, </S> included). */
  async perplexity(corpus: ElmoCorpus): Promise<number> {
    let sum = 0, count = 0;
    this.model.eval();
    for (let from = 0; from < corpus.sequences.length; from += 64) {
      const rows = Array.from({ length: Math.min(64, corpus.sequences.length - from) }, (_, i) => from + i);
      const task = new WordGptTask(this.model, corpus, 0);
      const b = task.batch(rows);
      const n = rows.reduce((s, r) => s + corpus.sequences[r]!.length - 1, 0);
      sum += (await noGrad(() => this.model.forward(b)).loss!.item()) * n;
      count += n;
    }
    return Math.exp(sum / count);
  }
}

/** Steps that fill `seconds` of training, from the time of a few steps. */
async function stepsFor(task: TrainTask, seconds: number): Promise<number> {
  const rng = new T.Generator(99);
  const t = performance.now();
  for (let i = 0; i < 3; i++) { const { loss } = await task.trainLoss(rng); loss.backward(); await loss.item(); }
  for (const p of task.model.parameters()) p.grad = null;
  return Math.max(20, Math.round(seconds / ((performance.now() - t) / 3000)));
}

async function quality(minutes: number, trainWords: number, vocabSize: number): Promise<BenchRow[]> {
  const data = await gutenberg(trainWords);
  console.error(`gutenberg: ${data.described}`);
  const vocab = WordVocab.build(data.train, { maxSize: vocabSize, specials: ELMO_SPECIALS });
  const trainCorpus = ElmoCorpus.encode(data.train, vocab, { maxTokens: WINDOW });
  const held = ElmoCorpus.encode(data.heldOut, vocab, { maxTokens: WINDOW });
  const scored = new ElmoCorpus(vocab);
  held.sequences.forEach((s, i) => { if (i % EVAL_EVERY_NTH === 0) scored.add([...s.subarray(1, s.length - 1)].map((t) => held.types[t]!)); });
  console.error(`${formatNumber(trainCorpus.sequences.length)} training windows, ${formatNumber(scored.sequences.length)} held-out windows scored (${formatNumber(scored.predictions)} predictions a direction, ${formatNumber(scored.unknownTargets)} <UNK>)`);

  T.manualSeed(1);
  const elmo = new ElmoBiLM(elmoConfig({ vocab_size: vocab.size, n_negative_samples: SAMPLES }));
  const elmoTask = new ElmoPretrainTask(elmo, trainCorpus, scored, { batchSize: BATCH, evalSequences: scored.sequences.length });
  const recipe = (steps: number, base: TrainConfig): TrainConfig => trainConfig(base, { maxSteps: steps, evalEvery: 0, checkpointEvery: 0, warmupSteps: Math.min(base.warmupSteps, Math.floor(steps / 10)) });
  const elmoSteps = await stepsFor(elmoTask, minutes * 60);
  console.error(`ELMo tiny: ${formatNumber(publishedParameterCount(elmo))} parameters without the softmax; ${elmoSteps} steps for ${minutes} min`);
  const elmoRun = await train(elmoTask, recipe(elmoSteps, ELMO_PRETRAIN));
  const ppl = await elmoPerplexity(elmo, scored);

  // A GPT of the biLM's size without embeddings: 4 layers of 192 (12·192²·4 = 1.77M) against ELMo tiny's 1.8M.
  T.manualSeed(1);
  const gpt = new GPT(gptConfig({ vocab_size: vocab.size, n_positions: WINDOW + 2, n_embd: 192, n_layer: 4, n_head: 4, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1 }));
  const gptTask = new WordGptTask(gpt, trainCorpus, BATCH);
  const gptSteps = await stepsFor(gptTask, elmoRun.wallSeconds);
  const gptParams = gpt.numParameters() - gpt.transformer.wte.weight.size - gpt.transformer.wpe.weight.size;
  console.error(`GPT: ${formatNumber(gptParams)} parameters without the embeddings; ${gptSteps} steps for the same ${elmoRun.wallSeconds.toFixed(0)} s`);
  const gptRun = await train(gptTask, recipe(gptSteps, { ...ELMO_PRETRAIN, lr: 1e-3 }));
  const gptPpl = await gptTask.perplexity(scored);

  const rows: BenchRow[] = [
    figure('elmo-heldout-forward-ppl', ppl.forward.perplexity, 'ppl', 'gpt-word (same wall time)', gptPpl),
    figure('elmo-heldout-backward-ppl', ppl.backward.perplexity, 'ppl'),
    figure('elmo-heldout-ppl', ppl.perplexity, 'ppl (exp of the mean of both losses)'),
    figure('elmo-train-seconds', elmoRun.wallSeconds, 's', 'gpt-word', gptRun.wallSeconds),
    figure('elmo-train-steps', elmoRun.steps, 'steps', 'gpt-word', gptRun.steps),
    figure('elmo-parameters-without-softmax', publishedParameterCount(elmo), 'parameters', 'gpt-word without embeddings', gptParams),
  ];
  rows[0]!.ratio = Number((ppl.forward.perplexity / gptPpl).toPrecision(4));
  return rows;
}

export default async function elmoBench(args: string[]): Promise<void> {
  const part = arg(args, 'part', 'all');
  if (!['speed', 'quality', 'all'].includes(part)) throw new Error(`bench elmo: --part is speed, quality or all, got ${part}`);
  const rows: BenchRow[] = [];
  if (part !== 'quality') rows.push(...await speed(Number(arg(args, 'rounds', '2'))));
  if (part !== 'speed') rows.push(...await quality(Number(arg(args, 'minutes', '4')), Number(arg(args, 'train-words', '600000')), Number(arg(args, 'vocab', '20000'))));
  console.log(table(rows as unknown as Record<string, unknown>[]));
  // A run of one part keeps the other part's rows from the last run.
  const previous = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as { results: BenchRow[] }).results : [];
  console.log(`wrote ${writeResults('elmo', [...previous.filter((r) => !rows.some((n) => n.name === r.name)), ...rows])}`);
}
