// Shape ops. Reshape, permute, slice, expand and (un)squeeze are views that share storage where the layout
// allows; concat and contiguous copy.
import { ShapeError, contiguousStrides, fmt, normalizeAxis, sameShape, sizeOf, type Shape } from '../shape.js';
import { record } from '../autograd.js';
import { Tensor, fromKernel } from '../tensor.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import { arange } from './creation.js';
import { sumToShape } from './util.js';

function viewOf(x: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  return new Tensor(x.storage, shape, strides, offset, x.dtype);
}

/** A copy laid out row-major, or `x` itself if it already is. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous) return x;
  const out = fromKernel('contiguous', x.backend.contiguous(x.view, x.dtype), x.shape, x.dtype, x.backend);
  return record('contiguous', out, [x], (g) => [g]);
}

/** Converts to another dtype (gradients flow between float dtypes). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const out = fromKernel('cast', x.backend.contiguous(x.view, dtype), x.shape, dtype, x.backend);
  if (!isFloat(dtype)) return out;
  return record('cast', out, [x], (g) => [cast(g, x.dtype)]);
}

function resolveShape(op: string, x: Tensor, shape: readonly number[]): number[] {
  const out = [...shape];
  const infer = out.indexOf(-1);
  const known = out.reduce((p, d) => (d === -1 ? p : p * d), 1);
  if (infer >= 0) {
    if (out.lastIndexOf(-1) !== infer || known === 0 || x.size % known !== 0) {
      throw new ShapeError(`${op}: cannot reshape ${fmt(x.shape)} to ${fmt(shape)}`);
    }
    out[infer] = x.size / known;
  }
  if (sizeOf(out) !== x.size) throw new ShapeError(`${op}: cannot reshape ${fmt(x.shape)} (${x.size} elements) to ${fmt(shape)}`);
  return out;
}

/** Strides that let `x` be viewed with `shape` without copying, or null (PyTorch's `computeStride` rules). */
function viewStrides(x: Tensor, shape: readonly number[]): number[] | null {
  if (x.isContiguous || x.size === 0) return contiguousStrides(shape);
  const oldShape = x.shape, oldStrides = x.strides;
  const newStrides = new Array<number>(shape.length).fill(1);
  let viewD = shape.length - 1;
  let chunkBaseStride = oldStrides[oldStrides.length - 1]!;
  let tensorNumel = 1, viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d]!;
    // A chunk of old dims ends where the next-outer dim is not laid out contiguously after it.
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= shape[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBaseStride = oldStrides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? newStrides : null;
}

/** The same elements with another shape (one dim may be -1); a view when the layout allows, else a copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = resolveShape('reshape', x, shape);
  if (sameShape(target, x.shape)) return x;
  const strides = viewStrides(x, target);
  const out = strides ? viewOf(x, target, strides, x.offset) : viewOf(contiguous(x).detach(), target, contiguousStrides(target), 0);
  return record('reshape', out, [x], (g) => [reshape(g, x.shape)]);
}

/** Merges dims start..end into one. */
export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeAxis('flatten', start, x.rank), e = normalizeAxis('flatten', end, x.rank);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Reorders dims (a view). */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const ax = axes.map((a) => normalizeAxis('permute', a, x.rank));
  if (ax.length !== x.rank || new Set(ax).size !== x.rank) throw new ShapeError(`permute: ${fmt(axes)} is not a permutation of ${x.rank} dims`);
  const out = viewOf(x, ax.map((a) => x.shape[a]!), ax.map((a) => x.strides[a]!), x.offset);
  const inverse = new Array<number>(ax.length);
  ax.forEach((a, i) => { inverse[a] = i; });
  return record('permute', out, [x], (g) => [permute(g, inverse)]);
}

/** Swaps two dims (a view). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const axes = [...x.shape.keys()];
  const i = normalizeAxis('transpose', a, x.rank), j = normalizeAxis('transpose', b, x.rank);
  [axes[i], axes[j]] = [axes[j]!, axes[i]!];
  return permute(x, axes);
}

/** Elements start, start+step, ... below end along `axis` (a view). Negative start/end count from the end. */
export function slice(x: Tensor, axis: number, start: number, end?: number, step = 1): Tensor {
  const a = normalizeAxis('slice', axis, x.rank);
  const n = x.shape[a]!;
  if (!Number.isInteger(step) || step < 1) throw new ShapeError(`slice: step must be a positive integer, got ${step}`);
  const clamp = (v: number) => Math.min(n, Math.max(0, v < 0 ? v + n : v));
  const s = clamp(start), e = Math.max(s, clamp(end ?? n));
  const len = Math.ceil((e - s) / step);
  const shape = [...x.shape]; shape[a] = len;
  const strides = [...x.strides]; strides[a] = x.strides[a]! * step;
  const out = viewOf(x, shape, strides, x.offset + s * x.strides[a]!);
  return record('slice', out, [x], (g) => {
    // The adjoint of a strided slice: g written at positions s, s+step, ... of a zero tensor, through the backend's
    // strided assign (no index tensor, no scatter).
    const backend = g.backend;
    const buf = backend.fill(g.dtype, sizeOf(x.shape), 0);
    const full = contiguousStrides(x.shape);
    const at = [...full]; at[a] = full[a]! * step;
    backend.assign({ buf, dtype: g.dtype, shape: g.shape, strides: at, offset: s * full[a]! }, g.view);
    return [fromKernel('slice backward', buf, x.shape, g.dtype, backend)];
  });
}

/** Splits into pieces of `sizes` (or equal pieces of that size) along `axis` (views). */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normalizeAxis('split', axis, x.rank);
  const n = x.shape[a]!;
  if (typeof sizes === 'number' ? !(Number.isInteger(sizes) && sizes > 0) : sizes.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`split: sizes must be positive integers, got ${JSON.stringify(sizes)} for ${fmt(x.shape)}`);
  }
  const parts = typeof sizes === 'number' ? Array.from({ length: Math.ceil(n / sizes) }, (_, i) => Math.min(sizes, n - i * sizes)) : [...sizes];
  if (parts.reduce((p, q) => p + q, 0) !== n) throw new ShapeError(`split: sizes ${fmt(parts)} do not add up to dim ${a} of ${fmt(x.shape)}`);
  let start = 0;
  return parts.map((len) => { const t = slice(x, a, start, start + len); start += len; return t; });
}

/** A view of `x` broadcast to `shape` (stride 0 along new or size-1 dims). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.rank;
  if (lead < 0) throw new ShapeError(`expand: cannot expand ${fmt(x.shape)} to fewer dims ${fmt(shape)}`);
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - lead]! : d));
  if (sameShape(target, x.shape)) return x;
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const xd = x.shape[i - lead]!;
    if (xd === d) return x.strides[i - lead]!;
    if (xd === 1) return 0;
    throw new ShapeError(`expand: cannot expand ${fmt(x.shape)} to ${fmt(shape)}`);
  });
  const out = viewOf(x, target, strides, x.offset);
  return record('expand', out, [x], (g) => [sumToShape(g, x.shape)]);
}

/** Removes `axis` (or every size-1 dim). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normalizeAxis('squeeze', axis, x.rank);
  if (x.shape[a] !== 1) return x;
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

/** Inserts a size-1 dim at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis('unsqueeze', axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/** Joins tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const first = xs[0]!;
  const a = normalizeAxis('concat', axis, first.rank);
  for (const x of xs) {
    if (x.dtype !== first.dtype) throw new ShapeError(`concat: dtypes differ: ${first.dtype} ${fmt(first.shape)} vs ${x.dtype} ${fmt(x.shape)}`);
    if (x.rank !== first.rank || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${fmt(first.shape)} and ${fmt(x.shape)} differ outside axis ${a}`);
    }
  }
  const shape = [...first.shape];
  shape[a] = xs.reduce((n, x) => n + x.shape[a]!, 0);
  const out = fromKernel('concat', first.backend.concat(xs.map((x) => x.view), a), shape, first.dtype, first.backend);
  return record('concat', out, xs, (g) => split(g, xs.map((x) => x.shape[a]!), a));
}

/** Joins tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('stack: needs at least one tensor');
  const a = normalizeAxis('stack', axis, xs[0]!.rank + 1);
  return concat(xs.map((x) => unsqueeze(x, a)), a);
}

/** Gathers values along `axis` at `index` (int32, same rank as x); the output has index's shape. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = normalizeAxis('gather', axis, x.rank);
  if (index.dtype !== 'int32') throw new ShapeError(`gather: index must be int32, got ${index.dtype} ${fmt(index.shape)} (input ${x.dtype} ${fmt(x.shape)})`);
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== a && d > x.shape[i]!)) {
    throw new ShapeError(`gather: index ${fmt(index.shape)} does not fit input ${fmt(x.shape)} along axis ${a}`);
  }
  const out = fromKernel('gather', x.backend.gather(x.view, a, index.view), index.shape, x.dtype, x.backend);
  return record('gather', out, [x], (g) => [scatterAdd(x.shape, a, index, g)]);
}

/** zeros(shape).scatter_add(axis, index, src): adds each src element at its index along `axis`. */
export function scatterAdd(shape: Shape, axis: number, index: Tensor, src: Tensor): Tensor {
  const a = normalizeAxis('scatterAdd', axis, shape.length);
  if (!sameShape(index.shape, src.shape)) throw new ShapeError(`scatterAdd: index ${fmt(index.shape)} and src ${fmt(src.shape)} differ`);
  const out = fromKernel('scatterAdd', src.backend.scatterAdd(shape, a, index.view, src.view), shape, src.dtype, src.backend);
  return record('scatterAdd', out, [src], (g) => [gather(g, a, index)]);
}

/** Picks whole slices along `axis` at the positions in a 1-D int32 `index` (like `torch.index_select`). */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = normalizeAxis('indexSelect', axis, x.rank);
  if (index.rank !== 1) throw new ShapeError(`indexSelect: index must be 1-D, got ${fmt(index.shape)}`);
  const shape = [...x.shape]; shape[a] = index.shape[0]!;
  const idx = expand(reshape(index, x.shape.map((_, i) => (i === a ? index.shape[0]! : 1))), shape);
  return gather(x, a, idx);
}
