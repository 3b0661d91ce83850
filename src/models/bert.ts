// BERT, the whole model in one file: a post-LN Transformer encoder with token, segment and position embeddings,
// a pooler, and the pretraining heads (masked LM with a tied decoder, next-sentence prediction).
//
// References: Devlin et al. 2019 "BERT: Pre-training of Deep Bidirectional Transformers for Language
// Understanding"; Hugging Face modeling_bert.py. Field names are Hugging Face BertForPreTraining checkpoint keys
// (bert.encoder.layer.0.attention.self.query.weight, cls.predictions.transform.dense.weight, ...).
import { ACTIVATIONS, Dropout, Embedding, LayerNorm, Linear, Module, MultiHeadAttention, Parameter, constantParam, feedForward, normalParam,
  type ActivationName, type CrossProjections } from '../nn/index.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

/** BERT configuration, with Hugging Face's `config.json` field names and BERT-base's defaults. */
export interface BertConfig {
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
}

/** BERT-base's configuration; override fields for smaller models. */
export function bertConfig(overrides: Partial<BertConfig> = {}): BertConfig {
  return {
    vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
    hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 512,
    type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: 0, ...overrides,
  };
}

/** A Linear layer with BERT's initialisation: N(0, initializer_range) weights, zero bias. */
function dense(cfg: BertConfig, inF: number, outF: number): Linear {
  const layer = new Linear(inF, outF);
  layer.weight = normalParam([outF, inF], cfg.initializer_range);
  layer.bias = constantParam([outF], 0);
  return layer;
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
  forward(inputIds: Tensor, tokenTypeIds: Tensor): Tensor {
    const T = inputIds.shape[1]!;
    const x = ops.add(ops.add(this.word_embeddings.forward(inputIds), this.position_embeddings.forward(ops.arange(T))),
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

/** One encoder layer: attention, then feed-forward with Add & Norm. */
export class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertAddNorm;
  constructor(private readonly cfg: BertConfig) {
    super();
    this.attention = new BertAttention(cfg);
    this.intermediate = new BertIntermediate(cfg);
    this.output = new BertAddNorm(cfg, cfg.intermediate_size);
  }
  /** x [B, T, H], attentionMask [B, T] (1 = attend). */
  forward(x: Tensor, attentionMask?: Tensor): Tensor {
    const a = this.attention.forward(x, attentionMask);
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
  /** [B, T]: 1 for real tokens, 0 for padding. */
  attentionMask?: Tensor;
}

/** Outputs of the BERT encoder. */
export interface BertModelOutput {
  /** [B, T, H]: the last layer's states. */
  lastHiddenState: Tensor;
  /** [B, H]: the pooled [CLS] state. */
  poolerOutput: Tensor;
  /** The embeddings' output and every layer's output, [B, T, H] each. */
  hiddenStates: Tensor[];
}

/** The BERT encoder with its pooler (Hugging Face's BertModel). */
export class BertModel extends Module {
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler;
  constructor(readonly config: BertConfig) {
    super();
    this.embeddings = new BertEmbeddings(config);
    this.encoder = new BertEncoder(config);
    this.pooler = new BertPooler(config);
  }
  forward(inputs: BertInputs): BertModelOutput {
    const { inputIds } = inputs;
    const [B, T] = inputIds.shape as [number, number];
    const tokenTypeIds = inputs.tokenTypeIds ?? ops.zeros([B, T], { dtype: 'int32' });
    let x = this.embeddings.forward(inputIds, tokenTypeIds);
    const hiddenStates = [x];
    for (const layer of this.encoder.layer) {
      x = layer.forward(x, inputs.attentionMask);
      hiddenStates.push(x);
    }
    return { lastHiddenState: x, poolerOutput: this.pooler.forward(x), hiddenStates };
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
    const seqRelationshipLogits = this.cls.seq_relationship.forward(base.poolerOutput);
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
