// Transfer: pretrained encoders behind one interface, task models (fine-tuned heads or frozen features), the
// fine-tuning task with its metrics, and building and loading them.
export * from './inputs.js';
export * from './encoders.js';
export * from './encoder-loaders.js';
export * from './nnlm-encoder.js';
export * from './cove-encoder.js';
export * from './task-model.js';
export * from './finetune.js';
export * from './data.js';
export * from './build.js';
