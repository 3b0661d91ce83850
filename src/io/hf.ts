// Hugging Face model directories: config.json + model.safetensors (+ tokenizer.json), loaded into and saved from
// our GPT and BERT with transformers' checkpoint layout: same key names, GPT-2's [in, out] Conv1D weights, tied
// embeddings stored once, and config fields we do not use ignored rather than rejected.
import { fsp, nodePath } from '../platform/node.js';
import { BertForPreTraining, bertConfig, type BertConfig } from '../models/bert.js';
import { GPT, gptConfig, type GPTConfig } from '../models/gpt.js';
import type { Module } from '../nn/module.js';
import { fromArray } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { readSafetensors, writeSafetensors, type SafetensorsTensor } from './safetensors.js';

/** A model that can be stored as a Hugging Face directory. */
export type PretrainedModel = GPT | BertForPreTraining;

/** What loading found beyond a clean match. */
export interface LoadReport {
  /** Model parameters absent from the checkpoint (left at their initialisation, as transformers does). */
  missing: string[];
  /** Checkpoint tensors the model has no use for (ignored). */
  unexpected: string[];
}

const GPT_FIELDS: (keyof GPTConfig)[] = ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head', 'n_inner', 'activation_function',
  'resid_pdrop', 'embd_pdrop', 'attn_pdrop', 'layer_norm_epsilon', 'initializer_range', 'bos_token_id', 'eos_token_id', 'tie_word_embeddings', 'bias'];
const BERT_FIELDS: (keyof BertConfig)[] = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size',
  'hidden_act', 'hidden_dropout_prob', 'attention_probs_dropout_prob', 'max_position_embeddings', 'type_vocab_size', 'initializer_range',
  'layer_norm_eps', 'pad_token_id'];

function pick<T>(raw: Record<string, unknown>, fields: (keyof T)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const f of fields) if (raw[f as string] !== undefined) out[f] = raw[f as string] as T[keyof T];
  return out;
}

/** Builds the model that a transformers `config.json` describes (model_type 'gpt2' or 'bert'). */
export function modelFromConfig(raw: Record<string, unknown>, where = 'config.json'): PretrainedModel {
  const type = raw.model_type;
  if (type === 'gpt2') {
    const cfg = pick<GPTConfig>(raw, GPT_FIELDS);
    // transformers accepts 'gelu_new', 'gelu_pytorch_tanh' and 'gelu_fast' as the tanh form.
    if (typeof raw.activation_function === 'string' && /tanh|new|fast/.test(raw.activation_function)) cfg.activation_function = 'gelu_new';
    return new GPT(gptConfig(cfg));
  }
  if (type === 'bert') {
    const cfg = pick<BertConfig>(raw, BERT_FIELDS);
    if (typeof raw.hidden_act === 'string' && /tanh|new|fast/.test(raw.hidden_act)) cfg.hidden_act = 'gelu_new';
    return new BertForPreTraining(bertConfig(cfg));
  }
  throw new Error(`${where}: model_type '${String(type)}' is not supported (expected 'gpt2' or 'bert')`);
}

/** The transformers config.json for a model. */
export function configJson(model: PretrainedModel): Record<string, unknown> {
  if (model instanceof GPT) {
    // `bias` is ours (nanoGPT's bias=False), written only when it departs from GPT-2, so GPT-2 configs stay as transformers writes them.
    const { bias, ...hf } = model.config;
    return { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', ...hf, ...(bias ? {} : { bias }), torch_dtype: 'float32' };
  }
  return { architectures: ['BertForPreTraining'], model_type: 'bert', ...model.config, position_embedding_type: 'absolute', torch_dtype: 'float32' };
}

/**
 * Our parameter name for a checkpoint key, or null for keys that carry nothing we store: tied copies of the
 * embeddings, GPT-2's causal-mask buffers, position-id buffers. Keys from base models (GPT2Model, BertModel) lack
 * the `transformer.` / `bert.` prefix; TF-era BERT checkpoints call LayerNorm's parameters gamma and beta.
 */
export function ourKey(model: PretrainedModel, key: string): string | null {
  if (/(^|\.)attn\.(masked_)?bias$/.test(key) || key.endsWith('position_ids')) return null;
  if (key === 'lm_head.weight' || key === 'cls.predictions.decoder.weight' || key === 'cls.predictions.decoder.bias') return null;
  let k = key.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
  if (model instanceof GPT) {
    if (!k.startsWith('transformer.')) k = `transformer.${k}`;
  } else if (!k.startsWith('bert.') && !k.startsWith('cls.')) {
    k = `bert.${k}`;
  }
  return k;
}

/** Copies checkpoint tensors into the model by name, checking shapes; returns what did not match. */
export function loadTensors(model: PretrainedModel, tensors: Map<string, SafetensorsTensor>, where: string): LoadReport {
  const own = new Map(model.namedParameters());
  const state = new Map<string, Tensor>();
  const unexpected: string[] = [];
  for (const [key, t] of tensors) {
    const name = ourKey(model, key);
    if (name === null) continue;
    const param = own.get(name);
    if (!param) { unexpected.push(key); continue; }
    if (t.shape.length !== param.shape.length || t.shape.some((d, i) => d !== param.shape[i])) {
      throw new Error(`${where}: tensor '${key}' has shape [${t.shape.join(', ')}] but the model's '${name}' is [${param.shape.join(', ')}]`);
    }
    state.set(name, fromArray(t.data, t.shape, { dtype: 'float32' }));
  }
  const missing = [...own.keys()].filter((k) => !state.has(k));
  (model as Module).loadStateDict(state, false);
  return { missing, unexpected };
}

/** Loads a model from a Hugging Face directory (config.json + model.safetensors). */
export async function loadPretrained(dir: string): Promise<{ model: PretrainedModel; report: LoadReport }> {
  const configPath = nodePath.join(dir, 'config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await fsp.readFile(configPath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${configPath}: ${err instanceof SyntaxError ? `invalid JSON: ${err.message}` : (err as Error).message}`);
  }
  const model = modelFromConfig(raw, configPath);
  const weightsPath = nodePath.join(dir, 'model.safetensors');
  const { tensors } = await readSafetensors(weightsPath);
  const report = loadTensors(model, tensors, weightsPath);
  model.eval();
  return { model, report };
}

/** Saves a model as a Hugging Face directory that transformers' `from_pretrained` loads. Files are written atomically. */
export async function savePretrained(model: PretrainedModel, dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, p] of model.namedParameters()) {
    tensors.set(name, { dtype: 'F32', shape: [...p.shape], data: (await p.data()) as Float32Array });
  }
  await writeSafetensors(nodePath.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  const tmp = nodePath.join(dir, `config.json.tmp-${process.pid}`);
  await fsp.writeFile(tmp, `${JSON.stringify(configJson(model), null, 2)}\n`);
  await fsp.rename(tmp, nodePath.join(dir, 'config.json'));
}
