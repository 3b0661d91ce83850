// Layers and the Module base.
export { Buffer, Module, Parameter } from './module.js';
export * from './init.js';
export { Linear, Embedding, LayerNorm, Dropout, Conv1d, Conv2d, Highway, BatchNorm2d, Dropout2d } from './layers.js';
export { LSTM, type LSTMConfig, type LSTMOutput, type SequenceMask } from './lstm.js';
export { ScalarMix } from './scalar-mix.js';
export { LogUniformSampler, sampledSoftmaxLoss, type SampledSoftmaxOptions } from './sampled-softmax.js';
export { CRF, allowedTransitions, crfLogLikelihood, crfLogPartition, crfPathScore } from './crf.js';
export { BiLSTMTagger, BiLSTMClassifier } from './sequence-heads.js';
export {
  ACTIVATIONS, activation, isActivationName, MultiHeadAttention, splitHeads, mergeHeads, feedForward,
  type ActivationName, type AttendOptions, type CrossAttentionInputs, type CrossProjections, type KVCache, type Projection,
} from './transformer.js';
