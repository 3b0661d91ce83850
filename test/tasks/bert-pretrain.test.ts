import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { BERT_PRETRAIN, BertPretrainTask } from '../../src/tasks/bert-pretrain.js';
import { MemoryBertSource, selectRows, type BertBatch } from '../../src/data/batches.js';
import { train, trainConfig } from '../../src/tasks/trainer.js';

/**
 * Synthetic examples with learnable structure: sentence B repeats A (label 0) or is random (label 1); masked
 * tokens of B can be read off A. [CLS]=1, [SEP]=2, [MASK]=3, words 4..19.
 */
function examples(n: number, rng: T.Generator): BertBatch {
  const L = 12, P = 2;
  const b: BertBatch = {
    size: n, seqLength: L, maxPredictions: P, inputIds: new Int32Array(n * L), tokenTypeIds: new Int32Array(n * L), attentionMask: new Int32Array(n * L),
    maskedPositions: new Int32Array(n * P), maskedIds: new Int32Array(n * P), maskedWeights: new Float32Array(n * P), nextSentenceLabels: new Int32Array(n),
  };
  const word = () => 4 + Math.floor(rng.random() * 16);
  for (let e = 0; e < n; e++) {
    const a = [word(), word(), word(), word()];
    const random = rng.random() < 0.5;
    const second = random ? [word(), word(), word(), word()] : [...a];
    const ids = [1, ...a, 2, ...second, 2];
    const types = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
    const pos = 6 + Math.floor(rng.random() * 4);
    b.maskedPositions[e * P] = pos; b.maskedIds[e * P] = ids[pos]!; b.maskedWeights[e * P] = 1;
    ids[pos] = 3;
    for (let t = 0; t < L; t++) {
      b.inputIds[e * L + t] = ids[t] ?? 0;
      b.tokenTypeIds[e * L + t] = types[t] ?? 0;
      b.attentionMask[e * L + t] = t < ids.length ? 1 : 0;
    }
    b.nextSentenceLabels[e] = random ? 1 : 0;
  }
  return b;
}

test('BERT pretraining on examples lowers MLM+NSP loss and reports held-out MLM and NSP accuracy', async () => {
  T.manualSeed(0);
  const rng = new T.Generator(1);
  const data = examples(64, rng);
  const model = new BertForPreTraining(bertConfig({
    vocab_size: 20, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 12,
    hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
  }));
  const task = new BertPretrainTask(model, new MemoryBertSource(data), { batchSize: 16, heldOut: selectRows(data, [...Array(32).keys()]) });
  const before = await T.noGrad(() => task.evaluate());
  const result = await train(task, trainConfig(BERT_PRETRAIN, { maxSteps: 200, lr: 3e-3, warmupSteps: 10, schedule: 'cosine', minLrRate: 0.1, eps: 1e-8, evalEvery: 0, logEvery: 20 }));
  const first = result.history[0]!.loss!;
  assert.ok(result.finalLoss < first * 0.6, `loss ${first} -> ${result.finalLoss}`);
  assert.ok(result.eval.mlm_accuracy! > before.mlm_accuracy! + 0.2, `MLM accuracy ${before.mlm_accuracy} -> ${result.eval.mlm_accuracy}`);
  assert.ok(result.eval.nsp_accuracy! >= 0.8, `NSP accuracy ${result.eval.nsp_accuracy}`);
  assert.ok(result.eval.mlm_loss! < before.mlm_loss!);
});

test('the batch source wraps around and restores its position', async () => {
  const src = new MemoryBertSource(examples(5, new T.Generator(2)));
  await src.next(4);
  const state = src.state();
  const a = await src.next(3);
  src.restore(state);
  const b = await src.next(3);
  assert.deepEqual(Array.from(a.inputIds), Array.from(b.inputIds));
  assert.equal(a.size, 3);
});
