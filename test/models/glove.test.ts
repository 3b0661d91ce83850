// GloVe: topics are learnt, and spilling co-occurrence shards to disk gives the same model as counting in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Glove } from '../../src/models/word2vec/glove.js';

function topics(n: number): string[][] {
  const a = ['cat', 'dog', 'horse', 'cow', 'sheep', 'goat'];
  const b = ['red', 'green', 'blue', 'yellow', 'black', 'white'];
  let r = 7;
  const rand = (k: number) => { r = (r * 1103515245 + 12345) % 2 ** 31; return r % k; };
  // mostly one topic a sentence, some words of the other: cross-topic counts exist but are small
  return Array.from({ length: n }, (_, i) => Array.from({ length: 8 }, () => ((i % 2) !== (rand(10) === 0 ? 1 : 0) ? a : b)[rand(6)]!));
}

test('GloVe separates topics; spilled shards merge to the same model', async () => {
  const corpus = topics(300);
  const opts = { dim: 8, window: 3, minCount: 1, epochs: 50 };
  const inMemory = await Glove.train(() => corpus, opts);
  const spilled = await Glove.train(() => corpus, { ...opts, memoryEntries: 20 });
  assert.deepEqual(spilled.w, inMemory.w);
  const kv = inMemory.toVectors();
  const within = kv.similarity('cat', 'dog') + kv.similarity('red', 'blue');
  const across = kv.similarity('cat', 'red') + kv.similarity('dog', 'blue');
  assert.ok(within > across + 0.5, `within ${within} across ${across}`);
  const losses: number[] = [];
  await Glove.train(() => corpus, opts, (p) => { if (p.loss !== undefined) losses.push(p.loss); });
  assert.ok(losses.at(-1)! < losses[0]! / 2, `loss ${losses[0]} → ${losses.at(-1)}`);
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
