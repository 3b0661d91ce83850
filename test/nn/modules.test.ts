// nn semantics beyond numerics, on every backend: PyTorch's default initialisers, train/eval modes, dropout, and
// state-dict loading.
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { Conv2d, Dropout, Embedding, LayerNorm, Linear, LSTM, Module } from '../../src/nn/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';

/** Min, max, mean and standard deviation of a tensor's values. */
async function stats(t: T.Tensor): Promise<{ min: number; max: number; mean: number; std: number }> {
  const v = await t.data();
  let min = Infinity, max = -Infinity, sum = 0, sq = 0;
  for (const x of v) { min = Math.min(min, x); max = Math.max(max, x); sum += x; sq += x * x; }
  const mean = sum / v.length;
  return { min, max, mean, std: Math.sqrt(sq / v.length - mean * mean) };
}

/**
 * U(-bound, bound), as nn.init.kaiming_uniform_(a=sqrt(5)) and PyTorch's bias init give: in range, filling it, with
 * the uniform's mean and std. Tolerances are five standard errors for the tensor's size.
 */
async function assertUniform(what: string, t: T.Tensor, bound: number): Promise<void> {
  const s = await stats(t), n = t.size;
  const want = bound / Math.sqrt(3);
  assert.ok(s.min >= -bound && s.max <= bound, `${what}: values in [${s.min}, ${s.max}] exceed ±${bound}`);
  const edge = bound * (1 - 10 / n);
  assert.ok(s.max > edge && s.min < -edge, `${what}: values in [${s.min}, ${s.max}] do not fill ±${bound}`);
  // The sample std of a uniform has a relative standard error of sqrt((kurtosis - 1) / 4n) = 0.447 / sqrt(n).
  assert.ok(Math.abs(s.std - want) < (5 * 0.447 * want) / Math.sqrt(n), `${what}: std ${s.std}, expected ${want}`);
  assert.ok(Math.abs(s.mean) < (5 * want) / Math.sqrt(n), `${what}: mean ${s.mean}, expected 0`);
}

async function assertConstant(what: string, t: T.Tensor, value: number): Promise<void> {
  assert.ok((await t.data()).every((x) => x === value), `${what}: expected every value to be ${value}`);
}

forEachBackend('Linear and Conv2d start U(±1/sqrt(fan_in)) for weights and biases, as in PyTorch', async () => {
  T.manualSeed(1);
  const lin = new Linear(256, 128);
  await assertUniform('Linear.weight', lin.weight, 1 / 16);
  await assertUniform('Linear.bias', lin.bias!, 1 / 16);
  const conv = new Conv2d(4, 64, 3);
  await assertUniform('Conv2d.weight', conv.weight, 1 / 6);
  await assertUniform('Conv2d.bias', conv.bias!, 1 / 6);
});

forEachBackend('Embedding starts N(0, 1); LayerNorm starts at ones and zeros', async () => {
  T.manualSeed(2);
  const s = await stats(new Embedding(1000, 32).weight);
  assert.ok(Math.abs(s.mean) < 0.02 && Math.abs(s.std - 1) < 0.02, `Embedding.weight mean ${s.mean}, std ${s.std}`);
  const ln = new LayerNorm(12);
  await assertConstant('LayerNorm.weight', ln.weight, 1);
  await assertConstant('LayerNorm.bias', ln.bias!, 0);
  assert.equal(new LayerNorm(12, 1e-5, false).bias, null);
});

forEachBackend('LSTM weights and biases start U(±1/sqrt(hidden)), named as in nn.LSTM', async () => {
  T.manualSeed(3);
  const lstm = new LSTM({ inputSize: 20, hiddenSize: 64, numLayers: 2, bidirectional: true });
  const names = lstm.namedParameters().map(([n]) => n);
  const expected: string[] = [];
  for (const l of [0, 1]) for (const d of ['', '_reverse']) for (const k of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']) expected.push(`${k}_l${l}${d}`);
  assert.deepEqual(names, expected);
  for (const [name, p] of lstm.namedParameters()) await assertUniform(name, p, 1 / 8);
  assert.deepEqual([...lstm.stateDict().get('weight_ih_l1_reverse')!.shape], [256, 128]);
});

forEachBackend('a reverse LSTM is the backward half of a bidirectional one, read within each length, with or without a projection', async () => {
  for (const projSize of [undefined, 3]) {
    T.manualSeed(4);
    const bi = new LSTM({ inputSize: 5, hiddenSize: 4, bidirectional: true, projSize });
    const back = new LSTM({ inputSize: 5, hiddenSize: 4, reverse: true, projSize });
    const state = new Map(bi.namedParameters().filter(([n]) => n.endsWith('_reverse')).map(([n, p]) => [n.replace('_reverse', ''), p as T.Tensor]));
    back.loadStateDict(state);
    const x = T.randn([3, 6, 5]);
    const lengths = [6, 2, 4];
    const want = T.split(bi.forward(x, { lengths }).output, projSize ?? 4, -1)[1]!;
    const got = back.forward(x, { lengths });
    const [a, b] = [await got.output.data(), await want.data()];
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-5, `output ${i}: ${v} vs ${b[i]}`));
    const h = await got.h.data(), hb = await T.slice(bi.forward(x, { lengths }).h, 0, 1, 2).data();
    h.forEach((v, i) => assert.ok(Math.abs(v - hb[i]!) < 1e-5, `final state ${i}`));
  }
  assert.throws(() => new LSTM({ inputSize: 2, hiddenSize: 2, reverse: true, bidirectional: true }), /unidirectional/);
});

forEachBackend('dropout zeroes a fraction p and scales the rest by 1/(1-p) in training, and is the identity in eval', async () => {
  T.manualSeed(5);
  const drop = new Dropout(0.25);
  const x = T.ones([100_000]);
  const y = await drop.forward(x).data();
  const zeros = y.filter((v) => v === 0).length / y.length;
  assert.ok(Math.abs(zeros - 0.25) < 0.01, `dropped fraction ${zeros}`);
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6), 'kept values are scaled by 1/(1-p)');
  drop.eval();
  assert.equal(drop.forward(x), x);
});

forEachBackend('train() and eval() reach every nested module, so a GPT with dropout is deterministic in eval', async () => {
  T.manualSeed(6);
  const gpt = new GPT(gptConfig({ vocab_size: 13, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2, resid_pdrop: 0.5, embd_pdrop: 0.5, attn_pdrop: 0.5 }));
  const ids = T.fromArray(Int32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], { dtype: 'int32' });
  const logits = async () => gpt.forward({ inputIds: ids }).logits.data();
  assert.ok(gpt.namedModules().every(([, m]) => m.training));
  gpt.eval();
  assert.ok(gpt.namedModules().every(([, m]) => !m.training));
  assert.deepEqual(await logits(), await logits());
  gpt.train();
  assert.ok(gpt.transformer.h[1]!.attn.training && gpt.transformer.h[1]!.mlp.dropout.training);
  assert.notDeepEqual(await logits(), await logits());
});

class Net extends Module {
  encoder = new Linear(3, 4);
  blocks = [new LayerNorm(4), new LayerNorm(4)];
  head = new Linear(4, 2, false);
}

forEachBackend('stateDict and loadStateDict round-trip by name; mismatches name the key', async () => {
  T.manualSeed(7);
  const a = new Net(), b = new Net();
  assert.deepEqual([...a.stateDict().keys()], ['encoder.weight', 'encoder.bias', 'blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias', 'head.weight']);
  b.loadStateDict(a.stateDict());
  for (const [name, p] of b.namedParameters()) {
    assert.deepEqual(await p.data(), await a.stateDict().get(name)!.data(), name);
    assert.ok(p.requiresGrad, `${name} stays trainable after loading`);
  }
  const missing = new Map(a.stateDict());
  missing.delete('blocks.1.bias');
  assert.throws(() => b.loadStateDict(missing), /missing keys \[blocks\.1\.bias\]/);
  assert.deepEqual(b.loadStateDict(missing, false), { missing: ['blocks.1.bias'], unexpected: [] });
  const extra = new Map(a.stateDict()).set('head.bias', T.zeros([2]));
  assert.throws(() => b.loadStateDict(extra), /unexpected keys \[head\.bias\]/);
  const wrong = new Map(a.stateDict()).set('encoder.weight', T.zeros([3, 4]));
  assert.throws(() => b.loadStateDict(wrong), /'encoder\.weight' has shape \[3, 4\] in the state but \[4, 3\] in the model/);
});
