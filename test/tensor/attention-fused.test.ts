// The fused attention kernels of every backend that has them (native, WebAssembly, WebGPU) against the composite
// attention on the reference backend: outputs and the gradients of q, k and v, with causal masks, left and right
// padding, a full [B, H, Tq, Tk] mask, Tq < Tk (a KV cache), Tq > Tk under causal masking, fully masked rows, strided
// inputs sliced out of one fused qkv tensor, head dims 7 to 64 and 70 rows (across WebGPU's 64-row workgroup edge);
// hidden keys' weights on the CPU kernels; and a small BERT with padding trained through them.
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { getBackend } from '../../src/backend/registry.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { AdamW } from '../../src/optim/index.js';
import { UNFUSED, forEachBackend, withBackend, type BackendRun } from '../helpers/backends.js';

/** The reference backend has no fused attention: it computes the composite that the others are compared with. */
const YARDSTICK = { 'cpu-reference': 'no fused attention kernel: the composite on the reference backend is the yardstick here' };

interface Case {
  B: number; H: number; Tq: number; Tk: number; D: number; Dv?: number; causal: boolean;
  /**
   * 'left': a [B, 1, 1, Tk] mask hiding item 0's first 3 keys (with causal masking, its first queries then see only
   * hidden keys) and every key of item 2; 'right': item 0's last 3 keys, and every key of item B - 1 when B > 2;
   * 'full': a random [B, H, Tq, Tk] mask with query 0 of every (batch, head) seeing no key.
   */
  mask?: 'left' | 'right' | 'full';
}

interface Data { qkv: Float32Array; mask: Float32Array | null; g: Float32Array }

/**
 * Output and input gradients of attention on the selected backend. q, k and v are slices of one tensor
 * [B, T, 3, H, D] when their shapes allow (a fused projection: every operand strided), else of a [B, Tq, H, D]
 * tensor and a [B, Tk, H, D + Dv] one (k and v side by side in the last axis).
 */
async function attention(c: Case, data: Data) {
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
  { B: 2, H: 2, Tq: 33, Tk: 33, D: 16, causal: false, mask: 'left' },
  { B: 3, H: 2, Tq: 33, Tk: 33, D: 16, causal: false, mask: 'right' },
  { B: 1, H: 4, Tq: 5, Tk: 12, D: 7, causal: true, mask: 'left' },
  { B: 1, H: 4, Tq: 5, Tk: 12, D: 7, Dv: 5, causal: true, mask: 'right' },
  { B: 3, H: 2, Tq: 64, Tk: 64, D: 32, causal: true, mask: 'left' },
  { B: 1, H: 2, Tq: 70, Tk: 70, D: 64, causal: true, mask: 'right' },
  { B: 2, H: 1, Tq: 9, Tk: 4, D: 8, causal: true },
  { B: 2, H: 2, Tq: 11, Tk: 13, D: 16, Dv: 8, causal: false, mask: 'full' },
];

function maskFor(c: Case, rng: T.Generator): Float32Array | null {
  const item = (i: number) => Math.floor(i / c.Tk), key = (i: number) => i % c.Tk;
  switch (c.mask) {
    case 'left': return Float32Array.from({ length: c.B * c.Tk }, (_, i) => (item(i) === 0 && key(i) < 3) || item(i) === 2 ? 0 : 1);
    case 'right': return Float32Array.from({ length: c.B * c.Tk }, (_, i) => (item(i) === 0 && key(i) >= c.Tk - 3) || (c.B > 2 && item(i) === c.B - 1) ? 0 : 1);
    // About a third hidden, and query 0 of every (batch, head) with no key at all.
    case 'full': return Float32Array.from({ length: c.B * c.H * c.Tq * c.Tk }, (_, i) => (i % (c.Tq * c.Tk) < c.Tk || rng.random() < 0.33 ? 0 : 1));
    default: return null;
  }
}

/**
 * Measured worst errors, the same on every backend (mostly the float32 composite's own rounding): 1e-7 on the
 * outputs, 4e-7 on the gradients at T = 64.
 */
const OUT_TOL = 1e-6, GRAD_TOL = 1.5e-6;

forEachBackend('fused attention matches the composite, forward and backward, on strided q/k/v with causal, padding and full masks', async () => {
  const rng = new T.Generator(5);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.random() * 2 - 1);
  for (const c of cases) {
    const Dv = c.Dv ?? c.D;
    // A fully masked row has uniform weights in the composite, and no gradient to its scores (so none to q or k).
    const data = { qkv: rand(c.B * (c.Tq * c.H * c.D + c.Tk * c.H * (c.D + Dv))), mask: maskFor(c, rng), g: rand(c.B * c.H * c.Tq * Dv) };
    const got = await attention(c, data), want = await withBackend(UNFUSED, () => attention(c, data));
    assert.ok(got.fused && !want.fused, 'the backend takes its fused kernels, the yardstick the composite');
    const what = JSON.stringify(c);
    close(got.y, want.y, OUT_TOL, `output ${what}`);
    got.grads.forEach((g, i) => close(g, want.grads[i]!, GRAD_TOL, `gradient of input ${i} ${what}`));
  }
}, { exclude: YARDSTICK });

forEachBackend('fused attention gives hidden keys weight exactly 0 and fully masked rows uniform weights', (b) => {
  const [B, H, Tq, Tk, D] = [2, 2, 6, 9, 5];
  const rng = new T.Generator(3);
  const view = (shape: number[]) => T.fromArray(Float32Array.from({ length: shape.reduce((x, y) => x * y) }, () => rng.random() * 2 - 1), shape).view;
  // Item 0 hides keys 5..8, so its causal queries 0..1 (which see keys 0..i + 3) keep some keys; item 1 hides all.
  const mask = T.fromArray(Float32Array.from({ length: B * Tk }, (_, i) => (i < Tk && i < 5 ? 1 : 0)), [B, 1, 1, Tk]);
  const m = T.expand(mask, [B, H, Tq, Tk]).view;
  // On the CPU backends the saved state is the weights [B, H, Tq, Tk].
  const w = b.backend.attention!(view([B, H, Tq, D]), view([B, H, Tk, D]), view([B, H, Tk, D]), m, true, 0.5).saved as Float32Array;
  for (let n = 0; n < B * H; n++) for (let i = 0; i < Tq; i++) for (let j = 0; j < Tk; j++) {
    const x = w[(n * Tq + i) * Tk + j]!;
    const item = Math.floor(n / H);
    if (item === 1) assert.equal(x, Math.fround(1 / Tk), `fully masked row ${n}, ${i}`);
    else if (j >= 5 || j > i + Tk - Tq) assert.equal(x, 0, `hidden key ${n}, ${i}, ${j}`);
    else assert.ok(x > 0, `visible key ${n}, ${i}, ${j}`);
  }
}, { exclude: { ...YARDSTICK, webgpu: 'the WebGPU kernel saves row statistics, not weights; its masked rows are checked through the outputs above' } });

forEachBackend('fused attention trains a small BERT with padding: the same gradients and losses as the composite', async (b) => {
  const rng = new T.Generator(9);
  const [B, L] = [3, 10];
  const ids = Int32Array.from({ length: B * L }, () => Math.floor(rng.random() * 30));
  const labels = Int32Array.from(ids, (id, i) => (i % 3 === 0 ? id : -100));
  // Item 1 is padded after 6 tokens, item 2 after 3: their last keys are hidden from every query.
  const attentionMask = Float32Array.from({ length: B * L }, (_, i) => (i % L < [L, 6, 3][Math.floor(i / L)]! ? 1 : 0));
  const train = async () => {
    T.manualSeed(4);
    // No attention dropout, so the fused kernels run (dropout elsewhere draws the same bits on every backend).
    const model = new BertForPreTraining(bertConfig({ vocab_size: 30, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
      intermediate_size: 64, max_position_embeddings: 16, attention_probs_dropout_prob: 0 }));
    const opt = new AdamW(model.parameters(), { lr: 3e-3 });
    const losses: number[] = [];
    let grads: Float32Array[] = [];
    for (let step = 0; step < 3; step++) {
      const out = model.forward({
        inputIds: T.fromArray(ids, [B, L], { dtype: 'int32' }), attentionMask: T.fromArray(attentionMask, [B, L]),
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
  const want = await withBackend(UNFUSED, train), got = await train();
  assert.ok(got.fused && !want.fused);
  // Relative to each gradient's largest entry: near-uniform attention at initialisation makes the key and query
  // weights' gradients tiny (1e-5), so an error relative to 1 + |x| would pass anything there. The key bias's
  // gradient is 0 up to rounding (softmax ignores a shift shared by all keys), hence the floor. Measured worst
  // errors: 8e-7 of the largest entry (2e-6 for the key bias against the floor); losses 5e-8 on the CPU, 4e-7 on WebGPU.
  got.grads.forEach((g, i) => {
    const w = want.grads[i]!, top = w.reduce((m, x) => Math.max(m, Math.abs(x)), 1e-6);
    close(g.map((x) => x / top), w.map((x) => x / top), b.tol(1e-5), `gradient of parameter ${i} (largest ${top})`);
  });
  close(got.losses, want.losses, b.tol(5e-7, { webgpu: 3e-6 }), 'BERT losses');
}, { exclude: YARDSTICK });
