// The model registry: config.json's model_type and architectures choose the model, checkpoint keys find their
// parameters with transformers' prefix rules, a missing body weight is an error naming the file and the keys, a new
// head is reported, and a saved directory loads back exactly with transformers' config fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/tensor/index.js';
import { readHfCheckpoint, writeHfCheckpoint } from '../../src/io/hf.js';
import type { SafetensorsTensor } from '../../src/io/safetensors.js';
import {
  BertForMaskedLM, BertForPreTraining, BertForSequenceClassification, BertForTokenClassification, BertModel, bertConfig, bertFamily,
} from '../../src/models/bert.js';
import { GPT, GPT2ForSequenceClassification, gpt2Family, gptConfig } from '../../src/models/gpt.js';
import { labelConfig } from '../../src/models/heads.js';
import { configJson, loadPretrained, modelFromConfig, savePretrained } from '../../src/models/pretrained.js';
import type { PretrainedModule } from '../../src/models/family.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/hf/', import.meta.url));
const tinyGpt = { vocab_size: 20, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 };
const tinyBert = { vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 8 };
const fresh = () => mkdtempSync(join(tmpdir(), 'pretrained-'));
const ids = () => T.fromArray([2, 5, 6, 3], [1, 4], { dtype: 'int32' });

async function tensorsOf(model: PretrainedModule, rename: (name: string) => string | null = (n) => n) {
  const out = new Map<string, SafetensorsTensor>();
  for (const [name, p] of model.namedParameters()) {
    const key = rename(name);
    if (key !== null) out.set(key, { dtype: 'F32', shape: [...p.shape], data: (await p.data()) as Float32Array });
  }
  return out;
}

async function same(a: T.Tensor, b: T.Tensor) {
  assert.deepEqual(Array.from(await a.data()), Array.from(await b.data()));
}

test('checkpoint keys: buffers and tied copies carry nothing; TF-era gamma/beta are weight/bias', () => {
  assert.equal(gpt2Family.renameKey('lm_head.weight'), null);
  assert.equal(gpt2Family.renameKey('h.0.attn.bias'), null);
  assert.equal(gpt2Family.renameKey('transformer.h.0.attn.masked_bias'), null);
  assert.equal(gpt2Family.renameKey('h.0.attn.c_attn.bias'), 'h.0.attn.c_attn.bias');
  assert.equal(bertFamily.renameKey('embeddings.LayerNorm.gamma'), 'embeddings.LayerNorm.weight');
  assert.equal(bertFamily.renameKey('bert.embeddings.position_ids'), null);
  assert.equal(bertFamily.renameKey('cls.predictions.decoder.weight'), null);
  assert.equal(bertFamily.renameKey('cls.predictions.decoder.bias'), null);
  assert.equal(bertFamily.renameKey('cls.seq_relationship.bias'), 'cls.seq_relationship.bias');
});

test('a base-model checkpoint (GPT2Model layout, buffers, an lm_head copy) loads into GPT2LMHeadModel with identical outputs', async () => {
  T.manualSeed(1);
  const src = new GPT(gptConfig(tinyGpt)).eval();
  const dir = fresh();
  const tensors = await tensorsOf(src, (n) => n.replace(/^transformer\./, ''));
  tensors.set('lm_head.weight', { dtype: 'F32', shape: [20, 8], data: new Float32Array(160) });
  tensors.set('h.0.attn.bias', { dtype: 'F32', shape: [1, 1, 8, 8], data: new Float32Array(64) });
  await writeHfCheckpoint(dir, { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], ...tinyGpt, some_future_field: 'ignored' }, tensors);
  const { model, report } = await loadPretrained(dir);
  assert.deepEqual(report, { architecture: 'GPT2LMHeadModel', newlyInitialized: [], unexpected: [] });
  await same(T.noGrad(() => (model as GPT).forward({ inputIds: ids() }).logits), T.noGrad(() => src.forward({ inputIds: ids() }).logits));
});

test('a missing body weight is an error naming the file and the keys, not a random initialisation', async () => {
  T.manualSeed(2);
  const dir = fresh();
  await savePretrained(new GPT(gptConfig(tinyGpt)), dir);
  const ckpt = await readHfCheckpoint(dir);
  ckpt.tensors.delete('transformer.wte.weight');
  await writeHfCheckpoint(dir, ckpt.config, ckpt.tensors);
  await assert.rejects(loadPretrained(dir), /model\.safetensors: the checkpoint lacks weights of the GPT2LMHeadModel body: transformer\.wte\.weight;/);
  // config.json claiming more layers than the weights hold
  const deeper = fresh();
  await savePretrained(new GPT(gptConfig(tinyGpt)), deeper);
  const config = JSON.parse(readFileSync(join(deeper, 'config.json'), 'utf8'));
  writeFileSync(join(deeper, 'config.json'), JSON.stringify({ ...config, n_layer: 3 }));
  await assert.rejects(loadPretrained(deeper), /lacks weights of the GPT2LMHeadModel body: transformer\.h\.2\.ln_1\.weight, .*\(12 in all\)/);
});

test('a pretraining checkpoint under a new head: the head is initialised new and said, the pretraining heads are unexpected', async () => {
  const { model, report } = await loadPretrained(join(FIXTURES, 'bert-for-pretraining'), {
    architecture: 'BertForSequenceClassification', config: labelConfig(['neg', 'pos']),
  });
  assert.ok(model instanceof BertForSequenceClassification);
  assert.deepEqual(report.newlyInitialized, ['classifier.weight', 'classifier.bias']);
  assert.deepEqual(report.unexpected.sort(), ['cls.predictions.bias', 'cls.predictions.transform.LayerNorm.bias', 'cls.predictions.transform.LayerNorm.weight',
    'cls.predictions.transform.dense.bias', 'cls.predictions.transform.dense.weight', 'cls.seq_relationship.bias', 'cls.seq_relationship.weight']);
  assert.deepEqual(model.classifier.weight.shape, [2, 64]);
  assert.deepEqual(model.config.id2label, { 0: 'neg', 1: 'pos' });
  // the body is the checkpoint's: same encoder states as the pretraining model
  const { model: pre } = await loadPretrained(join(FIXTURES, 'bert-for-pretraining'));
  await same(T.noGrad(() => model.bert.forward({ inputIds: ids() }).lastHiddenState), T.noGrad(() => (pre as BertForPreTraining).bert.forward({ inputIds: ids() }).lastHiddenState));
});

test('a task checkpoint into the base model drops the prefix and lists the head as unexpected; a pooler-less one starts the pooler new', async () => {
  const { model, report } = await loadPretrained(join(FIXTURES, 'bert-for-sequence-classification'), { architecture: 'BertModel' });
  assert.ok(model instanceof BertModel);
  assert.deepEqual(report.unexpected, ['classifier.bias', 'classifier.weight']);
  assert.deepEqual(report.newlyInitialized, []);
  const tokens = await loadPretrained(join(FIXTURES, 'bert-for-token-classification'), { architecture: 'BertForSequenceClassification' });
  assert.deepEqual(tokens.report.newlyInitialized, ['bert.pooler.dense.weight', 'bert.pooler.dense.bias']);
  assert.ok(tokens.model instanceof BertForSequenceClassification);
  assert.deepEqual(tokens.model.classifier.weight.shape, [5, 64], 'the checkpoint\'s five labels and their classifier');
});

test('unknown model types, architectures and bad config values are errors that say what there is', async () => {
  const base = { model_type: 'bert', ...tinyBert };
  assert.throws(() => modelFromConfig({ model_type: 't5' }), /config\.json: model_type 't5' is not implemented \(implemented: gpt2, bert, nnlm, elmo, cove, encoder-decoder, cnn\)/);
  assert.throws(() => modelFromConfig({}), /model_type is missing/);
  assert.throws(() => modelFromConfig({ ...base, architectures: ['BertForQuestionAnswering'] }),
    /architecture 'BertForQuestionAnswering' is not implemented for model_type 'bert' \(implemented: BertModel, BertForPreTraining, BertForMaskedLM, BertForSequenceClassification, BertForTokenClassification, BertForMultipleChoice, BertLMHeadModel\)/);
  assert.throws(() => modelFromConfig({ ...base, num_attention_heads: 3 }), /hidden_size 8 is not divisible by num_attention_heads 3/);
  assert.throws(() => modelFromConfig({ ...base, hidden_size: '8' }), /field 'hidden_size' is "8", expected number/);
  assert.throws(() => modelFromConfig({ ...base, hidden_act: 'gelu_tanh' }), /hidden_act 'gelu_tanh' is not implemented/);
  assert.throws(() => modelFromConfig({ ...base, problem_type: 'ranking' }), /problem_type 'ranking' is not one of/);
  assert.throws(() => modelFromConfig({ ...base, position_embedding_type: 'relative_key' }), /position_embedding_type 'relative_key' is not implemented/);
  assert.throws(() => modelFromConfig({ model_type: 'gpt2', ...tinyGpt, n_head: 3 }), /n_embd 8 is not divisible by n_head 3/);
  assert.throws(() => gptConfig({ n_layer: 0 }), /GPTConfig: n_layer must be a positive integer, got 0/);
  assert.throws(() => bertConfig({ id2label: { 0: 'a', 2: 'b' } }), /id2label must map "0".."n-1"/);
  // transformers' other spellings of the tanh GELU are kept as written
  const m = modelFromConfig({ model_type: 'gpt2', ...tinyGpt, activation_function: 'gelu_pytorch_tanh' }) as GPT;
  assert.equal(m.config.activation_function, 'gelu_pytorch_tanh');
});

test('every architecture saves a directory transformers would write and loads back exactly', async () => {
  T.manualSeed(3);
  const labels = labelConfig(['O', 'B-PER', 'I-PER']);
  const models: PretrainedModule[] = [
    new BertModel(bertConfig(tinyBert)), new BertForPreTraining(bertConfig(tinyBert)), new BertForMaskedLM(bertConfig(tinyBert)),
    new BertForSequenceClassification(bertConfig({ ...tinyBert, ...labelConfig(1), problem_type: 'regression' })),
    new BertForTokenClassification(bertConfig({ ...tinyBert, ...labels })),
    new GPT(gptConfig(tinyGpt)), new GPT2ForSequenceClassification(gptConfig({ ...tinyGpt, ...labels, pad_token_id: 0 })),
  ];
  for (const src of models) {
    const dir = fresh();
    await savePretrained(src, dir);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config, configJson(src));
    const { model, report } = await loadPretrained(dir);
    assert.equal(model.constructor, src.constructor);
    assert.deepEqual(report.newlyInitialized, [], src.constructor.name);
    assert.deepEqual(report.unexpected, [], src.constructor.name);
    assert.deepEqual(model.config, src.config);
    const theirs = new Map<string, T.Tensor>(src.namedParameters());
    for (const [name, p] of model.namedParameters()) await same(p, theirs.get(name)!);
  }
  const token = configJson(models[4]!);
  assert.deepEqual([token.architectures, token.model_type, token.id2label, token.label2id], [['BertForTokenClassification'], 'bert', { 0: 'O', 1: 'B-PER', 2: 'I-PER' }, { O: 0, 'B-PER': 1, 'I-PER': 2 }]);
  const plain = configJson(models[5]!);
  for (const field of ['id2label', 'label2id', 'problem_type', 'bias', 'classifier_dropout']) assert.equal(field in plain, false, `GPT-2's config.json has no ${field} when it is the default`);
  const nano = configJson(new GPT(gptConfig({ ...tinyGpt, bias: false })));
  assert.equal(nano.bias, false, 'a nanoGPT model without biases says so');
});

test('the transformers fixtures also load from a copy whose LayerNorms use TF-era names', async () => {
  const dir = fresh();
  cpSync(join(FIXTURES, 'bert-model'), dir, { recursive: true });
  const ckpt = await readHfCheckpoint(dir);
  const renamed = new Map([...ckpt.tensors].map(([k, t]) => [k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), t]));
  await writeHfCheckpoint(dir, ckpt.config, renamed);
  const { report } = await loadPretrained(dir);
  assert.deepEqual(report, { architecture: 'BertModel', newlyInitialized: [], unexpected: [] });
});
