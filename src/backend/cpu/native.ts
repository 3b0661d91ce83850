// The native kernels (native/kernels.cc, built at install into build/native/kernels.node by scripts/build-native.mjs)
// behind the same methods as the WebAssembly kernels. They work in place on the tensors' own arrays: no staging
// copies. Loaded only in Node, only when the build succeeded, and not when PRETRAIN_NATIVE=0.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AdamWStep } from '../backend.js';
import { packageRoot, VEC_OPS, type AttentionShape, type CpuKernels, type Operand3, type Operand4 } from './wasm-kernels.js';

interface Addon {
  sgemm(batch: number, M: number, N: number, K: number, a: Float32Array, aOffset: number, as0: number, as1: number, as2: number,
    b: Float32Array, bOffset: number, bs0: number, bs1: number, bs2: number, out: Float32Array): void;
  unary(op: number, x: Float32Array, y: Float32Array, n: number): void;
  softmaxRows(x: Float32Array, y: Float32Array, rows: number, n: number, log: number): void;
  crossEntropyRows(x: Float32Array, target: Int32Array, loss: Float32Array, lse: Float32Array, rows: number, n: number, ignore: number, smoothing: number): number;
  crossEntropyGradRows(x: Float32Array, target: Int32Array, lse: Float32Array, grad: Float32Array, dx: Float32Array, rows: number, n: number, ignore: number, smoothing: number): void;
  layerNormRows(x: Float32Array, w: Float32Array | null, b: Float32Array | null, y: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, n: number, eps: number): void;
  layerNormGradRows(g: Float32Array, x: Float32Array, w: Float32Array | null, mean: Float32Array, rstd: Float32Array, dx: Float32Array, dw: Float32Array, db: Float32Array, rows: number, n: number): void;
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, keep: number, beta1: number, c1: number, beta2: number, c2: number, step: number, inv2: number, eps: number): void;
  attention(meta: Float64Array, q: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array | null, out: Float32Array, weights: Float32Array): void;
  attentionBackward(meta: Float64Array, dOut: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, weights: Float32Array,
    dq: Float32Array, dk: Float32Array, dv: Float32Array): void;
  setThreads(n: number): number;
  info(): { vectorBits: number; tile: number };
}

let addon: Addon | null | undefined;

/** The native addon, or null where it is not built, cannot load, or PRETRAIN_NATIVE=0 turns it off. */
export function loadNativeAddon(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.PRETRAIN_NATIVE === '0') return addon;
  const file = join(packageRoot(), 'build', 'native', 'kernels.node');
  if (!existsSync(file)) return addon;
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
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

  constructor(private readonly k: Addon, threads: number) {
    this.threads = k.setThreads(Math.max(1, Math.floor(threads)));
    this.vectorBits = k.info().vectorBits;
    this.description = `native ${this.vectorBits}-bit SIMD, ${this.threads} threads`;
  }

  matmul(a: Operand3, b: Operand3): Float32Array {
    const [Bt, M, K] = a.shape;
    const N = b.shape[2];
    const out = new Float32Array(Bt * M * N);
    this.k.sgemm(Bt, M, N, K, a.data, a.offset, a.strides[0], a.strides[1], a.strides[2], b.data, b.offset, b.strides[0], b.strides[1], b.strides[2], out);
    return out;
  }

  unary(op: keyof typeof VEC_OPS, x: Float32Array): Float32Array {
    const y = new Float32Array(x.length);
    this.k.unary(VEC_OPS[op], x, y, x.length);
    return y;
  }

  softmax(x: Float32Array, n: number, log: boolean): Float32Array {
    const y = new Float32Array(x.length);
    this.k.softmaxRows(x, y, n === 0 ? 0 : x.length / n, n, log ? 1 : 0);
    return y;
  }

  crossEntropy(x: Float32Array, target: Int32Array, n: number, ignore: number, smoothing: number): { loss: Float32Array; lse: Float32Array } {
    const rows = target.length;
    const loss = new Float32Array(rows), lse = new Float32Array(rows);
    const bad = this.k.crossEntropyRows(x, target, loss, lse, rows, n, ignore, smoothing);
    if (bad >= 0) throw new RangeError(`crossEntropy: index ${target[bad]} is out of range [0, ${n}) along axis 1`);
    return { loss, lse };
  }

  crossEntropyGrad(x: Float32Array, target: Int32Array, lse: Float32Array, grad: Float32Array, n: number, ignore: number, smoothing: number): Float32Array {
    const dx = new Float32Array(x.length);
    this.k.crossEntropyGradRows(x, target, lse, grad, dx, target.length, n, ignore, smoothing);
    return dx;
  }

  layerNorm(x: Float32Array, w: Float32Array | null, b: Float32Array | null, n: number, eps: number): { y: Float32Array; mean: Float32Array; rstd: Float32Array } {
    const rows = n === 0 ? 0 : x.length / n;
    const y = new Float32Array(x.length), mean = new Float32Array(rows), rstd = new Float32Array(rows);
    this.k.layerNormRows(x, w, b, y, mean, rstd, rows, n, eps);
    return { y, mean, rstd };
  }

  layerNormGrad(g: Float32Array, x: Float32Array, w: Float32Array | null, mean: Float32Array, rstd: Float32Array, n: number): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array } {
    const rows = n === 0 ? 0 : x.length / n;
    const dx = new Float32Array(x.length), dweight = new Float32Array(n), dbias = new Float32Array(n);
    this.k.layerNormGradRows(g, x, w, mean, rstd, dx, dweight, dbias, rows, n);
    return { dx, dweight, dbias };
  }

  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, o: AdamWStep): void {
    // The coefficients in double precision, as the WebAssembly kernel takes them (see assembly/vecmath.ts adamw).
    this.k.adamw(param, grad, m, v, grad.length, 1 - o.lr * o.weightDecay, o.beta1, 1 - o.beta1, o.beta2, 1 - o.beta2,
      o.lr / (1 - Math.pow(o.beta1, o.step)), 1 / (1 - Math.pow(o.beta2, o.step)), o.eps);
  }

  attention(a: AttentionShape, q: Operand4, k: Operand4, v: Operand4, mask: Operand4 | null): { out: Float32Array; weights: Float32Array } {
    const out = new Float32Array(a.B * a.Tq * a.H * a.Dv), weights = new Float32Array(a.B * a.H * a.Tq * a.Tk);
    this.k.attention(attentionMeta(a, q, k, v, mask), q.data, k.data, v.data, mask?.data ?? null, out, weights);
    return { out, weights };
  }

  attentionBackward(a: AttentionShape, dOut: Operand4, q: Operand4, k: Operand4, v: Operand4, weights: Float32Array): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
    const dq = new Float32Array(a.B * a.Tq * a.H * a.D), dk = new Float32Array(a.B * a.Tk * a.H * a.D), dv = new Float32Array(a.B * a.Tk * a.H * a.Dv);
    this.k.attentionBackward(attentionMeta(a, q, k, v, dOut), dOut.data, q.data, k.data, v.data, weights, dq, dk, dv);
    return { dq, dk, dv };
  }
}

/** The addon's attention arguments: sizes, flags, then offset and strides of q, k, v and a fourth view. */
function attentionMeta(a: AttentionShape, q: Operand4, k: Operand4, v: Operand4, fourth: Operand4 | null): Float64Array {
  const view = (x: Operand4 | null) => (x ? [x.offset, ...x.strides] : [0, 0, 0, 0, 0]);
  return Float64Array.from([a.B, a.H, a.Tq, a.Tk, a.D, a.Dv, a.causal ? 1 : 0, a.scale, ...view(q), ...view(k), ...view(v), ...view(fourth)]);
}
