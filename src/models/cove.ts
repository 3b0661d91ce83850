// CoVe, the whole model in one file: an attentional LSTM translation model whose encoder, the MT-LSTM, is what
// transfers. Words are looked up in fixed GloVe vectors, and a bidirectional LSTM of two layers reads them:
//   w̃ = GloVe(w),   h = MT-LSTM(w̃),   CoVe(w) = h
// The decoder is a two-layer LSTM fed the previous word and the previous attentional state (input feeding),
//   h_t = LSTM([z_{t−1}; h̃_{t−1}], h_{t−1})
//   α_t = softmax(H (W₁ h_t + b₁))                  attention over the encoder states H (padding masked)
//   h̃_t = tanh(W₂ [Hᵀα_t; h_t] + b₂)
//   p(ŵ_t | X, w_1 … w_{t−1}) = softmax(W_out h̃_t + b_out)
// and starts from the encoder's final states, both directions of each layer concatenated (OpenNMT's bridge for a
// bidirectional encoder), so its hidden size is twice the MT-LSTM's.
//
// Reference: McCann, Bradbury, Xiong & Socher 2017, "Learned in Translation: Contextualized Word Vectors", NeurIPS
// (section 3 and its notation); attention and input feeding as Luong, Pham & Manning 2015. The encoder's LSTM has
// PyTorch's nn.LSTM names (encoder.rnn.weight_ih_l0, ..._reverse), the layout of Salesforce's released MT-LSTM.
import { Dropout, Embedding, LSTM, Linear, Module, Parameter, normalParam, type LSTMOutput } from '../nn/index.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkSizes, readConfigFields, type ModelFamily } from './family.js';

/** A CoVe translation model's configuration, as its config.json holds it (`model_type: "cove"`). */
export interface CoveConfig {
  /** Rows of the GloVe table: the source vocabulary (`<unk>`, `<s>`, `</s>` and then the vectors' words). */
  source_vocab_size: number;
  /** The GloVe vectors' size (300 in the paper). */
  embedding_size: number;
  /** The MT-LSTM's hidden size per direction (300 in the paper); the decoder's is twice this. */
  hidden_size: number;
  /** Layers of the MT-LSTM and of the decoder (2 in the paper). */
  num_layers: number;
  /** The target (German) vocabulary: `<unk>`, `<s>`, `</s>` (ids 0, 1, 2) and then words. */
  target_vocab_size: number;
  /** The target word embeddings z, learnt. */
  target_embedding_size: number;
  /** Dropout on the target embeddings, between LSTM layers and on h̃ (training only). */
  dropout: number;
  /** Feed h̃_{t−1} into the decoder's next step, as the paper (false: a decoder that runs over all steps at once, faster). */
  input_feeding: boolean;
  /** The standard deviation of the target embeddings at initialisation. */
  initializer_range: number;
}

/** The target vocabulary's start and end of sentence (WordVocab's ids). */
export const COVE_BOS = 1;
export const COVE_EOS = 2;

/** The defaults with `overrides`, checked; `where` names the source in errors. */
export function coveConfig(overrides: Partial<CoveConfig> = {}, where = 'CoveConfig'): CoveConfig {
  const cfg: CoveConfig = {
    source_vocab_size: 10003, embedding_size: 300, hidden_size: 300, num_layers: 2, target_vocab_size: 10003, target_embedding_size: 300,
    dropout: 0.2, input_feeding: true, initializer_range: 0.1, ...overrides,
  };
  checkSizes(where, cfg, ['source_vocab_size', 'embedding_size', 'hidden_size', 'num_layers', 'target_vocab_size', 'target_embedding_size']);
  if (cfg.target_vocab_size <= COVE_EOS) throw new Error(`${where}: target_vocab_size must leave room for <unk>, <s> and </s>, got ${cfg.target_vocab_size}`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`${where}: dropout must be in [0, 1), got ${cfg.dropout}`);
  return cfg;
}

/** What the MT-LSTM gives for a batch. */
export interface MTLSTMOutput extends LSTMOutput {
  /** [B, S, embedding_size]: the GloVe vectors of the words. */
  glove: Tensor;
}

/** The MT-LSTM: fixed GloVe vectors read by a bidirectional LSTM; its states are CoVe. */
export class MTLSTM extends Module {
  /** GloVe, fixed (requiresGrad false): the table the vectors file gave, never trained. */
  embeddings: Embedding;
  rnn: LSTM;
  constructor(readonly config: CoveConfig) {
    super();
    this.embeddings = new Embedding(config.source_vocab_size, config.embedding_size);
    this.embeddings.weight.requiresGrad = false;
    this.rnn = new LSTM({ inputSize: config.embedding_size, hiddenSize: config.hidden_size, numLayers: config.num_layers, bidirectional: true, dropout: config.dropout });
  }

  /** ids int32 [B, S], mask [B, S] (1 for words, 0 for padding at the end). */
  forward(ids: Tensor, mask: Tensor): MTLSTMOutput {
    const glove = this.embeddings.forward(ids); // (B, S, d)
    return { ...this.rnn.forward(glove, { mask }), glove };
  }
}

/** Luong's global attention with the paper's biases: h̃ = tanh(W₂[context; h] + b₂), context = Hᵀ softmax(H(W₁h + b₁)). */
export class GlobalAttention extends Module {
  /** W₁, b₁. */
  linear_in: Linear;
  /** W₂, b₂. */
  linear_out: Linear;
  constructor(dim: number) {
    super();
    this.linear_in = new Linear(dim, dim);
    this.linear_out = new Linear(2 * dim, dim);
  }

  /** query [B, T, D] over memory [B, S, D] with mask [B, S]: h̃ [B, T, D]. */
  forward(query: Tensor, memory: Tensor, mask: Tensor): Tensor {
    const [B, T, D] = query.shape as [number, number, number];
    const S = memory.shape[1]!;
    const q = ops.reshape(this.linear_in.forward(query), [B, 1, T, D]);
    const h = ops.reshape(memory, [B, 1, S, D]);
    // scores H·q unscaled (Luong's general score), padding masked
    const context = ops.reshape(ops.scaledDotProductAttention(q, h, h, { mask: ops.reshape(mask, [B, 1, 1, S]), scale: 1 }), [B, T, D]);
    return ops.tanh(this.linear_out.forward(ops.concat([context, query], -1)));
  }
}

/** The decoder's recurrent state between steps: LSTM states [layers, B, 2·hidden] and the last h̃ [B, 2·hidden]. */
export interface DecoderState {
  h: Tensor;
  c: Tensor;
  feed: Tensor;
}

/** The encoder side a decoder attends to. */
export interface EncodedSource {
  /** [B, S, 2·hidden]: the MT-LSTM's top layer. */
  memory: Tensor;
  /** [B, S]: 1 for words. */
  mask: Tensor;
}

/** The two-layer attentional LSTM decoder with input feeding and its softmax over the target vocabulary. */
export class AttentionalDecoder extends Module {
  /** z: the target word embeddings. */
  embeddings: Embedding;
  rnn: LSTM;
  attention: GlobalAttention;
  dropout: Dropout;
  /** W_out, b_out: h̃ to the target vocabulary. */
  generator: Linear;
  constructor(readonly config: CoveConfig) {
    super();
    const D = 2 * config.hidden_size, E = config.target_embedding_size;
    this.embeddings = new Embedding(config.target_vocab_size, E);
    this.embeddings.weight = normalParam([config.target_vocab_size, E], config.initializer_range);
    this.rnn = new LSTM({ inputSize: E + (config.input_feeding ? D : 0), hiddenSize: D, numLayers: config.num_layers, dropout: config.dropout });
    this.attention = new GlobalAttention(D);
    this.dropout = new Dropout(config.dropout);
    this.generator = new Linear(D, config.target_vocab_size);
  }

  /** The state to start from: each layer's final forward and backward encoder states side by side, and h̃₀ = 0. */
  initialState(encoderH: Tensor, encoderC: Tensor): DecoderState {
    const [LD, B, H] = encoderH.shape as [number, number, number];
    const L = LD / 2;
    // (L·2, B, H) → (L, 2, B, H) → (L, B, 2, H) → (L, B, 2H)
    const bridge = (s: Tensor) => ops.reshape(ops.permute(ops.reshape(s, [L, 2, B, H]), [0, 2, 1, 3]), [L, B, 2 * H]);
    return { h: bridge(encoderH), c: bridge(encoderC), feed: ops.zeros([B, 2 * H], { dtype: encoderH.dtype }) };
  }

  /** Runs the previous words prev int32 [B, T] from `state`: h̃ [B, T, 2·hidden] (before dropout) and the state after. */
  forward(prev: Tensor, source: EncodedSource, state: DecoderState): { hTilde: Tensor; state: DecoderState } {
    const z = this.dropout.forward(this.embeddings.forward(prev)); // (B, T, E)
    if (!this.config.input_feeding) {
      const run = this.rnn.forward(z, { h0: state.h, c0: state.c });
      const hTilde = this.attention.forward(run.output, source.memory, source.mask);
      return { hTilde, state: { h: run.h, c: run.c, feed: state.feed } };
    }
    // input feeding makes each step wait for the last h̃: one LSTM step at a time
    const steps: Tensor[] = [];
    let { h, c, feed } = state;
    for (let t = 0; t < z.shape[1]!; t++) {
      const x = ops.concat([ops.slice(z, 1, t, t + 1), ops.unsqueeze(feed, 1)], -1); // (B, 1, E + 2H)
      const run = this.rnn.forward(x, { h0: h, c0: c });
      const hTilde = this.attention.forward(run.output, source.memory, source.mask); // (B, 1, 2H)
      ({ h, c } = run);
      feed = ops.squeeze(hTilde, 1);
      steps.push(hTilde);
    }
    return { hTilde: steps.length === 1 ? steps[0]! : ops.concat(steps, 1), state: { h, c, feed } };
  }

  /** Logits [B, T, target_vocab_size] of h̃. */
  logits(hTilde: Tensor): Tensor {
    return this.generator.forward(this.dropout.forward(hTilde));
  }
}

/** Inputs of `CoveModel.forward`: a padded source batch, the target words it is teacher-forced on, and labels. */
export interface CoveInputs {
  /** int32 [B, S] source (English) word ids. */
  sourceIds: Tensor;
  /** [B, S]: 1 for words, 0 for padding at the end. */
  sourceMask: Tensor;
  /** int32 [B, T]: `<s>` and the target words (the decoder's inputs). */
  targetIds: Tensor;
  /** int32 [B, T]: the target words and `</s>` (what each step predicts); -100 at padding, which the loss skips. */
  labels?: Tensor;
}

/** What `CoveModel.forward` returns. */
export interface CoveOutput {
  /** [B, T, target_vocab_size]. */
  logits: Tensor;
  /** Mean cross-entropy over the labelled steps, when labels are given. */
  loss?: Tensor;
}

/** The translation model: the MT-LSTM encoder and the attentional decoder. */
export class CoveModel extends Module {
  encoder: MTLSTM;
  decoder: AttentionalDecoder;
  constructor(readonly config: CoveConfig) {
    super();
    this.encoder = new MTLSTM(config);
    this.decoder = new AttentionalDecoder(config);
  }

  /** Encodes a source batch: what the decoder attends to, and its starting state. */
  encode(sourceIds: Tensor, sourceMask: Tensor): { source: EncodedSource; state: DecoderState } {
    const mask = sourceMask.cast('float32');
    const enc = this.encoder.forward(sourceIds, mask);
    return { source: { memory: enc.output, mask }, state: this.decoder.initialState(enc.h, enc.c) };
  }

  /** Teacher forcing: the logits of every target step, and the loss when labels are given. */
  forward(inputs: CoveInputs): CoveOutput {
    const { source, state } = this.encode(inputs.sourceIds, inputs.sourceMask);
    const logits = this.decoder.logits(this.decoder.forward(inputs.targetIds, source, state).hTilde);
    const V = this.config.target_vocab_size;
    // rows of (B·T, V): crossEntropy reads a 3-d input as PyTorch's (B, C, T)
    return { logits, loss: inputs.labels ? ops.crossEntropy(ops.reshape(logits, [-1, V]), ops.reshape(inputs.labels, [-1])) : undefined };
  }

  /** Puts GloVe vectors (rows in the source vocabulary's order) into the fixed table. */
  setGlove(vectors: Float32Array): void {
    const { source_vocab_size: V, embedding_size: d } = this.config;
    if (vectors.length !== V * d) throw new Error(`CoveModel.setGlove: ${vectors.length} values for ${V} words × ${d}`);
    const weight = new Parameter(ops.fromArray(vectors, [V, d]));
    weight.requiresGrad = false;
    this.encoder.embeddings.weight = weight;
  }
}

/** CoVe in the model registry: config.json's `cove` (not a transformers model type; our own layout). */
export const coveFamily: ModelFamily<CoveConfig> = {
  modelType: 'cove',
  basePrefix: 'cove',
  architectures: [{ name: 'CoveModel', model: CoveModel, create: (config) => new CoveModel(config), prefixed: false }],
  configFromJson: (raw, where) => coveConfig(readConfigFields(raw, coveConfig(), where), where),
  configToJson: (config) => ({ ...config }),
  renameKey: (key) => key,
};
