// The training options that `pretrain gpt train` and `pretrain bert train` share, and the TrainConfig they make.
import { Option, type Command } from 'commander';
import type { Backend } from '../backend/backend.js';
import { initWebGPU, setBackend } from '../backend/registry.js';
import { trainConfig, type TrainConfig } from '../tasks/trainer.js';
import { parse } from './ui.js';

/** Each model's defaults for the shared options. */
export interface TrainDefaults {
  steps: number;
  lr: number;
  minLrRate: number;
  warmup: number;
  schedule: TrainConfig['schedule'];
  weightDecay: number;
  beta2: number;
  evalEvery: number;
  seed: number;
}

/** Adds the optimisation, schedule, evaluation, checkpoint and output options to a training command. */
export function withTrainOptions(cmd: Command, d: TrainDefaults): Command {
  return cmd
    .option('--steps <n>', 'optimizer steps', parse.positiveInt, d.steps)
    .option('--lr <x>', 'peak learning rate', parse.positive, d.lr)
    .addOption(new Option('--schedule <kind>', 'decay after warmup').choices(['cosine', 'linear', 'constant']).default(d.schedule))
    .option('--min-lr-rate <x>', 'cosine floor as a fraction of lr', parse.nonNegative, d.minLrRate)
    .option('--warmup <n>', 'warmup steps', parse.count, d.warmup)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay (matrices only)', parse.nonNegative, d.weightDecay)
    .option('--beta2 <x>', 'AdamW beta2', parse.positive, d.beta2)
    .option('--grad-accum <n>', 'micro-batches per step', parse.positiveInt, 1)
    .option('--clip <x>', 'global gradient-norm clip (0: off)', parse.nonNegative, 1)
    .option('--eval-every <n>', 'evaluate every N steps (0: at the end only)', parse.count, d.evalEvery)
    .option('--checkpoint-every <n>', 'checkpoint every N steps (0: at the end only)', parse.count, 500)
    .option('--log-every <n>', 'log every N steps', parse.positiveInt, 10)
    .option('--seed <n>', 'random seed', parse.int, d.seed)
    .option('--resume', 'continue from <out>/checkpoint')
    .addOption(new Option('--backend <name>', 'compute backend (cpu: native kernels where built, else WebAssembly; cpu-wasm: WebAssembly; webgpu: the GPU)').choices(['cpu', 'cpu-wasm', 'cpu-reference', 'webgpu']).default('cpu'))
    .option('--json', 'print the result as JSON');
}

/** The TrainConfig of parsed shared options. */
export function trainConfigFromOptions(o: Record<string, unknown>, outDir: string, extra: Partial<TrainConfig> = {}): TrainConfig {
  return trainConfig({
    maxSteps: o.steps as number, lr: o.lr as number, schedule: o.schedule as TrainConfig['schedule'], minLrRate: o.minLrRate as number,
    warmupSteps: o.warmup as number, weightDecay: o.weightDecay as number, beta2: o.beta2 as number, clipNorm: o.clip as number,
    gradAccumSteps: o.gradAccum as number, evalEvery: o.evalEvery as number, checkpointEvery: o.checkpointEvery as number,
    logEvery: o.logEvery as number, seed: o.seed as number, outDir, ...extra,
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
