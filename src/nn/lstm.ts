// A multi-layer, optionally bidirectional LSTM over batch-first sequences of different lengths, with
// PyTorch's parameter names (weight_ih_l0, weight_hh_l0_reverse, ...) and initialisation.
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { fanInUniform } from './init.js';
import { Module, Parameter } from './module.js';

/** Options of an LSTM. */
export interface LSTMConfig {
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  /** Dropout on the outputs of every layer but the last (training only). */
  dropout?: number;
  bias?: boolean;
  /** The projection size P of an LSTMP (PyTorch's `proj_size`): the recurrent state and the output are h projected to P. */
  projSize?: number;
  /** bilm-tf's `cell_clip`: the cell state is clipped to ±cellClip at every step. */
  cellClip?: number;
  /** bilm-tf's `proj_clip`: the projected state is clipped to ±projClip. */
  projClip?: number;
  /**
   * A unidirectional LSTM that reads each sequence from its last real step to its first (a backward language model,
   * as ELMo's, whose layers see only the backward direction's states). Outputs stay in input order.
   */
  reverse?: boolean;
}

/** Inputs that mark the real part of each sequence; positions past a sequence's end are padding. */
export interface SequenceMask {
  /** [B, T], 1 for real steps, 0 for padding; padding only at the end of a sequence. */
  mask?: Tensor;
  /** The real length of each sequence (alternative to `mask`). */
  lengths?: readonly number[];
  /** Initial states [layers·directions, B, H] (h0: [.., B, P] with a projection); zeros by default. */
  h0?: Tensor;
  c0?: Tensor;
}

/** The LSTM's outputs: per-step top-layer states, and the final states of every layer and direction. */
export interface LSTMOutput {
  /** [B, T, H·directions] (P·directions with a projection); zero at padding positions. */
  output: Tensor;
  /** [layers·directions, B, H] (h: [.., B, P] with a projection): the state at each sequence's last real step. */
  h: Tensor;
  c: Tensor;
  /** Each layer's output [B, T, H·directions] (ELMo's per-layer features). */
  layers: Tensor[];
}

/** A multi-layer LSTM over x [B, T, inputSize], batch first. */
export class LSTM extends Module {
  readonly numLayers: number;
  readonly directions: number;
  /** The width of each direction's output and recurrent state: the projection size, else the hidden size. */
  readonly outputSize: number;
  constructor(readonly config: LSTMConfig) {
    super();
    this.numLayers = config.numLayers ?? 1;
    this.directions = config.bidirectional ? 2 : 1;
    if (config.reverse && config.bidirectional) throw new Error('LSTM: reverse is for a unidirectional LSTM (a bidirectional one reads both ways already)');
    const H = config.hiddenSize;
    this.outputSize = config.projSize ?? H;
    const fields = this as unknown as Record<string, Parameter>;
    for (let l = 0; l < this.numLayers; l++) {
      const inSize = l === 0 ? config.inputSize : this.outputSize * this.directions;
      for (const suffix of this.directions === 2 ? ['', '_reverse'] : ['']) {
        // PyTorch draws every LSTM weight and bias from U(-1/sqrt(H), 1/sqrt(H)).
        fields[`weight_ih_l${l}${suffix}`] = fanInUniform([4 * H, inSize], H);
        fields[`weight_hh_l${l}${suffix}`] = fanInUniform([4 * H, this.outputSize], H);
        if (config.bias !== false) {
          fields[`bias_ih_l${l}${suffix}`] = fanInUniform([4 * H], H);
          fields[`bias_hh_l${l}${suffix}`] = fanInUniform([4 * H], H);
        }
        if (config.projSize !== undefined) fields[`weight_hr_l${l}${suffix}`] = fanInUniform([config.projSize, H], H);
      }
    }
  }

  private param(name: string): Parameter | null {
    return ((this as unknown as Record<string, Parameter | undefined>)[name]) ?? null;
  }

  /** Runs every layer over x [B, T, I]. */
  forward(x: Tensor, seq: SequenceMask = {}): LSTMOutput {
    const [B, T] = x.shape as [number, number];
    const H = this.config.hiddenSize;
    const mask = seq.mask ? seq.mask.cast(x.dtype)
      : seq.lengths ? ops.fromArray(Array.from({ length: B * T }, (_, i) => (i % T < seq.lengths![Math.floor(i / T)]! ? 1 : 0)), [B, T], { dtype: x.dtype })
      : null;
    // Reversing each sequence within its own length keeps padding at the end for the backward direction.
    const reverseIndex = this.directions === 2 || this.config.reverse ? reversalIndex(mask, B, T) : null;
    const hs: Tensor[] = [], cs: Tensor[] = [], layers: Tensor[] = [];
    let input = x;
    for (let l = 0; l < this.numLayers; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < this.directions; d++) {
        const suffix = d === 1 ? '_reverse' : '';
        const k = l * this.directions + d;
        const h0 = seq.h0 ? ops.slice(seq.h0, 0, k, k + 1).squeeze(0) : ops.zeros([B, this.outputSize], { dtype: x.dtype });
        const c0 = seq.c0 ? ops.slice(seq.c0, 0, k, k + 1).squeeze(0) : ops.zeros([B, H], { dtype: x.dtype });
        const backward = d === 1 || this.config.reverse === true;
        const src = backward ? reorder(input, reverseIndex!) : input;
        const run = this.runDirection(src, mask, h0, c0, `l${l}${suffix}`);
        outs.push(backward ? reorder(run.output, reverseIndex!) : run.output);
        hs.push(run.h); cs.push(run.c);
      }
      const layerOut = outs.length === 1 ? outs[0]! : ops.concat(outs, -1);
      layers.push(layerOut);
      const p = this.config.dropout ?? 0;
      input = l < this.numLayers - 1 && p > 0 ? ops.dropout(layerOut, p, this.training) : layerOut;
    }
    return { output: layers[layers.length - 1]!, h: ops.stack(hs, 0), c: ops.stack(cs, 0), layers };
  }

  private runDirection(x: Tensor, mask: Tensor | null, h: Tensor, c: Tensor, key: string): { output: Tensor; h: Tensor; c: Tensor } {
    // The input projection of every step in one matrix product; the recurrence (h·W_hh and the cell) is one op
    // whose backward runs backpropagation through time.
    const xw = ops.linear(x, this.param(`weight_ih_${key}`)!, this.param(`bias_ih_${key}`)); // (B, T, 4H)
    const { projSize, cellClip, projClip } = this.config;
    if (projSize !== undefined || cellClip !== undefined || projClip !== undefined) {
      // Without a projection, W_hr is the identity: a clipped LSTM is an LSTMP with P = H.
      const wHr = this.param(`weight_hr_${key}`) ?? identity(this.config.hiddenSize, x);
      return ops.lstmpSequence(xw, this.param(`weight_hh_${key}`)!, this.param(`bias_hh_${key}`), wHr, h, c, mask, { cellClip, projClip });
    }
    return ops.lstmSequence(xw, this.param(`weight_hh_${key}`)!, this.param(`bias_hh_${key}`), h, c, mask);
  }
}

/** int32 [B, T]: position t of sequence b maps to len_b-1-t inside the sequence and to itself in the padding. */
function reversalIndex(mask: Tensor | null, B: number, T: number): Tensor {
  const t = ops.expand(ops.reshape(ops.arange(T), [1, T]), [B, T]);
  if (!mask) return ops.sub(T - 1, t);
  const len = ops.sum(mask, 1, true).cast('int32'); // (B, 1)
  return ops.where(ops.lt(t, len), ops.sub(ops.sub(len, 1), t), t);
}

/** Reorders the time axis of x [B, T, F] by index [B, T]. */
function reorder(x: Tensor, index: Tensor): Tensor {
  const [B, T, F] = x.shape as [number, number, number];
  return ops.gather(x, 1, ops.expand(ops.reshape(index, [B, T, 1]), [B, T, F]));
}

/** The [n, n] identity in the dtype and backend of `like`. */
function identity(n: number, like: Tensor): Tensor {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return ops.fromArray(data, [n, n], { dtype: like.dtype });
}
