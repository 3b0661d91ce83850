// The WebGPU backend's fused (flash-style) attention against the composite attention on the reference backend:
// outputs and the gradients of q, k and v, with causal and padding masks, a full [B, H, Tq, Tk] mask, Tq < Tk
// (a KV cache), Tq > Tk under causal masking and a fully padded batch item (rows with every key hidden), strided
// inputs sliced out of one fused qkv tensor, and head dims 7 to 64 across the 64-row workgroup edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, setBackend } from '../../src/backend/registry.js';
import * as T from '../../src/tensor/index.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { AdamW } from '../../src/optim/index.js';
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

test('webgpu fused attention trains a small BERT with padding: same gradients and losses as the reference backend', { skip }, async () => {
  const rng = new T.Generator(9);
  const [B, L] = [3, 10];
  const ids = Int32Array.from({ length: B * L }, () => Math.floor(rng.random() * 30));
  const labels = Int32Array.from(ids, (id, i) => (i % 3 === 0 ? id : -100));
  // Item 1 is padded after 6 tokens, item 2 after 3: their last keys are hidden from every query.
  const attention = Float32Array.from({ length: B * L }, (_, i) => (i % L < [L, 6, 3][Math.floor(i / L)]! ? 1 : 0));
  const train = async (backend: string) => {
    setBackend(backend);
    T.manualSeed(4);
    // No attention dropout, so the fused kernels run (dropout elsewhere draws the same bits on both backends).
    const model = new BertForPreTraining(bertConfig({ vocab_size: 30, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
      intermediate_size: 64, max_position_embeddings: 16, attention_probs_dropout_prob: 0 }));
    const opt = new AdamW(model.parameters(), { lr: 3e-3 });
    const losses: number[] = [];
    let grads: Float32Array[] = [];
    for (let step = 0; step < 3; step++) {
      const out = model.forward({
        inputIds: T.fromArray(ids, [B, L], { dtype: 'int32' }), attentionMask: T.fromArray(attention, [B, L]),
        mlmLabels: T.fromArray(labels, [B, L], { dtype: 'int32' }), nextSentenceLabels: T.fromArray(Int32Array.from([0, 1, 1]), [B], { dtype: 'int32' }),
      });
      opt.zeroGrad(); out.loss!.backward();
      // The first step's gradients: AdamW's update hardly depends on their scale, so losses alone would miss errors.
      if (step === 0) grads = await Promise.all(model.parameters().map((p) => p.grad!.data() as Promise<Float32Array>));
      opt.step();
      losses.push(await out.loss!.item());
    }
    return { losses, grads, fused: Boolean(getBackend().attention) };
  };
  try {
    const want = await train('cpu-reference'), got = await train('webgpu');
    assert.ok(got.fused && !want.fused);
    // Relative to each gradient's largest entry: near-uniform attention at initialisation makes the key and query
    // weights' gradients tiny (1e-5), so an error relative to 1 + |x| would pass anything there. The key bias's
    // gradient is 0 up to rounding (softmax ignores a shift shared by all keys), hence the floor.
    got.grads.forEach((g, i) => {
      const w = want.grads[i]!, top = w.reduce((m, x) => Math.max(m, Math.abs(x)), 1e-8);
      close(g.map((x) => x / top), w.map((x) => x / top), 1e-3, `gradient of parameter ${i} (largest ${top})`);
    });
    close(got.losses, want.losses, 1e-4, 'BERT losses');
  } finally {
    setBackend('cpu-reference');
  }
});
