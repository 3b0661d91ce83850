// Helpers shared by the op files: scalar promotion, dtype checks, and reducing broadcast gradients.
import { ShapeError, fmt, sameShape, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { full } from './creation.js';
import { sum } from './reduce.js';
import { reshape } from './shape.js';

/** `x` itself, or a 0-d tensor holding the number in `like`'s dtype (a fraction never meets an int32 tensor silently). */
export function asTensor(x: Tensor | number, like: Tensor, op = 'op'): Tensor {
  if (typeof x !== 'number') return x;
  if (like.dtype === 'int32' && !Number.isInteger(x) && Number.isFinite(x)) {
    throw new ShapeError(`${op}: the number ${x} does not fit the int32 operand ${fmt(like.shape)}; cast it to a float dtype first`);
  }
  return full([], x, like.dtype);
}

/** Throws unless both tensors have the same dtype and backend. */
export function checkSame(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) throw new ShapeError(`${op}: dtypes differ: ${a.dtype} ${fmt(a.shape)} vs ${b.dtype} ${fmt(b.shape)}`);
  if (a.backend !== b.backend) throw new Error(`${op}: tensors live on different backends (${a.backend.name} vs ${b.backend.name})`);
}

/** Sums a broadcast gradient back down to `shape`. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes, false), shape);
}
