// Bengio's NNLM: the forward pass against its formula computed by hand from the parameters, the config checks, a
// save/load round trip as a model directory, and training that learns a corpus better than the count baseline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KneserNey, perplexityOf } from '../../src/models/kneser-ney.js';
import { NNLM, nnlmConfig } from '../../src/models/nnlm.js';
import { loadPretrained, savePretrained } from '../../src/models/pretrained.js';
import { NNLM_PRETRAIN, NNLMPretrainTask, nnlmLogProbabilities } from '../../src/tasks/nnlm-pretrain.js';
import { trainConfig, train } from '../../src/tasks/trainer.js';
import { noGrad } from '../../src/tensor/autograd.js';
import * as ops from '../../src/tensor/ops.js';
import { manualSeed } from '../../src/tensor/random.js';
import { WordVocab, ngramWindows } from '../../src/text/word-lm.js';

test('NNLM forward is b + W·x + U·tanh(d + H·x) over the concatenated context vectors', async () => {
  manualSeed(3);
  for (const direct of [false, true]) {
    const model = new NNLM(nnlmConfig({ vocab_size: 7, order: 3, embedding_size: 3, hidden_size: 4, direct_connections: direct }));
    const contexts = [[1, 4], [6, 0]];
    const logits = (await noGrad(() => model.forward(ops.fromArray(contexts.flat(), [2, 2], { dtype: 'int32' })).logits).data()) as Float32Array;
    const C = (await model.embeddings.weight.data()) as Float32Array;
    const H = (await model.hidden.weight.data()) as Float32Array, d = (await model.hidden.bias!.data()) as Float32Array;
    const U = (await model.output.weight.data()) as Float32Array, b = (await model.output.bias!.data()) as Float32Array;
    const W = direct ? ((await model.direct!.weight.data()) as Float32Array) : null;
    contexts.forEach((ctx, r) => {
      const x = ctx.flatMap((w) => Array.from(C.subarray(w * 3, w * 3 + 3)));
      const h = Array.from({ length: 4 }, (_, j) => Math.tanh(d[j]! + x.reduce((s, xi, i) => s + H[j * 6 + i]! * xi, 0)));
      for (let v = 0; v < 7; v++) {
        const want = b[v]! + h.reduce((s, hj, j) => s + U[v * 4 + j]! * hj, 0) + (W ? x.reduce((s, xi, i) => s + W[v * 6 + i]! * xi, 0) : 0);
        assert.ok(Math.abs(logits[r * 7 + v]! - want) < 1e-5, `direct ${direct}, row ${r}, word ${v}: ${logits[r * 7 + v]} vs ${want}`);
      }
    });
  }
});

test('nnlmConfig rejects an order below 2, a bad size and a bad dropout; forward rejects the wrong context width', () => {
  assert.throws(() => nnlmConfig({ order: 1 }), /order must be an integer >= 2/);
  assert.throws(() => nnlmConfig({ hidden_size: 0 }), /hidden_size must be a positive integer/);
  assert.throws(() => nnlmConfig({ dropout: 1 }), /dropout must be in \[0, 1\)/);
  const model = new NNLM(nnlmConfig({ vocab_size: 5, order: 3, embedding_size: 2, hidden_size: 2 }));
  assert.throws(() => model.forward(ops.fromArray([1, 2, 3], [1, 3], { dtype: 'int32' })), /contexts must hold 2 words \(order 3\), got 3/);
});

test('an NNLM saves as a model directory (config.json model_type nnlm) and loads back with the same outputs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nnlm-'));
  try {
    manualSeed(5);
    const model = new NNLM(nnlmConfig({ vocab_size: 9, order: 4, embedding_size: 3, hidden_size: 5, direct_connections: true }));
    await savePretrained(model, dir);
    const { model: loaded, report } = await loadPretrained(dir);
    assert.ok(loaded instanceof NNLM);
    assert.equal(report.architecture, 'NNLM');
    assert.deepEqual(report.newlyInitialized, []);
    const x = ops.fromArray([1, 2, 3, 8, 0, 4], [2, 3], { dtype: 'int32' });
    model.eval();
    assert.deepEqual(await noGrad(() => loaded.forward(x).logits).data(), await noGrad(() => model.forward(x).logits).data());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NNLM training learns a patterned corpus: held-out perplexity falls below the unigram rate and near modified KN', async () => {
  // sentences from a small grammar: the next word is predictable from the two before it, not from counts alone
  const nouns = ['cat', 'dog', 'bird', 'fish'], verbs = ['sees', 'likes', 'hears'];
  const sentence = (i: number) => ['the', nouns[i % 4]!, verbs[(i >> 2) % 3]!, 'the', nouns[(i * 7 + 1) % 4]!];
  const paragraphs = (from: number, n: number) => Array.from({ length: n }, (_, k) => [...sentence(from + k), ...sentence(from + k + 5)]);
  const trainText = paragraphs(0, 300), heldText = paragraphs(1000, 40);
  const vocab = WordVocab.build(trainText);
  const order = 3;
  const trainWindows = ngramWindows(trainText, vocab, order), heldWindows = ngramWindows(heldText, vocab, order);
  manualSeed(1);
  const model = new NNLM(nnlmConfig({ vocab_size: vocab.size, order, embedding_size: 8, hidden_size: 32 }));
  const task = new NNLMPretrainTask(model, trainWindows, heldWindows, { batchSize: 64, evalWindows: heldWindows.count });
  const before = (await task.evaluate()).perplexity!;
  await train(task, trainConfig(NNLM_PRETRAIN, { maxSteps: 300, lr: 1e-2, warmupSteps: 10, evalEvery: 0, logEvery: 50 }));
  const after = perplexityOf(await nnlmLogProbabilities(model, heldWindows)).perplexity;
  const kn = perplexityOf(KneserNey.train(trainWindows, vocab, { order, discount: 'modified' }).logProbabilities(heldWindows)).perplexity;
  assert.ok(before > vocab.size * 0.8, `an untrained model is near uniform: ${before} of ${vocab.size} words`);
  // the unigram rate of this grammar is above 5 (ten words, 'the' a fifth of them); the trigram structure is near 2
  assert.ok(after < 3, `trained perplexity ${after}`);
  assert.ok(after < kn * 1.25, `NNLM ${after} against modified KN ${kn}`);
});
