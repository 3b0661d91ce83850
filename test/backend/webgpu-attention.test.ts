// The WebGPU backend's fused (flash-style) attention against the composite attention on the reference backend:
// outputs and the gradients of q, k and v, with causal and padding masks, a full [B, H, Tq, Tk] mask, Tq < Tk
// (a KV cache), Tq > Tk under causal masking and a fully padded batch item (rows with every key hidden), strided
// inputs sliced out of one fused qkv tensor, and head dims 7 to 64 across the 64-row workgroup edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, setBackend } from '../../src/backend/backend.js';
import * as T from '../../src/tensor/index.js';
import { openWebGPU } from './webgpu-helpers.js';

const { skip } = await openWebGPU();

interface Case {
  B: number; H: number; Tq: number; Tk: number; D: number; Dv?: number; causal: boolean;
  /** 'pad': a [B, 1, 1, Tk] padding mask (item 0's last keys hidden, item `B - 1` all hidden when B > 2); 'full': random [B, H, Tq, Tk]. */
  mask?: 'pad' | 'full';
}

interface Data { qkv: Float32Array; mask: Float32Array | null; g: Float32Array }

/**
 * Output and input gradients of attention on `backend`. q, k and v are slices of one tensor [B, T, 3, H, D] when
 * their shapes allow (a fused projection: every operand strided), else of a [B, Tq, H, D] tensor and a
 * [B, Tk, H, D + Dv] one (k and v side by side in the last axis).
 */
async function run(backend: string, c: Case, data: Data) {
  setBackend(backend);
  const Dv = c.Dv ?? c.D;
  const fused = c.Tq === c.Tk && Dv === c.D;
  const src = fused
    ? [T.fromArray(data.qkv, [c.B, c.Tq, 3, c.H, c.D], { requiresGrad: true })]
    : [T.fromArray(data.qkv.subarray(0, c.B * c.Tq * c.H * c.D), [c.B, c.Tq, c.H, c.D], { requiresGrad: true }),
      T.fromArray(data.qkv.subarray(c.B * c.Tq * c.H * c.D), [c.B, c.Tk, c.H, c.D + Dv], { requiresGrad: true })];
  const heads = (x: T.Tensor) => T.transpose(x, 1, 2);
  const [q, k, v] = fused
    ? [0, 1, 2].map((i) => heads(T.reshape(T.slice(src[0]!, 2, i, i + 1), [c.B, c.Tq, c.H, c.D])))
    : [heads(src[0]!), heads(T.slice(src[1]!, 3, 0, c.D)), heads(T.slice(src[1]!, 3, c.D, c.D + Dv))];
  const maskShape = c.mask === 'full' ? [c.B, c.H, c.Tq, c.Tk] : [c.B, 1, 1, c.Tk];
  const mask = data.mask ? T.fromArray(data.mask, maskShape) : undefined;
  const y = T.scaledDotProductAttention(q!, k!, v!, { causal: c.causal, mask });
  T.sum(T.mul(y, T.fromArray(data.g, y.shape))).backward();
  return {
    fused: Boolean(getBackend().attention),
    y: await T.contiguous(y).data(),
    grads: await Promise.all(src.map((s) => s.grad!.data())),
  };
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0, at = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!));
    if (!(e <= worst)) { worst = e; at = i; }
  }
  assert.ok(worst <= tol, `${what}: relative error ${worst} at ${at} (got ${got[at]}, want ${want[at]})`);
}

const cases: Case[] = [
  { B: 2, H: 3, Tq: 17, Tk: 17, D: 8, causal: true },
  { B: 3, H: 2, Tq: 33, Tk: 33, D: 16, causal: false, mask: 'pad' },
  { B: 1, H: 2, Tq: 70, Tk: 70, D: 64, causal: true, mask: 'pad' },
  { B: 1, H: 4, Tq: 5, Tk: 12, D: 7, Dv: 5, causal: true, mask: 'pad' },
  { B: 2, H: 1, Tq: 9, Tk: 4, D: 8, causal: true },
  { B: 2, H: 2, Tq: 11, Tk: 13, D: 16, Dv: 8, causal: false, mask: 'full' },
];

test('webgpu fused attention matches the composite, forward and backward', { skip }, async () => {
  const rng = new T.Generator(5);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.random() * 2 - 1);
  try {
    for (const c of cases) {
      const Dv = c.Dv ?? c.D;
      let mask: Float32Array | null = null;
      if (c.mask === 'pad') {
        // Item 0 loses its last 3 keys; with 3 or more items, the last loses all (every row of it fully hidden).
        mask = Float32Array.from({ length: c.B * c.Tk }, (_, i) => {
          const b = Math.floor(i / c.Tk), j = i % c.Tk;
          return (b === 0 && j >= c.Tk - 3) || (c.B > 2 && b === c.B - 1) ? 0 : 1;
        });
      } else if (c.mask === 'full') {
        // About a third hidden, and query 0 of every (batch, head) with no key at all.
        mask = Float32Array.from({ length: c.B * c.H * c.Tq * c.Tk }, (_, i) => (i % (c.Tq * c.Tk) < c.Tk || rng.random() < 0.33 ? 0 : 1));
      }
      const data = { qkv: rand(c.B * (c.Tq * c.H * c.D + c.Tk * c.H * (c.D + Dv))), mask, g: rand(c.B * c.H * c.Tq * Dv) };
      const gpu = await run('webgpu', c, data), ref = await run('cpu-reference', c, data);
      assert.ok(gpu.fused && !ref.fused, 'the webgpu run takes the fused kernels, the reference the composite');
      const what = JSON.stringify(c);
      close(gpu.y, ref.y, 2e-5, `output ${what}`);
      gpu.grads.forEach((g, i) => close(g, ref.grads[i]!, 5e-5, `gradient of input ${i} ${what}`));
    }
  } finally {
    setBackend('cpu-reference');
  }
});
