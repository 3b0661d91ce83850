// Model types other than the transformers (BERT, GPT-2, which have task-head classes of their own) become encoders
// through a loader each: the pretrained model from its directory, or its architecture with fresh weights for the
// `scratch:` baseline. Their task models are feature models (a new top over the encoder's states), frozen or trained.
import type { EncoderLoader } from './encoders.js';
import { nnlmEncoderLoader } from './nnlm-encoder.js';
import { coveEncoderLoader } from './cove-encoder.js';
import { elmoEncoderLoader } from './elmo-encoder.js';

// The built-in loaders, one line each (the loader lives beside its encoder).
const loaders = new Map<string, EncoderLoader>([
  ['nnlm', nnlmEncoderLoader],
  ['cove', coveEncoderLoader],
  ['elmo', elmoEncoderLoader],
]);

/** Makes another model_type usable as a transfer encoder (or replaces a built-in one). */
export function registerEncoderLoader(modelType: string, loader: EncoderLoader): void {
  loaders.set(modelType, loader);
}

/** The loader of a model_type, or an error listing the types that have one. */
export function encoderLoader(modelType: string, where: string): EncoderLoader {
  const loader = loaders.get(modelType);
  if (!loader) throw new Error(`${where}: model_type '${modelType}' has no transfer encoder (known: bert, gpt2, ${[...loaders.keys()].join(', ') || 'no others'})`);
  return loader;
}
