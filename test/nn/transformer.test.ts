// The shared Transformer parts: the activation table, multi-head attention (self and cross, causal, masked, with a
// key/value cache) against attention written out head by head, and the cache against recomputation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { ACTIVATIONS, activation } from '../../src/nn/index.js';
import { BertSelfAttention, bertConfig } from '../../src/models/bert.js';
import { GPT2Attention, gptConfig } from '../../src/models/gpt.js';
import { TorchMultiheadAttention } from './torch-modules.js';

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

test('activations follow transformers\' ACT2FN formulas; unknown names list the known ones', async () => {
  const xs = [-3, -1.2, -0.3, 0, 0.4, 1.1, 2.5];
  const x = T.tensor(xs);
  const erf = (v: number) => { // Abramowitz-Stegun 7.1.26 is too coarse; integrate instead
    let s = 0; const n = 20000; for (let i = 0; i < n; i++) { const t = (v * (i + 0.5)) / n; s += Math.exp(-t * t); } return (2 / Math.sqrt(Math.PI)) * s * (v / n);
  };
  const want: Record<string, (v: number) => number> = {
    gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
    gelu_new: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    gelu_fast: (v) => 0.5 * v * (1 + Math.tanh(0.7978845608 * v * (1 + 0.044715 * v * v))),
    gelu_pytorch_tanh: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    quick_gelu: (v) => v / (1 + Math.exp(-1.702 * v)),
    relu: (v) => Math.max(0, v),
    silu: (v) => v / (1 + Math.exp(-v)),
    swish: (v) => v / (1 + Math.exp(-v)),
    tanh: Math.tanh,
    sigmoid: (v) => 1 / (1 + Math.exp(-v)),
    linear: (v) => v,
  };
  assert.deepEqual(Object.keys(ACTIVATIONS).sort(), Object.keys(want).sort());
  for (const [name, f] of Object.entries(want)) close(await activation(name)(x).data(), xs.map(f), name, 1e-5);
  assert.throws(() => activation('gelu_tanh'), /unknown activation 'gelu_tanh' \(known: gelu, gelu_new, .*linear\)/);
});

/** Attention written out per batch item and head: softmax(q kᵀ / sqrt(D), masked) v. */
async function naiveAttention(q: T.Tensor, k: T.Tensor, v: T.Tensor, heads: number, o: { mask?: number[][]; causal?: boolean }): Promise<number[]> {
  const [B, Tq, C] = q.shape as [number, number, number];
  const Tk = k.shape[1]!, D = C / heads;
  const [qd, kd, vd] = [await q.data(), await k.data(), await v.data()];
  const out = new Array<number>(B * Tq * C).fill(0);
  for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < Tq; i++) {
    const scores: number[] = [];
    for (let j = 0; j < Tk; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += qd[(b * Tq + i) * C + h * D + d]! * kd[(b * Tk + j) * C + h * D + d]!;
      const hidden = (o.mask && o.mask[b]![j] === 0) || (o.causal && j > i + Tk - Tq);
      scores.push(hidden ? -Infinity : s / Math.sqrt(D));
    }
    const m = Math.max(...scores);
    const w = scores.map((s) => Math.exp(s - m));
    const z = w.reduce((a, c) => a + c, 0);
    for (let j = 0; j < Tk; j++) for (let d = 0; d < D; d++) out[(b * Tq + i) * C + h * D + d] += (w[j]! / z) * vd[(b * Tk + j) * C + h * D + d]!;
  }
  return out;
}

test('cross-attention attends to the source, hides its padding, and reuses cached keys and values', async () => {
  T.manualSeed(21);
  const cfg = bertConfig({ hidden_size: 12, num_attention_heads: 3, attention_probs_dropout_prob: 0 });
  const attn = new BertSelfAttention(cfg).eval();
  const x = T.randn([2, 3, 12]), source = T.randn([2, 5, 12]);
  const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]];
  const attentionMask = T.tensor(mask);
  const { context, cache } = attn.attend(x, { source, attentionMask });
  assert.deepEqual(cache.key.shape, [2, 3, 5, 4], 'the cache holds the source\'s keys, [B, H, Tk, D]');
  const want = await naiveAttention(attn.query.forward(x), attn.key.forward(source), attn.value.forward(source), 3, { mask });
  close(await context.data(), want, 'cross-attention');
  // a later decoding step: new queries, the source's keys and values from the cache
  const x2 = T.randn([2, 1, 12]);
  const again = attn.attend(x2, { source: T.zeros([2, 5, 12]), attentionMask, past: cache });
  close(await again.context.data(), await naiveAttention(attn.query.forward(x2), attn.key.forward(source), attn.value.forward(source), 3, { mask }), 'cached cross-attention');
  assert.equal(again.cache, cache);
});

test('causal self-attention decoded one position at a time with the cache equals the whole sequence at once', async () => {
  T.manualSeed(22);
  const mha = new TorchMultiheadAttention(8, 2).eval();
  const x = T.randn([2, 6, 8]);
  const full = await mha.attend(x, { causal: true }).context.data();
  let past;
  const steps: number[] = [];
  for (let t = 0; t < 6; t++) {
    const { context, cache } = mha.attend(T.slice(x, 1, t, t + 1), { causal: true, past });
    past = cache;
    steps.push(...await context.data());
  }
  assert.deepEqual(past!.key.shape, [2, 2, 6, 4]);
  // steps are [t][b][c]; the full output is [b][t][c]
  const reordered = Array.from({ length: 2 * 6 * 8 }, (_, i) => {
    const b = Math.floor(i / 48), t = Math.floor((i % 48) / 8), c = i % 8;
    return steps[t * 16 + b * 8 + c]!;
  });
  close(reordered, full, 'incremental');
  const q = T.linear(x, mha.in_proj_weight.slice(0, 0, 8), mha.in_proj_bias.slice(0, 0, 8));
  const k = T.linear(x, mha.in_proj_weight.slice(0, 8, 16), mha.in_proj_bias.slice(0, 8, 16));
  const v = T.linear(x, mha.in_proj_weight.slice(0, 16, 24), mha.in_proj_bias.slice(0, 16, 24));
  close(full, await naiveAttention(q, k, v, 2, { causal: true }), 'causal');
});

test('a self-attention-only layer refuses a source with a clear error', () => {
  const attn = new GPT2Attention(gptConfig({ n_embd: 8, n_head: 2, n_layer: 1 }));
  assert.throws(() => attn.attend(T.zeros([1, 2, 8]), { source: T.zeros([1, 3, 8]) }), /GPT2Attention: this layer has no cross-attention projections/);
});
