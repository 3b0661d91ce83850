// Bind-group caching on the WebGPU backend: repeated dispatches over the same pooled buffers make no new bind
// groups, results stay right while buffers are recycled or destroyed, and groups over destroyed buffers are dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { View } from '../../src/backend/backend.js';
import { createWebGPUBackendOn, type WebGPUBackend, type WebGPUOptions } from '../../src/backend/webgpu/backend.js';
import { openWebGPU } from '../helpers/backends.js';

const { gpu: shared, skip } = await openWebGPU();
const make = (opts: WebGPUOptions): WebGPUBackend => createWebGPUBackendOn(shared!.device, shared!.info, opts);
const vec = (buf: object, n: number): View => ({ buf, dtype: 'float32', shape: [n], strides: [1], offset: 0 });
const rows = (buf: object, r: number, n: number): View => ({ buf, dtype: 'float32', shape: [r, n], strides: [n, 1], offset: 0 });

test('webgpu bind groups: repeated dispatches over pooled buffers reuse their groups', { skip }, async () => {
  const gpu = make({});
  const a = gpu.upload(Float32Array.from({ length: 300 }, (_, i) => i), 'float32'), b = gpu.fill('float32', 300, 0.5);
  const w = gpu.fill('float32', 16, 2), bias = gpu.fill('float32', 16, 1);
  const round = () => {
    for (let i = 0; i < 10; i++) gpu.free!(gpu.binary('add', vec(a, 300), vec(b, 300), [300]));
    const { y, mean, rstd } = gpu.layerNorm!(rows(a, 20, 15), vec(w, 15), vec(bias, 15), 15, 1e-5); // 6 buffers: a cached lead group
    for (const buf of [y, mean, rstd]) gpu.free!(buf);
  };
  round();
  await gpu.sync();
  round(); // freed buffers are reusable once submitted: from here on the same buffers come back
  await gpu.sync();
  const before = gpu.counters();
  for (let r = 0; r < 5; r++) { round(); await gpu.sync(); }
  const after = gpu.counters();
  assert.equal(after.dispatches - before.dispatches, 5 * 11);
  assert.equal(after.bindGroupsCreated, before.bindGroupsCreated, 'no bind group made once the buffers repeat');
  const sum = gpu.binary('add', vec(a, 300), vec(b, 300), [300]);
  assert.deepEqual(Array.from(await gpu.read(vec(sum, 300))).slice(0, 3), [0.5, 1.5, 2.5]);
});

test('webgpu bind groups: destroyed buffers drop their groups and fresh ones bind correctly', { skip }, async () => {
  const gpu = make({ maxPooledBytes: 0 }); // every freed buffer is destroyed, so each round binds new ones
  const w = gpu.fill('float32', 8, 1), bias = gpu.fill('float32', 8, 0);
  for (let r = 0; r < 30; r++) {
    const x = gpu.upload(Float32Array.from({ length: 16 }, (_, i) => (i % 8) + r), 'float32');
    const { y, mean, rstd } = gpu.layerNorm!(rows(x, 2, 8), vec(w, 8), vec(bias, 8), 8, 1e-5);
    const m = await gpu.read(vec(mean, 2));
    assert.ok(Math.abs(m[0]! - (3.5 + r)) < 1e-4 && Math.abs(m[1]! - (3.5 + r)) < 1e-4, `round ${r}: mean ${m[0]}, ${m[1]}`);
    for (const buf of [x, y, mean, rstd]) gpu.free!(buf);
  }
  await gpu.sync();
  // Each round's lead group (x, w, bias) is dropped once x is destroyed.
  assert.ok(gpu.counters().cachedLeadGroups <= 2, `cached lead groups: ${gpu.counters().cachedLeadGroups}`);
});

test('webgpu bind groups: with caching off, one group per dispatch', { skip }, async () => {
  const gpu = make({ cacheBindGroups: false });
  const a = gpu.fill('float32', 64, 1);
  const before = gpu.counters();
  for (let i = 0; i < 5; i++) gpu.free!(gpu.unary('neg', vec(a, 64)));
  const out = gpu.unary('exp', vec(a, 64));
  const after = gpu.counters();
  assert.equal(after.bindGroupsCreated - before.bindGroupsCreated, after.dispatches - before.dispatches);
  assert.ok(Math.abs((await gpu.read(vec(out, 64)))[0]! - Math.E) < 1e-6);
});
