import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../../src/tensor/index.js';
import { loadPretrained, ourKey, savePretrained } from '../../src/io/hf.js';
import { writeSafetensors, type SafetensorsTensor } from '../../src/io/safetensors.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';

const gptCfg = { model_type: 'gpt2', vocab_size: 20, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2, activation_function: 'gelu_new', some_future_field: 'ignored' };
const bertCfg = { model_type: 'bert', vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
  max_position_embeddings: 8, hidden_act: 'gelu', classifier_dropout: null, position_embedding_type: 'absolute' };

/** Writes a directory laid out as transformers would, from our parameters under the given key mapping. */
async function hfDir(model: GPT | BertForPreTraining, config: object, rename: (name: string) => string, extra: Record<string, SafetensorsTensor> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hf-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const tensors = new Map<string, SafetensorsTensor>(Object.entries(extra));
  for (const [name, p] of model.namedParameters()) tensors.set(rename(name), { dtype: 'F32', shape: [...p.shape], data: (await p.data()) as Float32Array });
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

async function same(a: T.Tensor, b: T.Tensor) {
  assert.deepEqual(Array.from(await a.data()), Array.from(await b.data()));
}

test('checkpoint keys map onto ours: base-model prefixes, TF-era gamma/beta, tied copies and buffers skipped', () => {
  const gpt = new GPT(gptConfig({ vocab_size: 20, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
  const bert = new BertForPreTraining(bertConfig({ vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 8 }));
  assert.equal(ourKey(gpt, 'h.0.attn.c_attn.weight'), 'transformer.h.0.attn.c_attn.weight');
  assert.equal(ourKey(gpt, 'transformer.wte.weight'), 'transformer.wte.weight');
  assert.equal(ourKey(gpt, 'lm_head.weight'), null);
  assert.equal(ourKey(gpt, 'h.0.attn.bias'), null);
  assert.equal(ourKey(gpt, 'h.0.attn.masked_bias'), null);
  assert.equal(ourKey(bert, 'embeddings.LayerNorm.gamma'), 'bert.embeddings.LayerNorm.weight');
  assert.equal(ourKey(bert, 'bert.embeddings.position_ids'), null);
  assert.equal(ourKey(bert, 'cls.predictions.decoder.weight'), null);
  assert.equal(ourKey(bert, 'cls.seq_relationship.bias'), 'cls.seq_relationship.bias');
});

test('a GPT2Model-layout checkpoint (no prefix, lm_head copy, causal-mask buffers) loads with identical outputs', async () => {
  T.manualSeed(1);
  const src = new GPT(gptConfig({ vocab_size: 20, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
  const dir = await hfDir(src, gptCfg, (n) => n.replace(/^transformer\./, ''), {
    'lm_head.weight': { dtype: 'F32', shape: [20, 8], data: new Float32Array(160) },
    'h.0.attn.bias': { dtype: 'F32', shape: [1, 1, 8, 8], data: new Float32Array(64) },
  });
  const { model, report } = await loadPretrained(dir);
  assert.deepEqual(report, { missing: [], unexpected: [] });
  const ids = T.fromArray([1, 2, 3, 4], [1, 4], { dtype: 'int32' });
  src.eval();
  await same(T.noGrad(() => (model as GPT).forward({ inputIds: ids }).logits), T.noGrad(() => src.forward({ inputIds: ids }).logits));
});

test('a BertModel checkpoint loads into BertForPreTraining, reporting the heads as missing', async () => {
  T.manualSeed(2);
  const src = new BertForPreTraining(bertConfig({ vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 8 }));
  const base = new Map(src.bert.namedParameters());
  const dir = mkdtempSync(join(tmpdir(), 'hf-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(bertCfg));
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, p] of base) tensors.set(name.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta'), { dtype: 'F32', shape: [...p.shape], data: (await p.data()) as Float32Array });
  tensors.set('pooler.extra_unknown', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  const { model, report } = await loadPretrained(dir);
  assert.ok(report.missing.length > 0 && report.missing.every((k) => k.startsWith('cls.')), report.missing.join(', '));
  assert.deepEqual(report.unexpected, ['pooler.extra_unknown']);
  const ids = T.fromArray([2, 5, 6, 3], [1, 4], { dtype: 'int32' });
  src.eval();
  await same(T.noGrad(() => (model as BertForPreTraining).bert.forward({ inputIds: ids }).lastHiddenState), T.noGrad(() => src.bert.forward({ inputIds: ids }).lastHiddenState));
});

test('savePretrained writes a transformers-layout directory that loads back exactly', async () => {
  T.manualSeed(3);
  const src = new BertForPreTraining(bertConfig({ vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 8 }));
  const dir = mkdtempSync(join(tmpdir(), 'hf-'));
  await savePretrained(src, dir);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['BertForPreTraining']);
  assert.equal(config.model_type, 'bert');
  const { model, report } = await loadPretrained(dir);
  assert.deepEqual(report, { missing: [], unexpected: [] });
  for (const [name, p] of model.namedParameters()) await same(p, new Map(src.namedParameters()).get(name)!);
});

test('a GPT without biases (nanoGPT) saves and reloads as one; GPT-2 configs carry no bias field', async () => {
  T.manualSeed(5);
  const src = new GPT(gptConfig({ vocab_size: 20, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2, bias: false }));
  const dir = mkdtempSync(join(tmpdir(), 'hf-'));
  await savePretrained(src, dir);
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).bias, false);
  const { model, report } = await loadPretrained(dir);
  assert.deepEqual(report, { missing: [], unexpected: [] });
  assert.equal((model as GPT).config.bias, false);
  const ids = T.fromArray([2, 5, 6, 3], [1, 4], { dtype: 'int32' });
  src.eval();
  await same(T.noGrad(() => (model as GPT).forward({ inputIds: ids }).logits), T.noGrad(() => src.forward({ inputIds: ids }).logits));
  const plain = mkdtempSync(join(tmpdir(), 'hf-'));
  await savePretrained(new GPT(gptConfig({ vocab_size: 20, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 })), plain);
  assert.equal('bias' in JSON.parse(readFileSync(join(plain, 'config.json'), 'utf8')), false);
});

test('bad directories name the file: unknown model type, shape mismatch', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hf-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 't5' }));
  await assert.rejects(loadPretrained(dir), /config\.json: model_type 't5' is not supported/);
  T.manualSeed(4);
  const src = new GPT(gptConfig({ vocab_size: 21, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
  const bad = await hfDir(src, gptCfg, (n) => n);
  await assert.rejects(loadPretrained(bad), /model\.safetensors: tensor 'transformer\.wte\.weight' has shape \[21, 8\] but the model's 'transformer\.wte\.weight' is \[20, 8\]/);
  writeFileSync(join(dir, 'config.json'), '{ not json');
  await assert.rejects(loadPretrained(dir), /config\.json: invalid JSON/);
});
