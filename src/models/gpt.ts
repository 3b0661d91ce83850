// GPT (GPT-2 architecture), the whole model in one file: pre-LN Transformer blocks, learned positions,
// tied input/output embeddings, tanh GELU; with add_cross_attention, the decoder of an encoder-decoder (each block
// attends to the encoder's states after its self-attention, as transformers' GPT2Block).
//
// References: Radford et al. 2018 "Improving Language Understanding by Generative Pre-Training";
// Radford et al. 2019 "Language Models are Unsupervised Multitask Learners"; Hugging Face modeling_gpt2.py.
// Field names are Hugging Face GPT2LMHeadModel checkpoint keys (transformer.h.0.attn.c_attn.weight, ...), and
// GPT-2's Conv1D layers keep their [in, out] weight layout, so a checkpoint loads by name with no transposes.
import { Dropout, Embedding, LayerNorm, Linear, Module, MultiHeadAttention, Parameter, constantParam, feedForward, isActivationName, normalParam,
  type ActivationName, type CrossAttentionInputs, type CrossProjections, type KVCache } from '../nn/index.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  DEFAULT_LABELS, checkLabels, hasDefaultLabels, headLinear, numLabels, sequenceClassifierOutput, tokenClassifierOutput, type ClassifierOutput, type LabelConfig,
} from './heads.js';
import { checkSizes, readConfigFields, type Architecture, type ModelFamily } from './family.js';

/** GPT-2 configuration, with Hugging Face's `config.json` field names and GPT-2 small's defaults. */
export interface GPTConfig extends LabelConfig {
  vocab_size: number;
  /** Context length. */
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** Feed-forward size; null means 4 * n_embd. */
  n_inner: number | null;
  /** A transformers activation name: 'gelu_new' (tanh approximation, GPT-2's), 'gelu' (erf), 'relu', ... */
  activation_function: ActivationName;
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  layer_norm_epsilon: number;
  initializer_range: number;
  bos_token_id: number;
  eos_token_id: number;
  tie_word_embeddings: boolean;
  /** The padding token, which sequence classification skips to find each sequence's last token (GPT-2 has none). */
  pad_token_id: number | null;
  /** Dropout before a token-classification head; null: 0.1, as transformers. */
  classifier_dropout: number | null;
  /** A cross-attention block in every block (`crossattention`, `ln_cross_attn`), attending to an encoder's states. */
  add_cross_attention: boolean;
  /**
   * Biases in the linear layers and LayerNorms. Not a transformers field: GPT-2 always has them (true, the default).
   * nanoGPT's `bias=False` (its Shakespeare configs) drops them; such a model saves and reloads here, but
   * transformers' GPT2LMHeadModel would fill the missing biases with zeros.
   */
  bias: boolean;
}

/**
 * GPT-2 small's configuration with `overrides`, checked: sizes are positive integers, the heads divide n_embd, the
 * activation is one we have. `where` names the source in errors (config.json's path).
 */
export function gptConfig(overrides: Partial<GPTConfig> = {}, where = 'GPTConfig'): GPTConfig {
  const cfg: GPTConfig = {
    vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, n_inner: null,
    activation_function: 'gelu_new', resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1,
    layer_norm_epsilon: 1e-5, initializer_range: 0.02, bos_token_id: 50256, eos_token_id: 50256,
    tie_word_embeddings: true, pad_token_id: null, classifier_dropout: null, add_cross_attention: false, bias: true, ...DEFAULT_LABELS, ...overrides,
  };
  checkSizes(where, cfg, ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head']);
  if (cfg.n_inner !== null) checkSizes(where, cfg, ['n_inner']);
  if (cfg.n_embd % cfg.n_head !== 0) throw new Error(`${where}: n_embd ${cfg.n_embd} is not divisible by n_head ${cfg.n_head}`);
  if (!isActivationName(cfg.activation_function)) throw new Error(`${where}: activation_function '${String(cfg.activation_function)}' is not implemented`);
  checkLabels(cfg, where);
  if (!cfg.tie_word_embeddings) throw new Error(`${where}: tie_word_embeddings false is not implemented (GPT-2's LM head is the token embeddings)`);
  return cfg;
}


/** GPT-2's "Conv1D": a linear layer whose weight is stored [in, out] (y = x W + b). */
export class Conv1D extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(inFeatures: number, outFeatures: number, std: number, bias = true) {
    super();
    this.weight = normalParam([inFeatures, outFeatures], std);
    this.bias = bias ? constantParam([outFeatures], 0) : null;
  }
  forward(x: Tensor): Tensor {
    // linear takes the weight as [out, in]: the transposed view, so the bias can ride in the GEMM's epilogue
    return ops.linear(x, ops.transpose(this.weight), this.bias);
  }
}

/** Causal multi-head self-attention with a fused qkv projection. */
export class GPT2Attention extends MultiHeadAttention {
  c_attn: Conv1D;
  c_proj: Conv1D;
  resid_dropout: Dropout;
  constructor(cfg: GPTConfig) {
    super(cfg.n_head, cfg.attn_pdrop);
    const std = cfg.initializer_range;
    this.c_attn = new Conv1D(cfg.n_embd, 3 * cfg.n_embd, std, cfg.bias);
    // GPT-2 scales residual projections by 1/sqrt(2 * n_layer) at init.
    this.c_proj = new Conv1D(cfg.n_embd, cfg.n_embd, std / Math.sqrt(2 * cfg.n_layer), cfg.bias);
    this.resid_dropout = new Dropout(cfg.resid_pdrop);
  }

  protected projectSelf(x: Tensor): [Tensor, Tensor, Tensor] {
    return ops.split(this.c_attn.forward(x), x.shape[2]!, -1) as [Tensor, Tensor, Tensor];
  }

  /** x [B, T, C], attentionMask [B, T_past + T], past: this layer's cache from the previous call. */
  forward(x: Tensor, attentionMask?: Tensor, past?: KVCache): { y: Tensor; cache: KVCache } {
    const { context, cache } = this.attend(x, { causal: true, attentionMask, past });
    return { y: this.resid_dropout.forward(this.c_proj.forward(context)), cache };
  }
}

/**
 * Multi-head attention from a block's states to an encoder's (transformers' GPT2Attention with is_cross_attention):
 * queries from `q_attn`, keys and values from the fused `c_attn` over the source, no causal mask.
 */
export class GPT2CrossAttention extends MultiHeadAttention {
  q_attn: Conv1D;
  c_attn: Conv1D;
  c_proj: Conv1D;
  resid_dropout: Dropout;
  constructor(cfg: GPTConfig) {
    super(cfg.n_head, cfg.attn_pdrop);
    const std = cfg.initializer_range;
    this.c_attn = new Conv1D(cfg.n_embd, 2 * cfg.n_embd, std, cfg.bias);
    this.q_attn = new Conv1D(cfg.n_embd, cfg.n_embd, std, cfg.bias);
    this.c_proj = new Conv1D(cfg.n_embd, cfg.n_embd, std / Math.sqrt(2 * cfg.n_layer), cfg.bias);
    this.resid_dropout = new Dropout(cfg.resid_pdrop);
  }
  protected projectSelf(): [Tensor, Tensor, Tensor] {
    throw new Error('GPT2CrossAttention attends to encoder states only');
  }
  protected override cross(): CrossProjections {
    return { query: (x) => this.q_attn.forward(x), keyValue: (source) => ops.split(this.c_attn.forward(source), source.shape[2]!, -1) as [Tensor, Tensor] };
  }
  /** x [B, T, C] attends to `cross.states` [B, S, C] (or their cached keys and values). */
  forward(x: Tensor, cross: CrossAttentionInputs): { y: Tensor; cache: KVCache } {
    const { context, cache } = this.attend(x, { source: cross.states, attentionMask: cross.mask, past: cross.past });
    return { y: this.resid_dropout.forward(this.c_proj.forward(context)), cache };
  }
}

/** The position-wise feed-forward block. */
export class GPT2MLP extends Module {
  c_fc: Conv1D;
  c_proj: Conv1D;
  dropout: Dropout;
  constructor(private readonly cfg: GPTConfig) {
    super();
    const inner = cfg.n_inner ?? 4 * cfg.n_embd;
    this.c_fc = new Conv1D(cfg.n_embd, inner, cfg.initializer_range, cfg.bias);
    this.c_proj = new Conv1D(inner, cfg.n_embd, cfg.initializer_range / Math.sqrt(2 * cfg.n_layer), cfg.bias);
    this.dropout = new Dropout(cfg.resid_pdrop);
  }
  forward(x: Tensor): Tensor { return feedForward(x, this.c_fc, this.c_proj, this.cfg.activation_function, this.dropout); }
}

/**
 * A pre-LN block: x + attn(ln_1(x)), then x + mlp(ln_2(x)); with add_cross_attention,
 * x + crossattention(ln_cross_attn(x), encoder states) between the two.
 */
export class GPT2Block extends Module {
  ln_1: LayerNorm;
  attn: GPT2Attention;
  ln_cross_attn: LayerNorm | null;
  crossattention: GPT2CrossAttention | null;
  ln_2: LayerNorm;
  mlp: GPT2MLP;
  constructor(cfg: GPTConfig) {
    super();
    this.ln_1 = new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon, cfg.bias);
    this.attn = new GPT2Attention(cfg);
    this.ln_cross_attn = cfg.add_cross_attention ? new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon, cfg.bias) : null;
    this.crossattention = cfg.add_cross_attention ? new GPT2CrossAttention(cfg) : null;
    this.ln_2 = new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon, cfg.bias);
    this.mlp = new GPT2MLP(cfg);
  }
  forward(x: Tensor, attentionMask?: Tensor, past?: KVCache, cross?: CrossAttentionInputs): { x: Tensor; cache: KVCache; crossCache?: KVCache } {
    const { y, cache } = this.attn.forward(this.ln_1.forward(x), attentionMask, past);
    x = ops.add(x, y);
    let crossCache: KVCache | undefined;
    if (cross) {
      if (!this.crossattention || !this.ln_cross_attn) throw new Error('GPT2Block: encoder states were given, but the config has no add_cross_attention');
      const c = this.crossattention.forward(this.ln_cross_attn.forward(x), cross);
      x = ops.add(x, c.y);
      crossCache = c.cache;
    }
    return { x: ops.add(x, this.mlp.forward(this.ln_2.forward(x))), cache, ...(crossCache ? { crossCache } : {}) };
  }
}

/** Inputs of the GPT-2 trunk. */
export interface GPT2Inputs {
  /** int32 [B, T]. */
  inputIds: Tensor;
  /** [B, T_past + T]: 1 for real tokens, 0 for padding. */
  attentionMask?: Tensor;
  /** Per-layer caches from a previous call, for incremental decoding. */
  past?: KVCache[];
  /**
   * int32 [B, T]: each token's position (transformers' position_ids); default T_past, T_past + 1, ... Left-padded
   * batches give each row's own, so that its first real token is at position 0.
   */
  positionIds?: Tensor;
  /** [B, S, C]: an encoder's states, attended by each block's cross-attention (add_cross_attention). */
  encoderHiddenStates?: Tensor;
  /** [B, S]: 1 for real source tokens, 0 for padding. */
  encoderAttentionMask?: Tensor;
  /** Per-layer cross-attention caches from a previous call (the encoder's states projected once). */
  crossPast?: KVCache[];
}

/** Outputs of the GPT-2 trunk. */
export interface GPT2ModelOutput {
  /** [B, T, C]: the last block's output after ln_f. */
  lastHiddenState: Tensor;
  /** The embeddings' output and every block's output ([B, T, C] each; the last after ln_f, as transformers gives them). */
  hiddenStates: Tensor[];
  /** Per-layer caches to pass as `past` on the next call. */
  cache: KVCache[];
  /** With encoder states: per-layer cross-attention caches, for `crossPast`. */
  crossCache?: KVCache[];
}

/** The Transformer trunk: embeddings, blocks, final LayerNorm (Hugging Face's GPT2Model). */
export class GPT2Model extends Module {
  wte: Embedding;
  wpe: Embedding;
  drop: Dropout;
  h: GPT2Block[];
  ln_f: LayerNorm;
  constructor(readonly config: GPTConfig) {
    super();
    this.wte = new Embedding(config.vocab_size, config.n_embd);
    this.wte.weight = normalParam([config.vocab_size, config.n_embd], config.initializer_range);
    this.wpe = new Embedding(config.n_positions, config.n_embd);
    this.wpe.weight = normalParam([config.n_positions, config.n_embd], config.initializer_range);
    this.drop = new Dropout(config.embd_pdrop);
    this.h = Array.from({ length: config.n_layer }, () => new GPT2Block(config));
    this.ln_f = new LayerNorm(config.n_embd, config.layer_norm_epsilon, config.bias);
  }

  forward(inputs: GPT2Inputs): GPT2ModelOutput {
    const { inputIds, attentionMask, past } = inputs;
    const [, T] = inputIds.shape as [number, number];
    const pastLen = past?.[0]?.key.shape[2] ?? 0;
    if (pastLen + T > this.config.n_positions) {
      throw new Error(`GPT: sequence of ${pastLen + T} tokens exceeds the context of ${this.config.n_positions}`);
    }
    const positions = inputs.positionIds ?? ops.arange(pastLen, pastLen + T);
    let x = this.drop.forward(ops.add(this.wte.forward(inputIds), this.wpe.forward(positions))); // (B, T, C)
    const hiddenStates: Tensor[] = [x];
    const cache: KVCache[] = [], crossCache: KVCache[] = [];
    this.h.forEach((block, i) => {
      const cross = inputs.encoderHiddenStates ? { states: inputs.encoderHiddenStates, mask: inputs.encoderAttentionMask, past: inputs.crossPast?.[i] } : undefined;
      const out = block.forward(x, attentionMask, past?.[i], cross);
      x = out.x;
      cache.push(out.cache);
      if (out.crossCache) crossCache.push(out.crossCache);
      hiddenStates.push(x);
    });
    x = this.ln_f.forward(x);
    hiddenStates[hiddenStates.length - 1] = x;
    return { lastHiddenState: x, hiddenStates, cache, ...(crossCache.length ? { crossCache } : {}) };
  }
}

/** Inputs of a GPT forward pass. */
export interface GPTInputs extends GPT2Inputs {
  /**
   * int32 [B, T] next-token targets, already shifted (targets[t] is the token after inputIds[t]; -100 to skip), as
   * nanoGPT takes them; when given, the output carries the mean loss.
   */
  targets?: Tensor;
  /** Also return every layer's hidden states (features for downstream use). */
  outputHiddenStates?: boolean;
}

/** Outputs of a GPT forward pass. */
export interface GPTOutput {
  /** [B, T, vocab]. */
  logits: Tensor;
  loss?: Tensor;
  /** The embeddings' output and every block's output ([B, T, C] each; the last after ln_f), when asked. */
  hiddenStates?: Tensor[];
  /** Per-layer caches to pass as `past` on the next call. */
  cache: KVCache[];
  /** With encoder states: per-layer cross-attention caches, for `crossPast`. */
  crossCache?: KVCache[];
}

/** GPT with a language-modelling head tied to the token embeddings (Hugging Face's GPT2LMHeadModel). */
export class GPT extends Module {
  transformer: GPT2Model;
  constructor(readonly config: GPTConfig) {
    super();
    this.transformer = new GPT2Model(config);
  }

  forward(inputs: GPTInputs): GPTOutput {
    const base = this.transformer.forward(inputs);
    const logits = ops.matmul(base.lastHiddenState, ops.transpose(this.transformer.wte.weight)); // tied head: (B, T, vocab)
    const out: GPTOutput = { logits, cache: base.cache, ...(base.crossCache ? { crossCache: base.crossCache } : {}) };
    if (inputs.outputHiddenStates) out.hiddenStates = base.hiddenStates;
    if (inputs.targets) out.loss = ops.crossEntropy(ops.reshape(logits, [-1, this.config.vocab_size]), ops.reshape(inputs.targets, [-1]));
    return out;
  }
}

/** Inputs of GPT-2's task heads. */
export interface GPT2HeadInputs extends GPT2Inputs {
  /** Sequence heads: [B] (int32 class ids, or float32 targets for regression); token heads: int32 [B, T] with -100 to skip. */
  labels?: Tensor;
}

/**
 * The index of each sequence's last token that is not padding (transformers' GPT2ForSequenceClassification reads
 * its score there); with no pad_token_id, the last position, which needs a batch of one.
 */
function lastTokenIndex(inputIds: Tensor, padTokenId: number | null): Tensor {
  const [B, T] = inputIds.shape as [number, number];
  if (padTokenId === null) {
    if (B > 1) throw new Error('GPT2ForSequenceClassification: a batch of more than one sequence needs pad_token_id in the config');
    return ops.fromArray([T - 1], [1], { dtype: 'int32' });
  }
  return noGrad(() => {
    const positions = ops.expand(ops.reshape(ops.arange(T), [1, T]), [B, T]);
    return ops.argmax(ops.mul(positions, ops.ne(inputIds, padTokenId)), -1);
  });
}

/** GPT-2 with a linear score on the last non-padding token (Hugging Face's GPT2ForSequenceClassification). */
export class GPT2ForSequenceClassification extends Module {
  transformer: GPT2Model;
  score: Linear;
  constructor(readonly config: GPTConfig) {
    super();
    this.transformer = new GPT2Model(config);
    this.score = headLinear(config.n_embd, numLabels(config), config.initializer_range, false);
  }
  forward(inputs: GPT2HeadInputs): ClassifierOutput {
    const base = this.transformer.forward(inputs);
    const [B, , C] = base.lastHiddenState.shape as [number, number, number];
    const index = ops.expand(ops.reshape(lastTokenIndex(inputs.inputIds, this.config.pad_token_id), [B, 1, 1]), [B, 1, C]);
    const pooled = ops.reshape(ops.gather(base.lastHiddenState, 1, index), [B, C]);
    return sequenceClassifierOutput(pooled, base.hiddenStates, null, this.score, this.config, inputs.labels);
  }
}

/** GPT-2 with a linear classifier on every token (Hugging Face's GPT2ForTokenClassification). */
export class GPT2ForTokenClassification extends Module {
  transformer: GPT2Model;
  dropout: Dropout;
  classifier: Linear;
  constructor(readonly config: GPTConfig) {
    super();
    this.transformer = new GPT2Model(config);
    // transformers: classifier_dropout, else 0.1 (GPT-2 configs have no hidden_dropout)
    this.dropout = new Dropout(config.classifier_dropout ?? 0.1);
    this.classifier = headLinear(config.n_embd, numLabels(config), config.initializer_range);
  }
  forward(inputs: GPT2HeadInputs): ClassifierOutput {
    const base = this.transformer.forward(inputs);
    return tokenClassifierOutput(base.lastHiddenState, base.hiddenStates, this.dropout, this.classifier, inputs.labels);
  }
}

const architecture = <M extends Module & { readonly config: GPTConfig }>(name: string, model: new (config: GPTConfig) => M, prefixed = true): Architecture<GPTConfig> =>
  ({ name, model, create: (config) => new model(config), prefixed });

/** GPT-2 in the model registry: config.json's `gpt2`, its architectures and checkpoint keys. */
export const gpt2Family: ModelFamily<GPTConfig> = {
  modelType: 'gpt2',
  basePrefix: 'transformer',
  architectures: [
    architecture('GPT2Model', GPT2Model, false),
    // with add_cross_attention, a GPT-2 checkpoint warm-starts a decoder whose cross-attention is new (bert2gpt2)
    { ...architecture('GPT2LMHeadModel', GPT), optionalBase: [/\.(crossattention|ln_cross_attn)\./] },
    architecture('GPT2ForSequenceClassification', GPT2ForSequenceClassification),
    architecture('GPT2ForTokenClassification', GPT2ForTokenClassification),
  ],
  configFromJson(raw, where) {
    const defaults = gptConfig();
    return gptConfig(readConfigFields(raw, defaults, where, ['n_inner', 'pad_token_id', 'classifier_dropout', 'problem_type', 'bos_token_id', 'eos_token_id']), where);
  },
  configToJson(config) {
    // `bias` is ours (nanoGPT's bias=False), written only when it departs from GPT-2, so GPT-2 configs stay as transformers writes them.
    const { bias, id2label, label2id, problem_type, classifier_dropout, add_cross_attention, ...rest } = config;
    return {
      ...rest, ...(bias ? {} : { bias }), ...(add_cross_attention ? { add_cross_attention } : {}),
      ...(hasDefaultLabels(config) ? {} : { id2label, label2id, problem_type }),
      ...(classifier_dropout === null ? {} : { classifier_dropout }),
    };
  },
  renameKey(key) {
    // the causal-mask buffers of transformers' GPT2Attention, and the LM head's copy of the tied embeddings
    if (/(^|\.)attn\.(masked_)?bias$/.test(key) || key === 'lm_head.weight') return null;
    return key.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
  },
};
