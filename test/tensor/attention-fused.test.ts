// The fused attention kernels (the fast CPU backend's, where built) against the composite attention on the reference
// backend: outputs and the gradients of q, k and v, with causal masks, padding masks, Tq < Tk (a KV cache), strided
// inputs straight out of a fused qkv projection, and fully masked rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, setBackend } from '../../src/backend/backend.js';
import * as T from '../../src/tensor/index.js';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, what);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  assert.ok(worst <= tol, `${what}: relative error ${worst}`);
}

interface Case { B: number; H: number; Tq: number; Tk: number; D: number; causal: boolean; mask: boolean }

/** Output and input gradients of attention on `backend`, with q/k/v sliced out of one [B, T, 3, H, D] tensor. */
function run(backend: string, c: Case, data: { q: Float32Array; kv: Float32Array; mask: Float32Array; g: Float32Array }) {
  setBackend(backend);
  const q0 = T.fromArray(data.q, [c.B, c.Tq, c.H, c.D], { requiresGrad: true });
  const kv0 = T.fromArray(data.kv, [c.B, c.Tk, 2, c.H, c.D], { requiresGrad: true });
  const q = T.transpose(q0, 1, 2);
  const [k, v] = [0, 1].map((i) => T.transpose(T.reshape(T.slice(kv0, 2, i, i + 1), [c.B, c.Tk, c.H, c.D]), 1, 2)) as [T.Tensor, T.Tensor];
  const mask = c.mask ? T.fromArray(data.mask, [c.B, 1, 1, c.Tk]) : undefined;
  const y = T.scaledDotProductAttention(q, k, v, { causal: c.causal, mask });
  T.sum(T.mul(y, T.fromArray(data.g, y.shape))).backward();
  const read = (t: T.Tensor) => t.dataSync() as Float32Array;
  return { fused: Boolean(getBackend().attention), y: read(T.contiguous(y)), dq: read(q0.grad!), dkv: read(kv0.grad!) };
}

test('fused attention matches the composite, forward and backward, on strided q/k/v with causal and padding masks', (t) => {
  setBackend('cpu');
  if (!getBackend().attention) { t.skip('the fast CPU backend has no fused attention here (native kernels not built)'); return; }
  const rng = new T.Generator(7);
  const cases: Case[] = [
    { B: 2, H: 3, Tq: 17, Tk: 17, D: 8, causal: true, mask: false },
    { B: 2, H: 2, Tq: 33, Tk: 33, D: 16, causal: false, mask: true },
    { B: 1, H: 4, Tq: 5, Tk: 12, D: 7, causal: true, mask: true },
    { B: 3, H: 2, Tq: 64, Tk: 64, D: 32, causal: true, mask: true },
  ];
  try {
    for (const c of cases) {
      const rand = (n: number) => Float32Array.from({ length: n }, () => rng.random() * 2 - 1);
      // Padding: the last keys of batch item 0 hidden; item 1 keeps all. A causal query whose visible keys are all
      // padded is a fully masked row (uniform weights in the composite).
      const mask = Float32Array.from({ length: c.B * c.Tk }, (_, i) => (i < c.Tk && i % c.Tk >= c.Tk - 3 ? 0 : 1));
      const data = { q: rand(c.B * c.Tq * c.H * c.D), kv: rand(c.B * c.Tk * 2 * c.H * c.D), mask, g: rand(c.B * c.H * c.Tq * c.D) };
      const fused = run('cpu', c, data), ref = run('cpu-reference', c, data);
      assert.ok(fused.fused && !ref.fused);
      const what = JSON.stringify(c);
      close(fused.y, ref.y, 1e-5, `output ${what}`);
      close(fused.dq, ref.dq, 1e-5, `dq ${what}`);
      close(fused.dkv, ref.dkv, 1e-5, `dk, dv ${what}`);
    }
  } finally {
    setBackend('cpu');
  }
});
