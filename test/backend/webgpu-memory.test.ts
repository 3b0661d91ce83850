// WebGPU device memory: freed buffers are pooled and reused, an allocation beyond the device's limit names the
// tensor, and live device bytes stay flat over many training steps with no dispose calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { View } from '../../src/backend/backend.js';
import * as T from '../../src/tensor/index.js';
import { AdamW } from '../../src/optim/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { contiguousStrides } from '../../src/tensor/shape.js';
import { openWebGPU, withBackend } from '../helpers/backends.js';

const { gpu, skip } = await openWebGPU();

const out = (buf: object, shape: readonly number[]): View => ({ buf, dtype: 'float32', shape, strides: contiguousStrides(shape), offset: 0 });

test('webgpu: buffers are pooled: freeing and reallocating the same sizes does not grow device memory', { skip }, async () => {
  const g = gpu!;
  const sizes = [1000, 5000, 100000];
  const round = async () => {
    for (const n of sizes) g.free!(g.fill('float32', n, 1));
    const one = g.fill('float32', 1, 0);
    await g.read(out(one, [1])); // submits, after which freed buffers are reusable
    g.free!(one);
  };
  await round();
  const before = g.memory();
  for (let i = 0; i < 20; i++) await round();
  const after = g.memory();
  // Live + parked + pooled only grows when a request is not served from the pool: buffers of earlier tests that
  // garbage collection frees meanwhile go from live to parked to pooled (or are destroyed), never adding to it.
  const total = (m: { liveBytes: number; pooledBytes: number; parkedBytes: number }) => m.liveBytes + m.parkedBytes + m.pooledBytes;
  // Without reuse, 20 rounds would add 20 rounds' bytes; allow less than one (a parked buffer can miss a request).
  const roundBytes = sizes.reduce((s, n) => s + 4 * n, 0);
  assert.ok(total(after) - total(before) < roundBytes, `device memory grew from ${total(before)} to ${total(after)} bytes`);
});

test('webgpu: an allocation beyond the device limit names the tensor size; float64 is refused', { skip }, () => {
  const g = gpu!;
  const n = Math.ceil(g.device.limits.maxBufferSize / 4) + 1024;
  assert.throws(() => g.fill('float32', n, 0), (e: Error) => e.name === 'DeviceMemoryError' && e.message.includes(`${n} × float32`));
  assert.throws(() => g.upload(new Float64Array(3), 'float64'), /float64/);
});

test('webgpu: device memory stays flat over many training steps with no dispose calls', { skip }, () => withBackend('webgpu', async () => {
  setFlagsFromString('--expose-gc'); // the test runner does not pass it
  const gc = runInNewContext('gc') as () => void;
  const settle = async () => { for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setImmediate(r)); } };
  const rng = new T.Generator(11);
  T.manualSeed(2);
  const model = new GPT(gptConfig({ vocab_size: 40, n_positions: 16, n_embd: 32, n_layer: 1, n_head: 2 }));
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const x = T.fromArray(Int32Array.from({ length: 36 }, () => Math.floor(rng.random() * 40)), [4, 9], { dtype: 'int32' });
  const step = async () => {
    const loss = model.forward({ inputIds: x.slice(1, 0, 8), targets: x.slice(1, 1, 9) }).loss!;
    opt.zeroGrad(); loss.backward(); opt.step();
    await loss.item();
  };
  for (let i = 0; i < 5; i++) await step();
  await settle();
  const warm = gpu!.memory().liveBytes;
  for (let i = 0; i < 30; i++) await step();
  await settle();
  const after = gpu!.memory().liveBytes;
  // Layer norm statistics and cross-entropy's log-sum-exp reach no tensor; they must be freed too.
  assert.ok(after <= warm * 1.05, `live device bytes grew from ${warm} to ${after} over 30 steps`);
}));
