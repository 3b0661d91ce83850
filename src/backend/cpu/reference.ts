// The reference backend: every kernel in plain TypeScript over host typed arrays, written to be obviously right.
// Fast backends are tested against it. Buffers are the typed arrays themselves.
import type { Backend, BinaryOp, ReduceOp, UnaryOp, View, AdamWStep, Window2d } from '../backend.js';
import { allocArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import { normalAt, uniformAt } from '../../tensor/random.js';
import { contiguousStrides, isContiguous, sizeOf } from '../../tensor/shape.js';

const arr = (v: View) => v.buf as TypedArray;


/** The buffer offset of every element of a view, in row-major order. */
export function elementOffsets(v: { shape: readonly number[]; strides: readonly number[]; offset: number }): Int32Array {
  const n = sizeOf(v.shape);
  const out = new Int32Array(n);
  const rank = v.shape.length;
  if (isContiguous(v.shape, v.strides)) {
    for (let i = 0; i < n; i++) out[i] = v.offset + i;
    return out;
  }
  const idx = new Array<number>(rank).fill(0);
  let off = v.offset;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      off += v.strides[d]!;
      if (idx[d]! < v.shape[d]!) break;
      off -= v.strides[d]! * v.shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  // Taylor series for small |x|, continued fraction (Lentz) for erfc otherwise: accurate to ~1e-15.
  if (ax < 2.5) {
    let sum = ax, term = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const unaryFns: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => (x > 0 ? x : 0),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
  // d/dx x·Φ(x) = Φ(x) + x·φ(x)
  gelu_grad: (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI),
  // d/dx 0.5x(1 + tanh(u)), u = c(x + 0.044715x³)
  gelu_tanh_grad: (x) => {
    const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
  },
  erf,
  reciprocal: (x) => 1 / x,
  square: (x) => x * x,
  floor: Math.floor,
};

const binaryFns: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

/** Moves `axes` to the end of a view (a pure stride permutation). */
function moveAxesLast(v: View, axes: readonly number[]): { shape: number[]; strides: number[]; offset: number } {
  const kept = v.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...kept, ...axes];
  return { shape: order.map((i) => v.shape[i]!), strides: order.map((i) => v.strides[i]!), offset: v.offset };
}

function checkIndex(op: string, value: number, size: number, axis: number): void {
  if (!(value >= 0 && value < size)) throw new RangeError(`${op}: index ${value} is out of range [0, ${size}) along axis ${axis}`);
}

/** Runs `fn(outFlat, xOffset)` over every element of `index`, with x's offset along all axes but `axis`. */
function forEachIndexed(
  op: string, shape: readonly number[], xShape: readonly number[], xStrides: readonly number[], xOffset: number,
  axis: number, index: View, fn: (i: number, xOff: number) => void,
): void {
  const n = sizeOf(shape);
  const outStrides = contiguousStrides(shape);
  const idx = arr(index);
  const idxOff = elementOffsets(index);
  for (let i = 0; i < n; i++) {
    let rem = i, off = xOffset;
    for (let d = 0; d < shape.length; d++) {
      const c = Math.floor(rem / outStrides[d]!);
      rem -= c * outStrides[d]!;
      if (d !== axis) off += c * xStrides[d]!;
    }
    const j = idx[idxOff[i]!]!;
    checkIndex(op, j, xShape[axis]!, axis);
    fn(i, off + j * xStrides[axis]!);
  }
}

/**
 * Calls fn(a, b, ih, iw) for each tap (a, b) of the window `w` at output pixel (i, j) that falls inside an H×W plane
 * (the others read the zero padding).
 */
function forEachTap(w: Window2d, H: number, W: number, i: number, j: number, fn: (a: number, b: number, ih: number, iw: number) => void): void {
  for (let a = 0; a < w.kernel[0]; a++) {
    const ih = i * w.stride[0] - w.padding[0] + a * w.dilation[0];
    if (ih < 0 || ih >= H) continue;
    for (let b = 0; b < w.kernel[1]; b++) {
      const iw = j * w.stride[1] - w.padding[1] + b * w.dilation[1];
      if (iw >= 0 && iw < W) fn(a, b, ih, iw);
    }
  }
}

/** Creates the reference backend. */
export function createReferenceBackend(): Backend {
  const backend: Backend = {
    name: 'cpu-reference',
    upload: (data, dtype) => {
      const out = allocArray(dtype, data.length);
      out.set(data);
      return out;
    },
    fill: (dtype, size, value) => allocArray(dtype, size).fill(value),
    random(dtype, size, kind, key, a, b) {
      const out = allocArray(dtype, size);
      for (let i = 0; i < size; i++) out[i] = kind === 'uniform' ? a + (b - a) * uniformAt(key, i) : a + b * normalAt(key, i);
      return out;
    },
    read: async (x) => readView(x, x.dtype),
    readSync: (x) => readView(x, x.dtype),
    assign(dst, src) {
      const D = arr(dst), S = arr(src), od = elementOffsets(dst), os = elementOffsets(src);
      // Read everything first: src may overlap dst (e.g. assigning a tensor's transpose to itself).
      const values = allocArray(dst.dtype, od.length);
      for (let i = 0; i < od.length; i++) values[i] = S[os[i]!]!;
      for (let i = 0; i < od.length; i++) D[od[i]!] = values[i]!;
    },
    contiguous: (x, dtype) => readView(x, dtype),
    unary(op, x) {
      const src = arr(x), offs = elementOffsets(x);
      const out = allocArray(x.dtype, offs.length);
      const f = unaryFns[op];
      for (let i = 0; i < offs.length; i++) out[i] = f(src[offs[i]!]!);
      return out;
    },
    binary(op, a, b, shape) {
      const A = arr(a), B = arr(b), oa = elementOffsets(a), ob = elementOffsets(b);
      const out = allocArray(a.dtype, sizeOf(shape));
      const f = binaryFns[op];
      if (a.dtype === 'int32' && op === 'div') {
        for (let i = 0; i < out.length; i++) out[i] = Math.trunc(A[oa[i]!]! / B[ob[i]!]!);
      } else {
        for (let i = 0; i < out.length; i++) out[i] = f(A[oa[i]!]!, B[ob[i]!]!);
      }
      return out;
    },
    where(cond, a, b, shape) {
      const C = arr(cond), A = arr(a), B = arr(b);
      const oc = elementOffsets(cond), oa = elementOffsets(a), ob = elementOffsets(b);
      const out = allocArray(a.dtype, sizeOf(shape));
      for (let i = 0; i < out.length; i++) out[i] = C[oc[i]!] !== 0 ? A[oa[i]!]! : B[ob[i]!]!;
      return out;
    },
    reduce(op: ReduceOp, x, axes) {
      const moved = moveAxesLast(x, axes);
      const inner = axes.reduce((p, a) => p * x.shape[a]!, 1);
      const offs = elementOffsets(moved), src = arr(x);
      const outSize = inner === 0 ? sizeOf(moved.shape.slice(0, moved.shape.length - axes.length)) : offs.length / inner;
      const out = allocArray(x.dtype, outSize);
      for (let o = 0; o < outSize; o++) {
        let acc = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
        for (let r = 0; r < inner; r++) {
          const v = src[offs[o * inner + r]!]!;
          if (op === 'sum') acc += v;
          else if (op === 'max') { if (v > acc || Number.isNaN(v)) acc = v; }
          else if (v < acc || Number.isNaN(v)) acc = v;
        }
        out[o] = acc;
      }
      return out;
    },
    argmax(x, axis) {
      const moved = moveAxesLast(x, [axis]);
      const inner = x.shape[axis]!;
      const offs = elementOffsets(moved), src = arr(x);
      const out = new Int32Array(offs.length / inner);
      for (let o = 0; o < out.length; o++) {
        let best = -Infinity, arg = 0;
        for (let r = 0; r < inner; r++) {
          const v = src[offs[o * inner + r]!]!;
          if (v > best) { best = v; arg = r; }
        }
        out[o] = arg;
      }
      return out;
    },
    matmul(a, b) {
      const [B, M, K] = a.shape as [number, number, number];
      const N = b.shape[2]!;
      const A = arr(a), Bm = arr(b);
      const out = allocArray(a.dtype, B * M * N);
      const acc = new Float64Array(N);
      const [sab, sam, sak] = a.strides as [number, number, number];
      const [sbb, sbk, sbn] = b.strides as [number, number, number];
      for (let bi = 0; bi < B; bi++) {
        for (let i = 0; i < M; i++) {
          acc.fill(0);
          const aRow = a.offset + bi * sab + i * sam;
          for (let k = 0; k < K; k++) {
            const aik = A[aRow + k * sak]!;
            const bRow = b.offset + bi * sbb + k * sbk;
            for (let j = 0; j < N; j++) acc[j] += aik * Bm[bRow + j * sbn]!;
          }
          out.set(acc, (bi * M + i) * N);
        }
      }
      return out;
    },
    concat(xs, axis) {
      const shape = [...xs[0]!.shape];
      shape[axis] = xs.reduce((n, x) => n + x.shape[axis]!, 0);
      const out = allocArray(xs[0]!.dtype, sizeOf(shape));
      const strides = contiguousStrides(shape);
      let start = 0;
      for (const x of xs) {
        const dst = elementOffsets({ shape: x.shape, strides, offset: start * strides[axis]! });
        const src = elementOffsets(x), X = arr(x);
        for (let i = 0; i < dst.length; i++) out[dst[i]!] = X[src[i]!]!;
        start += x.shape[axis]!;
      }
      return out;
    },
    gather(x, axis, index) {
      const out = allocArray(x.dtype, sizeOf(index.shape));
      const src = arr(x);
      forEachIndexed('gather', index.shape, x.shape, x.strides, x.offset, axis, index, (i, off) => { out[i] = src[off]!; });
      return out;
    },
    scatterAdd(shape, axis, index, src) {
      const out = allocArray(src.dtype, sizeOf(shape));
      const S = arr(src), so = elementOffsets(src);
      forEachIndexed('scatterAdd', index.shape, shape, contiguousStrides(shape), 0, axis, index, (i, off) => { out[off] += S[so[i]!]!; });
      return out;
    },
    softmax(x, log) {
      const src = readView(x, x.dtype);
      const n = x.shape[x.shape.length - 1]!;
      const out = allocArray(x.dtype, src.length);
      for (let r = 0; r < src.length; r += n) {
        let max = -Infinity;
        for (let j = 0; j < n; j++) max = Math.max(max, src[r + j]!);
        let sum = 0;
        for (let j = 0; j < n; j++) sum += Math.exp(src[r + j]! - max);
        const logSum = Math.log(sum);
        for (let j = 0; j < n; j++) out[r + j] = log ? src[r + j]! - max - logSum : Math.exp(src[r + j]! - max) / sum;
      }
      return out;
    },
    layerNorm(x, weight, bias, n, eps) {
      const X = readView(x, x.dtype), W = weight && readView(weight, weight.dtype), B = bias && readView(bias, bias.dtype);
      const rows = n === 0 ? 0 : X.length / n;
      const y = allocArray(x.dtype, X.length), mean = allocArray(x.dtype, rows), rstd = allocArray(x.dtype, rows);
      for (let r = 0; r < rows; r++) {
        const o = r * n;
        let mu = 0;
        for (let j = 0; j < n; j++) mu += X[o + j]!;
        mu /= n;
        let v = 0;
        for (let j = 0; j < n; j++) { const d = X[o + j]! - mu; v += d * d; }
        const rs = 1 / Math.sqrt(v / n + eps);
        mean[r] = mu; rstd[r] = rs;
        for (let j = 0; j < n; j++) y[o + j] = (X[o + j]! - mu) * rs * (W ? W[j]! : 1) + (B ? B[j]! : 0);
      }
      return { y, mean, rstd };
    },
    layerNormBackward(g, x, weight, meanBuf, rstdBuf, n) {
      const G = readView(g, g.dtype), X = readView(x, x.dtype), W = weight && readView(weight, weight.dtype);
      const mean = meanBuf as TypedArray, rstd = rstdBuf as TypedArray;
      const rows = n === 0 ? 0 : X.length / n;
      const dx = allocArray(x.dtype, X.length), dweight = allocArray(x.dtype, n), dbias = allocArray(x.dtype, n);
      for (let r = 0; r < rows; r++) {
        const o = r * n, mu = mean[r]!, rs = rstd[r]!;
        // dx = rstd * (gy - mean(gy) - xhat * mean(gy * xhat)), gy = g * weight
        let sumGy = 0, sumGyXhat = 0;
        for (let j = 0; j < n; j++) {
          const xhat = (X[o + j]! - mu) * rs, gy = G[o + j]! * (W ? W[j]! : 1);
          sumGy += gy; sumGyXhat += gy * xhat;
          dweight[j] += G[o + j]! * xhat; dbias[j] += G[o + j]!;
        }
        for (let j = 0; j < n; j++) {
          const xhat = (X[o + j]! - mu) * rs, gy = G[o + j]! * (W ? W[j]! : 1);
          dx[o + j] = rs * (gy - sumGy / n - xhat * sumGyXhat / n);
        }
      }
      return { dx, dweight, dbias };
    },
    crossEntropy(logits, target, ignoreIndex, smoothing) {
      const X = readView(logits, logits.dtype), T = readView(target, target.dtype);
      const [N, C] = logits.shape as [number, number];
      const loss = allocArray(logits.dtype, N), lse = allocArray(logits.dtype, N);
      for (let r = 0; r < N; r++) {
        const o = r * C;
        let max = -Infinity, mean = 0;
        for (let c = 0; c < C; c++) { max = Math.max(max, X[o + c]!); mean += X[o + c]!; }
        let sum = 0;
        for (let c = 0; c < C; c++) sum += Math.exp(X[o + c]! - max);
        lse[r] = max + Math.log(sum);
        const t = T[r]!;
        if (t === ignoreIndex) continue;
        checkIndex('crossEntropy', t, C, 1);
        // (1 - ε)(lse - x_t) + ε(lse - mean_c x_c)
        loss[r] = (1 - smoothing) * (lse[r]! - X[o + t]!) + smoothing * (lse[r]! - mean / C);
      }
      return { loss, lse };
    },
    crossEntropyBackward(logits, target, lseBuf, grad, ignoreIndex, smoothing) {
      const X = readView(logits, logits.dtype), T = readView(target, target.dtype), G = readView(grad, grad.dtype);
      const lse = lseBuf as TypedArray;
      const [N, C] = logits.shape as [number, number];
      const dx = allocArray(logits.dtype, N * C);
      for (let r = 0; r < N; r++) {
        const t = T[r]!;
        if (t === ignoreIndex) continue;
        const o = r * C, g = G[r]!;
        for (let c = 0; c < C; c++) dx[o + c] = g * (Math.exp(X[o + c]! - lse[r]!) - smoothing / C - (c === t ? 1 - smoothing : 0));
      }
      return dx;
    },
    conv2d(x, weight, bias, w, groups) {
      const X = readView(x, x.dtype), K = readView(weight, weight.dtype), Bs = bias && readView(bias, bias.dtype);
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [O, Cg, kh, kw] = weight.shape as [number, number, number, number];
      const [Ho, Wo] = w.out, Og = O / groups;
      const out = allocArray(x.dtype, N * O * Ho * Wo);
      for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
        const c0 = Math.floor(o / Og) * Cg;
        for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
          let acc = Bs ? Bs[o]! : 0;
          for (let c = 0; c < Cg; c++) {
            forEachTap(w, H, W, i, j, (a, b, ih, iw) => { acc += X[((n * C + c0 + c) * H + ih) * W + iw]! * K[((o * Cg + c) * kh + a) * kw + b]!; });
          }
          out[((n * O + o) * Ho + i) * Wo + j] = acc;
        }
      }
      return out;
    },
    conv2dBackward(g, x, weight, w, groups, needs) {
      const G = readView(g, g.dtype), X = readView(x, x.dtype), K = readView(weight, weight.dtype);
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [O, Cg, kh, kw] = weight.shape as [number, number, number, number];
      const [Ho, Wo] = w.out, Og = O / groups;
      const dx = new Float64Array(X.length), dw = new Float64Array(K.length), db = new Float64Array(O);
      for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
        const c0 = Math.floor(o / Og) * Cg;
        for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
          const gv = G[((n * O + o) * Ho + i) * Wo + j]!;
          db[o] += gv;
          for (let c = 0; c < Cg; c++) {
            forEachTap(w, H, W, i, j, (a, b, ih, iw) => {
              const xi = ((n * C + c0 + c) * H + ih) * W + iw, wi = ((o * Cg + c) * kh + a) * kw + b;
              dx[xi] += gv * K[wi]!;
              dw[wi] += gv * X[xi]!;
            });
          }
        }
      }
      const cast = (v: Float64Array, need: boolean) => (need ? toDType(v, x.dtype) : null);
      return { dx: cast(dx, needs.input), dweight: cast(dw, needs.weight), dbias: cast(db, needs.bias) };
    },
    pool2d(kind, x, w) {
      const X = readView(x, x.dtype);
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [Ho, Wo] = w.out, area = w.kernel[0] * w.kernel[1];
      const y = allocArray(x.dtype, N * C * Ho * Wo), argmax = kind === 'max' ? new Int32Array(y.length) : null;
      for (let p = 0; p < N * C; p++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
        // As PyTorch: the first in-bounds tap starts the running max, a larger value or a NaN replaces it.
        let best = -Infinity, arg = -1, sum = 0;
        forEachTap(w, H, W, i, j, (_a, _b, ih, iw) => {
          const at = ih * W + iw, v = X[p * H * W + at]!;
          sum += v;
          if (arg < 0) arg = at;
          if (v > best || Number.isNaN(v)) { best = v; arg = at; }
        });
        const o = (p * Ho + i) * Wo + j;
        if (argmax) { y[o] = best; argmax[o] = arg; } else y[o] = sum / area;
      }
      return { y, argmax };
    },
    pool2dBackward(kind, g, inputShape, w, argmaxBuf) {
      const G = readView(g, g.dtype);
      const [N, C, H, W] = inputShape as [number, number, number, number];
      const [Ho, Wo] = w.out, area = w.kernel[0] * w.kernel[1];
      const dx = new Float64Array(N * C * H * W), argmax = argmaxBuf as Int32Array | null;
      for (let p = 0; p < N * C; p++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
        const o = (p * Ho + i) * Wo + j;
        if (kind === 'max') dx[p * H * W + argmax![o]!] += G[o]!;
        else forEachTap(w, H, W, i, j, (_a, _b, ih, iw) => { dx[p * H * W + ih * W + iw] += G[o]! / area; });
      }
      return toDType(dx, g.dtype);
    },
    batchNorm(x, weight, bias, eps) {
      const X = readView(x, x.dtype), Wt = weight && readView(weight, weight.dtype), Bs = bias && readView(bias, bias.dtype);
      const [N, C, L] = x.shape as [number, number, number];
      const y = allocArray(x.dtype, X.length), mean = allocArray(x.dtype, C), variance = allocArray(x.dtype, C);
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) s += X[(n * C + c) * L + l]!;
        const mu = s / (N * L);
        let v = 0;
        for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) { const d = X[(n * C + c) * L + l]! - mu; v += d * d; }
        v /= N * L;
        mean[c] = mu; variance[c] = v;
        const rs = 1 / Math.sqrt(v + eps);
        for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) {
          const i = (n * C + c) * L + l;
          y[i] = (X[i]! - mu) * rs * (Wt ? Wt[c]! : 1) + (Bs ? Bs[c]! : 0);
        }
      }
      return { y, mean, var: variance };
    },
    batchNormBackward(g, x, weight, meanBuf, varBuf, eps) {
      const G = readView(g, g.dtype), X = readView(x, x.dtype), Wt = weight && readView(weight, weight.dtype);
      const mean = meanBuf as TypedArray, variance = varBuf as TypedArray;
      const [N, C, L] = x.shape as [number, number, number];
      const M = N * L;
      const dx = allocArray(x.dtype, X.length), dweight = allocArray(x.dtype, C), dbias = allocArray(x.dtype, C);
      for (let c = 0; c < C; c++) {
        const mu = mean[c]!, rs = 1 / Math.sqrt(variance[c]! + eps);
        // dx = weight · rstd · (g - mean(g) - xhat · mean(g · xhat)), the batch statistics' own gradients included
        let sumG = 0, sumGX = 0;
        for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) {
          const i = (n * C + c) * L + l;
          sumG += G[i]!; sumGX += G[i]! * (X[i]! - mu) * rs;
        }
        dbias[c] = sumG; dweight[c] = sumGX;
        const k = (Wt ? Wt[c]! : 1) * rs;
        for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) {
          const i = (n * C + c) * L + l;
          dx[i] = k * (G[i]! - sumG / M - (X[i]! - mu) * rs * sumGX / M);
        }
      }
      return { dx, dweight, dbias };
    },
    batchNormRelu(x, weight, bias, eps, residual) {
      const r = backend.batchNorm!(x, weight, bias, eps) as { y: TypedArray; mean: TypedArray; var: TypedArray };
      const R = residual && readView(residual, residual.dtype);
      for (let i = 0; i < r.y.length; i++) { const v = r.y[i]! + (R ? R[i]! : 0); r.y[i] = v > 0 ? v : 0; }
      return r;
    },
    batchNormReluBackward(g, x, y, weight, mean, variance, eps, residual) {
      const G = readView(g, g.dtype), Y = y as TypedArray;
      const masked = allocArray(g.dtype, G.length);
      for (let i = 0; i < G.length; i++) masked[i] = Y[i]! > 0 ? G[i]! : 0;
      const view = { buf: masked, dtype: g.dtype, shape: g.shape, strides: contiguousStrides(g.shape), offset: 0 };
      return { ...backend.batchNormBackward!(view, x, weight, mean, variance, eps), dresidual: residual ? masked : null };
    },
    adamw(param, grad, m, v, size, o: AdamWStep) {
      const p = param as TypedArray, g = readView(grad, grad.dtype), M = m as TypedArray, V = v as TypedArray;
      const bc1 = 1 - Math.pow(o.beta1, o.step), bc2 = 1 - Math.pow(o.beta2, o.step);
      for (let i = 0; i < size; i++) {
        p[i] = p[i]! * (1 - o.lr * o.weightDecay);
        M[i] = o.beta1 * M[i]! + (1 - o.beta1) * g[i]!;
        V[i] = o.beta2 * V[i]! + (1 - o.beta2) * g[i]! * g[i]!;
        p[i] = p[i]! - (o.lr / bc1) * M[i]! / (Math.sqrt(V[i]! / bc2) + o.eps);
      }
    },
  };
  return backend;
}

/** A float64 accumulator as a new array of `dtype`. */
function toDType(v: Float64Array, dtype: DType): TypedArray {
  const out = allocArray(dtype, v.length);
  out.set(v);
  return out;
}

function readView(x: View, dtype: DType): TypedArray {
  const src = arr(x);
  const n = sizeOf(x.shape);
  if (isContiguous(x.shape, x.strides) && dtype === x.dtype) return src.slice(x.offset, x.offset + n);
  const offs = elementOffsets(x);
  const out = allocArray(dtype, n);
  for (let i = 0; i < n; i++) out[i] = src[offs[i]!]!;
  return out;
}
