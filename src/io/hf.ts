// Hugging Face model directories as files: config.json beside model.safetensors, or beside the shards that
// model.safetensors.index.json lists (how transformers saves large models). Format only: which model the files
// hold is the model registry's business (models/registry.ts).
import { fsp, nodePath } from '../platform/node.js';
import { readSafetensors, writeFileAtomic, writeSafetensors, type SafetensorsTensor } from './safetensors.js';

/** The contents of a Hugging Face model directory. */
export interface HfCheckpoint {
  /** config.json, parsed. */
  config: Record<string, unknown>;
  configPath: string;
  /** Every weight, by checkpoint key. */
  tensors: Map<string, SafetensorsTensor>;
  /** The weights' file (the index file for sharded checkpoints), for messages. */
  weightsPath: string;
}

async function exists(path: string): Promise<boolean> {
  return fsp.stat(path).then(() => true, () => false);
}

/** Parses a JSON file, naming the file in any error. */
export async function readJsonFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: invalid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/** Reads config.json and the weights of a model directory. */
export async function readHfCheckpoint(dir: string): Promise<HfCheckpoint> {
  if (!(await exists(dir))) throw new Error(`${dir}: no such model directory`);
  const configPath = nodePath.join(dir, 'config.json');
  const config = await readJsonFile(configPath);
  const single = nodePath.join(dir, 'model.safetensors');
  if (await exists(single)) return { config, configPath, tensors: (await readSafetensors(single)).tensors, weightsPath: single };
  const indexPath = nodePath.join(dir, 'model.safetensors.index.json');
  if (await exists(indexPath)) {
    const map = (await readJsonFile(indexPath)).weight_map;
    if (typeof map !== 'object' || map === null) throw new Error(`${indexPath}: no weight_map`);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const file of new Set(Object.values(map as Record<string, string>))) {
      for (const [key, t] of (await readSafetensors(nodePath.join(dir, file))).tensors) tensors.set(key, t);
    }
    return { config, configPath, tensors, weightsPath: indexPath };
  }
  for (const name of ['pytorch_model.bin', 'tf_model.h5', 'flax_model.msgpack']) {
    if (await exists(nodePath.join(dir, name))) {
      throw new Error(`${dir}: the weights are in ${name}, which is not read here; save them as safetensors ` +
        "(transformers: model.save_pretrained(dir, safe_serialization=True), its default since 4.35)");
    }
  }
  throw new Error(`${dir}: no model.safetensors (or model.safetensors.index.json) beside config.json`);
}

/** Writes config.json and model.safetensors into a directory, each file atomically. */
export async function writeHfCheckpoint(dir: string, config: Record<string, unknown>, tensors: Map<string, SafetensorsTensor>): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  await writeSafetensors(nodePath.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeFileAtomic(nodePath.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}
