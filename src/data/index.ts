// Pretraining data: corpora, sentence splitting, BERT examples, LM streams, shards (see docs/data.md).
export * from './batches.js';
export * from './bert.js';
export * from './corpus.js';
export * from './encoder.js';
export * from './lm.js';
export * from './prepare.js';
export * from './random.js';
export * from './sentences.js';
export * from './shards.js';
export * from './utf8.js';
