// BERT, the whole model in one file: a post-LN Transformer encoder with token, segment and position embeddings,
// a pooler, the pretraining heads (masked LM with a tied decoder, next-sentence prediction) and the task heads of
// the four families' first three (sequence and pair classification, regression, token classification, choices);
// and BERT as a decoder (transformers' is_decoder and add_cross_attention: causal self-attention, cross-attention
// to an encoder's states, a key/value cache), the masked-LM head predicting the next token (BertLMHeadModel).
//
// References: Devlin et al. 2019 "BERT: Pre-training of Deep Bidirectional Transformers for Language
// Understanding"; Hugging Face modeling_bert.py. Field names are Hugging Face BertForPreTraining checkpoint keys
// (bert.encoder.layer.0.attention.self.query.weight, cls.predictions.transform.dense.weight, ...).
import { ACTIVATIONS, Dropout, Embedding, LayerNorm, Linear, Module, MultiHeadAttention, Parameter, constantParam, feedForward, isActivationName,
  normalParam, type ActivationName, type CrossAttentionInputs, type CrossProjections, type KVCache } from '../nn/index.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  DEFAULT_LABELS, checkLabels, hasDefaultLabels, headLinear, numLabels, sequenceClassifierOutput, tokenClassifierOutput, type ClassifierOutput, type LabelConfig,
} from './heads.js';
import { checkSizes, readConfigFields, type Architecture, type ModelFamily } from './family.js';

/** BERT configuration, with Hugging Face's `config.json` field names and BERT-base's defaults. */
export interface BertConfig extends LabelConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  /** A transformers activation name: 'gelu' (erf, BERT's), 'gelu_new' (tanh approximation), 'relu', ... */
  hidden_act: ActivationName;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  /** Dropout before a classification head; null: hidden_dropout_prob, as transformers. */
  classifier_dropout: number | null;
  /** Causal self-attention (each token sees only those before it), as a decoder. */
  is_decoder: boolean;
  /** A cross-attention block in every layer, attending to an encoder's states (needs is_decoder). */
  add_cross_attention: boolean;
}

/**
 * BERT-base's configuration with `overrides`, checked: sizes are positive integers, the heads divide the hidden
 * size, the activation is one we have. `where` names the source in errors (config.json's path).
 */
export function bertConfig(overrides: Partial<BertConfig> = {}, where = 'BertConfig'): BertConfig {
  const cfg: BertConfig = {
    vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
    hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 512,
    type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: 0, classifier_dropout: null, is_decoder: false,
    add_cross_attention: false, ...DEFAULT_LABELS, ...overrides,
  };
  checkSizes(where, cfg, ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size']);
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new Error(`${where}: hidden_size ${cfg.hidden_size} is not divisible by num_attention_heads ${cfg.num_attention_heads}`);
  }
  checkLabels(cfg, where);
  if (!isActivationName(cfg.hidden_act)) throw new Error(`${where}: hidden_act '${String(cfg.hidden_act)}' is not implemented`);
  // transformers' BertLayer raises the same: cross-attention belongs to a decoder
  if (cfg.add_cross_attention && !cfg.is_decoder) throw new Error(`${where}: add_cross_attention needs is_decoder (cross-attention is a decoder's)`);
  return cfg;
}

/** A Linear layer with BERT's initialisation: N(0, initializer_range) weights, zero bias. */
function dense(cfg: BertConfig, inF: number, outF: number): Linear {
  return headLinear(inF, outF, cfg.initializer_range);
}

function embedding(cfg: BertConfig, n: number): Embedding {
  const e = new Embedding(n, cfg.hidden_size);
  e.weight = normalParam([n, cfg.hidden_size], cfg.initializer_range);
  return e;
}

/** Sum of token, position and segment embeddings, then LayerNorm and dropout. */
export class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  dropout: Dropout;
  constructor(cfg: BertConfig) {
    super();
    this.word_embeddings = embedding(cfg, cfg.vocab_size);
    this.position_embeddings = embedding(cfg, cfg.max_position_embeddings);
    this.token_type_embeddings = embedding(cfg, cfg.type_vocab_size);
    this.LayerNorm = new LayerNorm(cfg.hidden_size, cfg.layer_norm_eps);
    this.dropout = new Dropout(cfg.hidden_dropout_prob);
  }
  /** `pastLength`: tokens already decoded before these (a decoder's cache), where their positions start. */
  forward(inputIds: Tensor, tokenTypeIds: Tensor, pastLength = 0): Tensor {
    const T = inputIds.shape[1]!;
    const x = ops.add(ops.add(this.word_embeddings.forward(inputIds), this.position_embeddings.forward(ops.arange(pastLength, pastLength + T))),
      this.token_type_embeddings.forward(tokenTypeIds));
    return this.dropout.forward(this.LayerNorm.forward(x));
  }
}

/** Query, key and value projections and scaled dot-product attention over all heads (self or cross). */
export class BertSelfAttention extends MultiHeadAttention {
  query: Linear;
  key: Linear;
  value: Linear;
  constructor(cfg: BertConfig) {
    super(cfg.num_attention_heads, cfg.attention_probs_dropout_prob);
    const H = cfg.hidden_size;
    this.query = dense(cfg, H, H);
    this.key = dense(cfg, H, H);
    this.value = dense(cfg, H, H);
  }
  protected projectSelf(x: Tensor): [Tensor, Tensor, Tensor] {
    return [this.query.forward(x), this.key.forward(x), this.value.forward(x)];
  }
  protected override cross(): CrossProjections {
    return { query: (x) => this.query.forward(x), keyValue: (source) => [this.key.forward(source), this.value.forward(source)] };
  }
  /** x [B, T, H], attentionMask [B, T] (1 = attend) to context [B, T, H]. */
  forward(x: Tensor, attentionMask?: Tensor): Tensor { return this.attend(x, { attentionMask }).context; }
}

/** A projection, dropout, residual and LayerNorm: the post-LN "Add & Norm" step. */
export class BertAddNorm extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  dropout: Dropout;
  constructor(cfg: BertConfig, inF: number) {
    super();
    this.dense = dense(cfg, inF, cfg.hidden_size);
    this.LayerNorm = new LayerNorm(cfg.hidden_size, cfg.layer_norm_eps);
    this.dropout = new Dropout(cfg.hidden_dropout_prob);
  }
  forward(x: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.forward(ops.add(this.dropout.forward(this.dense.forward(x)), residual));
  }
}

/** Self-attention followed by Add & Norm (HF's BertAttention: `self` and `output`). */
export class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertAddNorm;
  constructor(cfg: BertConfig) {
    super();
    this.self = new BertSelfAttention(cfg);
    this.output = new BertAddNorm(cfg, cfg.hidden_size);
  }
  forward(x: Tensor, attentionMask?: Tensor): Tensor { return this.output.forward(this.self.forward(x, attentionMask), x); }
}

/** The feed-forward expansion (its activation is applied by the layer's feed-forward step). */
export class BertIntermediate extends Module {
  dense: Linear;
  constructor(cfg: BertConfig) {
    super();
    this.dense = dense(cfg, cfg.hidden_size, cfg.intermediate_size);
  }
}

/**
 * One layer: attention, then feed-forward with Add & Norm. As a decoder (is_decoder), self-attention is causal and
 * keeps a cache; with add_cross_attention, a second attention block (`crossattention`) attends to the encoder's
 * states between the two, as transformers' BertLayer.
 */
export class BertLayer extends Module {
  attention: BertAttention;
  crossattention: BertAttention | null;
  intermediate: BertIntermediate;
  output: BertAddNorm;
  constructor(private readonly cfg: BertConfig) {
    super();
    this.attention = new BertAttention(cfg);
    this.crossattention = cfg.add_cross_attention ? new BertAttention(cfg) : null;
    this.intermediate = new BertIntermediate(cfg);
    this.output = new BertAddNorm(cfg, cfg.intermediate_size);
  }
  /** x [B, T, H], attentionMask [B, T] (1 = attend). */
  forward(x: Tensor, attentionMask?: Tensor): Tensor {
    return this.addFeedForward(this.attention.forward(x, attentionMask));
  }
  /**
   * As a decoder: x [B, T, H] after the positions in `past` (this layer's self-attention cache), attentionMask
   * [B, T_past + T]; the self-attention cache, and with `cross` the cross-attention's, to pass back next step.
   */
  decode(x: Tensor, attentionMask?: Tensor, cross?: CrossAttentionInputs, past?: KVCache): { x: Tensor; cache: KVCache; crossCache?: KVCache } {
    const own = this.attention.self.attend(x, { causal: true, attentionMask, past });
    let a = this.attention.output.forward(own.context, x);
    let crossCache: KVCache | undefined;
    if (cross) {
      if (!this.crossattention) throw new Error('BertLayer: encoder states were given, but the config has no add_cross_attention');
      const c = this.crossattention.self.attend(a, { source: cross.states, attentionMask: cross.mask, past: cross.past });
      a = this.crossattention.output.forward(c.context, a);
      crossCache = c.cache;
    }
    return { x: this.addFeedForward(a), cache: own.cache, ...(crossCache ? { crossCache } : {}) };
  }
  private addFeedForward(a: Tensor): Tensor {
    // post-LN: LayerNorm(a + dropout(output.dense(act(intermediate.dense(a)))))
    const ffn = feedForward(a, this.intermediate.dense, this.output.dense, this.cfg.hidden_act, this.output.dropout);
    return this.output.LayerNorm.forward(ops.add(ffn, a));
  }
}

/** The stack of encoder layers. */
export class BertEncoder extends Module {
  layer: BertLayer[];
  constructor(cfg: BertConfig) {
    super();
    this.layer = Array.from({ length: cfg.num_hidden_layers }, () => new BertLayer(cfg));
  }
}

/** tanh(dense(hidden state of [CLS])). */
export class BertPooler extends Module {
  dense: Linear;
  constructor(cfg: BertConfig) {
    super();
    this.dense = dense(cfg, cfg.hidden_size, cfg.hidden_size);
  }
  forward(hidden: Tensor): Tensor { return ops.tanh(this.dense.forward(ops.slice(hidden, 1, 0, 1).squeeze(1))); }
}

/** Inputs of the BERT encoder. */
export interface BertInputs {
  /** int32 [B, T]. */
  inputIds: Tensor;
  /** int32 [B, T] segment ids (0 for sentence A, 1 for B); zeros by default. */
  tokenTypeIds?: Tensor;
  /** [B, T]: 1 for real tokens, 0 for padding ([B, T_past + T] with `past`). */
  attentionMask?: Tensor;
}

/** Inputs of BERT as a decoder (is_decoder): the encoder inputs, the encoder's states and the caches of earlier steps. */
export interface BertDecoderInputs extends BertInputs {
  /** [B, S, H]: the encoder's states, attended by cross-attention (add_cross_attention). */
  encoderHiddenStates?: Tensor;
  /** [B, S]: 1 for real source tokens, 0 for padding. */
  encoderAttentionMask?: Tensor;
  /** Per-layer self-attention caches from the previous call. */
  past?: KVCache[];
  /** Per-layer cross-attention caches from the previous call (the encoder's states projected once). */
  crossPast?: KVCache[];
}

/** Outputs of the BERT encoder. */
export interface BertModelOutput {
  /** [B, T, H]: the last layer's states. */
  lastHiddenState: Tensor;
  /** [B, H]: the pooled [CLS] state (absent without a pooler). */
  poolerOutput?: Tensor;
  /** The embeddings' output and every layer's output, [B, T, H] each. */
  hiddenStates: Tensor[];
  /** As a decoder: per-layer caches to pass as `past` on the next call. */
  cache?: KVCache[];
  /** With encoder states: per-layer cross-attention caches, for `crossPast`. */
  crossCache?: KVCache[];
}

/** The BERT encoder with its pooler (Hugging Face's BertModel); token-level heads build it without the pooler. */
export class BertModel extends Module {
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;
  constructor(readonly config: BertConfig, addPoolingLayer = true) {
    super();
    this.embeddings = new BertEmbeddings(config);
    this.encoder = new BertEncoder(config);
    this.pooler = addPoolingLayer ? new BertPooler(config) : null;
  }
  forward(inputs: BertDecoderInputs): BertModelOutput {
    const { inputIds } = inputs;
    const [B, T] = inputIds.shape as [number, number];
    const tokenTypeIds = inputs.tokenTypeIds ?? ops.zeros([B, T], { dtype: 'int32' });
    if (!this.config.is_decoder) {
      if (inputs.encoderHiddenStates || inputs.past) throw new Error('BertModel: encoder states and caches are for a decoder (is_decoder)');
      let x = this.embeddings.forward(inputIds, tokenTypeIds);
      const hiddenStates = [x];
      for (const layer of this.encoder.layer) {
        x = layer.forward(x, inputs.attentionMask);
        hiddenStates.push(x);
      }
      return { lastHiddenState: x, ...(this.pooler ? { poolerOutput: this.pooler.forward(x) } : {}), hiddenStates };
    }
    const pastLength = inputs.past?.[0]?.key.shape[2] ?? 0;
    if (pastLength + T > this.config.max_position_embeddings) {
      throw new Error(`BertModel: ${pastLength + T} decoder positions exceed max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    let x = this.embeddings.forward(inputIds, tokenTypeIds, pastLength);
    const hiddenStates = [x];
    const cache: KVCache[] = [], crossCache: KVCache[] = [];
    this.encoder.layer.forEach((layer, i) => {
      const cross = inputs.encoderHiddenStates ? { states: inputs.encoderHiddenStates, mask: inputs.encoderAttentionMask, past: inputs.crossPast?.[i] } : undefined;
      const out = layer.decode(x, inputs.attentionMask, cross, inputs.past?.[i]);
      x = out.x;
      cache.push(out.cache);
      if (out.crossCache) crossCache.push(out.crossCache);
      hiddenStates.push(x);
    });
    return { lastHiddenState: x, ...(this.pooler ? { poolerOutput: this.pooler.forward(x) } : {}), hiddenStates, cache, ...(crossCache.length ? { crossCache } : {}) };
  }
}

/** The MLM head's transform: dense, activation, LayerNorm. */
export class BertPredictionHeadTransform extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  constructor(private readonly cfg: BertConfig) {
    super();
    this.dense = dense(cfg, cfg.hidden_size, cfg.hidden_size);
    this.LayerNorm = new LayerNorm(cfg.hidden_size, cfg.layer_norm_eps);
  }
  forward(x: Tensor): Tensor { return this.LayerNorm.forward(ACTIVATIONS[this.cfg.hidden_act](this.dense.forward(x))); }
}

/** The MLM head: transform, then a decoder tied to the word embeddings plus its own output bias. */
export class BertLMPredictionHead extends Module {
  transform: BertPredictionHeadTransform;
  bias: Parameter;
  constructor(cfg: BertConfig) {
    super();
    this.transform = new BertPredictionHeadTransform(cfg);
    this.bias = constantParam([cfg.vocab_size], 0);
  }
  forward(x: Tensor, wordEmbeddings: Tensor): Tensor {
    return ops.add(ops.matmul(this.transform.forward(x), ops.transpose(wordEmbeddings)), this.bias);
  }
}

/** The pretraining heads (HF's BertPreTrainingHeads). */
export class BertPreTrainingHeads extends Module {
  predictions: BertLMPredictionHead;
  seq_relationship: Linear;
  constructor(cfg: BertConfig) {
    super();
    this.predictions = new BertLMPredictionHead(cfg);
    this.seq_relationship = dense(cfg, cfg.hidden_size, 2);
  }
}

/** Inputs of a pretraining step. */
export interface BertPreTrainingInputs extends BertInputs {
  /**
   * int32 [B, P]: the masked positions. When given, MLM logits are computed only there (as google-research/bert
   * does), which skips the vocabulary projection for the ~85% of positions that carry no loss.
   */
  maskedPositions?: Tensor;
  /** int32 MLM targets: [B, P] with maskedPositions, else [B, T]; -100 (or weight 0) where there is none. */
  mlmLabels?: Tensor;
  /** int32 [B]: 0 if B follows A, 1 if B is random (HF's convention). */
  nextSentenceLabels?: Tensor;
}

/** Outputs of a pretraining step. */
export interface BertPreTrainingOutput extends BertModelOutput {
  /** [B, T or P, vocab]. */
  predictionLogits: Tensor;
  /** [B, 2]. */
  seqRelationshipLogits: Tensor;
  /** MLM + NSP loss, when labels are given. */
  loss?: Tensor;
  mlmLoss?: Tensor;
  nspLoss?: Tensor;
}

/** BERT with the masked-LM and next-sentence heads (Hugging Face's BertForPreTraining). */
export class BertForPreTraining extends Module {
  bert: BertModel;
  cls: BertPreTrainingHeads;
  constructor(readonly config: BertConfig) {
    super();
    this.bert = new BertModel(config);
    this.cls = new BertPreTrainingHeads(config);
  }

  forward(inputs: BertPreTrainingInputs): BertPreTrainingOutput {
    const base = this.bert.forward(inputs);
    let states = base.lastHiddenState; // (B, T, H)
    if (inputs.maskedPositions) {
      const [B, P] = inputs.maskedPositions.shape as [number, number];
      const H = states.shape[2]!;
      states = ops.gather(states, 1, ops.expand(ops.reshape(inputs.maskedPositions, [B, P, 1]), [B, P, H])); // (B, P, H)
    }
    const predictionLogits = this.cls.predictions.forward(states, this.bert.embeddings.word_embeddings.weight);
    const seqRelationshipLogits = this.cls.seq_relationship.forward(base.poolerOutput!);
    const out: BertPreTrainingOutput = { ...base, predictionLogits, seqRelationshipLogits };
    if (inputs.mlmLabels) {
      out.mlmLoss = ops.crossEntropy(ops.reshape(predictionLogits, [-1, this.config.vocab_size]), ops.reshape(inputs.mlmLabels, [-1]));
      out.loss = out.mlmLoss;
    }
    if (inputs.nextSentenceLabels) {
      out.nspLoss = ops.crossEntropy(seqRelationshipLogits, inputs.nextSentenceLabels);
      out.loss = out.loss ? ops.add(out.loss, out.nspLoss) : out.nspLoss;
    }
    return out;
  }
}

/** The masked-LM head alone (HF's BertOnlyMLMHead). */
export class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;
  constructor(cfg: BertConfig) {
    super();
    this.predictions = new BertLMPredictionHead(cfg);
  }
}

/** Inputs of BERT's task heads. */
export interface BertHeadInputs extends BertInputs {
  /**
   * Sequence heads: [B] (int32 class ids, float32 targets for regression, or float32 [B, labels] of 0/1 for
   * multi-label); token heads and the masked LM: int32 [B, T] with -100 to skip; multiple choice: int32 [B].
   */
  labels?: Tensor;
}

/** BERT with the masked-LM head on every position (Hugging Face's BertForMaskedLM): fill-mask checkpoints. */
export class BertForMaskedLM extends Module {
  bert: BertModel;
  cls: BertOnlyMLMHead;
  constructor(readonly config: BertConfig) {
    super();
    this.bert = new BertModel(config, false);
    this.cls = new BertOnlyMLMHead(config);
  }
  forward(inputs: BertHeadInputs): ClassifierOutput {
    const base = this.bert.forward(inputs);
    const logits = this.cls.predictions.forward(base.lastHiddenState, this.bert.embeddings.word_embeddings.weight); // (B, T, vocab)
    const out: ClassifierOutput = { logits, hiddenStates: base.hiddenStates };
    if (inputs.labels) out.loss = ops.crossEntropy(ops.reshape(logits, [-1, this.config.vocab_size]), ops.reshape(inputs.labels, [-1]));
    return out;
  }
}

/** Outputs of BERT as a decoder with its LM head. */
export interface BertLMHeadOutput {
  /** [B, T, vocab]: scores of the next token at each position. */
  logits: Tensor;
  /** The embeddings' output and every layer's output, [B, T, H] each. */
  hiddenStates: Tensor[];
  /** Per-layer caches to pass as `past` on the next call. */
  cache: KVCache[];
  /** With encoder states: per-layer cross-attention caches, for `crossPast`. */
  crossCache?: KVCache[];
}

/**
 * BERT as a left-to-right decoder (Hugging Face's BertLMHeadModel, config is_decoder): causal self-attention, with
 * add_cross_attention the encoder-decoder's decoder, and the masked-LM head scoring the next token.
 */
export class BertLMHeadModel extends Module {
  bert: BertModel;
  cls: BertOnlyMLMHead;
  constructor(readonly config: BertConfig) {
    super();
    if (!config.is_decoder) throw new Error('BertLMHeadModel: the config must have is_decoder: true (a causal decoder)');
    this.bert = new BertModel(config, false);
    this.cls = new BertOnlyMLMHead(config);
  }
  forward(inputs: BertDecoderInputs): BertLMHeadOutput {
    const base = this.bert.forward(inputs);
    const logits = this.cls.predictions.forward(base.lastHiddenState, this.bert.embeddings.word_embeddings.weight); // (B, T, vocab)
    return { logits, hiddenStates: base.hiddenStates, cache: base.cache!, ...(base.crossCache ? { crossCache: base.crossCache } : {}) };
  }
}

/** The dropout before the classifier of BERT's task heads: classifier_dropout, else hidden_dropout_prob. */
function classifierDropout(cfg: BertConfig): Dropout {
  return new Dropout(cfg.classifier_dropout ?? cfg.hidden_dropout_prob);
}

/**
 * BERT with a linear classifier on the pooled [CLS] state (Hugging Face's BertForSequenceClassification): single
 * sentences, sentence pairs ([CLS] A [SEP] B [SEP] with segment ids), and regression with one label.
 */
export class BertForSequenceClassification extends Module {
  bert: BertModel;
  dropout: Dropout;
  classifier: Linear;
  constructor(readonly config: BertConfig) {
    super();
    this.bert = new BertModel(config);
    this.dropout = classifierDropout(config);
    this.classifier = dense(config, config.hidden_size, numLabels(config));
  }
  forward(inputs: BertHeadInputs): ClassifierOutput {
    const base = this.bert.forward(inputs);
    return sequenceClassifierOutput(base.poolerOutput!, base.hiddenStates, this.dropout, this.classifier, this.config, inputs.labels);
  }
}

/** BERT with a linear classifier on every token's last state (Hugging Face's BertForTokenClassification). */
export class BertForTokenClassification extends Module {
  bert: BertModel;
  dropout: Dropout;
  classifier: Linear;
  constructor(readonly config: BertConfig) {
    super();
    this.bert = new BertModel(config, false);
    this.dropout = classifierDropout(config);
    this.classifier = dense(config, config.hidden_size, numLabels(config));
  }
  forward(inputs: BertHeadInputs): ClassifierOutput {
    const base = this.bert.forward(inputs);
    return tokenClassifierOutput(base.lastHiddenState, base.hiddenStates, this.dropout, this.classifier, inputs.labels);
  }
}

/** BERT scoring each of several choices by its pooled state (Hugging Face's BertForMultipleChoice); inputs are [B, choices, T]. */
export class BertForMultipleChoice extends Module {
  bert: BertModel;
  dropout: Dropout;
  classifier: Linear;
  constructor(readonly config: BertConfig) {
    super();
    this.bert = new BertModel(config);
    this.dropout = classifierDropout(config);
    this.classifier = dense(config, config.hidden_size, 1);
  }
  forward(inputs: BertHeadInputs): ClassifierOutput {
    const [B, C, T] = inputs.inputIds.shape as [number, number, number];
    const flat = (t?: Tensor) => t && ops.reshape(t, [B * C, T]);
    const base = this.bert.forward({ inputIds: flat(inputs.inputIds)!, tokenTypeIds: flat(inputs.tokenTypeIds), attentionMask: flat(inputs.attentionMask) });
    const logits = ops.reshape(this.classifier.forward(this.dropout.forward(base.poolerOutput!)), [B, C]);
    const out: ClassifierOutput = { logits, hiddenStates: base.hiddenStates };
    if (inputs.labels) out.loss = ops.crossEntropy(logits, inputs.labels);
    return out;
  }
}

const architecture = <M extends Module & { readonly config: BertConfig }>(name: string, model: new (config: BertConfig) => M,
  opts: { prefixed?: boolean; optionalBase?: (string | RegExp)[] } = {}): Architecture<BertConfig> =>
  ({ name, model, create: (config) => new model(config), prefixed: opts.prefixed ?? true, optionalBase: opts.optionalBase });

// Token-level checkpoints (masked LM, token classification) are saved without the pooler, so a sequence head
// loaded from one starts its pooler new, as in transformers.
const POOLER = ['bert.pooler.'];

/** BERT in the model registry: config.json's `bert`, its architectures and checkpoint keys. */
export const bertFamily: ModelFamily<BertConfig> = {
  modelType: 'bert',
  basePrefix: 'bert',
  architectures: [
    architecture('BertModel', BertModel, { prefixed: false, optionalBase: ['pooler.'] }),
    architecture('BertForPreTraining', BertForPreTraining, { optionalBase: POOLER }),
    architecture('BertForMaskedLM', BertForMaskedLM),
    architecture('BertForSequenceClassification', BertForSequenceClassification, { optionalBase: POOLER }),
    architecture('BertForTokenClassification', BertForTokenClassification),
    architecture('BertForMultipleChoice', BertForMultipleChoice, { optionalBase: POOLER }),
    // a BERT checkpoint warm-starts a decoder: its cross-attention is new (Rothe et al. 2020, transformers' bert2bert)
    architecture('BertLMHeadModel', BertLMHeadModel, { optionalBase: [/\.crossattention\./] }),
  ],
  configFromJson(raw, where) {
    if (raw.position_embedding_type !== undefined && raw.position_embedding_type !== 'absolute') {
      throw new Error(`${where}: position_embedding_type '${String(raw.position_embedding_type)}' is not implemented (only 'absolute')`);
    }
    return bertConfig(readConfigFields(raw, bertConfig(), where, ['classifier_dropout', 'problem_type']), where);
  },
  configToJson(config) {
    // is_decoder and add_cross_attention are written only when set, so encoders' configs stay as they were
    const { id2label, label2id, problem_type, is_decoder, add_cross_attention, ...rest } = config;
    return {
      ...rest, position_embedding_type: 'absolute', ...(hasDefaultLabels(config) ? {} : { id2label, label2id, problem_type }),
      ...(is_decoder ? { is_decoder } : {}), ...(add_cross_attention ? { add_cross_attention } : {}),
    };
  },
  renameKey(key) {
    // buffers, and the MLM decoder's copies of the tied embeddings and of cls.predictions.bias
    if (key.endsWith('position_ids') || key === 'cls.predictions.decoder.weight' || key === 'cls.predictions.decoder.bias') return null;
    // TF-era checkpoints call LayerNorm's parameters gamma and beta
    return key.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
  },
};
