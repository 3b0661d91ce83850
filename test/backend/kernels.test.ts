// Every backend's kernels against the reference kernels on random inputs: every kernel, strided and broadcast views,
// odd sizes; on WebGPU also the fused row kernels without subgroup reductions.
import assert from 'node:assert/strict';
import type { Backend, BinaryOp, UnaryOp, View, Window2d } from '../../src/backend/backend.js';
import { createReferenceBackend } from '../../src/backend/cpu/reference.js';
import type { TypedArray } from '../../src/tensor/dtype.js';
import { contiguousStrides } from '../../src/tensor/shape.js';
import { Generator } from '../../src/tensor/random.js';
import { createWebGPUBackendOn, type WebGPUBackend } from '../../src/backend/webgpu/backend.js';
import { forEachBackend, type BackendRun } from '../helpers/backends.js';

const ref = createReferenceBackend();
let rng = new Generator(7);
/** The backend under test, set for each body. */
let dev: Backend;

/** The same random data as a reference view and a GPU view with identical shape, strides and offset. */
function pair(shape: number[], opts: { strides?: number[]; offset?: number; int?: number; lo?: number; hi?: number } = {}): [View, View] {
  const strides = opts.strides ?? contiguousStrides(shape), offset = opts.offset ?? 0;
  const span = offset + shape.reduce((s, d, i) => s + (d - 1) * Math.abs(strides[i]!), 0) + 1;
  const lo = opts.lo ?? -2, hi = opts.hi ?? 2;
  const data = opts.int !== undefined
    ? Int32Array.from({ length: span }, () => Math.floor(rng.random() * opts.int!))
    : Float32Array.from({ length: span }, () => lo + (hi - lo) * rng.random());
  const dtype = opts.int !== undefined ? 'int32' : 'float32';
  return [
    { buf: data, dtype, shape, strides, offset },
    { buf: dev.upload(data, dtype), dtype, shape, strides, offset },
  ];
}

const out = (buf: object, shape: readonly number[], dtype: View['dtype'] = 'float32'): View =>
  ({ buf, dtype, shape, strides: contiguousStrides(shape), offset: 0 });

function close(got: TypedArray, want: TypedArray, what: string, tol = 1e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0, at = -1;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (w === g) continue;
    const e = Math.abs(g - w) / (1 + Math.abs(w));
    if (!(e <= worst)) { worst = e; at = i; }
  }
  assert.ok(worst <= tol, `${what}: error ${worst} at ${at} (got ${got[at]}, want ${want[at]})`);
}

/** Runs `f` on both backends and compares the result (of the given shape and dtype). */
async function same(what: string, shape: readonly number[], f: (b: Backend, side: 0 | 1) => object, tol?: number, dtype: View['dtype'] = 'float32', on: Backend = dev) {
  const want = ref.readSync!(out(f(ref, 0), shape, dtype));
  const got = await on.read(out(f(on, 1), shape, dtype));
  close(got, want, what, tol);
}

/** A kernel test on every backend but the reference (the yardstick), each from the same seed. */
const t = (name: string, fn: (b: BackendRun) => Promise<void> | void) => forEachBackend(name, (b) => {
  dev = b.backend;
  rng = new Generator(7);
  return fn(b);
}, { exclude: { 'cpu-reference': 'the yardstick: these tests compare each backend\'s kernels with the reference kernels' } });

t('unary ops on contiguous and transposed views', async () => {
  const ops: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'tanh', 'sigmoid', 'relu', 'gelu', 'gelu_tanh', 'erf',
    'reciprocal', 'square', 'floor', 'gelu_grad', 'gelu_tanh_grad'];
  for (const op of ops) {
    const positive = op === 'log' || op === 'sqrt' || op === 'reciprocal';
    const x = pair([37, 29], positive ? { lo: 0.1, hi: 3 } : {});
    await same(op, [37, 29], (b, s) => b.unary(op, x[s]), op === 'erf' || op.startsWith('gelu') ? 3e-7 * 10 : 1e-6);
    const xt = pair([29, 37], { strides: [1, 29], offset: 0, ...(positive ? { lo: 0.1, hi: 3 } : {}) });
    await same(`${op} transposed`, [29, 37], (b, s) => b.unary(op, xt[s]), 3e-6);
  }
  const big = pair([3, 300], { lo: -30, hi: 30 });
  for (const op of ['tanh', 'sigmoid', 'gelu', 'gelu_tanh', 'exp'] as UnaryOp[]) {
    await same(`${op} large inputs`, [3, 300], (b, s) => b.unary(op, big[s]), 3e-6);
  }
  const ints = pair([50], { int: 20 });
  for (const op of ['neg', 'abs', 'square', 'sign'] as UnaryOp[]) await same(`int ${op}`, [50], (b, s) => b.unary(op, ints[s]), 0, 'int32');
});

t('binary ops with broadcasting (stride 0), offsets, and int32', async () => {
  const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
  const shape = [5, 6, 7];
  for (const op of ops) {
    const a = pair(shape, op === 'pow' ? { lo: 0.1, hi: 2 } : {});
    const b = pair(shape, { strides: [0, 7, 1], offset: 3 }); // b broadcast along the first axis
    await same(op, shape, (k, s) => k.binary(op, a[s], b[s], shape), 2e-6);
    const ia = pair(shape, { int: 9 }), ib = pair(shape, { int: 5, strides: [1, 0, 5] });
    if (op !== 'pow') await same(`int ${op}`, shape, (k, s) => k.binary(op, ia[s], ib[s], shape), 0, 'int32');
  }
  // pow with a negative base and integral exponents, as Math.pow defines it.
  const base = pair([64], { lo: -3, hi: 3 });
  const ex: [View, View] = [{ ...base[0], buf: new Float32Array(64).map((_, i) => (i % 5) - 2) }, { ...base[1], buf: dev.upload(new Float32Array(64).map((_, i) => (i % 5) - 2), 'float32') }];
  await same('pow negative base', [64], (k, s) => k.binary('pow', base[s], ex[s], [64]), 1e-6);
});

t('where, contiguous with dtype conversion, fill and assign', async () => {
  const shape = [4, 33];
  const c = pair(shape, { int: 2 }), a = pair(shape), b = pair([33], { strides: [1] });
  const bb: [View, View] = [{ ...b[0], shape, strides: [0, 1] }, { ...b[1], shape, strides: [0, 1] }];
  await same('where', shape, (k, s) => k.where(c[s], a[s], bb[s], shape));
  const x = pair([6, 5, 4], { strides: [1, 6, 30], lo: -50, hi: 50 });
  await same('contiguous f32', [6, 5, 4], (k, s) => k.contiguous(x[s], 'float32'));
  await same('contiguous f32->i32', [6, 5, 4], (k, s) => k.contiguous(x[s], 'int32'), 0, 'int32');
  const i = pair([6, 5], { int: 100, strides: [1, 6] });
  await same('contiguous i32->f32', [6, 5], (k, s) => k.contiguous(i[s], 'float32'));
  await same('fill', [1000], (k) => k.fill('float32', 1000, -1.25));
  await same('fill int', [10], (k) => k.fill('int32', 10, 42), 0, 'int32');
  // assign into a strided window, and a square matrix assigned its own transpose (overlapping).
  for (const overlap of [false, true]) {
    const dst = pair([8, 8]);
    const src: [View, View] = overlap
      ? [{ ...dst[0], strides: [1, 8] }, { ...dst[1], strides: [1, 8] }]
      : pair([4, 8], { strides: [1, 4] });
    const window = (v: View): View => (overlap ? v : { ...v, shape: [4, 8], strides: [16, 1], offset: 8 });
    await same(`assign overlap=${overlap}`, [8, 8], (k, s) => { k.assign(window(dst[s]), src[s]); return dst[s].buf; });
  }
});

t('reductions and argmax over any axes, short and long rows', async () => {
  const cases: [number[], number[]][] = [
    [[7, 9, 11], [1]], [[7, 9, 11], [0, 2]], [[7, 9, 11], [0, 1, 2]], [[3, 1000], [1]], [[1000, 3], [0]],
    [[5000, 3], [1]], [[2, 3, 700], [0, 2]], [[6], [0]], [[2, 8192], [1]], [[5000, 3], [0]],
  ];
  for (const [shape, axes] of cases) {
    const x = pair(shape);
    const outShape = shape.filter((_, i) => !axes.includes(i));
    for (const op of ['sum', 'max', 'min'] as const) await same(`${op} ${shape} over ${axes}`, outShape, (k, s) => k.reduce(op, x[s], axes), 1e-5);
    const xt = pair(shape, { strides: [...contiguousStrides([...shape].reverse())].reverse() });
    await same(`sum transposed ${shape} over ${axes}`, outShape, (k, s) => k.reduce('sum', xt[s], axes), 1e-5);
    if (axes.length === 1) await same(`argmax ${shape} ${axes}`, outShape, (k, s) => k.argmax(x[s], axes[0]!), 0, 'int32');
  }
  const ints = pair([20, 30], { int: 1000 });
  await same('int sum', [20], (k, s) => k.reduce('sum', ints[s], [1]), 0, 'int32');
  await same('int max', [30], (k, s) => k.reduce('max', ints[s], [0]), 0, 'int32');
  await same('empty sum', [4], (k) => k.reduce('sum', { buf: k.fill('float32', 0, 0), dtype: 'float32', shape: [4, 0], strides: [0, 1], offset: 0 }, [1]));
});

t('matmul in every transpose case, batched, broadcast batch, odd and tile-edge sizes', async () => {
  // The last two sizes take the large-tile kernel (edges included).
  for (const [B, M, N, K] of [[1, 1, 1, 1], [1, 7, 17, 5], [2, 63, 65, 129], [3, 130, 9, 70], [1, 5, 200, 3], [1, 64, 64, 64], [1, 600, 530, 37], [2, 512, 512, 16]]) {
    for (const ta of [false, true]) for (const tb of [false, true]) {
      const a = pair([B, M, K], { strides: ta ? [M * K, 1, M] : [M * K, K, 1] });
      const b = pair([B, K, N], { strides: tb ? [K * N, 1, K] : [K * N, N, 1] });
      // float32 accumulation against the reference's float64: error grows like K · 2^-24.
      await same(`B${B} M${M} N${N} K${K} ta=${ta} tb=${tb}`, [B, M, N], (k, s) => k.matmul(a[s], b[s]), 5e-5);
    }
  }
  const a = pair([4, 9, 11], { strides: [0, 11, 1], offset: 3 }), b = pair([4, 11, 6]);
  await same('broadcast batch with offset', [4, 9, 6], (k, s) => k.matmul(a[s], b[s]));
});

t('concat, gather and scatterAdd (float and int, strided indices)', async () => {
  const xs = [pair([3, 4, 5]), pair([3, 2, 5], { strides: [1, 3, 6] }), pair([3, 1, 5])];
  await same('concat axis 1', [3, 7, 5], (k, s) => k.concat(xs.map((x) => x[s]), 1));
  await same('concat axis 0', [9, 4, 5], (k, s) => k.concat([xs[0]![s], xs[0]![s], xs[0]![s]], 0));
  const last = [pair([3, 4, 2], { offset: 5 }), pair([3, 4, 5], { strides: [1, 15, 3] }), pair([3, 4, 1])];
  await same('concat last axis, offset and transposed inputs', [3, 4, 8], (k, s) => k.concat(last.map((x) => x[s]), 2));
  const ints = [pair([2, 3], { int: 9 }), pair([2, 4], { int: 9, strides: [1, 2] })];
  await same('concat int', [2, 7], (k, s) => k.concat(ints.map((x) => x[s]), 1), 0, 'int32');
  const x = pair([6, 50]);
  const idx = pair([6, 20], { int: 50 });
  await same('gather axis 1', [6, 20], (k, s) => k.gather(x[s], 1, idx[s]));
  const idx0 = pair([4, 50], { int: 6, strides: [1, 4] });
  await same('gather axis 0, transposed index', [4, 50], (k, s) => k.gather(x[s], 0, idx0[s]));
  const rows = pair([300, 1], { int: 40 });
  const rowIdx: [View, View] = [{ ...rows[0], shape: [300, 16], strides: [1, 0] }, { ...rows[1], shape: [300, 16], strides: [1, 0] }];
  const src = pair([300, 16]);
  // The embedding backward: many rows add into the same 40 targets (atomic float adds).
  await same('scatterAdd axis 0', [40, 16], (k, s) => k.scatterAdd([40, 16], 0, rowIdx[s], src[s]), 1e-5);
  const isrc = pair([300, 16], { int: 10 });
  await same('scatterAdd int', [40, 16], (k, s) => k.scatterAdd([40, 16], 0, rowIdx[s], isrc[s]), 0, 'int32');
});

t('random draws match the reference generator', async () => {
  await same('uniform', [5000], (k) => k.random('float32', 5000, 'uniform', 0xdeadbeef, -1, 3), 1e-6);
  // [0, 1), which the native kernels draw themselves: bit for bit, over block and vector tails, a key past 2^31 too.
  for (const [n, key] of [[3, 1], [8193 + 7, 0xfedcba98]] as const) await same('uniform [0, 1)', [n], (k) => k.random('float32', n, 'uniform', key, 0, 1), 0);
  await same('normal', [5000], (k) => k.random('float32', 5000, 'normal', 12345, 0.5, 2), 2e-5);
});

/** The fused row kernels on `dev` (with or without subgroup reductions). */
async function fusedRowKernels(on: Backend, label: string): Promise<void> {
  const check = (what: string, shape: readonly number[], f: (b: Backend, side: 0 | 1) => object, tol?: number) =>
    same(`${what} (${label})`, shape, f, tol, 'float32', on);
  for (const n of [7, 300, 1000]) {
    const x = pair([13, n], { lo: -8, hi: 8 });
    for (const log of [false, true]) await check(`softmax n=${n} log=${log}`, [13, n], (k, s) => k.softmax!(x[s], log), 2e-6);
  }
  for (const affine of [false, true]) {
    const n = 96, rows = 37;
    const x = pair([rows, n]), w = pair([n]), b = pair([n]), g = pair([rows, n]);
    const run = (k: Backend, s: 0 | 1) => k.layerNorm!(x[s], affine ? w[s] : null, affine ? b[s] : null, n, 1e-5);
    await check(`layerNorm y affine=${affine}`, [rows, n], (k, s) => run(k, s).y, 1e-5);
    await check(`layerNorm rstd affine=${affine}`, [rows], (k, s) => run(k, s).rstd, 1e-5);
    for (const part of ['dx', 'dweight', 'dbias'] as const) {
      await check(`layerNorm ${part} affine=${affine}`, part === 'dx' ? [rows, n] : [n], (k, s) => {
        const f = run(k, s);
        return k.layerNormBackward!(g[s], x[s], affine ? w[s] : null, f.mean, f.rstd, n)[part];
      }, 2e-5);
    }
  }
  for (const [rows, C, smoothing] of [[9, 50, 0], [5, 1000, 0.1]] as const) {
    const x = pair([rows, C], { lo: -5, hi: 5 }), gr = pair([rows]);
    const t0 = pair([rows], { int: C });
    // One ignored row (target -100), as padding positions are.
    (t0[0].buf as Int32Array)[1] = -100;
    const tgt: [View, View] = [t0[0], { ...t0[1], buf: on.upload(t0[0].buf as Int32Array, 'int32') }];
    const run = (k: Backend, s: 0 | 1) => k.crossEntropy!(x[s], tgt[s], -100, smoothing);
    await check(`crossEntropy loss C=${C}`, [rows], (k, s) => run(k, s).loss, 1e-5);
    await check(`crossEntropy lse C=${C}`, [rows], (k, s) => run(k, s).lse, 1e-5);
    await check(`crossEntropy dlogits C=${C}`, [rows, C], (k, s) => k.crossEntropyBackward!(x[s], tgt[s], run(k, s).lse, gr[s], -100, smoothing), 1e-5);
  }
}

t('fused softmax, layer norm (forward and backward), cross-entropy and AdamW', async (b) => {
  if (b.name === 'webgpu') {
    const gpu = dev as WebGPUBackend;
    await fusedRowKernels(gpu, `subgroups ${gpu.info.features.includes('subgroups') ? 'on' : 'absent'}`);
    if (gpu.info.features.includes('subgroups')) await fusedRowKernels(createWebGPUBackendOn(gpu.device, gpu.info, { subgroups: false }), 'subgroups off');
  } else {
    await fusedRowKernels(dev, b.name);
  }
  const size = 1000;
  const p = pair([size]), m = pair([size], { lo: -0.1, hi: 0.1 }), v = pair([size], { lo: 0, hi: 0.01 }), grad = pair([size]);
  const step = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3 };
  for (const part of ['param', 'm', 'v'] as const) {
    // Fresh copies per part: the update is in place.
    await same(`adamw ${part}`, [size], (k, s) => {
      const copy = (x: View) => k.contiguous(x, 'float32');
      const bufs = { param: copy(p[s]), m: copy(m[s]), v: copy(v[s]) };
      k.adamw!(bufs.param, grad[s], bufs.m, bufs.v, size, step);
      return bufs[part];
    }, 1e-6);
  }
});

/** A window over an H×W input, with its output size (as the ops layer computes it). */
function window2d(H: number, W: number, kernel: [number, number], stride: [number, number], padding: [number, number], dilation: [number, number] = [1, 1]): Window2d {
  const out = (n: number, i: number) => Math.floor((n + 2 * padding[i]! - dilation[i]! * (kernel[i]! - 1) - 1) / stride[i]!) + 1;
  return { kernel, stride, padding, dilation, out: [out(H, 0), out(W, 1)] };
}

t('conv2d forward and backward: stride, padding, dilation, groups, 1x1, one image, a channels-last input', async () => {
  // [N, C, H, W, O, groups, kernel, stride, padding, dilation, bias]
  const cases: [number, number, number, number, number, number, [number, number], [number, number], [number, number], [number, number], boolean][] = [
    [2, 3, 7, 6, 4, 1, [3, 3], [1, 1], [1, 1], [1, 1], true],
    [1, 4, 9, 8, 6, 2, [3, 2], [2, 1], [2, 1], [2, 1], false],
    [3, 6, 5, 5, 6, 6, [3, 3], [1, 1], [1, 1], [1, 1], true],
    [2, 5, 8, 8, 7, 1, [1, 1], [2, 2], [0, 0], [1, 1], false],
    [2, 1, 28, 28, 6, 1, [5, 5], [1, 1], [2, 2], [1, 1], true],
  ];
  for (const [N, C, H, W, O, groups, k, s, p, d, hasBias] of cases) {
    const w = window2d(H, W, k, s, p, d);
    const what = `conv2d x [${N}, ${C}, ${H}, ${W}], ${O} outputs in ${groups} group(s), window ${JSON.stringify(w)}`;
    for (const layout of ['NCHW', 'channels-last'] as const) {
      const x = layout === 'NCHW' ? pair([N, C, H, W]) : pair([N, C, H, W], { strides: [H * W * C, 1, W * C, C] });
      const wt = pair([O, C / groups, ...k], { lo: -0.5, hi: 0.5 }), bias = hasBias ? pair([O]) : null;
      const outShape = [N, O, ...w.out];
      await same(`${what} ${layout}`, outShape, (b, side) => b.conv2d!(x[side], wt[side], bias?.[side] ?? null, w, groups), 1e-5);
      const g = pair(outShape);
      const all = { input: true, weight: true, bias: true };
      await same(`${what} ${layout}: dx`, [N, C, H, W], (b, side) => b.conv2dBackward!(g[side], x[side], wt[side], w, groups, all).dx!, 1e-5);
      // A sum over every output pixel of every image (1,568 terms for LeNet's first layer here), rounded in float32.
      await same(`${what} ${layout}: dweight`, [O, C / groups, ...k], (b, side) => b.conv2dBackward!(g[side], x[side], wt[side], w, groups, all).dweight!, 1e-4);
      await same(`${what} ${layout}: dbias`, [O], (b, side) => b.conv2dBackward!(g[side], x[side], wt[side], w, groups, all).dbias!, 1e-5);
      const some = dev.conv2dBackward!(g[1], x[1], wt[1], w, groups, { input: false, weight: true, bias: false });
      assert.ok(some.dx === null && some.dbias === null && some.dweight !== null, `${what}: only the gradients asked for`);
    }
  }
});

t('max and average pooling, forward and backward: edge windows over the padding, dilation, ties and NaN', async () => {
  // [N, C, H, W, kernel, stride, padding, dilation]
  const cases: [number, number, number, number, [number, number], [number, number], [number, number], [number, number]][] = [
    [2, 3, 7, 8, [3, 3], [2, 2], [1, 1], [1, 1]],
    [2, 6, 28, 28, [2, 2], [2, 2], [0, 0], [1, 1]],
    [1, 2, 9, 9, [3, 2], [1, 2], [1, 1], [2, 1]],
    [2, 2, 6, 5, [2, 3], [1, 1], [1, 1], [1, 1]],
  ];
  for (const [N, C, H, W, k, s, p, d] of cases) {
    const w = window2d(H, W, k, s, p, d);
    const outShape = [N, C, ...w.out];
    // Small integers: many windows hold ties, and the gradient must go to the first of them.
    const ties = pair([N, C, H, W], { int: 4 });
    const tied: [View, View] = [{ ...ties[0], dtype: 'float32', buf: Float32Array.from(ties[0].buf as Int32Array) }, { ...ties[1], dtype: 'float32' }];
    tied[1] = { ...tied[0], buf: dev.upload(tied[0].buf as Float32Array, 'float32') };
    for (const [label, x] of [['random', pair([N, C, H, W])], ['ties', tied]] as const) {
      for (const kind of d[0] > 1 || d[1] > 1 ? ['max'] as const : ['max', 'avg'] as const) {
        const what = `${kind}Pool2d ${label} x [${N}, ${C}, ${H}, ${W}] window ${JSON.stringify(w)}`;
        await same(what, outShape, (b, side) => b.pool2d!(kind, x[side], w).y, 1e-6);
        if (kind === 'max') await same(`${what}: argmax`, outShape, (b, side) => b.pool2d!(kind, x[side], w).argmax!, 0, 'int32');
        const g = pair(outShape);
        await same(`${what}: dx`, [N, C, H, W], (b, side) => b.pool2dBackward!(kind, g[side], [N, C, H, W], w, b.pool2d!(kind, x[side], w).argmax), 1e-6);
      }
    }
  }
  const nan = Float32Array.from({ length: 16 }, (_, i) => (i === 5 ? NaN : i));
  const w = window2d(4, 4, [2, 2], [2, 2], [0, 0]);
  const y = await dev.read(out(dev.pool2d!('max', { buf: dev.upload(nan, 'float32'), dtype: 'float32', shape: [1, 1, 4, 4], strides: [16, 16, 4, 1], offset: 0 }, w).y, [1, 1, 2, 2]));
  assert.ok(Number.isNaN(y[0]!) && y[1] === 7, `a NaN in a window is its max, as in PyTorch: ${Array.from(y)}`);
});

t('batch norm forward and backward over [N, C, L], with and without weight and bias, large means', async () => {
  for (const [N, C, L] of [[4, 3, 10], [2, 16, 49], [8, 2, 1]] as const) {
    const x = pair([N, C, L], { lo: 5, hi: 9 }), g = pair([N, C, L]);
    for (const affine of [true, false]) {
      const weight = affine ? pair([C], { lo: 0.5, hi: 1.5 }) : null, bias = affine ? pair([C]) : null;
      const what = `batchNorm [${N}, ${C}, ${L}]${affine ? '' : ' without weight and bias'}`;
      const fwd = (b: Backend, side: 0 | 1) => b.batchNorm!(x[side], weight?.[side] ?? null, bias?.[side] ?? null, 1e-5);
      await same(`${what}: y`, [N, C, L], (b, side) => fwd(b, side).y, 1e-5);
      await same(`${what}: mean`, [C], (b, side) => fwd(b, side).mean, 1e-6);
      await same(`${what}: var`, [C], (b, side) => fwd(b, side).var, 1e-5);
      const bwd = (b: Backend, side: 0 | 1) => {
        const f = fwd(b, side);
        return b.batchNormBackward!(g[side], x[side], weight?.[side] ?? null, f.mean, f.var, 1e-5);
      };
      await same(`${what}: dx`, [N, C, L], (b, side) => bwd(b, side).dx, 1e-4);
      await same(`${what}: dweight`, [C], (b, side) => bwd(b, side).dweight, 1e-5);
      await same(`${what}: dbias`, [C], (b, side) => bwd(b, side).dbias, 1e-5);
      // Fused with a ReLU, and with a residual added before it (about half the outputs clipped).
      if (!dev.batchNormRelu) continue;
      const res = pair([N, C, L], { lo: -1.5, hi: 1.5 });
      for (const withRes of [false, true]) {
        const r = withRes ? res : null, rw = `${what} + relu${withRes ? ' with a residual' : ''}`;
        const fr = (b: Backend, side: 0 | 1) => b.batchNormRelu!(x[side], weight?.[side] ?? null, bias?.[side] ?? null, 1e-5, r?.[side] ?? null);
        await same(`${rw}: y`, [N, C, L], (b, side) => fr(b, side).y, 1e-5);
        await same(`${rw}: mean`, [C], (b, side) => fr(b, side).mean, 1e-6);
        const br = (b: Backend, side: 0 | 1) => {
          const f = fr(b, side);
          return b.batchNormReluBackward!(g[side], x[side], f.y, weight?.[side] ?? null, f.mean, f.var, 1e-5, withRes);
        };
        await same(`${rw}: dx`, [N, C, L], (b, side) => br(b, side).dx, 1e-4);
        await same(`${rw}: dweight`, [C], (b, side) => br(b, side).dweight, 1e-5);
        await same(`${rw}: dbias`, [C], (b, side) => br(b, side).dbias, 1e-5);
        if (withRes) await same(`${rw}: dresidual`, [N, C, L], (b, side) => br(b, side).dresidual!, 1e-6);
      }
    }
  }
});
