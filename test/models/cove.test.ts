// CoVe's translation model (src/models/cove.ts): the logits, loss and every gradient against the PyTorch model of
// scripts/gen_cove_fixture.py (test/fixtures/cove/cove.json), with and without input feeding; shapes; padding that
// changes nothing; GloVe kept fixed; and a save/load round trip as a model directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoveModel, coveConfig, type CoveConfig } from '../../src/models/cove.js';
import { loadPretrained, savePretrained } from '../../src/models/pretrained.js';
import { defaultOptimizer, trainConfig, LOOP_DEFAULTS } from '../../src/tasks/trainer.js';
import { noGrad } from '../../src/tensor/autograd.js';
import * as ops from '../../src/tensor/ops.js';
import { manualSeed } from '../../src/tensor/random.js';
import type { Tensor } from '../../src/tensor/tensor.js';

interface Case { input_feeding: boolean; weights: Record<string, { shape: number[]; data: number[] }>; logits: number[]; loss: number; grads: Record<string, number[]> }
interface Fixture { config: Omit<CoveConfig, 'input_feeding'>; source_ids: number[][]; source_lengths: number[]; target_ids: number[][]; labels: number[][]; cases: Case[] }
const fx = JSON.parse(readFileSync(new URL('../fixtures/cove/cove.json', import.meta.url), 'utf8')) as Fixture;

const ids = (rows: number[][]) => ops.fromArray(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'int32' });
const maskOf = (lengths: number[], S: number) => ops.fromArray(lengths.flatMap((n) => Array.from({ length: S }, (_, t) => (t < n ? 1 : 0))), [lengths.length, S]);

function assertClose(what: string, got: ArrayLike<number>, want: readonly number[], tol: number): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    assert.ok(d <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]} (diff ${d})`);
  }
}

for (const c of fx.cases) {
  test(`CoVe ${c.input_feeding ? 'with' : 'without'} input feeding: logits, loss and every gradient match the PyTorch model`, async () => {
    const model = new CoveModel(coveConfig({ ...fx.config, input_feeding: c.input_feeding }));
    model.loadStateDict(new Map(Object.entries(c.weights).map(([k, w]) => [k, ops.fromArray(w.data, w.shape)])));
    const S = fx.source_ids[0]!.length;
    const out = model.forward({ sourceIds: ids(fx.source_ids), sourceMask: maskOf(fx.source_lengths, S), targetIds: ids(fx.target_ids), labels: ids(fx.labels) });
    assertClose('logits', await out.logits.data(), c.logits, 2e-5);
    assertClose('loss', [await out.loss!.item()], [c.loss], 2e-5);
    out.loss!.backward();
    const params = new Map(model.namedParameters());
    assert.deepEqual([...params.keys()].filter((k) => params.get(k)!.requiresGrad).sort(), Object.keys(c.grads).sort());
    for (const [name, grad] of Object.entries(c.grads)) assertClose(`d ${name}`, await params.get(name)!.grad!.data(), grad, 1e-4);
    assert.equal(model.encoder.embeddings.weight.grad, null, 'GloVe is fixed: no gradient');
  });
}

const tiny = (inputFeeding = true) => {
  manualSeed(9);
  return new CoveModel(coveConfig({ source_vocab_size: 12, embedding_size: 4, hidden_size: 3, target_vocab_size: 8, target_embedding_size: 5, dropout: 0, input_feeding: inputFeeding }));
};

test('CoVe shapes: logits [B, T, V]; the MT-LSTM gives GloVe [B, S, d] and two layers [B, S, 2·hidden]; the decoder starts from [layers, B, 2·hidden]', () => {
  const model = tiny();
  const src = ids([[3, 4, 5], [6, 7, 0]]), mask = maskOf([3, 2], 3);
  const out = noGrad(() => model.forward({ sourceIds: src, sourceMask: mask, targetIds: ids([[1, 3, 4, 5], [1, 6, 2, 2]]) }));
  assert.deepEqual(out.logits.shape, [2, 4, 8]);
  assert.equal(out.loss, undefined);
  const enc = noGrad(() => model.encoder.forward(src, mask));
  assert.deepEqual(enc.glove.shape, [2, 3, 4]);
  assert.deepEqual(enc.layers.map((l) => l.shape), [[2, 3, 6], [2, 3, 6]]);
  const { state } = noGrad(() => model.encode(src, mask));
  assert.deepEqual([state.h.shape, state.c.shape, state.feed.shape], [[2, 2, 6], [2, 2, 6], [2, 6]]);
});

for (const feeding of [true, false]) {
  test(`CoVe ${feeding ? 'with' : 'without'} input feeding: a sentence scores the same alone and padded in a batch, whatever the padding holds`, async () => {
    const model = tiny(feeding).eval();
    const run = (src: number[][], lengths: number[], tgt: number[][]): Promise<Float32Array> => {
      const out = noGrad(() => model.forward({ sourceIds: ids(src), sourceMask: maskOf(lengths, src[0]!.length), targetIds: ids(tgt) }).logits);
      return out.data() as Promise<Float32Array>;
    };
    const alone = await run([[6, 7]], [2], [[1, 3, 4]]);
    for (const pad of [0, 9]) {
      const batched = await run([[3, 4, 5, 8, 10], [6, 7, pad, pad, pad]], [5, 2], [[1, 5, 5], [1, 3, 4]]);
      assertClose(`padding with ${pad}`, batched.subarray(alone.length), Array.from(alone), 1e-5);
    }
    // teacher forcing and one step at a time (the decoding path) agree
    const { source, state } = noGrad(() => model.encode(ids([[6, 7]]), maskOf([2], 2)));
    let s = state;
    const steps: Tensor[] = [];
    for (const w of [1, 3, 4]) {
      const r = noGrad(() => model.decoder.forward(ids([[w]]), source, s));
      s = r.state;
      steps.push(noGrad(() => model.decoder.logits(r.hTilde)));
    }
    assertClose('step by step', await ops.concat(steps, 1).data(), Array.from(alone), 1e-5);
  });
}

test('CoVe keeps GloVe fixed: setGlove puts the vectors in, and the default optimizer leaves them out', async () => {
  const model = tiny();
  const vectors = Float32Array.from({ length: 12 * 4 }, (_, i) => i / 10);
  model.setGlove(vectors);
  assert.deepEqual(await model.encoder.embeddings.weight.data(), vectors);
  assert.equal(model.encoder.embeddings.weight.requiresGrad, false);
  const opt = defaultOptimizer(model, trainConfig({ ...LOOP_DEFAULTS, maxSteps: 1, lr: 1e-3, minLrRate: 0, warmupSteps: 0, schedule: 'constant', weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 }));
  const optimised = new Set(opt.paramGroups.flatMap((g) => g.params));
  assert.ok(!optimised.has(model.encoder.embeddings.weight));
  assert.equal(optimised.size, model.parameters().length - 1);
  assert.throws(() => model.setGlove(new Float32Array(5)), /5 values for 12 words × 4/);
});

test('coveConfig rejects bad sizes and dropout; a CoVe model saves as a model directory (model_type cove) and loads back, GloVe still fixed', async () => {
  assert.throws(() => coveConfig({ hidden_size: 0 }), /hidden_size must be a positive integer/);
  assert.throws(() => coveConfig({ target_vocab_size: 2 }), /room for <unk>, <s> and <\/s>/);
  assert.throws(() => coveConfig({ dropout: 1 }), /dropout must be in \[0, 1\)/);
  const dir = mkdtempSync(join(tmpdir(), 'cove-'));
  try {
    const model = tiny(false).eval();
    await savePretrained(model, dir);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([config.model_type, config.architectures, config.input_feeding], ['cove', ['CoveModel'], false]);
    const { model: loaded } = await loadPretrained(dir);
    assert.ok(loaded instanceof CoveModel);
    assert.equal(loaded.encoder.embeddings.weight.requiresGrad, false);
    const inputs = { sourceIds: ids([[3, 4]]), sourceMask: maskOf([2], 2), targetIds: ids([[1, 5]]) };
    assert.deepEqual(await noGrad(() => loaded.forward(inputs).logits).data(), await noGrad(() => model.forward(inputs).logits).data());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
