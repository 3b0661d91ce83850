// ELMo's biLM (src/models/elmo.ts): the representations, both directions' losses and every gradient against the
// PyTorch model of scripts/gen_elmo_fixture.py (test/fixtures/elmo/bilm.json); bilm-tf's character ids; the published
// parameter counts; each direction reading only its own side; the sampled softmax against its formula; AllenNLP's
// mixes; the corpus encoding and batches; and a save/load round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ELMO_CHARS, Elmo, ElmoBiLM, charIds, elmoConfig, publishedParameterCount, type ElmoConfig } from '../../src/models/elmo.js';
import { loadPretrained, savePretrained } from '../../src/models/pretrained.js';
import { LogUniformSampler, sampledSoftmaxLoss } from '../../src/nn/index.js';
import { ELMO_SPECIALS, ElmoCorpus, elmoBatch, elmoEmbed, elmoPerplexity } from '../../src/tasks/elmo-pretrain.js';
import { noGrad } from '../../src/tensor/autograd.js';
import * as ops from '../../src/tensor/ops.js';
import { Generator, manualSeed } from '../../src/tensor/random.js';
import { WordVocab } from '../../src/text/word-lm.js';

interface Fixture {
  config: ElmoConfig; words: string[]; chars: number[][]; tokens: number[][]; lengths: number[];
  forward_targets: number[]; backward_targets: number[]; weights: Record<string, number[]>; shapes: Record<string, number[]>;
  layers: number[][]; forward_loss: number; backward_loss: number; loss: number; grads: Record<string, number[]>;
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/elmo/bilm.json', import.meta.url), 'utf8')) as Fixture;

function assertClose(what: string, got: ArrayLike<number>, want: readonly number[], tol: number): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    assert.ok(d <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]} (diff ${d})`);
  }
}

const fixtureBatch = () => {
  const [B, T] = [fx.tokens.length, fx.tokens[0]!.length];
  return {
    chars: ops.fromArray(fx.chars.flat(), [fx.chars.length, fx.chars[0]!.length], { dtype: 'int32' }),
    tokens: ops.fromArray(fx.tokens.flat(), [B, T], { dtype: 'int32' }),
    mask: ops.fromArray(fx.lengths.flatMap((n) => Array.from({ length: T }, (_, t) => (t < n ? 1 : 0))), [B, T]),
    targets: { forward: Int32Array.from(fx.forward_targets), backward: Int32Array.from(fx.backward_targets) },
  };
};

function fixtureModel(): ElmoBiLM {
  const model = new ElmoBiLM(elmoConfig(fx.config));
  model.loadStateDict(new Map(Object.entries(fx.weights).map(([k, w]) => [k, ops.fromArray(w, fx.shapes[k]!)])));
  return model;
}

test('ELMo biLM: the three layers, both losses and every gradient match the PyTorch model (padding, the residual, the backward stack)', async () => {
  const model = fixtureModel();
  assert.deepEqual(model.namedParameters().map(([n]) => n).sort(), Object.keys(fx.weights).sort());
  const out = model.forward(fixtureBatch());
  assert.equal(out.layers.length, 3);
  for (let l = 0; l < 3; l++) assertClose(`layer ${l}`, await out.layers[l]!.data(), fx.layers[l]!, 2e-5);
  assertClose('forward loss', [await out.forwardLoss!.item()], [fx.forward_loss], 1e-5);
  assertClose('backward loss', [await out.backwardLoss!.item()], [fx.backward_loss], 1e-5);
  assertClose('loss', [await out.loss!.item()], [fx.loss], 1e-5);
  out.loss!.backward();
  const params = new Map(model.namedParameters());
  for (const [name, grad] of Object.entries(fx.grads)) assertClose(`d ${name}`, await params.get(name)!.grad!.data(), grad, 1e-4);
});

test("character ids are bilm-tf's plus one: word marks around the UTF-8 bytes, padding, sentence marks, bytes cut at 48", () => {
  const pad = ELMO_CHARS.pad;
  assert.deepEqual([...charIds('ab', 6)], [259, 98, 99, 260, pad, pad]);
  assert.deepEqual([...charIds('<S>', 5)], [259, 257, 260, pad, pad]);
  assert.deepEqual([...charIds('</S>', 5)], [259, 258, 260, pad, pad]);
  assert.deepEqual([...charIds('é', 5)], [259, 0xc3 + 1, 0xa9 + 1, 260, pad]);
  // A long token keeps its first 48 bytes, even when that cuts a character (bilm-tf cuts the encoded bytes).
  const report = { truncated: false, replaced: false };
  const long = charIds(`${'x'.repeat(47)}é`, 50, undefined, report);
  assert.equal(long[48], 0xc3 + 1);
  assert.equal(long[49], 260);
  assert.ok(report.truncated);
  // No character is unknown at the byte level: an unpaired surrogate reads as U+FFFD, the replacement character.
  const lone = charIds('a\ud800', 8, undefined, report);
  assert.deepEqual([...lone.subarray(0, 6)], [259, 98, 0xef + 1, 0xbf + 1, 0xbd + 1, 260]);
  assert.ok(report.replaced && !report.truncated);
});

test('the published configurations have their published sizes (bilm-tf counts one LSTM bias and no softmax)', () => {
  manualSeed(0);
  const small = new ElmoBiLM(elmoConfig({ vocab_size: 3 }, 'test', 'small'));
  assert.equal(publishedParameterCount(small), 13_593_296); // "13.6M"
  const tiny = elmoConfig({ vocab_size: 3 });
  assert.deepEqual(tiny.char_cnn.filters, [[1, 8], [2, 8], [3, 16], [4, 32], [5, 64], [6, 128], [7, 256]]);
  assert.equal(tiny.lstm.dim, 512);
  assert.equal(tiny.lstm.projection_dim, 64);
  assert.equal(tiny.char_cnn.n_highway, 1);
  assert.equal(elmoConfig({}, 'x', 'original').char_cnn.n_highway, 2);
});

test('config errors name the field', () => {
  assert.throws(() => elmoConfig({ dropout: 1 }), /dropout must be in \[0, 1\)/);
  assert.throws(() => elmoConfig({ char_cnn: { ...elmoConfig().char_cnn, filters: [[60, 2]] } }), /filter of width 60 is wider than max_characters_per_token 50/);
  assert.throws(() => elmoConfig({ lstm: { ...elmoConfig().lstm, cell_clip: -1 } }), /lstm.cell_clip must be positive or null/);
  assert.throws(() => elmoConfig({ char_cnn: { ...elmoConfig().char_cnn, activation: 'gelu' as 'relu' } }), /activation must be relu or tanh/);
  assert.throws(() => elmoConfig({ n_negative_samples: 1.5 }), /n_negative_samples/);
});

const micro = (over: Partial<ElmoConfig> = {}) => {
  manualSeed(3);
  return new ElmoBiLM(elmoConfig({ ...fx.config, lstm: { ...fx.config.lstm, cell_clip: 3, proj_clip: 3 }, ...over }));
};

test('the forward LM reads only the left of each position and the backward LM only the right', async () => {
  const model = micro();
  model.eval();
  const words = ['a', 'b', 'c', 'd', 'e', 'f'];
  const run = async (seq: number[]) => {
    const b = elmoBatch([seq], (t) => charIds(words[t]!, 10), 10, null);
    return Promise.all(noGrad(() => model.forward(b)).layers.map((l) => l.data()));
  };
  const base = await run([0, 1, 2, 3]), changedLast = await run([0, 1, 2, 4]), changedFirst = await run([5, 1, 2, 3]);
  const P = 4, D = 2 * P;
  for (const l of [1, 2]) {
    for (let t = 0; t < 3; t++) {
      for (let d = 0; d < P; d++) assert.equal(changedLast[l]![t * D + d], base[l]![t * D + d], `forward half at ${t} sees a later token`);
      for (let d = P; d < D; d++) assert.equal(changedFirst[l]![(t + 1) * D + d], base[l]![(t + 1) * D + d], `backward half at ${t + 1} sees an earlier token`);
    }
  }
  assert.notEqual(changedLast[2]![3 * D], base[2]![3 * D]);
});

test('padding changes nothing: a sequence batched with a longer one has the same layers', async () => {
  const model = micro();
  model.eval();
  const words = ['<S>', '</S>', 'x', 'yy', 'zzz'];
  const charsOf = (t: number) => charIds(words[t]!, 10);
  const alone = await Promise.all(noGrad(() => model.forward(elmoBatch([[0, 2, 3, 1]], charsOf, 10, null))).layers.map((l) => l.data()));
  const padded = await Promise.all(noGrad(() => model.forward(elmoBatch([[0, 4, 4, 3, 2, 1], [0, 2, 3, 1]], charsOf, 10, null))).layers.map((l) => l.data()));
  const D = 8, T = 6;
  for (let l = 0; l < 3; l++) assertClose(`layer ${l}`, padded[l]!.subarray(T * D, T * D + 4 * D), [...alone[l]!], 1e-6);
  for (let l = 0; l < 3; l++) assert.ok(padded[l]!.subarray(T * D + 4 * D, 2 * T * D).every((v) => v === 0), 'padding positions are zero');
});

test("sampled softmax is TensorFlow's: true and sampled logits minus log expected counts, accidental hits removed", async () => {
  manualSeed(1);
  const V = 30, D = 5, N = 4, S = 8;
  const hidden = ops.randn([N, D]), weight = ops.randn([V, D]), bias = ops.randn([V]);
  const targets = Int32Array.from([0, 3, 17, 3]);
  const sampler = new LogUniformSampler(V);
  const rng = new Generator(7);
  const loss = await sampledSoftmaxLoss(hidden, weight, bias, targets, { numSampled: S, sampler, rng }).item();
  // The same draw again, and the loss by hand.
  const { ids, tries } = sampler.sampleUnique(S, new Generator(7));
  assert.equal(new Set(ids).size, S);
  const [h, w, b] = [await hidden.data(), await weight.data(), await bias.data()];
  const logit = (i: number, k: number) => { let s = b[k]!; for (let d = 0; d < D; d++) s += h[i * D + d]! * w[k * D + d]!; return s - Math.log(sampler.expectedCount(k, tries)); };
  let want = 0;
  for (let i = 0; i < N; i++) {
    const row = [logit(i, targets[i]!), ...[...ids].filter((k) => k !== targets[i]).map((k) => logit(i, k))];
    const m = Math.max(...row);
    want += -(row[0]! - m - Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0)));
  }
  assert.ok(Math.abs(loss - want / N) < 1e-5, `${loss} vs ${want / N}`);
  // P(k) = log((k + 2) / (k + 1)) / log(V + 1) sums to one; expected counts under unique sampling stay below one.
  const total = Array.from({ length: V }, (_, k) => sampler.probability(k)).reduce((s, p) => s + p, 0);
  assert.ok(Math.abs(total - 1) < 1e-12);
  assert.ok(sampler.expectedCount(0, tries) < 1 && sampler.expectedCount(0, tries) > sampler.expectedCount(V - 1, tries));
  assert.throws(() => sampler.sampleUnique(V + 1), /cannot draw 31 distinct ids of 30/);
});

test('a frequent id is drawn about as often as its probability says (10,000 single draws)', () => {
  const sampler = new LogUniformSampler(1000);
  const rng = new Generator(11);
  const counts = new Map<number, number>();
  const n = 10_000;
  for (let i = 0; i < n; i++) { const k = sampler.draw(rng); counts.set(k, (counts.get(k) ?? 0) + 1); }
  for (const k of [0, 1, 5]) {
    const p = sampler.probability(k), se = Math.sqrt(p * (1 - p) / n);
    assert.ok(Math.abs((counts.get(k) ?? 0) / n - p) < 5 * se, `id ${k}: ${(counts.get(k) ?? 0) / n} vs ${p}`);
  }
});

test('training uses the sampled softmax only with fewer candidates than words, and evaluation always the full one', async () => {
  const model = micro({ n_negative_samples: 4 });
  const batch = fixtureBatch();
  model.eval();
  const full = await noGrad(() => model.forward(batch)).loss!.item();
  const nll = await model.negativeLogLikelihood(batch);
  assert.ok(Math.abs(nll.forward.sum / nll.forward.count + nll.backward.sum / nll.backward.count - 2 * full) < 1e-4);
  model.train();
  const sampled = await noGrad(() => model.forward(batch)).loss!.item();
  assert.notEqual(sampled, full);
  assert.ok(model.training, 'negativeLogLikelihood restores the training mode');
});

test("AllenNLP's Elmo: one scalar mix per output representation, the biLM frozen by default, zero at padding", async () => {
  const bilm = micro({ dropout: 0 });
  const elmo = new Elmo(bilm, { numOutputRepresentations: 2, dropout: 0 });
  assert.equal(elmo.scalar_mixes.length, 2);
  assert.ok(bilm.parameters().every((p) => !p.requiresGrad));
  assert.equal(elmo.parameters().filter((p) => p.requiresGrad).length, 2 * 2, 'weights and gamma of each mix');
  const batch = fixtureBatch();
  const reps = elmo.forward(batch);
  assert.equal(reps.length, 2);
  assert.deepEqual(reps[0]!.shape, [2, 7, 8]);
  // Equal weights at the start: the mix is the mean of the layers.
  const layers = await Promise.all(noGrad(() => bilm.forward({ ...batch, targets: undefined })).layers.map((l) => l.data()));
  const mixed = await reps[1]!.data();
  for (let i = 0; i < 7 * 8; i++) assert.ok(Math.abs(mixed[i]! - (layers[0]![i]! + layers[1]![i]! + layers[2]![i]!) / 3) < 1e-6);
  assert.ok(mixed.subarray(7 * 8 + 5 * 8).every((v) => v === 0));
});

test('the corpus: boundaries around each window, characters for every word (targets <UNK> outside the vocabulary), batch targets', () => {
  const vocab = WordVocab.build([['a', 'b', 'a']], { specials: ELMO_SPECIALS });
  const corpus = ElmoCorpus.encode([['a', 'b', 'zebra', 'a', 'b'], ['b']], vocab, { maxTokens: 3 });
  assert.equal(corpus.report.windowedSequences, 1);
  assert.deepEqual(corpus.sequences.map((s) => [...s].map((t) => corpus.types[t])), [['<S>', 'a', 'b', 'zebra', '</S>'], ['<S>', 'a', 'b', '</S>'], ['<S>', 'b', '</S>']]);
  assert.equal(corpus.predictions, 4 + 3 + 2);
  assert.equal(corpus.unknownTargets, 1);
  const batch = corpus.batch([0, 2]);
  assert.deepEqual(batch.tokens.shape, [2, 5]);
  assert.equal(batch.chars.shape[0], 5, 'distinct tokens of the batch: <S> a b zebra </S>');
  const id = (w: string) => vocab.id(w);
  assert.deepEqual([...batch.targets!.forward], [id('a'), id('b'), id('zebra'), id('</S>'), -1, id('b'), id('</S>'), -1, -1, -1]);
  assert.deepEqual([...batch.targets!.backward], [-1, id('<S>'), id('a'), id('b'), id('zebra'), -1, id('<S>'), id('b'), -1, -1]);
  assert.equal(id('zebra'), 2);
});

test('perplexity per direction is exp of the mean loss; embed gives [3, n, 2P] (all) or [n, 2P] (top, average) without boundaries', async () => {
  const model = micro();
  const vocab = new WordVocab([...ELMO_SPECIALS.words, 'the', 'bank', 'river', 'money', 'a', 'of', 'é', 'is'], ELMO_SPECIALS);
  const corpus = ElmoCorpus.encode([['the', 'bank', 'of', 'the', 'river'], ['money', 'é', 'unknownword']], vocab, { maxChars: 10 });
  const p = await elmoPerplexity(model, corpus);
  model.eval();
  const out = noGrad(() => model.forward(corpus.batch([0, 1])));
  assert.equal(p.tokens, 6 + 4);
  assert.ok(Math.abs(p.forward.perplexity - Math.exp(await out.forwardLoss!.item())) < 1e-3);
  assert.ok(Math.abs(p.perplexity - Math.exp(await out.loss!.item())) < 1e-3);
  const sentences = [['the', 'bank'], ['a', 'river', 'bank']];
  const all = await elmoEmbed(model, sentences, { layers: 'all' });
  assert.deepEqual(all.map((e) => e.shape), [[3, 2, 8], [3, 3, 8]]);
  const top = await elmoEmbed(model, sentences, { layers: 'top' }), avg = await elmoEmbed(model, sentences, { layers: 'average' });
  assert.deepEqual(top[1]!.shape, [3, 8]);
  for (let i = 0; i < 3 * 8; i++) {
    assert.ok(Math.abs(top[1]!.data[i]! - all[1]!.data[2 * 3 * 8 + i]!) < 1e-6);
    assert.ok(Math.abs(avg[1]!.data[i]! - (all[1]!.data[i]! + all[1]!.data[24 + i]! + all[1]!.data[48 + i]!) / 3) < 1e-5);
  }
  // The token layer is the char CNN's vector twice: context-free.
  assert.deepEqual([...all[0]!.data.subarray(8, 12)], [...all[1]!.data.subarray(16, 20)], '"bank" has one token vector');
  assert.deepEqual([...all[0]!.data.subarray(8, 12)], [...all[0]!.data.subarray(12, 16)]);
});

test('a biLM saves and loads as a model directory (model_type elmo)', async () => {
  const model = micro();
  const dir = mkdtempSync(join(tmpdir(), 'elmo-'));
  try {
    await savePretrained(model, dir);
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).model_type, 'elmo');
    const { model: loaded } = await loadPretrained(dir);
    assert.ok(loaded instanceof ElmoBiLM);
    assert.deepEqual((loaded as ElmoBiLM).config, model.config);
    const batch = fixtureBatch();
    model.eval(); loaded.eval();
    assert.deepEqual(await noGrad(() => (loaded as ElmoBiLM).forward(batch)).layers[2]!.data(), await noGrad(() => model.forward(batch)).layers[2]!.data());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
