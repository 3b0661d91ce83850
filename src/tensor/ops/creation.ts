// Creation ops: from data, constants, ranges and seeded random draws.
import { getBackend } from '../../backend/registry.js';
import { isFloat, type DType, type TypedArray } from '../dtype.js';
import { defaultGenerator, type Generator } from '../random.js';
import { ShapeError, fmt, sizeOf, type Shape } from '../shape.js';
import { fromKernel, toTypedArray, type NestedArray, type Tensor } from '../tensor.js';

/** Options shared by creation functions. */
export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  return opts.requiresGrad ? t.requireGrad() : t;
}

function flattenNested(data: NestedArray, shape: number[], out: number[], depth: number): void {
  if (typeof data === 'number') {
    if (depth !== shape.length && shape.length > 0) throw new ShapeError(`tensor: ragged nested array at depth ${depth}`);
    out.push(data);
    return;
  }
  // Dims are fixed along the first path down, before any number is emitted; a new dim after that is ragged.
  if (depth === shape.length) {
    if (out.length > 0) throw new ShapeError(`tensor: ragged nested array: an array where a number was expected at depth ${depth}`);
    shape.push(data.length);
  } else if (shape[depth] !== data.length) throw new ShapeError(`tensor: ragged nested array: length ${data.length} where ${shape[depth]} was expected at depth ${depth}`);
  for (const d of data) flattenNested(d, shape, out, depth + 1);
}

/** A tensor from a number or nested arrays; dtype defaults to float32. */
export function tensor(data: NestedArray, opts: CreateOptions = {}): Tensor {
  const shape: number[] = [];
  const values: number[] = [];
  flattenNested(data, shape, values, 0);
  return fromArray(values, shape, opts);
}

/** A tensor of `shape` from flat row-major values (copied). */
export function fromArray(values: ArrayLike<number> | TypedArray, shape: Shape, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? (values instanceof Int32Array ? 'int32' : values instanceof Float64Array ? 'float64' : 'float32');
  if (values.length !== sizeOf(shape)) throw new ShapeError(`fromArray: ${values.length} values do not fill shape ${fmt(shape)}`);
  const backend = getBackend();
  return finish(fromKernel('fromArray', backend.upload(toTypedArray(values, dtype), dtype), shape, dtype, backend), opts);
}

/** A tensor of `shape` with every element `value`. */
export function full(shape: Shape, value: number, dtype: DType = 'float32', requiresGrad = false): Tensor {
  const backend = getBackend();
  return finish(fromKernel('full', backend.fill(dtype, sizeOf(shape), value), shape, dtype, backend), { requiresGrad });
}

/** Zeros. */
export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts.dtype, opts.requiresGrad);
}

/** Ones. */
export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts.dtype, opts.requiresGrad);
}

/** Values start, start+step, ... below end (like `torch.arange`); int32 unless a float dtype is given. */
export function arange(start: number, end?: number, step = 1, dtype: DType = 'int32'): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const n = Math.max(0, Math.ceil((end - start) / step));
  return fromArray(Array.from({ length: n }, (_, i) => start + i * step), [n], { dtype });
}

/** Options of random creation functions. */
export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

function random(shape: Shape, kind: 'uniform' | 'normal', a: number, b: number, opts: RandomOptions): Tensor {
  const dtype = opts.dtype ?? 'float32';
  if (!isFloat(dtype)) throw new Error(`random: dtype must be floating point, got ${dtype}`);
  const key = (opts.generator ?? defaultGenerator).nextKey();
  const backend = getBackend();
  return finish(fromKernel(kind, backend.random(dtype, sizeOf(shape), kind, key, a, b), shape, dtype, backend), opts);
}

/** Uniform in [0, 1). */
export function rand(shape: Shape, opts: RandomOptions = {}): Tensor { return random(shape, 'uniform', 0, 1, opts); }
/** Standard normal. */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor { return random(shape, 'normal', 0, 1, opts); }
/** Uniform in [low, high). */
export function uniform(shape: Shape, low: number, high: number, opts: RandomOptions = {}): Tensor { return random(shape, 'uniform', low, high, opts); }
/** Normal with mean and standard deviation. */
export function normal(shape: Shape, mean: number, std: number, opts: RandomOptions = {}): Tensor { return random(shape, 'normal', mean, std, opts); }
