// The per-backend test helper itself: each variant runs on its backend and the default comes back after it, the
// unfused reference lacks every fused kernel (and the reference has the ones it removes), withBackend restores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, setBackend } from '../../src/backend/registry.js';
import { createReferenceBackend } from '../../src/backend/cpu/reference.js';
import { BACKENDS, DEFAULT_BACKEND, FUSED_KERNELS, UNFUSED, forEachBackend, withBackend } from './backends.js';

const seen: string[] = [];

forEachBackend('a variant runs on its own backend', (b) => {
  assert.equal(getBackend(), b.backend);
  // The registry names its fast CPU default 'cpu'; every other backend carries its registered name.
  assert.equal(b.backend.name, b.name);
  seen.push(b.name);
}, { unfused: true });

test('after the variants, the default backend is selected again, and each variant ran on a distinct backend', () => {
  assert.equal(getBackend(), setBackend(DEFAULT_BACKEND));
  assert.equal(new Set(seen).size, seen.length);
  assert.ok(seen.includes('cpu-reference') && seen.includes(UNFUSED) && seen.includes('cpu-wasm'), `ran on ${seen.join(', ')}`);
});

test('the unfused reference has none of the optional kernels; the reference has those it drops', () => {
  const unfused = withBackend(UNFUSED, () => getBackend());
  assert.deepEqual(FUSED_KERNELS.filter((k) => unfused[k] !== undefined), []);
  const reference = createReferenceBackend();
  for (const k of ['softmax', 'layerNorm', 'layerNormBackward', 'crossEntropy', 'crossEntropyBackward', 'adamw'] as const) {
    assert.equal(typeof reference[k], 'function', `the reference backend has ${k}`);
  }
});

test('withBackend selects the backend for its callback and restores the previous one, also after a throw or rejection', async () => {
  const before = getBackend();
  assert.equal(withBackend('cpu-reference', () => getBackend().name), 'cpu-reference');
  assert.equal(getBackend(), before);
  assert.throws(() => withBackend('cpu-wasm', () => { throw new Error('inner'); }), /inner/);
  assert.equal(getBackend(), before);
  await assert.rejects(withBackend('cpu-wasm', async () => { await new Promise((r) => setImmediate(r)); throw new Error('later'); }), /later/);
  assert.equal(getBackend(), before);
});

forEachBackend('an excluded variant is reported as skipped, not run', () => {
  assert.fail('excluded variants must not run');
}, { exclude: Object.fromEntries(BACKENDS.map((name) => [name, 'excluded to check that an excluded variant does not run'])) });
