// The fused LSTMP recurrence (an LSTM with a projection) of the native and WebAssembly kernel sets against the
// composite lstmpSequence on the reference backend: outputs, final states and the gradients of every input, with and
// without a step mask, cell and projection clipping, and the recurrent bias; widths that leave partial vectors (H and
// P not multiples of 4 or 16); one size large enough that the per-step GEMMs split across threads, and one with
// 4H > 2048 (the WebAssembly GEMM's column block), so a packed recurrent weight spans two column blocks.
import assert from 'node:assert/strict';
import { getBackend } from '../../src/backend/registry.js';
import * as T from '../../src/tensor/index.js';
import { UNFUSED, forEachBackend, withBackend } from '../helpers/backends.js';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, what);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  assert.ok(worst <= tol, `${what}: relative error ${worst}`);
}

/** B, T, H, P, masked, bias, cell clip, projection clip. */
type Case = readonly [number, number, number, number, boolean, boolean, number | null, number | null];
const CASES: readonly Case[] = [
  [3, 7, 5, 3, false, true, null, null],
  [4, 9, 19, 7, true, true, 0.5, 0.2],
  [2, 6, 33, 10, true, false, 0.4, null],
  [8, 5, 96, 40, false, true, null, 0.1],
  [3, 5, 24, 24, true, false, null, null],
  [16, 6, 128, 32, true, true, 0.5, 0.05],
  [2, 3, 520, 64, false, true, 0.5, 0.05],
];

forEachBackend('the fused LSTMP recurrence matches the composite, forward and backward, with masks, clipping and bias', async () => {
  const rng = new T.Generator(12);
  const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng.random() * 2 - 1) * scale);
  for (const [B, S, H, P, masked, bias, cellClip, projClip] of CASES) {
    const data = {
      xw: rand(B * S * 4 * H, 1.5), w: rand(4 * H * P, 0.5), b: rand(4 * H), wr: rand(P * H, 1 / Math.sqrt(H)), r0: rand(B * P), c0: rand(B * H),
      // lengths S, S-2, S-4, ...: padded steps at the ends of the shorter sequences
      mask: Float32Array.from({ length: B * S }, (_, i) => (i % S < Math.max(1, S - 2 * Math.floor(i / S)) ? 1 : 0)),
      gOut: rand(B * S * P), gR: rand(B * P), gC: rand(B * H),
    };
    const run = async () => {
      const p = (x: Float32Array, shape: number[]) => T.fromArray(x, shape, { requiresGrad: true });
      const xw = p(data.xw, [B, S, 4 * H]), w = p(data.w, [4 * H, P]), b = bias ? p(data.b, [4 * H]) : null, wr = p(data.wr, [P, H]);
      const r0 = p(data.r0, [B, P]), c0 = p(data.c0, [B, H]);
      const r = T.lstmpSequence(xw, w, b, wr, r0, c0, masked ? T.fromArray(data.mask, [B, S]) : null, { cellClip, projClip });
      const loss = T.add(T.add(T.sum(T.mul(r.output, T.fromArray(data.gOut, [B, S, P]))), T.sum(T.mul(r.h, T.fromArray(data.gR, [B, P])))),
        T.sum(T.mul(r.c, T.fromArray(data.gC, [B, H]))));
      loss.backward();
      const read = (x: T.Tensor) => T.contiguous(x).data();
      return { fused: Boolean(getBackend().lstmpSequence), out: await read(r.output), h: await read(r.h), c: await read(r.c),
        grads: await Promise.all([xw, w, ...(b ? [b] : []), wr, r0, c0].map((x) => read(x.grad!))) };
    };
    const got = await run(), want = await withBackend(UNFUSED, run);
    assert.ok(got.fused && !want.fused);
    const what = `B${B} T${S} H${H} P${P}${masked ? ' masked' : ''}${bias ? ' bias' : ''}${cellClip ? ` cellClip ${cellClip}` : ''}${projClip ? ` projClip ${projClip}` : ''}`;
    // The bounds must bite for the clip to be tested: some outputs and final cells sit on them.
    if (projClip) assert.ok(want.out.some((v) => Math.abs(v) === Math.fround(projClip)), `${what}: no projection clipped`);
    if (cellClip) assert.ok(want.c.some((v) => Math.abs(v) === Math.fround(cellClip)), `${what}: no cell clipped`);
    // Measured worst errors, on both kernel sets alike (float32 sums in other orders, the composite's included):
    // 8e-7, on W_hr's gradient at H = 96.
    const tol = 3e-6;
    close(got.out, want.out, tol, `output ${what}`);
    close(got.h, want.h, tol, `r ${what}`);
    close(got.c, want.c, tol, `c ${what}`);
    got.grads.forEach((g, i) => close(g, want.grads[i]!, tol, `gradient ${i} ${what}`));
  }
}, { exclude: {
  'cpu-reference': 'no fused LSTMP kernel: the composite on the reference backend is the yardstick here',
  // Its composite, forward and backward, is held to PyTorch in test/nn/torch-parity.test.ts (nn.LSTM(proj_size)).
  webgpu: 'no fused LSTMP kernel on WebGPU',
} });

forEachBackend('the fused LSTMP recurrence over no steps returns the initial states and passes their gradients through', async () => {
  const r0 = T.fromArray(Float32Array.of(0.1, -0.2, 0.3, 0.4), [2, 2], { requiresGrad: true });
  const c0 = T.fromArray(Float32Array.of(0.5, -0.6, 0.7, 0.8, -0.9, 1), [2, 3], { requiresGrad: true });
  const w = T.zeros([12, 2], { requiresGrad: true }), b = T.ones([12], { requiresGrad: true }), wr = T.zeros([2, 3], { requiresGrad: true });
  const r = T.lstmpSequence(T.zeros([2, 0, 12], { requiresGrad: true }), w, b, wr, r0, c0, null, { cellClip: 0.5, projClip: 0.5 });
  assert.deepEqual(r.output.shape, [2, 0, 2]);
  assert.deepEqual([...await r.h.data()], [...await r0.data()]);
  assert.deepEqual([...await r.c.data()], [...await c0.data()]);
  T.add(T.sum(r.h), T.sum(T.mul(r.c, 2))).backward();
  assert.deepEqual([...await r0.grad!.data()], [1, 1, 1, 1]);
  assert.deepEqual([...await c0.grad!.data()], [2, 2, 2, 2, 2, 2]);
  assert.deepEqual([...await w.grad!.data()], new Array(24).fill(0));
  assert.deepEqual([...await b.grad!.data()], new Array(12).fill(0));
}, { exclude: { webgpu: 'float32 on WebGPU goes through the composite, tested elsewhere' } });
