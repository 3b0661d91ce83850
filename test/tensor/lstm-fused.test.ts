// The fused LSTM recurrence of the native and WebAssembly kernel sets against the composite lstmSequence on the
// reference backend: outputs, final states and the gradients of every input, with and without a step mask (padded sequences), initial states and the
// recurrent bias; one size large enough that the per-step GEMMs split across threads (unmasked, so the worker's
// rows are real steps), and one with 4H > 2048 (the WebAssembly GEMM's column block), so a packed recurrent weight
// spans two column blocks.
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

forEachBackend('the fused LSTM recurrence matches the composite, forward and backward, with masks, initial states and bias', async () => {
  const rng = new T.Generator(11);
  const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng.random() * 2 - 1) * scale);
  for (const [B, S, H, masked, bias] of [[3, 7, 5, false, true], [4, 9, 19, true, true], [2, 6, 33, true, false], [8, 5, 96, false, true], [2, 3, 520, false, true]] as const) {
    const data = {
      xw: rand(B * S * 4 * H), w: rand(4 * H * H, 0.5), b: rand(4 * H), h0: rand(B * H), c0: rand(B * H),
      // lengths S, S-2, S-4, ...: padded steps at the ends of the shorter sequences
      mask: Float32Array.from({ length: B * S }, (_, i) => (i % S < S - 2 * Math.floor(i / S) ? 1 : 0)),
      gOut: rand(B * S * H), gH: rand(B * H), gC: rand(B * H),
    };
    const run = async () => {
      const p = (x: Float32Array, shape: number[]) => T.fromArray(x, shape, { requiresGrad: true });
      const xw = p(data.xw, [B, S, 4 * H]), w = p(data.w, [4 * H, H]), b = bias ? p(data.b, [4 * H]) : null;
      const h0 = p(data.h0, [B, H]), c0 = p(data.c0, [B, H]);
      const r = T.lstmSequence(xw, w, b, h0, c0, masked ? T.fromArray(data.mask, [B, S]) : null);
      const loss = T.add(T.add(T.sum(T.mul(r.output, T.fromArray(data.gOut, [B, S, H]))), T.sum(T.mul(r.h, T.fromArray(data.gH, [B, H])))),
        T.sum(T.mul(r.c, T.fromArray(data.gC, [B, H]))));
      loss.backward();
      const read = (x: T.Tensor) => T.contiguous(x).data();
      return { fused: Boolean(getBackend().lstmSequence), out: await read(r.output), h: await read(r.h), c: await read(r.c),
        grads: await Promise.all([xw, w, ...(b ? [b] : []), h0, c0].map((x) => read(x.grad!))) };
    };
    const got = await run(), want = await withBackend(UNFUSED, run);
    assert.ok(got.fused && !want.fused);
    const what = `B${B} T${S} H${H}${masked ? ' masked' : ''}${bias ? ' bias' : ''}`;
    // Measured worst errors, on both kernel sets alike (float32 sums in other orders, the composite's included):
    // 1.3e-6 up to H = 96; 9e-6 at H = 520, on h0's gradient (sums of 2,080 terms).
    const tol = H > 100 ? 2e-5 : 3e-6;
    close(got.out, want.out, tol, `output ${what}`);
    close(got.h, want.h, tol, `h ${what}`);
    close(got.c, want.c, tol, `c ${what}`);
    got.grads.forEach((g, i) => close(g, want.grads[i]!, tol, `gradient ${i} ${what}`));
  }
}, { exclude: {
  'cpu-reference': 'no fused LSTM kernel: the composite on the reference backend is the yardstick here',
  // Its composite LSTM, forward and backward, is held to PyTorch in test/nn/torch-parity.test.ts and e2e/torch-training.
  webgpu: 'no fused LSTM kernel on WebGPU',
} });
