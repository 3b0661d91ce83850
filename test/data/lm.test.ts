import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpttWindows, concatIds, IGNORE_INDEX, tokenBlocks } from '../../src/data/lm.js';

test('tokenBlocks: documents joined by the separator, cut into full blocks, the tail dropped', async () => {
  const docs = [[1, 2, 3], [4, 5], [6, 7, 8, 9]];
  const blocks: number[][] = [];
  for await (const b of tokenBlocks(docs, { blockSize: 4, separator: 0 })) blocks.push(Array.from(b));
  assert.deepEqual(blocks, [[1, 2, 3, 0], [4, 5, 0, 6], [7, 8, 9, 0]]);
  const plain: number[][] = [];
  for await (const b of tokenBlocks(docs, { blockSize: 4 })) plain.push(Array.from(b));
  assert.deepEqual(plain, [[1, 2, 3, 4], [5, 6, 7, 8]]);
  await assert.rejects(async () => { for await (const _ of tokenBlocks(docs, { blockSize: 0 })) { /* drain */ } }, /blockSize must be a positive integer/);
});

test('bpttWindows: contiguous rows, next-token and previous-token targets, a short last window', () => {
  const ids = Array.from({ length: 23 }, (_, i) => i); // 2 rows of 11 (one id dropped)
  const windows = [...bpttWindows(ids, { batchSize: 2, bptt: 4 })];
  assert.deepEqual(windows.map((w) => w.steps), [4, 4, 2]);
  const [w0, , w2] = windows;
  assert.deepEqual(Array.from(w0!.inputs), [0, 1, 2, 3, 11, 12, 13, 14]);
  assert.deepEqual(Array.from(w0!.nextTargets), [1, 2, 3, 4, 12, 13, 14, 15]);
  assert.deepEqual(Array.from(w0!.prevTargets), [IGNORE_INDEX, 0, 1, 2, IGNORE_INDEX, 11, 12, 13]);
  assert.deepEqual(Array.from(w2!.inputs), [8, 9, 19, 20]);
  assert.deepEqual(Array.from(w2!.nextTargets), [9, 10, 20, 21]);
  assert.deepEqual(Array.from(w2!.prevTargets), [7, 8, 18, 19]);
  // Every id of a row but the last is an input exactly once, in order.
  const row0 = windows.flatMap((w) => Array.from(w.inputs.subarray(0, w.steps)));
  assert.deepEqual(row0, Array.from({ length: 10 }, (_, i) => i));
  assert.throws(() => [...bpttWindows(ids, { batchSize: 0, bptt: 4 })], /positive integers/);
});

test('concatIds joins documents (with a separator) into one stream, growing past its first buffer', async () => {
  assert.deepEqual(Array.from(await concatIds([[1, 2], [3]], 0)), [1, 2, 0, 3, 0]);
  const big = Array.from({ length: 100_000 }, (_, i) => i);
  const ids = await concatIds((async function* () { yield big; yield [7]; })());
  assert.equal(ids.length, 100_001);
  assert.equal(ids[99_999], 99_999);
  assert.equal(ids[100_000], 7);
});
