// The native kernels (native/kernels.cc, built at install into build/native/kernels.node by scripts/build-native.mjs)
// behind the same methods as the WebAssembly kernels. They work in place on the tensors' own arrays: no staging
// copies. Loaded only in Node, only when the build succeeded, and not when PRETRAIN_NATIVE=0.
import { env, isNode, node, packageFile } from '../../platform/node.js';
import type { AdamWStep, BinaryOp, View } from '../backend.js';
import { sizeOf } from '../../tensor/shape.js';
import { VEC_OPS, type AttentionShape, type CpuKernels, type LstmSaved, type LstmpSaved, type Operand3, type Operand4 } from './kernels.js';
import type { ImageLoops } from './image.js';
import type { Conv2dNeeds, Window2d } from '../backend.js';

interface Addon {
  sgemm(batch: number, M: number, N: number, K: number, a: Float32Array, aOffset: number, as0: number, as1: number, as2: number,
    b: Float32Array, bOffset: number, bs0: number, bs1: number, bs2: number, out: Float32Array, bias?: Float32Array | null): void;
  unary(op: number, x: Float32Array, y: Float32Array, n: number): void;
  softmaxRows(x: Float32Array, y: Float32Array, rows: number, n: number, log: number): void;
  crossEntropyRows(x: Float32Array, target: Int32Array, loss: Float32Array, lse: Float32Array, rows: number, n: number, ignore: number, smoothing: number): number;
  crossEntropyGradRows(x: Float32Array, target: Int32Array, lse: Float32Array, grad: Float32Array, dx: Float32Array, rows: number, n: number, ignore: number, smoothing: number): void;
  layerNormRows(x: Float32Array, w: Float32Array | null, b: Float32Array | null, y: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, n: number, eps: number): void;
  layerNormGradRows(g: Float32Array, x: Float32Array, w: Float32Array | null, mean: Float32Array, rstd: Float32Array, dx: Float32Array, dw: Float32Array, db: Float32Array, rows: number, n: number): void;
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, keep: number, beta1: number, c1: number, beta2: number, c2: number, stepSize: number, inv2: number, eps: number): void;
  attention(meta: Float64Array, q: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array | null, out: Float32Array, weights: Float32Array): void;
  attentionBackward(meta: Float64Array, dOut: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, weights: Float32Array,
    dq: Float32Array, dk: Float32Array, dv: Float32Array): void;
  binary(op: number, meta: Float64Array, out: Float32Array, a: Float32Array, b: Float32Array): boolean;
  where(meta: Float64Array, out: Float32Array, cond: Float32Array | Int32Array, condIsInt: number, a: Float32Array, b: Float32Array): void;
  copy(meta: Float64Array, out: Float32Array | Int32Array, x: Float32Array | Int32Array): void;
  reduceBlock(op: number, x: Float32Array, out: Float32Array, outer: number, red: number, inner: number): void;
  lstm(meta: Float64Array, xw: Float32Array, w: Float32Array, bias: Float32Array | null, h0: Float32Array, c0: Float32Array, mask: Float32Array | null,
    out: Float32Array, acts: Float32Array, cNew: Float32Array, hPrev: Float32Array, cPrev: Float32Array): void;
  lstmBackward(meta: Float64Array, grad: Float32Array, w: Float32Array, mask: Float32Array | null, acts: Float32Array, cNew: Float32Array, hPrev: Float32Array,
    cPrev: Float32Array, dxw: Float32Array, dw: Float32Array, db: Float32Array | null, dh0: Float32Array, dc0: Float32Array): void;
  // The LSTMP recurrence, absent from an addon built before it (the composite stands in). meta: [B, T, H, P, cellClip, projClip], an infinite bound for none.
  lstmp?(meta: Float64Array, xw: Float32Array, w: Float32Array, bias: Float32Array | null, wr: Float32Array, r0: Float32Array, c0: Float32Array,
    mask: Float32Array | null, out: Float32Array, acts: Float32Array, cRaw: Float32Array, hNew: Float32Array, rPrev: Float32Array, cPrev: Float32Array,
    rRaw: Float32Array | null): void;
  lstmpBackward?(meta: Float64Array, grad: Float32Array, w: Float32Array, wr: Float32Array, mask: Float32Array | null, acts: Float32Array, cRaw: Float32Array,
    hNew: Float32Array, rPrev: Float32Array, cPrev: Float32Array, rRaw: Float32Array | null, dxw: Float32Array, dw: Float32Array, db: Float32Array | null,
    dwr: Float32Array, dr0: Float32Array, dc0: Float32Array): void;
  scatterRows(out: Float32Array, rows: number, D: number, idx: Int32Array, idxOffset: number, idxStride: number, N: number, src: Float32Array): number;
  // Seeded uniform draws in [0, 1) (tensor/random.ts's uniformAt), absent from an addon built before them.
  uniform?(key: number, out: Float32Array, n: number): void;
  setThreads(n: number): number;
  info(): { vectorBits: number; tile: number };
  // The image kernels, absent from an addon built before them (the TypeScript loops stand in).
  im2col?(x: Float32Array, N: number, C: number, H: number, W: number, window: Float64Array, cols: Float32Array): void;
  im2row?(x: Float32Array, N: number, C: number, H: number, W: number, window: Float64Array, rows: Float32Array): void;
  col2im?(cols: Float32Array, N: number, C: number, H: number, W: number, window: Float64Array, dx: Float32Array): void;
  pool2d?(kind: number, x: Float32Array, planes: number, H: number, W: number, window: Float64Array, y: Float32Array, argmax: Int32Array | null): void;
  pool2dBackward?(kind: number, g: Float32Array, planes: number, H: number, W: number, window: Float64Array, argmax: Int32Array | null, dx: Float32Array): void;
  batchNorm?(x: Float32Array, N: number, C: number, L: number, w: Float32Array | null, b: Float32Array | null, eps: number, y: Float32Array, mean: Float32Array, variance: Float32Array): void;
  batchNormBackward?(g: Float32Array, x: Float32Array, N: number, C: number, L: number, w: Float32Array | null, mean: Float32Array, variance: Float32Array, eps: number,
    dx: Float32Array, dw: Float32Array, db: Float32Array): void;
  swapBlocks?(src: Float32Array, A: number, B: number, P: number, bias: Float32Array | null, dst: Float32Array, sums: Float32Array | null): void;
  batchNormRelu?(x: Float32Array, N: number, C: number, L: number, w: Float32Array | null, b: Float32Array | null, eps: number, y: Float32Array, mean: Float32Array,
    variance: Float32Array, residual: Float32Array | null): void;
  batchNormReluBackward?(g: Float32Array, x: Float32Array, y: Float32Array, N: number, C: number, L: number, w: Float32Array | null, mean: Float32Array, variance: Float32Array,
    eps: number, dx: Float32Array, dw: Float32Array, db: Float32Array, dres: Float32Array | null): void;
  // Direct convolution with one group (native/conv.h), absent from an addon built before it.
  conv2d?(x: Float32Array, N: number, C: number, H: number, W: number, weight: Float32Array, O: number, bias: Float32Array | null, window: Float64Array, y: Float32Array): void;
  conv2dBackward?(g: Float32Array, x: Float32Array, weight: Float32Array, N: number, C: number, H: number, W: number, O: number, window: Float64Array,
    dx: Float32Array | null, dweight: Float32Array | null, dbias: Float32Array | null): void;
}

let addon: Addon | null | undefined;

/** The native addon, or null where it is not built, cannot load, or PRETRAIN_NATIVE=0 turns it off. */
export function loadNativeAddon(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (!isNode || env('PRETRAIN_NATIVE') === '0') return addon;
  const file = packageFile('build', 'native', 'kernels.node');
  if (!node('fs', 'the native kernels').existsSync(file)) return addon;
  try {
    addon = node('module', 'the native kernels').createRequire(import.meta.url)(file) as Addon;
  } catch (e) {
    console.warn(`pretrain: ${file} did not load (${(e as Error).message}); using the WebAssembly kernels`);
  }
  return addon;
}

/** The native kernels on a process-wide pool of native threads (its size is fixed by the first instance). */
export class NativeKernels implements CpuKernels {
  readonly threads: number;
  /** The vector width the addon was compiled for, in bits (512 with AVX-512, 256 with AVX2, 128 otherwise). */
  readonly vectorBits: number;
  readonly description: string;
  /** The LSTMP recurrence (see CpuKernels.lstmp), absent where the addon was built before it. */
  readonly lstmp?: CpuKernels['lstmp'];
  readonly lstmpBackward?: CpuKernels['lstmpBackward'];

  constructor(private readonly k: Addon, threads: number) {
    this.threads = k.setThreads(Math.max(1, Math.floor(threads)));
    this.vectorBits = k.info().vectorBits;
    this.description = `native ${this.vectorBits}-bit SIMD, ${this.threads} threads`;
    if (k.lstmp && k.lstmpBackward) {
      this.lstmp = this.lstmpForward;
      this.lstmpBackward = this.lstmpGradients;
    }
  }

  /** out[b] = A[b] · B[b] (+ bias, a contiguous [N], on every row) as a new [Bt, M, N] array, or into `into`. */
  matmul(a: Operand3, b: Operand3, bias: Float32Array | null = null, into?: Float32Array): Float32Array {
    const [Bt, M, K] = a.shape;
    const N = b.shape[2];
    const out = into ?? uninit(Bt * M * N);
    this.k.sgemm(Bt, M, N, K, a.data, a.offset, a.strides[0], a.strides[1], a.strides[2], b.data, b.offset, b.strides[0], b.strides[1], b.strides[2], out, bias);
    return out;
  }

  unary(op: keyof typeof VEC_OPS, x: Float32Array): Float32Array {
    const y = uninit(x.length);
    this.k.unary(VEC_OPS[op], x, y, x.length);
    return y;
  }

  softmax(x: Float32Array, n: number, log: boolean): Float32Array {
    const y = uninit(x.length);
    this.k.softmaxRows(x, y, n === 0 ? 0 : x.length / n, n, log ? 1 : 0);
    return y;
  }

  crossEntropy(x: Float32Array, target: Int32Array, n: number, ignore: number, smoothing: number): { loss: Float32Array; lse: Float32Array } {
    const rows = target.length;
    const loss = uninit(rows), lse = uninit(rows);
    const bad = this.k.crossEntropyRows(x, target, loss, lse, rows, n, ignore, smoothing);
    if (bad >= 0) throw new RangeError(`crossEntropy: index ${target[bad]} is out of range [0, ${n}) along axis 1`);
    return { loss, lse };
  }

  crossEntropyGrad(x: Float32Array, target: Int32Array, lse: Float32Array, grad: Float32Array, n: number, ignore: number, smoothing: number): Float32Array {
    const dx = uninit(x.length);
    this.k.crossEntropyGradRows(x, target, lse, grad, dx, target.length, n, ignore, smoothing);
    return dx;
  }

  layerNorm(x: Float32Array, w: Float32Array | null, b: Float32Array | null, n: number, eps: number): { y: Float32Array; mean: Float32Array; rstd: Float32Array } {
    const rows = n === 0 ? 0 : x.length / n;
    const y = uninit(x.length), mean = uninit(rows), rstd = uninit(rows);
    this.k.layerNormRows(x, w, b, y, mean, rstd, rows, n, eps);
    return { y, mean, rstd };
  }

  layerNormGrad(g: Float32Array, x: Float32Array, w: Float32Array | null, mean: Float32Array, rstd: Float32Array, n: number): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array } {
    const rows = n === 0 ? 0 : x.length / n;
    const dx = uninit(x.length), dweight = uninit(n), dbias = uninit(n);
    this.k.layerNormGradRows(g, x, w, mean, rstd, dx, dweight, dbias, rows, n);
    return { dx, dweight, dbias };
  }

  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, o: AdamWStep): void {
    // The coefficients in double precision, as the WebAssembly kernel takes them (see assembly/vecmath.ts adamw).
    this.k.adamw(param, grad, m, v, grad.length, 1 - o.lr * o.weightDecay, o.beta1, 1 - o.beta1, o.beta2, 1 - o.beta2,
      o.lr / (1 - Math.pow(o.beta1, o.step)), 1 / (1 - Math.pow(o.beta2, o.step)), o.eps);
  }

  /** op(a, b) over float32 views broadcast to `shape`, or null where there is no native kernel (pow, > 8 dims). */
  binary(op: BinaryOp, a: View, b: View, shape: readonly number[]): Float32Array | null {
    const code = BINARY_CODES[op];
    const meta = code === undefined ? null : walkMeta(shape, [null, a, b]);
    if (!meta) return null;
    const out = uninit(sizeOf(shape));
    this.k.binary(code!, meta, out, a.buf as Float32Array, b.buf as Float32Array);
    return out;
  }

  /** cond ? a : b for float32 a, b and a float32 or int32 condition; null where the walker cannot take it. */
  where(cond: View, a: View, b: View, shape: readonly number[]): Float32Array | null {
    const meta = walkMeta(shape, [null, cond, a, b]);
    if (!meta) return null;
    const out = uninit(sizeOf(shape));
    this.k.where(meta, out, cond.buf as Float32Array | Int32Array, cond.dtype === 'int32' ? 1 : 0, a.buf as Float32Array, b.buf as Float32Array);
    return out;
  }

  /** Copies the view `x` into `out` (4-byte elements), at `dst`'s strides and offset or contiguously; false if it cannot. */
  copy(x: View, out: Float32Array | Int32Array, dst: WalkView = null): boolean {
    const meta = walkMeta(x.shape, [dst, x]);
    if (!meta) return false;
    this.k.copy(meta, out, x.buf as Float32Array | Int32Array);
    return true;
  }

  /** n seeded draws in [0, 1), uniformAt(key, i) bit for bit, or null where the addon predates the kernel. */
  uniform(key: number, n: number): Float32Array | null {
    if (!this.k.uniform) return null;
    const out = uninit(n);
    this.k.uniform(key, out, n);
    return out;
  }

  /** Sum, max or min over the middle axis of a contiguous float32 [outer, red, inner] array (red >= 1). */
  reduceBlock(op: 'sum' | 'max' | 'min', x: Float32Array, outer: number, red: number, inner: number): Float32Array {
    const out = uninit(outer * inner);
    this.k.reduceBlock(REDUCE_CODES[op], x, out, outer, red, inner);
    return out;
  }

  /**
   * One LSTM layer's recurrence over contiguous arrays (see Backend.lstmSequence): the packed [B, T + 2, H] result
   * and the saved gate activations, cell values and incoming states.
   */
  lstm(B: number, T: number, H: number, xw: Float32Array, w: Float32Array, bias: Float32Array | null, h0: Float32Array, c0: Float32Array, mask: Float32Array | null): { packed: Float32Array; saved: LstmSaved } {
    const packed = uninit(B * (T + 2) * H);
    const saved: LstmSaved = { B, T, H, acts: uninit(B * T * 4 * H), cNew: uninit(B * T * H), hPrev: uninit(B * T * H), cPrev: uninit(B * T * H) };
    this.k.lstm(Float64Array.of(B, T, H), xw, w, bias, h0, c0, mask, packed, saved.acts, saved.cNew, saved.hPrev, saved.cPrev);
    return { packed, saved };
  }

  /** The LSTM recurrence's gradients from the packed result's gradient (see Backend.lstmSequenceBackward). */
  lstmBackward(grad: Float32Array, w: Float32Array, mask: Float32Array | null, s: LstmSaved, hasBias: boolean) {
    const { B, T, H } = s;
    const dxw = uninit(B * T * 4 * H), dw = uninit(4 * H * H), db = new Float32Array(4 * H);
    const dh0 = uninit(B * H), dc0 = uninit(B * H);
    this.k.lstmBackward(Float64Array.of(B, T, H), grad, w, mask, s.acts, s.cNew, s.hPrev, s.cPrev, dxw, dw, hasBias ? db : null, dh0, dc0);
    return { dxw, dw, db, dh0, dc0 };
  }

  /**
   * One LSTMP layer's recurrence over contiguous arrays (see Backend.lstmpSequence): the packed [B, T·P + P + H]
   * result and the saved activations, cells, states and (with a projection clip) unclipped projections.
   */
  private lstmpForward(B: number, T: number, H: number, P: number, xw: Float32Array, w: Float32Array, bias: Float32Array | null, wr: Float32Array,
    r0: Float32Array, c0: Float32Array, mask: Float32Array | null, cellClip: number | null, projClip: number | null): { packed: Float32Array; saved: LstmpSaved } {
    const BTH = B * T * H, BTP = B * T * P;
    const packed = uninit(B * (T * P + P + H));
    const saved: LstmpSaved = { B, T, H, P, cellClip, projClip, acts: uninit(4 * BTH), cRaw: uninit(BTH), hNew: uninit(BTH), rPrev: uninit(BTP), cPrev: uninit(BTH),
      rRaw: projClip === null ? null : uninit(BTP) };
    this.k.lstmp!(lstmpMeta(saved), xw, w, bias, wr, r0, c0, mask, packed, saved.acts, saved.cRaw, saved.hNew, saved.rPrev, saved.cPrev, saved.rRaw);
    return { packed, saved };
  }

  /** The LSTMP recurrence's gradients from the packed result's gradient (see Backend.lstmpSequenceBackward). */
  private lstmpGradients(grad: Float32Array, w: Float32Array, wr: Float32Array, mask: Float32Array | null, s: LstmpSaved, hasBias: boolean) {
    const { B, T, H, P } = s;
    const dxw = uninit(B * T * 4 * H), dw = uninit(4 * H * P), db = new Float32Array(4 * H), dwr = uninit(P * H);
    const dr0 = uninit(B * P), dc0 = uninit(B * H);
    this.k.lstmpBackward!(lstmpMeta(s), grad, w, wr, mask, s.acts, s.cRaw, s.hNew, s.rPrev, s.cPrev, s.rRaw, dxw, dw, hasBias ? db : null, dwr, dr0, dc0);
    return { dxw, dw, db, dwr, dr0, dc0 };
  }

  /**
   * zeros([rows, D]) with src's rows [N, D] (contiguous) added at rows idx[k] in order: an embedding's gradient;
   * returns null, having added nothing, when an index is out of range, with the offending index.
   */
  scatterRows(rows: number, D: number, idx: Int32Array, idxOffset: number, idxStride: number, N: number, src: Float32Array): { out: Float32Array; bad: number | null } {
    const out = new Float32Array(rows * D);
    const k = this.k.scatterRows(out, rows, D, idx, idxOffset, idxStride, N, src);
    return { out, bad: k >= 0 ? idx[idxOffset + k * idxStride]! : null };
  }

  /** The native image loops (see image.ts), or null where the addon predates them. */
  imageLoops(): ImageLoops | null {
    const k = this.k;
    if (!k.im2col || !k.im2row || !k.col2im || !k.pool2d || !k.pool2dBackward || !k.batchNorm || !k.batchNormBackward || !k.swapBlocks || !k.batchNormRelu ||
      !k.batchNormReluBackward) return null;
    const meta = (w: Window2d) => Float64Array.of(...w.kernel, ...w.stride, ...w.padding, ...w.dilation, ...w.out);
    const P = (w: Window2d) => w.out[0] * w.out[1];
    const conv = k.conv2d && k.conv2dBackward ? {
      conv2d(x: Float32Array, N: number, C: number, H: number, W: number, weight: Float32Array, O: number, bias: Float32Array | null, w: Window2d) {
        const y = uninit(N * O * P(w));
        k.conv2d!(x, N, C, H, W, weight, O, bias, meta(w), y);
        return y;
      },
      conv2dBackward(g: Float32Array, x: Float32Array, weight: Float32Array, N: number, C: number, H: number, W: number, O: number, w: Window2d, needs: Conv2dNeeds) {
        const dx = needs.input ? uninit(N * C * H * W) : null;
        const dweight = needs.weight ? uninit(weight.length) : null, dbias = needs.bias ? new Float32Array(O) : null;
        k.conv2dBackward!(g, x, weight, N, C, H, W, O, meta(w), dx, dweight, dbias);
        return { dx, dweight, dbias };
      },
    } : {};
    return {
      ...conv,
      im2col: (x, N, C, H, W, w, out) => k.im2col!(x, N, C, H, W, meta(w), out),
      im2row: (x, N, C, H, W, w, out) => k.im2row!(x, N, C, H, W, meta(w), out),
      col2im(cols, N, C, H, W, w) {
        const dx = uninit(N * C * H * W);
        k.col2im!(cols, N, C, H, W, meta(w), dx);
        return dx;
      },
      pool(kind, x, planes, H, W, w) {
        const y = uninit(planes * P(w)), argmax = kind === 'max' ? new Int32Array(y.length) : null;
        k.pool2d!(kind === 'max' ? 0 : 1, x, planes, H, W, meta(w), y, argmax);
        return { y, argmax };
      },
      poolBackward(kind, g, planes, H, W, w, argmax) {
        const dx = uninit(planes * H * W);
        k.pool2dBackward!(kind === 'max' ? 0 : 1, g, planes, H, W, meta(w), argmax, dx);
        return dx;
      },
      batchNorm(x, N, C, L, w, b, eps) {
        const y = uninit(x.length), mean = new Float32Array(C), variance = new Float32Array(C);
        k.batchNorm!(x, N, C, L, w, b, eps, y, mean, variance);
        return { y, mean, var: variance };
      },
      batchNormBackward(g, x, N, C, L, w, mean, variance, eps) {
        const dx = uninit(x.length), dweight = new Float32Array(C), dbias = new Float32Array(C);
        k.batchNormBackward!(g, x, N, C, L, w, mean, variance, eps, dx, dweight, dbias);
        return { dx, dweight, dbias };
      },
      batchNormRelu(x, N, C, L, w, b, eps, residual) {
        const y = uninit(x.length), mean = new Float32Array(C), variance = new Float32Array(C);
        k.batchNormRelu!(x, N, C, L, w, b, eps, y, mean, variance, residual);
        return { y, mean, var: variance };
      },
      batchNormReluBackward(g, x, y, N, C, L, w, mean, variance, eps, residual) {
        const dx = uninit(x.length), dweight = new Float32Array(C), dbias = new Float32Array(C), dresidual = residual ? uninit(x.length) : null;
        k.batchNormReluBackward!(g, x, y, N, C, L, w, mean, variance, eps, dx, dweight, dbias, dresidual);
        return { dx, dweight, dbias, dresidual };
      },
      swapBlocks(src, A, B, P, bias, sums, out) {
        const dst = out ?? uninit(A * B * P), total = sums ? new Float32Array(B) : null;
        k.swapBlocks!(src, A, B, P, bias, dst, total);
        return { dst, sums: total };
      },
    };
  }

  attention(a: AttentionShape, q: Operand4, k: Operand4, v: Operand4, mask: Operand4 | null): { out: Float32Array; weights: Float32Array } {
    // The weights [B, H, Tq, Tk], then a flag per row with no visible key (its scores get no gradient).
    const out = uninit(a.B * a.Tq * a.H * a.Dv), weights = uninit(a.B * a.H * a.Tq * (a.Tk + 1));
    this.k.attention(attentionMeta(a, q, k, v, mask), q.data, k.data, v.data, mask?.data ?? null, out, weights);
    return { out, weights };
  }

  attentionBackward(a: AttentionShape, dOut: Operand4, q: Operand4, k: Operand4, v: Operand4, weights: Float32Array): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
    const dq = uninit(a.B * a.Tq * a.H * a.D), dk = uninit(a.B * a.Tk * a.H * a.D), dv = uninit(a.B * a.Tk * a.H * a.Dv);
    this.k.attentionBackward(attentionMeta(a, q, k, v, dOut), dOut.data, q.data, k.data, v.data, weights, dq, dk, dv);
    return { dq, dk, dv };
  }
}

/** The addon's LSTMP sizes and clip bounds (an infinite bound is no clip). */
function lstmpMeta(s: LstmpSaved): Float64Array {
  return Float64Array.of(s.B, s.T, s.H, s.P, s.cellClip ?? Infinity, s.projClip ?? Infinity);
}

/** The native binary ops' codes (native/kernels.cc BinaryOp); pow stays in TypeScript. */
const BINARY_CODES: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, eq: 6, ne: 7, lt: 8, le: 9, gt: 10, ge: 11 };
const REDUCE_CODES = { sum: 0, max: 1, min: 2 } as const;
/** The most dims a collapsed view may keep for the native walkers. */
const MAX_RANK = 8;

/** A view's place in its buffer for the walkers; null stands for a contiguous view of the walked shape. */
type WalkView = { strides: readonly number[]; offset: number } | null;

// The walkers' scratch: a small op (an MLP's bias add) spends more time building its meta than computing, so the
// meta is written into one reused array (every call hands it to the addon at once) with no closures or spreads.
const walkScratch = new Float64Array(1 + MAX_RANK + 4 * (1 + MAX_RANK));
const mergedSizes = new Float64Array(MAX_RANK);
const mergedStrides = new Float64Array(4 * MAX_RANK);
const contiguous: number[] = [];

/**
 * The views' common shape with size-1 dims dropped and adjacent dims merged wherever every view steps through them as
 * one (a contiguous [16, 128, 768] is one dim of 1572864), as the walker's meta: [rank, shape..., then each view's
 * offset and strides]; null beyond MAX_RANK dims. The array is reused by the next call.
 */
function walkMeta(shape: readonly number[], views: readonly WalkView[]): Float64Array | null {
  const nv = views.length;
  for (let d = shape.length - 1, step = 1; d >= 0; d--) {
    contiguous[d] = step;
    step *= shape[d]!;
  }
  let rank = 0;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    let merge = rank > 0;
    for (let k = 0; merge && k < nv; k++) {
      const stride = views[k] ? views[k]!.strides[d]! : contiguous[d]!;
      if (mergedStrides[k * MAX_RANK + rank - 1] !== stride * n) merge = false;
    }
    if (!merge && rank === MAX_RANK) return null;
    const at = merge ? rank - 1 : rank;
    mergedSizes[at] = merge ? mergedSizes[at]! * n : n;
    for (let k = 0; k < nv; k++) mergedStrides[k * MAX_RANK + at] = views[k] ? views[k]!.strides[d]! : contiguous[d]!;
    if (!merge) rank++;
  }
  if (rank === 0) {
    rank = 1;
    mergedSizes[0] = 1;
    for (let k = 0; k < nv; k++) mergedStrides[k * MAX_RANK] = 0;
  }
  const meta = walkScratch;
  meta[0] = rank;
  for (let d = 0; d < rank; d++) meta[1 + d] = mergedSizes[d]!;
  let o = 1 + rank;
  for (let k = 0; k < nv; k++) {
    meta[o++] = views[k] ? views[k]!.offset : 0;
    for (let d = 0; d < rank; d++) meta[o++] = mergedStrides[k * MAX_RANK + d]!;
  }
  return meta;
}

/**
 * A float32 array of n elements that is not zero-filled, for an output the kernel writes in full: zeroing a fresh
 * 4 MB result costs ~15% of a 1024³ GEMM here. (scatterRows, which adds into its output, and the bias gradient, left
 * untouched without a bias, keep zeroed arrays.) Below 1024 elements V8's own zeroed allocation is the faster one
 * (about 0.1 µs against 0.5 µs for a 16-element array).
 */
const uninit = (n: number) => (n < 1024 ? new Float32Array(n) : new Float32Array(Buffer.allocUnsafeSlow(4 * n).buffer, 0, n));

/** The addon's attention arguments: sizes, flags, then offset and strides of q, k, v and a fourth view. */
function attentionMeta(a: AttentionShape, q: Operand4, k: Operand4, v: Operand4, fourth: Operand4 | null): Float64Array {
  const view = (x: Operand4 | null) => (x ? [x.offset, ...x.strides] : [0, 0, 0, 0, 0]);
  return Float64Array.from([a.B, a.H, a.Tq, a.Tk, a.D, a.Dv, a.causal ? 1 : 0, a.scale, ...view(q), ...view(k), ...view(v), ...view(fourth)]);
}
