// The kernel interface: the small set of operations every backend (reference CPU, WASM CPU, WebGPU) implements.
//
// Tensors, autograd, nn and models never touch a backend directly; they call the ops in src/tensor, which call
// these kernels. Kernels take strided views (so transposes, slices and broadcasts need no copies) and return new
// contiguous buffers. Reading values back is asynchronous, because a GPU answers later; `readSync` is an
// optional shortcut that CPU backends offer and nothing in models or trainers may rely on. This file is the contract
// only: the implementations import it, and registry.ts chooses among them.
import type { DType, TypedArray } from '../tensor/dtype.js';

/** A backend's handle to device memory. Opaque outside the backend that made it. */
export type Buffer = object;

/** A strided window onto a buffer: element (i0, i1, ...) lives at offset + sum(ik * strides[k]). */
export interface View {
  readonly buf: Buffer;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Elementwise functions of one argument. */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'tanh' | 'sigmoid' | 'relu'
  | 'gelu' | 'gelu_tanh' | 'erf' | 'reciprocal' | 'square' | 'floor'
  /** Derivatives of the GELU forms, d/dx, so that their backward is one kernel. */
  | 'gelu_grad' | 'gelu_tanh_grad';

/** Elementwise functions of two (broadcast) arguments. Comparisons give 1 or 0 in the inputs' dtype. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** Reductions over a set of axes. */
export type ReduceOp = 'sum' | 'max' | 'min';

/**
 * Hyper-parameters of one AdamW step (PyTorch semantics: decoupled decay, bias correction): `step` counts the steps
 * taken, this one included (PyTorch's state['step']); the step size lr / (1 - beta1^step) is the kernels' `stepSize`.
 */
export interface AdamWStep {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number;
}

/**
 * A 2-D sliding window over x [N, C, H, W] (a convolution's or a pooling's), with PyTorch's semantics: zero padding
 * of `padding` on each side, taps `dilation` apart. The ops layer computes `out`, the output's [Ho, Wo].
 */
export interface Window2d {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly out: readonly [number, number];
}

/** Which gradients a convolution's backward pass computes (the others come back null). */
export interface Conv2dNeeds { input: boolean; weight: boolean; bias: boolean }

/**
 * What a backend implements. Every kernel returns a new contiguous buffer of the output's size; the caller knows
 * the output shape. Required kernels are the primitives; the optional ones are fused fast paths that the ops layer
 * uses when present, each checked in tests against the composite it replaces.
 */
export interface Backend {
  /** A short name, e.g. 'cpu-reference', 'cpu-wasm', 'webgpu'. */
  readonly name: string;
  /** What computes the hot kernels, for logs and benchmarks (e.g. "native 512-bit SIMD, 2 threads"). */
  readonly kernels?: string;

  /** A new buffer holding a copy of `data`. */
  upload(data: TypedArray, dtype: DType): Buffer;
  /** A new buffer of `size` elements, each `value`. */
  fill(dtype: DType, size: number, value: number): Buffer;
  /** `size` seeded random values: uniform in [a, b), or normal with mean a and std b (see tensor/random.ts). */
  random(dtype: DType, size: number, kind: 'uniform' | 'normal', key: number, a: number, b: number): Buffer;
  /** The view's elements, in row-major order, as a new host array (asynchronous on devices). */
  read(x: View): Promise<TypedArray>;
  /** The same as `read`, synchronously; only host-memory backends offer it. */
  readSync?(x: View): TypedArray;
  /**
   * Writes `src` (already broadcast to dst's shape, same dtype) into the strided view `dst`, in place. The one
   * mutating primitive: optimizers update parameters through it, because models hold references to them.
   */
  assign(dst: View, src: View): void;
  /**
   * Releases a buffer whose tensors were all garbage collected (called from a FinalizationRegistry). Backends whose
   * buffers are plain garbage-collected host memory leave it out: a registered buffer stays reachable until the
   * registry's callback runs, which needs a turn of the event loop, so a synchronous training loop would pile them up.
   */
  free?(buf: Buffer): void;

  /** Copies a strided view into a new contiguous buffer, converting to `dtype`. */
  contiguous(x: View, dtype: DType): Buffer;
  /** out[i] = op(x[i]). */
  unary(op: UnaryOp, x: View): Buffer;
  /** out[i] = op(a[i], b[i]); `a` and `b` are already broadcast to `shape` (stride 0 along broadcast axes). */
  binary(op: BinaryOp, a: View, b: View, shape: readonly number[]): Buffer;
  /** out[i] = cond[i] != 0 ? a[i] : b[i], all three broadcast to `shape`. */
  where(cond: View, a: View, b: View, shape: readonly number[]): Buffer;
  /** Reduces `axes` (sorted, unique) away; the output has the remaining axes in order. */
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Buffer;
  /** Index (int32) of the largest element along `axis`, which is removed from the output. */
  argmax(x: View, axis: number): Buffer;
  /** Batched matrix product: a [B, M, K] times b [B, K, N] gives [B, M, N]; any strides (transposes are free). */
  matmul(a: View, b: View): Buffer;
  /** Concatenates views along `axis` (all other dims equal) into one contiguous buffer. */
  concat(xs: readonly View[], axis: number): Buffer;
  /** torch.gather: out[..., i, ...] = x[..., index[..., i, ...], ...] along `axis`; out has index's shape. */
  gather(x: View, axis: number, index: View): Buffer;
  /** torch.zeros(shape).scatter_add_(axis, index, src): the adjoint of gather. */
  scatterAdd(shape: readonly number[], axis: number, index: View, src: View): Buffer;

  /** Fused softmax or log-softmax over the last axis of a contiguous tensor. */
  softmax?(x: View, log: boolean): Buffer;
  /**
   * Fused layer norm over the last axis (size n) of a contiguous x: y = (x - mean) * rstd * weight + bias, with the
   * per-row mean and rstd = 1/sqrt(var + eps) that the backward pass reuses.
   */
  layerNorm?(x: View, weight: View | null, bias: View | null, n: number, eps: number): { y: Buffer; mean: Buffer; rstd: Buffer };
  /** The layer norm's gradients from the output gradient g (contiguous, like x) and the saved mean and rstd. */
  layerNormBackward?(g: View, x: View, weight: View | null, mean: Buffer, rstd: Buffer, n: number): { dx: Buffer; dweight: Buffer; dbias: Buffer };
  /**
   * Fused cross-entropy of contiguous logits [N, C] against int32 targets [N]: per-row losses (0 where the target is
   * `ignoreIndex`) with label smoothing, and each row's log-sum-exp for the backward pass.
   */
  crossEntropy?(logits: View, target: View, ignoreIndex: number, smoothing: number): { loss: Buffer; lse: Buffer };
  /** d(loss)/d(logits) = grad_row · (softmax - smoothed one-hot), zero on ignored rows. */
  crossEntropyBackward?(logits: View, target: View, lse: Buffer, grad: View, ignoreIndex: number, smoothing: number): Buffer;
  /** Fused AdamW update, in place on param, m and v (contiguous, same size). */
  adamw?(param: Buffer, grad: View, m: Buffer, v: Buffer, size: number, opts: AdamWStep): void;
  /** matmul(a, b) with a float32 bias [N] added to every row of the product (a linear layer's epilogue). */
  matmulBias?(a: View, b: View, bias: View): Buffer;
  /**
   * Fused scaled-dot-product attention over float32 views q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv] (any
   * strides): softmax(scale·q kᵀ, masked) v, where key j is hidden from query i when `causal` and j > i + Tk - Tq, or
   * where `mask` (float32, broadcast to [B, H, Tq, Tk]) is 0; hidden scores take MASK_VALUE, as in the composite.
   * Returns the output laid out as [B, Tq, H, Dv] (merging the heads is then free) and what the backward pass needs
   * (opaque: the CPU keeps the weights [B, H, Tq, Tk]; a flash-style kernel would keep each row's log-sum-exp).
   */
  attention?(q: View, k: View, v: View, mask: View | null, causal: boolean, scale: number): { out: Buffer; saved: object };
  /** The attention's gradients from dOut [B, H, Tq, Dv]: dq, dk, dv, each laid out [B, T, H, D]. The mask and causal flag are the forward's. */
  attentionBackward?(dOut: View, q: View, k: View, v: View, mask: View | null, causal: boolean, saved: object, scale: number): { dq: Buffer; dk: Buffer; dv: Buffer };
  /**
   * Fused 2-D convolution (cross-correlation) of x [N, C, H, W] with weight [O, C / groups, kh, kw] and an optional
   * bias [O], over the window `w`: the output [N, O, Ho, Wo].
   */
  conv2d?(x: View, weight: View, bias: View | null, w: Window2d, groups: number): Buffer;
  /** Its gradients from the output gradient g [N, O, Ho, Wo]: dx like x, dweight like weight, dbias [O]; null where not needed. */
  conv2dBackward?(g: View, x: View, weight: View, w: Window2d, groups: number, needs: Conv2dNeeds): { dx: Buffer | null; dweight: Buffer | null; dbias: Buffer | null };
  /**
   * Fused max or average pooling of x [N, C, H, W] over the window `w` (average: padding counted, PyTorch's default;
   * max: padding never wins). Max pooling also returns, per output, the flat index in its input plane [H·W] of the
   * first largest element (int32), which its backward pass routes the gradient to.
   */
  pool2d?(kind: 'max' | 'avg', x: View, w: Window2d): { y: Buffer; argmax: Buffer | null };
  /** The pooling's input gradient [N, C, H, W] (`inputShape`) from the output gradient g [N, C, Ho, Wo]. */
  pool2dBackward?(kind: 'max' | 'avg', g: View, inputShape: readonly number[], w: Window2d, argmax: Buffer | null): Buffer;
  /**
   * Fused batch normalisation in training mode of x [N, C, L]: per channel, the batch mean and biased variance over
   * N and L, and y = (x - mean) / sqrt(var + eps) · weight + bias.
   */
  batchNorm?(x: View, weight: View | null, bias: View | null, eps: number): { y: Buffer; mean: Buffer; var: Buffer };
  /** Its gradients from the output gradient g [N, C, L] and the saved per-channel mean and variance. */
  batchNormBackward?(g: View, x: View, weight: View | null, mean: Buffer, variance: Buffer, eps: number): { dx: Buffer; dweight: Buffer; dbias: Buffer };
  /**
   * batchNorm fused with what follows it in a residual net: y = relu(x̂·weight + bias + residual), residual [N, C, L]
   * or null; the same statistics.
   */
  batchNormRelu?(x: View, weight: View | null, bias: View | null, eps: number, residual: View | null): { y: Buffer; mean: Buffer; var: Buffer };
  /**
   * Its gradients from g and its output y (the ReLU passes g where y > 0): batchNormBackward's for the masked g, and
   * with a residual, the residual's gradient (the masked g itself).
   */
  batchNormReluBackward?(g: View, x: View, y: Buffer, weight: View | null, mean: Buffer, variance: Buffer, eps: number, residual: boolean):
    { dx: Buffer; dweight: Buffer; dbias: Buffer; dresidual: Buffer | null };
  /**
   * The LSTM recurrence of one layer and direction, as ops.lstmSequence computes it: float32 xw [B, T, 4H] (input
   * projections), wHh [4H, H], bHh [4H] or null, h0 and c0 [B, H], a float32 step mask [B, T] or null. Returns
   * [B, T + 2, H] (each step's output, then the final h and c) and what the backward pass needs (opaque).
   */
  lstmSequence?(xw: View, wHh: View, bHh: View | null, h0: View, c0: View, mask: View | null): { packed: Buffer; saved: object };
  /** Its gradients from the gradient of the packed result: dxw [B, T, 4H], dwHh, dbHh (zeros when there is no bias), dh0, dc0. */
  lstmSequenceBackward?(grad: View, wHh: View, mask: View | null, saved: object, hasBias: boolean): { dxw: Buffer; dw: Buffer; db: Buffer; dh0: Buffer; dc0: Buffer };
  /**
   * The recurrence of one layer and direction of an LSTM with a projection (LSTMP), as ops.lstmpSequence computes it:
   * float32 xw [B, T, 4H], wHh [4H, P], bHh [4H] or null, wHr [P, H], r0 [B, P], c0 [B, H], a float32 step mask [B, T]
   * or null, and the cell and projection clip bounds (null: none). Returns [B, T·P + P + H] (each step's output r,
   * then the final r and c) and what the backward pass needs (opaque).
   */
  lstmpSequence?(xw: View, wHh: View, bHh: View | null, wHr: View, r0: View, c0: View, mask: View | null, cellClip: number | null, projClip: number | null):
    { packed: Buffer; saved: object };
  /** Its gradients from the gradient of the packed result: dxw [B, T, 4H], dwHh, dbHh (zeros when there is no bias), dwHr, dr0, dc0. */
  lstmpSequenceBackward?(grad: View, wHh: View, wHr: View, mask: View | null, saved: object, hasBias: boolean):
    { dxw: Buffer; dw: Buffer; db: Buffer; dwr: Buffer; dr0: Buffer; dc0: Buffer };
}
