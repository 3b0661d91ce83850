import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';

function tinyBert(seed = 0) {
  T.manualSeed(seed);
  return new BertForPreTraining(bertConfig({
    vocab_size: 31, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32,
    max_position_embeddings: 16, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
  })).eval();
}
const int = (rows: number[][]) => T.fromArray(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'int32' });

async function close(a: T.Tensor, b: T.Tensor, tol = 1e-5) {
  const x = await a.data(), y = await b.data();
  assert.equal(x.length, y.length);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= tol * (1 + Math.abs(y[i]!)), `index ${i}: ${x[i]} vs ${y[i]}`);
}

test('BERT parameter names are Hugging Face BertForPreTraining keys', () => {
  const names = tinyBert().namedParameters().map(([n]) => n);
  for (const key of ['bert.embeddings.word_embeddings.weight', 'bert.embeddings.token_type_embeddings.weight', 'bert.embeddings.LayerNorm.weight',
    'bert.encoder.layer.0.attention.self.query.weight', 'bert.encoder.layer.0.attention.output.dense.weight',
    'bert.encoder.layer.0.attention.output.LayerNorm.bias', 'bert.encoder.layer.1.intermediate.dense.weight',
    'bert.encoder.layer.1.output.LayerNorm.weight', 'bert.pooler.dense.weight', 'cls.predictions.bias',
    'cls.predictions.transform.dense.weight', 'cls.predictions.transform.LayerNorm.weight', 'cls.seq_relationship.weight']) {
    assert.ok(names.includes(key), key);
  }
  assert.ok(!names.some((n) => n.includes('decoder')), 'the MLM decoder is tied to the word embeddings');
});

test('BERT: padding does not change the states of real tokens', async () => {
  const m = tinyBert();
  const a = T.noGrad(() => m.bert.forward({ inputIds: int([[2, 5, 6, 3]]) }).lastHiddenState);
  const b = T.noGrad(() => m.bert.forward({ inputIds: int([[2, 5, 6, 3, 0, 0]]), attentionMask: T.tensor([[1, 1, 1, 1, 0, 0]]) }).lastHiddenState);
  await close(b.slice(1, 0, 4), a, 1e-5);
});

test('BERT: MLM logits at masked positions equal the full logits gathered there', async () => {
  const m = tinyBert();
  const inputIds = int([[2, 4, 1, 7, 3], [2, 1, 9, 1, 3]]);
  const full = T.noGrad(() => m.forward({ inputIds }).predictionLogits);
  const part = T.noGrad(() => m.forward({ inputIds, maskedPositions: int([[2, 0], [1, 3]]) }).predictionLogits);
  await close(part.slice(0, 0, 1).slice(1, 0, 1), full.slice(0, 0, 1).slice(1, 2, 3));
  await close(part.slice(0, 1, 2).slice(1, 1, 2), full.slice(0, 1, 2).slice(1, 3, 4));
});

test('BERT: MLM + NSP loss trains down on a tiny batch', async () => {
  const m = tinyBert(1).train();
  const batch = {
    inputIds: int([[2, 4, 1, 7, 3, 8, 3], [2, 1, 9, 1, 3, 5, 3]]),
    tokenTypeIds: int([[0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1, 1]]),
    maskedPositions: int([[2, 0], [1, 3]]),
    mlmLabels: int([[5, -100], [6, 10]]),
    nextSentenceLabels: T.tensor([0, 1], { dtype: 'int32' }),
  };
  let first = 0, last = 0;
  for (let i = 0; i < 40; i++) {
    for (const p of m.parameters()) p.grad = null;
    const out = m.forward(batch);
    out.loss!.backward();
    if (i === 0) {
      first = await out.loss!.item();
      assert.ok(Math.abs(first - (Math.log(31) + Math.log(2))) < 0.7, `initial loss ${first}`);
    }
    last = await out.loss!.item();
    T.noGrad(() => m.namedParameters().forEach(([name, p]) => m.setParameter(name, new (p.constructor as any)(p.sub(p.grad!.mul(0.2))))));
  }
  assert.ok(last < first * 0.5, `loss ${first} -> ${last}`);
});
