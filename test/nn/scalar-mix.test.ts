// ELMo's scalar mix (src/nn/scalar-mix.ts) against AllenNLP's ScalarMix semantics, through the float64 fixture of
// scripts/gen_scalar_mix_fixtures.py: the output and the gradients of sum(output · R) with respect to the layer
// weights, gamma and every layer, without and with the masked layer norm, on every backend in float32 and float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as T from '../../src/tensor/index.js';
import { Parameter } from '../../src/nn/module.js';
import { ScalarMix } from '../../src/nn/scalar-mix.js';
import { forEachBackend, type BackendRun } from '../helpers/backends.js';

interface Case { do_layer_norm: boolean; output: number[]; grad_w: number[]; grad_gamma: number[]; grad_layers: number[][] }
interface Fixture { shape: number[]; layers: number[][]; mask: number[]; w: number[]; gamma: number[]; r: number[]; cases: Case[] }
const fx = JSON.parse(readFileSync(new URL('../fixtures/scalar-mix/scalar-mix.json', import.meta.url), 'utf8')) as Fixture;

function assertClose(what: string, got: ArrayLike<number>, want: readonly number[], tol: number): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    assert.ok(d <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]} (diff ${d}, tolerance ${tol})`);
  }
}

for (const dtype of ['float32', 'float64'] as const) {
  forEachBackend(`ScalarMix ${dtype}: output and gradients match AllenNLP's semantics, without and with the masked layer norm`, async (run: BackendRun) => {
    const tol = run.tol(dtype === 'float64' ? 1e-12 : 2e-5);
    for (const c of fx.cases) {
      const mix = new ScalarMix(fx.layers.length, { doLayerNorm: c.do_layer_norm });
      mix.setParameter('scalar_parameters', new Parameter(T.fromArray(fx.w, [fx.w.length], { dtype })));
      mix.setParameter('gamma', new Parameter(T.fromArray(fx.gamma, [1], { dtype })));
      const layers = fx.layers.map((h) => T.fromArray(h, fx.shape, { dtype }).requireGrad());
      const mask = T.fromArray(Int32Array.from(fx.mask), fx.shape.slice(0, 2), { dtype: 'int32' });
      const out = mix.forward(layers, mask);
      T.sum(T.mul(out, T.fromArray(fx.r, fx.shape, { dtype }))).backward();
      const what = `${c.do_layer_norm ? 'layer norm' : 'plain'}`;
      assertClose(`${what}: output`, await out.data(), c.output, tol);
      assertClose(`${what}: d scalar_parameters`, await mix.scalar_parameters.grad!.data(), c.grad_w, tol);
      assertClose(`${what}: d gamma`, await mix.gamma.grad!.data(), c.grad_gamma, tol);
      for (let k = 0; k < layers.length; k++) assertClose(`${what}: d layer ${k}`, await layers[k]!.grad!.data(), c.grad_layers[k]!, tol);
    }
  }, { float64: dtype === 'float64' });
}

test('ScalarMix starts at equal weights and gamma 1, refuses a wrong number of layers or initial weights', async () => {
  const mix = new ScalarMix(4);
  assert.deepEqual(Array.from(await mix.weights().data()), [0.25, 0.25, 0.25, 0.25]);
  assert.deepEqual(Array.from(await mix.gamma.data()), [1]);
  assert.throws(() => mix.forward([T.zeros([1, 2, 3])]), /got 1 tensors for 4 layers/);
  assert.throws(() => new ScalarMix(2, { initialWeights: [1, 2, 3] }), /3 initial weights for 2 layers/);
});
