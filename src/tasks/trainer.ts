// The pretraining loop shared by GPT and BERT: AdamW with warmup and decay, gradient clipping and accumulation,
// evaluation every N steps, atomic checkpoints that resume bit for bit, JSONL logs, and a loss curve at the end.
// The library never prints: progress reaches the caller through `onProgress`.
import { fsp, nodePath } from '../platform/node.js';
import type { Module } from '../nn/module.js';
import { AdamW, LambdaLR, clipGradNorm, constantScheduleWithWarmup, cosineScheduleWithWarmup, linearScheduleWithWarmup,
  weightDecayGroups, type OptimizerState, type SchedulerState } from '../optim/index.js';
import { readSafetensors, writeSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import { Generator, defaultGenerator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { lossCurveSvg, type CurvePoint } from './loss-curve.js';

/** Hyper-parameters of a pretraining run. */
export interface TrainConfig {
  /** Optimizer steps to take. */
  maxSteps: number;
  /** Peak learning rate. */
  lr: number;
  /** Floor of the cosine schedule as a fraction of lr (nanoGPT: 0.1). */
  minLrRate: number;
  warmupSteps: number;
  schedule: 'cosine' | 'linear' | 'constant';
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  clipNorm: number;
  /** Micro-batches per optimizer step. */
  gradAccumSteps: number;
  /** Evaluate every N steps (and at the end); 0: only at the end. */
  evalEvery: number;
  /** Write a checkpoint every N steps (and at the end) when `outDir` is set; 0: only at the end. */
  checkpointEvery: number;
  /** Log (and report progress) every N steps. */
  logEvery: number;
  seed: number;
  /** Where checkpoints, `log.jsonl` and `loss.svg` go. */
  outDir?: string;
}

/** nanoGPT-like defaults; override per model. */
export function trainConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    maxSteps: 1000, lr: 1e-3, minLrRate: 0.1, warmupSteps: 100, schedule: 'cosine', weightDecay: 0.1, beta1: 0.9, beta2: 0.99,
    eps: 1e-8, clipNorm: 1, gradAccumSteps: 1, evalEvery: 250, checkpointEvery: 0, logEvery: 10, seed: 1337, ...overrides,
  };
}

/** What a model contributes to the loop: its loss on a training micro-batch, and its evaluation. */
export interface TrainTask {
  readonly model: Module;
  /** The loss of one training micro-batch drawn with `rng`, and the number of tokens it covered. */
  trainLoss(rng: Generator): Promise<{ loss: Tensor; tokens: number }>;
  /** Held-out metrics, e.g. {val_loss, perplexity}; the model is in eval mode and grad is off. */
  evaluate(): Promise<Record<string, number>>;
  /** The data position, for tasks that read data sequentially (saved in checkpoints). */
  dataState?(): unknown;
  restoreDataState?(state: unknown): void;
  /** Writes what a checkpoint needs besides the weights (config.json, tokenizer.json) into a directory. */
  saveExtras?(dir: string): Promise<void>;
}

/** One line of the JSONL log. */
export interface LogRecord {
  step: number;
  loss?: number;
  lr?: number;
  tokensPerSec?: number;
  elapsedSec: number;
  [metric: string]: number | undefined;
}

/** Progress reported to the caller after each logged step. */
export interface Progress {
  step: number;
  maxSteps: number;
  record: LogRecord;
  /** Evaluation metrics, on steps that evaluated. */
  eval?: Record<string, number>;
}

/** The outcome of a run. */
export interface TrainResult {
  steps: number;
  finalLoss: number;
  eval: Record<string, number>;
  history: LogRecord[];
  wallSeconds: number;
  /** Where the loss curve was written, if outDir was set. */
  lossCurve?: string;
}

/** The version of the checkpoint layout; a mismatch is reported, not guessed at. */
export const CHECKPOINT_VERSION = 1;
const CHECKPOINT_FORMAT = 'pretrain.checkpoint';

interface TrainerState {
  format: string;
  version: number;
  step: number;
  dataRng: number;
  defaultRng: number;
  scheduler: SchedulerState;
  dataState?: unknown;
  history: LogRecord[];
  elapsedSec: number;
  config: TrainConfig;
}

/** Runs pretraining for a task; resumes from `outDir/checkpoint` when one exists and `resume` is set. */
export async function train(task: TrainTask, config: TrainConfig, opts: { resume?: boolean; onProgress?: (p: Progress) => void } = {}): Promise<TrainResult> {
  const model = task.model;
  const optimizer = new AdamW(weightDecayGroups(model.namedParameters(), config.weightDecay), {
    lr: config.lr, betas: [config.beta1, config.beta2], eps: config.eps, weightDecay: config.weightDecay,
  });
  const lambda = config.schedule === 'constant' ? constantScheduleWithWarmup(config.warmupSteps)
    : config.schedule === 'linear' ? linearScheduleWithWarmup(config.warmupSteps, config.maxSteps)
      : cosineScheduleWithWarmup(config.warmupSteps, config.maxSteps, { minLrRate: config.minLrRate });
  const scheduler = new LambdaLR(optimizer, lambda);
  const dataRng = new Generator(config.seed);
  defaultGenerator.seed(config.seed + 1);

  let step = 0;
  let history: LogRecord[] = [];
  let elapsedBefore = 0;
  const checkpointDir = config.outDir ? nodePath.join(config.outDir, 'checkpoint') : undefined;
  if (opts.resume && checkpointDir && (await findCheckpoint(checkpointDir))) {
    const state = await loadCheckpoint(await findCheckpoint(checkpointDir) as string, model, optimizer);
    step = state.step;
    history = state.history;
    elapsedBefore = state.elapsedSec;
    dataRng.setState(state.dataRng);
    defaultGenerator.setState(state.defaultRng);
    scheduler.loadStateDict(state.scheduler);
    if (state.dataState !== undefined) task.restoreDataState?.(state.dataState);
  }
  if (config.outDir) await fsp.mkdir(config.outDir, { recursive: true });

  const save = async () => {
    if (!checkpointDir) return;
    await saveCheckpoint(checkpointDir, model, optimizer, {
      format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, step, dataRng: dataRng.getState(), defaultRng: defaultGenerator.getState(),
      scheduler: scheduler.stateDict(), dataState: task.dataState?.(), history, elapsedSec: elapsedBefore + (performance.now() - start) / 1000, config,
    }, task);
  };
  const evaluate = async () => {
    model.eval();
    try {
      return await noGrad(() => task.evaluate());
    } finally {
      model.train();
    }
  };
  const log = async (record: LogRecord) => {
    history.push(record);
    if (config.outDir) await fsp.appendFile(nodePath.join(config.outDir, 'log.jsonl'), `${JSON.stringify(record)}\n`);
  };

  model.train();
  const start = performance.now();
  let windowStart = performance.now(), windowTokens = 0, windowSteps = 0;
  let lossSum: Tensor | null = null;
  let lastLoss = NaN;
  let lastEval: Record<string, number> = {};
  while (step < config.maxSteps) {
    for (let micro = 0; micro < config.gradAccumSteps; micro++) {
      const { loss, tokens } = await task.trainLoss(dataRng);
      (config.gradAccumSteps > 1 ? ops.div(loss, config.gradAccumSteps) : loss).backward();
      // Summed on the device and read only when logging, so a GPU is not made to wait every step.
      const l = loss.detach();
      lossSum = lossSum ? ops.add(lossSum, l) : l;
      windowTokens += tokens;
    }
    if (config.clipNorm > 0) clipGradNorm(model.parameters(), config.clipNorm);
    optimizer.step();
    optimizer.zeroGrad();
    // One turn of the event loop per step lets finalizers free the step's device buffers (they never run inside
    // a run of resolved promises), so device memory stays flat between log steps.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const lr = optimizer.paramGroups[0]!.lr;
    scheduler.step();
    step++;
    windowSteps++;
    const isLast = step === config.maxSteps;
    const evalNow = isLast || (config.evalEvery > 0 && step % config.evalEvery === 0);
    if (step % config.logEvery === 0 || isLast || evalNow) {
      lastLoss = (await lossSum!.item()) / (windowSteps * config.gradAccumSteps);
      const now = performance.now();
      const record: LogRecord = { step, loss: lastLoss, lr, tokensPerSec: windowTokens / ((now - windowStart) / 1000), elapsedSec: elapsedBefore + (now - start) / 1000 };
      lossSum = null; windowTokens = 0; windowSteps = 0;
      let evalMetrics: Record<string, number> | undefined;
      if (evalNow) {
        evalMetrics = await evaluate();
        lastEval = evalMetrics;
        Object.assign(record, evalMetrics);
      }
      await log(record);
      opts.onProgress?.({ step, maxSteps: config.maxSteps, record, eval: evalMetrics });
      windowStart = performance.now();
    }
    if (isLast || (config.checkpointEvery > 0 && step % config.checkpointEvery === 0)) await save();
  }
  const wallSeconds = elapsedBefore + (performance.now() - start) / 1000;
  let lossCurve: string | undefined;
  if (config.outDir && history.length > 0) {
    lossCurve = nodePath.join(config.outDir, 'loss.svg');
    await fsp.writeFile(lossCurve, await lossCurveSvg(curvePoints(history), { title: 'Pretraining loss' }));
  }
  return { steps: step, finalLoss: lastLoss, eval: lastEval, history, wallSeconds, lossCurve };
}

/** Train and validation points of a log history, for the loss curve. */
export function curvePoints(history: readonly LogRecord[]): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const r of history) {
    if (r.loss !== undefined) points.push({ step: r.step, value: r.loss, series: 'train' });
    if (r.val_loss !== undefined) points.push({ step: r.step, value: r.val_loss, series: 'validation' });
  }
  return points;
}

async function exists(path: string): Promise<boolean> {
  return fsp.stat(path).then(() => true, () => false);
}

/** The checkpoint to resume from: `dir`, or the previous one left by a save that was interrupted mid-swap. */
async function findCheckpoint(dir: string): Promise<string | null> {
  if (await exists(nodePath.join(dir, 'trainer_state.json'))) return dir;
  if (await exists(nodePath.join(`${dir}.old`, 'trainer_state.json'))) return `${dir}.old`;
  return null;
}

/**
 * Writes a checkpoint atomically: everything goes into a fresh sibling directory, which then replaces the old
 * checkpoint by renames, so a crash at any moment leaves a complete checkpoint on disk. The directory is also a
 * Hugging Face model directory (model.safetensors + whatever `saveExtras` adds, e.g. config.json).
 */
async function saveCheckpoint(dir: string, model: Module, optimizer: AdamW, state: TrainerState, task: TrainTask): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(tmp, { recursive: true });
  const weights = new Map<string, SafetensorsTensor>();
  for (const [name, p] of model.namedParameters()) weights.set(name, { dtype: 'F32', shape: [...p.shape], data: (await p.data()) as Float32Array });
  await writeSafetensors(nodePath.join(tmp, 'model.safetensors'), weights, { format: 'pt' });
  const opt = await optimizer.stateDict();
  const optTensors = new Map<string, SafetensorsTensor>();
  for (const [name, t] of Object.entries(opt.tensors)) optTensors.set(name, { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: t.shape, data: t.data as Float32Array });
  await writeSafetensors(nodePath.join(tmp, 'optimizer.safetensors'), optTensors, { meta: JSON.stringify(opt.meta) });
  await fsp.writeFile(nodePath.join(tmp, 'trainer_state.json'), `${JSON.stringify(state)}\n`);
  await task.saveExtras?.(tmp);
  const old = `${dir}.old`;
  await fsp.rm(old, { recursive: true, force: true });
  if (await exists(dir)) await fsp.rename(dir, old);
  await fsp.rename(tmp, dir);
  await fsp.rm(old, { recursive: true, force: true });
}

async function loadCheckpoint(dir: string, model: Module, optimizer: AdamW): Promise<TrainerState> {
  const statePath = nodePath.join(dir, 'trainer_state.json');
  const state = JSON.parse(await fsp.readFile(statePath, 'utf8')) as TrainerState;
  if (state.format !== CHECKPOINT_FORMAT) throw new Error(`${statePath}: not a pretrain checkpoint (format '${state.format}')`);
  if (state.version !== CHECKPOINT_VERSION) {
    throw new Error(`${statePath}: checkpoint version ${state.version}, but this build reads version ${CHECKPOINT_VERSION}`);
  }
  const { tensors } = await readSafetensors(nodePath.join(dir, 'model.safetensors'));
  const weights = new Map<string, Tensor>();
  for (const [name, t] of tensors) weights.set(name, ops.fromArray(t.data, t.shape, { dtype: 'float32' }));
  model.loadStateDict(weights, true);
  const opt = await readSafetensors(nodePath.join(dir, 'optimizer.safetensors'));
  const saved: OptimizerState = { meta: JSON.parse(opt.metadata.meta ?? '{}'), tensors: {} };
  for (const [name, t] of opt.tensors) saved.tensors[name] = { dtype: t.dtype === 'I32' ? 'int32' : 'float32', shape: t.shape, data: t.data };
  optimizer.loadStateDict(saved);
  return state;
}
