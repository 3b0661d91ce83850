// The parts every Transformer here shares: the activation table with Hugging Face's names, multi-head attention
// (self or cross, causal or not, with a key/value cache for incremental decoding) and the position-wise
// feed-forward step. Each model keeps its own projection modules, so that their field names stay the checkpoint
// keys of that model (GPT-2's fused `c_attn`, BERT's `query`/`key`/`value`); what is shared is everything between
// the projections.
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

const tanhGelu = (x: Tensor) => ops.gelu(x, 'tanh');

/**
 * Activations by the names transformers' configs use (its ACT2FN table): `gelu` is the exact (erf) form;
 * `gelu_new`, `gelu_pytorch_tanh` and `gelu_fast` are the same tanh approximation, computed differently there.
 */
export const ACTIVATIONS = {
  gelu: (x: Tensor) => ops.gelu(x),
  gelu_new: tanhGelu,
  gelu_pytorch_tanh: tanhGelu,
  gelu_fast: tanhGelu,
  quick_gelu: (x: Tensor) => ops.mul(x, ops.sigmoid(ops.mul(x, 1.702))),
  relu: (x: Tensor) => ops.relu(x),
  silu: (x: Tensor) => ops.mul(x, ops.sigmoid(x)),
  swish: (x: Tensor) => ops.mul(x, ops.sigmoid(x)),
  tanh: (x: Tensor) => ops.tanh(x),
  sigmoid: (x: Tensor) => ops.sigmoid(x),
  linear: (x: Tensor) => x,
} as const satisfies Record<string, (x: Tensor) => Tensor>;

/** The name of an activation in ACTIVATIONS. */
export type ActivationName = keyof typeof ACTIVATIONS;

/** Whether `name` is an activation we implement. */
export function isActivationName(name: unknown): name is ActivationName {
  return typeof name === 'string' && Object.hasOwn(ACTIVATIONS, name);
}

/** The activation of a name, or an error that lists the names there are. */
export function activation(name: string): (x: Tensor) => Tensor {
  if (!isActivationName(name)) throw new Error(`unknown activation '${name}' (known: ${Object.keys(ACTIVATIONS).join(', ')})`);
  return ACTIVATIONS[name];
}

/** Keys and values of the positions attended so far, each [B, H, T, D], for incremental decoding. */
export interface KVCache {
  key: Tensor;
  value: Tensor;
}

/** What a decoder layer attends to besides itself: an encoder's states, or their keys and values cached. */
export interface CrossAttentionInputs {
  /** [B, S, C]: the encoder's last states. */
  states: Tensor;
  /** [B, S]: 1 for real source tokens, 0 for padding. */
  mask?: Tensor;
  /** This layer's cross-attention keys and values from an earlier step (the states are then not projected again). */
  past?: KVCache;
}

/** How one attention call attends. */
export interface AttendOptions {
  /**
   * Cross-attention: the states attended to ([B, Tk, C], an encoder's output). Without it, x attends to itself.
   * With `past`, the source's keys and values are taken from it and the source is not projected again.
   */
  source?: Tensor;
  /** [B, Tk]: 1 for positions that may be attended, 0 for padding (transformers' `attention_mask`). */
  attentionMask?: Tensor;
  /** Each query sees only keys at its own position or earlier (queries align with the last keys when cached). */
  causal?: boolean;
  /** Self-attention: the keys and values of earlier positions, prepended. Cross-attention: the source's, reused. */
  past?: KVCache;
}

/** [B, T, H·D] to [B, H, T, D]: a view. */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [B, T, C] = x.shape as [number, number, number];
  return ops.transpose(ops.reshape(x, [B, T, heads, C / heads]), 1, 2);
}

/** [B, H, T, D] to [B, T, H·D] (free after the fused attention, which lays its output out [B, T, H, D]). */
export function mergeHeads(x: Tensor): Tensor {
  const [B, H, T, D] = x.shape as [number, number, number, number];
  return ops.reshape(ops.transpose(x, 1, 2), [B, T, H * D]);
}

/** A model's projections for cross-attention: queries from its own states, keys and values from the source's. */
export interface CrossProjections {
  /** The queries of x [B, T, C], as [B, T, C]. */
  query(x: Tensor): Tensor;
  /** The keys and values of the attended states [B, Tk, C], as [B, Tk, C] each. */
  keyValue(source: Tensor): [Tensor, Tensor];
}

/**
 * Multi-head scaled dot-product attention between a model's own projections. A subclass owns the query, key and
 * value projections (with its checkpoint's names) and says how to apply them; `attend` does the rest and returns
 * the heads' merged context, before any output projection, with the keys and values to pass back as `past`.
 */
export abstract class MultiHeadAttention extends Module {
  constructor(readonly numHeads: number, readonly attentionDropout: number) {
    super();
  }

  /** Self-attention's query, key and value projections of x [B, T, C], each [B, T, C]. */
  protected abstract projectSelf(x: Tensor): [Tensor, Tensor, Tensor];
  /** The projections for attending to another sequence; null for a self-attention-only layer. */
  protected cross(): CrossProjections | null {
    return null;
  }

  /** x [B, T, C] attends to itself or to `source`: the context [B, T, C] and the keys and values used. */
  attend(x: Tensor, opts: AttendOptions = {}): { context: Tensor; cache: KVCache } {
    const H = this.numHeads;
    const { source, past } = opts;
    let query: Tensor, cache: KVCache;
    if (source) {
      const cross = this.cross();
      if (!cross) throw new Error(`${this.constructor.name}: this layer has no cross-attention projections`);
      query = splitHeads(cross.query(x), H);
      if (past) cache = past;
      else {
        const [k, v] = cross.keyValue(source);
        cache = { key: splitHeads(k, H), value: splitHeads(v, H) };
      }
    } else {
      const [q, k, v] = this.projectSelf(x);
      query = splitHeads(q, H);
      const key = splitHeads(k, H), value = splitHeads(v, H);
      cache = past ? { key: ops.concat([past.key, key], 2), value: ops.concat([past.value, value], 2) } : { key, value };
    }
    const [B, , Tk] = cache.key.shape as [number, number, number];
    const mask = opts.attentionMask ? ops.reshape(opts.attentionMask, [B, 1, 1, Tk]) : undefined;
    const heads = ops.scaledDotProductAttention(query, cache.key, cache.value, {
      causal: opts.causal ?? false, mask, dropout: this.attentionDropout, training: this.training,
    }); // (B, H, T, D)
    return { context: mergeHeads(heads), cache };
  }
}

/** Something applied position by position, as a Linear layer or GPT-2's Conv1D. */
export interface Projection {
  forward(x: Tensor): Tensor;
}

/**
 * The position-wise feed-forward step, dropout(down(activation(up(x)))), between a model's own projections (GPT-2's
 * `mlp.c_fc`/`mlp.c_proj`, BERT's `intermediate.dense`/`output.dense`). Residuals and norms stay with the model,
 * which places them before (pre-LN) or after (post-LN).
 */
export function feedForward(x: Tensor, up: Projection, down: Projection, act: ActivationName, dropout: Projection): Tensor {
  return dropout.forward(down.forward(ACTIVATIONS[act](up.forward(x))));
}
