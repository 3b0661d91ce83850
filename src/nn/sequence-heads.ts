// The ELMo-era downstream models on top of frozen features [B, T, F] (a scalar mix of ELMo's or BERT's layers, or any
// encoder's states): a BiLSTM tagger with an optional linear-chain CRF (Lample et al. 2016, "Neural Architectures for
// Named Entity Recognition"; the layout of AllenNLP's CrfTagger) and a BiLSTM classifier with max or mean pooling
// over time. The ELMo paper's SST-5 baseline is a biattentive classification network (BCN, McCann et al. 2017); that
// model is not here.
import * as ops from '../tensor/ops.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { CRF } from './crf.js';
import { Dropout, Linear } from './layers.js';
import { LSTM } from './lstm.js';
import { Module } from './module.js';

/** A batch of features for a sequence head. */
export interface SequenceFeatures {
  /** [B, T, F]: one feature vector per step (frozen: the head does not train the encoder that made them). */
  features: Tensor;
  /** [B, T]: 1 for real steps, 0 for padding, which comes only at the end of a sequence. Absent: every step is real. */
  mask?: Tensor;
}

/** The shared options of both heads. */
export interface BiLSTMConfig {
  /** F, the size of each feature vector. */
  inputSize: number;
  /** H, the LSTM's hidden size per direction; the layer above sees 2H. */
  hiddenSize: number;
  /** Stacked BiLSTM layers (1). */
  numLayers?: number;
  /**
   * Dropout on the features and again on the BiLSTM's output (training only), as AllenNLP's CrfTagger places it;
   * Lample et al. used 0.5 on the input. Also between stacked LSTM layers. Default 0.
   */
  dropout?: number;
}

/** Options of a BiLSTMTagger. */
export interface BiLSTMTaggerConfig extends BiLSTMConfig {
  /** K, the number of tags. */
  numTags: number;
  /** Score whole tag sequences with a CRF (loss: its NLL; decode: Viterbi) instead of each step on its own. Default false. */
  crf?: boolean;
  /** The CRF's decoding constraints (see allowedTransitions in crf.ts); only with `crf`. */
  constraints?: readonly (readonly [number, number])[];
}

/** What the tagger returns. */
export interface TaggerOutput {
  /** [B, T, K]: per-step tag scores (the CRF's emissions, with `crf`). */
  logits: Tensor;
  /** The loss when labels were given: mean token cross-entropy, or with `crf` the mean NLL per sequence. */
  loss?: Tensor;
}

/**
 * A BiLSTM tagger: dropout, a bidirectional LSTM over the features, dropout, a linear projection to K tag scores and,
 * optionally, a CRF over them. Parameter names (checkpoint keys): `lstm.weight_ih_l0`, `lstm.weight_hh_l0_reverse`,
 * ... (PyTorch's nn.LSTM names), `projection.weight` [K, 2H], `projection.bias`, and with a CRF
 * `crf.start_transitions`, `crf.end_transitions`, `crf.transitions` (pytorch-crf's names).
 */
export class BiLSTMTagger extends Module {
  dropout: Dropout;
  lstm: LSTM;
  projection: Linear;
  crf: CRF | null;
  constructor(readonly config: BiLSTMTaggerConfig) {
    super();
    this.dropout = new Dropout(config.dropout ?? 0);
    this.lstm = biLSTM(config);
    this.projection = new Linear(2 * config.hiddenSize, config.numTags);
    if (config.constraints && !config.crf) throw new Error('BiLSTMTagger: constraints need crf: true');
    this.crf = config.crf ? new CRF(config.numTags, config.constraints ? { constraints: config.constraints } : {}) : null;
  }

  /**
   * The tag scores [B, T, K] and, with `labels` (int32 [B, T]), the loss. Without a CRF: cross-entropy averaged over
   * the real steps, labels -100 skipped (padding is skipped whatever its labels). With a CRF: its mean negative
   * log-likelihood per sequence; labels under padding are ignored (-100 there is fine), but every real step needs a
   * tag in 0..K-1, since a CRF scores whole sequences.
   */
  forward(inputs: SequenceFeatures & { labels?: Tensor }): TaggerOutput {
    const { features, mask, labels } = inputs;
    const states = encode(this, features, mask); // (B, T, 2H)
    const logits = this.projection.forward(this.dropout.forward(states)); // (B, T, K)
    if (!labels) return { logits };
    if (this.crf) return { logits, loss: this.crf.negLogLikelihood(logits, labels, mask ?? null) };
    const K = this.config.numTags;
    const targets = mask ? ops.where(mask, labels, -100) : labels;
    return { logits, loss: ops.crossEntropy(ops.reshape(logits, [-1, K]), ops.reshape(targets, [-1])) };
  }

  /**
   * The predicted tags of each sequence, one list of its real length per sequence: Viterbi with a CRF (the best
   * sequence, within the constraints if any), else the best tag of each step. No gradient; call eval() first so
   * that dropout is off.
   */
  async decode(inputs: SequenceFeatures): Promise<number[][]> {
    const { features, mask } = inputs;
    const logits = noGrad(() => this.forward({ features, ...(mask ? { mask } : {}) }).logits);
    if (this.crf) return this.crf.decode(logits, mask ?? null);
    const [B, T] = logits.shape as [number, number, number];
    const [best, m] = await Promise.all([ops.argmax(logits, -1).data(), mask ? mask.data() : Promise.resolve(null)]);
    return Array.from({ length: B }, (_, b) => {
      let n = T;
      if (m) while (n > 0 && m[b * T + n - 1] === 0) n--;
      return Array.from(best.subarray(b * T, b * T + n));
    });
  }
}

/** How a classifier summarises the BiLSTM's states over time. */
export type Pooling = 'max' | 'mean';

/** Options of a BiLSTMClassifier. */
export interface BiLSTMClassifierConfig extends BiLSTMConfig {
  /** C, the number of classes; 1 makes it a regressor (MSE loss on float labels). */
  numClasses: number;
  /** Max (default) or mean over each sequence's real steps, per feature. */
  pooling?: Pooling;
}

/** What the classifier returns. */
export interface SequenceClassifierOutput {
  /** [B, C]: class scores (or [B, 1] predictions for regression). */
  logits: Tensor;
  /** The loss when labels were given: cross-entropy (int32 class ids [B]), or MSE for one output (float labels [B]). */
  loss?: Tensor;
}

/**
 * A BiLSTM classifier: dropout, a bidirectional LSTM over the features, max- or mean-pooling over the real steps,
 * dropout, and a linear layer to C classes (AllenNLP's BasicClassifier with an LSTM encoder and a pooling
 * seq2vec). Parameter names: `lstm.weight_ih_l0`, ... (nn.LSTM's), `classifier.weight` [C, 2H], `classifier.bias`.
 */
export class BiLSTMClassifier extends Module {
  dropout: Dropout;
  lstm: LSTM;
  classifier: Linear;
  readonly pooling: Pooling;
  constructor(readonly config: BiLSTMClassifierConfig) {
    super();
    this.pooling = config.pooling ?? 'max';
    if (this.pooling !== 'max' && this.pooling !== 'mean') throw new Error(`BiLSTMClassifier: pooling must be 'max' or 'mean', got '${String(this.pooling)}'`);
    this.dropout = new Dropout(config.dropout ?? 0);
    this.lstm = biLSTM(config);
    this.classifier = new Linear(2 * config.hiddenSize, config.numClasses);
  }

  /** The class scores [B, C] and, with `labels`, the loss. Every sequence needs at least one real step. */
  forward(inputs: SequenceFeatures & { labels?: Tensor }): SequenceClassifierOutput {
    const { features, mask, labels } = inputs;
    const states = encode(this, features, mask); // (B, T, 2H)
    const pooled = pool(states, mask, this.pooling); // (B, 2H)
    const logits = this.classifier.forward(this.dropout.forward(pooled)); // (B, C)
    if (!labels) return { logits };
    if (this.config.numClasses === 1) return { logits, loss: ops.mseLoss(ops.reshape(logits, [-1]), ops.reshape(labels.cast(logits.dtype), [-1])) };
    if (labels.dtype !== 'int32') throw new Error(`BiLSTMClassifier: classification needs int32 class ids as labels, got ${labels.dtype}`);
    return { logits, loss: ops.crossEntropy(logits, ops.reshape(labels, [-1])) };
  }
}

function biLSTM(config: BiLSTMConfig): LSTM {
  return new LSTM({ inputSize: config.inputSize, hiddenSize: config.hiddenSize, numLayers: config.numLayers ?? 1, bidirectional: true, dropout: config.dropout ?? 0 });
}

/** dropout(features) through the BiLSTM: [B, T, 2H], zero at padding. */
function encode(head: { dropout: Dropout; lstm: LSTM }, features: Tensor, mask: Tensor | undefined): Tensor {
  if (features.rank !== 3) throw new Error(`expected features [B, T, F], got [${features.shape.join(', ')}]`);
  return head.lstm.forward(head.dropout.forward(features), mask ? { mask } : {}).output;
}

/** Max or mean of states [B, T, D] over each sequence's real steps: [B, D]. */
function pool(states: Tensor, mask: Tensor | undefined, pooling: Pooling): Tensor {
  if (!mask) return pooling === 'max' ? ops.max(states, 1) : ops.mean(states, 1);
  const [B, T] = states.shape as [number, number, number];
  const on = ops.reshape(mask.cast(states.dtype).detach(), [B, T, 1]);
  // Padding must not win the max: the LSTM leaves zeros there, which could exceed every real (negative) value.
  if (pooling === 'max') return ops.max(ops.where(on, states, ops.MASK_VALUE), 1);
  return ops.div(ops.sum(ops.mul(states, on), 1), ops.sum(on, 1));
}
