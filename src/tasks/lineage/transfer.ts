// One cell of the lineage: a model, in a mode, trained on a task at a label count and seed through the transfer API
// (buildTaskModel and FinetuneTask; frozen feature models over the cached-feature encoder), with the dev metric
// evaluated a fixed number of times. The cell reports its best dev score (model selection on dev, as GLUE dev
// figures are), the step it came at and the whole dev curve.
import { readTask } from '../../data/tasks/read.js';
import { sampleIndices } from '../../data/tasks/sample.js';
import type { TaskDataset } from '../../data/tasks/types.js';
import { writeWord2Vec } from '../../io/word2vec-format.js';
import { WordVectors } from '../../models/vectors.js';
import { Rng } from '../../data/random.js';
import { manualSeed } from '../../tensor/random.js';
import { buildTaskModel, loadEncoder } from '../transfer/build.js';
import { transferData } from '../transfer/data.js';
import { FINETUNE, FROZEN, FinetuneTask, type TransferData } from '../transfer/finetune.js';
import { FeatureModel, type TaskModel } from '../transfer/task-model.js';
import { SEQ2SEQ_TRAIN, Seq2SeqTrainTask } from '../seq2seq-train.js';
import { buildSeq2Seq, readParallelCorpus, type ParallelCorpus } from '../seq2seq.js';
import { train, trainConfig, type TrainResult } from '../trainer.js';
import { hashFiles, hashOf, type ContentCache } from './cache.js';
import { CachedFeatureEncoder } from './features.js';
import { cellId, type CellSpec, type LineageConfig, type LineageTask } from './grid.js';
import type { PretrainedInfo } from './pretrain.js';

/** A finished cell: what it ran and what it measured. */
export interface CellResult extends CellSpec {
  id: string;
  /** Hash of everything the cell depends on; a rerun keeps a cell whose key is unchanged. */
  key: string;
  metric: string;
  /** The best dev score over the run's evaluations. */
  score: number;
  /** The last evaluation's score. */
  final: number;
  bestStep: number;
  steps: number;
  evalEvery: number;
  /** The dev metric at each evaluation. */
  curve: { step: number; value: number }[];
  /** Training examples the cell had (the sample's size). */
  trainExamples: number;
  devExamples: number;
  trainLoss: number;
  trainableParameters: number;
  wallSeconds: number;
  finished: string;
}

/** A task's data as read once: train and dev sets, and whether dev is a held-out part of train. */
export interface TaskFiles {
  task: LineageTask;
  train: TaskDataset;
  dev: TaskDataset;
  heldOut: boolean;
  /** Content hash of the files and read options. */
  hash: string;
}

/** A generation task's parallel text: training pairs and the validation pairs scored. */
export interface GenerationFiles {
  task: LineageTask;
  train: ParallelCorpus;
  val: ParallelCorpus;
  hash: string;
}

/** Validation pairs translated at each evaluation of a generation cell (the first this many). */
const GENERATION_EVAL_PAIRS = 200;

/** Reads a generation task's folder: train.SRC/TGT and val.SRC/TGT (.gz), SRC and TGT the config's parallel languages. */
export async function readGenerationFiles(task: LineageTask, languages: { source: string; target: string }): Promise<GenerationFiles> {
  const file = (split: string, lang: string) => `${task.train}/${split}.${lang}.gz`;
  const paths = ['train', 'val'].flatMap((split) => [file(split, languages.source), file(split, languages.target)]);
  const [train, val] = await Promise.all([readParallelCorpus(paths[0]!, paths[1]!), readParallelCorpus(paths[2]!, paths[3]!)]);
  return { task, train, val, hash: hashOf({ files: await hashFiles(paths), languages }) };
}

/** The examples of a data set at the given indices. */
function subset(data: TaskDataset, keep: readonly number[]): TaskDataset {
  const examples = keep.map((i) => data.examples[i]!);
  return { ...data, examples } as TaskDataset;
}

/** The label of each example for stratified samples (classes; none for tagging and regression). */
function strata(data: TaskDataset): string[] | undefined {
  if (data.kind === 'sequence' || (data.kind === 'pair' && data.regression)) return undefined;
  return data.examples.map((e) => String(e.label));
}

/** Reads a task's files; without a dev file, a seeded, stratified tenth of the training file is held out; dev is cut to `maxDev`. */
export async function readTaskFiles(task: LineageTask): Promise<TaskFiles> {
  const opts = { ...(task.read ?? {}) } as Parameters<typeof readTask>[1];
  const full = await readTask(task.train, opts);
  const hash = hashOf({ files: await hashFiles(task.dev ? [task.train, task.dev] : [task.train]), read: task.read ?? {}, maxDev: task.maxDev ?? null });
  const capped = (dev: TaskDataset) => (task.maxDev !== undefined && dev.examples.length > task.maxDev ? subset(dev, sampleIndices(dev.examples.length, task.maxDev, 0, strata(dev))) : dev);
  if (task.dev) {
    const dev = await readTask(task.dev, { ...opts, ...(full.labels.length ? { labels: full.labels } : {}) });
    return { task, train: full, dev: capped(dev), heldOut: false, hash };
  }
  const n = full.examples.length;
  const held = new Set(sampleIndices(n, Math.round(n / 10), 0, strata(full)));
  const all = Array.from({ length: n }, (_, i) => i);
  return { task, train: subset(full, all.filter((i) => !held.has(i))), dev: capped(subset(full, all.filter((i) => held.has(i)))), heldOut: true, hash };
}

/** Characters as words (Chinese text has no spaces). */
const characters = (text: string) => Array.from(text).filter((c) => c.trim() !== '');

/** What the cells of a run share: the cache, the pretrained models, the tasks' data and the frozen-feature stores. */
export interface CellContext {
  config: LineageConfig;
  cache: ContentCache;
  pretrained: ReadonlyMap<string, PretrainedInfo>;
  tasks: ReadonlyMap<string, TaskFiles | GenerationFiles>;
  /** Frozen-feature stores by cache key, shared by the cells that read the same encoder on the same task. */
  stores: Map<string, { encoder: CachedFeatureEncoder; key: Record<string, unknown> }>;
}

/** The key of a cell: the cell, its model's pretraining, its task's data and the transfer settings. */
export function cellKey(ctx: Pick<CellContext, 'config' | 'pretrained' | 'tasks'>, cell: CellSpec): string {
  return hashOf({ cell, pretrained: ctx.pretrained.get(cell.model)!.hash, data: ctx.tasks.get(cell.task)!.hash, transfer: ctx.config.transfer, lang: ctx.config.lang });
}

/** Random vectors in the words and size of pretrained ones (nn.Embedding's N(0, 1)), the scratch baseline of word vectors. */
async function scratchVectors(ctx: CellContext, info: PretrainedInfo, seed: number): Promise<string> {
  const entry = await ctx.cache.get<{ file: string }>('scratch-vectors', { pretrained: info.hash, seed }, async (dir) => {
    const v = await WordVectors.load(info.source);
    const rng = new Rng(seed);
    const vectors = new Float32Array(v.vectors.length);
    for (let i = 0; i < vectors.length; i += 2) {
      // Box-Muller: two normals from two uniforms
      const r = Math.sqrt(-2 * Math.log(1 - rng.random())), t = 2 * Math.PI * rng.random();
      vectors[i] = r * Math.cos(t);
      if (i + 1 < vectors.length) vectors[i + 1] = r * Math.sin(t);
    }
    await writeWord2Vec(`${dir}/vectors.bin`, { words: v.words, dim: v.dim, vectors }, true);
    return { file: 'vectors.bin' };
  });
  return `${entry.dir}/${entry.meta.file}`;
}

const isVectors = (source: string) => source.endsWith('.bin');

/** The frozen model over the shared feature store of its encoder and task (loaded from the cache when there). */
async function frozenModel(ctx: CellContext, cell: CellSpec, info: PretrainedInfo, data: TransferData, separator: string): Promise<TaskModel> {
  const key = { pretrained: info.hash, data: ctx.tasks.get(cell.task)!.hash, separator, maxLength: ctx.config.transfer.maxLength };
  const storeKey = hashOf(key);
  let store = ctx.stores.get(storeKey);
  if (!store) {
    const encoder = new CachedFeatureEncoder(await loadEncoder(info.source, { separator }));
    const found = await ctx.cache.lookup<{ file: string }>('features', key);
    if (found) await encoder.load(`${found.dir}/${found.meta.file}`);
    store = { encoder, key };
    ctx.stores.set(storeKey, store);
  }
  const outputs = data.kind === 'regression' ? 1 : data.labels.length;
  return new FeatureModel(data.kind, store.encoder, outputs, { frozen: true, head: ctx.config.transfer.head });
}

/** Saves the feature stores that gained rows since they were read (a grown store replaces its entry), then lets them go. */
export async function saveFeatureStores(ctx: CellContext): Promise<void> {
  for (const { encoder, key } of ctx.stores.values()) {
    if (encoder.added === 0) continue;
    await ctx.cache.put('features', key, async (dir) => {
      await encoder.save(`${dir}/features.safetensors`);
      return { file: 'features.safetensors', rows: encoder.size };
    });
  }
  ctx.stores.clear();
}

/** Runs one cell. `onStep` hears each logged training step. */
export async function runCell(ctx: CellContext, cell: CellSpec, onStep: (step: number, maxSteps: number) => void = () => {}): Promise<CellResult> {
  const started = performance.now();
  const info = ctx.pretrained.get(cell.model);
  if (!info) throw new Error(`lineage: ${cell.model} was not pretrained`);
  const files = ctx.tasks.get(cell.task);
  if (!files) throw new Error(`lineage: no data for task ${cell.task}`);
  if (files.task.generation) return runGenerationCell(ctx, cell, info, files as GenerationFiles, started, onStep);
  return runLabelledCell(ctx, cell, info, files as TaskFiles, started, onStep);
}

/** The steps of a cell with `examples` training examples, and its evaluation interval. */
function cellSteps(config: LineageConfig, examples: number): { steps: number; evalEvery: number } {
  const t = config.transfer;
  const steps = Math.min(t.maxSteps, Math.max(t.minSteps, Math.ceil(examples / t.batch) * t.epochs));
  return { steps, evalEvery: Math.max(1, Math.ceil(steps / t.evaluations)) };
}

/** What every cell reports of its training run. */
function cellResult(ctx: CellContext, cell: CellSpec, result: TrainResult, metric: string, scale: number, extra: Pick<CellResult, 'evalEvery' | 'trainExamples' | 'devExamples' | 'trainableParameters'>, started: number): CellResult {
  const curve = result.history.filter((r) => typeof r[metric] === 'number').map((r) => ({ step: r.step, value: r[metric]! / scale }));
  return {
    ...cell, id: cellId(cell), key: cellKey(ctx, cell), metric: scale === 1 ? metric : `${metric}/${scale}`, score: result.best!.value / scale, final: curve.at(-1)!.value,
    bestStep: result.best!.step, steps: result.steps, curve, trainLoss: result.finalLoss, ...extra, wallSeconds: (performance.now() - started) / 1000, finished: new Date().toISOString(),
  };
}

/** A classification, pair, regression or tagging cell. */
async function runLabelledCell(ctx: CellContext, cell: CellSpec, info: PretrainedInfo, files: TaskFiles, started: number, onStep: (step: number, maxSteps: number) => void): Promise<CellResult> {
  const t = ctx.config.transfer;
  const zh = ctx.config.lang === 'zh';
  const separator = zh ? '' : ' ';
  const n = files.train.examples.length;
  const size = cell.labels === 'all' ? n : Math.min(cell.labels, n);
  const sample = size === n ? files.train : subset(files.train, sampleIndices(n, size, cell.seed, strata(files.train)));
  manualSeed(cell.seed);
  let taskModel: TaskModel;
  const probe = transferData(sample, files.dev);
  if (cell.mode === 'frozen') {
    taskModel = await frozenModel(ctx, cell, info, probe, separator);
  } else {
    const source = cell.mode === 'finetune' ? info.source : isVectors(info.source) ? await scratchVectors(ctx, info, cell.seed) : `scratch:${info.source}`;
    const built = await buildTaskModel({ model: source, kind: probe.kind, labels: probe.labels, mode: 'finetune', separator, head: t.head });
    taskModel = built.taskModel;
  }
  const splitOf = zh ? characters : taskModel.encoder.splitText?.bind(taskModel.encoder);
  const data = transferData(sample, files.dev, splitOf);
  const task = new FinetuneTask(taskModel, data, { batchSize: t.batch, maxLength: t.maxLength });
  const { steps, evalEvery } = cellSteps(ctx.config, task.train.inputs.length);
  const recipe = cell.mode === 'frozen' ? FROZEN : FINETUNE;
  const cfg = trainConfig(recipe, { maxSteps: steps, evalEvery, lr: cell.mode === 'frozen' ? t.lrFrozen : t.lrFinetune, seed: cell.seed, logEvery: Math.min(10, evalEvery) });
  const metric = files.task.metric;
  const result = await train(task, cfg, { best: { metric, mode: 'max' }, onProgress: (p) => onStep(p.step, p.maxSteps) });
  const trainable = task.model.parameters().filter((p) => p.requiresGrad).reduce((s, p) => s + p.size, 0);
  return cellResult(ctx, cell, result, metric, 1, { evalEvery, trainExamples: data.train.length, devExamples: data.dev.length, trainableParameters: trainable }, started);
}

/**
 * A generation cell (seq2seq.ts): BERT as both sides of an encoder-decoder (bert2bert, warm-started from the lineage's
 * BERT, or from scratch with WordPiece trained on each side), or GPT on "source <sep> target" (the lineage's GPT, or
 * from scratch); BLEU of greedy translations of the first validation pairs, reported over 100 to share the 0-1 scale.
 */
async function runGenerationCell(ctx: CellContext, cell: CellSpec, info: PretrainedInfo, files: GenerationFiles, started: number, onStep: (step: number, maxSteps: number) => void): Promise<CellResult> {
  const s = ctx.config.shapes.transformer;
  const n = files.train.pairs.length;
  const size = cell.labels === 'all' ? n : Math.min(cell.labels, n);
  const pairs = size === n ? files.train.pairs : sampleIndices(n, size, cell.seed).map((i) => files.train.pairs[i]!);
  const warm = cell.mode === 'finetune' ? info.source : undefined;
  manualSeed(cell.seed);
  const { seq2seq } = await buildSeq2Seq({
    kind: cell.model === 'gpt' ? 'gpt' : 'encoder-decoder', encoder: cell.model === 'bert' ? warm : undefined, decoder: warm, encoderType: 'bert', decoderType: 'bert', tie: false,
    shape: { layers: s.layers, dim: s.hidden, heads: s.heads, ffn: s.intermediate, positions: Math.max(s.seq, 128), dropout: 0.1 }, vocabSize: s.vocab,
  }, { source: pairs.map((p) => p.source), target: pairs.map((p) => p.target) });
  const where = (c: ParallelCorpus) => ({ source: c.sourcePath, target: c.targetPath });
  const trainSet = seq2seq.encodePairs(pairs, { truncate: true, where: where(files.train) });
  const val = files.val.pairs.slice(0, GENERATION_EVAL_PAIRS);
  const valSet = seq2seq.encodePairs(val, { truncate: true, where: where(files.val) });
  const task = new Seq2SeqTrainTask(seq2seq, trainSet.pairs, valSet.pairs, val.map((p) => p.target), { batchSize: ctx.config.transfer.batch, evalPairs: GENERATION_EVAL_PAIRS, seed: cell.seed });
  const { steps, evalEvery } = cellSteps(ctx.config, trainSet.pairs.length);
  const cfg = trainConfig(SEQ2SEQ_TRAIN, { maxSteps: steps, evalEvery, checkpointEvery: 0, warmupSteps: Math.min(SEQ2SEQ_TRAIN.warmupSteps, Math.floor(steps / 10)), seed: cell.seed, logEvery: Math.min(10, evalEvery) });
  const result = await train(task, cfg, { best: { metric: 'bleu', mode: 'max' }, onProgress: (p) => onStep(p.step, p.maxSteps) });
  const trainable = seq2seq.model.parameters().filter((p) => p.requiresGrad).reduce((sum, p) => sum + p.size, 0);
  return cellResult(ctx, cell, result, 'bleu', 100, { evalEvery, trainExamples: trainSet.pairs.length, devExamples: val.length, trainableParameters: trainable }, started);
}
