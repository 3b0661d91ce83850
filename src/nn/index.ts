// Layers and the Module base.
export { Module, Parameter } from './module.js';
export * from './init.js';
export { Linear, Embedding, LayerNorm, Dropout, Conv1d, Conv2d, Highway, activate, type Activation } from './layers.js';
export { LSTM, type LSTMConfig, type LSTMOutput, type SequenceMask } from './lstm.js';
export { MultiHeadAttention, TransformerLayer, type TransformerLayerConfig, type AttentionMasks } from './transformer.js';
