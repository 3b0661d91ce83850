// Training loops, generation, evaluation and reporting built on the models.
export * from './trainer.js';
export * from './gpt-pretrain.js';
export * from './bert-pretrain.js';
export * from './nnlm-pretrain.js';
export * from './generate.js';
export * from './perplexity.js';
export * from './loss-curve.js';
export * from './fill-mask.js';
export * from './checkpoint.js';
export * from './metrics.js';
export * from './bleu.js';
export * from './chrf.js';
export * from './cove-train.js';
export * from './seq2seq-generate.js';
export * from './seq2seq.js';
export * from './seq2seq-train.js';
export * as transfer from './transfer/index.js';
export * as probes from './probes/index.js';
