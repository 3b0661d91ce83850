// From a model source to a task model: a Hugging Face directory (ours or transformers'), word vectors, or
// `scratch:` (the same architecture with random weights, the baseline), under the task's head in the chosen mode.
// Fine-tuned models are transformers' head classes and save as their directories; frozen-feature models save their
// new top and a transfer.json naming the encoder they read.
import { BertModel } from '../../models/bert.js';
import type { PretrainedModule } from '../../models/family.js';
import { GPT2ForSequenceClassification, GPT2ForTokenClassification, GPT2Model, type GPTConfig } from '../../models/gpt.js';
import { readSafetensors } from '../../io/safetensors.js';
import { labelConfig, type LabelConfig } from '../../models/heads.js';
import { loadPretrained, modelFromConfig } from '../../models/pretrained.js';
import { WordVectors } from '../../models/vectors.js';
import { allowedTransitions } from '../../nn/crf.js';
import type { Module } from '../../nn/index.js';
import { readJsonFile } from '../../io/hf.js';
import { fsp, nodePath } from '../../platform/node.js';
import { noGrad } from '../../tensor/autograd.js';
import * as ops from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Tokenizer } from '../../text/tokenizer.js';
import { BertEncoder, GPT2Encoder, GPT_TASK_TOKENS, StaticEncoder, gptTaskTemplate, type Encoder, type OovPolicy } from './encoders.js';
import { encoderLoader } from './encoder-loaders.js';
import { FeatureModel, FinetunedModel, type HfHead, type TaskKind, type TaskModel, type TransferMode } from './task-model.js';

/** Where the pretrained weights come from, and how they are used. */
export interface TransferSpec {
  /**
   * A model directory (config.json + model.safetensors, with tokenizer.json or vocab.txt beside them), a word-vector
   * file (.bin, .txt, .vec, .safetensors), or `scratch:<model directory>`: that directory's architecture with random
   * weights (and its tokenizer).
   */
  model: string;
  kind: TaskKind;
  /** Label names in id order (none for regression). */
  labels: readonly string[];
  mode: TransferMode;
  /** A tokenizer for a model directory that has none beside it (tokenizer.json, vocab.txt). */
  tokenizer?: string;
  /** A checkpoint that already has a task head with other labels: start a new head (else that is an error). */
  resetHead?: boolean;
  /** GPT: the auxiliary LM loss weight (Radford et al. 2018: 0.5). Default 0.5 for GPT, unused otherwise. */
  lmWeight?: number;
  /** Frozen features: a scalar mix of all layers (default) or one layer by index. */
  layer?: 'mix' | number;
  /** Frozen features: normalise each layer before the mix (AllenNLP's do_layer_norm). */
  layerNorm?: boolean;
  /** Word vectors: how out-of-vocabulary words are handled. */
  oov?: OovPolicy;
  /** How words join into the text the tokenizer reads: ' ' (default), or '' for character-level Chinese. */
  separator?: string;
  /** Frozen features and word vectors: a linear top (default), a BiLSTM, or a BiLSTM-CRF (tagging). */
  head?: 'linear' | 'bilstm' | 'bilstm-crf';
}

/** A built task model, with what was new in it and what a directory needs to rebuild it. */
export interface BuiltModel {
  taskModel: TaskModel;
  /** Weights initialised new rather than loaded (the head, added tokens), for the user to see. */
  newWeights: string[];
  /** Writes what rebuilding needs besides the weights (tokenizer, transfer.json) into a directory. */
  saveExtras(dir: string): Promise<void>;
}

const VECTOR_FILE = /\.(bin|txt|vec|safetensors)$/i;

async function exists(path: string): Promise<boolean> {
  return fsp.stat(path).then(() => true, () => false);
}

/** The tokenizer saved beside a model: tokenizer.json, else vocab.txt; or the one given. */
async function tokenizerOf(dir: string, given?: string): Promise<Tokenizer> {
  if (given) return Tokenizer.fromFile(given);
  for (const name of ['tokenizer.json', 'vocab.txt']) {
    const path = nodePath.join(dir, name);
    if (await exists(path)) return Tokenizer.fromFile(path);
  }
  throw new Error(`${dir}: no tokenizer.json or vocab.txt beside the model; give one with --tokenizer`);
}

/** The transformers head class for a task on a model type. */
function headArchitecture(modelType: string, kind: TaskKind): string {
  const token = kind === 'token-classification';
  if (modelType === 'bert') return token ? 'BertForTokenClassification' : 'BertForSequenceClassification';
  if (modelType === 'gpt2') return token ? 'GPT2ForTokenClassification' : 'GPT2ForSequenceClassification';
  throw new Error(`transfer: no task heads for model_type '${modelType}' (bert and gpt2 have them)`);
}

/** The label fields of a task's config. */
function taskLabels(kind: TaskKind, labels: readonly string[]): Partial<LabelConfig> {
  if (kind === 'regression') return { ...labelConfig(1), problem_type: 'regression' };
  return { ...labelConfig(labels), problem_type: kind === 'token-classification' ? null : 'single_label_classification' };
}

/** The labels a checkpoint's head was trained with, when its architecture is a task head. */
function checkpointLabels(config: Record<string, unknown>): string[] | null {
  const arch = Array.isArray(config.architectures) ? String(config.architectures[0]) : '';
  if (!/For(Sequence|Token)Classification$/.test(arch)) return null;
  const id2label = config.id2label as Record<string, string> | undefined;
  return id2label ? Object.keys(id2label).sort((a, b) => Number(a) - Number(b)).map((k) => id2label[k]!) : null;
}

/**
 * GPT-2 with GPT's task tokens: start, delimiter, extract and a padding token added to the tokenizer (numbered after
 * its vocabulary) and to the embeddings (new rows drawn as GPT-2 initialises them), so that `<start> A <delim> B
 * <extract>` reads as the paper's input transformations and the head reads the extract token's state.
 */
function withGptTaskTokens(head: GPT2ForSequenceClassification | GPT2ForTokenClassification, tok: Tokenizer): { head: typeof head; tokenizer: Tokenizer; added: string[] } {
  const names = [GPT_TASK_TOKENS.start, GPT_TASK_TOKENS.delimiter, GPT_TASK_TOKENS.extract, GPT_TASK_TOKENS.pad];
  const missing = names.filter((t) => tok.tokenToId(t) === undefined);
  const tokenizer = missing.length === 0 && tok.config.template ? tok : new Tokenizer({
    ...tok.config,
    addedTokens: [...(tok.config.addedTokens ?? []), ...missing.map((content, i) => ({ content, special: true, id: tok.vocabSize + i }))],
    template: gptTaskTemplate(),
  });
  const cfg = head.config;
  const vocab = tokenizer.vocabSize;
  const padId = tokenizer.tokenToId(GPT_TASK_TOKENS.pad)!;
  if (vocab === cfg.vocab_size && cfg.pad_token_id === padId) return { head, tokenizer, added: [] };
  const grown = new (head.constructor as new (c: GPTConfig) => typeof head)({ ...cfg, vocab_size: vocab, pad_token_id: padId });
  noGrad(() => {
    const old = head.transformer.wte.weight;
    const extra = ops.normal([vocab - cfg.vocab_size, cfg.n_embd], 0, cfg.initializer_range);
    const state = new Map<string, Tensor>(head.namedParameters());
    state.set('transformer.wte.weight', ops.concat([old, extra], 0));
    grown.loadStateDict(state);
  });
  return { head: grown, tokenizer, added: ['transformer.wte.weight (rows for the task tokens)'] };
}

/**
 * A CRF top over BIO (IOB2) tags decodes only valid sequences, AllenNLP's CrfTagger with label_encoding "BIO": no
 * I-X after O or after another type, none at the start. Other tag sets (POS) decode unconstrained.
 */
function crfConstraints(spec: TransferSpec): [number, number][] | undefined {
  if (spec.head !== 'bilstm-crf' || spec.kind !== 'token-classification') return undefined;
  return spec.labels.every((l) => l === 'O' || /^[BI]-./.test(l)) && spec.labels.some((l) => l.startsWith('B-')) ? allowedTransitions('BIO', spec.labels) : undefined;
}

/** Builds the task model a spec describes. */
export async function buildTaskModel(spec: TransferSpec): Promise<BuiltModel> {
  const frozen = spec.mode === 'frozen';
  if (VECTOR_FILE.test(spec.model) && !(await isDirectory(spec.model))) return staticModel(spec);
  const scratch = spec.model.startsWith('scratch:');
  const dir = scratch ? spec.model.slice('scratch:'.length) : spec.model;
  const config = await readJsonFile(nodePath.join(dir, 'config.json'));
  const modelType = String(config.model_type);
  if (modelType !== 'bert' && modelType !== 'gpt2') return featureModel(spec, dir, config, scratch);
  const tokenizer = await tokenizerOf(dir, spec.tokenizer);
  const labels = taskLabels(spec.kind, spec.labels);

  if (frozen) {
    // The encoder alone (its base model), fixed; the new top is the feature model's.
    const base = scratch ? modelFromConfig(config, { architecture: modelType === 'bert' ? 'BertModel' : 'GPT2Model' })
      : (await loadPretrained(dir, { architecture: modelType === 'bert' ? 'BertModel' : 'GPT2Model' })).model;
    const encoder = encoderOf(base, tokenizer, spec.separator);
    const outputs = spec.kind === 'regression' ? 1 : spec.labels.length;
    const taskModel = new FeatureModel(spec.kind, encoder, outputs, { frozen: true, layer: spec.layer, layerNorm: spec.layerNorm, head: spec.head, constraints: crfConstraints(spec) });
    return {
      taskModel, newWeights: taskModel.head.namedParameters().map(([n]) => `head.${n}`),
      saveExtras: async (out) => {
        tokenizer.save(nodePath.join(out, 'tokenizer.json'));
        await writeTransferJson(out, spec, { encoder: scratch ? spec.model : nodePath.resolve(dir) });
      },
    };
  }

  const architecture = headArchitecture(modelType, spec.kind);
  let head: PretrainedModule;
  let newWeights: string[];
  if (scratch) {
    head = modelFromConfig({ ...config, architectures: [architecture] }, { config: labels });
    newWeights = ['(all: scratch)'];
  } else {
    const had = checkpointLabels(config);
    const wanted = spec.kind === 'regression' ? ['LABEL_0'] : [...spec.labels];
    const sameHead = had && config.architectures && (config.architectures as string[])[0] === architecture && JSON.stringify(had) === JSON.stringify(wanted);
    if (had && !sameHead && !spec.resetHead) {
      throw new Error(`${dir} has a ${(config.architectures as string[])[0]} head for the labels ${had.join(', ')}, not ${wanted.join(', ')}; ` +
        'pass --reset-head (resetHead: true) to start a new head on its encoder');
    }
    if (had && !sameHead) {
      // A new head on the checkpoint's encoder: load the base model alone, then build the head model around it.
      const { model: base } = await loadPretrained(dir, { architecture: modelType === 'bert' ? 'BertModel' : 'GPT2Model' });
      head = modelFromConfig({ ...config, architectures: [architecture] }, { config: labels });
      const baseField = modelType === 'bert' ? 'bert' : 'transformer';
      ((head as unknown as Record<string, Module>)[baseField]!).loadStateDict(base.stateDict());
      newWeights = head.namedParameters().map(([n]) => n).filter((n) => !n.startsWith(`${baseField}.`));
    } else {
      const loaded = await loadPretrained(dir, { architecture, config: labels });
      head = loaded.model;
      newWeights = loaded.report.newlyInitialized;
    }
  }
  let tok = tokenizer;
  if (modelType === 'gpt2') {
    const grown = withGptTaskTokens(head as GPT2ForSequenceClassification | GPT2ForTokenClassification, tokenizer);
    head = grown.head;
    tok = grown.tokenizer;
    newWeights = [...newWeights, ...grown.added];
  }
  const encoder = encoderOf(baseOf(head), tok, spec.separator);
  if (typeof spec.mode === 'object') freezeBelow(encoder, spec.mode.freezeBelow);
  const isGpt = modelType === 'gpt2';
  const taskModel = new FinetunedModel(spec.kind, head as unknown as HfHead, encoder, {
    lmWeight: isGpt ? spec.lmWeight ?? 0.5 : 0,
    lmHead: isGpt ? (baseOf(head) as GPT2Model).wte.weight : undefined,
    symmetric: isGpt && spec.kind === 'regression',
  });
  return {
    taskModel, newWeights,
    saveExtras: async (out) => { tok.save(nodePath.join(out, 'tokenizer.json')); await writeTransferJson(out, spec, {}); },
  };
}

/** The base model inside a transformers head class. */
function baseOf(head: PretrainedModule): BertModel | GPT2Model {
  const h = head as unknown as { bert?: BertModel; transformer?: GPT2Model };
  return (h.bert ?? h.transformer)!;
}

function encoderOf(base: PretrainedModule | BertModel | GPT2Model, tokenizer: Tokenizer, separator?: string): Encoder {
  if (base instanceof BertModel) return new BertEncoder(base, tokenizer, separator);
  if (base instanceof GPT2Model) return new GPT2Encoder(base, tokenizer, separator);
  throw new Error(`transfer: ${base.constructor.name} has no encoder adapter`);
}

/** Freezes the embeddings and the lowest K layers (mode { freezeBelow: K }). */
export function freezeBelow(encoder: Encoder, k: number): void {
  const layers = encoder.layers;
  if (!(Number.isInteger(k) && k >= 0 && k < layers.length)) {
    throw new RangeError(`freezeBelow must be an integer in [0, ${layers.length - 1}] (the embeddings and up to ${layers.length - 1} layers), got ${k}`);
  }
  // layers[0] is the embeddings: K frozen layers are layers[0..K]
  for (let i = 0; i <= k; i++) layers[i]!.requireGrad(false);
}

async function isDirectory(path: string): Promise<boolean> {
  return fsp.stat(path).then((s) => s.isDirectory(), () => false);
}

/** Another model type's encoder (ELMo, CoVe, NNLM...) under a new top: fixed (frozen) or trained with it (finetune). */
async function featureModel(spec: TransferSpec, dir: string, config: Record<string, unknown>, scratch: boolean): Promise<BuiltModel> {
  const loader = encoderLoader(String(config.model_type), nodePath.join(dir, 'config.json'));
  const encoder = scratch ? await loader.scratch(dir, config) : await loader.load(dir, config);
  if (typeof spec.mode === 'object') freezeBelow(encoder, spec.mode.freezeBelow);
  const frozen = spec.mode === 'frozen';
  const taskModel = new FeatureModel(spec.kind, encoder, spec.kind === 'regression' ? 1 : spec.labels.length, {
    frozen, layer: spec.layer, layerNorm: spec.layerNorm, head: spec.head, constraints: crfConstraints(spec),
  });
  return {
    taskModel, newWeights: taskModel.head.namedParameters().map(([n]) => `head.${n}`),
    saveExtras: (out) => writeTransferJson(out, spec, { encoder: scratch ? spec.model : nodePath.resolve(dir) }),
  };
}

/** Word vectors as the encoder: fixed (frozen) or trained (finetune), under the feature model's top. */
async function staticModel(spec: TransferSpec): Promise<BuiltModel> {
  const vectors = await WordVectors.load(spec.model);
  const encoder = new StaticEncoder(vectors, { oov: spec.oov });
  const frozen = spec.mode !== 'finetune';
  if (typeof spec.mode === 'object') throw new Error('word vectors have one layer: use --mode frozen or finetune');
  const taskModel = new FeatureModel(spec.kind, encoder, spec.kind === 'regression' ? 1 : spec.labels.length, { frozen, dropout: 0.1, head: spec.head, constraints: crfConstraints(spec) });
  return {
    taskModel, newWeights: taskModel.head.namedParameters().map(([n]) => `head.${n}`),
    saveExtras: (out) => writeTransferJson(out, spec, { encoder: nodePath.resolve(spec.model) }),
  };
}

/** Options of `loadEncoder`. */
export interface LoadEncoderOptions {
  /** A tokenizer for a model directory that has none beside it. */
  tokenizer?: string;
  /** How words join into the text the tokenizer reads (default ' '). */
  separator?: string;
  /** Word vectors: how out-of-vocabulary words are handled. */
  oov?: OovPolicy;
}

/**
 * The encoder alone, from what `TransferSpec.model` takes: a model directory (its base model: BERT, GPT-2, or any
 * model_type with an encoder loader), a word-vector file, or `scratch:<model directory>`. For probes and features.
 */
export async function loadEncoder(model: string, opts: LoadEncoderOptions = {}): Promise<Encoder> {
  if (VECTOR_FILE.test(model) && !(await isDirectory(model))) return new StaticEncoder(await WordVectors.load(model), { oov: opts.oov });
  const scratch = model.startsWith('scratch:');
  const dir = scratch ? model.slice('scratch:'.length) : model;
  const config = await readJsonFile(nodePath.join(dir, 'config.json'));
  const modelType = String(config.model_type);
  if (modelType !== 'bert' && modelType !== 'gpt2') {
    const loader = encoderLoader(modelType, nodePath.join(dir, 'config.json'));
    return scratch ? loader.scratch(dir, config) : loader.load(dir, config);
  }
  const architecture = modelType === 'bert' ? 'BertModel' : 'GPT2Model';
  const base = scratch ? modelFromConfig(config, { architecture }) : (await loadPretrained(dir, { architecture })).model;
  return encoderOf(base, await tokenizerOf(dir, opts.tokenizer), opts.separator);
}

/** transfer.json: how a saved task model was built (task, labels, mode, the encoder it reads). */
async function writeTransferJson(dir: string, spec: TransferSpec, extra: Record<string, unknown>): Promise<void> {
  const { model, kind, labels, mode, layer, layerNorm, oov, separator, lmWeight, head } = spec;
  await fsp.writeFile(nodePath.join(dir, 'transfer.json'), `${JSON.stringify({ format: 'pretrain.transfer', version: 1, model, kind, labels, mode, layer, layerNorm, oov, separator, lmWeight, head, ...extra }, null, 2)}\n`);
}

/** Reads transfer.json and rebuilds the task model with the saved weights (for evaluate and predict). */
export async function loadTaskModel(dir: string): Promise<{ built: BuiltModel; spec: TransferSpec }> {
  const meta = await readJsonFile(nodePath.join(dir, 'transfer.json'));
  if (meta.format !== 'pretrain.transfer') throw new Error(`${dir}/transfer.json: not a transfer model (format '${String(meta.format)}')`);
  const spec = meta as unknown as TransferSpec & { encoder?: string };
  if (spec.mode === 'frozen' || spec.encoder) {
    // Rebuild on the encoder it read, then put the saved new top (and any trained encoder layers) back.
    const built = await buildTaskModel({ ...spec, model: spec.encoder ?? spec.model, tokenizer: (await exists(nodePath.join(dir, 'tokenizer.json'))) ? nodePath.join(dir, 'tokenizer.json') : undefined });
    const { tensors } = await readSafetensors(nodePath.join(dir, 'model.safetensors'));
    const state = new Map([...tensors].map(([k, t]) => [k, ops.fromArray(t.data, t.shape, { dtype: 'float32' })]));
    built.taskModel.module.loadStateDict(state);
    return { built, spec };
  }
  // A fine-tuned model is a transformers directory of its own: the head and its labels load as they are.
  const built = await buildTaskModel({ ...spec, model: dir, tokenizer: nodePath.join(dir, 'tokenizer.json') });
  return { built, spec };
}

