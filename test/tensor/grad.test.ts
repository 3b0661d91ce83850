// Every op's gradient against central finite differences, in the float64 path, on every backend with float64 (the
// neural-network ops also without the reference's fused kernels, so the composite paths' gradients are checked).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { distinctF64, gradcheck, randF64 } from '../helpers/gradcheck.js';
import { UNFUSED, forEachBackend, withBackend } from '../helpers/backends.js';

type F = (...xs: T.Tensor[]) => T.Tensor;
const checkAll = (name: string, f: F, inputs: () => T.Tensor[], opts?: Parameters<typeof gradcheck>[2], unfused = false) =>
  forEachBackend(name, () => { gradcheck(f, inputs(), opts); }, { float64: true, unfused });
const check = checkAll;
const ints = (values: number[], shape: number[]) => T.fromArray(values, shape, { dtype: 'int32' });

// Shape pairs that exercise NumPy broadcasting from both sides, rank promotion and 0-d operands.
const BROADCAST: [number[], number[]][] = [
  [[2, 3], [2, 3]],
  [[2, 3, 4], [3, 1]],
  [[2, 1, 4], [3, 4]],
  [[1], [2, 3]],
  [[], [2, 2]],
];

describe('binary ops, with broadcasting', () => {
  const pos = { low: 0.5, high: 2 };
  const nonzero = { avoid: [0], gap: 0.3 };
  const binaries: [string, F, object, object][] = [
    ['add', T.add, {}, {}],
    ['sub', T.sub, {}, {}],
    ['mul', T.mul, {}, {}],
    ['div', T.div, {}, nonzero],
    ['pow (tensor exponent)', T.pow, pos, {}],
    ['maximum', T.maximum, {}, {}],
    ['minimum', T.minimum, {}, {}],
  ];
  for (const [name, f, oa, ob] of binaries) {
    for (const [sa, sb] of BROADCAST) {
      check(`${name} ${JSON.stringify(sa)} with ${JSON.stringify(sb)}`, f, () => [randF64(sa, { seed: 1, ...oa }), randF64(sb, { seed: 2, ...ob })]);
      check(`${name} ${JSON.stringify(sb)} with ${JSON.stringify(sa)}`, f, () => [randF64(sb, { seed: 3, ...oa }), randF64(sa, { seed: 4, ...ob })]);
    }
  }
  check('scalar operands on either side', (x) => T.add(T.sub(1.5, T.mul(x, 2)), T.div(3, x)), () => [randF64([2, 3], nonzero)]);
  check('pow with a scalar exponent', (x) => T.add(T.pow(x, 3), T.pow(T.abs(x), 0.5)), () => [randF64([3, 4], nonzero)]);
  check('pow with a scalar base', (x) => T.pow(2, x), () => [randF64([3, 4])]);
  check('pow with a tensor exponent at base 0 gives a finite exponent gradient', (x, y) => T.pow(T.relu(x), y),
    () => [randF64([4, 3], { avoid: [0], gap: 0.2 }), randF64([3], { low: 1.5, high: 3 })]);
  check('maximum and minimum against a scalar (clamp-like)', (x) => T.add(T.maximum(x, 0.3), T.minimum(x, -0.2)), () => [randF64([3, 4], { avoid: [0.3, -0.2] })]);
  check('binary ops on a transposed view', (a, b) => T.mul(T.transpose(a, 0, 1), b), () => [randF64([4, 3]), randF64([3, 4], { seed: 9 })]);
});

describe('unary ops', () => {
  const unaries: [string, F, object][] = [
    ['neg', T.neg, {}],
    ['exp', T.exp, {}],
    ['log', T.log, { low: 0.2, high: 3 }],
    ['sqrt', T.sqrt, { low: 0.2, high: 3 }],
    ['abs', T.abs, { avoid: [0] }],
    ['square', T.square, {}],
    ['reciprocal', T.reciprocal, { avoid: [0], gap: 0.3 }],
    ['tanh', T.tanh, {}],
    ['sigmoid', T.sigmoid, { low: -6, high: 6 }],
    ['relu', T.relu, { avoid: [0] }],
    ['erf', T.erf, { low: -3, high: 3 }],
    ['gelu (erf form)', (x) => T.gelu(x), { low: -4, high: 4 }],
    ['gelu (tanh form)', (x) => T.gelu(x, 'tanh'), { low: -4, high: 4 }],
  ];
  for (const [name, f, o] of unaries) {
    check(name, f, () => [randF64([3, 4], o)]);
    check(`${name} on a strided view`, (x) => f(T.slice(T.transpose(x), 0, 0, undefined, 2)), () => [randF64([3, 4], { seed: 5, ...o })]);
  }
});

describe('selection', () => {
  check('where with broadcast condition and operands', (a, b) => T.where(ints([1, 0, 1], [3, 1]), a, b), () => [randF64([2, 3, 4]), randF64([4], { seed: 2 })]);
  check('where with a scalar branch', (a) => T.where(ints([0, 1, 1, 0], [4]), a, -1), () => [randF64([3, 4])]);
  check('maskedFill', (x) => T.maskedFill(x, ints([1, 0, 0], [1, 3]), -7), () => [randF64([2, 3])]);
  check('clamp', (x) => T.clamp(x, -0.5, 0.7), () => [randF64([4, 5], { avoid: [-0.5, 0.7] })]);
  check('clamp with only a lower bound', (x) => T.clamp(x, 0.1), () => [randF64([4, 5], { avoid: [0.1] })]);
});

describe('reductions', () => {
  const axesCases: [number | number[] | undefined, boolean][] = [[undefined, false], [0, false], [-1, true], [[0, 2], false], [[0, 2], true], [1, true]];
  for (const [axis, keepdim] of axesCases) {
    const tag = `axis ${JSON.stringify(axis)}${keepdim ? ' keepdim' : ''}`;
    check(`sum ${tag}`, (x) => T.sum(x, axis, keepdim), () => [randF64([2, 3, 4])]);
    check(`mean ${tag}`, (x) => T.mean(x, axis, keepdim), () => [randF64([2, 3, 4])]);
    check(`max ${tag}`, (x) => T.max(x, axis, keepdim), () => [distinctF64([2, 3, 4])]);
    check(`min ${tag}`, (x) => T.min(x, axis, keepdim), () => [distinctF64([2, 3, 4])]);
    check(`variance ${tag}`, (x) => T.variance(x, axis, keepdim), () => [randF64([2, 3, 4])]);
  }
  check('biased variance', (x) => T.variance(x, 1, false, false), () => [randF64([3, 5])]);
  check('sum of a transposed view', (x) => T.sum(T.transpose(x, 0, 2), [1, 2]), () => [randF64([2, 3, 4])]);
});

describe('shape ops', () => {
  check('reshape (view)', (x) => T.mul(T.reshape(x, [4, -1]), T.arange(6, undefined, 1, 'float64')), () => [randF64([2, 3, 4])]);
  check('reshape (copy of a transposed view)', (x) => T.mul(T.reshape(T.transpose(x, 0, 2), [-1, 6]), T.arange(6, undefined, 1, 'float64')), () => [randF64([2, 3, 4])]);
  check('flatten', (x) => T.flatten(x, 1), () => [randF64([2, 3, 4])]);
  check('permute', (x) => T.mul(T.permute(x, [2, 0, 1]), randF64([4, 2, 3], { seed: 11 })), () => [randF64([2, 3, 4])]);
  check('transpose', (x) => T.matmul(T.transpose(x, 0, 1), randF64([2, 5], { seed: 11 })), () => [randF64([2, 3])]);
  check('slice with a step', (x) => T.slice(x, 1, 1, 6, 2), () => [randF64([2, 7])]);
  check('slice with negative bounds', (x) => T.slice(x, 0, -3, -1), () => [randF64([5, 2])]);
  check('slice of a slice', (x) => T.slice(T.slice(x, 1, 1, undefined, 2), 0, 1, 3), () => [randF64([4, 8])]);
  check('split', (x) => {
    const parts = T.split(x, [1, 3, 2], 1);
    return T.concat(parts.map((p, i) => T.mul(p, i + 1)), 1);
  }, () => [randF64([2, 6])]);
  check('split into equal pieces', (x) => T.stack(T.split(x, 2, 0).map((p, i) => T.mul(p, i - 1)), 0), () => [randF64([4, 3])]);
  // the pieces share one gradient buffer: some pieces unused, x read besides the pieces, a transposed x split on a
  // middle axis, and a piece read twice
  check('split with a piece unused', (x) => { const [a, , c] = T.split(x, [2, 1, 3], 1); return T.concat([T.mul(a, 2), T.exp(c)], 1); }, () => [randF64([3, 6])]);
  check('split beside another use of x', (x) => { const [a, b] = T.split(x, 2, 0); return T.add(T.mul(a, b), T.sum(T.mul(x, x), 0)); }, () => [randF64([4, 3])]);
  check('split of a transposed view on a middle axis', (x) => {
    const [a, b] = T.split(T.transpose(x, 0, 2), [1, 2], 1);
    return T.add(T.sum(T.mul(a, a), 1), T.sum(T.tanh(b), 1));
  }, () => [randF64([2, 3, 4])]);
  check('split with a piece read twice', (x) => { const [a, b] = T.split(x, [1, 2], 0); return T.concat([T.mul(a, a), T.mul(b, a)], 0); }, () => [randF64([3, 2])]);
  check('expand', (x) => T.mul(T.expand(x, [2, 3, 4]), randF64([2, 3, 4], { seed: 11 })), () => [randF64([3, 1])]);
  check('squeeze and unsqueeze', (x) => T.unsqueeze(T.squeeze(T.mul(x, x), 1), 0), () => [randF64([3, 1, 2])]);
  check('squeeze every size-1 dim', (x) => T.squeeze(x), () => [randF64([1, 3, 1, 2])]);
  check('concat', (a, b, c) => T.concat([a, b, c], 1), () => [randF64([2, 1, 3]), randF64([2, 2, 3], { seed: 2 }), randF64([2, 3, 3], { seed: 3 })]);
  check('concat of one tensor used twice', (a) => T.concat([a, T.mul(a, 2)], 0), () => [randF64([2, 3])]);
  check('stack', (a, b) => T.stack([a, b], 1), () => [randF64([2, 3]), randF64([2, 3], { seed: 2 })]);
  check('gather (repeated indices)', (x) => T.gather(x, 1, ints([0, 2, 2, 1, 1, 1], [2, 3])), () => [randF64([2, 4])]);
  check('gather along axis 0', (x) => T.gather(x, 0, ints([2, 0, 1, 2], [2, 2])), () => [randF64([3, 2])]);
  check('scatterAdd (duplicate targets)', (src) => T.scatterAdd([2, 4], 1, ints([0, 3, 0, 1, 1, 2], [2, 3]), src), () => [randF64([2, 3])]);
  check('indexSelect', (x) => T.indexSelect(x, 1, ints([2, 0, 2], [3])), () => [randF64([2, 3, 2])]);
  check('embedding (repeated ids)', (w) => T.embedding(w, ints([1, 4, 1, 0, 1, 3], [2, 3])), () => [randF64([5, 3])]);
  check('contiguous', (x) => T.contiguous(T.transpose(x)), () => [randF64([3, 4])]);
  check('pad', (x) => T.pad(x, [[1, 2], [0, 1]], 0.5), () => [randF64([2, 3, 2])]);
});

describe('matmul', () => {
  check('2-D', T.matmul, () => [randF64([3, 4]), randF64([4, 5], { seed: 2 })]);
  check('batched', T.matmul, () => [randF64([2, 3, 4]), randF64([2, 4, 5], { seed: 2 })]);
  check('broadcast batch dims', T.matmul, () => [randF64([2, 1, 3, 4]), randF64([3, 4, 2], { seed: 2 })]);
  check('batched times a matrix', T.matmul, () => [randF64([2, 3, 4]), randF64([4, 5], { seed: 2 })]);
  check('a matrix times a batch', T.matmul, () => [randF64([3, 4]), randF64([2, 4, 5], { seed: 2 })]);
  check('1-D times 2-D', T.matmul, () => [randF64([4]), randF64([4, 3], { seed: 2 })]);
  check('2-D times 1-D', T.matmul, () => [randF64([3, 4]), randF64([4], { seed: 2 })]);
  check('1-D times 1-D', T.matmul, () => [randF64([4]), randF64([4], { seed: 2 })]);
  check('1-D times batched', T.matmul, () => [randF64([4]), randF64([2, 4, 3], { seed: 2 })]);
  check('transposed views', (a, b) => T.matmul(T.transpose(a), T.transpose(b)), () => [randF64([4, 3]), randF64([5, 4], { seed: 2 })]);
  check('batched transposed views', (a, b) => T.matmul(a, T.transpose(b)), () => [randF64([2, 3, 4]), randF64([2, 5, 4], { seed: 2 })]);
  check('permuted batch (non-mergeable strides)', (a, b) => T.matmul(T.permute(a, [1, 0, 2, 3]), b), () => [randF64([3, 2, 2, 4]), randF64([4, 2], { seed: 2 })]);
});

describe('neural-network ops', () => {
  // Softmax, layer norm and cross-entropy have fused kernels on the reference backend: check their composites too.
  const checkFused = (name: string, f: F, inputs: () => T.Tensor[], opts?: Parameters<typeof gradcheck>[2]) => checkAll(name, f, inputs, opts, true);
  for (const axis of [0, 1, -1]) {
    checkFused(`softmax axis ${axis}`, (x) => T.softmax(x, axis), () => [randF64([2, 3, 4])]);
    checkFused(`logSoftmax axis ${axis}`, (x) => T.logSoftmax(x, axis), () => [randF64([2, 3, 4])]);
  }
  checkFused('layerNorm with weight and bias', (x, w, b) => T.layerNorm(x, w, b), () => [randF64([2, 3, 4]), randF64([4], { seed: 2 }), randF64([4], { seed: 3 })]);
  checkFused('layerNorm over two dims', (x, w, b) => T.layerNorm(x, w, b, 1e-5), () => [randF64([2, 3, 4]), randF64([3, 4], { seed: 2 }), randF64([3, 4], { seed: 3 })]);
  checkFused('layerNorm without affine', (x) => T.layerNorm(x, null, null), () => [randF64([3, 5])]);

  // Made inside each check: a tensor belongs to the backend it was made on.
  const target = () => ints([0, 3, -100, 1, 2], [5]);
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    for (const labelSmoothing of [0, 0.1]) {
      checkFused(`crossEntropy ${reduction}, labelSmoothing ${labelSmoothing}, ignoreIndex -100`,
        (x) => T.crossEntropy(x, target(), { reduction, labelSmoothing }), () => [randF64([5, 4])]);
    }
  }
  checkFused('crossEntropy with a custom ignoreIndex', (x) => T.crossEntropy(x, ints([0, 2, 2, 1], [4]), { ignoreIndex: 2, labelSmoothing: 0.2 }), () => [randF64([4, 3])]);
  checkFused('crossEntropy over [N, C, d] logits', (x) => T.crossEntropy(x, ints([0, 3, 1, -100, 2, 2], [2, 3]), { labelSmoothing: 0.1 }), () => [randF64([2, 4, 3])]);
  checkFused('crossEntropy over [N, C, d] logits, no reduction', (x) => T.crossEntropy(x, ints([0, 3, 1, 1, 2, 2], [2, 3]), { reduction: 'none' }), () => [randF64([2, 4, 3])]);

  const qkv = () => [randF64([2, 2, 3, 4]), randF64([2, 2, 5, 4], { seed: 2 }), randF64([2, 2, 5, 3], { seed: 3 })];
  const padding = () => ints([1, 1, 1, 0, 0, 1, 1, 1, 1, 1], [2, 1, 1, 5]);
  check('attention', (q, k, v) => T.scaledDotProductAttention(q, k, v), qkv);
  check('attention with a padding mask', (q, k, v) => T.scaledDotProductAttention(q, k, v, { mask: padding() }), qkv);
  const self = () => [randF64([2, 2, 4, 3]), randF64([2, 2, 4, 3], { seed: 2 }), randF64([2, 2, 4, 3], { seed: 3 })];
  check('attention, causal', (q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: true }), self);
  check('attention, causal with a padding mask', (q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: true, mask: ints([1, 1, 1, 0, 1, 1, 1, 1], [2, 1, 1, 4]) }), self);
  check('attention, causal with fewer queries than keys (KV cache)', (q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: true }), qkv);

  check('linear with bias', T.linear, () => [randF64([2, 3, 4]), randF64([5, 4], { seed: 2 }), randF64([5], { seed: 3 })]);
  check('linear without bias', (x, w) => T.linear(x, w), () => [randF64([3, 4]), randF64([2, 4], { seed: 2 })]);
  check('lstmCell (h and c)', (x, h, c, wIh, wHh, bIh, bHh) => {
    const out = T.lstmCell(x, h, c, wIh, wHh, bIh, bHh);
    return T.concat([out.h, T.mul(out.c, 0.7)], 1);
  }, () => [randF64([2, 3]), randF64([2, 4], { seed: 2 }), randF64([2, 4], { seed: 3 }), randF64([16, 3], { seed: 4, low: -1, high: 1 }),
    randF64([16, 4], { seed: 5, low: -1, high: 1 }), randF64([16], { seed: 6 }), randF64([16], { seed: 7 })]);

  const lstmInputs = () => [randF64([2, 5, 16]), randF64([16, 4], { seed: 5, low: -1, high: 1 }), randF64([16], { seed: 6 }),
    randF64([2, 4], { seed: 2 }), randF64([2, 4], { seed: 3 })];
  check('lstmSequence (outputs, final h and c)', (xw, wHh, bHh, h0, c0) => {
    const out = T.lstmSequence(xw, wHh, bHh, h0, c0, null);
    return T.concat([T.reshape(out.output, [2, 20]), out.h, T.mul(out.c, 0.7)], 1);
  }, lstmInputs);
  check('lstmSequence with padding (lengths 5 and 3)', (xw, wHh, bHh, h0, c0) => {
    const out = T.lstmSequence(xw, wHh, bHh, h0, c0, T.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], { dtype: 'float64' }));
    return T.concat([T.reshape(out.output, [2, 20]), out.h, T.mul(out.c, 0.7)], 1);
  }, lstmInputs);

  // LSTMP: H = 4, P = 3; clip bounds low enough that some cells and projections clip (away from the bounds, where the
  // finite differences are smooth).
  const lstmpInputs = () => [randF64([2, 5, 16]), randF64([16, 3], { seed: 5, low: -1, high: 1 }), randF64([16], { seed: 6 }),
    randF64([3, 4], { seed: 8, low: -1.5, high: 1.5 }), randF64([2, 3], { seed: 2 }), randF64([2, 4], { seed: 3 })];
  const lstmp = (clip: T.LSTMPClip, mask: number[][] | null) => (xw: T.Tensor, wHh: T.Tensor, bHh: T.Tensor, wHr: T.Tensor, r0: T.Tensor, c0: T.Tensor) => {
    const out = T.lstmpSequence(xw, wHh, bHh, wHr, r0, c0, mask && T.tensor(mask, { dtype: 'float64' }), clip);
    return T.concat([T.reshape(out.output, [2, 15]), out.h, T.mul(out.c, 0.7)], 1);
  };
  check('lstmpSequence (projection, outputs, final r and c)', lstmp({}, null), lstmpInputs);
  check('lstmpSequence with cell and projection clipping and padding', lstmp({ cellClip: 0.6, projClip: 0.35 },
    [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]), lstmpInputs);
  forEachBackend('lstmpSequence equals the step-by-step LSTMP cell with clamp (bilm-tf\'s clipping)', () => {
    const [xw, wHh, bHh, wHr, r0, c0] = lstmpInputs() as [T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor];
    const fused = T.lstmpSequence(xw, wHh, bHh, wHr, r0, c0, null, { cellClip: 0.6, projClip: 0.35 });
    let r = r0, c = c0;
    const outs: T.Tensor[] = [];
    for (let t = 0; t < 5; t++) {
      const gates = T.add(T.reshape(T.slice(xw, 1, t, t + 1), [2, 16]), T.linear(r, wHh, bHh));
      const [i, f, g, o] = T.split(gates, 4, -1) as [T.Tensor, T.Tensor, T.Tensor, T.Tensor];
      c = T.clamp(T.add(T.mul(T.sigmoid(f), c), T.mul(T.sigmoid(i), T.tanh(g))), -0.6, 0.6);
      r = T.clamp(T.linear(T.mul(T.sigmoid(o), T.tanh(c)), wHr), -0.35, 0.35);
      outs.push(r);
    }
    const stepped = T.stack(outs, 1).dataSync();
    assert.ok(stepped.some((v) => Math.abs(v) === 0.35), 'the inputs should make some projections clip');
    assert.deepEqual(stepped, fused.output.dataSync());
    assert.deepEqual(r.dataSync(), fused.h.dataSync());
    assert.deepEqual(c.dataSync(), fused.c.dataSync());
  }, { float64: true });

  check('conv1d with stride and padding', (x, w, b) => T.conv1d(x, w, b, { stride: 2, padding: 1 }), () => [randF64([2, 3, 7]), randF64([4, 3, 3], { seed: 2 }), randF64([4], { seed: 3 })]);
  check('conv1d then max over time', (x, w) => T.maxOverTime(T.conv1d(x, w)), () => [randF64([2, 2, 6]), randF64([3, 2, 2], { seed: 2 })]);
  check('conv2d', (x, w, b) => T.conv2d(x, w, b), () => [randF64([2, 2, 4, 4]), randF64([3, 2, 3, 3], { seed: 2 }), randF64([3], { seed: 3 })]);
  check('conv2d with stride 2 and padding 1', (x, w) => T.conv2d(x, w, null, { stride: 2, padding: 1 }), () => [randF64([1, 2, 5, 5]), randF64([2, 2, 3, 3], { seed: 2 })]);
  check('conv2d with per-axis stride and padding', (x, w) => T.conv2d(x, w, null, { stride: [1, 2], padding: [0, 1] }), () => [randF64([1, 1, 4, 5]), randF64([2, 1, 2, 3], { seed: 2 })]);
  check('maxPool2d', (x) => T.maxPool2d(x, 2), () => [distinctF64([1, 2, 4, 4])]);
  check('maxPool2d with stride and padding', (x) => T.maxPool2d(x, 3, 2, 1), () => [distinctF64([1, 2, 5, 5])]);
  check('avgPool2d', (x) => T.avgPool2d(x, 2), () => [randF64([1, 2, 4, 4])]);
  check('avgPool2d with stride and padding', (x) => T.avgPool2d(x, 3, 1, 1), () => [randF64([1, 1, 4, 4])]);
  // The image ops through the fused kernels and, unfused, through the composites.
  const image = (name: string, f: F, inputs: () => T.Tensor[]) => check(name, f, inputs, undefined, true);
  image('conv2d with dilation, stride, padding and groups', (x, w, b) => T.conv2d(x, w, b, { stride: [2, 1], padding: [1, 2], dilation: [2, 1], groups: 2 }),
    () => [randF64([2, 4, 6, 5]), randF64([6, 2, 2, 3], { seed: 2 }), randF64([6], { seed: 3 })]);
  image('conv2d depthwise (groups = channels) without bias', (x, w) => T.conv2d(x, w, null, { padding: 1, groups: 3 }), () => [randF64([1, 3, 4, 4]), randF64([3, 1, 3, 3], { seed: 2 })]);
  image('conv2d 1x1 with stride 2 (a ResNet shortcut)', (x, w) => T.conv2d(x, w, null, { stride: 2 }), () => [randF64([2, 3, 5, 5]), randF64([4, 3, 1, 1], { seed: 2 })]);
  image('conv1d with dilation and groups', (x, w, b) => T.conv1d(x, w, b, { dilation: 2, padding: 2, groups: 2 }),
    () => [randF64([2, 4, 7]), randF64([4, 2, 3], { seed: 2 }), randF64([4], { seed: 3 })]);
  image('maxPool2d with dilation', (x) => T.maxPool2d(x, 2, 1, 1, 2), () => [distinctF64([2, 2, 5, 6])]);
  image('maxPool2d with overlapping windows', (x) => T.maxPool2d(x, [3, 2], [1, 2]), () => [distinctF64([1, 2, 5, 6])]);
  image('avgPool2d with per-axis kernel, stride and padding', (x) => T.avgPool2d(x, [3, 2], [2, 1], [1, 0]), () => [randF64([2, 2, 5, 4])]);
  image('adaptiveAvgPool2d to a size that does not divide the input', (x) => T.adaptiveAvgPool2d(x, [3, 2]), () => [randF64([2, 2, 7, 5])]);
  image('adaptiveAvgPool2d to one pixel', (x) => T.adaptiveAvgPool2d(x, 1), () => [randF64([2, 3, 4, 3])]);
  image('batchNorm in training mode (the batch statistics\' own gradients)', (x, w, b) => T.batchNorm(x, w, b, { training: true, eps: 1e-3 }),
    () => [randF64([3, 2, 3, 2]), randF64([2], { seed: 2 }), randF64([2], { seed: 3 })]);
  image('batchNorm in training mode without weight and bias', (x) => T.batchNorm(x, null, null, { training: true }), () => [randF64([4, 3, 2, 2], { low: -3, high: 1 })]);
  image('batchNorm in evaluation mode (running statistics are constants)', (x, w, b) =>
    T.batchNorm(x, w, b, { runningMean: randF64([2], { seed: 4 }), runningVar: randF64([2], { seed: 5, low: 0.5, high: 2 }) }),
  () => [randF64([2, 2, 3, 3]), randF64([2], { seed: 2 }), randF64([2], { seed: 3 })]);
});

forEachBackend('dropout: the gradient is the mask scaled by 1/(1-p)', async () => {
  const p = 0.3;
  const x = randF64([40, 50]).requireGrad();
  T.manualSeed(123);
  const y = T.dropout(x, p);
  T.manualSeed(123);
  const mask = await T.ge(T.rand(x.shape, { dtype: 'float64' }), p).data();
  T.sum(y).backward();
  const grad = await x.grad!.data(), xs = await x.data(), ys = await y.data();
  let kept = 0;
  for (let i = 0; i < grad.length; i++) {
    const keep = mask[i]! / (1 - p);
    assert.equal(grad[i], keep);
    assert.equal(ys[i], xs[i]! * keep);
    kept += mask[i]!;
  }
  // About 1-p of the elements survive (2,000 draws: well inside 5 standard deviations).
  assert.ok(Math.abs(kept / grad.length - (1 - p)) < 0.05, `kept fraction ${kept / grad.length}`);
  // Evaluation mode and p = 0 are the identity.
  assert.equal(T.dropout(x, p, false), x);
  assert.equal(T.dropout(x, 0), x);
}, { float64: true });

test('gradcheck itself catches a wrong gradient', () => {
  // d/dx (stop_grad(x) * x) is x for autograd but 2x numerically.
  assert.throws(() => gradcheck((x) => T.mul(x.detach(), x), [randF64([3])]), /gradcheck: input 0 \[3\] element 0: autograd/);
  assert.throws(() => gradcheck((x) => T.exp(x), [T.ones([2])]), /must be float64/);
});

for (const axis of [0, -1]) {
  forEachBackend(`softmax and logSoftmax axis ${axis}: values equal to the composite's (the reference without fused kernels)`, () => {
    const x = randF64([3, 4], { low: -30, high: 30 });
    const fused = [T.softmax(x, axis), T.logSoftmax(x, axis)].map((t) => t.dataSync());
    const composite = withBackend(UNFUSED, () => {
      const xu = T.fromArray(x.dataSync(), x.shape);
      return [T.softmax(xu, axis), T.logSoftmax(xu, axis)].map((t) => t.dataSync());
    });
    fused.forEach((f, k) => f.forEach((v, i) => assert.ok(Math.abs(v - composite[k]![i]!) < 1e-12, `${k} ${i}: ${v} vs ${composite[k]![i]}`)));
  }, { float64: true });
}
