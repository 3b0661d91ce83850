// The Tensor: a strided view of a backend buffer, with an optional autograd node. Ops live in ops/*.ts;
// the methods here are thin conveniences over them.
import type { Backend, Buffer, View } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { backward as runBackward, AnomalyError, isAnomalyDetectionEnabled, type GradNode } from './autograd.js';
import { allocArray, isFloat, type DType, type TypedArray } from './dtype.js';
import { contiguousStrides, fmt, isContiguous, sizeOf, type Shape } from './shape.js';
import * as ops from './ops.js';

const registry = new FinalizationRegistry<{ backend: Backend; buf: Buffer }>(({ backend, buf }) => backend.free?.(buf));

/** A backend buffer shared by a tensor and its views; freed when the last of them is garbage collected. */
export class Storage {
  constructor(readonly backend: Backend, readonly buf: Buffer, readonly size: number) {
    // Only device buffers need a finalizer; host arrays are collected with their Storage (see Backend.free).
    if (backend.free) registry.register(this, { backend, buf }, this);
  }
}

/** Nested arrays of numbers, as accepted by `tensor()`. */
export type NestedArray = number | readonly NestedArray[];

/** An n-dimensional array of float32, int32 or float64 values on one backend, with reverse-mode autograd. */
export class Tensor {
  /** Whether gradients flow into this tensor; leaves with it set receive `.grad` in `backward()`. */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** @internal The op that produced this tensor, while the tape holds it. */
  node: GradNode | null = null;
  /** @internal The name of the op that produced this tensor on the tape (kept after release). */
  gradOp: string | null = null;

  /** @internal Use the creation functions (`tensor`, `zeros`, ...) instead. */
  constructor(
    readonly storage: Storage,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    readonly offset: number,
    readonly dtype: DType,
  ) {}

  /** Number of elements. */
  get size(): number { return sizeOf(this.shape); }
  /** Number of dimensions. */
  get rank(): number { return this.shape.length; }
  /** The backend holding the data. */
  get backend(): Backend { return this.storage.backend; }
  /** @internal The kernel-level view of this tensor. */
  get view(): View {
    return { buf: this.storage.buf, dtype: this.dtype, shape: this.shape, strides: this.strides, offset: this.offset };
  }
  /** Whether the elements are laid out row-major without gaps. */
  get isContiguous(): boolean { return isContiguous(this.shape, this.strides); }

  /** The values in row-major order (asynchronous: a GPU answers later). */
  data(): Promise<TypedArray> { return this.backend.read(this.view); }
  /** The values, synchronously; only on host-memory backends. Models and trainers must use `data()`. */
  dataSync(): TypedArray {
    const read = this.backend.readSync;
    if (!read) throw new Error(`dataSync: backend '${this.backend.name}' reads asynchronously; use await t.data()`);
    return read.call(this.backend, this.view);
  }
  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: expected one element, got shape ${fmt(this.shape)}`);
    return (await this.data())[0]!;
  }
  /** The values as nested arrays. */
  async toArray(): Promise<NestedArray> { return nest(await this.data(), this.shape); }

  /** Backpropagates from this scalar (or with an explicit output gradient) into leaves' `.grad`. */
  backward(grad?: Tensor): void { runBackward(this, grad, checkFinite); }
  /** A tensor sharing data with this one, cut off from the tape. */
  detach(): Tensor { return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype); }
  /** Marks this tensor as a leaf that receives gradients; returns it. */
  requireGrad(on = true): this {
    if (on && !isFloat(this.dtype)) throw new Error(`requireGrad: only floating-point tensors can require grad, got ${this.dtype}`);
    this.requiresGrad = on;
    return this;
  }

  toString(): string { return format(this); }
  [Symbol.for('nodejs.util.inspect.custom')](): string { return format(this); }

  // Conveniences over ops; see ops.ts for semantics.
  add(b: Tensor | number): Tensor { return ops.add(this, b); }
  sub(b: Tensor | number): Tensor { return ops.sub(this, b); }
  mul(b: Tensor | number): Tensor { return ops.mul(this, b); }
  div(b: Tensor | number): Tensor { return ops.div(this, b); }
  pow(b: Tensor | number): Tensor { return ops.pow(this, b); }
  neg(): Tensor { return ops.neg(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  abs(): Tensor { return ops.abs(this); }
  tanh(): Tensor { return ops.tanh(this); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  relu(): Tensor { return ops.relu(this); }
  square(): Tensor { return ops.square(this); }
  matmul(b: Tensor): Tensor { return ops.matmul(this, b); }
  sum(axis?: number | number[], keepdim = false): Tensor { return ops.sum(this, axis, keepdim); }
  mean(axis?: number | number[], keepdim = false): Tensor { return ops.mean(this, axis, keepdim); }
  max(axis?: number | number[], keepdim = false): Tensor { return ops.max(this, axis, keepdim); }
  min(axis?: number | number[], keepdim = false): Tensor { return ops.min(this, axis, keepdim); }
  argmax(axis: number, keepdim = false): Tensor { return ops.argmax(this, axis, keepdim); }
  reshape(...shape: number[]): Tensor { return ops.reshape(this, shape); }
  flatten(start = 0, end = -1): Tensor { return ops.flatten(this, start, end); }
  permute(...axes: number[]): Tensor { return ops.permute(this, axes); }
  transpose(a = -2, b = -1): Tensor { return ops.transpose(this, a, b); }
  get T(): Tensor { return ops.transpose(this, -2, -1); }
  slice(axis: number, start: number, end?: number, step = 1): Tensor { return ops.slice(this, axis, start, end, step); }
  expand(...shape: number[]): Tensor { return ops.expand(this, shape); }
  squeeze(axis?: number): Tensor { return ops.squeeze(this, axis); }
  unsqueeze(axis: number): Tensor { return ops.unsqueeze(this, axis); }
  contiguous(): Tensor { return ops.contiguous(this); }
  cast(dtype: DType): Tensor { return ops.cast(this, dtype); }
  onesLike(): Tensor { return ops.full(this.shape, 1, this.dtype); }
  zerosLike(): Tensor { return ops.full(this.shape, 0, this.dtype); }
}

/** Wraps a fresh contiguous kernel output; in anomaly mode, checks it for NaN/Inf and names `op`. */
export function fromKernel(op: string, buf: Buffer, shape: Shape, dtype: DType, backend: Backend = getBackend()): Tensor {
  const t = new Tensor(new Storage(backend, buf, sizeOf(shape)), [...shape], contiguousStrides(shape), 0, dtype);
  if (isAnomalyDetectionEnabled()) checkFinite(op, t);
  return t;
}

function checkFinite(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) return;
  const read = t.backend.readSync;
  if (!read) return; // Devices check asynchronously in their own anomaly path.
  const values = read.call(t.backend, t.view);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      throw new AnomalyError(`${op} produced ${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Inf' : '-Inf'} at flat index ${i} of its output of shape ${fmt(t.shape)}`);
    }
  }
}

function nest(values: TypedArray, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return values[0]!;
  const build = (off: number, d: number): NestedArray => {
    const n = shape[d]!;
    if (d === shape.length - 1) return Array.from(values.subarray(off, off + n));
    const step = sizeOf(shape.slice(d + 1));
    return Array.from({ length: n }, (_, i) => build(off + i * step, d + 1));
  };
  return build(0, 0);
}

function format(t: Tensor): string {
  const head = `Tensor(shape=${fmt(t.shape)}, dtype=${t.dtype}${t.requiresGrad ? ', requiresGrad' : ''}`;
  if (!t.backend.readSync) return `${head}, backend=${t.backend.name})`;
  const values = t.dataSync();
  const num = numberFormat(t.dtype, values);
  const edge = 3;
  const render = (off: number, d: number, indent: string): string => {
    if (t.shape.length === 0) return num(values[0]!);
    const n = t.shape[d]!;
    const step = sizeOf(t.shape.slice(d + 1));
    const idx = n > 2 * edge + 1 ? [...Array(edge).keys(), -1, ...Array.from({ length: edge }, (_, i) => n - edge + i)] : [...Array(n).keys()];
    if (d === t.shape.length - 1) return `[${idx.map((i) => (i < 0 ? '...' : num(values[off + i]!))).join(', ')}]`;
    const inner = idx.map((i) => (i < 0 ? '...' : render(off + i * step, d + 1, indent + ' ')));
    return `[${inner.join(`,\n${indent} `)}]`;
  };
  return `${head})\n${render(0, 0, '')}`;
}

/** One format for all of a tensor's values, as PyTorch does, so columns line up: integers, fixed or scientific. */
function numberFormat(dtype: DType, values: TypedArray): (v: number) => string {
  let maxAbs = 0, minAbs = Infinity, integral = true;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const a = Math.abs(v);
    maxAbs = Math.max(maxAbs, a);
    if (a > 0) minAbs = Math.min(minAbs, a);
    integral &&= Number.isInteger(v);
  }
  const scientific = maxAbs >= 1e8 || (!integral && minAbs < 1e-4);
  const text = (v: number) => {
    if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
    if (dtype === 'int32') return String(v);
    return scientific ? v.toExponential(4) : v.toFixed(integral ? 1 : 4);
  };
  let width = 0;
  for (const v of values) width = Math.max(width, text(v).length);
  return (v) => text(v).padStart(width);
}

/** Makes a host array of the right dtype from numbers. */
export function toTypedArray(values: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocArray(dtype, values.length);
  out.set(values as ArrayLike<number>);
  return out;
}
