// word2vec: vocabulary (pruning, subsampling, negative table, Huffman tree), corpus reading, and training that learns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { VocabCounter, cumulativeTable, huffman, sampleThresholds } from '../../src/models/word2vec/vocab.js';
import { readSentences } from '../../src/models/word2vec/corpus.js';
import { tokenize } from '../../src/text/word-lm.js';
import { Word2Vec } from '../../src/models/word2vec/trainer.js';

test('Huffman codes are optimal and prefix-free (CLRS example)', () => {
  const counts = [45, 16, 13, 12, 9, 5];
  const { codes, points } = huffman(counts);
  assert.deepEqual(codes.map((c) => c.length), [1, 3, 3, 3, 4, 4]);
  assert.equal(counts.reduce((s, c, i) => s + c * codes[i]!.length, 0), 224);
  const strings = codes.map((c) => c.join(''));
  for (const a of strings) for (const b of strings) if (a !== b) assert.ok(!b.startsWith(a));
  // every path starts at the root (the last inner node) and stays among the V−1 inner nodes
  for (const p of points) { assert.equal(p[0], counts.length - 2); assert.ok(p.every((x) => x >= 0 && x < counts.length - 1)); }
});

test('subsampling keep probability is word2vec.c\'s formula', () => {
  const [p] = sampleThresholds([1000], 1e-3, 100000);
  const t = 1e-3 * 100000;
  assert.equal(p, Math.round((Math.sqrt(1000 / t) + 1) * (t / 1000) * 2 ** 32));
  assert.equal(sampleThresholds([1], 1e-3, 100000)[0], 2 ** 32);
  assert.equal(sampleThresholds([1000], 0, 100000)[0], 2 ** 32);
});

test('negative table follows unigram^0.75 over 2^31−1', () => {
  const t = cumulativeTable([16, 1]);
  assert.equal(t[1], 2 ** 31 - 1);
  assert.equal(t[0], Math.round((8 / 9) * (2 ** 31 - 1)));
});

test('vocabulary: min_count, frequency order, max_vocab_size pruning as gensim', () => {
  const c = new VocabCounter();
  c.add(['b', 'a', 'a', 'c', 'c', 'c']);
  const v = c.build(2, 0);
  assert.deepEqual(v.words, ['c', 'a']);
  assert.equal(v.totalWords, 5);
  const p = new VocabCounter(2);
  p.add(['x', 'y', 'y', 'z']); // 3 > 2 words: counts < 1 pruned (none), min_reduce becomes 2
  p.add(['w']); // 4 > 2: counts < 2 pruned → only y stays
  assert.deepEqual([...p.counts.keys()], ['y']);
});

test('corpus: folders, .gz, lowercasing, invalid UTF-8 replaced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2v-corpus-'));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'a.txt'), 'Hello, World! It\'s 2024.\r\n\n');
  writeFileSync(join(dir, 'sub', 'b.txt.gz'), gzipSync(Buffer.concat([Buffer.from('caf'), Buffer.from([0xff]), Buffer.from(' ok\n')])));
  const out: string[][] = [];
  for await (const s of readSentences(dir)) out.push(s);
  assert.deepEqual(out, [['hello', 'world', "it's", '2024'], ['caf', 'ok']]);
  assert.deepEqual(tokenize('Ünïcode ÉTÉ'), ['ünïcode', 'été']);
  await assert.rejects(async () => { for await (const _ of readSentences(join(dir, 'missing'))) void _; }, /missing: no such file or folder/);
});

/** Sentences drawn from two disjoint topics, so words of a topic share contexts. */
function topics(n: number): string[][] {
  const a = ['cat', 'dog', 'horse', 'cow', 'sheep', 'goat'];
  const b = ['red', 'green', 'blue', 'yellow', 'black', 'white'];
  let r = 12345;
  const rand = (k: number) => { r = (r * 1103515245 + 12345) % 2 ** 31; return r % k; };
  return Array.from({ length: n }, (_, i) => Array.from({ length: 8 }, () => (i % 2 ? a : b)[rand(6)]!));
}

for (const kernels of ['wasm', 'js'] as const) {
  for (const model of ['skipgram', 'cbow'] as const) {
    for (const hs of [false, true]) {
      test(`${model} ${hs ? 'hierarchical softmax' : 'negative sampling'} separates topics (${kernels} kernels)`, async () => {
        const corpus = topics(400);
        const w2v = await Word2Vec.train(() => corpus, { model, hs, negative: hs ? 0 : 5, dim: 16, minCount: 1, sample: 0, epochs: 5, window: 3, kernels });
        const kv = w2v.toVectors();
        const within = kv.similarity('cat', 'dog') + kv.similarity('red', 'blue');
        const across = kv.similarity('cat', 'red') + kv.similarity('dog', 'blue');
        assert.ok(within > across + 0.5, `within ${within} across ${across}`);
        const top = kv.mostSimilar({ positive: ['horse'], topn: 5 }).map(([w]) => w);
        assert.deepEqual(top.sort(), ['cat', 'cow', 'dog', 'goat', 'sheep']);
      });
    }
  }
}

/** Largest |a − b| relative to the largest |a|. */
function relativeGap(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let gap = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) { gap = Math.max(gap, Math.abs(a[i]! - b[i]!)); scale = Math.max(scale, Math.abs(a[i]!)); }
  return scale === 0 ? gap : gap / scale;
}

// One thread and a seed: both kernels draw the same random numbers in the same order (subsampling, windows,
// negatives), so any difference in what they train on shows as an O(1) gap; float32 lanes against the reference's
// double-precision sums leave about 1e-4 after three epochs. dim 10 also runs the kernels' non-SIMD tail.
for (const cfg of [
  { model: 'skipgram' }, { model: 'cbow' }, { model: 'cbow', cbowMean: false, hs: true }, { model: 'skipgram', hs: true, negative: 0 },
] as const) {
  test(`WebAssembly kernels train what the TypeScript reference trains: ${JSON.stringify(cfg)}`, async () => {
    const words = ['cat', 'dog', 'horse', 'cow', 'sheep', 'goat', 'the', 'red', 'green', 'blue', 'yellow', 'black', 'white'];
    let r = 99;
    const rand = (k: number) => { r = (r * 1103515245 + 12345) % 2 ** 31; return r % k; };
    // uneven sentence lengths and a frequent word, so subsampling and the window edges matter
    const corpus = Array.from({ length: 600 }, (_, i) => Array.from({ length: 3 + rand(12) }, () => words[(i % 2) * 7 + rand(6)]!));
    const opts = { ...cfg, dim: 10, window: 3, minCount: 1, sample: 1e-2, epochs: 3, seed: 7 };
    const loss = { js: [] as number[], wasm: [] as number[] };
    const js = await Word2Vec.train(() => corpus, { ...opts, kernels: 'js' }, (p) => loss.js.push(p.loss));
    const wasm = await Word2Vec.train(() => corpus, { ...opts, kernels: 'wasm' }, (p) => loss.wasm.push(p.loss));
    for (const key of ['syn0', 'syn1neg', 'syn1'] as const) {
      assert.ok(relativeGap(js[key], wasm[key]) < 1e-3, `${key}: relative gap ${relativeGap(js[key], wasm[key])}`);
    }
    assert.equal(loss.wasm.length, loss.js.length);
    loss.js.forEach((l, i) => assert.ok(Math.abs(l - loss.wasm[i]!) < 1e-4 * l, `loss ${i}: ${l} vs ${loss.wasm[i]}`));
  });
}

test('on worker threads the last jobs\' loss is reported after they end', async () => {
  // one job in all: on threads its loss arrives after the report of its submission
  const losses: number[] = [];
  await Word2Vec.train(() => topics(100), { dim: 8, minCount: 1, epochs: 1, threads: 2 }, (p) => losses.push(p.loss));
  assert.ok(losses.length >= 1 && losses[losses.length - 1]! > 0.1, `reported losses ${losses.join(', ')}`);
});

test('input vectors start uniform in [−1, 1)/dim as gensim 4, output weights at zero', async () => {
  // no epochs: the weights as initialised
  const w2v = await Word2Vec.train(() => topics(50), { dim: 50, minCount: 1, epochs: 0, seed: 5 });
  const bound = 1 / 50;
  let lo = Infinity, hi = -Infinity, sum = 0;
  for (const x of w2v.syn0) { lo = Math.min(lo, x); hi = Math.max(hi, x); sum += x; }
  assert.ok(lo >= -bound && hi < bound, `range [${lo}, ${hi})`);
  // word2vec.c's [−0.5, 0.5)/dim would leave these short of ±0.9 bound over 600 draws
  assert.ok(lo < -0.9 * bound && hi > 0.9 * bound, `range [${lo}, ${hi})`);
  assert.ok(Math.abs(sum / w2v.syn0.length) < 0.1 * bound);
  assert.ok(w2v.syn1neg.every((x) => x === 0));
});

test('training is deterministic for a seed, alpha decays linearly to min_alpha', async () => {
  const corpus = topics(300);
  const alphas: number[] = [];
  // 2400 words per epoch: one job (of up to 10000 words) per epoch, so alpha is set at 0, 1/4, 2/4, 3/4 of training
  const a = await Word2Vec.train(() => corpus, { dim: 8, minCount: 1, epochs: 4, seed: 3 }, (p) => alphas.push(p.alpha));
  const b = await Word2Vec.train(() => corpus, { dim: 8, minCount: 1, epochs: 4, seed: 3 });
  assert.deepEqual(a.syn0, b.syn0);
  assert.deepEqual(alphas.map((x) => x.toFixed(6)), [0, 1, 2, 3].map((k) => (0.025 - (0.025 - 0.0001) * k / 4).toFixed(6)));
  // later epochs replay the first one's jobs (here three a epoch) from a file: the same words, so the same model
  // as reading the text again
  const long = topics(3000);
  const cached = await Word2Vec.train(() => long, { dim: 8, minCount: 1, epochs: 3, seed: 3 });
  const uncached = await Word2Vec.train(() => long, { dim: 8, minCount: 1, epochs: 3, seed: 3, cacheJobs: false });
  assert.deepEqual(cached.syn0, uncached.syn0);
  const c = await Word2Vec.train(() => corpus, { dim: 8, minCount: 1, epochs: 4, seed: 4 });
  assert.notDeepEqual(a.syn0, c.syn0);
  await assert.rejects(Word2Vec.train(() => corpus, { minCount: 1000 }), /no word occurs 1000 times/);
});

for (const kernels of ['wasm', 'js'] as const) {
  test(`two Hogwild worker threads train the shared weights (${kernels} kernels)`, async () => {
    const corpus = topics(2000); // 16000 words: two jobs per epoch, so both workers get work
    const w2v = await Word2Vec.train(() => corpus, { model: 'skipgram', dim: 16, minCount: 1, sample: 0, epochs: 3, window: 3, threads: 2, kernels });
    const kv = w2v.toVectors();
    assert.ok(kv.similarity('cat', 'dog') > kv.similarity('cat', 'red') + 0.3);
  });
}

test('a sentence longer than 10000 words is cut into pieces, the same for both kernels', async () => {
  const long = Array.from({ length: 25000 }, (_, i) => ['cat', 'dog', 'red', 'blue', 'green'][(i * 7) % 5]!);
  const opts = { dim: 8, minCount: 1, epochs: 1, sample: 0 };
  const words: number[] = [];
  const js = await Word2Vec.train(() => [long, long], { ...opts, kernels: 'js' }, (p) => words.push(p.words));
  const wasm = await Word2Vec.train(() => [long, long], { ...opts, kernels: 'wasm' });
  assert.equal(words.at(-1), 50000);
  assert.ok(relativeGap(js.syn0, wasm.syn0) < 1e-3);
});
