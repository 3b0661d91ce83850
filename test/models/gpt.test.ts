import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { AdamW } from '../../src/optim/index.js';
import { generate, sampleToken, applyRepetitionPenalty } from '../../src/tasks/generate.js';

function tinyGPT(seed = 0) {
  T.manualSeed(seed);
  return new GPT(gptConfig({ vocab_size: 23, n_positions: 12, n_embd: 16, n_layer: 2, n_head: 2, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 })).eval();
}

const ids = (rows: number[][]) => T.fromArray(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'int32' });

async function close(a: T.Tensor, b: T.Tensor, tol = 1e-5) {
  const x = await a.data(), y = await b.data();
  assert.equal(x.length, y.length);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= tol * (1 + Math.abs(y[i]!)), `index ${i}: ${x[i]} vs ${y[i]}`);
}

test('GPT parameter names are Hugging Face GPT2LMHeadModel keys', () => {
  const names = tinyGPT().namedParameters().map(([n]) => n);
  for (const key of ['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.h.0.ln_1.weight', 'transformer.h.0.attn.c_attn.weight',
    'transformer.h.0.attn.c_proj.bias', 'transformer.h.1.mlp.c_fc.weight', 'transformer.h.1.mlp.c_proj.weight', 'transformer.ln_f.bias']) {
    assert.ok(names.includes(key), key);
  }
  // Conv1D keeps GPT-2's [in, out] layout.
  const p = new Map(tinyGPT().namedParameters());
  assert.deepEqual(p.get('transformer.h.0.attn.c_attn.weight')!.shape, [16, 48]);
});

test('bias false (nanoGPT) drops every bias and still trains; the default keeps them', async () => {
  T.manualSeed(1);
  const m = new GPT(gptConfig({ vocab_size: 23, n_positions: 12, n_embd: 16, n_layer: 2, n_head: 2, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, bias: false }));
  const names = m.namedParameters().map(([n]) => n);
  assert.deepEqual(names.filter((n) => n.endsWith('.bias')), []);
  // Per block: c_attn, c_proj, c_fc, c_proj weights and two LayerNorm gains; plus wte, wpe and ln_f.
  assert.equal(names.length, 2 * 6 + 3);
  assert.equal(tinyGPT().namedParameters().filter(([n]) => n.endsWith('.bias')).length, 2 * 6 + 1);
  const x = ids([[1, 2, 3, 4, 5, 6]]), y = ids([[2, 3, 4, 5, 6, 7]]);
  const loss0 = await m.forward({ inputIds: x, targets: y }).loss!.item();
  const opt = new AdamW(m.parameters(), { lr: 1e-2 });
  for (let i = 0; i < 20; i++) {
    m.forward({ inputIds: x, targets: y }).loss!.backward();
    opt.step();
    opt.zeroGrad();
  }
  assert.ok((await m.forward({ inputIds: x, targets: y }).loss!.item()) < loss0 - 1);
});

test('GPT is causal: a later token does not change earlier logits', async () => {
  const m = tinyGPT();
  const a = T.noGrad(() => m.forward({ inputIds: ids([[1, 2, 3, 4]]) }).logits);
  const b = T.noGrad(() => m.forward({ inputIds: ids([[1, 2, 3, 9]]) }).logits);
  await close(a.slice(1, 0, 3), b.slice(1, 0, 3));
  assert.notDeepEqual(Array.from(await a.slice(1, 3, 4).data()), Array.from(await b.slice(1, 3, 4).data()));
});

test('GPT with a KV cache gives the same logits as a full pass', async () => {
  const m = tinyGPT();
  const full = T.noGrad(() => m.forward({ inputIds: ids([[5, 6, 7, 8, 9]]) }).logits);
  const first = T.noGrad(() => m.forward({ inputIds: ids([[5, 6, 7]]) }));
  const second = T.noGrad(() => m.forward({ inputIds: ids([[8, 9]]), past: first.cache }));
  await close(second.logits, full.slice(1, 3, 5));
});

test('GPT returns n_layer + 1 hidden states and a loss that falls when trained', async () => {
  const m = tinyGPT();
  m.train();
  const x = ids([[1, 2, 3, 4, 5, 6, 7, 8]]), y = ids([[2, 3, 4, 5, 6, 7, 8, 9]]);
  const out = m.forward({ inputIds: x, targets: y, outputHiddenStates: true });
  assert.equal(out.hiddenStates!.length, 3);
  const first = await out.loss!.item();
  assert.ok(Math.abs(first - Math.log(23)) < 0.5, `initial loss ${first} should be near ln(23)`);
  let last = first;
  for (let i = 0; i < 30; i++) {
    for (const p of m.parameters()) p.grad = null;
    const loss = m.forward({ inputIds: x, targets: y }).loss!;
    loss.backward();
    T.noGrad(() => m.namedParameters().forEach(([name, p]) => m.setParameter(name, new (p.constructor as any)(p.sub(p.grad!.mul(0.1))))));
    last = await loss.item();
  }
  assert.ok(last < first * 0.5, `loss ${first} -> ${last}`);
});

test('greedy generation equals repeated argmax over full passes', async () => {
  const m = tinyGPT(3);
  const got = await generate(m, [1, 2, 3], { maxNewTokens: 6 });
  const seq = [1, 2, 3];
  for (let i = 0; i < 6; i++) {
    const logits = T.noGrad(() => m.forward({ inputIds: ids([seq]) }).logits);
    seq.push(await T.argmax(logits.slice(1, seq.length - 1, seq.length), -1).item());
  }
  assert.deepEqual(got, seq.slice(3));
});

test('generation past the context window slides the window', async () => {
  const m = tinyGPT(4);
  const got = await generate(m, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { maxNewTokens: 8 });
  assert.equal(got.length, 8);
});

test('beam search scores at least as well as greedy', async () => {
  const m = tinyGPT(5);
  const prompt = [3, 1, 4];
  const score = async (cont: number[]) => {
    const seq = [...prompt, ...cont];
    const logp = T.noGrad(() => T.logSoftmax(m.forward({ inputIds: ids([seq]) }).logits, -1));
    const data = await logp.data();
    let s = 0;
    for (let i = prompt.length; i < seq.length; i++) s += data[(i - 1) * 23 + seq[i]!]!;
    return s;
  };
  const greedy = await generate(m, prompt, { maxNewTokens: 4 });
  const beam = await generate(m, prompt, { maxNewTokens: 4, numBeams: 4 });
  assert.equal(beam.length, 4);
  assert.ok((await score(beam)) >= (await score(greedy)) - 1e-6);
});

test('sampling: top-k 1 is greedy, temperature and top-p restrict the support', () => {
  const logits = Float32Array.from([0.1, 2, 0.5, 1.9, -1]);
  assert.equal(sampleToken(logits, { topK: 1 }), 1);
  const gen = new T.Generator(7);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(sampleToken(logits, { topP: 0.6, generator: gen }));
  assert.deepEqual([...seen].sort(), [1, 3]);
  for (let i = 0; i < 200; i++) seen.add(sampleToken(logits, { temperature: 1, generator: gen }));
  assert.equal(seen.size, 5);
  const row = Float32Array.from([2, -2, 1]);
  applyRepetitionPenalty(row, [0, 1], 2);
  assert.deepEqual(Array.from(row), [1, -4, 1]);
});

test('stop strings end generation before the stop string', async () => {
  const m = tinyGPT(6);
  const decode = (xs: number[]) => xs.map((x) => String.fromCharCode(97 + x)).join('');
  const free = await generate(m, [1, 2], { maxNewTokens: 8 });
  const stop = decode(free.slice(2, 4));
  const got = await generate(m, [1, 2], { maxNewTokens: 8, stopStrings: [stop], decode });
  assert.ok(!decode(got).includes(stop));
  assert.deepEqual(got, free.slice(0, got.length));
});
