// Image ops with PyTorch's semantics: 2-D (and 1-D) convolution with stride, padding, dilation and groups, max and
// average pooling and the adaptive average, batch normalisation with running statistics, and channel dropout. Each
// is a composite of primitives unless the backend offers a fused kernel (Backend.conv2d, pool2d, batchNorm), which
// the tests check against the composite and both against PyTorch.
import type { Window2d } from '../../backend/backend.js';
import { noGrad, record } from '../autograd.js';
import { ShapeError, fmt } from '../shape.js';
import { fromKernel, type Tensor } from '../tensor.js';
import { fromArray, rand } from './creation.js';
import { add, div, ge, mul, relu, sqrt, sub } from './elementwise.js';
import { matmul } from './linalg.js';
import { max, mean } from './reduce.js';
import { contiguous, expand, gather, indexSelect, permute, reshape } from './shape.js';
import { MASK_VALUE, linear, pad } from './nn.js';

/** A size given once for both spatial axes, or as [height, width]. */
export type Pair = number | readonly [number, number];
const pair = (p: Pair): [number, number] => (typeof p === 'number' ? [p, p] : [p[0], p[1]]);

/**
 * The window of a convolution or pooling over x [N, C, H, W], checked: positive integer kernel, stride and dilation,
 * non-negative padding, and an output of at least one pixel; errors name the op and the shapes.
 */
function window2d(op: string, x: Tensor, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair): Window2d {
  const k = pair(kernel), s = pair(stride), p = pair(padding), d = pair(dilation);
  const bad = (what: string, v: [number, number], min: number) => {
    if (!v.every((n) => Number.isInteger(n) && n >= min)) throw new ShapeError(`${op}: ${what} must be ${min > 0 ? 'positive' : 'non-negative'} integers, got ${fmt(v)}`);
  };
  bad('kernel size', k, 1); bad('stride', s, 1); bad('padding', p, 0); bad('dilation', d, 1);
  const [H, W] = [x.shape[2]!, x.shape[3]!];
  const extent = [d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1];
  const out: [number, number] = [Math.floor((H + 2 * p[0] - extent[0]!) / s[0]) + 1, Math.floor((W + 2 * p[1] - extent[1]!) / s[1]) + 1];
  if (out[0] < 1 || out[1] < 1) {
    throw new ShapeError(`${op}: kernel ${k[0]}x${k[1]}${d[0] > 1 || d[1] > 1 ? ` (dilation ${fmt(d)})` : ''} is larger than the padded input ${fmt([x.shape[0]!, x.shape[1]!, H + 2 * p[0], W + 2 * p[1]])}`);
  }
  return { kernel: k, stride: s, padding: p, dilation: d, out };
}

const patchIndexCache = new Map<string, Int32Array>();

/**
 * Positions into a flattened [Hp·Wp] plane (already padded) of each kernel tap at each output pixel: [kh·kw, Ho·Wo]
 * tap-major, or [Ho·Wo, kh·kw] pixel-major.
 */
function patchIndex(Hp: number, Wp: number, w: Window2d, order: 'tap-major' | 'pixel-major'): Int32Array {
  const [kh, kw] = w.kernel, [sh, sw] = w.stride, [dh, dw] = w.dilation, [Ho, Wo] = w.out;
  const key = [order, Hp, Wp, kh, kw, sh, sw, dh, dw].join(',');
  let data = patchIndexCache.get(key);
  if (!data) {
    data = new Int32Array(kh * kw * Ho * Wo);
    let n = 0;
    const at = (i: number, j: number, a: number, b: number) => (i * sh + a * dh) * Wp + (j * sw + b * dw);
    if (order === 'tap-major') {
      for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) data[n++] = at(i, j, a, b);
    } else {
      for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) data[n++] = at(i, j, a, b);
    }
    patchIndexCache.set(key, data);
  }
  return data;
}

/** The padded x [N, C, H, W] of a window. */
function padded(x: Tensor, w: Window2d, value: number): Tensor {
  const [ph, pw] = w.padding;
  return ph || pw ? pad(x, [[ph, ph], [pw, pw]], value) : x;
}

/** Options of `conv2d`, with PyTorch's names and defaults. */
export interface Conv2dOptions {
  stride?: Pair;
  /** Zeros added on each side. */
  padding?: Pair;
  /** Spacing between kernel taps (1: adjacent). */
  dilation?: Pair;
  /** Channel groups: input and output channels split into `groups` independent convolutions (C = groups: depthwise). */
  groups?: number;
}

/**
 * 2-D convolution (cross-correlation) of x [N, C, H, W] with weight [O, C / groups, kh, kw] and an optional bias [O],
 * as torch.nn.functional.conv2d: the output [N, O, Ho, Wo].
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const groups = opts.groups ?? 1;
  if (x.rank !== 4 || weight.rank !== 4) {
    throw new ShapeError(`conv2d: input ${fmt(x.shape)} and weight ${fmt(weight.shape)} must be [N, C, H, W] and [O, C / groups, kh, kw]`);
  }
  const [C, O, Cg] = [x.shape[1]!, weight.shape[0]!, weight.shape[1]!];
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0 || Cg * groups !== C) {
    throw new ShapeError(`conv2d: input ${fmt(x.shape)} and weight ${fmt(weight.shape)} do not fit ${groups} group(s): ` +
      `the input's ${C} channels and the weight's ${O} outputs must split into ${groups} equal groups of ${Cg} input channels`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== O)) throw new ShapeError(`conv2d: bias ${fmt(bias.shape)} must be [${O}] for weight ${fmt(weight.shape)}`);
  const w = window2d('conv2d', x, [weight.shape[2]!, weight.shape[3]!], opts.stride ?? 1, opts.padding ?? 0, opts.dilation ?? 1);
  const backend = x.backend;
  if (backend.conv2d && backend.conv2dBackward && weight.dtype === x.dtype && (!bias || bias.dtype === x.dtype)) return fusedConv2d(x, weight, bias ?? null, w, groups);
  return compositeConv2d(x, weight, bias ?? null, w, groups);
}

/**
 * The convolution as one GEMM: the input goes channels-last so that each output pixel's patch is one row [kh·kw·C],
 * picked by one row gather, and the product runs over all N·Ho·Wo rows at once (a product per image would broadcast
 * the weight, and its gradient would be a reduction over the images). Groups are a batch of GEMMs.
 */
function compositeConv2d(x: Tensor, weight: Tensor, bias: Tensor | null, w: Window2d, groups: number): Tensor {
  const [O, Cg, kh, kw] = weight.shape as [number, number, number, number];
  const xp = padded(x, w, 0);
  const [N, C, Hp, Wp] = xp.shape as [number, number, number, number];
  const [Ho, Wo] = w.out;
  const taps = patchIndex(Hp, Wp, w, 'pixel-major');
  const L = Ho * Wo * kh * kw;
  const rows = new Int32Array(N * L);
  for (let n = 0; n < N; n++) for (let k = 0; k < L; k++) rows[n * L + k] = n * Hp * Wp + taps[k]!;
  const pixels = reshape(contiguous(permute(xp, [0, 2, 3, 1])), [N * Hp * Wp, C]);
  const cols = indexSelect(pixels, 0, fromArray(rows, [N * L], { dtype: 'int32' })); // (N·Ho·Wo·kh·kw, C)
  if (groups === 1) {
    const y = linear(reshape(cols, [N, Ho * Wo, kh * kw * C]), reshape(permute(weight, [0, 2, 3, 1]), [O, kh * kw * C]), bias); // (N, Ho·Wo, O)
    return permute(reshape(y, [N, Ho, Wo, O]), [0, 3, 1, 2]);
  }
  const Og = O / groups;
  const a = reshape(permute(reshape(cols, [N * Ho * Wo, kh * kw, groups, Cg]), [2, 0, 1, 3]), [groups, N * Ho * Wo, kh * kw * Cg]);
  const k = reshape(permute(reshape(weight, [groups, Og, Cg, kh, kw]), [0, 3, 4, 2, 1]), [groups, kh * kw * Cg, Og]);
  const y = reshape(permute(reshape(matmul(a, k), [groups, N, Ho, Wo, Og]), [1, 0, 4, 2, 3]), [N, O, Ho, Wo]); // (N, G·Og, Ho, Wo)
  return bias ? add(y, reshape(bias, [O, 1, 1])) : y;
}

/** The convolution through the backend's fused forward and backward kernels. */
function fusedConv2d(x: Tensor, weight: Tensor, bias: Tensor | null, w: Window2d, groups: number): Tensor {
  const backend = x.backend;
  const xd = x.detach(), wd = weight.detach();
  const shape = [x.shape[0]!, weight.shape[0]!, ...w.out];
  const out = fromKernel('conv2d', backend.conv2d!(xd.view, wd.view, bias?.detach().view ?? null, w, groups), shape, x.dtype, backend);
  const inputs = [x, weight, ...(bias ? [bias] : [])];
  return record('conv2d', out, inputs, (g) => {
    const needs = { input: x.requiresGrad, weight: weight.requiresGrad, bias: bias?.requiresGrad ?? false };
    const grads = backend.conv2dBackward!(g.view, xd.view, wd.view, w, groups, needs);
    const wrap = (buf: object | null, s: readonly number[]) => (buf ? fromKernel('conv2d backward', buf, s, x.dtype, backend) : null);
    return [wrap(grads.dx, x.shape), wrap(grads.dweight, weight.shape), ...(bias ? [wrap(grads.dbias, bias.shape)] : [])];
  });
}

/** Options of `conv1d`. */
export interface Conv1dOptions { stride?: number; padding?: number; dilation?: number; groups?: number }

/** 1-D convolution of x [N, C, L] with weight [O, C / groups, k]: a conv2d over a height of one. */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv1dOptions = {}): Tensor {
  if (x.rank !== 3 || weight.rank !== 3) throw new ShapeError(`conv1d: input ${fmt(x.shape)} and weight ${fmt(weight.shape)} must be [N, C, L] and [O, C / groups, k]`);
  const y = conv2d(reshape(x, [x.shape[0]!, x.shape[1]!, 1, x.shape[2]!]), reshape(weight, [weight.shape[0]!, weight.shape[1]!, 1, weight.shape[2]!]), bias,
    { stride: [1, opts.stride ?? 1], padding: [0, opts.padding ?? 0], dilation: [1, opts.dilation ?? 1], groups: opts.groups });
  return reshape(y, [y.shape[0]!, y.shape[1]!, y.shape[3]!]);
}

function pool(kind: 'max' | 'avg', x: Tensor, kernel: Pair, stride: Pair | undefined, padding: Pair, dilation: Pair): Tensor {
  const op = `${kind}Pool2d`;
  if (x.rank !== 4) throw new ShapeError(`${op}: input must be [N, C, H, W], got ${fmt(x.shape)}`);
  const w = window2d(op, x, kernel, stride ?? kernel, padding, dilation);
  // PyTorch's rule, which keeps every window over at least one real element.
  w.padding.forEach((p, i) => {
    const half = (w.dilation[i]! * (w.kernel[i]! - 1) + 1) / 2;
    if (p > half) throw new ShapeError(`${op}: padding ${fmt(w.padding)} must be at most half the kernel ${fmt(w.kernel)}`);
  });
  const backend = x.backend;
  if (backend.pool2d && backend.pool2dBackward) {
    const { y, argmax } = backend.pool2d(kind, x.detach().view, w);
    const out = fromKernel(op, y, [x.shape[0]!, x.shape[1]!, ...w.out], x.dtype, backend);
    return record(op, out, [x], (g) => [fromKernel(`${op} backward`, backend.pool2dBackward!(kind, g.view, x.shape, w, argmax), x.shape, x.dtype, backend)]);
  }
  // Max pooling pads with the most negative float32 rather than -Infinity, so anomaly mode does not flag the padding.
  const xp = padded(x, w, kind === 'max' ? MASK_VALUE : 0);
  const [N, C, Hp, Wp] = xp.shape as [number, number, number, number];
  const [Ho, Wo] = w.out, taps = w.kernel[0] * w.kernel[1];
  const idx = expand(reshape(fromArray(patchIndex(Hp, Wp, w, 'tap-major'), [taps * Ho * Wo], { dtype: 'int32' }), [1, 1, -1]), [N, C, taps * Ho * Wo]);
  const cols = reshape(gather(reshape(contiguous(xp), [N, C, Hp * Wp]), 2, idx), [N, C, taps, Ho * Wo]);
  return reshape(kind === 'max' ? max(cols, 2) : mean(cols, 2), [N, C, Ho, Wo]);
}

/**
 * Max pooling over kernel windows of x [N, C, H, W] (stride defaults to the kernel), as F.max_pool2d: the gradient
 * goes to the first largest element of each window (the composite path, without a fused kernel, splits it among ties).
 */
export function maxPool2d(x: Tensor, kernel: Pair, stride?: Pair, padding: Pair = 0, dilation: Pair = 1): Tensor {
  return pool('max', x, kernel, stride, padding, dilation);
}
/** Average pooling over kernel windows of x [N, C, H, W], padding counted (F.avg_pool2d's default). */
export function avgPool2d(x: Tensor, kernel: Pair, stride?: Pair, padding: Pair = 0): Tensor { return pool('avg', x, kernel, stride, padding, 1); }

/**
 * The averages over output-size windows of x [N, C, H, W] (F.adaptive_avg_pool2d): output row i averages input rows
 * floor(i·H/Ho) to ceil((i+1)·H/Ho). Windows that tile the input exactly are an average pooling; others, which
 * overlap or differ in size, are two products with averaging matrices.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  if (x.rank !== 4) throw new ShapeError(`adaptiveAvgPool2d: input must be [N, C, H, W], got ${fmt(x.shape)}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [Ho, Wo] = pair(outputSize);
  if (![Ho, Wo].every((n) => Number.isInteger(n) && n >= 1)) throw new ShapeError(`adaptiveAvgPool2d: output size must be positive integers, got ${fmt([Ho, Wo])}`);
  if (H % Ho === 0 && W % Wo === 0) return avgPool2d(x, [H / Ho, W / Wo]);
  const averaging = (n: number, m: number) => {
    const a = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      const lo = Math.floor((i * n) / m), hi = Math.ceil(((i + 1) * n) / m);
      for (let k = lo; k < hi; k++) a[i * n + k] = 1 / (hi - lo);
    }
    return fromArray(a, [m, n], { dtype: x.dtype });
  };
  const rowsAveraged = matmul(averaging(H, Ho), reshape(x, [N * C, H, W])); // (N·C, Ho, W)
  return reshape(matmul(rowsAveraged, permute(averaging(W, Wo), [1, 0])), [N, C, Ho, Wo]);
}

/** Options of `batchNorm`, with F.batch_norm's names and defaults. */
export interface BatchNormOptions {
  /** Per-channel running mean [C], updated in place in training mode; with runningVar, used in evaluation. */
  runningMean?: Tensor | null;
  /** Per-channel running variance [C] (unbiased, as PyTorch keeps it). */
  runningVar?: Tensor | null;
  /** Normalise by the batch's statistics (and update the running ones); false: by the running statistics. */
  training?: boolean;
  /** Weight of the new batch in the running statistics' update (default 0.1). */
  momentum?: number;
  eps?: number;
  /**
   * Apply a ReLU to the result, after adding `residual` when given: relu(batchNorm(x) + residual), the end of a
   * residual block (and relu(batchNorm(x)) the middle of one), in one fused pass where the backend has it.
   */
  relu?: boolean;
  /** Added before the ReLU (with `relu` only): a tensor of x's shape. */
  residual?: Tensor | null;
}

/**
 * Batch normalisation of x [N, C, ...] per channel (Ioffe & Szegedy 2015), as torch.nn.functional.batch_norm: in
 * training mode by the batch's mean and biased variance over all but the channel axis, and the running statistics
 * move towards the batch's (the variance unbiased): running = (1 - momentum)·running + momentum·batch. In evaluation
 * the running statistics normalise, or the batch's when there are none. Then y = x̂·weight + bias, and with `relu`,
 * relu(y + residual).
 */
export function batchNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  const { relu: withRelu = false, residual = null } = opts;
  if (residual && !withRelu) throw new ShapeError('batchNorm: a residual is added before the ReLU, so it needs relu: true');
  if (residual && (residual.rank !== x.rank || residual.shape.some((d, i) => d !== x.shape[i]))) {
    throw new ShapeError(`batchNorm: residual ${fmt(residual.shape)} must have the input's shape ${fmt(x.shape)}`);
  }
  const backend = x.backend;
  const fused = withRelu && opts.training && x.rank >= 2 && backend.batchNormRelu && backend.batchNormReluBackward &&
    [weight, bias, residual].every((t) => !t || t.dtype === x.dtype);
  if (withRelu && !fused) {
    const y = batchNorm(x, weight, bias, { ...opts, relu: false, residual: null });
    return relu(residual ? add(y, residual) : y);
  }
  return batchNormWith(x, weight, bias, opts, fused ? { residual } : null);
}

/** batchNorm, with `act` through the fused batch norm + residual + ReLU kernels (training mode only). */
function batchNormWith(x: Tensor, weight: Tensor | null, bias: Tensor | null, opts: BatchNormOptions, act: { residual: Tensor | null } | null): Tensor {
  const { runningMean = null, runningVar = null, training = false, momentum = 0.1, eps = 1e-5 } = opts;
  if (x.rank < 2) throw new ShapeError(`batchNorm: input must be [N, C, ...], got ${fmt(x.shape)}`);
  const [N, C] = x.shape as [number, number];
  for (const [name, t] of [['weight', weight], ['bias', bias], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) throw new ShapeError(`batchNorm: ${name} ${fmt(t.shape)} must be [${C}] for input ${fmt(x.shape)}`);
  }
  if (!runningMean !== !runningVar) throw new ShapeError('batchNorm: runningMean and runningVar come together (both or neither)');
  const L = x.size / Math.max(1, N * C);
  const x3 = reshape(x, [N, C, L]);
  const perChannel = (t: Tensor) => reshape(t, [C, 1]);
  if (!training && runningMean && runningVar) {
    // y = x·scale + shift with scale = weight / sqrt(var + eps), shift = bias - mean·scale: one pass over x.
    const scale = div(weight ?? 1, sqrt(add(runningVar, eps)));
    const shift = sub(bias ?? 0, mul(runningMean, scale));
    return reshape(add(mul(x3, perChannel(scale)), perChannel(shift)), x.shape);
  }
  if (N * L <= 1) throw new ShapeError(`batchNorm: expected more than one value per channel in training mode, got input ${fmt(x.shape)}`);
  const backend = x.backend;
  let y: Tensor, batchMean: Tensor, batchVar: Tensor;
  if (act) {
    ({ y, mean: batchMean, var: batchVar } = fusedBatchNormRelu(x3, weight, bias, eps, act.residual && reshape(act.residual, [N, C, L])));
  } else if (backend.batchNorm && backend.batchNormBackward) {
    ({ y, mean: batchMean, var: batchVar } = fusedBatchNorm(x3, weight, bias, eps));
  } else {
    batchMean = mean(x3, [0, 2], true);
    const centered = sub(x3, batchMean);
    batchVar = mean(mul(centered, centered), [0, 2], true);
    y = div(centered, sqrt(add(batchVar, eps)));
    if (weight) y = mul(y, perChannel(weight));
    if (bias) y = add(y, perChannel(bias));
  }
  if (training && runningMean && runningVar) {
    noGrad(() => {
      const n = N * L;
      const update = (running: Tensor, batch: Tensor) =>
        backend.assign(running.view, add(mul(running, 1 - momentum), mul(reshape(batch.detach(), [C]), momentum)).cast(running.dtype).view);
      update(runningMean, batchMean);
      update(runningVar, mul(batchVar, n / (n - 1)));
    });
  }
  return reshape(y, x.shape);
}

/** Training-mode batch norm of x [N, C, L] through the backend's fused kernels; the batch statistics come back [C]. */
function fusedBatchNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): { y: Tensor; mean: Tensor; var: Tensor } {
  const backend = x.backend;
  const xd = x.detach(), C = x.shape[1]!;
  const r = backend.batchNorm!(xd.view, weight?.detach().view ?? null, bias?.detach().view ?? null, eps);
  const mean = fromKernel('batchNorm', r.mean, [C], x.dtype, backend), variance = fromKernel('batchNorm', r.var, [C], x.dtype, backend);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const y = record('batchNorm', fromKernel('batchNorm', r.y, x.shape, x.dtype, backend), inputs, (g) => {
    const grads = backend.batchNormBackward!(g.view, xd.view, weight?.detach().view ?? null, r.mean, r.var, eps);
    const wrap = (buf: object, s: readonly number[]) => fromKernel('batchNorm backward', buf, s, x.dtype, backend);
    return [wrap(grads.dx, x.shape), ...(weight ? [wrap(grads.dweight, [C])] : []), ...(bias ? [wrap(grads.dbias, [C])] : [])];
  });
  return { y, mean, var: variance };
}

/** relu(batchNorm(x) + residual) of x [N, C, L] in training mode through the backend's fused kernels. */
function fusedBatchNormRelu(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, residual: Tensor | null): { y: Tensor; mean: Tensor; var: Tensor } {
  const backend = x.backend;
  const xd = x.detach(), C = x.shape[1]!;
  const r = backend.batchNormRelu!(xd.view, weight?.detach().view ?? null, bias?.detach().view ?? null, eps, residual?.detach().view ?? null);
  const mean = fromKernel('batchNormRelu', r.mean, [C], x.dtype, backend), variance = fromKernel('batchNormRelu', r.var, [C], x.dtype, backend);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : []), ...(residual ? [residual] : [])];
  const y = record('batchNormRelu', fromKernel('batchNormRelu', r.y, x.shape, x.dtype, backend), inputs, (g) => {
    const grads = backend.batchNormReluBackward!(g.view, xd.view, r.y, weight?.detach().view ?? null, r.mean, r.var, eps, residual !== null);
    const wrap = (buf: object, s: readonly number[]) => fromKernel('batchNormRelu backward', buf, s, x.dtype, backend);
    return [wrap(grads.dx, x.shape), ...(weight ? [wrap(grads.dweight, [C])] : []), ...(bias ? [wrap(grads.dbias, [C])] : []),
      ...(residual ? [wrap(grads.dresidual!, x.shape)] : [])];
  });
  return { y, mean, var: variance };
}

/**
 * Zeroes whole channels of x [N, C, H, W] with probability p and scales the rest by 1/(1-p) while `training`
 * (F.dropout2d; Tompson et al. 2015: neighbouring pixels are correlated, so dropping single ones regularises little).
 */
export function dropout2d(x: Tensor, p: number, training = true): Tensor {
  if (p < 0 || p >= 1) throw new RangeError(`dropout2d: p must be in [0, 1), got ${p}`);
  if (x.rank !== 4) throw new ShapeError(`dropout2d: input must be [N, C, H, W], got ${fmt(x.shape)}`);
  if (!training || p === 0) return x;
  const keep = noGrad(() => div(ge(rand([x.shape[0]!, x.shape[1]!, 1, 1], { dtype: x.dtype }), p), 1 - p));
  return mul(x, keep);
}

