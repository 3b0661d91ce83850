// Tight loops over strided views for the fast CPU backend: each op gets its own monomorphic inner loop over the
// last dimension, and the outer dimensions are walked with counters (no per-element offset tables or closures).
import type { BinaryOp, UnaryOp, View } from '../backend.js';
import { allocArray, type TypedArray } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';

type Arr = TypedArray;
/** out[o + i] = f(a[ia + i*sa], b[ib + i*sb]) for i < n. */
type BinaryLoop = (out: Arr, o: number, a: Arr, ia: number, sa: number, b: Arr, ib: number, sb: number, n: number) => void;
/** out[o + i] = f(a[ia + i*sa]) for i < n. */
type UnaryLoop = (out: Arr, o: number, a: Arr, ia: number, sa: number, n: number) => void;

const binaryLoops: Partial<Record<BinaryOp, BinaryLoop>> = {
  add: (out, o, a, ia, sa, b, ib, sb, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! + b[ib + i * sb]!; },
  sub: (out, o, a, ia, sa, b, ib, sb, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! - b[ib + i * sb]!; },
  mul: (out, o, a, ia, sa, b, ib, sb, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! * b[ib + i * sb]!; },
  div: (out, o, a, ia, sa, b, ib, sb, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! / b[ib + i * sb]!; },
  maximum: (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let i = 0; i < n; i++) { const x = a[ia + i * sa]!, y = b[ib + i * sb]!; out[o + i] = x >= y || x !== x ? x : y; }
  },
  minimum: (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let i = 0; i < n; i++) { const x = a[ia + i * sa]!, y = b[ib + i * sb]!; out[o + i] = x <= y || x !== x ? x : y; }
  },
  eq: (out, o, a, ia, sa, b, ib, sb, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] === b[ib + i * sb] ? 1 : 0; },
  gt: (out, o, a, ia, sa, b, ib, sb, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! > b[ib + i * sb]! ? 1 : 0; },
  ge: (out, o, a, ia, sa, b, ib, sb, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! >= b[ib + i * sb]! ? 1 : 0; },
  lt: (out, o, a, ia, sa, b, ib, sb, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa]! < b[ib + i * sb]! ? 1 : 0; },
};

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const unaryLoops: Partial<Record<UnaryOp, UnaryLoop>> = {
  neg: (out, o, a, ia, sa, n) => { for (let i = 0; i < n; i++) out[o + i] = -a[ia + i * sa]!; },
  exp: (out, o, a, ia, sa, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.exp(a[ia + i * sa]!); },
  log: (out, o, a, ia, sa, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.log(a[ia + i * sa]!); },
  sqrt: (out, o, a, ia, sa, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.sqrt(a[ia + i * sa]!); },
  tanh: (out, o, a, ia, sa, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.tanh(a[ia + i * sa]!); },
  square: (out, o, a, ia, sa, n) => { for (let i = 0; i < n; i++) { const x = a[ia + i * sa]!; out[o + i] = x * x; } },
  reciprocal: (out, o, a, ia, sa, n) => { for (let i = 0; i < n; i++) out[o + i] = 1 / a[ia + i * sa]!; },
  relu: (out, o, a, ia, sa, n) => { for (let i = 0; i < n; i++) { const x = a[ia + i * sa]!; out[o + i] = x > 0 ? x : 0; } },
  sigmoid: (out, o, a, ia, sa, n) => {
    for (let i = 0; i < n; i++) { const x = a[ia + i * sa]!; out[o + i] = x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)); }
  },
  gelu_tanh: (out, o, a, ia, sa, n) => {
    for (let i = 0; i < n; i++) { const x = a[ia + i * sa]!; out[o + i] = 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))); }
  },
};

/** Calls `row(outOffset, offsets...)` for every row (all but the last dim) of `shape`, with each view's offset. */
function forEachRow(shape: readonly number[], views: readonly { strides: readonly number[]; offset: number }[], row: (o: number, offs: number[]) => void): void {
  const rank = shape.length;
  const n = rank === 0 ? 1 : shape[rank - 1]!;
  const rows = n === 0 ? 0 : sizeOf(shape) / n;
  const outer = rank - 1;
  const idx = new Array<number>(Math.max(outer, 0)).fill(0);
  const offs = views.map((v) => v.offset);
  for (let r = 0; r < rows; r++) {
    row(r * n, offs);
    for (let d = outer - 1; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < views.length; k++) offs[k]! += views[k]!.strides[d]!;
      if (idx[d]! < shape[d]!) break;
      for (let k = 0; k < views.length; k++) offs[k]! -= views[k]!.strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

const lastStride = (v: View) => (v.shape.length === 0 ? 1 : v.strides[v.shape.length - 1]!);

/** The fast binary kernel, or null when the op has no fast loop (int32 division keeps the reference's rounding). */
export function binaryFast(op: BinaryOp, a: View, b: View, shape: readonly number[]): Arr | null {
  const loop = binaryLoops[op];
  if (!loop || (a.dtype === 'int32' && op === 'div')) return null;
  const out = allocArray(a.dtype, sizeOf(shape));
  const A = a.buf as Arr, B = b.buf as Arr;
  const n = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const sa = lastStride(a), sb = lastStride(b);
  forEachRow(shape, [a, b], (o, offs) => loop(out, o, A, offs[0]!, sa, B, offs[1]!, sb, n));
  return out;
}

/** The fast unary kernel, or null when the op has no fast loop. */
export function unaryFast(op: UnaryOp, x: View): Arr | null {
  const loop = unaryLoops[op];
  if (!loop) return null;
  const out = allocArray(x.dtype, sizeOf(x.shape));
  const X = x.buf as Arr;
  const n = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1]!;
  const s = lastStride(x);
  forEachRow(x.shape, [x], (o, offs) => loop(out, o, X, offs[0]!, s, n));
  return out;
}

/** A strided copy into a new contiguous array of `dtype`'s kind. */
export function copyFast(x: View, out: Arr): Arr {
  const X = x.buf as Arr;
  const n = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1]!;
  const s = lastStride(x);
  forEachRow(x.shape, [x], (o, offs) => {
    const i0 = offs[0]!;
    if (s === 1 && out.constructor === X.constructor) out.set(X.subarray(i0, i0 + n), o);
    else for (let i = 0; i < n; i++) out[o + i] = X[i0 + i * s]!;
  });
  return out;
}

/** cond ? a : b over broadcast views. */
export function whereFast(cond: View, a: View, b: View, shape: readonly number[]): Arr {
  const out = allocArray(a.dtype, sizeOf(shape));
  const C = cond.buf as Arr, A = a.buf as Arr, B = b.buf as Arr;
  const n = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const sc = lastStride(cond), sa = lastStride(a), sb = lastStride(b);
  forEachRow(shape, [cond, a, b], (o, offs) => {
    const ic = offs[0]!, ia = offs[1]!, ib = offs[2]!;
    for (let i = 0; i < n; i++) out[o + i] = C[ic + i * sc] !== 0 ? A[ia + i * sa]! : B[ib + i * sb]!;
  });
  return out;
}

/** Sum or max over the last axis of a view (the common reduction); null for other layouts. */
export function reduceLastFast(op: 'sum' | 'max' | 'min', x: View, axes: readonly number[]): Arr | null {
  const rank = x.shape.length;
  if (axes.length !== 1 || axes[0] !== rank - 1) return null;
  const n = x.shape[rank - 1]!;
  if (n === 0) return null;
  const rows = sizeOf(x.shape) / n;
  const out = allocArray(x.dtype, rows);
  const X = x.buf as Arr, s = lastStride(x);
  forEachRow(x.shape, [x], (o, offs) => {
    const i0 = offs[0]!;
    const r = o / n;
    if (op === 'sum') { let acc = 0; for (let i = 0; i < n; i++) acc += X[i0 + i * s]!; out[r] = acc; }
    else if (op === 'max') { let acc = -Infinity; for (let i = 0; i < n; i++) { const v = X[i0 + i * s]!; if (v > acc || v !== v) acc = v; } out[r] = acc; }
    else { let acc = Infinity; for (let i = 0; i < n; i++) { const v = X[i0 + i * s]!; if (v < acc || v !== v) acc = v; } out[r] = acc; }
  });
  return out;
}
