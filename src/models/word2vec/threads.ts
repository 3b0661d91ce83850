// Hogwild training across worker_threads: every worker trains jobs of sentences on the same SharedArrayBuffer
// weights without locks, as word2vec.c and gensim do. Idle workers block in the event loop (message passing).
import { Worker } from 'node:worker_threads';
import type { Vocab } from './vocab.js';
import type { Word2VecOptions, Word2VecWeights } from './trainer.js';

/** What a worker gets at start. */
export interface WorkerInit {
  vocab: Vocab;
  opts: Word2VecOptions;
  weights: Word2VecWeights;
  seed: number;
}

/** A pool of training threads over one model's shared weights. */
export class TrainerPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private waiting: (() => void)[] = [];
  private lossSum = 0;
  private lossJobs = 0;
  private failure: Error | undefined;

  constructor(vocab: Vocab, opts: Word2VecOptions, weights: Word2VecWeights, threads: number) {
    // under tsx the sources are .ts (and the worker needs tsx's loader too); built, they are .js
    const source = import.meta.url.endsWith('.ts');
    const file = new URL(source ? './worker.ts' : './worker.js', import.meta.url);
    for (let i = 0; i < threads; i++) {
      const init: WorkerInit = { vocab, opts, weights, seed: opts.seed + 1 + i };
      const w = source
        ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(file.href)}); })`, { eval: true, workerData: init })
        : new Worker(file, { workerData: init });
      w.on('message', (loss: number) => {
        this.lossSum += loss;
        this.lossJobs++;
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

  /** Hands a job to the next free worker (waits while all are busy). */
  async submit(job: number[][], alpha: number): Promise<void> {
    (await this.free()).postMessage({ job, alpha });
  }

  /** Waits for every job handed out. */
  async drain(): Promise<void> {
    while (this.idle.length < this.workers.length) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
  }

  /** Mean loss of the jobs finished since the last call. */
  takeLoss(): number {
    const l = this.lossJobs > 0 ? this.lossSum / this.lossJobs : 0;
    this.lossSum = 0;
    this.lossJobs = 0;
    return l;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
