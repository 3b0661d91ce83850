// Hogwild training across worker_threads: every worker trains jobs on the same shared memory without locks, as
// word2vec.c and gensim do. A job is written by the main thread into a free slot of that memory and handed over as
// a slot number; idle workers block in the event loop (message passing), never spin.
import { Worker } from 'node:worker_threads';
import type { Arena, ArenaHandle } from './arena.js';
import { configureArgs, seedState, slotArgs, type KernelSettings } from './kernels.js';

/**
 * The worker of the WebAssembly kernels, in plain JavaScript: it needs no module of ours (and, run from the
 * TypeScript sources, no TypeScript loader), so it starts in milliseconds. The arguments come from configureArgs
 * and slotArgs, as WasmTrainer's.
 */
const WASM_WORKER = `
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

/** What the plain-JavaScript worker of the WebAssembly kernels gets at start. */
interface WasmWorkerInit {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  configure: number[];
  rng: number;
  slots: number[][];
}

/** What a worker of the reference kernels (worker.ts) gets at start. */
export interface WorkerInit {
  arena: ArenaHandle;
  opts: KernelSettings;
  /** Its own xorshift32 state. */
  rng: number;
}

/** A job handed to a worker. */
export interface JobMessage { slot: number; sentences: number; alpha: number }
/** A worker's answer: the slot it finished and the loss it summed. */
export interface DoneMessage { slot: number; sum: number; pairs: number }

/** A pool of training threads over one model's shared memory. */
export class TrainerPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private waiting: (() => void)[] = [];
  /** Slots whose job is queued or training. */
  private readonly busy = new Set<number>();
  private lossSum = 0;
  private lossPairs = 0;
  private failure: Error | undefined;

  /** `module`: the compiled WebAssembly kernels, or undefined to run the TypeScript reference. */
  constructor(private readonly arena: Arena, opts: KernelSettings & { seed: number }, threads: number, module: WebAssembly.Module | undefined) {
    if (arena.layout.slots.length < threads + 1) throw new Error(`word2vec: ${threads} threads need ${threads + 1} job slots`);
    // the reference kernels run worker.ts (under tsx, the sources are .ts and the worker needs tsx's loader too)
    const source = import.meta.url.endsWith('.ts');
    const file = new URL(source ? './worker.ts' : './worker.js', import.meta.url);
    const settings: KernelSettings = { model: opts.model, cbowMean: opts.cbowMean, hs: opts.hs, negative: opts.negative, window: opts.window, dim: opts.dim };
    const layout = arena.layout;
    for (let i = 0; i < threads; i++) {
      const rng = seedState(opts.seed + 1 + i);
      let w: Worker;
      if (module) {
        const init: WasmWorkerInit = { memory: arena.memory, module, configure: configureArgs(layout, settings), rng, slots: layout.slots.map((_, k) => slotArgs(layout, k)) };
        // execArgv: [] keeps loader hooks (e.g. --import tsx) out of the worker: its code is plain JavaScript
        w = new Worker(WASM_WORKER, { eval: true, execArgv: [], workerData: init });
      } else {
        const init: WorkerInit = { arena: arena.handle(), opts: settings, rng };
        w = source
          ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(file.href)}); })`, { eval: true, workerData: init })
          : new Worker(file, { workerData: init });
      }
      w.on('message', (m: DoneMessage) => {
        this.lossSum += m.sum;
        this.lossPairs += m.pairs;
        this.busy.delete(m.slot);
        this.release(w);
      });
      w.on('error', (e) => { this.failure = e; this.release(w); });
      this.workers.push(w);
      this.idle.push(w);
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
    const n = this.arena.layout.slots.length;
    for (let s = 0; s < n; s++) if (!this.busy.has(s)) return s;
    throw new Error('word2vec: no free job slot');
  }

  /** Hands the job in `slot` to the next free worker (waits while all are busy). */
  async submit(slot: number, sentences: number, alpha: number): Promise<void> {
    const w = await this.free();
    this.busy.add(slot);
    w.postMessage({ slot, sentences, alpha } satisfies JobMessage);
  }

  /** Waits for every job handed out. */
  async drain(): Promise<void> {
    while (this.idle.length < this.workers.length) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
  }

  /** Summed loss and pairs of the jobs finished since the last call. */
  takeLoss(): { sum: number; pairs: number } {
    const out = { sum: this.lossSum, pairs: this.lossPairs };
    this.lossSum = 0;
    this.lossPairs = 0;
    return out;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
