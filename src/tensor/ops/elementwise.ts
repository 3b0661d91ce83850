// Elementwise ops with NumPy broadcasting, and their gradients.
import type { BinaryOp, UnaryOp } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { isFloat } from '../dtype.js';
import { ShapeError, broadcastShapes, fmt } from '../shape.js';
import { fromKernel, type Tensor } from '../tensor.js';
import { full } from './creation.js';
import { expand } from './shape.js';
import { asTensor, checkSame, sumToShape } from './util.js';

function unary(op: UnaryOp, x: Tensor, grad?: (g: Tensor, x: Tensor, y: Tensor) => Tensor): Tensor {
  const out = fromKernel(op, x.backend.unary(op, x.view), x.shape, x.dtype, x.backend);
  if (!grad) return out;
  return record(op, out, [x], (g) => [grad(g, x, out)]);
}

function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  checkSame(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const av = expand(a.detach(), shape), bv = expand(b.detach(), shape);
  return fromKernel(op, a.backend.binary(op, av.view, bv.view, shape), shape, a.dtype, a.backend);
}

function binary(op: BinaryOp, a: Tensor | number, b: Tensor | number,
  grads: (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null]): Tensor {
  const ta = typeof a === 'number' ? asTensor(a, b as Tensor, op) : a;
  const tb = asTensor(b, ta, op);
  const out = binaryKernel(op, ta, tb);
  return record(op, out, [ta, tb], (g) => {
    const [ga, gb] = grads(g, ta, tb, out);
    return [ga && ta.requiresGrad ? sumToShape(ga, ta.shape) : null, gb && tb.requiresGrad ? sumToShape(gb, tb.shape) : null];
  });
}

/** a + b. */
export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary('add', a, b, (g) => [g, g]);
/** a - b. */
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => binary('sub', a, b, (g) => [g, neg(g)]);
/** a * b. */
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary('mul', a, b, (g, x, y) => [mul(g, y), mul(g, x)]);
/** a / b. */
export const div = (a: Tensor | number, b: Tensor | number): Tensor =>
  binary('div', a, b, (g, x, y, out) => [div(g, y), neg(div(mul(g, out), y))]);
/** a ** b. */
export const pow = (a: Tensor | number, b: Tensor | number): Tensor =>
  binary('pow', a, b, (g, x, y, out) => [
    mul(g, mul(y, pow(x, sub(y, 1)))),
    // d/dy x^y = x^y ln x; where x is 0 the term is taken as 0 (as PyTorch does for x=0, y>0). The log's
    // argument avoids 0 so that anomaly mode does not flag the discarded -Inf.
    y.requiresGrad ? mul(g, where(eq(x, 0), 0, mul(out, log(where(eq(x, 0), 1, x))))) : null,
  ]);
/** Elementwise maximum; ties send the gradient to `a`. */
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor =>
  binary('maximum', a, b, (g, x, y) => { const m = ge(x, y); return [mul(g, m), mul(g, sub(1, m))]; });
/** Elementwise minimum; ties send the gradient to `a`. */
export const minimum = (a: Tensor | number, b: Tensor | number): Tensor =>
  binary('minimum', a, b, (g, x, y) => { const m = le(x, y); return [mul(g, m), mul(g, sub(1, m))]; });

function compare(op: BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
  const ta = typeof a === 'number' ? asTensor(a, b as Tensor, op) : a;
  return binaryKernel(op, ta, asTensor(b, ta, op));
}
/** 1 where a == b, else 0 (in the inputs' dtype; no gradient). */
export const eq = (a: Tensor | number, b: Tensor | number): Tensor => compare('eq', a, b);
/** 1 where a != b. */
export const ne = (a: Tensor | number, b: Tensor | number): Tensor => compare('ne', a, b);
/** 1 where a < b. */
export const lt = (a: Tensor | number, b: Tensor | number): Tensor => compare('lt', a, b);
/** 1 where a <= b. */
export const le = (a: Tensor | number, b: Tensor | number): Tensor => compare('le', a, b);
/** 1 where a > b. */
export const gt = (a: Tensor | number, b: Tensor | number): Tensor => compare('gt', a, b);
/** 1 where a >= b. */
export const ge = (a: Tensor | number, b: Tensor | number): Tensor => compare('ge', a, b);

/** -x. */
export const neg = (x: Tensor): Tensor => unary('neg', x, (g) => neg(g));
/** e^x. */
export const exp = (x: Tensor): Tensor => unary('exp', x, (g, _x, y) => mul(g, y));
/** Natural log. */
export const log = (x: Tensor): Tensor => unary('log', x, (g, x) => div(g, x));
/** Square root. */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, (g, _x, y) => div(g, mul(y, 2)));
/** |x| (gradient sign(x), 0 at 0). */
export const abs = (x: Tensor): Tensor => unary('abs', x, (g, x) => mul(g, sign(x)));
/** Sign: -1, 0 or 1 (no gradient). */
export const sign = (x: Tensor): Tensor => unary('sign', x);
/** Floor (no gradient). */
export const floor = (x: Tensor): Tensor => unary('floor', x);
/** x². */
export const square = (x: Tensor): Tensor => unary('square', x, (g, x) => mul(g, mul(x, 2)));
/** 1 / x. */
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x, (g, _x, y) => neg(mul(g, square(y))));
/** tanh. */
export const tanh = (x: Tensor): Tensor => unary('tanh', x, (g, _x, y) => mul(g, sub(1, square(y))));
/** Logistic sigmoid. */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x, (g, _x, y) => mul(g, mul(y, sub(1, y))));
/** max(x, 0). */
export const relu = (x: Tensor): Tensor => unary('relu', x, (g, x) => mul(g, gt(x, 0)));
/** The error function. */
export const erf = (x: Tensor): Tensor =>
  unary('erf', x, (g, x) => mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))));

/** GELU, exact (erf) form by default, or the tanh approximation used by GPT-2 (`approximate: 'tanh'`). */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  // The derivative is one kernel (gelu_grad / gelu_tanh_grad) rather than a dozen elementwise ops.
  if (approximate === 'tanh') return unary('gelu_tanh', x, (g, x) => mul(g, unary('gelu_tanh_grad', x)));
  return unary('gelu', x, (g, x) => mul(g, unary('gelu_grad', x)));
}

/** cond ? a : b, broadcast together; `cond` is nonzero for true. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const ta = typeof a === 'number' ? asTensor(a, typeof b === 'number' ? cond : b, 'where') : a;
  const tb = asTensor(b, ta, 'where');
  checkSame('where', ta, tb);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const out = fromKernel('where', ta.backend.where(expand(cond.detach(), shape).view, expand(ta.detach(), shape).view,
    expand(tb.detach(), shape).view, shape), shape, ta.dtype, ta.backend);
  return record('where', out, [ta, tb], (g) => {
    const zero = full([], 0, g.dtype);
    return [
      ta.requiresGrad ? sumToShape(where(cond, g, zero), ta.shape) : null,
      tb.requiresGrad ? sumToShape(where(cond, zero, g), tb.shape) : null,
    ];
  });
}

/** x with `value` wherever `mask` is nonzero (like `masked_fill`). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  if (!isFloat(x.dtype) && !Number.isInteger(value)) throw new ShapeError(`maskedFill: ${value} does not fit ${x.dtype}`);
  const shape = broadcastShapes('maskedFill', x.shape, mask.shape);
  if (shape.length !== x.rank || shape.some((d, i) => d !== x.shape[i])) {
    throw new ShapeError(`maskedFill: mask ${fmt(mask.shape)} must broadcast to input ${fmt(x.shape)}`);
  }
  return where(mask, value, x);
}

/** Clamps into [min, max]. */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  let y = x;
  if (min !== undefined) y = maximum(y, min);
  if (max !== undefined) y = minimum(y, max);
  return y;
}
