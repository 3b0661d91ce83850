// The models of the lineage, one file each.
export * from './gpt.js';
export * from './bert.js';
export * from './vectors.js';
export * from './word2vec/trainer.js';
export * from './word2vec/glove.js';
