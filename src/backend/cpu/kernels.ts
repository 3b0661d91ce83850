// What the fast CPU backend asks of a kernel set, and the operand types they share: the WebAssembly kernels
// (wasm-kernels.ts) and the native ones (native.ts) both implement CpuKernels.
import type { AdamWStep } from '../backend.js';

/** The elementwise functions of vecmath.wasm, by op code. */
export const VEC_OPS = { exp: 0, tanh: 1, sigmoid: 2, gelu_tanh: 3, gelu_tanh_grad: 4, gelu: 5, gelu_grad: 6, relu: 7 } as const;

/** A strided 3-D operand: element [b, i, j] at data[offset + b*s0 + i*s1 + j*s2]. */
export interface Operand3 {
  data: Float32Array;
  shape: readonly [number, number, number];
  strides: readonly [number, number, number];
  offset: number;
}

/** A strided 4-D operand: element [i0, i1, i2, i3] at data[offset + Σ ik·strides[k]]. */
export interface Operand4 {
  data: Float32Array;
  strides: readonly [number, number, number, number];
  offset: number;
}

/**
 * What the fused LSTM recurrence saves for its backward pass: the gate activations [B, T, 4H], the new cell values
 * and the states entering each step [B, T, H].
 */
export interface LstmSaved { B: number; T: number; H: number; acts: Float32Array; cNew: Float32Array; hPrev: Float32Array; cPrev: Float32Array }

/**
 * What the fused LSTMP recurrence saves for its backward pass: the gate activations [B, T, 4H], the unclipped cells,
 * h = o·tanh(c) and the incoming cells [B, T, H], the incoming projected states [B, T, P], and with a projection clip
 * the unclipped projections [B, T, P]; the clip bounds (null: none).
 */
export interface LstmpSaved {
  B: number; T: number; H: number; P: number; cellClip: number | null; projClip: number | null;
  acts: Float32Array; cRaw: Float32Array; hNew: Float32Array; rPrev: Float32Array; cPrev: Float32Array; rRaw: Float32Array | null;
}

/** Sizes and settings of a fused attention: q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv]. */
export interface AttentionShape {
  B: number; H: number; Tq: number; Tk: number; D: number; Dv: number;
  causal: boolean;
  scale: number;
}

/** What the fast CPU backend asks of a kernel set . */
export interface CpuKernels {
  readonly threads: number;
  /** A short account for logs and benchmarks, e.g. "WebAssembly relaxed SIMD, 2 threads". */
  readonly description: string;
  /** out[b] = A[b] · B[b] for strided operands A [Bt, M, K] and B [Bt, K, N]; returns a new [Bt, M, N] array. */
  matmul(a: Operand3, b: Operand3): Float32Array;
  /** op(x) elementwise over a contiguous float32 array, as a new array. */
  unary(op: keyof typeof VEC_OPS, x: Float32Array): Float32Array;
  /** Softmax or log-softmax over each row of a contiguous [rows, n] float32 array, as a new array. */
  softmax(x: Float32Array, n: number, log: boolean): Float32Array;
  /**
   * Per-row cross-entropy of contiguous logits [rows, n] against int32 targets, with label smoothing, and each row's
   * log-sum-exp; throws a RangeError naming the first out-of-range target.
   */
  crossEntropy(x: Float32Array, target: Int32Array, n: number, ignore: number, smoothing: number): { loss: Float32Array; lse: Float32Array };
  /** The cross-entropy's logit gradient (see crossEntropy) from the saved log-sum-exp and the per-row loss gradient. */
  crossEntropyGrad(x: Float32Array, target: Int32Array, lse: Float32Array, grad: Float32Array, n: number, ignore: number, smoothing: number): Float32Array;
  /** Layer norm over the last axis (size n) of a contiguous array; weight and bias optional (see Backend.layerNorm). */
  layerNorm(x: Float32Array, w: Float32Array | null, b: Float32Array | null, n: number, eps: number): { y: Float32Array; mean: Float32Array; rstd: Float32Array };
  /** The layer norm's gradients from the output gradient and the saved mean and rstd (see Backend.layerNormBackward). */
  layerNormGrad(g: Float32Array, x: Float32Array, w: Float32Array | null, mean: Float32Array, rstd: Float32Array, n: number): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array };
  /** One AdamW step in place on param, m and v (contiguous float32 arrays of the same length as grad). */
  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, o: AdamWStep): void;
  /** Fused attention (see Backend.attention): the output laid out [B, Tq, H, Dv] and the weights [B, H, Tq, Tk]. */
  attention?(a: AttentionShape, q: Operand4, k: Operand4, v: Operand4, mask: Operand4 | null): { out: Float32Array; weights: Float32Array };
  /** Its gradients (see Backend.attentionBackward), each laid out [B, T, H, D]. */
  attentionBackward?(a: AttentionShape, dOut: Operand4, q: Operand4, k: Operand4, v: Operand4, weights: Float32Array): { dq: Float32Array; dk: Float32Array; dv: Float32Array };
  /**
   * One LSTM layer's recurrence over contiguous arrays (see Backend.lstmSequence): xw [B, T, 4H], w [4H, H], bias
   * [4H] or null, h0 and c0 [B, H], a step mask [B, T] or null; the packed [B, T + 2, H] result and what backward needs.
   */
  lstm?(B: number, T: number, H: number, xw: Float32Array, w: Float32Array, bias: Float32Array | null, h0: Float32Array, c0: Float32Array,
    mask: Float32Array | null): { packed: Float32Array; saved: LstmSaved };
  /** Its gradients from the packed result's gradient (see Backend.lstmSequenceBackward); db is zeros without a bias. */
  lstmBackward?(grad: Float32Array, w: Float32Array, mask: Float32Array | null, saved: LstmSaved, hasBias: boolean):
    { dxw: Float32Array; dw: Float32Array; db: Float32Array; dh0: Float32Array; dc0: Float32Array };
  /**
   * One LSTMP layer's recurrence over contiguous arrays (see Backend.lstmpSequence): xw [B, T, 4H], w [4H, P], bias
   * [4H] or null, wr [P, H], r0 [B, P], c0 [B, H], a step mask [B, T] or null, the clip bounds (null: none); the
   * packed [B, T·P + P + H] result and what backward needs.
   */
  lstmp?(B: number, T: number, H: number, P: number, xw: Float32Array, w: Float32Array, bias: Float32Array | null, wr: Float32Array, r0: Float32Array,
    c0: Float32Array, mask: Float32Array | null, cellClip: number | null, projClip: number | null): { packed: Float32Array; saved: LstmpSaved };
  /** Its gradients from the packed result's gradient (see Backend.lstmpSequenceBackward); db is zeros without a bias. */
  lstmpBackward?(grad: Float32Array, w: Float32Array, wr: Float32Array, mask: Float32Array | null, saved: LstmpSaved, hasBias: boolean):
    { dxw: Float32Array; dw: Float32Array; db: Float32Array; dwr: Float32Array; dr0: Float32Array; dc0: Float32Array };
}
