// The fast CPU backend: the reference kernels, with the hot ones replaced by a kernel set (native SIMD on native
// threads where the addon was built, in Node; otherwise WebAssembly SIMD with the GEMM on worker threads) and tight
// TypeScript loops for contiguous layouts. Results agree with the reference to float32 rounding.
import type { Backend, View } from '../backend.js';
import type { TypedArray } from '../../tensor/dtype.js';
import { VEC_OPS, type AttentionShape, type CpuKernels, type LstmSaved, type LstmpSaved, type Operand3, type Operand4 } from './kernels.js';
import { WasmKernels } from './wasm-kernels.js';
import { loadNativeAddon, NativeKernels } from './native.js';
import { binaryFast, copyFast, gatherFast, reduceBlockFast, reduceLastFast, reductionBlock, scatterAddFast, unaryFast, whereFast } from './loops.js';
import { createImageKernels } from './image.js';
import { createReferenceBackend } from './reference.js';
import { allocArray } from '../../tensor/dtype.js';
import { isContiguous, sizeOf } from '../../tensor/shape.js';
import { env, hardwareThreads } from '../../platform/node.js';

/** Options of the fast CPU backend. */
export interface FastCpuOptions {
  /** Threads for large kernels: the native pool (its size is fixed by the first backend in the process) or the WebAssembly workers (default: the available cores, or PRETRAIN_THREADS). */
  threads?: number;
  /**
   * Which kernel set: 'native' (the default where built), 'wasm' (always available; PRETRAIN_NATIVE=0 forces it), or
   * a kernel set already made (initWasm makes one in a browser and waits for its workers first).
   */
  kernels?: 'native' | 'wasm' | CpuKernels;
}

/** The kernel set the options ask for: native where asked for (or by default) and built, else WebAssembly. */
export function createCpuKernels(opts: FastCpuOptions = {}): CpuKernels {
  if (typeof opts.kernels === 'object') return opts.kernels;
  const envThreads = Number(env('PRETRAIN_THREADS'));
  const threads = opts.threads ?? (envThreads > 0 ? envThreads : undefined);
  const addon = opts.kernels === 'wasm' ? null : loadNativeAddon();
  if (opts.kernels === 'native' && !addon) throw new Error('cpu backend: the native kernels are not built (run `npm run build:native`; needs a C++ compiler and Node headers)');
  return addon ? new NativeKernels(addon, threads ?? hardwareThreads()) : new WasmKernels(threads);
}


/** A float32 3-D view as a GEMM operand. */
function operand3(x: View): Operand3 {
  return { data: x.buf as Float32Array, shape: x.shape as [number, number, number], strides: x.strides as [number, number, number], offset: x.offset };
}

/** A float32 view as a 4-D kernel operand. */
function operand4(x: View): Operand4 {
  return { data: x.buf as Float32Array, strides: x.strides as [number, number, number, number], offset: x.offset };
}

/** The sizes of an attention over q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv]. */
function attentionShape(q: View, k: View, v: View, causal: boolean, scale: number): AttentionShape {
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  return { B, H, Tq, D, Tk: k.shape[2]!, Dv: v.shape[3]!, causal, scale };
}

/** Creates the fast CPU backend. */
export function createFastCpuBackend(opts: FastCpuOptions = {}): Backend {
  const reference = createReferenceBackend();
  const kernels = createCpuKernels(opts);
  // The native set also walks strided views (binary ops, where, copies, block reductions) on its threads.
  const native = kernels instanceof NativeKernels ? kernels : null;
  /** A contiguous copy of a 4-byte view in its own dtype, natively where possible. */
  const copy = (x: View, out: TypedArray): TypedArray => {
    if (native && (out instanceof Float32Array || out instanceof Int32Array) && out.constructor === x.buf.constructor && native.copy(x, out)) return out;
    return copyFast(x, out);
  };
  /** A dense float32 view's elements (no copy), or a contiguous copy of a strided one. */
  const dense = (x: View): Float32Array => {
    const n = sizeOf(x.shape);
    return isContiguous(x.shape, x.strides) ? (x.buf as Float32Array).subarray(x.offset, x.offset + n) : (copy(x, new Float32Array(n)) as Float32Array);
  };
  /** An int32 view's elements in row-major order (no copy when dense). */
  const denseInt = (x: View): Int32Array => {
    const n = sizeOf(x.shape);
    return isContiguous(x.shape, x.strides) ? (x.buf as Int32Array).subarray(x.offset, x.offset + n) : (copy(x, new Int32Array(n)) as Int32Array);
  };
  return {
    ...reference,
    name: 'cpu',
    kernels: kernels.description,
    // Float32 draws in [0, 1) (T.rand, dropout masks) natively: the reference's loop over the hash took ~0.4 ms of a
    // LeNet-5 step for one batch of pixels.
    random: (dtype, size, kind, key, a, b) =>
      (native && dtype === 'float32' && kind === 'uniform' && a === 0 && b === 1 ? native.uniform(key, size) : null) ?? reference.random(dtype, size, kind, key, a, b),
    binary: (op, a, b, shape) =>
      (native && a.dtype === 'float32' ? native.binary(op, a, b, shape) : null) ?? binaryFast(op, a, b, shape) ?? reference.binary(op, a, b, shape),
    unary(op, x) {
      if (x.dtype === 'float32' && op in VEC_OPS && x.shape.length > 0) {
        return kernels.unary(op as keyof typeof VEC_OPS, dense(x));
      }
      return unaryFast(op, x) ?? reference.unary(op, x);
    },
    crossEntropy(logits, target, ignoreIndex, smoothing) {
      if (logits.dtype !== 'float32') return reference.crossEntropy!(logits, target, ignoreIndex, smoothing);
      return kernels.crossEntropy(dense(logits), denseInt(target), logits.shape[1]!, ignoreIndex, smoothing);
    },
    crossEntropyBackward(logits, target, lse, grad, ignoreIndex, smoothing) {
      if (logits.dtype !== 'float32') return reference.crossEntropyBackward!(logits, target, lse, grad, ignoreIndex, smoothing);
      return kernels.crossEntropyGrad(dense(logits), denseInt(target), lse as Float32Array, dense(grad), logits.shape[1]!, ignoreIndex, smoothing);
    },
    layerNorm(x, weight, bias, n, eps) {
      if (x.dtype !== 'float32') return reference.layerNorm!(x, weight, bias, n, eps);
      return kernels.layerNorm(dense(x), weight && dense(weight), bias && dense(bias), n, eps);
    },
    layerNormBackward(g, x, weight, mean, rstd, n) {
      if (x.dtype !== 'float32') return reference.layerNormBackward!(g, x, weight, mean, rstd, n);
      return kernels.layerNormGrad(dense(g), dense(x), weight && dense(weight), mean as Float32Array, rstd as Float32Array, n);
    },
    adamw(param, grad, m, v, size, opts) {
      if (grad.dtype !== 'float32') return reference.adamw!(param, grad, m, v, size, opts);
      kernels.adamw((param as Float32Array).subarray(0, size), dense(grad), (m as Float32Array).subarray(0, size), (v as Float32Array).subarray(0, size), opts);
    },
    softmax(x, log) {
      if (x.dtype !== 'float32') return reference.softmax!(x, log);
      return kernels.softmax(dense(x), x.shape[x.shape.length - 1]!, log);
    },
    ...(kernels.attention && kernels.attentionBackward ? {
      attention(q: View, k: View, v: View, mask: View | null, causal: boolean, scale: number) {
        const { out, weights } = kernels.attention!(attentionShape(q, k, v, causal, scale), operand4(q), operand4(k), operand4(v), mask && operand4(mask));
        return { out, saved: weights };
      },
      attentionBackward(dOut: View, q: View, k: View, v: View, _mask: View | null, causal: boolean, saved: object, scale: number) {
        // The saved weights already carry the masks.
        return kernels.attentionBackward!(attentionShape(q, k, v, causal, scale), operand4(dOut), operand4(q), operand4(k), operand4(v), saved as Float32Array);
      },
    } : {}),
    ...(kernels.lstm && kernels.lstmBackward ? {
      lstmSequence(xw: View, wHh: View, bHh: View | null, h0: View, c0: View, mask: View | null) {
        const [B, T, H4] = xw.shape as [number, number, number];
        return kernels.lstm!(B, T, H4 / 4, dense(xw), dense(wHh), bHh && dense(bHh), dense(h0), dense(c0), mask && dense(mask));
      },
      lstmSequenceBackward(grad: View, wHh: View, mask: View | null, saved: object, hasBias: boolean) {
        return kernels.lstmBackward!(dense(grad), dense(wHh), mask && dense(mask), saved as LstmSaved, hasBias);
      },
    } : {}),
    ...(kernels.lstmp && kernels.lstmpBackward ? {
      lstmpSequence(xw: View, wHh: View, bHh: View | null, wHr: View, r0: View, c0: View, mask: View | null, cellClip: number | null, projClip: number | null) {
        const [B, T, H4] = xw.shape as [number, number, number];
        return kernels.lstmp!(B, T, H4 / 4, wHr.shape[0]!, dense(xw), dense(wHh), bHh && dense(bHh), dense(wHr), dense(r0), dense(c0), mask && dense(mask),
          cellClip, projClip);
      },
      lstmpSequenceBackward(grad: View, wHh: View, wHr: View, mask: View | null, saved: object, hasBias: boolean) {
        return kernels.lstmpBackward!(dense(grad), dense(wHh), dense(wHr), mask && dense(mask), saved as LstmpSaved, hasBias);
      },
    } : {}),
    ...createImageKernels({ matmul: (a, b, into) => (native ? native.matmul(a, b, null, into) : kernels.matmul(a, b)), dense, reference, native: native?.imageLoops() }),
    concat(xs, axis) {
      // Each input is a block of rows of its own width inside every outer row of the result: row copies, no index walk.
      const shape = [...xs[0]!.shape];
      shape[axis] = xs.reduce((n, x) => n + x.shape[axis]!, 0);
      const out = allocArray(xs[0]!.dtype, sizeOf(shape));
      const outer = sizeOf(shape.slice(0, axis)), inner = sizeOf(shape.slice(axis + 1)), rowWidth = shape[axis]! * inner;
      let start = 0;
      for (const x of xs) {
        const width = x.shape[axis]! * inner;
        const src = isContiguous(x.shape, x.strides) ? (x.buf as TypedArray).subarray(x.offset, x.offset + outer * width) : copy(x, allocArray(x.dtype, outer * width));
        if (outer === 1 || width === rowWidth) out.set(src, start);
        else for (let o = 0; o < outer; o++) out.set(src.subarray(o * width, (o + 1) * width), o * rowWidth + start);
        start += width;
      }
      return out;
    },
    where: (cond, a, b, shape) =>
      (native && a.dtype === 'float32' && (cond.dtype === 'float32' || cond.dtype === 'int32') ? native.where(cond, a, b, shape) : null) ?? whereFast(cond, a, b, shape),
    contiguous: (x, dtype) => copy(x, allocArray(dtype, sizeOf(x.shape))),
    assign(dst, src) {
      // Overlapping views (a tensor assigned its own transpose) go through the reference, which reads everything first.
      if (native && (dst.buf as Float32Array).buffer !== (src.buf as Float32Array).buffer && dst.dtype === src.dtype && (dst.buf instanceof Float32Array || dst.buf instanceof Int32Array) &&
        native.copy(src, dst.buf, dst)) return;
      reference.assign(dst, src);
    },
    reduce(op, x, axes) {
      const block = native && x.dtype === 'float32' ? reductionBlock(x, axes) : null;
      if (block) return native!.reduceBlock(op, (x.buf as Float32Array).subarray(x.offset), block.outer, block.red, block.inner);
      return reduceBlockFast(op, x, axes) ?? reduceLastFast(op, x, axes) ?? reference.reduce(op, x, axes);
    },
    gather: gatherFast,
    scatterAdd(shape, axis, index, src) {
      // Whole rows added into rows (an embedding's gradient: the index broadcast along the row).
      if (native && axis === 0 && shape.length === 2 && src.dtype === 'float32' && index.dtype === 'int32' && index.strides[1] === 0 && index.shape[0]! > 0) {
        const r = native.scatterRows(shape[0]!, shape[1]!, index.buf as Int32Array, index.offset, index.strides[0]!, index.shape[0]!, dense(src));
        if (r.bad !== null) throw new RangeError(`scatterAdd: index ${r.bad} is out of range [0, ${shape[0]}) along axis 0`);
        return r.out;
      }
      return scatterAddFast(shape, axis, index, src);
    },
    ...(native ? {
      matmulBias(a: View, b: View, bias: View) {
        return native.matmul(operand3(a), operand3(b), dense(bias)) as TypedArray;
      },
    } : {}),
    matmul(a: View, b: View) {
      if (a.dtype !== 'float32') return reference.matmul(a, b);
      return kernels.matmul(operand3(a), operand3(b)) as TypedArray;
    },
  };
}
