// The models of the lineage, one file each, and loading and saving them as Hugging Face directories.
export * from './gpt.js';
export * from './bert.js';
export * from './nnlm.js';
export * from './cove.js';
export * from './cnn.js';
export * from './elmo.js';
export * from './encoder-decoder.js';
export * from './warm-start.js';
export * from './kneser-ney.js';
export * from './heads.js';
export * from './family.js';
export * from './pretrained.js';
export * from './vectors.js';
export * from './word2vec/trainer.js';
export * from './word2vec/glove.js';
