// The fast CPU backend's kernel sets (native, WebAssembly) against the reference kernels on fresh random inputs (never
// zeros), at odd and edge-tile sizes and at sizes split across threads.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createFastCpuBackend } from '../../src/backend/cpu/fast.js';
import { WasmKernels } from '../../src/backend/cpu/wasm-kernels.js';
import type { Operand3 } from '../../src/backend/cpu/kernels.js';
import { loadNativeAddon } from '../../src/backend/cpu/native.js';
import { existsSync } from 'node:fs';
import { createReferenceBackend } from '../../src/backend/cpu/reference.js';
import type { Backend, View } from '../../src/backend/backend.js';
import { contiguousStrides, sizeOf } from '../../src/tensor/shape.js';
import { Generator } from '../../src/tensor/random.js';
import { forEachBackend, type TestBackend } from '../helpers/backends.js';

const ref = createReferenceBackend();
// reseeded for each kernel set, so both see the same inputs whatever runs before them
let rng = new Generator(42);

function randomView(shape: number[], strides = contiguousStrides(shape), offset = 0): View {
  const span = offset + shape.reduce((s, d, i) => s + (d - 1) * Math.abs(strides[i]!), 0) + 1;
  const buf = Float32Array.from({ length: span }, () => rng.random() * 2 - 1 + (rng.random() < 0.5 ? 0.01 : -0.01));
  return { buf, dtype: 'float32', shape, strides, offset };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5, what = '') {
  assert.equal(a.length, b.length, what);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  assert.ok(worst <= tol, `${what}: relative error ${worst}`);
}

test('the native kernels are in use wherever their build exists (no silent fallback)', () => {
  const built = existsSync(new URL('../../build/native/kernels.node', import.meta.url));
  assert.equal(loadNativeAddon() !== null, built && process.env.PRETRAIN_NATIVE !== '0');
  if (loadNativeAddon()) assert.match(createFastCpuBackend({ threads: 2 }).kernels!, /^native/);
  assert.match(createFastCpuBackend({ threads: 2, kernels: 'wasm' }).kernels!, /^WebAssembly/);
});

/** The fast CPU backend of one kernel set on 2 threads, and on 3 (an odd count, so row ranges are uneven and one worker may get none; the native pool keeps its first size). */
interface KernelSet { kernels: 'native' | 'wasm'; fast: Backend; fast3: Backend }
const kernelSets = new Map<string, KernelSet>();
function kernelSet(name: TestBackend): KernelSet {
  const kernels = name === 'cpu-native' ? 'native' : 'wasm';
  let set = kernelSets.get(kernels);
  if (!set) kernelSets.set(kernels, set = { kernels, fast: createFastCpuBackend({ threads: 2, kernels }), fast3: createFastCpuBackend({ threads: 3, kernels }) });
  return set;
}

/** Both kernel sets (native where built, and WebAssembly, the browser's), each from the same seed. */
function onKernelSets(title: string, body: (set: KernelSet, t: TestContext) => void): void {
  forEachBackend(title, (b, t) => {
    rng = new Generator(42);
    body(kernelSet(b.name), t);
  }, { exclude: {
    'cpu-reference': 'the yardstick: these tests compare the fast CPU backend\'s kernel sets with the reference kernels',
    webgpu: 'the fast CPU backend\'s kernel sets, thread splits and walkers; WebGPU\'s kernels are compared in kernels.test.ts',
  } });
}

onKernelSets('GEMM matches the reference for every transpose case, batched, at odd and edge-tile sizes', ({ fast, fast3 }) => {
  for (const [B, M, N, K] of [[1, 1, 1, 1], [1, 7, 17, 5], [2, 63, 65, 129], [3, 130, 9, 300], [1, 5, 2100, 3], [1, 257, 33, 1], [1, 13, 129, 200], [2, 65, 7, 1000],
    // large enough to be split across threads: by rows, by columns, by batch items
    [1, 300, 70, 200], [1, 20, 3000, 64], [8, 32, 33, 64]]) {
    for (const ta of [false, true]) for (const tb of [false, true]) {
      // A transposed operand is a [B, M, K] view of [B, K, M] storage, exactly as `transpose` makes it.
      const a = randomView([B, M, K], ta ? [M * K, 1, M] : [M * K, K, 1]);
      const b = randomView([B, K, N], tb ? [K * N, 1, K] : [K * N, N, 1]);
      const expected = ref.matmul(a, b) as Float32Array;
      // float32 sums of K products in another order than the reference's: rounding grows with sqrt(K)
      const tol = 1e-5 * Math.max(1, Math.sqrt(K / 100));
      close(fast.matmul(a, b) as Float32Array, expected, tol, `B${B} M${M} N${N} K${K} ta=${ta} tb=${tb}`);
      close(fast3.matmul(a, b) as Float32Array, expected, tol, `3 threads: B${B} M${M} N${N} K${K} ta=${ta} tb=${tb}`);
    }
  }
  // A broadcast batch (stride 0) and an offset into the storage.
  const a = randomView([4, 9, 11], [0, 11, 1], 3), b = randomView([4, 11, 6], [66, 6, 1]);
  close(fast.matmul(a, b) as Float32Array, ref.matmul(a, b) as Float32Array, 1e-5, 'broadcast batch');
});

onKernelSets('elementwise, where, copy and reductions match the reference on strided and broadcast views', ({ fast }) => {
  const shape = [3, 5, 7];
  const x = randomView(shape), yT = randomView(shape, [1, 3, 15]), row = randomView(shape, [0, 0, 1]);
  for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
    const a = op === 'pow' ? { ...x, buf: (x.buf as Float32Array).map(Math.abs) } : x;
    close(fast.binary(op, a, yT, shape) as Float32Array, ref.binary(op, a, yT, shape) as Float32Array, 1e-6, op);
    close(fast.binary(op, a, row, shape) as Float32Array, ref.binary(op, a, row, shape) as Float32Array, 1e-6, `${op} broadcast`);
  }
  for (const op of ['neg', 'exp', 'tanh', 'sigmoid', 'relu', 'square', 'reciprocal', 'gelu_tanh', 'gelu_tanh_grad', 'gelu', 'gelu_grad'] as const) {
    close(fast.unary(op, yT) as Float32Array, ref.unary(op, yT) as Float32Array, 1e-6, op);
  }
  // The tails, |x| in [3, 12], by true relative error: the GELU forms' negative tails are tiny numbers that a
  // 1 + erf or 1 + tanh formula would cancel away. Below |value| 1e-9 the double-precision reference itself has
  // cancelled (its 1 + erf(x) is quantised to 2^-53), so those values are not a yardstick.
  const wide = randomView([4099]);
  (wide.buf as Float32Array).forEach((v, i, a) => { a[i] = Math.sign(v) * (3 + 9 * Math.abs(v)); });
  for (const op of ['exp', 'tanh', 'sigmoid', 'gelu_tanh', 'gelu_tanh_grad', 'gelu', 'gelu_grad'] as const) {
    const got = fast.unary(op, wide) as Float32Array, want = ref.unary(op, wide) as Float32Array;
    let worst = 0;
    for (let i = 0; i < got.length; i++) if (Math.abs(want[i]!) > 1e-9) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.abs(want[i]!));
    assert.ok(worst <= 1e-5, `${op} for 3 <= |x| <= 12: relative error ${worst}`);
  }
  close(fast.where(row, x, yT, shape) as Float32Array, ref.where(row, x, yT, shape) as Float32Array, 0, 'where');
  close(fast.contiguous(yT, 'float32') as Float32Array, ref.contiguous(yT, 'float32') as Float32Array, 0, 'copy');
  for (const axes of [[2], [0], [0, 1], [1, 2], [1], [0, 2]]) {
    for (const op of ['sum', 'max', 'min'] as const) {
      close(fast.reduce(op, x, axes) as Float32Array, ref.reduce(op, x, axes) as Float32Array, 1e-6, `${op} ${axes}`);
      close(fast.reduce(op, yT, axes) as Float32Array, ref.reduce(op, yT, axes) as Float32Array, 1e-6, `${op} ${axes} strided`);
    }
  }
});

onKernelSets('gather and scatter-add match the reference, including embedding-style broadcast indices, and check bounds', ({ fast }) => {
  const x = randomView([6, 5]);
  const idx: View = { buf: Int32Array.from([5, 0, 2, 2]), dtype: 'int32', shape: [4, 5], strides: [1, 0], offset: 0 };
  close(fast.gather(x, 0, idx) as Float32Array, ref.gather(x, 0, idx) as Float32Array, 0, 'gather axis 0');
  const src = randomView([4, 5]);
  close(fast.scatterAdd([6, 5], 0, idx, src) as Float32Array, ref.scatterAdd([6, 5], 0, idx, src) as Float32Array, 1e-6, 'scatterAdd axis 0');
  const cls: View = { buf: Int32Array.from([4, 0, 3, 1, 2, 2]), dtype: 'int32', shape: [6, 1], strides: [1, 1], offset: 0 };
  close(fast.gather(x, 1, cls) as Float32Array, ref.gather(x, 1, cls) as Float32Array, 0, 'gather axis 1');
  const g = randomView([6, 1]);
  close(fast.scatterAdd([6, 5], 1, cls, g) as Float32Array, ref.scatterAdd([6, 5], 1, cls, g) as Float32Array, 1e-6, 'scatterAdd axis 1');
  // An embedding's gradient: 300 token rows (many repeats) summed into a 50 x 33 table; the same order of sums.
  const tokens: View = { buf: Int32Array.from({ length: 300 }, () => Math.floor(rng.random() * 50)), dtype: 'int32', shape: [300, 33], strides: [1, 0], offset: 0 };
  const rows = randomView([300, 33]);
  close(fast.scatterAdd([50, 33], 0, tokens, rows) as Float32Array, ref.scatterAdd([50, 33], 0, tokens, rows) as Float32Array, 0, 'embedding scatterAdd');
  assert.throws(() => fast.scatterAdd([50, 33], 0, { ...tokens, buf: Int32Array.from({ length: 300 }, (_, i) => (i === 7 ? 50 : 0)) }, rows), /scatterAdd: index 50 is out of range \[0, 50\) along axis 0/);
  const bad: View = { ...cls, buf: Int32Array.from([4, 0, 5, 1, 2, 2]) };
  assert.throws(() => fast.gather(x, 1, bad), /gather: index 5 is out of range \[0, 5\) along axis 1/);
});

onKernelSets('the fused layer norm matches its composite definition, forward and backward', ({ fast }) => {
  const n = 37, rows = 11;
  const x = randomView([rows, n]), w = randomView([n]), b = randomView([n]), g = randomView([rows, n]);
  const { y, mean, rstd } = fast.layerNorm!(x, w, b, n, 1e-5);
  const X = x.buf as Float32Array, W = w.buf as Float32Array, B = b.buf as Float32Array;
  const expected = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(X.subarray(r * n, (r + 1) * n));
    const mu = row.reduce((s, v) => s + v, 0) / n;
    const v = row.reduce((s, x) => s + (x - mu) ** 2, 0) / n;
    row.forEach((xv, j) => { expected[r * n + j] = ((xv - mu) / Math.sqrt(v + 1e-5)) * W[j]! + B[j]!; });
  }
  close(y as Float32Array, expected, 1e-5, 'layerNorm forward');
  // Backward against central differences of sum(y * g) in float64 terms.
  const grads = fast.layerNormBackward!(g, x, w, mean, rstd, n);
  const G = g.buf as Float32Array;
  const f = (xs: Float64Array) => {
    let s = 0;
    for (let r = 0; r < rows; r++) {
      const row = xs.subarray(r * n, (r + 1) * n);
      const mu = row.reduce((a, v) => a + v, 0) / n;
      const v = row.reduce((a, x) => a + (x - mu) ** 2, 0) / n;
      for (let j = 0; j < n; j++) s += (((row[j]! - mu) / Math.sqrt(v + 1e-5)) * W[j]! + B[j]!) * G[r * n + j]!;
    }
    return s;
  };
  const x64 = Float64Array.from(X.subarray(0, rows * n));
  const numeric = new Float64Array(rows * n);
  for (let i = 0; i < numeric.length; i++) {
    const keep = x64[i]!;
    x64[i] = keep + 1e-6; const up = f(x64);
    x64[i] = keep - 1e-6; const down = f(x64);
    x64[i] = keep;
    numeric[i] = (up - down) / 2e-6;
  }
  close(grads.dx as Float32Array, numeric, 1e-4, 'layerNorm dx');
  // And against the reference kernels, with and without the affine parameters, at a row length with a vector tail.
  for (const [wv, bv] of [[w, b], [null, null], [w, null]] as const) {
    const a = fast.layerNorm!(x, wv, bv, n, 1e-5), e = ref.layerNorm!(x, wv, bv, n, 1e-5);
    for (const k of ['y', 'mean', 'rstd'] as const) close(a[k] as Float32Array, e[k] as Float32Array, 1e-5, `layerNorm ${k}`);
    const ga = fast.layerNormBackward!(g, x, wv, a.mean, a.rstd, n), ge = ref.layerNormBackward!(g, x, wv, e.mean, e.rstd, n);
    for (const k of ['dx', 'dweight', 'dbias'] as const) close(ga[k] as Float32Array, ge[k] as Float32Array, 1e-5, `layerNorm ${k}${wv ? '' : ' (no weight)'}`);
  }
});

onKernelSets('fused cross-entropy (forward and backward, smoothing, ignored rows) matches the reference', ({ fast }) => {
  const N = 9, C = 1031;
  const x = randomView([N, C]);
  const t: View = { buf: Int32Array.from([3, -100, 1030, 0, 7, 7, -100, 512, 9]), dtype: 'int32', shape: [N], strides: [1], offset: 0 };
  const g = randomView([N]);
  for (const smoothing of [0, 0.1]) {
    const a = fast.crossEntropy!(x, t, -100, smoothing), b = ref.crossEntropy!(x, t, -100, smoothing);
    close(a.loss as Float32Array, b.loss as Float32Array, 1e-5, `loss smoothing ${smoothing}`);
    close(fast.crossEntropyBackward!(x, t, a.lse, g, -100, smoothing) as Float32Array, ref.crossEntropyBackward!(x, t, b.lse, g, -100, smoothing) as Float32Array, 1e-5, `dlogits smoothing ${smoothing}`);
  }
  assert.throws(() => fast.crossEntropy!(x, { ...t, buf: Int32Array.from([3, 0, 1031, 0, 0, 0, 0, 0, 0]) }, -100, 0), /index 1031 is out of range/);
});

onKernelSets('the fused AdamW update matches the reference, in place on param and both moments, at a vector-tail size', ({ fast }) => {
  const n = 1027;
  const fresh = () => randomView([n]).buf as Float32Array;
  const p = fresh(), m = fresh(), v = fresh().map(Math.abs), g = randomView([n]);
  const p2 = p.slice(), m2 = m.slice(), v2 = v.slice();
  for (const step of [1, 2, 7]) {
    const opts = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step };
    fast.adamw!(p, g, m, v, n, opts);
    ref.adamw!(p2, g, m2, v2, n, opts);
  }
  close(m, m2, 1e-6, 'm');
  close(v, v2, 1e-6, 'v');
  close(p, p2, 1e-5, 'param');
});

onKernelSets('the GEMM with a bias epilogue (linear layers) matches matmul + add, at edge-tile sizes and K = 0', ({ fast, kernels }, t) => {
  if (!fast.matmulBias) { t.skip(`${kernels} kernels have no bias epilogue`); return; }
  for (const [M, N, K] of [[1, 1, 1], [7, 33, 5], [300, 70, 200], [13, 129, 300], [5, 17, 0]]) {
    // x [1, M, K] times a transposed weight [N, K] (strides [0, 1, K]), as ops.linear passes it
    const x = randomView([1, M, K]), w = randomView([1, K, N], [0, 1, K]), bias = randomView([N]);
    const expected = ref.binary('add', { buf: ref.matmul(x, w), dtype: 'float32', shape: [M, N], strides: [N, 1], offset: 0 },
      { ...bias, shape: [M, N], strides: [0, 1] }, [M, N]) as Float32Array;
    close(fast.matmulBias(x, w, bias) as Float32Array, expected, 1e-5, `M${M} N${N} K${K}`);
  }
});

onKernelSets('row kernels at sizes split across threads match the reference', ({ fast }) => {
  const rows = 67, n = 1031;
  const x = randomView([rows, n]), w = randomView([n]), b = randomView([n]), g = randomView([rows, n]);
  const a = fast.layerNorm!(x, w, b, n, 1e-5), e = ref.layerNorm!(x, w, b, n, 1e-5);
  for (const k of ['y', 'mean', 'rstd'] as const) close(a[k] as Float32Array, e[k] as Float32Array, 1e-5, `layerNorm ${k}`);
  const ga = fast.layerNormBackward!(g, x, w, a.mean, a.rstd, n), ge = ref.layerNormBackward!(g, x, w, e.mean, e.rstd, n);
  for (const k of ['dx', 'dweight', 'dbias'] as const) close(ga[k] as Float32Array, ge[k] as Float32Array, 1e-5, `layerNorm ${k}`);
  for (const log of [false, true]) close(fast.softmax!(x, log) as Float32Array, ref.softmax!(x, log) as Float32Array, 1e-5, `softmax log=${log}`);
  const t: View = { buf: Int32Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? -100 : (i * 37) % n)), dtype: 'int32', shape: [rows], strides: [1], offset: 0 };
  const lg = randomView([rows]);
  const ca = fast.crossEntropy!(x, t, -100, 0.1), cb = ref.crossEntropy!(x, t, -100, 0.1);
  close(ca.loss as Float32Array, cb.loss as Float32Array, 1e-5, 'cross-entropy');
  close(fast.crossEntropyBackward!(x, t, ca.lse, lg, -100, 0.1) as Float32Array, ref.crossEntropyBackward!(x, t, cb.lse, lg, -100, 0.1) as Float32Array, 1e-5, 'cross-entropy grad');
  // Strided walkers split across threads: broadcast binary ops, where, transposed copies (float32 and int32),
  // block reductions and a strided assign.
  const xT: View = { ...x, shape: [n, rows], strides: [1, n] };
  const col = randomView([rows, n], [1, 0]);
  for (const op of ['add', 'mul', 'div', 'maximum', 'ge'] as const) close(fast.binary(op, x, col, [rows, n]) as Float32Array, ref.binary(op, x, col, [rows, n]) as Float32Array, 1e-6, `${op} broadcast`);
  close(fast.where(col, x, w, [rows, n]) as Float32Array, ref.where(col, x, { ...w, shape: [rows, n], strides: [0, 1] }, [rows, n]) as Float32Array, 0, 'where');
  close(fast.contiguous(xT, 'float32') as Float32Array, ref.contiguous(xT, 'float32') as Float32Array, 0, 'transposed copy');
  const ints: View = { buf: Int32Array.from({ length: rows * n }, (_, i) => i * 7919), dtype: 'int32', shape: [n, rows], strides: [1, n], offset: 0 };
  assert.deepEqual(fast.contiguous(ints, 'int32'), ref.contiguous(ints, 'int32'), 'int32 transposed copy');
  // The full sum adds 69,077 float32 terms in another order than the reference: rounding alone reaches ~1e-5 of it.
  // a float32 running sum of up to 1031 terms (the reference sums in double): rounding grows with the square root of the count
  for (const axes of [[0], [1], [0, 1]]) close(fast.reduce('sum', x, axes) as Float32Array, ref.reduce('sum', x, axes) as Float32Array, Math.min(1e-4, 4e-6 * Math.sqrt(axes.reduce((p, a) => p * x.shape[a]!, 1))), `sum ${axes}`);
  const target = new Float32Array(rows * n * 2), target2 = new Float32Array(rows * n * 2);
  fast.assign({ buf: target, dtype: 'float32', shape: [rows, n], strides: [2 * n, 2], offset: 1 }, x);
  ref.assign({ buf: target2, dtype: 'float32', shape: [rows, n], strides: [2 * n, 2], offset: 1 }, x);
  close(target, target2, 0, 'strided assign');
  // Many dims: unit dims dropped and contiguous runs merged down to the walker's 8, or, for 9 dims that do not
  // merge, the TypeScript loops.
  const deep = [2, 1, 3, 2, 1, 2, 3, 2, 2, 3, 2];
  const deepView = randomView(deep), deepOther = randomView(deep);
  close(fast.binary('add', deepView, deepOther, deep) as Float32Array, ref.binary('add', deepView, deepOther, deep) as Float32Array, 1e-6, '11-D add');
  const nine = [2, 2, 2, 2, 2, 2, 2, 2, 2];
  // the full transpose of a contiguous [2, ..., 2]: strides 1, 2, 4, ..., 256, no two adjacent dims merge
  const shuffled = randomView(nine, nine.map((_, d) => 2 ** d));
  const other = randomView(nine);
  close(fast.binary('mul', shuffled, other, nine) as Float32Array, ref.binary('mul', shuffled, other, nine) as Float32Array, 1e-6, '9-D unmergeable mul');
  close(fast.contiguous(shuffled, 'float32') as Float32Array, ref.contiguous(shuffled, 'float32') as Float32Array, 0, '9-D unmergeable copy');
  // Fewer rows than threads (a 1-D tensor is one row): the walkers split the columns instead.
  const long = 200003;
  const u = randomView([long]), u2 = randomView([long]), every3rd = randomView([long], [3], 2), scalar = randomView([long], [0]);
  for (const [what, p1, p2] of [['contiguous', u, u2], ['strided', every3rd, u2], ['scalar', u, scalar]] as const) {
    close(fast.binary('sub', p1, p2, [long]) as Float32Array, ref.binary('sub', p1, p2, [long]) as Float32Array, 1e-6, `1-D ${what} sub`);
  }
  const u3: View = { ...u, shape: [1, 1, long], strides: [long, long, 1] }, v3: View = { ...every3rd, shape: [1, 1, long], strides: [0, 0, 3] };
  close(fast.binary('mul', u3, v3, [1, 1, long]) as Float32Array, ref.binary('mul', u3, v3, [1, 1, long]) as Float32Array, 1e-6, '[1, 1, n] mul');
  close(fast.where(u, u2, every3rd, [long]) as Float32Array, ref.where(u, u2, every3rd, [long]) as Float32Array, 0, '1-D where');
  close(fast.contiguous(every3rd, 'float32') as Float32Array, ref.contiguous(every3rd, 'float32') as Float32Array, 0, '1-D strided copy');
  const big = randomView([70001]);
  for (const op of ['exp', 'tanh', 'gelu', 'gelu_tanh_grad'] as const) close(fast.unary(op, big) as Float32Array, ref.unary(op, big) as Float32Array, 1e-5, op);
  const p = randomView([70001]).buf as Float32Array, m = randomView([70001]).buf as Float32Array, v = (randomView([70001]).buf as Float32Array).map(Math.abs);
  const p2 = p.slice(), m2 = m.slice(), v2 = v.slice();
  const opts = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 3 };
  fast.adamw!(p, big, m, v, 70001, opts);
  ref.adamw!(p2, big, m2, v2, 70001, opts);
  close(p, p2, 1e-5, 'adamw param');
});

onKernelSets('fused attention on 3 threads (uneven (batch, head) ranges) equals the 2-thread result, forward and backward', ({ fast, fast3 }) => {
  for (const [B, H, T, D, causal] of [[2, 2, 64, 32, true], [1, 5, 48, 16, false]] as const) {
    const q = randomView([B, H, T, D]), k = randomView([B, H, T, D], [H * T * D, D, H * D, 1]), v = randomView([B, H, T, D]);
    // Item 0 hides its last 5 keys.
    const mask: View = { buf: Float32Array.from({ length: B * T }, (_, i) => (i < T && i >= T - 5 ? 0 : 1)), dtype: 'float32', shape: [B, H, T, T], strides: [T, 0, 0, 1], offset: 0 };
    const dOut = randomView([B, H, T, D]);
    const run = (b: Backend) => {
      const f = b.attention!(q, k, v, mask, causal, 1 / Math.sqrt(D));
      const g = b.attentionBackward!(dOut, q, k, v, mask, causal, f.saved, 1 / Math.sqrt(D));
      return [f.out, g.dq, g.dk, g.dv] as Float32Array[];
    };
    const two = run(fast), three = run(fast3);
    // Each (batch, head) pair is computed whole by one thread, so the split cannot change a single bit.
    ['output', 'dq', 'dk', 'dv'].forEach((what, i) => assert.deepEqual(three[i], two[i], `${what} B${B} H${H} T${T}`));
    assert.ok(two[0]!.some((x) => x !== 0));
  }
});

test('a WebAssembly worker woken with the generation unchanged waits again instead of rerunning it', async () => {
  // The caller's notify can reach a worker that already ran that generation and went back to sleep (the caller was
  // descheduled between publishing the generation and notifying); rerunning it took the pending count to -1, and the
  // next product waited for it forever. Here that wake-up is sent on purpose.
  const kernels = new WasmKernels(2);
  const ctrl = kernels['ctrlI32'];
  const n = 96;
  const operand = (): Operand3 => ({ data: randomView([n * n]).buf as Float32Array, shape: [1, n, n], strides: [n * n, n, 1], offset: 0 });
  const a = operand(), b = operand();
  const expected = kernels.matmul(a, b);
  const generation = Atomics.load(ctrl, 0);
  assert.ok(generation > 0, 'the product should have run on the worker');
  for (let i = 0; i < 5; i++) {
    Atomics.notify(ctrl, 0);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(Atomics.load(ctrl, 1), 0, 'no worker should have run the finished generation again');
  assert.deepEqual(kernels.matmul(a, b), expected);
});
