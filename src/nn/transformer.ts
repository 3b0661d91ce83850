// Multi-head attention and the Transformer encoder layer, in post-LN (BERT) and pre-LN (GPT-2) forms, with
// PyTorch's nn.MultiheadAttention / nn.TransformerEncoderLayer parameter names so their weights load by name.
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { constantParam, xavierUniform } from './init.js';
import { Dropout, LayerNorm, Linear, activate, type Activation } from './layers.js';
import { Module, type Parameter } from './module.js';

/** Masks for attention over x [B, T, E]. */
export interface AttentionMasks {
  /** [B, T]: 1 for real tokens, 0 for padding (Hugging Face's `attention_mask` convention). */
  attentionMask?: Tensor;
  /** Each position attends only to itself and earlier positions. */
  causal?: boolean;
}

/** Multi-head scaled dot-product attention with a packed input projection [3E, E] and an output projection. */
export class MultiHeadAttention extends Module {
  in_proj_weight: Parameter;
  in_proj_bias: Parameter;
  out_proj: Linear;
  constructor(readonly embedDim: number, readonly numHeads: number, readonly dropout = 0) {
    super();
    if (embedDim % numHeads !== 0) throw new Error(`MultiHeadAttention: embedDim ${embedDim} is not divisible by numHeads ${numHeads}`);
    this.in_proj_weight = xavierUniform([3 * embedDim, embedDim]);
    this.in_proj_bias = constantParam([3 * embedDim], 0);
    this.out_proj = new Linear(embedDim, embedDim);
    this.out_proj.bias = constantParam([embedDim], 0);
  }

  /** Self-attention over x [B, T, E]. */
  forward(x: Tensor, masks: AttentionMasks = {}): Tensor {
    const [B, T, E] = x.shape as [number, number, number];
    const H = this.numHeads, D = E / H;
    const qkv = ops.linear(x, this.in_proj_weight, this.in_proj_bias); // (B, T, 3E)
    const heads = (t: Tensor) => ops.transpose(ops.reshape(t, [B, T, H, D]), 1, 2); // (B, H, T, D)
    const [q, k, v] = ops.split(qkv, E, -1).map(heads) as [Tensor, Tensor, Tensor];
    const mask = masks.attentionMask ? ops.reshape(masks.attentionMask, [B, 1, 1, T]) : undefined;
    const y = ops.scaledDotProductAttention(q, k, v, { mask, causal: masks.causal, dropout: this.dropout, training: this.training });
    return this.out_proj.forward(ops.reshape(ops.transpose(y, 1, 2), [B, T, E]));
  }
}

/** Configuration of a Transformer layer. */
export interface TransformerLayerConfig {
  dim: number;
  heads: number;
  /** Inner size of the feed-forward block (usually 4·dim). */
  ffnDim: number;
  dropout?: number;
  activation?: Activation;
  /** Pre-LN (GPT-2) when true; post-LN (BERT, the original Transformer) when false. */
  normFirst?: boolean;
  layerNormEps?: number;
}

/** One Transformer encoder layer: self-attention and a feed-forward block, each with a residual and LayerNorm. */
export class TransformerLayer extends Module {
  self_attn: MultiHeadAttention;
  linear1: Linear;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout: Dropout;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly normFirst: boolean;
  readonly activation: Activation;
  constructor(cfg: TransformerLayerConfig) {
    super();
    const p = cfg.dropout ?? 0.1;
    this.self_attn = new MultiHeadAttention(cfg.dim, cfg.heads, p);
    this.linear1 = new Linear(cfg.dim, cfg.ffnDim);
    this.linear2 = new Linear(cfg.ffnDim, cfg.dim);
    this.norm1 = new LayerNorm(cfg.dim, cfg.layerNormEps ?? 1e-5);
    this.norm2 = new LayerNorm(cfg.dim, cfg.layerNormEps ?? 1e-5);
    this.dropout = new Dropout(p);
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.normFirst = cfg.normFirst ?? false;
    this.activation = cfg.activation ?? 'relu';
  }

  private feedForward(x: Tensor): Tensor {
    return this.linear2.forward(this.dropout.forward(activate(this.linear1.forward(x), this.activation)));
  }

  /** x [B, T, E] to [B, T, E]. */
  forward(x: Tensor, masks: AttentionMasks = {}): Tensor {
    if (this.normFirst) {
      x = ops.add(x, this.dropout1.forward(this.self_attn.forward(this.norm1.forward(x), masks)));
      return ops.add(x, this.dropout2.forward(this.feedForward(this.norm2.forward(x))));
    }
    x = this.norm1.forward(ops.add(x, this.dropout1.forward(this.self_attn.forward(x, masks))));
    return this.norm2.forward(ops.add(x, this.dropout2.forward(this.feedForward(x))));
  }
}
