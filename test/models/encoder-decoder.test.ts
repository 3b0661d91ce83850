// The encoder-decoder against transformers 4.40's EncoderDecoderModel (test/fixtures/encoder-decoder/bert2bert, copied
// from ../shared/fixtures/hf: a BERT encoder and a BERT decoder with cross-attention, random weights perturbed, with
// the logits, loss and hidden states transformers computed), its saved layout, warm starting, tying and the caches;
// sides of different widths (enc_to_dec_proj, cross_attention_hidden_size) against the plain-torch model of
// scripts/gen_encoder_decoder_widths_fixture.py (test/fixtures/encoder-decoder/widths.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/tensor/index.js';
import { readSafetensors, type SafetensorsTensor } from '../../src/io/safetensors.js';
import { BertForPreTraining, BertLMHeadModel, BertModel, bertConfig } from '../../src/models/bert.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import {
  EncoderDecoderModel, encoderDecoderConfig, encoderDecoderFamily, shiftTokensRight, type DecoderCache, type SideConfig,
} from '../../src/models/encoder-decoder.js';
import { loadPretrained, loadTensors, savePretrained } from '../../src/models/pretrained.js';
import { warmStartEncoderDecoder } from '../../src/models/warm-start.js';
import { relativeError } from '../../scripts/hf-reference.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/encoder-decoder/bert2bert/', import.meta.url));
const reference = JSON.parse(readFileSync(join(FIXTURE, 'reference.json'), 'utf8')) as {
  inputs: Record<'input_ids' | 'attention_mask' | 'decoder_input_ids' | 'decoder_attention_mask', number[][]>;
  labels: number[][]; loss: number; logits: number[]; hidden_states: number[][]; encoder_hidden_states: number[][];
};
const int = (rows: number[][]) => T.fromArray(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'int32' });
const float = (rows: number[][]) => T.fromArray(rows.flat(), [rows.length, rows[0]!.length]);
const tmp = () => mkdtempSync(join(tmpdir(), 'encdec-'));

const bertSide = (over: Partial<SideConfig> = {}): SideConfig => ({
  model_type: 'bert', ...bertConfig({ vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 24 }),
  ...over,
} as SideConfig);
const gptSide = (over: Partial<SideConfig> = {}): SideConfig => ({
  model_type: 'gpt2', ...gptConfig({ vocab_size: 30, n_positions: 24, n_embd: 24, n_layer: 2, n_head: 2 }), ...over,
} as SideConfig);

function tiny(encoder: SideConfig, decoder: SideConfig, tie = false, seed = 0): EncoderDecoderModel {
  T.manualSeed(seed);
  return new EncoderDecoderModel(encoderDecoderConfig({ encoder, decoder, decoder_start_token_id: 1, pad_token_id: 0, eos_token_id: 2, tie_encoder_decoder: tie })).eval();
}

async function assertClose(a: T.Tensor, b: T.Tensor, tol = 1e-5, what = '') {
  const x = await a.data(), y = await b.data();
  assert.equal(x.length, y.length, `${what}: sizes`);
  assert.ok(relativeError(x, y) <= tol, `${what}: relative error ${relativeError(x, y)}`);
}

test("transformers' bert2bert: the logits, loss and encoder and decoder hidden states within 1e-4", async () => {
  const { model, report } = await loadPretrained(FIXTURE);
  assert.ok(model instanceof EncoderDecoderModel);
  assert.equal(report.architecture, 'EncoderDecoderModel');
  assert.deepEqual(report.unexpected, [], 'every checkpoint tensor has a place');
  assert.deepEqual(report.newlyInitialized, [], 'every parameter comes from the checkpoint');
  assert.equal(model.config.decoder_start_token_id, 2);
  assert.equal(model.config.decoder.model_type === 'bert' && model.config.decoder.add_cross_attention, true);
  const i = reference.inputs;
  const out = T.noGrad(() => model.forward({
    inputIds: int(i.input_ids), attentionMask: float(i.attention_mask), decoderInputIds: int(i.decoder_input_ids),
    decoderAttentionMask: float(i.decoder_attention_mask), labels: int(reference.labels),
  }));
  const errors: Record<string, number> = {
    logits: relativeError(await out.logits.data(), reference.logits),
    loss: relativeError([await out.loss!.item()], [reference.loss]),
  };
  assert.equal(out.decoderHiddenStates.length, reference.hidden_states.length);
  assert.equal(out.encoderHiddenStates.length, reference.encoder_hidden_states.length);
  for (const [k, h] of out.decoderHiddenStates.entries()) errors[`decoder_hidden_states[${k}]`] = relativeError(await h.data(), reference.hidden_states[k]!);
  for (const [k, h] of out.encoderHiddenStates.entries()) errors[`encoder_hidden_states[${k}]`] = relativeError(await h.data(), reference.encoder_hidden_states[k]!);
  for (const [name, e] of Object.entries(errors)) assert.ok(e <= 1e-4, `${name}: relative error ${e.toExponential(2)}`);
});

test('saving writes what transformers wrote: the same keys, the nested configs with their roles, and the token ids', async () => {
  const model = (await loadPretrained(FIXTURE)).model as EncoderDecoderModel;
  const dir = tmp();
  await savePretrained(model, dir);
  const theirs = (await readSafetensors(join(FIXTURE, 'model.safetensors'))).tensors;
  const ours = (await readSafetensors(join(dir, 'model.safetensors'))).tensors;
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
  for (const [k, t] of theirs) assert.deepEqual(ours.get(k)!.data, t.data, k);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const original = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['EncoderDecoderModel']);
  assert.equal(config.model_type, 'encoder-decoder');
  assert.equal(config.is_encoder_decoder, true);
  for (const key of ['decoder_start_token_id', 'pad_token_id']) assert.equal(config[key], original[key], key);
  for (const side of ['encoder', 'decoder']) {
    for (const key of ['model_type', 'is_decoder', 'add_cross_attention', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size',
      'vocab_size', 'max_position_embeddings', 'type_vocab_size', 'hidden_act', 'layer_norm_eps', 'pad_token_id', 'position_embedding_type']) {
      assert.deepEqual(config[side][key], original[side][key], `${side}.${key}`);
    }
  }
  const back = (await loadPretrained(dir)).model as EncoderDecoderModel;
  const inputs = { inputIds: int(reference.inputs.input_ids), attentionMask: float(reference.inputs.attention_mask), labels: int(reference.labels) };
  await assertClose(T.noGrad(() => back.forward(inputs).logits), T.noGrad(() => model.forward(inputs).logits), 0, 'reloaded logits');
});

test('labels alone are shifted right behind decoder_start_token_id (-100 becomes padding), as transformers does', async () => {
  const labels = int([[5, 6, 2], [7, 2, -100]]);
  assert.deepEqual(Array.from(await shiftTokensRight(labels, 0, 1).data()), [1, 5, 6, 1, 7, 2]);
  const model = tiny(bertSide(), bertSide());
  const source = { inputIds: int([[3, 4, 5, 6], [3, 7, 0, 0]]), attentionMask: float([[1, 1, 1, 1], [1, 1, 0, 0]]) };
  const a = T.noGrad(() => model.forward({ ...source, labels }));
  const b = T.noGrad(() => model.forward({ ...source, labels, decoderInputIds: int([[1, 5, 6], [1, 7, 2]]), decoderAttentionMask: float([[1, 1, 1], [1, 1, 1]]) }));
  await assertClose(a.logits, b.logits, 1e-6, 'logits');
  assert.ok(Math.abs((await a.loss!.item()) - (await b.loss!.item())) < 1e-6);
});

/** Decodes `ids` one token at a time through the caches and stacks the logits. */
async function stepwise(model: EncoderDecoderModel, source: { inputIds: T.Tensor; attentionMask: T.Tensor }, ids: number[][]): Promise<T.Tensor> {
  return T.noGrad(() => {
    const encoded = model.encode(source.inputIds, source.attentionMask);
    let cache: DecoderCache | undefined;
    const steps: T.Tensor[] = [];
    for (let t = 0; t < ids[0]!.length; t++) {
      const out = model.decode(int(ids.map((row) => [row[t]!])), encoded, cache);
      cache = out.cache;
      steps.push(out.logits);
    }
    return T.concat(steps, 1);
  });
}

for (const [name, encoder, decoder] of [['bert2bert', bertSide(), bertSide()], ['bert2gpt2 (widths differ: enc_to_dec_proj)', bertSide(), gptSide()],
  ['gpt2gpt2', gptSide(), gptSide()]] as const) {
  test(`${name}: decoding step by step through the caches equals teacher forcing; padding of the source changes nothing`, async () => {
    const model = tiny(encoder, decoder);
    assert.equal(model.enc_to_dec_proj !== null, name.includes('proj'));
    const ids = [[1, 5, 9, 4, 2], [1, 8, 3, 3, 6]];
    const source = { inputIds: int([[3, 4, 5, 6, 7], [3, 9, 8, 0, 0]]), attentionMask: float([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]) };
    const full = T.noGrad(() => model.forward({ ...source, decoderInputIds: int(ids) }).logits);
    await assertClose(await stepwise(model, source, ids), full, 1e-5, 'stepwise');
    const alone = T.noGrad(() => model.forward({ inputIds: int([[3, 9, 8]]), decoderInputIds: int([ids[1]!]) }).logits);
    await assertClose(T.slice(full, 0, 1, 2), alone, 1e-5, 'padded source');
  });
}

test('the HF names of each side: BERT and GPT-2 cross-attention, the projection between widths', () => {
  const names = tiny(bertSide(), gptSide()).namedParameters().map(([n]) => n);
  for (const key of ['encoder.embeddings.word_embeddings.weight', 'encoder.pooler.dense.weight', 'decoder.transformer.h.0.crossattention.c_attn.weight',
    'decoder.transformer.h.0.crossattention.q_attn.weight', 'decoder.transformer.h.1.crossattention.c_proj.bias', 'decoder.transformer.h.0.ln_cross_attn.weight',
    'enc_to_dec_proj.weight', 'enc_to_dec_proj.bias']) {
    assert.ok(names.includes(key), key);
  }
  const bert = tiny(bertSide(), bertSide()).namedParameters().map(([n]) => n);
  for (const key of ['decoder.bert.encoder.layer.1.crossattention.self.key.weight', 'decoder.bert.encoder.layer.0.crossattention.output.LayerNorm.bias', 'decoder.cls.predictions.bias']) {
    assert.ok(bert.includes(key), key);
  }
  assert.ok(!bert.some((n) => n.startsWith('decoder.bert.pooler') || n.startsWith('encoder.encoder.layer.0.crossattention')), 'no decoder pooler, no encoder cross-attention');
});

test('tie_encoder_decoder: one parameter for both sides, saved once under the encoder name; the pooler and cross-attention stay apart', async () => {
  const model = tiny(bertSide(), bertSide(), true);
  const encoder = model.encoder as BertModel, decoder = model.decoder as BertLMHeadModel;
  assert.equal(encoder.encoder.layer[0]!.attention.self.query.weight, decoder.bert.encoder.layer[0]!.attention.self.query.weight);
  const names = model.namedParameters().map(([n]) => n);
  assert.ok(names.includes('encoder.embeddings.word_embeddings.weight') && !names.includes('decoder.bert.embeddings.word_embeddings.weight'));
  assert.ok(names.includes('encoder.pooler.dense.weight') && names.includes('decoder.bert.encoder.layer.0.crossattention.self.query.weight'));
  const untied = tiny(bertSide(), bertSide(), false);
  assert.ok(model.numParameters() < untied.numParameters() * 0.7, `${model.numParameters()} vs ${untied.numParameters()}`);
  const dir = tmp();
  await savePretrained(model, dir);
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).tie_encoder_decoder, true);
  const back = (await loadPretrained(dir)).model as EncoderDecoderModel;
  const inputs = { inputIds: int([[3, 4, 5]]), labels: int([[6, 7, 2]]) };
  await assertClose(T.noGrad(() => back.forward(inputs).logits), T.noGrad(() => model.forward(inputs).logits), 0, 'tied reload');
  assert.throws(() => tiny(bertSide(), gptSide(), true), /tie_encoder_decoder needs an encoder and a decoder of one type and shape/);
});

test('warm start: a BERT checkpoint on both sides (its MLM head as the decoder\'s), a GPT-2 decoder; the cross-attention new and listed', async () => {
  T.manualSeed(3);
  const bert = new BertForPreTraining(bertConfig({ vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 24 }));
  const gpt = new GPT(gptConfig({ vocab_size: 30, n_positions: 24, n_embd: 24, n_layer: 2, n_head: 2 }));
  const bertDir = tmp(), gptDir = tmp();
  await savePretrained(bert, bertDir);
  await savePretrained(gpt, gptDir);
  const { model, report } = await warmStartEncoderDecoder({ dir: bertDir }, { dir: bertDir }, { decoder_start_token_id: 2, pad_token_id: 0 });
  assert.deepEqual(report.encoder!.unexpected.sort(), ['cls.predictions.bias', 'cls.predictions.transform.LayerNorm.bias', 'cls.predictions.transform.LayerNorm.weight',
    'cls.predictions.transform.dense.bias', 'cls.predictions.transform.dense.weight', 'cls.seq_relationship.bias', 'cls.seq_relationship.weight']);
  assert.ok(report.newlyInitialized.length > 0 && report.newlyInitialized.every((n) => n.includes('.crossattention.')), report.newlyInitialized.join(', '));
  assert.equal(report.newlyInitialized.length, 2 * 10, 'query, key, value, output dense and LayerNorm (weight and bias each) per layer');
  await assertClose((model.encoder as BertModel).embeddings.word_embeddings.weight, bert.bert.embeddings.word_embeddings.weight, 0, 'encoder embeddings');
  await assertClose((model.decoder as BertLMHeadModel).cls.predictions.bias, bert.cls.predictions.bias, 0, 'decoder MLM head');
  const b2g = await warmStartEncoderDecoder({ dir: bertDir }, { dir: gptDir }, { decoder_start_token_id: 0, pad_token_id: 0 });
  assert.deepEqual(b2g.report.newlyInitialized.filter((n) => !/crossattention|ln_cross_attn/.test(n)), ['enc_to_dec_proj.weight', 'enc_to_dec_proj.bias']);
  const scratch = await warmStartEncoderDecoder({ config: bertSide() }, { dir: gptDir }, { decoder_start_token_id: 0, pad_token_id: 0 });
  assert.ok(scratch.report.encoder === null && scratch.report.newlyInitialized.some((n) => n.startsWith('encoder.')));
  await assert.rejects(() => warmStartEncoderDecoder({ dir: FIXTURE }, { dir: gptDir }, { decoder_start_token_id: 0, pad_token_id: 0 }), /cannot be the encoder of an encoder-decoder.*load it with loadPretrained/);
});

test('bad configs are errors that name the field', () => {
  const raw = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
  const { decoder_start_token_id: _, ...noStart } = raw;
  assert.throws(() => encoderDecoderFamily.configFromJson(noStart, 'x/config.json'), /x\/config.json: decoder_start_token_id is not set/);
  assert.throws(() => encoderDecoderFamily.configFromJson({ ...raw, decoder_start_token_id: 500 }, 'x/config.json'), /decoder_start_token_id must be a token id of the decoder's vocabulary \(0..98\), got 500/);
  assert.throws(() => encoderDecoderFamily.configFromJson({ ...raw, encoder: { ...raw.encoder, model_type: 't5' } }, 'x/config.json'), /x\/config.json: encoder: model_type 't5' is not implemented/);
  assert.throws(() => encoderDecoderFamily.configFromJson({ ...raw, decoder: { ...raw.decoder, cross_attention_hidden_size: 32 } }, 'x/config.json'),
    /x\/config.json: if cross_attention_hidden_size is specified in the decoder's configuration, it has to be equal to the encoder's hidden_size; got 32 for decoder.cross_attention_hidden_size and 64 for encoder.hidden_size/);
  assert.throws(() => encoderDecoderFamily.configFromJson({ ...raw, decoder: { ...raw.decoder, cross_attention_hidden_size: 'wide' } }, 'x/config.json'), /x\/config.json: decoder: field 'cross_attention_hidden_size' is "wide", expected a positive integer or null/);
  assert.throws(() => encoderDecoderFamily.configFromJson({ ...raw, decoder: { ...raw.decoder, hidden_size: 62 } }, 'x/config.json'), /x\/config.json: decoder: hidden_size 62 is not divisible/);
});

// ---------------------------------------------------------------------------------------------------------------
// Sides of different widths

interface WidthCase {
  name: string; config: Record<string, unknown>; weights: Record<string, { shape: number[]; data: number[] }>;
  decoder_input_ids: number[][]; logits: number[]; loss: number; grads: Record<string, number[]>;
}
const widths = JSON.parse(readFileSync(new URL('../fixtures/encoder-decoder/widths.json', import.meta.url), 'utf8')) as {
  input_ids: number[][]; attention_mask: number[][]; labels: number[][]; cases: WidthCase[];
};

function closeTo(what: string, got: ArrayLike<number>, want: readonly number[], tol: number): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    assert.ok(d <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]} (diff ${d})`);
  }
}

/** The fixture's model: its config.json fields read by the family, its weights loaded by their checkpoint names. */
function widthsModel(c: WidthCase): EncoderDecoderModel {
  const model = new EncoderDecoderModel(encoderDecoderFamily.configFromJson(c.config, `widths.json ${c.name}`));
  const tensors = new Map<string, SafetensorsTensor>(Object.entries(c.weights).map(([k, w]) => [k, { dtype: 'F32', shape: w.shape, data: Float32Array.from(w.data) }]));
  const report = loadTensors(model, tensors, `widths.json ${c.name}`);
  assert.deepEqual(report.unexpected, [], 'every fixture tensor has a place');
  assert.deepEqual(report.newlyInitialized, [], 'every parameter comes from the fixture');
  return model.eval();
}

for (const c of widths.cases) {
  test(`${c.name}, widths ${c.name === 'bert2gpt2' ? '8 -> 12' : '12 -> 8'}: enc_to_dec_proj, the logits, the loss and every gradient match the plain-torch EncoderDecoderModel`, async () => {
    const model = widthsModel(c);
    const [e, d] = c.name === 'bert2gpt2' ? [8, 12] : [12, 8];
    assert.ok(model.enc_to_dec_proj, 'widths differ and no cross_attention_hidden_size: the projection is there');
    assert.deepEqual(model.enc_to_dec_proj.weight.shape, [d, e]);
    assert.deepEqual(model.enc_to_dec_proj.bias!.shape, [d]);
    const out = model.forward({ inputIds: int(widths.input_ids), attentionMask: float(widths.attention_mask), labels: int(widths.labels) });
    assert.deepEqual(out.logits.shape, [2, 4, model.config.decoder.vocab_size]);
    assert.deepEqual(out.encoderHiddenStates.at(-1)!.shape.at(-1), e, "the encoder's states keep its width");
    assert.deepEqual(Array.from(await shiftTokensRight(int(widths.labels), 0, 1).data()), c.decoder_input_ids.flat(), 'decoder inputs: the labels shifted right');
    closeTo('logits', await out.logits.data(), c.logits, 2e-5);
    closeTo('loss', [await out.loss!.item()], [c.loss], 2e-5);
    out.loss!.backward();
    const params = new Map(model.namedParameters());
    assert.deepEqual([...params.keys()].filter((k) => params.get(k)!.grad).sort(), Object.keys(c.grads).sort(), 'the parameters on the loss\'s path');
    for (const [name, grad] of Object.entries(c.grads)) closeTo(`d ${name}`, await params.get(name)!.grad!.data(), grad, 1e-4);
  });
}

test('widths that differ: saved with enc_to_dec_proj.weight [decoder, encoder] and each side\'s own width in config.json, reloaded to the same logits', async () => {
  const model = widthsModel(widths.cases.find((c) => c.name === 'bert2gpt2')!);
  const dir = tmp();
  await savePretrained(model, dir);
  const saved = (await readSafetensors(join(dir, 'model.safetensors'))).tensors;
  assert.deepEqual(saved.get('enc_to_dec_proj.weight')!.shape, [12, 8]);
  assert.deepEqual(saved.get('enc_to_dec_proj.bias')!.shape, [12]);
  assert.deepEqual(saved.get('decoder.transformer.h.0.crossattention.c_attn.weight')!.shape, [12, 24], 'GPT-2 cross-attention keys and values from the projected (decoder-wide) states');
  assert.deepEqual([...saved.keys()].sort(), Object.keys(widths.cases[0]!.weights).sort(), 'the keys transformers saves: no tied LM-head copy');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(config.encoder.hidden_size, 8);
  assert.equal(config.decoder.n_embd, 12);
  assert.ok(!('cross_attention_hidden_size' in config.decoder), 'unset, so not written');
  const back = (await loadPretrained(dir)).model as EncoderDecoderModel;
  const inputs = { inputIds: int(widths.input_ids), attentionMask: float(widths.attention_mask), labels: int(widths.labels) };
  await assertClose(T.noGrad(() => back.forward(inputs).logits), T.noGrad(() => model.forward(inputs).logits), 0, 'reloaded logits');
});

test('cross_attention_hidden_size: must be the encoder\'s width (transformers\' error); for BERT and GPT-2 decoders also the decoder\'s; then no projection', async () => {
  const cfg = (encoder: SideConfig, decoder: SideConfig) => encoderDecoderConfig({ encoder, decoder, decoder_start_token_id: 1, pad_token_id: 0 });
  // bert 16 -> gpt2 24
  assert.throws(() => cfg(bertSide(), gptSide({ cross_attention_hidden_size: 24 })),
    /if cross_attention_hidden_size is specified in the decoder's configuration, it has to be equal to the encoder's hidden_size; got 24 for decoder.cross_attention_hidden_size and 16 for encoder.hidden_size/);
  assert.throws(() => cfg(bertSide(), gptSide({ cross_attention_hidden_size: 16 })),
    /decoder: cross_attention_hidden_size 16 is the encoder's width but not the decoder's \(24\): a gpt2 decoder's crossattention.c_attn \(Conv1D\(2 \* n_embd, n_embd\)\) reads states of its own width/);
  assert.throws(() => cfg(gptSide(), bertSide({ cross_attention_hidden_size: 24 })), /a bert decoder's crossattention.self.key\/value \(nn.Linear\(hidden_size, hidden_size\)\)/);
  assert.throws(() => cfg(bertSide(), bertSide({ cross_attention_hidden_size: 0 })), /cross_attention_hidden_size must be a positive integer or null, got 0/);
  // equal widths: accepted, the same model as without it, and written back
  const model = tiny(bertSide(), bertSide({ cross_attention_hidden_size: 16 }));
  assert.equal(model.enc_to_dec_proj, null);
  assert.equal(model.config.decoder.cross_attention_hidden_size, 16);
  const dir = tmp();
  await savePretrained(model, dir);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(config.decoder.cross_attention_hidden_size, 16);
  assert.ok(!('cross_attention_hidden_size' in config.encoder));
  const back = (await loadPretrained(dir)).model as EncoderDecoderModel;
  assert.equal(back.config.decoder.cross_attention_hidden_size, 16);
  const inputs = { inputIds: int([[3, 4, 5]]), labels: int([[6, 7, 2]]) };
  await assertClose(T.noGrad(() => back.forward(inputs).logits), T.noGrad(() => model.forward(inputs).logits), 0, 'reloaded logits');
  // a decoder checkpoint's config.json brings its cross_attention_hidden_size into a warm start, as AutoConfig does
  T.manualSeed(4);
  const gptDir = tmp(), bertDir = tmp();
  await savePretrained(new GPT(gptConfig({ vocab_size: 30, n_positions: 24, n_embd: 24, n_layer: 2, n_head: 2 })), gptDir);
  await savePretrained(new BertModel(bertConfig({ vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 24 })), bertDir);
  const gptConfigPath = join(gptDir, 'config.json');
  const raw = JSON.parse(readFileSync(gptConfigPath, 'utf8'));
  writeFileSync(gptConfigPath, JSON.stringify({ ...raw, cross_attention_hidden_size: 32 }));
  await assert.rejects(() => warmStartEncoderDecoder({ dir: bertDir }, { dir: gptDir }, { decoder_start_token_id: 0, pad_token_id: 0 }), /got 32 for decoder.cross_attention_hidden_size and 16 for encoder.hidden_size/);
});

test('warm start from checkpoints of different widths (BERT 16, GPT-2 24): enc_to_dec_proj and the cross-attention new and listed; it trains', async () => {
  T.manualSeed(5);
  const bertDir = tmp(), gptDir = tmp();
  await savePretrained(new BertForPreTraining(bertConfig({ vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 24 })), bertDir);
  await savePretrained(new GPT(gptConfig({ vocab_size: 30, n_positions: 24, n_embd: 24, n_layer: 2, n_head: 2 })), gptDir);
  for (const [encoder, decoder, e, d] of [[bertDir, gptDir, 16, 24], [gptDir, bertDir, 24, 16]] as const) {
    const { model, report } = await warmStartEncoderDecoder({ dir: encoder }, { dir: decoder }, { decoder_start_token_id: 1, pad_token_id: 0, eos_token_id: 2 });
    assert.deepEqual(model.enc_to_dec_proj!.weight.shape, [d, e]);
    const notCross = report.newlyInitialized.filter((n) => !/crossattention|ln_cross_attn/.test(n));
    assert.deepEqual(notCross, ['enc_to_dec_proj.weight', 'enc_to_dec_proj.bias'], `${e} -> ${d}`);
    assert.ok(report.newlyInitialized.length > 2);
    model.train();
    const out = model.forward({ inputIds: int([[3, 4, 5, 6], [7, 8, 0, 0]]), attentionMask: float([[1, 1, 1, 1], [1, 1, 0, 0]]), labels: int([[5, 6, 2], [9, 2, -100]]) });
    out.loss!.backward();
    assert.ok(Number.isFinite(await out.loss!.item()));
    const g = await model.enc_to_dec_proj!.weight.grad!.data();
    assert.ok(g.some((x) => x !== 0), 'the projection receives a gradient');
  }
});
