// The page's side of the training worker: typed requests that resolve with the worker's answer, and progress events.
import type { ProgressEvent, RequestName, Requests, WorkerMessage } from './protocol.js';

/** A running training worker. */
export class TrainingWorker {
  private readonly worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'pretrain training worker' });
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(p: ProgressEvent) => void>();
  private nextId = 0;

  constructor() {
    this.worker.onmessage = ({ data }: MessageEvent<WorkerMessage>) => {
      if ('progress' in data) { for (const l of this.listeners) l(data.progress); return; }
      const waiting = this.pending.get(data.id);
      this.pending.delete(data.id);
      if ('error' in data) waiting?.reject(new Error(data.error));
      else waiting?.resolve(data.result);
    };
    // a worker that fails to load (a syntax error, a blocked script) fails every request still waiting
    this.worker.onerror = (e) => {
      for (const w of this.pending.values()) w.reject(new Error(`the training worker failed: ${e.message || 'it could not start'}`));
      this.pending.clear();
    };
  }

  /** Sends a request; resolves with its answer, rejects with the worker's error message. */
  call<K extends RequestName>(name: K, args: Requests[K]['args']): Promise<Requests[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, name, args });
    });
  }

  /** Calls `listener` with each progress event; returns a function that removes it. */
  onProgress(listener: (p: ProgressEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
