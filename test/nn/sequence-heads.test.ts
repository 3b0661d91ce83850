// The BiLSTM tagger (with and without a CRF) and the BiLSTM classifier over frozen features (src/nn/sequence-heads.ts):
// parameter names, shapes, masking (padding never changes another sequence's outputs, losses or tags) on every
// backend, and two small learning problems: a BiLSTM-CRF reaching 100% train accuracy on a BIO task, and a CRF
// beating per-step argmax where the tags must alternate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { AdamW } from '../../src/optim/index.js';
import { allowedTransitions } from '../../src/nn/crf.js';
import { BiLSTMClassifier, BiLSTMTagger } from '../../src/nn/sequence-heads.js';
import { forEachBackend, type BackendRun } from '../helpers/backends.js';

/** Float32 features [1, n, F] from a seeded generator. */
function features(g: T.Generator, n: number, F: number): number[] {
  return Array.from({ length: n * F }, () => 2 * g.random() - 1);
}

/** Two sequences of lengths 5 and 3 on their own, and batched [2, 6, F] with junk (large values) in the padding. */
function pair(F: number, seed: number) {
  const g = new T.Generator(seed);
  const a = features(g, 5, F), b = features(g, 3, F);
  const junk = (n: number) => Array.from({ length: n * F }, (_, i) => 40 + i);
  const batch = [...a, ...junk(1), ...b, ...junk(3)];
  return {
    a: T.fromArray(a, [1, 5, F]), b: T.fromArray(b, [1, 3, F]),
    batch: T.fromArray(batch, [2, 6, F]),
    mask: T.fromArray(Int32Array.from([1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0]), [2, 6]),
  };
}

function close(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i]! - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]} (tolerance ${tol})`);
  }
}

/** The first n steps of sequence b of logits [B, T, K], flattened. */
async function steps(logits: T.Tensor, b: number, n: number): Promise<number[]> {
  const [, Tn, K] = logits.shape as [number, number, number];
  return Array.from((await logits.data()).subarray(b * Tn * K, (b * Tn + n) * K));
}

/** Measured worst relative difference between batched and single runs: 2.4e-7 on the CPU backends and WebGPU (lavapipe). */
const TOL = 2e-6;

test('sequence heads: parameter names are nn.LSTM\'s, projection/classifier Linear\'s and pytorch-crf\'s', () => {
  const lstm = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ih_l0_reverse', 'weight_hh_l0_reverse', 'bias_ih_l0_reverse', 'bias_hh_l0_reverse'].map((n) => `lstm.${n}`);
  const tagger = new BiLSTMTagger({ inputSize: 4, hiddenSize: 3, numTags: 5, crf: true });
  assert.deepEqual(tagger.namedParameters().map(([n]) => n), [...lstm, 'projection.weight', 'projection.bias', 'crf.start_transitions', 'crf.end_transitions', 'crf.transitions']);
  assert.deepEqual([...tagger.stateDict().get('projection.weight')!.shape], [5, 6]);
  assert.deepEqual(new BiLSTMTagger({ inputSize: 4, hiddenSize: 3, numTags: 5 }).namedParameters().map(([n]) => n), [...lstm, 'projection.weight', 'projection.bias']);
  const two = new BiLSTMClassifier({ inputSize: 4, hiddenSize: 3, numClasses: 2, numLayers: 2 });
  assert.deepEqual(two.namedParameters().map(([n]) => n), [...lstm, ...lstm.map((n) => n.replace('_l0', '_l1')), 'classifier.weight', 'classifier.bias']);
  assert.deepEqual([...two.stateDict().get('lstm.weight_ih_l1')!.shape], [12, 6]);
  assert.throws(() => new BiLSTMTagger({ inputSize: 4, hiddenSize: 3, numTags: 5, constraints: [[0, 1]] }), /constraints need crf/);
  assert.throws(() => new BiLSTMClassifier({ inputSize: 4, hiddenSize: 3, numClasses: 2, pooling: 'sum' as never }), /pooling must be/);
});

forEachBackend('BiLSTMTagger: logits [B, T, K], and padding changes no other sequence\'s logits, loss or tags (with and without CRF)', async (run: BackendRun) => {
  T.manualSeed(7);
  const { a, b, batch, mask } = pair(4, 1);
  const labelsA = T.fromArray(Int32Array.from([0, 2, 1, 1, 0]), [1, 5]), labelsB = T.fromArray(Int32Array.from([2, 2, 0]), [1, 3]);
  for (const crf of [false, true]) {
    const model = new BiLSTMTagger({ inputSize: 4, hiddenSize: 3, numTags: 3, crf, dropout: 0.5 }).eval();
    // Padding labels: -100 with the CRF (ignored there), a valid tag without (the mask must skip it).
    const pad = crf ? -100 : 1;
    const labels = T.fromArray(Int32Array.from([0, 2, 1, 1, 0, pad, 2, 2, 0, pad, pad, pad]), [2, 6]);
    const out = model.forward({ features: batch, mask, labels });
    assert.deepEqual([...out.logits.shape], [2, 6, 3]);
    assert.deepEqual([...out.loss!.shape], []);
    const one = model.forward({ features: a, labels: labelsA }), two = model.forward({ features: b, labels: labelsB });
    close(`crf ${crf}: logits of the unpadded sequence`, await steps(out.logits, 0, 5), await one.logits.data(), run.tol(TOL));
    close(`crf ${crf}: logits of the padded sequence`, await steps(out.logits, 1, 3), await two.logits.data(), run.tol(TOL));
    const [la, lb] = [await one.loss!.item(), await two.loss!.item()];
    // The CRF's loss is a mean over sequences; cross-entropy a mean over real tokens.
    close(`crf ${crf}: loss`, [await out.loss!.item()], [crf ? (la + lb) / 2 : (5 * la + 3 * lb) / 8], run.tol(TOL));
    assert.deepEqual(await model.decode({ features: batch, mask }), [...await model.decode({ features: a }), ...await model.decode({ features: b })]);
  }
});

forEachBackend('BiLSTMTagger without CRF decodes the per-step argmax, cut to each sequence\'s length', async () => {
  T.manualSeed(8);
  const { batch, mask } = pair(4, 2);
  const model = new BiLSTMTagger({ inputSize: 4, hiddenSize: 3, numTags: 4 }).eval();
  const logits = await model.forward({ features: batch, mask }).logits.data();
  const argmax = (b: number, t: number) => { const row = Array.from(logits.subarray((b * 6 + t) * 4, (b * 6 + t + 1) * 4)); return row.indexOf(Math.max(...row)); };
  assert.deepEqual(await model.decode({ features: batch, mask }), [[0, 1, 2, 3, 4].map((t) => argmax(0, t)), [0, 1, 2].map((t) => argmax(1, t))]);
});

forEachBackend('BiLSTMClassifier: max and mean pooling over the real steps only (padding changes nothing); cross-entropy, and MSE for one output', async (run: BackendRun) => {
  T.manualSeed(9);
  const { a, b, batch, mask } = pair(4, 3);
  const logits: Record<string, number[]> = {};
  for (const pooling of ['max', 'mean'] as const) {
    const model = new BiLSTMClassifier({ inputSize: 4, hiddenSize: 3, numClasses: 3, pooling, dropout: 0.3 }).eval();
    const out = model.forward({ features: batch, mask, labels: T.fromArray(Int32Array.from([2, 0]), [2]) });
    assert.deepEqual([...out.logits.shape], [2, 3]);
    logits[pooling] = Array.from(await out.logits.data());
    const one = model.forward({ features: a, labels: T.fromArray(Int32Array.from([2]), [1]) });
    const two = model.forward({ features: b, labels: T.fromArray(Int32Array.from([0]), [1]) });
    close(`${pooling}: logits`, logits[pooling]!, [...await one.logits.data(), ...await two.logits.data()], run.tol(TOL));
    close(`${pooling}: cross-entropy`, [await out.loss!.item()], [((await one.loss!.item()) + (await two.loss!.item())) / 2], run.tol(TOL));
  }
  // The same weights under both poolings (same seed) must give different summaries.
  assert.notDeepEqual(logits.max, logits.mean);
  T.manualSeed(10);
  const regressor = new BiLSTMClassifier({ inputSize: 4, hiddenSize: 3, numClasses: 1, pooling: 'mean' }).eval();
  const out = regressor.forward({ features: batch, mask, labels: T.fromArray([0.5, -1.5], [2]) });
  assert.deepEqual([...out.logits.shape], [2, 1]);
  const [p, q] = Array.from(await out.logits.data());
  close('MSE', [await out.loss!.item()], [((p! - 0.5) ** 2 + (q! + 1.5) ** 2) / 2], run.tol(TOL));
  assert.throws(() => new BiLSTMClassifier({ inputSize: 4, hiddenSize: 3, numClasses: 3 }).forward({ features: batch, labels: T.fromArray([1, 0], [2]) }), /int32 class ids/);
});

/** One-hot features [N, T, V], labels [N, T] (-100 at padding) and mask for sentences of word ids, padded to T. */
function encodeBatch(sentences: number[][], tags: number[][], V: number, Tn: number) {
  const N = sentences.length;
  const x = new Float32Array(N * Tn * V), y = new Int32Array(N * Tn).fill(-100), m = new Int32Array(N * Tn);
  sentences.forEach((s, b) => s.forEach((w, t) => { x[(b * Tn + t) * V + w] = 1; y[b * Tn + t] = tags[b]![t]!; m[b * Tn + t] = 1; }));
  return { features: T.fromArray(x, [N, Tn, V]), labels: T.fromArray(y, [N, Tn]), mask: T.fromArray(m, [N, Tn]) };
}

/** Trains with AdamW on the full batch; `until` is checked every `every` steps and stops training when true. */
async function fit(model: BiLSTMTagger, data: ReturnType<typeof encodeBatch>, steps: number, until?: () => Promise<boolean>, every = 25): Promise<number> {
  const opt = new AdamW(model.parameters(), { lr: 0.03 });
  for (let step = 1; step <= steps; step++) {
    opt.zeroGrad();
    model.forward(data).loss!.backward();
    opt.step();
    if (until && step % every === 0) {
      model.eval();
      const done = await until();
      model.train();
      if (done) return step;
    }
  }
  return steps;
}

test('a BiLSTM-CRF tagger with BIO constraints reaches 100% train accuracy on a toy NER task within 300 AdamW steps', async () => {
  // Words 0-2 are O words, 3-4 person names, 5-6 place names; a name is B-X after anything but a name of its type, else I-X.
  const labels = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
  const type = [0, 0, 0, 1, 1, 2, 2];
  const g = new T.Generator(5);
  const sentences = Array.from({ length: 16 }, () => Array.from({ length: 4 + Math.floor(g.random() * 5) }, () => Math.floor(g.random() * 7)));
  const tags = sentences.map((s) => s.map((w, t) => (type[w] === 0 ? 0 : 2 * type[w]! - 1 + (t > 0 && type[s[t - 1]!] === type[w] ? 1 : 0))));
  const data = encodeBatch(sentences, tags, 7, 8);
  T.manualSeed(11);
  const model = new BiLSTMTagger({ inputSize: 7, hiddenSize: 8, numTags: 5, crf: true, dropout: 0.1, constraints: allowedTransitions('BIO', labels) });
  let accuracy = 0;
  const steps = await fit(model, data, 300, async () => {
    const decoded = await model.decode(data);
    const right = decoded.reduce((n, y, b) => n + y.filter((k, t) => k === tags[b]![t]).length, 0);
    accuracy = right / tags.flat().length;
    return accuracy === 1;
  });
  assert.equal(accuracy, 1, `train accuracy ${accuracy} after ${steps} steps`);
});

test('a CRF beats per-step argmax when tags must alternate and the input does not say in which phase', async () => {
  // Each input appears twice, once with tags 0101... and once with 1010..., so every step's tag is 0 or 1 with
  // probability 1/2 whatever the model sees: per-step argmax can only guess tag by tag, while the CRF learns that
  // tags alternate and decodes one of the two valid sequences, which matches one copy of every pair exactly.
  const g = new T.Generator(6);
  const sentences: number[][] = [], tags: number[][] = [];
  for (let i = 0; i < 8; i++) {
    const s = Array.from({ length: 5 + Math.floor(g.random() * 4) }, () => Math.floor(g.random() * 4));
    for (const phase of [0, 1]) { sentences.push(s); tags.push(s.map((_, t) => (t + phase) % 2)); }
  }
  const data = encodeBatch(sentences, tags, 4, 8);
  const alternates = (y: number[]) => y.every((k, t) => t === 0 || k !== y[t - 1]);
  const result: Record<string, { exact: number; alternating: number }> = {};
  for (const crf of [true, false]) {
    T.manualSeed(12);
    const model = new BiLSTMTagger({ inputSize: 4, hiddenSize: 8, numTags: 2, crf });
    await fit(model, data, 150);
    const decoded = await model.eval().decode(data);
    result[crf ? 'crf' : 'argmax'] = {
      exact: decoded.filter((y, b) => y.every((k, t) => k === tags[b]![t])).length / decoded.length,
      alternating: decoded.filter(alternates).length / decoded.length,
    };
  }
  const { crf, argmax } = result as { crf: { exact: number; alternating: number }; argmax: { exact: number; alternating: number } };
  assert.deepEqual(crf, { exact: 0.5, alternating: 1 }, 'the CRF decodes alternating tags, exactly right for one copy of each pair');
  assert.ok(argmax.exact < crf.exact && argmax.alternating < 1, `argmax: ${JSON.stringify(argmax)}`);
});
