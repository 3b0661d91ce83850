// Bengio's neural probabilistic language model, the whole model in one file: each of the n − 1 previous words is
// looked up in one shared table C, the vectors are concatenated into x, and
//   y = b + W·x + U·tanh(d + H·x),   P(w_t | w_{t−n+1} … w_{t−1}) = softmax(y)
// with the direct connections W optional (the paper's runs have them or not). The word vectors C are the by-product
// that word2vec later made the point.
//
// Reference: Bengio, Ducharme, Vincent & Jauvin 2003, "A Neural Probabilistic Language Model", JMLR 3 (its
// notation in the comments). Parameter names say what each part is (embeddings, hidden, output, direct).
import { Dropout, Embedding, Linear, Module, normalParam } from '../nn/index.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkSizes, readConfigFields, type ModelFamily } from './family.js';

/** An NNLM's configuration, as its config.json holds it (`model_type: "nnlm"`). */
export interface NNLMConfig {
  vocab_size: number;
  /** n: the model conditions on n − 1 previous words. */
  order: number;
  /** m: the size of a word vector. */
  embedding_size: number;
  /** h: the tanh hidden layer's size. */
  hidden_size: number;
  /** The direct connections W from the concatenated vectors to the output. */
  direct_connections: boolean;
  /** Dropout on the concatenated vectors and the hidden layer (not in the paper, which predates dropout; 0 by default). */
  dropout: number;
  /** The standard deviation of the word vectors at initialisation. */
  initializer_range: number;
}

/** The defaults with `overrides`, checked; `where` names the source in errors. */
export function nnlmConfig(overrides: Partial<NNLMConfig> = {}, where = 'NNLMConfig'): NNLMConfig {
  const cfg: NNLMConfig = {
    vocab_size: 10000, order: 5, embedding_size: 64, hidden_size: 256, direct_connections: false, dropout: 0, initializer_range: 0.1, ...overrides,
  };
  checkSizes(where, cfg, ['vocab_size', 'embedding_size', 'hidden_size']);
  if (!(Number.isInteger(cfg.order) && cfg.order >= 2)) throw new Error(`${where}: order must be an integer >= 2 (one previous word at least), got ${cfg.order}`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`${where}: dropout must be in [0, 1), got ${cfg.dropout}`);
  return cfg;
}

/** What `NNLM.forward` returns. */
export interface NNLMOutput {
  /** [B, vocab_size]: y, the unnormalised log-probabilities of the next word. */
  logits: Tensor;
  /** Mean cross-entropy when targets are given. */
  loss?: Tensor;
}

/** The NNLM. */
export class NNLM extends Module {
  /** C: one vector per word. */
  embeddings: Embedding;
  /** H and d: the concatenated vectors to the tanh hidden layer. */
  hidden: Linear;
  /** U and b: the hidden layer to the output. */
  output: Linear;
  /** W: the direct connections, or null. */
  direct: Linear | null;
  dropout: Dropout;
  constructor(readonly config: NNLMConfig) {
    super();
    const { vocab_size: V, order, embedding_size: m, hidden_size: h } = config;
    this.embeddings = new Embedding(V, m);
    this.embeddings.weight = normalParam([V, m], config.initializer_range);
    this.hidden = new Linear((order - 1) * m, h);
    this.output = new Linear(h, V);
    this.direct = config.direct_connections ? new Linear((order - 1) * m, V, false) : null;
    this.dropout = new Dropout(config.dropout);
  }

  /** contexts int32 [B, n − 1] (oldest word first), targets int32 [B]. */
  forward(contexts: Tensor, targets?: Tensor): NNLMOutput {
    const [B, width] = contexts.shape as [number, number];
    if (width !== this.config.order - 1) throw new Error(`NNLM: contexts must hold ${this.config.order - 1} words (order ${this.config.order}), got ${width}`);
    const x = this.dropout.forward(ops.reshape(this.embeddings.forward(contexts), [B, width * this.config.embedding_size]));
    let logits = this.output.forward(this.dropout.forward(ops.tanh(this.hidden.forward(x))));
    if (this.direct) logits = ops.add(logits, this.direct.forward(x));
    return { logits, loss: targets ? ops.crossEntropy(logits, targets) : undefined };
  }
}

/** The NNLM in the model registry: config.json's `nnlm` (not a transformers model type; our own layout). */
export const nnlmFamily: ModelFamily<NNLMConfig> = {
  modelType: 'nnlm',
  basePrefix: 'nnlm',
  architectures: [{ name: 'NNLM', model: NNLM, create: (config) => new NNLM(config), prefixed: false }],
  configFromJson: (raw, where) => nnlmConfig(readConfigFields(raw, nnlmConfig(), where), where),
  configToJson: (config) => ({ ...config }),
  renameKey: (key) => key,
};
