// Pretraining data: BERT examples, LM streams, shards and batch types (see docs/data.md); corpora are read by src/text.
export * from './batches.js';
export * from './bert.js';
export * from './encoder.js';
export * from './lm.js';
export * from './prepare.js';
export * from './random.js';
export * from './shards.js';
export * from './tasks/index.js';
export * from './images.js';
export * from './image-folder.js';
