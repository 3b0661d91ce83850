// A word2vec training thread of the TypeScript reference kernels (the WebAssembly kernels' thread is plain
// JavaScript, in threads.ts): trains the jobs it is sent (slot numbers of the shared memory) and answers each with
// the slot and the loss it summed.
import { workerThreads } from '../../platform/node.js';
import { Arena } from './arena.js';
import { JsTrainer } from './kernels.js';
import type { DoneMessage, JobMessage, WorkerInit } from './threads.js';

const init = workerThreads.workerData as WorkerInit;
const trainer = new JsTrainer(Arena.attach(init.arena), init.opts, init.rng);
workerThreads.parentPort!.on('message', ({ slot, sentences, alpha }: JobMessage) => {
  trainer.train(slot, sentences, alpha);
  workerThreads.parentPort!.postMessage({ slot, ...trainer.takeLoss() } satisfies DoneMessage);
});
