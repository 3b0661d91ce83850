// The pretraining loop shared by GPT and BERT: AdamW with warmup and decay, gradient clipping and accumulation,
// evaluation every N steps, atomic checkpoints that resume bit for bit, JSONL logs, and a loss curve at the end.
// The library never prints: progress reaches the caller through `onProgress`.
import type { Module } from '../nn/module.js';
import { AdamW, LambdaLR, clipGradNorm, constantScheduleWithWarmup, cosineScheduleWithWarmup, linearScheduleWithWarmup,
  weightDecayGroups, type DecayGroup, type Optimizer, type SchedulerState } from '../optim/index.js';
import { fsp, nextTurn, nodePath } from '../platform/node.js';
import { noGradAsync } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import { Generator, defaultGenerator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadCheckpoint, openRunDirectory, saveCheckpoint, saveModelDirectory, trainerState, truncateLog, type TrainerState } from './checkpoint.js';
import { lossCurveSvg, type CurvePoint } from './loss-curve.js';

/** What trainer_state.json holds for this loop. */
interface RunState extends TrainerState {
  dataRng: number;
  defaultRng: number;
  scheduler: SchedulerState;
  dataState?: unknown;
  history: LogRecord[];
  elapsedSec: number;
  config: TrainConfig;
  best?: { step: number; value: number; sinceImproved: number };
}

/** Hyper-parameters of a training run; each model's recipe (GPT_PRETRAIN, BERT_PRETRAIN, ...) gives them all. */
export interface TrainConfig {
  /** Optimizer steps to take. */
  maxSteps: number;
  /** Peak learning rate of the default AdamW (a given optimizer keeps its own groups' rates, which the schedule scales). */
  lr: number;
  /** Floor of the cosine schedule as a fraction of lr (nanoGPT: 0.1). */
  minLrRate: number;
  warmupSteps: number;
  schedule: 'cosine' | 'linear' | 'constant';
  /** AdamW's decoupled weight decay on matrices (biases and norm weights get none). */
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

/** The loop's settings that are not a recipe's: evaluation, checkpoints, logging, clipping and accumulation. */
export const LOOP_DEFAULTS = { clipNorm: 1, gradAccumSteps: 1, evalEvery: 250, checkpointEvery: 0, logEvery: 10, seed: 1337 } as const;

/** A recipe with some fields changed; every field is checked (counts are integers, rates are finite and in range). */
export function trainConfig(recipe: TrainConfig, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const cfg = { ...recipe, ...overrides };
  const int = (name: keyof TrainConfig, min: number) => {
    const v = cfg[name];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) throw new Error(`TrainConfig: ${name} must be an integer >= ${min}, got ${String(v)}`);
  };
  const real = (name: keyof TrainConfig, ok: (v: number) => boolean, range: string) => {
    const v = cfg[name];
    if (!(typeof v === 'number' && Number.isFinite(v) && ok(v))) throw new Error(`TrainConfig: ${name} must be ${range}, got ${String(v)}`);
  };
  int('maxSteps', 1); int('warmupSteps', 0); int('gradAccumSteps', 1); int('evalEvery', 0); int('checkpointEvery', 0); int('logEvery', 1); int('seed', 0);
  real('lr', (v) => v > 0, 'positive');
  real('minLrRate', (v) => v >= 0 && v <= 1, 'in [0, 1]');
  real('weightDecay', (v) => v >= 0, 'non-negative');
  real('beta1', (v) => v >= 0 && v < 1, 'in [0, 1)');
  real('beta2', (v) => v >= 0 && v < 1, 'in [0, 1)');
  real('eps', (v) => v >= 0, 'non-negative');
  real('clipNorm', (v) => v >= 0, 'non-negative');
  if (!['cosine', 'linear', 'constant'].includes(cfg.schedule)) throw new Error(`TrainConfig: schedule must be cosine, linear or constant, got ${String(cfg.schedule)}`);
  return cfg;
}

/**
 * The default optimizer's groups: the trainable parameters (requiresGrad; frozen ones get no optimizer state), with
 * weight decay on matrices and none on biases and norm weights.
 */
export function trainableGroups(model: Module, weightDecay: number): DecayGroup[] {
  const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad);
  if (trainable.length === 0) throw new Error('train: every parameter of the model is frozen; nothing would be trained');
  return weightDecayGroups(trainable, weightDecay);
}

/** AdamW over the trainable parameters with a config's hyper-parameters (what `train` uses unless given an optimizer). */
export function defaultOptimizer(model: Module, config: TrainConfig): AdamW {
  return new AdamW(trainableGroups(model, config.weightDecay), {
    lr: config.lr, betas: [config.beta1, config.beta2], eps: config.eps, weightDecay: config.weightDecay,
  });
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
  /** Writes what a checkpoint needs besides the model and its config.json (e.g. tokenizer.json) into a directory. */
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
  /** With `best`: the best evaluation's step and metric value, and whether patience ran out before maxSteps. */
  best?: { step: number; value: number; dir?: string; stoppedEarly: boolean };
}

/** Keeping the best model by a held-out metric, and stopping when it no longer improves. */
export interface BestModelOptions {
  /** The evaluation metric to watch, e.g. 'accuracy', 'f1', 'val_loss'. */
  metric: string;
  /** Whether larger is better ('max': accuracy, F1) or smaller ('min': losses). */
  mode: 'max' | 'min';
  /** Stop after this many evaluations without improvement (early stopping); unset: never stop early. */
  patience?: number;
}

/** Options of a run besides its hyper-parameters. */
export interface TrainOptions {
  /** Continue from `outDir/checkpoint` when one exists. */
  resume?: boolean;
  /** Called after each logged step. */
  onProgress?: (p: Progress) => void;
  /**
   * The optimizer, with its own parameter groups (per-group learning rates and weight decay; frozen parameters left
   * out). The schedule scales each group's learning rate. Default: `defaultOptimizer(model, config)`.
   */
  optimizer?: Optimizer<{ lr: number }>;
  /** With `outDir`: start a new run where one was (its checkpoint, log and loss curve are deleted first). */
  overwrite?: boolean;
  /**
   * Called before each optimizer step with the number of steps taken so far (e.g. to change what is trainable, as
   * gradual unfreezing does). A resumed run calls it from the checkpoint's step, so it should follow from the step alone.
   */
  beforeStep?: (step: number) => void;
  /** Called once before the first step: the step training starts from (0, or the checkpoint's when resuming). */
  onStart?: (info: { step: number; resumedFrom: string | null }) => void;
  /** Called after each checkpoint is written, with its directory and step. */
  onCheckpoint?: (info: { dir: string; step: number }) => void;
  /**
   * Keep the best model by an evaluation metric: with outDir, each improvement is written to `outDir/best` (a model
   * directory: config.json and model.safetensors for registered models, plus the task's extras), and training stops
   * after `patience` evaluations without improvement.
   */
  best?: BestModelOptions;
}

/** Thrown when the training loss stops being finite: training ends there, and the last checkpoint is the one before. */
export class DivergenceError extends Error {
  override name = 'DivergenceError';
}

/**
 * Runs training for a task. With `outDir`, the directory is locked for the run; an earlier run there is continued
 * with `resume` or replaced with `overwrite`, and refused otherwise. A loss that becomes NaN or infinite stops
 * training with a DivergenceError naming the step (with anomaly detection on, the op that made it is named instead).
 */
export async function train(task: TrainTask, config: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  if (opts.resume && !config.outDir) throw new Error('train: resume needs outDir, where the checkpoint is');
  const run = config.outDir ? await openRunDirectory(config.outDir, opts) : null;
  try {
    return await runLoop(task, config, opts, run?.resumeFrom ?? null);
  } finally {
    await run?.release();
  }
}

/** The loop itself, in a run directory already taken (or none), from a checkpoint or from the start. */
async function runLoop(task: TrainTask, config: TrainConfig, opts: TrainOptions, found: string | null): Promise<TrainResult> {
  const model = task.model;
  const optimizer = opts.optimizer ?? defaultOptimizer(model, config);
  const trainable = optimizer.paramGroups.flatMap((g) => g.params);
  const lambda = config.schedule === 'constant' ? constantScheduleWithWarmup(config.warmupSteps)
    : config.schedule === 'linear' ? linearScheduleWithWarmup(config.warmupSteps, config.maxSteps)
      : cosineScheduleWithWarmup(config.warmupSteps, config.maxSteps, { minLrRate: config.minLrRate });
  const scheduler = new LambdaLR(optimizer, lambda);
  const dataRng = new Generator(config.seed);
  defaultGenerator.seed(config.seed + 1);

  let step = 0;
  let history: LogRecord[] = [];
  let elapsedBefore = 0;
  let best: { step: number; value: number; sinceImproved: number } | null = null;
  let stoppedEarly = false;
  const bestDir = config.outDir && opts.best ? nodePath.join(config.outDir, 'best') : undefined;
  const checkpointDir = config.outDir ? nodePath.join(config.outDir, 'checkpoint') : undefined;
  if (found) {
    const state = await loadCheckpoint(found, model, optimizer) as RunState;
    step = state.step;
    history = state.history;
    elapsedBefore = state.elapsedSec;
    dataRng.setState(state.dataRng);
    defaultGenerator.setState(state.defaultRng);
    scheduler.loadStateDict(state.scheduler);
    if (state.dataState !== undefined) task.restoreDataState?.(state.dataState);
    if (state.best) best = state.best;
    await truncateLog(config.outDir!, step);
  }
  opts.onStart?.({ step, resumedFrom: found });

  const save = async () => {
    if (!checkpointDir) return;
    const state = trainerState({
      step, dataRng: dataRng.getState(), defaultRng: defaultGenerator.getState(), scheduler: scheduler.stateDict(), dataState: task.dataState?.(),
      history, elapsedSec: elapsedBefore + (performance.now() - start) / 1000, config, ...(best ? { best } : {}),
    } satisfies Omit<RunState, 'format' | 'version'>);
    await saveCheckpoint(checkpointDir, { model, optimizer, state, extras: task.saveExtras?.bind(task) });
    opts.onCheckpoint?.({ dir: checkpointDir, step });
  };
  const diverged = (what: string, value: number) =>
    new DivergenceError(`the training loss became ${Number.isNaN(value) ? 'NaN' : value > 0 ? 'Inf' : '-Inf'} ${what}; ` +
      `training stopped${checkpointDir ? ' (the last checkpoint holds the run before it)' : ''}. Turn on anomaly detection ` +
      '(--detect-anomaly, or setAnomalyDetection(true)) to find the op that made it');
  const evaluate = async () => {
    model.eval();
    try {
      return await noGradAsync(() => task.evaluate());
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
    opts.beforeStep?.(step);
    for (let micro = 0; micro < config.gradAccumSteps; micro++) {
      const { loss, tokens } = await task.trainLoss(dataRng);
      (config.gradAccumSteps > 1 ? ops.div(loss, config.gradAccumSteps) : loss).backward();
      // Summed on the device and read only when logging, so a GPU is not made to wait every step.
      const l = loss.detach();
      // On host backends the value is at hand: check every step. A device is read only when logging (below).
      const now = l.backend.readSync ? l.dataSync()[0]! : 0;
      if (!Number.isFinite(now)) throw diverged(`at step ${step + 1}`, now);
      lossSum = lossSum ? ops.add(lossSum, l) : l;
      windowTokens += tokens;
    }
    if (config.clipNorm > 0) clipGradNorm(trainable, config.clipNorm);
    optimizer.step();
    optimizer.zeroGrad();
    // One turn of the event loop per step lets finalizers free the step's device buffers (they never run inside
    // a run of resolved promises), so device memory stays flat between log steps.
    await nextTurn();
    const lr = optimizer.paramGroups[0]!.lr;
    scheduler.step();
    step++;
    windowSteps++;
    const isLast = step === config.maxSteps;
    const evalNow = isLast || (config.evalEvery > 0 && step % config.evalEvery === 0);
    if (step % config.logEvery === 0 || isLast || evalNow) {
      lastLoss = (await lossSum!.item()) / (windowSteps * config.gradAccumSteps);
      if (!Number.isFinite(lastLoss)) throw diverged(`in steps ${step - windowSteps + 1}-${step}`, lastLoss);
      const now = performance.now();
      const record: LogRecord = { step, loss: lastLoss, lr, tokensPerSec: windowTokens / ((now - windowStart) / 1000), elapsedSec: elapsedBefore + (now - start) / 1000 };
      lossSum = null; windowTokens = 0; windowSteps = 0;
      let evalMetrics: Record<string, number> | undefined;
      if (evalNow) {
        evalMetrics = await evaluate();
        lastEval = evalMetrics;
        Object.assign(record, evalMetrics);
        if (opts.best) {
          const value = evalMetrics[opts.best.metric];
          if (value === undefined) throw new Error(`train: the evaluation has no metric '${opts.best.metric}' (it has ${Object.keys(evalMetrics).join(', ')})`);
          const better = !best || (opts.best.mode === 'max' ? value > best.value : value < best.value);
          if (better) {
            best = { step, value, sinceImproved: 0 };
            if (bestDir) await saveModelDirectory(bestDir, model, task.saveExtras?.bind(task));
          } else {
            best!.sinceImproved++;
            if (opts.best.patience !== undefined && best!.sinceImproved >= opts.best.patience) stoppedEarly = true;
          }
        }
      }
      await log(record);
      opts.onProgress?.({ step, maxSteps: config.maxSteps, record, eval: evalMetrics });
      windowStart = performance.now();
    }
    if (isLast || stoppedEarly || (config.checkpointEvery > 0 && step % config.checkpointEvery === 0)) await save();
    if (stoppedEarly) break;
  }
  const wallSeconds = elapsedBefore + (performance.now() - start) / 1000;
  let lossCurve: string | undefined;
  if (config.outDir && history.length > 0) {
    lossCurve = nodePath.join(config.outDir, 'loss.svg');
    await fsp.writeFile(lossCurve, await lossCurveSvg(curvePoints(history), { title: 'Pretraining loss' }));
  }
  const bestResult = best ? { best: { step: best.step, value: best.value, ...(bestDir ? { dir: bestDir } : {}), stoppedEarly } } : {};
  return { steps: step, finalLoss: lastLoss, eval: lastEval, history, wallSeconds, lossCurve, ...bestResult };
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
