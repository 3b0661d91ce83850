// Hogwild training across worker_threads: every worker trains jobs on the same shared memory without locks, as
// word2vec.c, gensim and glove.c do. A job is written by the main thread into a free slot of that memory and handed
// over as a slot number; idle workers block in the event loop (message passing), never spin.
import type { Worker } from 'node:worker_threads';
import { workerThreads } from '../../platform/node.js';
import type { Arena, ArenaHandle } from './arena.js';
import { configureArgs, seedState, slotArgs, type KernelSettings } from './kernels.js';

/** A job handed to a worker: its slot and job-specific numbers. */
export interface SlotJob { slot: number }
/** A worker's answer names the slot it has finished with. */
export interface SlotDone { slot: number }

/** Worker threads that train the jobs written into the slots of a shared memory; there is one slot more than workers. */
export class SlotPool<Job extends SlotJob, Done extends SlotDone> {
  private readonly idle: Worker[];
  private waiting: (() => void)[] = [];
  /** Slots whose job is queued or training. */
  private readonly busy = new Set<number>();
  private failure: Error | undefined;

  /** `onDone` sees every answer (to sum losses); the pool frees the slot and the worker. */
  constructor(private readonly workers: Worker[], private readonly slots: number, onDone: (d: Done) => void) {
    if (slots < workers.length + 1) throw new Error(`${workers.length} worker threads need ${workers.length + 1} job slots`);
    this.idle = [...workers];
    for (const w of workers) {
      w.on('message', (d: Done) => {
        onDone(d);
        this.busy.delete(d.slot);
        this.release(w);
      });
      w.on('error', (e) => { this.failure = e; this.release(w); });
    }
  }

  private release(w: Worker): void {
    this.idle.push(w);
    this.waiting.shift()?.();
  }

  private async free(): Promise<Worker> {
    while (this.idle.length === 0) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
    return this.idle.pop()!;
  }

  /** A slot no worker holds, for the main thread to fill (there is always one: slots outnumber workers). */
  freeSlot(): number {
    for (let s = 0; s < this.slots; s++) if (!this.busy.has(s)) return s;
    throw new Error('no free job slot');
  }

  /** Hands a job to the next free worker (waits while all are busy). */
  async submit(job: Job): Promise<void> {
    const w = await this.free();
    this.busy.add(job.slot);
    w.postMessage(job);
  }

  /** Waits for every job handed out. */
  async drain(): Promise<void> {
    while (this.idle.length < this.workers.length) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** A plain-JavaScript worker (no module of ours, and so no TypeScript loader: it starts in milliseconds). */
export function scriptWorker(source: string, workerData: unknown): Worker {
  // execArgv: [] keeps loader hooks (e.g. --import tsx) out of the worker
  return new workerThreads.Worker(source, { eval: true, execArgv: [], workerData });
}

/** The word2vec worker of the WebAssembly kernels; its arguments come from configureArgs and slotArgs, as WasmTrainer's. */
const WORD2VEC_WASM_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { memory, module, configure, rng, slots } = workerData;
const e = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('word2vec wasm: abort'); } } }).exports;
e.configure(...configure);
e.setRandomState(rng);
parentPort.on('message', ({ slot, sentences, alpha }) => {
  e.trainJob(sentences, alpha, ...slots[slot]);
  parentPort.postMessage({ slot, sum: e.loss(), pairs: e.lossPairs() });
  e.resetLoss();
});
`;

/** What a word2vec worker of the reference kernels (worker.ts) gets at start. */
export interface WorkerInit {
  arena: ArenaHandle;
  opts: KernelSettings;
  /** Its own xorshift32 state. */
  rng: number;
}

/** A word2vec job: `sentences` sentences in `slot`, at learning rate `alpha`. */
export interface JobMessage extends SlotJob { sentences: number; alpha: number }
/** A word2vec worker's answer: the loss it summed over `pairs` predictions. */
export interface DoneMessage extends SlotDone { sum: number; pairs: number }

/**
 * `threads` word2vec workers over a model's arena, seeded seed + 1 … seed + threads; `module` is the compiled
 * WebAssembly kernels, or undefined to run the TypeScript reference.
 */
export function word2vecPool(arena: Arena, opts: KernelSettings & { seed: number }, threads: number, module: WebAssembly.Module | undefined,
  onDone: (d: DoneMessage) => void): SlotPool<JobMessage, DoneMessage> {
  // under tsx the sources are .ts (and the reference's worker needs tsx's loader too); built, they are .js
  const source = import.meta.url.endsWith('.ts');
  const file = new URL(source ? './worker.ts' : './worker.js', import.meta.url);
  const settings: KernelSettings = { model: opts.model, cbowMean: opts.cbowMean, hs: opts.hs, negative: opts.negative, window: opts.window, dim: opts.dim };
  const layout = arena.layout;
  const workers = Array.from({ length: threads }, (_, i) => {
    const rng = seedState(opts.seed + 1 + i);
    if (module) {
      return scriptWorker(WORD2VEC_WASM_WORKER, { memory: arena.memory, module, configure: configureArgs(layout, settings), rng, slots: layout.slots.map((_, k) => slotArgs(layout, k)) });
    }
    const init: WorkerInit = { arena: arena.handle(), opts: settings, rng };
    return source
      ? new workerThreads.Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(file.href)}); })`, { eval: true, workerData: init })
      : new workerThreads.Worker(file, { workerData: init });
  });
  return new SlotPool<JobMessage, DoneMessage>(workers, layout.slots.length, onDone);
}
