// PyTorch's nn.MultiheadAttention and nn.TransformerEncoderLayer, with their state_dict names, assembled from the
// shared Transformer parts of src/nn, so that the PyTorch fixtures check those parts: attention with a packed
// in-projection, the feed-forward step, pre- and post-LN residuals.
import * as T from '../../src/tensor/index.js';
import { Dropout, LayerNorm, Linear, Module, MultiHeadAttention, Parameter, constantParam, feedForward, xavierUniform, type ActivationName } from '../../src/nn/index.js';

/** torch.nn.MultiheadAttention (batch_first), self-attention only: in_proj_weight [3E, E], out_proj. */
export class TorchMultiheadAttention extends MultiHeadAttention {
  in_proj_weight: Parameter;
  in_proj_bias: Parameter;
  out_proj: Linear;
  constructor(readonly embedDim: number, numHeads: number, dropout = 0) {
    super(numHeads, dropout);
    this.in_proj_weight = xavierUniform([3 * embedDim, embedDim]);
    this.in_proj_bias = constantParam([3 * embedDim], 0);
    this.out_proj = new Linear(embedDim, embedDim);
  }
  protected projectSelf(x: T.Tensor): [T.Tensor, T.Tensor, T.Tensor] {
    return T.split(T.linear(x, this.in_proj_weight, this.in_proj_bias), this.embedDim, -1) as [T.Tensor, T.Tensor, T.Tensor];
  }
  forward(x: T.Tensor, attentionMask?: T.Tensor, causal = false): T.Tensor {
    return this.out_proj.forward(this.attend(x, { attentionMask, causal }).context);
  }
}

/** torch.nn.TransformerEncoderLayer (batch_first), post-LN or pre-LN (norm_first). */
export class TorchEncoderLayer extends Module {
  self_attn: TorchMultiheadAttention;
  linear1: Linear;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout = new Dropout(0);
  constructor(dim: number, heads: number, ffnDim: number, readonly activation: ActivationName, readonly normFirst: boolean, eps: number) {
    super();
    this.self_attn = new TorchMultiheadAttention(dim, heads);
    this.linear1 = new Linear(dim, ffnDim);
    this.linear2 = new Linear(ffnDim, dim);
    this.norm1 = new LayerNorm(dim, eps);
    this.norm2 = new LayerNorm(dim, eps);
  }
  private ffn(x: T.Tensor): T.Tensor { return feedForward(x, this.linear1, this.linear2, this.activation, this.dropout); }
  forward(x: T.Tensor, attentionMask?: T.Tensor, causal = false): T.Tensor {
    if (this.normFirst) {
      x = T.add(x, this.self_attn.forward(this.norm1.forward(x), attentionMask, causal));
      return T.add(x, this.ffn(this.norm2.forward(x)));
    }
    x = this.norm1.forward(T.add(x, this.self_attn.forward(x, attentionMask, causal)));
    return this.norm2.forward(T.add(x, this.ffn(x)));
  }
}
