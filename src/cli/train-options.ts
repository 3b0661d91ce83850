// The training options that `pretrain gpt train` and `pretrain bert train` share, with their defaults taken from the
// model's recipe (one source of truth), and the TrainConfig they make.
import { Command, Option } from '@commander-js/extra-typings';
import type { Backend } from '../backend/backend.js';
import { initWebGPU, setBackend } from '../backend/registry.js';
import { trainConfig, type TrainConfig } from '../tasks/trainer.js';
import { parse } from './ui.js';

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
    .option('--resume', 'continue from <out>/checkpoint')
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
