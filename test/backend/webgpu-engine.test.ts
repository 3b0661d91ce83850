// The engine (ops, autograd, an optimizer step) with the WebGPU backend selected, against the same code on the
// reference backend: forward values and every input's gradient, on random inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { setBackend } from '../../src/backend/registry.js';
import { AdamW } from '../../src/optim/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openWebGPU } from './webgpu-helpers.js';

const { skip } = await openWebGPU();

/** Host inputs: float arrays with shapes, or int32 arrays (marked) that never require grad. */
type Input = { shape: number[]; data: Float32Array | Int32Array };
const rng = new T.Generator(11);
const randf = (shape: number[], lo = -1, hi = 1): Input =>
  ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * rng.random()) });
const randi = (shape: number[], n: number): Input =>
  ({ shape, data: Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(rng.random() * n)) });

/** Runs f on `backend` from the same host inputs; returns the output's values and each float input's gradient. */
async function run(backend: string, inputs: Input[], f: (...xs: T.Tensor[]) => T.Tensor) {
  setBackend(backend);
  T.manualSeed(3); // dropout and other draws see the same keys on both backends
  const xs = inputs.map((x) => x.data instanceof Int32Array
    ? T.fromArray(x.data, x.shape, { dtype: 'int32' })
    : T.fromArray(x.data, x.shape, { requiresGrad: true }));
  const y = f(...xs);
  // A fixed random weighting makes every output element matter to the gradient.
  const w = T.fromArray(Float32Array.from({ length: y.size }, (_, i) => Math.sin(i * 1.7) + 0.1), y.shape);
  T.sum(T.mul(y, w)).backward();
  return { y: await y.data(), grads: await Promise.all(xs.map((x) => (x.grad ? x.grad.data() : null))) };
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!));
    assert.ok(e <= tol, `${what}[${i}]: got ${got[i]}, want ${want[i]} (error ${e})`);
  }
}

const cases: [string, Input[], (...xs: T.Tensor[]) => T.Tensor][] = [
  ['broadcast add/mul/div/pow', [randf([3, 4, 5], 0.2, 2), randf([4, 1], 0.5, 2)], (a, b) => T.pow(T.div(T.mul(T.add(a, b), a), b), b)],
  ['maximum/minimum/where', [randf([6, 7]), randf([7])], (a, b) => T.where(T.gt(a, 0), T.maximum(a, b), T.minimum(a, b))],
  ['unary chain', [randf([5, 9], 0.2, 2)], (x) => T.add(T.add(x.exp().log().sqrt(), x.tanh()), T.add(x.sigmoid(), x.relu()))],
  ['gelu (erf and tanh)', [randf([4, 33], -3, 3)], (x) => T.add(T.gelu(x), T.gelu(x, 'tanh'))],
  ['matmul with transposes, batched', [randf([2, 7, 5]), randf([2, 9, 5])], (a, b) => T.matmul(a, T.transpose(b, 1, 2))],
  ['sum/mean/max/variance over axes', [randf([4, 5, 6])], (x) => T.add(T.add(T.sum(x, 1), T.mean(x, 1)), T.add(T.max(x, 1), T.variance(x, 1)))],
  ['softmax and logSoftmax', [randf([6, 40], -4, 4)], (x) => T.add(T.softmax(x), T.logSoftmax(x))],
  ['layer norm', [randf([5, 64]), randf([64]), randf([64])], (x, w, b) => T.layerNorm(x, w, b)],
  ['cross-entropy with ignored targets', [randf([8, 30], -3, 3), { shape: [8], data: Int32Array.from([1, 5, -100, 29, 0, 7, 7, 12]) }],
    (x, t) => T.crossEntropy(x, t)],
  ['embedding (gather and scatter-add)', [randf([20, 8]), randi([3, 10], 20)], (w, ids) => T.embedding(w, ids)],
  ['causal attention', [randf([2, 2, 6, 8]), randf([2, 2, 6, 8]), randf([2, 2, 6, 8])],
    (q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: true })],
  ['slice, permute, concat, split', [randf([4, 6, 5])], (x) => {
    const [a, b] = T.split(T.permute(x, [2, 0, 1]), [2, 3], 0);
    return T.concat([T.slice(b!, 1, 1, 3), a!.slice(1, 0, 2)], 0);
  }],
  ['dropout (same draws on both backends)', [randf([10, 10])], (x) => T.dropout(x, 0.3)],
];

for (const [name, inputs, f] of cases) {
  test(`webgpu engine: ${name}`, { skip }, async () => {
    const want = await run('cpu-reference', inputs, f);
    const got = await run('webgpu', inputs, f);
    close(got.y, want.y, `${name} value`, 2e-5);
    got.grads.forEach((g, i) => {
      const w = want.grads[i];
      assert.equal(g === null, w === null, `${name}: input ${i} has a gradient on one backend only`);
      if (g && w) close(g, w, `${name} grad ${i}`, 5e-5);
    });
  });
}

test('webgpu engine: an MLP trains with AdamW and its parameters stay on the device', { skip }, async () => {
  const x = randf([16, 12]), w1 = randf([12, 32]), w2 = randf([32, 4]), tgt = randi([16], 4);
  const train = async (backend: string) => {
    setBackend(backend);
    const X = T.fromArray(x.data, x.shape), Y = T.fromArray(tgt.data, tgt.shape, { dtype: 'int32' });
    const p1 = T.fromArray(w1.data, w1.shape, { requiresGrad: true }), p2 = T.fromArray(w2.data, w2.shape, { requiresGrad: true });
    const opt = new AdamW([p1, p2], { lr: 1e-2 });
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      opt.zeroGrad();
      const loss = T.crossEntropy(T.matmul(T.gelu(T.matmul(X, p1)), p2), Y);
      loss.backward();
      opt.step();
      losses.push(await loss.item());
    }
    return { losses, p1: await p1.data() };
  };
  const want = await train('cpu-reference');
  const got = await train('webgpu');
  close(got.losses, want.losses, 'losses', 1e-5);
  close(got.p1, want.p1, 'trained weights', 1e-5);
  assert.ok(got.losses[4]! < got.losses[0]!, 'loss decreases');
});

test('webgpu engine: a small GPT trains to the same losses as on the reference backend (dropout included)', { skip }, async () => {
  const tokens = randi([2, 9], 40);
  const train = async (backend: string) => {
    setBackend(backend);
    T.manualSeed(5); // identical initial weights and dropout masks
    const model = new GPT(gptConfig({ vocab_size: 40, n_positions: 16, n_embd: 32, n_layer: 2, n_head: 2 }));
    const opt = new AdamW(model.parameters(), { lr: 3e-3 });
    const x = T.fromArray(tokens.data, tokens.shape, { dtype: 'int32' });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const loss = model.forward({ inputIds: x.slice(1, 0, 8), targets: x.slice(1, 1, 9) }).loss!;
      opt.zeroGrad(); loss.backward(); opt.step();
      losses.push(await loss.item());
    }
    return losses;
  };
  const want = await train('cpu-reference');
  close(await train('webgpu'), want, 'GPT losses', 1e-4);
});

test('webgpu engine: a small BERT (MLM + NSP) trains to the same losses as on the reference backend', { skip }, async () => {
  const ids = randi([2, 8], 30), nsp = randi([2], 2);
  const labels = Int32Array.from(ids.data, (id, i) => (i % 3 === 0 ? id : -100));
  const train = async (backend: string) => {
    setBackend(backend);
    T.manualSeed(8);
    const model = new BertForPreTraining(bertConfig({ vocab_size: 30, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
      intermediate_size: 64, max_position_embeddings: 16 }));
    const opt = new AdamW(model.parameters(), { lr: 3e-3 });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const out = model.forward({
        inputIds: T.fromArray(ids.data, ids.shape, { dtype: 'int32' }), mlmLabels: T.fromArray(labels, ids.shape, { dtype: 'int32' }),
        nextSentenceLabels: T.fromArray(nsp.data, nsp.shape, { dtype: 'int32' }),
      });
      opt.zeroGrad(); out.loss!.backward(); opt.step();
      losses.push(await out.loss!.item());
    }
    return losses;
  };
  const want = await train('cpu-reference');
  close(await train('webgpu'), want, 'BERT losses', 1e-4);
});

test('webgpu engine: device memory stays flat over many training steps with no dispose calls', { skip }, async () => {
  setFlagsFromString('--expose-gc'); // the test runner does not pass it
  const gc = runInNewContext('gc') as () => void;
  const settle = async () => { for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setImmediate(r)); } };
  setBackend('webgpu');
  const gpu = (await openWebGPU()).gpu!;
  T.manualSeed(2);
  const model = new GPT(gptConfig({ vocab_size: 40, n_positions: 16, n_embd: 32, n_layer: 1, n_head: 2 }));
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const x = T.fromArray(randi([4, 9], 40).data, [4, 9], { dtype: 'int32' });
  const step = async () => {
    const loss = model.forward({ inputIds: x.slice(1, 0, 8), targets: x.slice(1, 1, 9) }).loss!;
    opt.zeroGrad(); loss.backward(); opt.step();
    await loss.item();
  };
  for (let i = 0; i < 5; i++) await step();
  await settle();
  const warm = gpu.memory().liveBytes;
  for (let i = 0; i < 30; i++) await step();
  await settle();
  const after = gpu.memory().liveBytes;
  // Layer norm statistics and cross-entropy's log-sum-exp reach no tensor; they must be freed too.
  assert.ok(after <= warm * 1.05, `live device bytes grew from ${warm} to ${after} over 30 steps`);
});
