// The playground's own computations, in Node: the GPT attention weights it recomputes for the heat-map reproduce the
// model's attention output, and its PCA finds the axes of points laid out along known directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { models, tensor as T } from 'pretrain';
import { attentionWeights } from '../../playground/src/attention.js';
import { pca2 } from '../../playground/src/pca.js';

test('attention weights: causal rows that sum to 1, and weights · values through c_proj give each block\'s attention output', async () => {
  T.manualSeed(3);
  const model = new models.GPT(models.gptConfig({ vocab_size: 13, n_positions: 16, n_embd: 24, n_layer: 2, n_head: 3 }));
  const ids = [1, 5, 7, 2, 11, 3, 3, 9];
  const n = ids.length, H = 3, C = 24, D = C / H;
  const weights = await attentionWeights(model, ids);
  assert.equal(weights.length, 2);
  for (const layer of weights) {
    assert.equal(layer.length, H);
    for (const w of layer) {
      for (let i = 0; i < n; i++) {
        const row = w.subarray(i * n, (i + 1) * n);
        assert.ok(Math.abs(row.reduce((s, x) => s + x, 0) - 1) < 1e-5, `row ${i} sums to 1`);
        for (let j = i + 1; j < n; j++) assert.equal(row[j], 0, `query ${i} does not see key ${j}`);
      }
    }
  }
  model.eval();
  const { hiddenStates } = model.forward({ inputIds: T.fromArray(Int32Array.from(ids), [1, n], { dtype: 'int32' }), outputHiddenStates: true });
  for (const [l, block] of model.transformer.h.entries()) {
    const x = block.ln_1.forward(hiddenStates![l]!);
    const v = T.split(block.attn.c_attn.forward(x), C, -1)[2]!;
    const vh = T.transpose(T.reshape(v, [1, n, H, D]), 1, 2); // (1, H, T, D)
    const w = T.fromArray(Float32Array.from(weights[l]!.flatMap((m) => [...m])), [1, H, n, n]);
    const context = T.reshape(T.transpose(T.matmul(w, vh), 1, 2), [1, n, C]);
    const mine = (await block.attn.c_proj.forward(context).data()) as Float32Array;
    const theirs = (await block.attn.forward(x).y.data()) as Float32Array;
    const worst = mine.reduce((m, a, i) => Math.max(m, Math.abs(a - theirs[i]!)), 0);
    assert.ok(worst < 1e-5, `layer ${l}: largest difference ${worst}`);
  }
});

test('PCA: points spread along one direction and less along another get those axes, in order, with their variance shares', () => {
  const u = [0.6, 0.8, 0, 0], v = [0, 0, 1, 0];
  // uncorrelated coordinates (Σ a·b = 0), so u and v are exactly the principal axes
  const coords = [[-3, 1], [-1, -1], [0, 0], [1, -1], [3, 1]];
  const rows = coords.map(([a, b]) => Float32Array.from(u.map((x, k) => 5 + a! * x + b! * v[k]!)));
  const { points, explained } = pca2(rows);
  // up to sign, the coordinates are the ones the rows were made from (they are centred already)
  const sign0 = Math.sign(points[4]![0]), sign1 = Math.sign(points[0]![1]);
  points.forEach(([x, y], i) => {
    assert.ok(Math.abs(sign0 * x - coords[i]![0]!) < 1e-4, `axis 1 of point ${i}: ${x}`);
    assert.ok(Math.abs(sign1 * y - coords[i]![1]!) < 1e-4, `axis 2 of point ${i}: ${y}`);
  });
  const var1 = 20 / 4, var2 = 4 / 4;
  assert.ok(Math.abs(explained[0] - var1 / (var1 + var2)) < 1e-6 && Math.abs(explained[1] - var2 / (var1 + var2)) < 1e-6, String(explained));
  assert.throws(() => pca2([rows[0]!]), /at least two words/);
});
