// Small GPT and BERT models train for a few AdamW steps to the same losses on every backend as on the reference
// backend without fused kernels (the composite definitions), dropout included.
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { AdamW } from '../../src/optim/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { UNFUSED, forEachBackend, withBackend, type BackendRun } from '../helpers/backends.js';

const rng = new T.Generator(11);
const randi = (shape: number[], n: number) => Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(rng.random() * n));

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0, at = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!));
    if (!(e <= worst)) { worst = e; at = i; }
  }
  assert.ok(worst <= tol, `${what}[${at}]: got ${got[at]}, want ${want[at]} (error ${worst}, tolerance ${tol})`);
}

/** Measured worst errors of the losses: 6e-8 on the CPU backends, 5e-7 on WebGPU (lavapipe); the bounds leave 6-8x. */
const lossTol = (b: BackendRun) => b.tol(5e-7, { webgpu: 3e-6 });

forEachBackend('a small GPT trains to the same losses as on the reference backend (dropout included)', async (b) => {
  const tokens = randi([2, 9], 40);
  const train = async () => {
    T.manualSeed(5); // identical initial weights and dropout masks
    const model = new GPT(gptConfig({ vocab_size: 40, n_positions: 16, n_embd: 32, n_layer: 2, n_head: 2 }));
    const opt = new AdamW(model.parameters(), { lr: 3e-3 });
    const x = T.fromArray(tokens, [2, 9], { dtype: 'int32' });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const loss = model.forward({ inputIds: x.slice(1, 0, 8), targets: x.slice(1, 1, 9) }).loss!;
      opt.zeroGrad(); loss.backward(); opt.step();
      losses.push(await loss.item());
    }
    return losses;
  };
  const want = await withBackend(UNFUSED, train);
  close(await train(), want, 'GPT losses', lossTol(b));
});

forEachBackend('a small BERT (MLM + NSP) trains to the same losses as on the reference backend', async (b) => {
  const ids = randi([2, 8], 30), nsp = randi([2], 2);
  const labels = Int32Array.from(ids, (id, i) => (i % 3 === 0 ? id : -100));
  const train = async () => {
    T.manualSeed(8);
    const model = new BertForPreTraining(bertConfig({ vocab_size: 30, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
      intermediate_size: 64, max_position_embeddings: 16 }));
    const opt = new AdamW(model.parameters(), { lr: 3e-3 });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const out = model.forward({
        inputIds: T.fromArray(ids, [2, 8], { dtype: 'int32' }), mlmLabels: T.fromArray(labels, [2, 8], { dtype: 'int32' }),
        nextSentenceLabels: T.fromArray(nsp, [2], { dtype: 'int32' }),
      });
      opt.zeroGrad(); out.loss!.backward(); opt.step();
      losses.push(await out.loss!.item());
    }
    return losses;
  };
  const want = await withBackend(UNFUSED, train);
  close(await train(), want, 'BERT losses', lossTol(b));
});
