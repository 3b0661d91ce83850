// The fused attention kernels of both kernel sets of the fast CPU backend (native where built, and WebAssembly, the
// browser's) against the composite attention on the reference backend: outputs and the gradients of q, k and v, with
// causal masks, padding masks, Tq < Tk (a KV cache), strided inputs straight out of a fused qkv projection, and fully
// masked rows; the WebAssembly kernels also on 3 threads (uneven (batch, head) ranges).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, registerBackend, setBackend } from '../../src/backend/registry.js';
import { createFastCpuBackend } from '../../src/backend/cpu/fast.js';
import { loadNativeAddon } from '../../src/backend/cpu/native.js';
import * as T from '../../src/tensor/index.js';

registerBackend('cpu-wasm-3', () => ({ ...createFastCpuBackend({ kernels: 'wasm', threads: 3 }), name: 'cpu-wasm-3' }));
/** 'cpu' runs the native kernels where they are built; without them it is the WebAssembly set that cpu-wasm also tests. */
const backends = [...(loadNativeAddon() ? ['cpu'] : []), 'cpu-wasm', 'cpu-wasm-3'];

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

for (const backend of backends) test(`fused attention (${backend}) matches the composite, forward and backward, on strided q/k/v with causal and padding masks`, () => {
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
      // Padding: the first 3 keys of batch item 0 hidden (left padding), every key of item 2 (where B >= 3), the rest
      // kept. A causal query that sees only padded keys, and every query of item 2, is a fully masked row: uniform
      // weights in the composite, and no gradient to its scores (so none to q or k through it).
      const mask = Float32Array.from({ length: c.B * c.Tk }, (_, i) => (i < 3 || Math.floor(i / c.Tk) === 2 ? 0 : 1));
      const data = { q: rand(c.B * c.Tq * c.H * c.D), kv: rand(c.B * c.Tk * 2 * c.H * c.D), mask, g: rand(c.B * c.H * c.Tq * c.D) };
      const fused = run(backend, c, data), ref = run('cpu-reference', c, data);
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

for (const backend of backends) test(`fused attention (${backend}) gives hidden keys weight exactly 0 and fully masked rows uniform weights`, () => {
  const b = setBackend(backend);
  try {
    const [B, H, Tq, Tk, D] = [2, 2, 6, 9, 5];
    const rng = new T.Generator(3);
    const view = (shape: number[]) => T.fromArray(Float32Array.from({ length: shape.reduce((x, y) => x * y) }, () => rng.random() * 2 - 1), shape).view;
    // Item 0 hides keys 5..8, so its causal queries 0..1 (which see keys 0..i + 3) keep some keys; item 1 hides all.
    const mask = T.fromArray(Float32Array.from({ length: B * Tk }, (_, i) => (i < Tk && i < 5 ? 1 : 0)), [B, 1, 1, Tk]);
    const m = T.expand(mask, [B, H, Tq, Tk]).view;
    // On the CPU backends the saved state is the weights [B, H, Tq, Tk].
    const w = b.attention!(view([B, H, Tq, D]), view([B, H, Tk, D]), view([B, H, Tk, D]), m, true, 0.5).saved as Float32Array;
    for (let n = 0; n < B * H; n++) for (let i = 0; i < Tq; i++) for (let j = 0; j < Tk; j++) {
      const x = w[(n * Tq + i) * Tk + j]!;
      const item = Math.floor(n / H);
      if (item === 1) assert.equal(x, Math.fround(1 / Tk), `fully masked row ${n}, ${i}`);
      else if (j >= 5 || j > i + Tk - Tq) assert.equal(x, 0, `hidden key ${n}, ${i}, ${j}`);
      else assert.ok(x > 0, `visible key ${n}, ${i}, ${j}`);
    }
  } finally {
    setBackend('cpu');
  }
});
