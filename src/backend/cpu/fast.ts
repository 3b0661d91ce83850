// The fast CPU backend: the reference kernels, with the hot ones replaced by WebAssembly SIMD (GEMM on worker
// threads) and tight TypeScript loops for contiguous layouts. Results agree with the reference to float32 rounding.
import type { Backend, View } from '../backend.js';
import type { TypedArray } from '../../tensor/dtype.js';
import { WasmGemm } from './gemm.js';
import { binaryFast, copyFast, gatherFast, reduceBlockFast, reduceLastFast, scatterAddFast, unaryFast, whereFast } from './loops.js';
import { createReferenceBackend } from './reference.js';
import { allocArray } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';

/** Options of the fast CPU backend. */
export interface FastCpuOptions {
  /** Worker threads for large products (default: the available cores, or PRETRAIN_THREADS). */
  threads?: number;
}

/** Creates the fast CPU backend. */
export function createFastCpuBackend(opts: FastCpuOptions = {}): Backend {
  const reference = createReferenceBackend();
  const envThreads = Number(process.env.PRETRAIN_THREADS);
  const gemm = new WasmGemm(opts.threads ?? (envThreads > 0 ? envThreads : undefined));
  return {
    ...reference,
    name: 'cpu',
    binary: (op, a, b, shape) => binaryFast(op, a, b, shape) ?? reference.binary(op, a, b, shape),
    unary: (op, x) => unaryFast(op, x) ?? reference.unary(op, x),
    where: whereFast,
    contiguous: (x, dtype) => copyFast(x, allocArray(dtype, sizeOf(x.shape))),
    reduce: (op, x, axes) => reduceBlockFast(op, x, axes) ?? reduceLastFast(op, x, axes) ?? reference.reduce(op, x, axes),
    gather: gatherFast,
    scatterAdd: scatterAddFast,
    matmul(a: View, b: View) {
      if (a.dtype !== 'float32') return reference.matmul(a, b);
      return gemm.matmul(
        { data: a.buf as Float32Array, shape: a.shape as [number, number, number], strides: a.strides as [number, number, number], offset: a.offset },
        { data: b.buf as Float32Array, shape: b.shape as [number, number, number], strides: b.strides as [number, number, number], offset: b.offset },
      ) as TypedArray;
    },
  };
}
