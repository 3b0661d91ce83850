// GloVe: topics are learnt, spilling co-occurrence shards to disk gives the same counts as counting in memory, the
// WebAssembly kernel trains what the TypeScript reference trains, and Hogwild threads learn the same topics.
// glove-reference.test.ts holds the counts and the AdaGrad steps to the NumPy reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Glove, GLOVE_DEFAULTS, gloveCooccurrences } from '../../src/models/word2vec/glove.js';

function topics(n: number): string[][] {
  const a = ['cat', 'dog', 'horse', 'cow', 'sheep', 'goat'];
  const b = ['red', 'green', 'blue', 'yellow', 'black', 'white'];
  let r = 7;
  const rand = (k: number) => { r = (r * 1103515245 + 12345) % 2 ** 31; return r % k; };
  // mostly one topic a sentence, some words of the other: cross-topic counts exist but are small
  return Array.from({ length: n }, (_, i) => Array.from({ length: 8 }, () => ((i % 2) !== (rand(10) === 0 ? 1 : 0) ? a : b)[rand(6)]!));
}

test('GloVe separates topics; spilled shards merge to the same counts', async () => {
  const corpus = topics(300);
  const opts = { dim: 8, window: 3, minCount: 1, epochs: 50 };
  const inMemory = await gloveCooccurrences(() => corpus, opts);
  const spilled = await gloveCooccurrences(() => corpus, { ...opts, memoryEntries: 20 });
  assert.deepEqual([spilled.i, spilled.j], [inMemory.i, inMemory.j]);
  // shards sum the same additions in another grouping: equal to rounding
  spilled.x.forEach((x, k) => assert.ok(Math.abs(x - inMemory.x[k]!) <= 1e-13 * x, `entry ${k}: ${x} vs ${inMemory.x[k]}`));
  // a spilled file is shuffled through buckets (another random order), so the model differs but learns as well
  for (const memoryEntries of [GLOVE_DEFAULTS.memoryEntries, 20]) {
    const kv = (await Glove.train(() => corpus, { ...opts, memoryEntries })).toVectors();
    const within = kv.similarity('cat', 'dog') + kv.similarity('red', 'blue');
    const across = kv.similarity('cat', 'red') + kv.similarity('dog', 'blue');
    assert.ok(within > across + 0.5, `memoryEntries ${memoryEntries}: within ${within} across ${across}`);
  }
  const losses: number[] = [];
  await Glove.train(() => corpus, opts, (p) => { if (p.loss !== undefined) losses.push(p.loss); });
  assert.ok(losses.at(-1)! < losses[0]! / 2, `loss ${losses[0]} → ${losses.at(-1)}`);
});

/** Largest |a − b| relative to the largest |a|. */
function relativeGap(a: Float32Array, b: Float32Array): number {
  let gap = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) { gap = Math.max(gap, Math.abs(a[i]! - b[i]!)); scale = Math.max(scale, Math.abs(a[i]!)); }
  return gap / scale;
}

test('GloVe: the WebAssembly kernel trains what the TypeScript reference trains (one thread, a seed)', async () => {
  // the same order (one shuffle from the seed), so only float rounding differs; dim 10 also runs the kernel's non-SIMD tail
  const corpus = topics(300);
  const opts = { dim: 10, window: 3, minCount: 1, epochs: 20, seed: 5 };
  const loss = { js: [] as number[], wasm: [] as number[] };
  const js = await Glove.train(() => corpus, { ...opts, kernels: 'js' }, (p) => { if (p.loss !== undefined) loss.js.push(p.loss); });
  const wasm = await Glove.train(() => corpus, { ...opts, kernels: 'wasm' }, (p) => { if (p.loss !== undefined) loss.wasm.push(p.loss); });
  assert.ok(relativeGap(js.w, wasm.w) < 1e-4, `W: relative gap ${relativeGap(js.w, wasm.w)}`);
  assert.ok(relativeGap(js.wTilde, wasm.wTilde) < 1e-4, `W~: relative gap ${relativeGap(js.wTilde, wasm.wTilde)}`);
  loss.js.forEach((l, i) => assert.ok(Math.abs(l - loss.wasm[i]!) < 1e-5 * l, `epoch ${i}: ${l} vs ${loss.wasm[i]}`));
  await assert.rejects(Glove.train(() => corpus, { ...opts, kernels: 'js', threads: 2 }), /one thread/);
});

test('GloVe on two Hogwild threads: topics learnt, and the loss of one thread on a corpus of many blocks', async () => {
  const small = await Glove.train(() => topics(300), { dim: 8, window: 3, minCount: 1, epochs: 50, threads: 2 });
  const kv = small.toVectors();
  const within = kv.similarity('cat', 'dog') + kv.similarity('red', 'blue');
  const across = kv.similarity('cat', 'red') + kv.similarity('dog', 'blue');
  assert.ok(within > across + 0.5, `within ${within} across ${across}`);
  // two topics of 200 words each: over 65536 distinct pairs, so every epoch has several blocks and both threads
  // train at once; Hogwild with other shuffles must fit as well as one thread does
  const topic = (t: string) => Array.from({ length: 200 }, (_, i) => `${t}${i}`);
  const [a, b] = [topic('a'), topic('b')];
  let r = 11;
  const rand = (k: number) => { r = (r * 1103515245 + 12345) % 2 ** 31; return Math.floor((r / 2 ** 31) * k); };
  const corpus = Array.from({ length: 20000 }, (_, i) => Array.from({ length: 8 }, () => ((i % 2) !== (rand(10) === 0 ? 1 : 0) ? a : b)[rand(200)]!));
  const loss = { 1: [] as number[], 2: [] as number[] };
  for (const threads of [1, 2] as const) {
    await Glove.train(() => corpus, { dim: 8, window: 3, minCount: 1, epochs: 10, threads }, (p) => { if (p.loss !== undefined) loss[threads].push(p.loss); });
  }
  // (the first epoch's loss is already near this corpus's floor, about 0.042, so the loss falls by a fifth, not a half)
  loss[2].slice(1).forEach((l, e) => assert.ok(l < loss[2][e]!, `2 threads: epoch ${e + 1} loss ${l} after ${loss[2][e]}`));
  assert.ok(loss[2].at(-1)! < 0.85 * loss[2][0]!, `loss ${loss[2][0]} → ${loss[2].at(-1)}`);
  assert.ok(Math.abs(loss[2].at(-1)! - loss[1].at(-1)!) < 0.02 * loss[1].at(-1)!, `final loss: 2 threads ${loss[2].at(-1)}, 1 thread ${loss[1].at(-1)}`);
});

test('pretrain glove writes the vector files and config', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { readWord2Vec } = await import('../../src/io/word2vec-format.js');
  const dir = mkdtempSync(join(tmpdir(), 'glove-cli-'));
  const corpus = topics(100);
  writeFileSync(join(dir, 'c.txt'), corpus.map((s) => s.join(' ')).join('\n'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'glove', '--corpus', join(dir, 'c.txt'), '--out', join(dir, 'o'), '--dim', '4', '--min-count', '1', '--epochs', '2', '--memory-entries', '50', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).vocab, new Set(corpus.flat()).size);
  const v = await readWord2Vec(join(dir, 'o', 'vectors.txt'));
  assert.equal(v.dim, 4);
  assert.equal(JSON.parse(readFileSync(join(dir, 'o', 'config.json'), 'utf8')).xMax, 100);
});
