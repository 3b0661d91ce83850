// What a model file declares to be loadable from a Hugging Face directory: its family (`…Family` export) says which
// config.json `model_type` it reads, its config fields, the transformers architectures (base model and heads) it
// implements and how checkpoint keys map onto its parameters. pretrained.ts loads and saves through these.
import type { Module } from '../nn/module.js';

/** A model that loads from and saves to a Hugging Face directory: a Module with its family's config. */
export interface PretrainedModule extends Module {
  readonly config: object;
}

/** One transformers class a family implements, e.g. BertForSequenceClassification. */
export interface Architecture<C extends object> {
  /** transformers' class name, as config.json's `architectures` lists it. */
  readonly name: string;
  /** Our class; `savePretrained` finds a model's architecture by it. */
  readonly model: abstract new (config: C) => PretrainedModule;
  create(config: C): PretrainedModule;
  /** Whether the base model sits under the family's prefix ('bert.', 'transformer.'); false for the base model itself. */
  readonly prefixed: boolean;
  /**
   * Parameters of the base model that this architecture may find absent and initialise, by name prefix or pattern
   * (transformers' pooler: token-classification and masked-LM checkpoints have none; a decoder's cross-attention,
   * which an encoder's checkpoint lacks). Anything else missing from the base is an error.
   */
  readonly optionalBase?: readonly (string | RegExp)[];
}

/** A model family: everything the loader needs to know about one `model_type`. */
export interface ModelFamily<C extends object = object> {
  /** config.json's `model_type`. */
  readonly modelType: string;
  /** transformers' `base_model_prefix`: the base model's field in task models ('bert', 'transformer'). */
  readonly basePrefix: string;
  /** The architectures, the base model first. */
  readonly architectures: readonly Architecture<C>[];
  /** Our config from a config.json; fields we do not use are ignored, wrong types are errors naming `where`. */
  configFromJson(raw: Record<string, unknown>, where: string): C;
  /** The config.json fields of a config (without architectures and model_type). */
  configToJson(config: C): Record<string, unknown>;
  /**
   * Our name for a checkpoint key, before prefixes are matched, or null for keys that carry nothing we store:
   * buffers (position ids, causal masks) and tied copies of the embeddings.
   */
  renameKey(key: string): string | null;
}

/**
 * Reads config.json fields into a config: each field of `defaults` that `raw` has must have the default's type (or
 * be null where the default is null or the field is listed `nullable`; a field whose default is null may be a number
 * or a string, which the config's own check narrows); other fields are ignored.
 */
export function readConfigFields<C extends object>(raw: Record<string, unknown>, defaults: C, where: string, nullable: readonly (keyof C)[] = []): Partial<C> {
  const out: Partial<C> = {};
  for (const key of Object.keys(defaults) as (keyof C & string)[]) {
    const value = raw[key];
    if (value === undefined) continue;
    const want = defaults[key];
    const ok = value === null ? want === null || nullable.includes(key)
      : want === null ? typeof value === 'number' || typeof value === 'string'
        : typeof want === 'object' ? typeof value === 'object' && !Array.isArray(value)
          : typeof value === typeof want;
    if (!ok) throw new Error(`${where}: field '${key}' is ${JSON.stringify(value)}, expected ${want === null ? 'a number, a string or null' : typeof want}`);
    out[key] = value as C[keyof C & string];
  }
  return out;
}

/** Throws unless each field is a positive integer. */
export function checkSizes<C extends object>(where: string, cfg: C, fields: (keyof C & string)[]): void {
  for (const f of fields) {
    const v = cfg[f];
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new Error(`${where}: ${f} must be a positive integer, got ${String(v)}`);
  }
}
