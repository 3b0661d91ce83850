// Tensor semantics on every backend: creation, seeded randomness, views, broadcasting, printing, errors, and autograd
// behaviour.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { forEachBackend } from '../helpers/backends.js';

const values = async (t: T.Tensor) => Array.from(await t.data());
const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);

function moments(xs: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    s += v; s2 += v * v; min = Math.min(min, v); max = Math.max(max, v);
  }
  const mean = s / xs.length;
  return { mean, std: Math.sqrt(s2 / xs.length - mean * mean), min, max };
}

describe('creation', () => {
  forEachBackend('constants', async () => {
    const z = T.zeros([2, 3]);
    assert.deepEqual(z.shape, [2, 3]);
    assert.equal(z.dtype, 'float32');
    assert.deepEqual(await values(z), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(await values(T.ones([2], { dtype: 'int32' })), [1, 1]);
    assert.equal(T.ones([2], { dtype: 'int32' }).dtype, 'int32');
    assert.deepEqual(await values(T.full([2, 2], 2.5)), [2.5, 2.5, 2.5, 2.5]);
    assert.equal(T.full([], 7).size, 1);
    assert.equal(T.zeros([3], { requiresGrad: true }).requiresGrad, true);
    assert.deepEqual(T.zeros([0, 4]).shape, [0, 4]);
  });

  forEachBackend('arange like torch.arange', async () => {
    assert.deepEqual(await values(T.arange(5)), [0, 1, 2, 3, 4]);
    assert.equal(T.arange(5).dtype, 'int32');
    assert.deepEqual(await values(T.arange(2, 11, 3)), [2, 5, 8]);
    assert.deepEqual(await values(T.arange(5, 0, -2)), [5, 3, 1]);
    assert.deepEqual(await values(T.arange(0, 1, 0.25, 'float32')), [0, 0.25, 0.5, 0.75]);
    assert.deepEqual(T.arange(3, 3).shape, [0]);
  });

  forEachBackend('fromArray and nested tensor()', async (b) => {
    const a = T.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.deepEqual(a.shape, [2, 3]);
    assert.deepEqual(await a.toArray(), [[1, 2, 3], [4, 5, 6]]);
    assert.equal(T.fromArray(new Int32Array([1, 2]), [2]).dtype, 'int32');
    if (b.float64) assert.equal(T.fromArray(new Float64Array([1, 2]), [2]).dtype, 'float64');
    assert.equal(T.fromArray([1.7, -2.2], [2], { dtype: 'int32' }).dtype, 'int32');
    assert.deepEqual(await values(T.fromArray([1.7, -2.2], [2], { dtype: 'int32' })), [1, -2]);
    assert.throws(() => T.fromArray([1, 2, 3], [2, 2]), /fromArray: 3 values do not fill shape \[2, 2\]/);

    const n = T.tensor([[[1], [2]], [[3], [4]], [[5], [6]]]);
    assert.deepEqual(n.shape, [3, 2, 1]);
    assert.deepEqual(await values(n), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(T.tensor(3).shape, []);
    assert.equal(await T.tensor(3).item(), 3);
    assert.deepEqual(T.tensor([]).shape, [0]);
    assert.throws(() => T.tensor([[1, 2], [3]]), /ragged/);
    assert.throws(() => T.tensor([[1, 2], 3]), /ragged/);
    assert.throws(() => T.tensor([1, [2]]), /ragged/);
  });

  forEachBackend('rand, randn, uniform and normal have the right moments and ranges', async (b) => {
    T.manualSeed(42);
    const n = 100_000;
    const u = moments(await T.rand([n]).data());
    close(u.mean, 0.5, 0.01, 'rand mean');
    close(u.std, Math.sqrt(1 / 12), 0.01, 'rand std');
    assert.ok(u.min >= 0 && u.max < 1, `rand range [${u.min}, ${u.max}]`);
    const g = moments(await T.randn([n]).data());
    close(g.mean, 0, 0.015, 'randn mean');
    close(g.std, 1, 0.015, 'randn std');
    assert.ok(g.min < -3.5 && g.max > 3.5, 'randn has tails');
    const v = moments(await T.uniform([n], -3, 5).data());
    close(v.mean, 1, 0.05, 'uniform mean');
    close(v.std, 8 / Math.sqrt(12), 0.03, 'uniform std');
    assert.ok(v.min >= -3 && v.max < 5);
    const w = moments(await T.normal([n], 2, 0.02, { dtype: b.float64 ? 'float64' : 'float32' }).data());
    close(w.mean, 2, 0.001, 'normal mean');
    close(w.std, 0.02, 0.001, 'normal std');
    // A normal sample passes a coarse check of the 68-95 rule.
    const xs = await T.randn([n]).data();
    let within1 = 0;
    for (const x of xs) if (Math.abs(x) < 1) within1++;
    close(within1 / n, 0.6827, 0.01, 'fraction within one std');
    assert.throws(() => T.rand([2], { dtype: 'int32' }), /random: dtype must be floating point/);
  });

  forEachBackend('the same seed gives the same values; another seed does not', async () => {
    T.manualSeed(7);
    const a = await values(T.randn([50]));
    const b = await values(T.rand([5]));
    T.manualSeed(7);
    assert.deepEqual(await values(T.randn([50])), a);
    assert.deepEqual(await values(T.rand([5])), b);
    T.manualSeed(8);
    assert.notDeepEqual(await values(T.randn([50])), a);

    const g1 = new T.Generator(3), g2 = new T.Generator(3);
    assert.deepEqual(await values(T.rand([20], { generator: g1 })), await values(T.rand([20], { generator: g2 })));
    // A generator's state round-trips, as a checkpoint needs.
    const state = g1.getState();
    const next = await values(T.randn([10], { generator: g1 }));
    g1.setState(state);
    assert.deepEqual(await values(T.randn([10], { generator: g1 })), next);
    // Private generators do not disturb the default one.
    T.manualSeed(7);
    T.rand([100], { generator: new T.Generator(1) });
    assert.deepEqual(await values(T.randn([50])), a);
  });
});

describe('views', () => {
  forEachBackend('reshape, transpose, permute, slice, expand and (un)squeeze share storage', async () => {
    const x = T.arange(24, undefined, 1, 'float32').reshape(2, 3, 4);
    const views: [string, T.Tensor][] = [
      ['reshape', x.reshape(6, 4)], ['flatten', x.flatten()], ['transpose', x.transpose(0, 2)], ['permute', x.permute(1, 2, 0)],
      ['slice', x.slice(2, 1, 4, 2)], ['expand', x.slice(0, 0, 1).expand(5, 3, 4)], ['unsqueeze', x.unsqueeze(1)],
      ['squeeze', x.unsqueeze(0).squeeze(0)], ['T', x.T], ['detach', x.detach()],
    ];
    for (const [name, v] of views) assert.equal(v.storage, x.storage, `${name} copied`);
    assert.deepEqual(x.transpose(0, 2).strides, [1, 4, 12]);
    assert.deepEqual(x.slice(0, 0, 1).expand(5, 3, 4).strides, [0, 4, 1]);
    assert.deepEqual(await values(x.slice(2, 1, 4, 2).slice(1, 1, 2)), [5, 7, 17, 19]);
    assert.deepEqual(await values(x.transpose(0, 2).slice(0, 3)), [3, 15, 7, 19, 11, 23]);
    // Reshaping a transposed view cannot be a view; it copies, and the values follow the logical order.
    const t = x.transpose(0, 2).reshape(-1);
    assert.notEqual(t.storage, x.storage);
    assert.deepEqual((await values(t)).slice(0, 4), [0, 12, 4, 16]);
    // Merging dims that stay contiguous under a slice is still a view (PyTorch's stride rules).
    const s = x.slice(0, 1, 2);
    assert.equal(s.reshape(12).storage, x.storage);
    assert.deepEqual(await values(s.reshape(12).slice(0, 0, 3)), [12, 13, 14]);
  });

  forEachBackend('reshape of random permuted and sliced views matches reshaping a copy', async () => {
    const g = new T.Generator(5);
    const pick = (n: number) => Math.floor(g.random() * n);
    const factorizations = (n: number): number[][] => {
      const out: number[][] = [[n], [1, n, 1]];
      for (let a = 2; a <= n; a++) if (n % a === 0) out.push([a, n / a], [n / a, 1, a]);
      return out;
    };
    let views = 0;
    for (let trial = 0; trial < 200; trial++) {
      const shape = Array.from({ length: 2 + pick(3) }, () => 1 + pick(4));
      let x = T.arange(shape.reduce((p, d) => p * d, 1), undefined, 1, 'float32').reshape(...shape);
      const perm = [...shape.keys()].sort(() => g.random() - 0.5);
      x = x.permute(...perm);
      if (g.random() < 0.5) { const ax = pick(x.rank); x = x.slice(ax, 0, undefined, 1 + pick(2)); }
      const options = factorizations(x.size);
      const target = options[pick(options.length)]!;
      const y = x.reshape(...target);
      if (y.storage === x.storage) views++;
      assert.deepEqual(y.shape, target);
      assert.deepEqual(await values(y), await values(x.contiguous()), `reshape of shape ${x.shape} strides ${x.strides} to ${target}`);
    }
    assert.ok(views > 20, `only ${views} of 200 reshapes were views`);
  });

  forEachBackend('reductions over random axes of strided views match a host computation', async () => {
    const g = new T.Generator(6);
    for (let trial = 0; trial < 50; trial++) {
      const x = T.randn([2, 3, 4], { generator: g }).permute(2, 0, 1).slice(0, 1, undefined, 2);
      const axes = [0, 1, 2].filter(() => g.random() < 0.5);
      if (axes.length === 0) continue;
      const host = await x.contiguous().toArray() as number[][][];
      const got = await values(T.sum(x, axes));
      // Sum by hand over the chosen axes of the [2, 2, 3] view.
      const keep = [0, 1, 2].filter((a) => !axes.includes(a));
      const dims = x.shape;
      const outShape = keep.map((a) => dims[a]!);
      const expect = new Array<number>(outShape.reduce((p, d) => p * d, 1)).fill(0);
      for (let i = 0; i < dims[0]!; i++) for (let j = 0; j < dims[1]!; j++) for (let k = 0; k < dims[2]!; k++) {
        const idx = [i, j, k];
        let flat = 0;
        keep.forEach((a, n) => { flat = flat * outShape[n]! + idx[a]!; });
        expect[flat]! += host[i]![j]![k]!;
      }
      got.forEach((v, n) => close(v, expect[n]!, 1e-5, `sum over ${axes}`));
    }
  });

  forEachBackend('a view sees its base data', async () => {
    const a = T.tensor([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(await a.T.toArray(), [[1, 4], [2, 5], [3, 6]]);
    assert.deepEqual(await a.slice(1, -2).toArray(), [[2, 3], [5, 6]]);
    assert.deepEqual(await a.slice(1, 0, undefined, 2).toArray(), [[1, 3], [4, 6]]);
    assert.equal(a.T.isContiguous, false);
    assert.equal(a.T.contiguous().isContiguous, true);
    const parts = T.split(a, [1, 2], 1);
    assert.deepEqual(parts.map((p) => p.shape), [[2, 1], [2, 2]]);
    assert.ok(parts.every((p) => p.storage === a.storage));
  });
});

describe('broadcasting', () => {
  forEachBackend('follows NumPy rules', async () => {
    assert.deepEqual(T.broadcastShapes('add', [3, 1], [4]), [3, 4]);
    assert.deepEqual(T.broadcastShapes('add', [2, 1, 4], [3, 1]), [2, 3, 4]);
    assert.deepEqual(T.broadcastShapes('add', [], [2, 2]), [2, 2]);
    assert.deepEqual(T.broadcastShapes('add', [1, 0], [3, 1]), [3, 0]);
    const col = T.tensor([[1], [2], [3]]), row = T.tensor([10, 20]);
    assert.deepEqual(await T.add(col, row).toArray(), [[11, 21], [12, 22], [13, 23]]);
    assert.deepEqual(await T.sub(row, col).toArray(), [[9, 19], [8, 18], [7, 17]]);
    assert.deepEqual(await T.mul(T.tensor(2), row).toArray(), [20, 40]);
    assert.deepEqual(await T.maximum(col, T.tensor([2.5])).toArray(), [[2.5], [2.5], [3]]);
    assert.deepEqual(await T.where(T.tensor([1, 0], { dtype: 'int32' }), col, -1).toArray(), [[1, -1], [2, -1], [3, -1]]);
  });

  forEachBackend('broadcast gradients sum back to each input shape', async () => {
    const a = T.ones([3, 1]).requireGrad(), b = T.ones([4]).requireGrad();
    T.mul(a, b).sum().backward();
    assert.deepEqual(a.grad!.shape, [3, 1]);
    assert.deepEqual(await values(a.grad!), [4, 4, 4]);
    assert.deepEqual(await values(b.grad!), [3, 3, 3, 3]);
  });
});

describe('ops', () => {
  forEachBackend('matmul covers the torch.matmul shape cases', () => {
    const m = (a: number[], b: number[]) => T.matmul(T.ones(a), T.ones(b)).shape;
    assert.deepEqual(m([4], [4]), []);
    assert.deepEqual(m([4], [4, 3]), [3]);
    assert.deepEqual(m([3, 4], [4]), [3]);
    assert.deepEqual(m([2, 1, 3, 4], [5, 4, 2]), [2, 5, 3, 2]);
    assert.deepEqual(m([4], [2, 4, 3]), [2, 3]);
  });

  forEachBackend('matmul values, including transposed operands', async () => {
    const a = T.tensor([[1, 2], [3, 4], [5, 6]]), b = T.tensor([[1, 0, 2], [0, 1, 3]]);
    assert.deepEqual(await a.matmul(b).toArray(), [[1, 2, 8], [3, 4, 18], [5, 6, 28]]);
    assert.deepEqual(await b.T.matmul(a.T).toArray(), [[1, 3, 5], [2, 4, 6], [8, 18, 28]]);
    assert.equal(await T.matmul(T.tensor([1, 2, 3]), T.tensor([4, 5, 6])).item(), 32);
    // IEEE semantics, as BLAS: 0 * NaN is NaN, so a NaN weight shows even where its input is 0.
    assert.ok(Number.isNaN(await T.matmul(T.tensor([[0, 1]]), T.tensor([[NaN], [2]])).item()));
  });

  forEachBackend('reductions with axes and keepdim', async () => {
    const x = T.tensor([[1, 5, 3], [4, 2, 6]]);
    assert.equal(await x.sum().item(), 21);
    assert.deepEqual(await x.sum(0).toArray(), [5, 7, 9]);
    assert.deepEqual(x.sum(1, true).shape, [2, 1]);
    assert.deepEqual(await x.mean(-1).toArray(), [3, 4]);
    assert.deepEqual(await x.max(1).toArray(), [5, 6]);
    assert.deepEqual(await x.min(0).toArray(), [1, 2, 3]);
    assert.deepEqual(await x.argmax(1).toArray(), [1, 2]);
    assert.deepEqual(await T.variance(x, 1).toArray(), [4, 4]);
    assert.deepEqual(await T.variance(x, 1, true, false).toArray(), [[8 / 3], [8 / 3]].map((r) => r.map(Math.fround)));
    assert.throws(() => x.sum([0, -2]), /sum: repeated axis/);
    assert.throws(() => x.sum(2), /sum: axis 2 is out of range for rank 2/);
  });

  forEachBackend('max shares the gradient among ties, like torch.amax', async () => {
    const x = T.tensor([[3, 1, 3], [0, 2, 1]]).requireGrad();
    x.max(1).sum().backward();
    assert.deepEqual(await values(x.grad!), [0.5, 0, 0.5, 0, 1, 0]);
  });

  forEachBackend('softmax rows sum to one and survive large logits', async () => {
    const s = await T.softmax(T.tensor([[1000, 1001, 1002], [-5, 0, 5]]), -1).data();
    for (const r of [0, 3]) close(s[r]! + s[r + 1]! + s[r + 2]!, 1, 1e-6, 'row sum');
    close(s[2]!, 0.6652409, 1e-6, 'softmax value');
    const ls = await T.logSoftmax(T.tensor([1000, 1000]), 0).data();
    close(ls[0]!, -Math.LN2, 1e-6, 'logSoftmax value');
  });

  forEachBackend('crossEntropy matches hand-computed values', async () => {
    const logits = T.tensor([[2, 0, 0], [0, 0, 0]]);
    const lse = Math.log(Math.exp(2) + 2);
    const target = T.tensor([0, 2], { dtype: 'int32' });
    close(await T.crossEntropy(logits, target).item(), ((lse - 2) + Math.log(3)) / 2, 1e-6, 'mean');
    close(await T.crossEntropy(logits, target, { reduction: 'sum' }).item(), (lse - 2) + Math.log(3), 1e-6, 'sum');
    // An ignored target contributes nothing and is left out of the mean.
    close(await T.crossEntropy(logits, T.tensor([0, -100], { dtype: 'int32' })).item(), lse - 2, 1e-6, 'ignore');
    assert.deepEqual(await values(T.crossEntropy(logits, T.tensor([0, -100], { dtype: 'int32' }), { reduction: 'none' })).then((v) => v[1]), 0);
    // Label smoothing mixes in the mean negative log-probability over classes.
    const smooth = (1 - 0.1) * (lse - 2) + 0.1 * (3 * lse - 2) / 3;
    close(await T.crossEntropy(logits.slice(0, 0, 1), T.tensor([0], { dtype: 'int32' }), { labelSmoothing: 0.1 }).item(), smooth, 1e-6, 'smoothing');
  });
});

describe('printing', () => {
  forEachBackend('shows shape, dtype and aligned values, eliding the middle of long dims', (b) => {
    if (!b.backend.readSync) {
      // Printing reads synchronously; a device backend's tensors print their header and backend instead.
      assert.equal(T.tensor([[1.5, -2], [3, 4]]).toString(), `Tensor(shape=[2, 2], dtype=float32, backend=${b.backend.name})`);
      return;
    }
    const s = T.tensor([[1.5, -2], [3, 4]]).toString();
    assert.equal(s, 'Tensor(shape=[2, 2], dtype=float32)\n[[ 1.5000, -2.0000],\n [ 3.0000,  4.0000]]');
    assert.equal(T.tensor([1, 2], { dtype: 'int32' }).toString(), 'Tensor(shape=[2], dtype=int32)\n[1, 2]');
    assert.match(T.ones([2], { requiresGrad: true }).toString(), /requiresGrad/);
    const long = T.arange(100, undefined, 1, 'float32').toString();
    assert.match(long, /\[ 0\.0,  1\.0,  2\.0, \.\.\., 97\.0, 98\.0, 99\.0\]/);
    assert.match(T.tensor([1e-6, 1]).toString(), /1\.0000e-6/);
    assert.match(T.tensor([NaN, -Infinity]).toString(), /nan, -inf/);
    const big = T.zeros([20, 20]).toString();
    assert.ok(big.split('\n').length < 10, 'rows are elided');
  });
});

describe('errors', () => {
  forEachBackend('shape errors name the op and both shapes', () => {
    assert.throws(() => T.add(T.zeros([2, 3]), T.zeros([4])), (e: Error) =>
      e instanceof T.ShapeError && /^add: shapes \[2, 3\] and \[4\] cannot be broadcast/.test(e.message));
    assert.throws(() => T.mul(T.zeros([2, 3]), T.zeros([3, 2])), /mul: shapes \[2, 3\] and \[3, 2\]/);
    assert.throws(() => T.matmul(T.zeros([2, 3]), T.zeros([4, 5])), /matmul: inner dims differ: \[2, 3\] @ \[4, 5\]/);
    assert.throws(() => T.matmul(T.zeros([2, 2, 3]), T.zeros([3, 3, 5])), /matmul: shapes \[2\] and \[3\] cannot be broadcast/);
    assert.throws(() => T.concat([T.zeros([2, 3]), T.zeros([3, 2])], 0), /concat: shapes \[2, 3\] and \[3, 2\] differ outside axis 0/);
    assert.throws(() => T.where(T.zeros([3]), T.zeros([2, 2]), 0), /where: shapes \[3\] and \[2, 2\]/);
    assert.throws(() => T.reshape(T.zeros([2, 3]), [4, 2]), /reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
    assert.throws(() => T.expand(T.zeros([2, 3]), [4, 3]), /expand: cannot expand \[2, 3\] to \[4, 3\]/);
    assert.throws(() => T.crossEntropy(T.zeros([4, 3]), T.zeros([5], { dtype: 'int32' })), /crossEntropy: logits \[4, 3\] do not match targets \[5\]/);
    assert.throws(() => T.maskedFill(T.zeros([3]), T.zeros([2, 3]), 1), /maskedFill: mask \[2, 3\] must broadcast to input \[3\]/);
    assert.throws(() => T.conv2d(T.zeros([1, 2, 5, 5]), T.zeros([3, 4, 3, 3])), /conv2d: input \[1, 2, 5, 5\] and weight \[3, 4, 3, 3\]/);
  });

  forEachBackend('dtype errors name the op and both shapes', (b) => {
    const f = T.zeros([2, 3]), i = T.zeros([3], { dtype: 'int32' });
    assert.throws(() => T.add(f, i), /^ShapeError: add: dtypes differ: float32 \[2, 3\] vs int32 \[3\]$/);
    if (b.float64) assert.throws(() => T.matmul(f, T.zeros([3, 1], { dtype: 'float64' })), /matmul: dtypes differ: float32 \[2, 3\] vs float64 \[3, 1\]/);
    assert.throws(() => T.concat([f, T.zeros([1, 3], { dtype: 'int32' })]), /concat: dtypes differ: float32 \[2, 3\] vs int32 \[1, 3\]/);
    assert.throws(() => T.gather(f, 1, T.zeros([2, 1])), /gather: index must be int32, got float32 \[2, 1\] \(input float32 \[2, 3\]\)/);
    assert.throws(() => T.crossEntropy(f, T.zeros([2])), /crossEntropy: target must be int32 class indices, got float32 \[2\] \(logits \[2, 3\]\)/);
    assert.throws(() => T.embedding(f, T.zeros([4])), /embedding: ids must be int32, got float32 \[4\] \(weight \[2, 3\]\)/);
    assert.throws(() => i.requireGrad(), /only floating-point tensors can require grad, got int32/);
  });

  forEachBackend('a fractional number never meets an int32 tensor silently', async () => {
    assert.throws(() => T.mul(T.arange(3), 1.5), /mul: the number 1.5 does not fit the int32 operand \[3\]/);
    assert.throws(() => T.lt(T.arange(3), 0.5), /lt: the number 0.5 does not fit/);
    assert.deepEqual(await values(T.add(T.arange(3), 2)), [2, 3, 4]);
  });

  forEachBackend('bad split sizes are named', () => {
    assert.throws(() => T.split(T.ones([4]), 0), /split: sizes must be positive integers, got 0 for \[4\]/);
    assert.throws(() => T.split(T.ones([4]), [1, 2]), /split: sizes \[1, 2\] do not add up to dim 0 of \[4\]/);
  });

  forEachBackend('out-of-range indices are reported, not read', () => {
    assert.throws(() => T.embedding(T.zeros([3, 2]), T.tensor([0, 3], { dtype: 'int32' })), /index 3 is out of range \[0, 3\)/);
    assert.throws(() => T.gather(T.zeros([2, 2]), 1, T.tensor([[0], [-1]], { dtype: 'int32' })), /gather: index -1 is out of range/);
  }, { exclude: { webgpu: 'a device cannot check indices without reading them back; WebGPU\'s robust buffer access keeps the reads in bounds instead' } });
});

describe('autograd', () => {
  forEachBackend('backward accumulates into .grad across calls', async () => {
    const w = T.tensor([1, 2, 3]).requireGrad();
    for (let k = 0; k < 3; k++) T.mul(w, w).sum().backward();
    assert.deepEqual(await values(w.grad!), [6, 12, 18]);
    // A leaf used twice in one graph gets both contributions.
    const x = T.tensor([2]).requireGrad();
    T.add(T.mul(x, 3), T.exp(x)).sum().backward();
    close((await values(x.grad!))[0]!, 3 + Math.exp(2), 1e-5, 'two paths');
  });

  forEachBackend('backward needs a scalar or a matching explicit gradient', async () => {
    const x = T.tensor([1, 2]).requireGrad();
    assert.throws(() => T.mul(x, 2).backward(), /grad can be implied only for a scalar, got shape \[2\]/);
    assert.throws(() => T.mul(x, 2).backward(T.ones([3])), /backward: grad shape \[3\] differs from the output's shape \[2\]/);
    T.mul(x, 2).backward(T.tensor([1, 10]));
    assert.deepEqual(await values(x.grad!), [2, 20]);
    assert.throws(() => T.ones([1]).sum().backward(), /does not require grad/);
  });

  forEachBackend('noGrad and detach stop recording', async () => {
    const w = T.tensor([1, 2]).requireGrad();
    const y = T.noGrad(() => T.mul(w, 3));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.node, null);
    assert.equal(T.isGradEnabled(), true);
    assert.throws(() => T.noGrad(() => { throw new Error('inner'); }), /inner/);
    assert.equal(T.isGradEnabled(), true, 'noGrad restores recording after a throw');

    const d = T.mul(w, 2).detach();
    assert.equal(d.requiresGrad, false);
    // Only the attached path contributes: d(w*2 detached * w)/dw = 2w.
    T.mul(T.mul(w, 2).detach(), w).sum().backward();
    assert.deepEqual(await values(w.grad!), [2, 4]);
    assert.equal(T.add(d, 1).requiresGrad, false);
  });

  forEachBackend('intermediates get no .grad and the tape is released after backward', () => {
    const w = T.tensor([1, 2]).requireGrad();
    const h = T.exp(w), y = T.sum(T.mul(h, h));
    assert.ok(h.node && y.node);
    y.backward();
    assert.equal(h.node, null);
    assert.equal(y.node, null);
    assert.equal(h.grad, null);
    assert.ok(w.grad);
  });

  forEachBackend('a second backward through a released graph fails with a clear error', () => {
    const w = T.tensor([1, 2]).requireGrad();
    const h = T.tanh(w);
    const y = h.sum();
    y.backward();
    assert.throws(() => y.backward(), /graph through 'sum' was already used by an earlier backward\(\) and released/);
    // Reusing an intermediate of a released graph in a new graph fails the same way, naming its op.
    assert.throws(() => T.mul(h, 2).sum().backward(), /graph through 'tanh' was already used/);
  });

  forEachBackend('anomaly mode names the first op that produced NaN or Inf', () => {
    const x = T.tensor([1, -1]);
    assert.equal(T.isAnomalyDetectionEnabled(), false);
    // Off by default: NaN flows silently.
    assert.ok(Number.isNaN(T.log(x).dataSync()[1]!));
    T.setAnomalyDetection(true);
    try {
      assert.throws(() => T.exp(T.log(x)), (e: Error) => e instanceof T.AnomalyError && /^log produced NaN at flat index 1 of its output of shape \[2\]$/.test(e.message));
      assert.throws(() => T.div(T.tensor([1, 0]), T.tensor([0, 0])), /div produced Inf at flat index 0/);
      // Gradients are checked too: sqrt at 0 has an infinite derivative.
      const w = T.tensor([0, 4]).requireGrad();
      assert.throws(() => T.sqrt(w).sum().backward(), /AnomalyError: backward of sqrt: div produced Inf at flat index 0/);
      // Ops whose internals use masks or padding stay quiet on finite inputs.
      T.maxPool2d(T.randn([1, 1, 4, 4]), 3, 2, 1);
      T.scaledDotProductAttention(T.randn([1, 3, 2]), T.randn([1, 3, 2]), T.randn([1, 3, 2]), { causal: true });
      const b = T.tensor([0, 2]), e = T.tensor([2, 3]).requireGrad();
      T.pow(b, e).sum().backward();
    } finally {
      T.setAnomalyDetection(false);
    }
  }, { exclude: { webgpu: 'anomaly mode reads each output synchronously, which WebGPU cannot: it checks nothing there (src/tensor/tensor.ts, checkFinite)' } });

  forEachBackend('gradients of float64 leaves are float64', async () => {
    const x = T.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    T.mul(x, 0.1).sum().backward();
    assert.equal(x.grad!.dtype, 'float64');
    assert.deepEqual(await values(x.grad!), [0.1, 0.1]);
  }, { float64: true });
});

describe('reading data', () => {
  forEachBackend('await data(), item() and toArray()', async () => {
    const t = T.tensor([[1, 2], [3, 4]]);
    const d = await t.data();
    assert.ok(d instanceof Float32Array);
    assert.deepEqual(Array.from(d), [1, 2, 3, 4]);
    // A view reads in its own logical order and the result is a copy.
    const v = await t.T.data();
    assert.deepEqual(Array.from(v), [1, 3, 2, 4]);
    v[0] = 100;
    assert.deepEqual(await values(t), [1, 2, 3, 4]);
    assert.equal(await t.sum().item(), 10);
    await assert.rejects(() => t.item(), /item: expected one element, got shape \[2, 2\]/);
    assert.deepEqual(await t.toArray(), [[1, 2], [3, 4]]);
    assert.equal(await T.tensor(5).toArray(), 5);
    assert.ok((await T.arange(3).data()) instanceof Int32Array);
  });
});
