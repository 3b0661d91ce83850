// The fast CPU backend's image kernels: convolution as im2col + the kernel set's GEMM (native or WebAssembly), and
// the loops around it (im2col, pooling, batch normalisation): native where the addon is built, else TypeScript.
// float32 only; other dtypes go to the reference.
//
// Layout: the columns of a convolution are [C·kh·kw, N·Ho·Wo] (Caffe's im2col, all images side by side), so the
// forward pass is one product per group, W [O, C·kh·kw] · cols, whose rows are the output channels; the weight
// gradient is one product over all N·Ho·Wo pixels (over the patches as rows, im2row), and the input gradient one
// product followed by col2im. Where the native addon has its direct convolution (native/conv.h), convolutions with
// one group go there instead, whole: no columns at all.
import type { Backend, Conv2dNeeds, View, Window2d } from '../backend.js';
import type { Operand3 } from './kernels.js';

/** What the image kernels need from the backend they join. */
export interface ImageKernelHost {
  /** The kernel set's batched GEMM (see CpuKernels.matmul), into `into` where it can write there, else a new array. */
  matmul(a: Operand3, b: Operand3, into?: Float32Array): Float32Array;
  /** A float32 view's elements in row-major order (no copy when dense). */
  dense(x: View): Float32Array;
  /** For dtypes other than float32. */
  reference: Backend;
  /** The native loops, where the addon has them; else the TypeScript ones below. */
  native?: ImageLoops | null;
}

/** The loops around the GEMMs, over contiguous float32 arrays; native code implements the same set. */
export interface ImageLoops {
  /** x [N, C, H, W] into cols [C·kh·kw, N·Ho·Wo] (zeros where taps read the padding), written whole into `out`. */
  im2col(x: Float32Array, N: number, C: number, H: number, W: number, w: Window2d, out: Float32Array): void;
  /** x [N, C, H, W] into rows [N·Ho·Wo, C·kh·kw] in `out`: the transpose of im2col, built directly (the weight gradient reads it row by row). */
  im2row(x: Float32Array, N: number, C: number, H: number, W: number, w: Window2d, out: Float32Array): void;
  /** The adjoint of im2col: cols [C·kh·kw, N·Ho·Wo] summed back into a new dx [N, C, H, W]. */
  col2im(cols: Float32Array, N: number, C: number, H: number, W: number, w: Window2d): Float32Array;
  /** Pooling over each of the `planes` H×W planes of x (see Backend.pool2d); argmax only for max. */
  pool(kind: 'max' | 'avg', x: Float32Array, planes: number, H: number, W: number, w: Window2d): { y: Float32Array; argmax: Int32Array | null };
  /** The pooling's input gradient. */
  poolBackward(kind: 'max' | 'avg', g: Float32Array, planes: number, H: number, W: number, w: Window2d, argmax: Int32Array | null): Float32Array;
  /** Training-mode batch norm of x [N, C, L] (see Backend.batchNorm). */
  batchNorm(x: Float32Array, N: number, C: number, L: number, w: Float32Array | null, b: Float32Array | null, eps: number): { y: Float32Array; mean: Float32Array; var: Float32Array };
  /** Its gradients (see Backend.batchNormBackward). */
  batchNormBackward(g: Float32Array, x: Float32Array, N: number, C: number, L: number, w: Float32Array | null, mean: Float32Array, variance: Float32Array, eps: number):
    { dx: Float32Array; dweight: Float32Array; dbias: Float32Array };
  /** batchNorm with the residual added and the ReLU applied (see Backend.batchNormRelu). */
  batchNormRelu(x: Float32Array, N: number, C: number, L: number, w: Float32Array | null, b: Float32Array | null, eps: number, residual: Float32Array | null):
    { y: Float32Array; mean: Float32Array; var: Float32Array };
  /** Its gradients from g and its output y (see Backend.batchNormReluBackward). */
  batchNormReluBackward(g: Float32Array, x: Float32Array, y: Float32Array, N: number, C: number, L: number, w: Float32Array | null, mean: Float32Array,
    variance: Float32Array, eps: number, residual: boolean): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array; dresidual: Float32Array | null };
  /**
   * dst[b][a] = src[a][b] (+ bias[a]) for blocks of P of src [A, B, P], and with `sums`, each b's total over a and P:
   * the product [O, N, P] to NCHW with the bias, and the output gradient back with the bias gradient. Into `out`
   * when given, else a new array.
   */
  swapBlocks(src: Float32Array, A: number, B: number, P: number, bias: Float32Array | null, sums: boolean, out?: Float32Array): { dst: Float32Array; sums: Float32Array | null };
  /**
   * A whole convolution with one group, x [N, C, H, W] and weight [O, C, kh, kw] to y [N, O, Ho, Wo] (+ bias), with
   * no columns (the native direct convolution, native/conv.h); absent where only im2col and the GEMM are on offer.
   */
  conv2d?(x: Float32Array, N: number, C: number, H: number, W: number, weight: Float32Array, O: number, bias: Float32Array | null, w: Window2d): Float32Array;
  /** Its gradients, each computed only when asked for. */
  conv2dBackward?(g: Float32Array, x: Float32Array, weight: Float32Array, N: number, C: number, H: number, W: number, O: number, w: Window2d, needs: Conv2dNeeds):
    { dx: Float32Array | null; dweight: Float32Array | null; dbias: Float32Array | null };
}

/** The range of output columns j whose tap at offset `tap` (b·dilation - padding) lands inside [0, W). */
function validRange(Wo: number, W: number, stride: number, tap: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-tap / stride));
  const hi = Math.min(Wo, Math.floor((W - 1 - tap) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** The TypeScript loops, for the WebAssembly kernel set (and wherever the native addon lacks one). */
export const imageLoops: ImageLoops = {
  im2col(x, N, C, H, W, w, cols) {
    const [kh, kw] = w.kernel, [sh, sw] = w.stride, [ph, pw] = w.padding, [dh, dw] = w.dilation, [Ho, Wo] = w.out;
    const P = Ho * Wo, NP = N * P;
    cols.fill(0);
    for (let c = 0; c < C; c++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
      const row = ((c * kh + a) * kw + b) * NP;
      const tapW = b * dw - pw;
      const [jlo, jhi] = validRange(Wo, W, sw, tapW);
      for (let n = 0; n < N; n++) {
        const plane = (n * C + c) * H * W;
        for (let i = 0; i < Ho; i++) {
          const ih = i * sh - ph + a * dh;
          if (ih < 0 || ih >= H) continue;
          const src = plane + ih * W + tapW, dst = row + n * P + i * Wo;
          for (let j = jlo; j < jhi; j++) cols[dst + j] = x[src + j * sw]!;
        }
      }
    }
  },
  im2row(x, N, C, H, W, w, rows) {
    const [kh, kw] = w.kernel, [sh, sw] = w.stride, [ph, pw] = w.padding, [dh, dw] = w.dilation, [Ho, Wo] = w.out;
    const K = C * kh * kw;
    rows.fill(0);
    for (let n = 0; n < N; n++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
      const row = ((n * Ho + i) * Wo + j) * K;
      for (let c = 0; c < C; c++) for (let a = 0; a < kh; a++) {
        const ih = i * sh - ph + a * dh;
        if (ih < 0 || ih >= H) continue;
        const src = ((n * C + c) * H + ih) * W, dst = row + (c * kh + a) * kw;
        for (let b = 0; b < kw; b++) {
          const iw = j * sw - pw + b * dw;
          if (iw >= 0 && iw < W) rows[dst + b] = x[src + iw]!;
        }
      }
    }
  },
  col2im(cols, N, C, H, W, w) {
    const [kh, kw] = w.kernel, [sh, sw] = w.stride, [ph, pw] = w.padding, [dh, dw] = w.dilation, [Ho, Wo] = w.out;
    const P = Ho * Wo, NP = N * P;
    const dx = new Float32Array(N * C * H * W);
    for (let c = 0; c < C; c++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
      const row = ((c * kh + a) * kw + b) * NP;
      const tapW = b * dw - pw;
      const [jlo, jhi] = validRange(Wo, W, sw, tapW);
      for (let n = 0; n < N; n++) {
        const plane = (n * C + c) * H * W;
        for (let i = 0; i < Ho; i++) {
          const ih = i * sh - ph + a * dh;
          if (ih < 0 || ih >= H) continue;
          const dst = plane + ih * W + tapW, src = row + n * P + i * Wo;
          for (let j = jlo; j < jhi; j++) dx[dst + j * sw] += cols[src + j]!;
        }
      }
    }
    return dx;
  },
  pool(kind, x, planes, H, W, w) {
    const [kh, kw] = w.kernel, [sh, sw] = w.stride, [ph, pw] = w.padding, [dh, dw] = w.dilation, [Ho, Wo] = w.out;
    const y = new Float32Array(planes * Ho * Wo), argmax = kind === 'max' ? new Int32Array(y.length) : null;
    const inv = 1 / (kh * kw);
    for (let p = 0; p < planes; p++) {
      const base = p * H * W;
      for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
        const o = (p * Ho + i) * Wo + j;
        let best = -Infinity, arg = -1, sum = 0;
        for (let a = 0; a < kh; a++) {
          const ih = i * sh - ph + a * dh;
          if (ih < 0 || ih >= H) continue;
          for (let b = 0; b < kw; b++) {
            const iw = j * sw - pw + b * dw;
            if (iw < 0 || iw >= W) continue;
            const at = ih * W + iw, v = x[base + at]!;
            sum += v;
            if (arg < 0) arg = at;
            if (v > best || v !== v) { best = v; arg = at; }
          }
        }
        if (argmax) { y[o] = best; argmax[o] = arg; } else y[o] = sum * inv;
      }
    }
    return { y, argmax };
  },
  poolBackward(kind, g, planes, H, W, w, argmax) {
    const [kh, kw] = w.kernel, [sh, sw] = w.stride, [ph, pw] = w.padding, [dh, dw] = w.dilation, [Ho, Wo] = w.out;
    const dx = new Float32Array(planes * H * W);
    const inv = 1 / (kh * kw);
    for (let p = 0; p < planes; p++) {
      const base = p * H * W;
      for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
        const o = (p * Ho + i) * Wo + j;
        if (kind === 'max') { dx[base + argmax![o]!] += g[o]!; continue; }
        const gv = g[o]! * inv;
        for (let a = 0; a < kh; a++) {
          const ih = i * sh - ph + a * dh;
          if (ih < 0 || ih >= H) continue;
          for (let b = 0; b < kw; b++) {
            const iw = j * sw - pw + b * dw;
            if (iw >= 0 && iw < W) dx[base + ih * W + iw] += gv;
          }
        }
      }
    }
    return dx;
  },
  batchNorm(X, N, C, L, Wt, Bs, eps) {
    const y = new Float32Array(X.length), mean = new Float32Array(C), variance = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      // Two passes in double precision: the variance of large-mean activations stays accurate.
      let s = 0;
      for (let n = 0; n < N; n++) { const o = (n * C + c) * L; for (let l = 0; l < L; l++) s += X[o + l]!; }
      const mu = s / (N * L);
      let v = 0;
      for (let n = 0; n < N; n++) { const o = (n * C + c) * L; for (let l = 0; l < L; l++) { const d = X[o + l]! - mu; v += d * d; } }
      v /= N * L;
      mean[c] = mu; variance[c] = v;
      const k = (Wt ? Wt[c]! : 1) / Math.sqrt(v + eps), shift = (Bs ? Bs[c]! : 0) - mu * k;
      for (let n = 0; n < N; n++) { const o = (n * C + c) * L; for (let l = 0; l < L; l++) y[o + l] = X[o + l]! * k + shift; }
    }
    return { y, mean, var: variance };
  },
  batchNormBackward(G, X, N, C, L, Wt, mean, variance, eps) {
    const M = N * L;
    const dx = new Float32Array(X.length), dweight = new Float32Array(C), dbias = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      const mu = mean[c]!, rs = 1 / Math.sqrt(variance[c]! + eps);
      let sg = 0, sgx = 0;
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * L;
        for (let l = 0; l < L; l++) { const gv = G[o + l]!; sg += gv; sgx += gv * (X[o + l]! - mu); }
      }
      sgx *= rs;
      dbias[c] = sg; dweight[c] = sgx;
      // dx = k·(g - mean(g) - x̂·mean(g·x̂)) with k = weight·rstd, written as k·g + b·x + d.
      const k = (Wt ? Wt[c]! : 1) * rs, b = -k * rs * sgx / M, d = -k * sg / M - b * mu;
      for (let n = 0; n < N; n++) { const o = (n * C + c) * L; for (let l = 0; l < L; l++) dx[o + l] = k * G[o + l]! + b * X[o + l]! + d; }
    }
    return { dx, dweight, dbias };
  },
  batchNormRelu(X, N, C, L, Wt, Bs, eps, R) {
    const r = imageLoops.batchNorm(X, N, C, L, Wt, Bs, eps);
    const y = r.y;
    for (let i = 0; i < y.length; i++) { const v = y[i]! + (R ? R[i]! : 0); y[i] = v > 0 ? v : 0; }
    return r;
  },
  batchNormReluBackward(G, X, Y, N, C, L, Wt, mean, variance, eps, residual) {
    const masked = new Float32Array(G.length);
    for (let i = 0; i < G.length; i++) masked[i] = Y[i]! > 0 ? G[i]! : 0;
    return { ...imageLoops.batchNormBackward(masked, X, N, C, L, Wt, mean, variance, eps), dresidual: residual ? masked : null };
  },
  swapBlocks(src, A, B, P, bias, withSums, out) {
    const dst = out ?? new Float32Array(A * B * P), sums = withSums ? new Float32Array(B) : null;
    for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) {
      const s = (a * B + b) * P, d = (b * A + a) * P, add = bias ? bias[a]! : 0;
      let total = 0;
      for (let p = 0; p < P; p++) { const v = src[s + p]!; dst[d + p] = v + add; total += v; }
      if (sums) sums[b] += total;
    }
    return { dst, sums };
  },
};

/**
 * Reused arrays for the temporaries that never outlive a kernel call (columns, rows, the transposed output
 * gradient): fresh ones, tens of megabytes a training step, cost page faults and garbage collections. They stay at
 * the largest size asked for.
 */
const scratch: Float32Array[] = [];
/** Slot 0 holds columns or rows, 1 the transposed output gradient, 2 a product consumed in the same call. */
function scratchArray(slot: 0 | 1 | 2, n: number): Float32Array {
  let buf = scratch[slot];
  if (!buf || buf.length < n) scratch[slot] = buf = new Float32Array(n);
  return buf.subarray(0, n);
}

/** The image kernels of the fast CPU backend (see the file's header). */
export function createImageKernels(host: ImageKernelHost):
  Required<Pick<Backend, 'conv2d' | 'conv2dBackward' | 'pool2d' | 'pool2dBackward' | 'batchNorm' | 'batchNormBackward' | 'batchNormRelu' | 'batchNormReluBackward'>> {
  const { matmul, dense, reference } = host;
  const loops = host.native ?? imageLoops;
  return {
    conv2d(x, weight, bias, w, groups) {
      if (x.dtype !== 'float32') return reference.conv2d!(x, weight, bias, w, groups);
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [O, Cg, kh, kw] = weight.shape as [number, number, number, number];
      if (groups === 1 && loops.conv2d) return loops.conv2d(dense(x), N, C, H, W, dense(weight), O, bias && dense(bias), w);
      const P = w.out[0] * w.out[1], NP = N * P, K = Cg * kh * kw, Og = O / groups;
      const cols = scratchArray(0, C * kh * kw * NP);
      loops.im2col(dense(x), N, C, H, W, w, cols);
      // [G, Og, K] · [G, K, N·P] = [O, N·P]: every image's output channels side by side.
      const Bs = bias && dense(bias);
      // With one image and no bias the product is the output itself; else a temporary for swapBlocks.
      const direct = N === 1 && !Bs;
      const yT = matmul({ data: dense(weight), shape: [groups, Og, K], strides: [Og * K, K, 1], offset: 0 },
        { data: cols, shape: [groups, K, NP], strides: [K * NP, NP, 1], offset: 0 }, direct ? undefined : scratchArray(2, O * NP));
      return direct ? yT : loops.swapBlocks(yT, O, N, P, Bs, false).dst;
    },
    conv2dBackward(g, x, weight, w, groups, needs) {
      if (x.dtype !== 'float32') return reference.conv2dBackward!(g, x, weight, w, groups, needs);
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [O, Cg, kh, kw] = weight.shape as [number, number, number, number];
      if (groups === 1 && loops.conv2dBackward) return loops.conv2dBackward(dense(g), dense(x), dense(weight), N, C, H, W, O, w, needs);
      const P = w.out[0] * w.out[1], NP = N * P, K = Cg * kh * kw, Og = O / groups;
      // g [N, O, P] to gT [O, N·P] (the layout of the forward's product), summing the bias gradient on the way.
      const { dst: gT, sums: dbias } = loops.swapBlocks(dense(g), N, O, P, null, needs.bias, N === 1 ? undefined : scratchArray(1, O * NP));
      const gOp = { data: gT, shape: [groups, Og, NP] as const, strides: [Og * NP, NP, 1] as const, offset: 0 };
      let dweight: Float32Array | null = null, dx: Float32Array | null = null;
      if (needs.weight) {
        // [G, Og, N·P] · [G, N·P, K] = [O, K], over the patches as rows: the product reads its second operand row by
        // row (the columns read through transposed strides made it 3-4x slower).
        const rows = scratchArray(0, NP * C * kh * kw);
        loops.im2row(dense(x), N, C, H, W, w, rows);
        dweight = matmul(gOp, { data: rows, shape: [groups, NP, K], strides: [K, C * kh * kw, 1], offset: 0 });
      }
      if (needs.input) {
        // [G, K, Og] (the weight transposed) · [G, Og, N·P] = the columns' gradient [C·kh·kw, N·P].
        const dcols = matmul({ data: dense(weight), shape: [groups, K, Og], strides: [Og * K, 1, K], offset: 0 }, gOp, scratchArray(2, C * kh * kw * NP));
        dx = loops.col2im(dcols, N, C, H, W, w);
      }
      return { dx, dweight, dbias };
    },
    pool2d(kind, x, w) {
      if (x.dtype !== 'float32') return reference.pool2d!(kind, x, w);
      const [N, C, H, W] = x.shape as [number, number, number, number];
      return loops.pool(kind, dense(x), N * C, H, W, w);
    },
    pool2dBackward(kind, g, inputShape, w, argmax) {
      if (g.dtype !== 'float32') return reference.pool2dBackward!(kind, g, inputShape, w, argmax);
      const [N, C, H, W] = inputShape as [number, number, number, number];
      return loops.poolBackward(kind, dense(g), N * C, H, W, w, argmax as Int32Array | null);
    },
    batchNorm(x, weight, bias, eps) {
      if (x.dtype !== 'float32') return reference.batchNorm!(x, weight, bias, eps);
      const [N, C, L] = x.shape as [number, number, number];
      return loops.batchNorm(dense(x), N, C, L, weight && dense(weight), bias && dense(bias), eps);
    },
    batchNormBackward(g, x, weight, mean, variance, eps) {
      if (x.dtype !== 'float32') return reference.batchNormBackward!(g, x, weight, mean, variance, eps);
      const [N, C, L] = x.shape as [number, number, number];
      return loops.batchNormBackward(dense(g), dense(x), N, C, L, weight && dense(weight), mean as Float32Array, variance as Float32Array, eps);
    },
    batchNormRelu(x, weight, bias, eps, residual) {
      if (x.dtype !== 'float32') return reference.batchNormRelu!(x, weight, bias, eps, residual);
      const [N, C, L] = x.shape as [number, number, number];
      return loops.batchNormRelu(dense(x), N, C, L, weight && dense(weight), bias && dense(bias), eps, residual && dense(residual));
    },
    batchNormReluBackward(g, x, y, weight, mean, variance, eps, residual) {
      if (x.dtype !== 'float32') return reference.batchNormReluBackward!(g, x, y, weight, mean, variance, eps, residual);
      const [N, C, L] = x.shape as [number, number, number];
      return loops.batchNormReluBackward(dense(g), dense(x), y as Float32Array, N, C, L, weight && dense(weight), mean as Float32Array, variance as Float32Array, eps, residual);
    },
  };
}
