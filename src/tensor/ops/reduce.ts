// Reductions over axes, with keepdim: sum, mean, max, min, var, argmax.
import { record } from '../autograd.js';
import { ShapeError, normalizeAxis } from '../shape.js';
import { fromKernel, type Tensor } from '../tensor.js';
import { div, eq, mul, sub, square } from './elementwise.js';
import { expand, reshape } from './shape.js';
import type { ReduceOp } from '../../backend/backend.js';

function resolveAxes(op: string, x: Tensor, axis: number | readonly number[] | undefined): number[] {
  if (axis === undefined) return [...x.shape.keys()];
  const list = typeof axis === 'number' ? [axis] : [...axis];
  const axes = [...new Set(list.map((a) => normalizeAxis(op, a, x.rank)))].sort((a, b) => a - b);
  if (axes.length !== list.length) throw new ShapeError(`${op}: repeated axis in [${list.join(', ')}]`);
  return axes;
}

function keptShape(x: Tensor, axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
}

function reduceKernel(op: ReduceOp, x: Tensor, axes: number[], keepdim: boolean): Tensor {
  return fromKernel(op, x.backend.reduce(op, x.view, axes), keptShape(x, axes, keepdim), x.dtype, x.backend);
}

/** Sum over `axis` (all axes by default). */
export function sum(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  const axes = resolveAxes('sum', x, axis);
  if (axes.length === 0) return x;
  const out = reduceKernel('sum', x, axes, keepdim);
  return record('sum', out, [x], (g) => [expand(reshape(g, keptShape(x, axes, true)), x.shape)]);
}

/** Mean over `axis` (all axes by default). */
export function mean(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  const axes = resolveAxes('mean', x, axis);
  const n = axes.reduce((p, a) => p * x.shape[a]!, 1);
  return div(sum(x, axes, keepdim), n);
}

function extreme(op: 'max' | 'min', x: Tensor, axis: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  const axes = resolveAxes(op, x, axis);
  if (axes.length === 0) return x;
  if (x.size === 0) throw new ShapeError(`${op}: cannot reduce an empty tensor`);
  const out = reduceKernel(op, x, axes, keepdim);
  return record(op, out, [x], (g) => {
    // Ties share the gradient equally (PyTorch's amax/amin rule).
    const shape = keptShape(x, axes, true);
    const hit = eq(x, reshape(out.detach(), shape));
    const count = sum(hit, axes, true);
    return [div(mul(hit, reshape(g, shape)), count)];
  });
}

/** Maximum over `axis` (all axes by default). */
export function max(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor { return extreme('max', x, axis, keepdim); }
/** Minimum over `axis` (all axes by default). */
export function min(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor { return extreme('min', x, axis, keepdim); }

/** Variance over `axis`; unbiased (divides by n-1) by default, like `torch.var`. */
export function variance(x: Tensor, axis?: number | readonly number[], keepdim = false, unbiased = true): Tensor {
  const axes = resolveAxes('var', x, axis);
  const n = axes.reduce((p, a) => p * x.shape[a]!, 1);
  const centered = sub(x, mean(x, axes, true));
  return div(sum(square(centered), axes, keepdim), unbiased ? n - 1 : n);
}

/** Index (int32) of the maximum along `axis`. */
export function argmax(x: Tensor, axis: number, keepdim = false): Tensor {
  const a = normalizeAxis('argmax', axis, x.rank);
  return fromKernel('argmax', x.backend.argmax(x.view, a), keptShape(x, [a], keepdim), 'int32', x.backend);
}
