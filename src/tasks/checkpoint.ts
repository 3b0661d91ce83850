// Training checkpoints: the one place that writes and reads them. A checkpoint is a directory holding the model as
// a Hugging Face directory (config.json + model.safetensors, for registered models), optimizer.safetensors and
// trainer_state.json, plus what the task adds (a tokenizer). Each file is written once, into a fresh sibling
// directory that then replaces the old checkpoint by renames, so a crash at any moment leaves a whole checkpoint.
import { writeHfCheckpoint } from '../io/hf.js';
import { readSafetensors, writeSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import type { PretrainedModule } from '../models/family.js';
import { architectureOf, configJson, stateTensors } from '../models/pretrained.js';
import type { Module } from '../nn/module.js';
import type { Optimizer, OptimizerState } from '../optim/index.js';
import { fsp, nodePath, processId } from '../platform/node.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

/** The version of the checkpoint layout; a mismatch is reported, not guessed at. */
export const CHECKPOINT_VERSION = 1;
const CHECKPOINT_FORMAT = 'pretrain.checkpoint';
const STATE_FILE = 'trainer_state.json';

/** trainer_state.json: where the run was, with the format tag and version. */
export interface TrainerState {
  format: string;
  version: number;
  step: number;
  [field: string]: unknown;
}

async function exists(path: string): Promise<boolean> {
  return fsp.stat(path).then(() => true, () => false);
}

/** Whether a model has a Hugging Face layout (so its checkpoint also gets a config.json). */
function isRegistered(model: Module): model is PretrainedModule {
  try {
    architectureOf(model);
    return true;
  } catch {
    return false;
  }
}

/** What a checkpoint holds. `extras` writes the task's own files (a tokenizer, never the weights) into the directory. */
export interface CheckpointParts {
  model: Module;
  optimizer: Optimizer<{ lr: number }>;
  state: TrainerState;
  extras?: (dir: string) => Promise<void>;
}

/** Fills a fresh sibling of `dir` and swaps it in by renames, so that `dir` is always whole: the old one or the new. */
async function swapIn(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${dir}.tmp-${processId()}`;
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(tmp, { recursive: true });
  await fill(tmp);
  const old = `${dir}.old`;
  await fsp.rm(old, { recursive: true, force: true });
  if (await exists(dir)) await fsp.rename(dir, old);
  await fsp.rename(tmp, dir);
  await fsp.rm(old, { recursive: true, force: true });
}

/** The model's files: config.json and model.safetensors for registered models (a Hugging Face directory), else the weights. */
async function writeModel(dir: string, model: Module): Promise<void> {
  const weights = await stateTensors(model);
  if (isRegistered(model)) await writeHfCheckpoint(dir, configJson(model), weights);
  else await writeSafetensors(nodePath.join(dir, 'model.safetensors'), weights, { format: 'pt' });
}

/** Writes a checkpoint to `dir` atomically (see the file's header). */
export async function saveCheckpoint(dir: string, parts: CheckpointParts): Promise<void> {
  await swapIn(dir, async (tmp) => {
    await writeModel(tmp, parts.model);
    const opt = await parts.optimizer.stateDict();
    const optTensors = new Map<string, SafetensorsTensor>();
    for (const [name, t] of Object.entries(opt.tensors)) optTensors.set(name, { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: t.shape, data: t.data as Float32Array });
    await writeSafetensors(nodePath.join(tmp, 'optimizer.safetensors'), optTensors, { meta: JSON.stringify(opt.meta) });
    await fsp.writeFile(nodePath.join(tmp, STATE_FILE), `${JSON.stringify(parts.state)}\n`);
    await parts.extras?.(tmp);
  });
}

/** Writes a model directory atomically: the model's files (see writeModel) and what `extras` adds (a tokenizer). */
export async function saveModelDirectory(dir: string, model: Module, extras?: (dir: string) => Promise<void>): Promise<void> {
  await swapIn(dir, async (tmp) => {
    await writeModel(tmp, model);
    await extras?.(tmp);
  });
}

/** The checkpoint to resume from: `dir`, or the previous one left by a save that was interrupted mid-swap; null if none. */
export async function findCheckpoint(dir: string): Promise<string | null> {
  if (await exists(nodePath.join(dir, STATE_FILE))) return dir;
  if (await exists(nodePath.join(`${dir}.old`, STATE_FILE))) return `${dir}.old`;
  return null;
}

/** Restores the model's weights and the optimizer's state from a checkpoint, and returns its trainer state. */
export async function loadCheckpoint(dir: string, model: Module, optimizer: Optimizer<{ lr: number }>): Promise<TrainerState> {
  const statePath = nodePath.join(dir, STATE_FILE);
  const state = JSON.parse(await fsp.readFile(statePath, 'utf8')) as TrainerState;
  if (state.format !== CHECKPOINT_FORMAT) throw new Error(`${statePath}: not a pretrain checkpoint (format '${state.format}')`);
  if (state.version !== CHECKPOINT_VERSION) {
    throw new Error(`${statePath}: checkpoint version ${state.version}, but this build reads version ${CHECKPOINT_VERSION}`);
  }
  const { tensors } = await readSafetensors(nodePath.join(dir, 'model.safetensors'));
  const weights = new Map<string, Tensor>();
  for (const [name, t] of tensors) weights.set(name, ops.fromArray(t.data, t.shape, { dtype: t.data instanceof Int32Array ? 'int32' : 'float32' }));
  model.loadStateDict(weights, true);
  const opt = await readSafetensors(nodePath.join(dir, 'optimizer.safetensors'));
  const saved: OptimizerState = { meta: JSON.parse(opt.metadata.meta ?? '{}'), tensors: {} };
  for (const [name, t] of opt.tensors) saved.tensors[name] = { dtype: t.dtype === 'I32' ? 'int32' : 'float32', shape: t.shape, data: t.data };
  optimizer.loadStateDict(saved);
  return state;
}

/** A trainer state with the format tag and version filled in. */
export function trainerState<F extends { step: number }>(fields: F): F & TrainerState {
  return { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, ...fields };
}

/** A run directory held by this process: where its checkpoint is, and how to let it go. */
export interface RunDirectory {
  /** The checkpoint to resume from (set only when resuming). */
  resumeFrom: string | null;
  /** Removes the lock. */
  release(): Promise<void>;
}

const LOCK_FILE = '.lock';

function alive(pid: number): boolean {
  try {
    (globalThis as { process?: { kill(pid: number, signal: number): void } }).process?.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Takes a run directory for training: locks it against a second concurrent run (a lock whose process is gone is taken
 * over), removes temporaries a killed save left behind, and refuses to replace an earlier run unless told to:
 * `resume` continues its checkpoint (and is an error when there is none), `overwrite` deletes the run first.
 */
export async function openRunDirectory(outDir: string, opts: { resume?: boolean; overwrite?: boolean }): Promise<RunDirectory> {
  if (opts.resume && opts.overwrite) throw new Error('resume and overwrite exclude each other: resume continues a run, overwrite starts a new one');
  await fsp.mkdir(outDir, { recursive: true });
  const lock = nodePath.join(outDir, LOCK_FILE);
  for (;;) {
    try {
      await fsp.writeFile(lock, `${processId()}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      const holder = Number((await fsp.readFile(lock, 'utf8').catch(() => '')).trim());
      if (holder > 0 && holder !== processId() && alive(holder)) throw new Error(`${outDir}: another training run (process ${holder}) is using this directory`);
      await fsp.rm(lock, { force: true });
    }
  }
  const release = () => fsp.rm(lock, { force: true });
  try {
    const checkpointDir = nodePath.join(outDir, 'checkpoint');
    for (const name of await fsp.readdir(outDir)) {
      if (/^(checkpoint|best)\.tmp-/.test(name)) await fsp.rm(nodePath.join(outDir, name), { recursive: true, force: true });
    }
    const existing = await findCheckpoint(checkpointDir);
    const hasLog = await exists(nodePath.join(outDir, 'log.jsonl'));
    if (opts.resume) {
      if (!existing) throw new Error(`${outDir}: there is no checkpoint to resume (no ${nodePath.join(checkpointDir, STATE_FILE)})`);
      return { resumeFrom: existing, release };
    }
    if ((existing || hasLog) && !opts.overwrite) {
      const step = existing ? (JSON.parse(await fsp.readFile(nodePath.join(existing, STATE_FILE), 'utf8')) as TrainerState).step : null;
      throw new Error(`${outDir} already holds a run${step !== null ? ` (checkpoint at step ${step})` : ''}; ` +
        'continue it with --resume (resume: true) or replace it with --overwrite (overwrite: true)');
    }
    if (opts.overwrite) {
      for (const name of ['checkpoint', 'checkpoint.old', 'best', 'best.old', 'log.jsonl', 'loss.svg']) await fsp.rm(nodePath.join(outDir, name), { recursive: true, force: true });
    }
    return { resumeFrom: null, release };
  } catch (err) {
    await release();
    throw err;
  }
}

/** Cuts log.jsonl back to the records up to `step`, so that a resumed run does not log steps twice. */
export async function truncateLog(outDir: string, step: number): Promise<void> {
  const path = nodePath.join(outDir, 'log.jsonl');
  if (!(await exists(path))) return;
  const kept = (await fsp.readFile(path, 'utf8')).split('\n').filter((line) => {
    if (!line.trim()) return false;
    try {
      return (JSON.parse(line) as { step?: number }).step! <= step;
    } catch {
      return false; // a line cut short by the interruption
    }
  });
  await fsp.writeFile(path, kept.map((l) => `${l}\n`).join(''));
}
