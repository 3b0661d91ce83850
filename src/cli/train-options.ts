// The training options that `pretrain gpt train` and `pretrain bert train` share, with their defaults taken from the
// model's recipe (one source of truth), and the TrainConfig they make.
import { Command, Option } from '@commander-js/extra-typings';
import type { Backend } from '../backend/backend.js';
import { initWebGPU, setBackend } from '../backend/registry.js';
import { lossCurveText } from '../tasks/loss-curve.js';
import { train, trainConfig, type Progress, type TrainConfig, type TrainOptions, type TrainResult, type TrainTask } from '../tasks/trainer.js';
import { setAnomalyDetection } from '../tensor/autograd.js';
import { parse, progressBar, table } from './ui.js';

/**
 * A training command with the optimisation, schedule, evaluation, checkpoint and output options; the caller adds
 * its model's options. (Built here rather than added to a caller's command: a generic helper over extra-typings'
 * Command types sends the type checker into minutes of inference.)
 */
export function trainingCommand(name: string, recipe: TrainConfig) {
  return new Command(name)
    .option('--steps <n>', 'optimizer steps', parse.positiveInt, recipe.maxSteps)
    .option('--lr <x>', 'peak learning rate', parse.positive, recipe.lr)
    .addOption(new Option('--schedule <kind>', 'decay after warmup').choices(['cosine', 'linear', 'constant'] as const).default(recipe.schedule))
    .option('--min-lr-rate <x>', 'cosine floor as a fraction of lr', parse.fraction, recipe.minLrRate)
    .option('--warmup <n>', 'warmup steps', parse.count, recipe.warmupSteps)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay (matrices only)', parse.nonNegative, recipe.weightDecay)
    .option('--beta2 <x>', 'AdamW beta2', parse.unitInterval, recipe.beta2)
    .option('--grad-accum <n>', 'micro-batches per step', parse.positiveInt, recipe.gradAccumSteps)
    .option('--clip <x>', 'global gradient-norm clip (0: off)', parse.nonNegative, recipe.clipNorm)
    .option('--eval-every <n>', 'evaluate every N steps (0: at the end only)', parse.count, recipe.evalEvery)
    .option('--checkpoint-every <n>', 'checkpoint every N steps (0: at the end only)', parse.count, recipe.checkpointEvery)
    .option('--log-every <n>', 'log every N steps', parse.positiveInt, recipe.logEvery)
    .option('--seed <n>', 'random seed', parse.count, recipe.seed)
    .option('--resume', 'continue the run in --out from its checkpoint')
    .option('--overwrite', 'start a new run in --out, deleting the run there')
    .option('--detect-anomaly', 'check every op for NaN/Inf and name the first one that makes it (slow)')
    .addOption(new Option('--backend <name>', 'compute backend (cpu: native kernels where built, else WebAssembly; cpu-wasm: WebAssembly; webgpu: the GPU)')
      .choices(['cpu', 'cpu-native', 'cpu-wasm', 'cpu-reference', 'webgpu'] as const).default('cpu' as const))
    .option('--json', 'print the result as JSON');
}

/** The parsed values of `trainingCommand`'s options. */
export type TrainOptionValues = ReturnType<ReturnType<typeof trainingCommand>['opts']>;

/** The recipe with the shared options' values put in. */
export function trainConfigFromOptions(o: TrainOptionValues, recipe: TrainConfig, outDir: string, extra: Partial<TrainConfig> = {}): TrainConfig {
  return trainConfig(recipe, {
    maxSteps: o.steps, lr: o.lr, schedule: o.schedule, minLrRate: o.minLrRate, warmupSteps: o.warmup, weightDecay: o.weightDecay, beta2: o.beta2,
    clipNorm: o.clip, gradAccumSteps: o.gradAccum, evalEvery: o.evalEvery, checkpointEvery: o.checkpointEvery, logEvery: o.logEvery, seed: o.seed,
    outDir, ...extra,
  });
}

/**
 * Makes `name` the current backend (acquiring a GPU device first for webgpu) and says which one runs, with its
 * kernels, on stderr unless `quiet` (--json output stays clean).
 */
export async function useBackend(name: string, quiet: boolean): Promise<Backend> {
  if (name === 'webgpu') await initWebGPU();
  const backend = setBackend(name);
  if (!quiet) console.error(`backend: ${backend.name}${backend.kernels ? ` (${backend.kernels})` : ''}`);
  return backend;
}

/** The command line that continues this run: the same arguments with --resume (and without --overwrite). */
function resumeCommand(): string {
  const args = process.argv.slice(2).filter((a) => a !== '--overwrite' && a !== '--resume');
  const quote = (a: string) => (/^[\w./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  return `pretrain ${[...args, '--resume'].map(quote).join(' ')}`;
}

/**
 * Runs a training task for a command: anomaly detection if asked, a progress bar, "resuming from step N", and on
 * SIGINT/SIGTERM where the last checkpoint is and the command that continues from it. Returns the result for the
 * caller's summary, after printing the loss curve (unless --json).
 */
export async function runTraining(label: string, task: TrainTask, cfg: TrainConfig, o: TrainOptionValues, describe: (p: Progress) => string,
  extra: Pick<TrainOptions, 'best' | 'optimizer' | 'beforeStep'> = {}): Promise<TrainResult> {
  setAnomalyDetection(Boolean(o.detectAnomaly));
  const bar = progressBar(label, cfg.maxSteps, { unit: 'steps', quiet: o.json });
  let step = 0;
  let last: { dir: string; step: number } | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    bar.stop();
    const where = last ? `the last checkpoint is ${last.dir} (step ${last.step})` : 'no checkpoint was written in this run';
    console.error(`\n${label}: ${signal} at step ${step}; ${where}.${last ? ` Continue with:\n  ${resumeCommand()}` : ''}`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await train(task, cfg, {
      ...extra, resume: Boolean(o.resume), overwrite: Boolean(o.overwrite),
      onStart: (s) => {
        step = s.step;
        if (s.resumedFrom && !o.json) console.error(`resuming from step ${s.step} (${s.resumedFrom})`);
      },
      onCheckpoint: (c) => { last = c; },
      onProgress: (p) => { step = p.step; bar.update(p.step, describe(p)); },
    });
    bar.stop();
    if (!o.json) console.log(lossCurveText(result.history.map((r) => r.loss ?? NaN)));
    return result;
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    setAnomalyDetection(false);
  }
}

/** Prints a run's summary: one JSON line with --json, else a table of metrics. */
export function printSummary(summary: Record<string, unknown>, json: boolean): void {
  if (json) console.log(JSON.stringify(summary));
  else console.log(table(Object.entries(summary).map(([metric, value]) => ({ metric, value }))));
}
