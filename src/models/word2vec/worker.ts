// A word2vec training thread: trains the jobs it is sent on the shared weights and answers each with its mean loss.
import { parentPort, workerData } from 'node:worker_threads';
import { Word2Vec } from './trainer.js';
import type { WorkerInit } from './threads.js';

const init = workerData as WorkerInit;
const model = new Word2Vec(init.vocab, { ...init.opts, seed: init.seed }, init.weights);
parentPort!.on('message', ({ job, alpha }: { job: number[][]; alpha: number }) => {
  for (const s of job) model.trainSentence(s, alpha);
  parentPort!.postMessage(model.takeLoss());
});
