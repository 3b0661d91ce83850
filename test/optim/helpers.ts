// Shared by the optimizer tests: a reference backend without fused kernels, so both update paths get tested.
import { createReferenceBackend } from '../../src/backend/cpu/reference.js';
import { registerBackend, setBackend } from '../../src/backend/registry.js';

/** The reference backend minus its optional fused kernels: optimizers must fall back to composite ops on it. */
export const UNFUSED = 'cpu-reference-unfused';
registerBackend(UNFUSED, () => {
  const { adamw: _adamw, softmax: _softmax, layerNorm: _ln, layerNormBackward: _lnb, crossEntropy: _ce, crossEntropyBackward: _ceb, ...kernels } = createReferenceBackend();
  return { ...kernels, name: UNFUSED };
});

/** The backends every optimizer test runs on: the default reference one (fused AdamW) and the unfused one. */
export const BACKENDS = ['cpu', UNFUSED] as const;

/** Runs `fn` with `name` as the current backend, then goes back to the default one. */
export async function onBackend<T>(name: string, fn: () => Promise<T>): Promise<T> {
  setBackend(name);
  try {
    return await fn();
  } finally {
    setBackend('cpu');
  }
}
