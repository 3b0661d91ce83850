// GloVe against the independent NumPy GloVe (bench/peers/glove_numpy.py), through the fixtures that
// scripts/gen_glove_fixtures.py wrote from it (test/fixtures/glove): the co-occurrence counts of a small corpus equal
// the reference's exactly, and the first AdaGrad epochs over its entries, from its initial parameters and in its
// order, agree to float32 rounding (the reference computes in float64), with the TypeScript reference and with the
// WebAssembly kernel, for glove.c's bias step and for the paper's with clipped gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gloveCooccurrences, gloveTrainEntries, type GloveFit } from '../../src/models/word2vec/glove.js';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/glove/${name}`, import.meta.url), 'utf8')) as T;

interface Cooccur { corpus: string; min_count: number; window: number; words: string[]; counts: number[]; entries: [number, number, number][] }
interface Epoch { cost: number; params: number[]; gradsq: number[] | null }
interface Adagrad {
  dim: number; x_max: number; alpha: number; eta: number; vocab: number; order: number[]; init: number[];
  runs: Record<string, { bias_eta: boolean; grad_clip: number; epochs: Epoch[] }>;
}

const cooccur = fixture<Cooccur>('cooccur.json');
const adagrad = fixture<Adagrad>('adagrad.json');
const corpus = fileURLToPath(new URL(`../../${cooccur.corpus}`, import.meta.url));

test('GloVe co-occurrence counts equal the NumPy reference exactly, counted in memory or spilled to shards', async () => {
  const want = new Map(cooccur.entries.map(([i, j, x]) => [`${cooccur.words[i]} ${cooccur.words[j]}`, x]));
  for (const memoryEntries of [4_000_000, 200]) {
    const ours = await gloveCooccurrences(corpus, { minCount: cooccur.min_count, window: cooccur.window, memoryEntries });
    // the same words and counts (ties in another order: first seen here, alphabetical in vocab_count)
    assert.deepEqual(new Map(ours.vocab.words.map((w, k) => [w, ours.vocab.counts[k]])), new Map(cooccur.words.map((w, k) => [w, cooccur.counts[k]])));
    const got = new Map<string, number>();
    for (let k = 0; k < ours.x.length; k++) got.set(`${ours.vocab.words[ours.i[k]!]} ${ours.vocab.words[ours.j[k]!]}`, ours.x[k]!);
    assert.equal(got.size, want.size, `memoryEntries ${memoryEntries}: ${got.size} entries, the reference has ${want.size}`);
    let unequal = 0;
    for (const [pair, x] of want) if (got.get(pair) !== x) unequal++;
    if (memoryEntries > 10_000) assert.equal(unequal, 0, `${unequal} of ${want.size} sums differ`);
    else {
      // shards add partial sums in another grouping: equal but for the last bit
      for (const [pair, x] of want) assert.ok(Math.abs(got.get(pair)! - x) <= 4e-16 * x, `${pair}: ${got.get(pair)} vs ${x}`);
    }
  }
});

/** Largest |a − b| over the largest |b|. */
function relativeGap(a: Float32Array, b: number[]): number {
  let gap = 0;
  let scale = 0;
  b.forEach((y, k) => { gap = Math.max(gap, Math.abs(a[k]! - y)); scale = Math.max(scale, Math.abs(y)); });
  return gap / scale;
}

test('GloVe AdaGrad epochs agree with the NumPy reference from its parameters, in its order (TypeScript and WebAssembly)', async () => {
  const entries = new Float64Array(adagrad.order.flatMap((e) => cooccur.entries[e]!));
  const init = Float32Array.from(adagrad.init);
  const n = adagrad.order.length;
  const base = { dim: adagrad.dim, xMax: adagrad.x_max, alpha: adagrad.alpha, eta: adagrad.eta };
  for (const [name, run] of Object.entries(adagrad.runs)) {
    for (const kernels of ['js', 'wasm'] as const) {
      const epochs = run.epochs.length;
      const opts = { ...base, kernels, biasEta: run.bias_eta, gradClip: run.grad_clip };
      const fits: GloveFit[] = [];
      for (let e = 1; e <= epochs; e++) fits.push(await gloveTrainEntries(init, entries, { ...opts, epochs: e }));
      run.epochs.forEach((want, e) => {
        const fit = fits[e]!;
        const where = `${name}, ${kernels}, epoch ${e + 1}`;
        assert.ok(relativeGap(fit.params, want.params) < 2e-6, `${where}: parameters, relative gap ${relativeGap(fit.params, want.params)}`);
        assert.ok(Math.abs(fit.losses[e]! * n - want.cost) < 1e-6 * want.cost, `${where}: cost ${fit.losses[e]! * n} vs ${want.cost}`);
        if (want.gradsq) assert.ok(relativeGap(fit.gradsq, want.gradsq) < 3e-6, `${where}: AdaGrad sums, relative gap ${relativeGap(fit.gradsq, want.gradsq)}`);
      });
      // the initial parameters are the caller's: copied, not trained in place
      assert.deepEqual(init, Float32Array.from(adagrad.init));
    }
  }
});

test('the reference runs differ from each other far beyond the tolerance (the fixtures would catch a wrong bias step)', () => {
  const [a, b] = Object.values(adagrad.runs);
  assert.ok(relativeGap(Float32Array.from(a!.epochs[0]!.params), b!.epochs[0]!.params) > 1e-2);
});
