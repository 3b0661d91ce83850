// Loading and saving Hugging Face model directories through the model families: the built-in ones (GPT-2, BERT, NNLM)
// and any a caller registers. io/hf.ts reads and writes the files; which model they hold is decided here.
import { readHfCheckpoint, writeHfCheckpoint } from '../io/hf.js';
import type { SafetensorsTensor } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import { fromArray } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { bertFamily } from './bert.js';
import type { Architecture, ModelFamily, PretrainedModule } from './family.js';
import { gpt2Family } from './gpt.js';
import { elmoFamily } from './elmo.js';
import { nnlmFamily } from './nnlm.js';
import { coveFamily } from './cove.js';
import { cnnFamily } from './cnn.js';
import { encoderDecoderFamily } from './encoder-decoder.js';

const families = new Map<string, ModelFamily>([gpt2Family, bertFamily, nnlmFamily, elmoFamily, coveFamily, encoderDecoderFamily, cnnFamily].map((f) => [f.modelType, f as unknown as ModelFamily]));

/** Registers a family under its model_type (replacing one of the same type), e.g. a model of one's own. */
export function registerModelFamily<C extends object>(family: ModelFamily<C>): void {
  families.set(family.modelType, family as unknown as ModelFamily);
}

/** The registered model types. */
export function listModelTypes(): string[] {
  return [...families.keys()];
}

/** The family of a model type, or an error that lists the registered ones. */
export function modelFamily(modelType: unknown, where = 'config.json'): ModelFamily {
  const family = typeof modelType === 'string' ? families.get(modelType) : undefined;
  if (!family) {
    throw new Error(`${where}: model_type ${modelType === undefined ? 'is missing' : `'${String(modelType)}' is not implemented`} (implemented: ${listModelTypes().join(', ')})`);
  }
  return family;
}

/** The family and architecture of one of our models, by its class. */
export function architectureOf(model: Module): { family: ModelFamily; architecture: Architecture<object> } {
  for (const family of families.values()) {
    const architecture = family.architectures.find((a) => a.model === model.constructor);
    if (architecture) return { family, architecture };
  }
  throw new Error(`${model.constructor.name} is not a registered model architecture, so it has no Hugging Face layout`);
}

/** What loading found beyond a clean match, as transformers reports it. */
export interface LoadReport {
  /** The architecture built. */
  architecture: string;
  /** Parameters of the head (or an optional part of the base) absent from the checkpoint, initialised new: train them. */
  newlyInitialized: string[];
  /** Checkpoint tensors the model has no place for (ignored), e.g. pretraining heads loaded into a classifier. */
  unexpected: string[];
}

/** Options of `loadPretrained`. */
export interface LoadOptions {
  /**
   * The transformers class to build (default: config.json's `architectures[0]`, else the base model), e.g.
   * 'BertForSequenceClassification' to put a new head on a pretrained encoder.
   */
  architecture?: string;
  /** Config fields to set over config.json's, e.g. labelConfig(['neg', 'pos']) for a new head. */
  config?: Record<string, unknown>;
}

/** Builds the model a config.json describes, with its parameters freshly initialised. */
export function modelFromConfig(raw: Record<string, unknown>, opts: LoadOptions = {}, where = 'config.json'): PretrainedModule {
  const family = modelFamily(raw.model_type, where);
  const merged = { ...raw, ...opts.config };
  const listed = Array.isArray(raw.architectures) ? raw.architectures[0] : undefined;
  const name = opts.architecture ?? (typeof listed === 'string' ? listed : family.architectures[0]!.name);
  const architecture = family.architectures.find((a) => a.name === name);
  if (!architecture) {
    throw new Error(`${where}: architecture '${name}' is not implemented for model_type '${family.modelType}' (implemented: ${family.architectures.map((a) => a.name).join(', ')})`);
  }
  return architecture.create(family.configFromJson(merged, where));
}

/**
 * Matches checkpoint tensors to a model's parameters by name, as transformers' from_pretrained does: keys of a base
 * model gain the family's prefix when loaded into a task model, and lose it when a task model's checkpoint is loaded
 * into the base model (its head keys are then unexpected). Shapes are checked; a parameter of the base model that
 * the checkpoint lacks is an error naming the file and the keys; a missing head is initialised new and reported.
 */
export function loadTensors(model: PretrainedModule, tensors: Map<string, SafetensorsTensor>, where: string): LoadReport {
  const { family, architecture } = architectureOf(model);
  const prefix = `${family.basePrefix}.`;
  const renamed = new Map<string, string>();
  for (const key of tensors.keys()) {
    const name = family.renameKey(key);
    if (name !== null) renamed.set(key, name);
  }
  const checkpointPrefixed = [...renamed.values()].some((k) => k.startsWith(prefix));
  const own = model.stateDict();
  const state = new Map<string, Tensor>();
  const unexpected: string[] = [];
  for (const [key, renamedKey] of renamed) {
    let name = renamedKey;
    if (architecture.prefixed && !checkpointPrefixed) name = prefix + name;
    else if (!architecture.prefixed && checkpointPrefixed) {
      if (!name.startsWith(prefix)) { unexpected.push(key); continue; }
      name = name.slice(prefix.length);
    }
    const param = own.get(name);
    if (!param) { unexpected.push(key); continue; }
    const t = tensors.get(key)!;
    if (t.shape.length !== param.shape.length || t.shape.some((d, i) => d !== param.shape[i])) {
      throw new Error(`${where}: tensor '${key}' has shape [${t.shape.join(', ')}] but ${architecture.name}'s '${name}' is [${param.shape.join(', ')}]`);
    }
    state.set(name, fromArray(t.data, t.shape, { dtype: t.data instanceof Int32Array ? 'int32' : 'float32' }));
  }
  const inBase = (name: string) => !architecture.prefixed || name.startsWith(prefix);
  const optional = (name: string) => architecture.optionalBase?.some((p) => (typeof p === 'string' ? name.startsWith(p) : p.test(name))) ?? false;
  const missing = [...own.keys()].filter((k) => !state.has(k));
  const missingBase = missing.filter((k) => inBase(k) && !optional(k));
  if (missingBase.length > 0) {
    const shown = missingBase.slice(0, 8).join(', ') + (missingBase.length > 8 ? `, ... (${missingBase.length} in all)` : '');
    throw new Error(`${where}: the checkpoint lacks weights of the ${architecture.name} body: ${shown}; ` +
      'it does not hold this model (does config.json describe these weights?)');
  }
  model.loadStateDict(state, false);
  return { architecture: architecture.name, newlyInitialized: missing, unexpected };
}

/** Loads a model from a Hugging Face directory (config.json + model.safetensors), in evaluation mode. */
export async function loadPretrained(dir: string, opts: LoadOptions = {}): Promise<{ model: PretrainedModule; report: LoadReport }> {
  const checkpoint = await readHfCheckpoint(dir);
  const model = modelFromConfig(checkpoint.config, opts, checkpoint.configPath);
  const report = loadTensors(model, checkpoint.tensors, checkpoint.weightsPath);
  model.eval();
  return { model, report };
}

/** The config.json of one of our models. */
export function configJson(model: PretrainedModule): Record<string, unknown> {
  const { family, architecture } = architectureOf(model);
  return { architectures: [architecture.name], model_type: family.modelType, ...family.configToJson(model.config), torch_dtype: 'float32' };
}

/**
 * Saves a model as a Hugging Face directory that transformers' from_pretrained (and `loadPretrained`) loads:
 * config.json and model.safetensors, each written once and atomically. Tied weights are one Parameter, stored once.
 */
export async function savePretrained(model: PretrainedModule, dir: string): Promise<void> {
  await writeHfCheckpoint(dir, configJson(model), await stateTensors(model));
}

/**
 * A module's state dict (parameters, then buffers such as running statistics) as safetensors entries: floats as
 * F32, integer buffers (a batch norm's num_batches_tracked) as I64, PyTorch's dtype for them.
 */
export async function stateTensors(model: Module): Promise<Map<string, SafetensorsTensor>> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, t] of model.stateDict()) {
    const data = await t.data();
    tensors.set(name, t.dtype === 'int32' ? { dtype: 'I64', shape: [...t.shape], data } : { dtype: 'F32', shape: [...t.shape], data: data as Float32Array });
  }
  return tensors;
}

