// The heads' shared parts: transformers' problem_type losses (MSE, cross-entropy, BCE with logits) against values
// worked out by hand, problem_type inference, label configs, and fill-mask through a BertForMaskedLM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { DEFAULT_LABELS, classificationLoss, labelConfig, numLabels, type LabelConfig } from '../../src/models/heads.js';
import { BertForMaskedLM, BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { fillMask } from '../../src/tasks/fill-mask.js';
import { Tokenizer } from '../../src/text/tokenizer.js';

const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-6, `${what}: ${got} vs ${want}`);
const labels = (cfg: Partial<LabelConfig> = {}): LabelConfig => ({ ...DEFAULT_LABELS, ...cfg });

test('problem_type picks the loss, and an unset one is inferred and kept as transformers does', async () => {
  // regression: one output, MSE over the batch
  const reg = labels(labelConfig(1));
  near(await classificationLoss(T.tensor([[0.5], [2]]), T.tensor([1.5, 1]), reg).item(), ((0.5 - 1.5) ** 2 + (2 - 1) ** 2) / 2, 'mse');
  assert.equal(reg.problem_type, 'regression');
  // single-label: cross-entropy of int32 class ids
  const single = labels();
  const ce = -Math.log(Math.exp(2) / (Math.exp(2) + Math.exp(0)));
  near(await classificationLoss(T.tensor([[2, 0], [0, 2]]), T.fromArray([0, 1], [2], { dtype: 'int32' }), single).item(), ce, 'cross-entropy');
  assert.equal(single.problem_type, 'single_label_classification');
  // multi-label: float 0/1 targets, binary cross-entropy with logits, stable for large logits
  const multi = labels();
  const bce = (x: number, y: number) => Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
  const x = [[3, -1], [-200, 0.5]], y = [[1, 0], [0, 1]];
  const want = (bce(3, 1) + bce(-1, 0) + bce(-200, 0) + bce(0.5, 1)) / 4;
  near(await classificationLoss(T.tensor(x), T.tensor(y), multi).item(), want, 'bce');
  assert.equal(multi.problem_type, 'multi_label_classification');
  assert.throws(() => classificationLoss(T.tensor([[1, 2]]), T.tensor([0.5]), labels({ problem_type: 'single_label_classification' })), /needs int32 class ids/);
});

test('label configs: names in order, counts, and errors for empty or repeated names', () => {
  assert.deepEqual(labelConfig(['neg', 'pos']), { id2label: { 0: 'neg', 1: 'pos' }, label2id: { neg: 0, pos: 1 } });
  assert.equal(numLabels(labelConfig(3)), 3);
  assert.deepEqual(labelConfig(2).id2label, { 0: 'LABEL_0', 1: 'LABEL_1' });
  assert.throws(() => labelConfig([]), /at least one label/);
  assert.throws(() => labelConfig(['a', 'a']), /repeat/);
});

test('fill-mask reads a BertForMaskedLM at the masked positions, the same as BertForPreTraining with the same weights', async () => {
  T.manualSeed(9);
  const tok = Tokenizer.fromVocabTxt(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', 'on', 'mat'].join('\n'));
  const cfg = bertConfig({ vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
  const pre = new BertForPreTraining(cfg);
  const mlm = new BertForMaskedLM(cfg);
  const state = new Map([...pre.namedParameters()].filter(([k]) => !k.startsWith('bert.pooler') && !k.startsWith('cls.seq_relationship')));
  mlm.loadStateDict(state);
  const a = await fillMask(pre, tok, 'the [MASK] sat on the [MASK]', 3);
  const b = await fillMask(mlm, tok, 'the [MASK] sat on the [MASK]', 3);
  assert.equal(a.length, 2);
  assert.deepEqual(b.map((l) => l.map((c) => c.token)), a.map((l) => l.map((c) => c.token)));
  b.flat().forEach((c, i) => near(c.score, a.flat()[i]!.score, `score ${i}`));
});
