// The probes on inputs small enough to work out by hand: the inflection matcher; span features (subword means, the
// last word up to the template's [SEP], windows) against the encoder's own states; the polysemy probe's counts and
// chance rate on test/fixtures/probes/polysemy.json (hand-written), static vectors at exactly chance, and an NNLM
// whose left context separates the senses; the POS and sense layer probes with their splits and baselines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as T from '../../src/tensor/index.js';
import { readConllu } from '../../src/data/tasks/conllu.js';
import { BertModel, bertConfig } from '../../src/models/bert.js';
import { NNLM, nnlmConfig } from '../../src/models/nnlm.js';
import { WordVectors } from '../../src/models/vectors.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { WordVocab, tokenize } from '../../src/text/word-lm.js';
import { BertEncoder, StaticEncoder, encode } from '../../src/tasks/transfer/encoders.js';
import { NNLMEncoder } from '../../src/tasks/transfer/nnlm-encoder.js';
import { spanFeatures } from '../../src/tasks/probes/features.js';
import { findLemma, inflections, polysemyProbe, probeWords, readPolysemyData, type PolysemyData } from '../../src/tasks/probes/polysemy.js';
import { LINEAR_PROBE, layerProbe, posProbeData, senseProbeData } from '../../src/tasks/probes/layer-probe.js';

const FIX = fileURLToPath(new URL('../fixtures/probes/', import.meta.url));
const TEXT = fileURLToPath(new URL('../fixtures/text/', import.meta.url));
const DATA = JSON.parse(readFileSync(join(FIX, 'polysemy.json'), 'utf8')) as PolysemyData;
const only = (...lemmas: string[]): PolysemyData => Object.fromEntries(lemmas.map((l) => [l, DATA[l]!]));
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

/** Random word vectors over the fixture's words (lowercased, as the static trainers' tokenizer gives them). */
function randomVectors(): WordVectors {
  const words = [...new Set(Object.values(DATA).flatMap((s) => Object.values(s).flat()).flatMap((t) => tokenize(t)))];
  const rng = new T.Generator(3);
  return new WordVectors({ words, dim: 8, vectors: Float32Array.from({ length: words.length * 8 }, () => rng.random() - 0.5) });
}

/** An NNLM of order 3 over the fixture's words: its hidden state at a word reads that word and the one before. */
function contextNnlm(): NNLMEncoder {
  T.manualSeed(5);
  const vocab = WordVocab.build(Object.values(DATA).flatMap((s) => Object.values(s).flat()).map((t) => tokenize(t)));
  return new NNLMEncoder(new NNLM(nnlmConfig({ vocab_size: vocab.size, order: 3, embedding_size: 8, hidden_size: 16 })), vocab);
}

test('the inflection matcher: plurals, -ed/-ing with doubling, e-drop and y→i, irregulars, possessives; an exact form first', () => {
  for (const [lemma, forms] of [
    ['bank', ['banks', 'banked', 'banking']], ['box', ['boxes']], ['fly', ['flies', 'flied', 'flying', 'flew']], ['stop', ['stopped', 'stopping', 'stops']],
    ['bake', ['baked', 'baking', 'baker']], ['lie', ['lying', 'lied']], ['knife', ['knives']], ['leaf', ['leaves']], ['run', ['ran', 'running']],
    ['child', ['children']], ['big', ['bigger', 'biggest']], ['happy', ['happier', 'happiest']], ['play', ['played', 'plays', 'playing']],
  ] as const) for (const f of forms) assert.ok(inflections(lemma).has(f), `${f} is a form of ${lemma}`);
  assert.ok(!inflections('play').has('plaies') && !inflections('see').has('seing'));
  assert.deepEqual(findLemma(probeWords('Two Banks merged'), ['bank']), [1, 2]);
  assert.deepEqual(findLemma(probeWords("the bat's wing"), ['bat']), [1, 2]);
  assert.deepEqual(findLemma(probeWords('they seed it, then see it'), ['see']), [5, 6], 'the exact form wins over an overgenerated one');
  assert.deepEqual(findLemma(probeWords('an ice cream cone'), ['ice', 'cream']), [1, 3]);
  assert.deepEqual(findLemma(probeWords('ice creams'), ['ice', 'cream']), [0, 2]);
  assert.equal(findLemma(probeWords('the shore was muddy'), ['bank']), null);
  assert.equal(findLemma(probeWords('embankment'), ['bank']), null);
  assert.deepEqual(probeWords('The river bank, muddy.'), ['The', 'river', 'bank', ',', 'muddy', '.']);
});

test("span features: the mean of a word's subword states, the last word up to [SEP], several words, and long sentences read in windows", async () => {
  T.manualSeed(2);
  const tok = Tokenizer.fromFile(join(TEXT, 'bert-uncased.json'));
  const model = new BertModel(bertConfig({ vocab_size: tok.vocabSize, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16 }));
  const encoder = new BertEncoder(model, tok);
  const words = ['Unaffable', 'players', 'say', 'unaffable'];
  model.eval();
  const { hiddenStates, inputs } = noGrad(() => encode(encoder, [{ words }]));
  const x = inputs[0]!;
  const H = 16;
  const states = (await Promise.all(hiddenStates.map((h) => h.data()))) as Float32Array[];
  const mean = (l: number, s: number, e: number) => Array.from({ length: H }, (_, k) => {
    let v = 0;
    for (let t = s; t < e; t++) v += states[l]![t * H + k]!;
    return v / (e - s);
  });
  const f = await spanFeatures(encoder, [{ words, spans: [[0, 1], [3, 4], [1, 3]] }]);
  assert.equal(f.layers.length, 2);
  assert.equal(f.spans, 3);
  assert.ok(x.wordStarts[1]! - x.wordStarts[0]! > 1, 'the first word has several subwords');
  const expected = [[x.wordStarts[0]!, x.wordStarts[1]!], [x.wordStarts[3]!, x.ids.length - 1], [x.wordStarts[1]!, x.wordStarts[3]!]];
  for (let l = 0; l < 2; l++) {
    expected.forEach(([s, e], i) => mean(l, s, e).forEach((v, k) => assert.ok(Math.abs(v - f.layers[l]![i * H + k]!) < 1e-5, `layer ${l} span ${i}`)));
  }
  // 20 words over a context of 16: windows; each span is read in the window that scores its first word
  const long = Array.from({ length: 20 }, (_, i) => ['the', 'no', 'was', 'so'][i % 4]!);
  const windows = encoder.tokenize([{ words: long }]).inputs;
  assert.ok(windows.length > 1);
  const w = 15, owner = windows.findIndex((y) => y.scoredWords[w]);
  const at = windows[owner]!.wordStarts[w]!;
  const ownerStates = noGrad(() => encoder.forward({ ...encodeBatch(windows[owner]!) }));
  const own = (await ownerStates[1]!.data()) as Float32Array;
  const g = await spanFeatures(encoder, [{ words: long, spans: [[w, w + 1]] }]);
  Array.from(own.subarray(at * H, (at + 1) * H)).forEach((v, k) => assert.ok(Math.abs(v - g.layers[1]![k]!) < 1e-5, `window feature ${k}`));
  await assert.rejects(spanFeatures(encoder, [{ words, spans: [[2, 9]] }]), /span \[2, 9\) is not within the sentence's 4 words/);
});

/** One input as a batch of one. */
function encodeBatch(x: { ids: number[]; typeIds: number[] }) {
  const n = x.ids.length;
  return {
    inputIds: T.fromArray(Int32Array.from(x.ids), [1, n], { dtype: 'int32' }), typeIds: T.fromArray(Int32Array.from(x.typeIds), [1, n], { dtype: 'int32' }),
    mask: T.ones([1, n]), lengths: [n],
  };
}

test('the polysemy probe: counts, not-found sentences and the chance rate by hand; static vectors score exactly chance', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'polysemy-'));
  writeFileSync(join(dir, 'data.json.gz'), gzipSync(readFileSync(join(FIX, 'polysemy.json'))));
  const data = await readPolysemyData(join(dir, 'data.json.gz'));
  const stat = new StaticEncoder(randomVectors());
  const r = await polysemyProbe(stat, data);
  assert.equal(r.lemmas, 4);
  assert.equal(r.sentences, 17);
  assert.equal(r.notFound, 1);
  assert.deepEqual(r.notFoundExamples, [{ lemma: 'bank', sentence: 'the shore was muddy' }]);
  // bank: 6 found (river 3, money 2, slope 1), queries river 3 × 2/5 and money 2 × 1/5; bat and fly: 4 queries × 1/3
  // each (fly found as flies, flew, fly, flies); light: one sentence per sense, no query
  assert.equal(r.queries, 13);
  assert.equal(r.scoredLemmas, 3);
  near(r.chance, (3 * 2 / 5 + 2 / 5 + 8 / 3) / 13, 'chance');
  assert.equal(r.accuracy.length, 1);
  // where every occurrence has one form, every neighbour ties: exactly chance
  const bank = await polysemyProbe(stat, only('bank'));
  near(bank.accuracy[0]!, bank.chance, 'static accuracy on bank');
  near(bank.chance, 1.6 / 5, 'bank chance');
  assert.equal(bank.tiedQueries[0], bank.queries);
});

test('the polysemy probe on an NNLM: its word vectors score chance, its hidden layer (reading the word before) tells the senses apart', async () => {
  const r = await polysemyProbe(contextNnlm(), only('bank', 'bat'));
  assert.equal(r.accuracy.length, 2);
  near(r.chance, (1.6 + 4 / 3) / 9, 'chance');
  near(r.accuracy[0]!, r.chance, 'C(w_t)');
  assert.equal(r.tiedQueries[0], 9);
  // "river bank", "savings bank", "vampire bat", "cricket bat": each query's twin context is its nearest neighbour
  near(r.accuracy[1]!, 1, 'the hidden layer');
});

test('bad polysemy files are errors naming the file, the line or the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'polysemy-bad-'));
  const write = (name: string, text: string) => { writeFileSync(join(dir, name), text); return join(dir, name); };
  await assert.rejects(readPolysemyData(write('a.json', '{\n "bank": {\n  "x": ["ok"],\n }\n}')), /a\.json:4: not valid JSON/);
  await assert.rejects(readPolysemyData(write('b.json', '["bank"]')), /b\.json: expected a JSON object/);
  await assert.rejects(readPolysemyData(write('c.json', '{"bank": ["a bank"]}')), /c\.json: "bank": expected \{sense: \[sentences\]\}, got an array/);
  await assert.rejects(readPolysemyData(write('d.json', '{"bank": {"river": "a bank"}}')), /"bank"\."river": expected an array of sentences/);
  await assert.rejects(readPolysemyData(write('e.json', '{"bank": {"river": ["a bank", 3]}}')), /"bank"\."river"\[1\]: expected a sentence/);
  await assert.rejects(readPolysemyData(join(dir, 'missing.json')), /missing\.json: no such file/);
});

test('the sense probe: one held-out sentence per sense with two or more; C(w_t) can only guess one sense a lemma, the hidden layer learns them', async () => {
  const encoder = contextNnlm();
  const data = senseProbeData(only('bank', 'bat'), { split: (t) => encoder.splitText(t), seed: 1 });
  // bank: river 3 found (one held out), money 2 (one), slope 1 (trains only); bat: 2 and 2
  assert.equal(data.dev.labels.length, 4);
  assert.equal(data.train.labels.length, 6);
  assert.equal(data.notFound, 1);
  assert.deepEqual(data.labels, ['bank noun.river', 'bank noun.money', 'bank noun.slope', 'bat noun.animal', 'bat noun.club']);
  const seen: number[] = [];
  const r = await layerProbe(encoder, data, { probe: { epochs: 60 }, onLayer: (s) => seen.push(s.layer) });
  assert.deepEqual(seen, [0, 1]);
  near(r.layers[0]!.dev, 0.5, 'C(w_t) dev accuracy');
  near(r.layers[1]!.dev, 1, 'hidden dev accuracy');
  near(r.chance, (2 / 3 + 1) / 4, 'chance among each lemma\'s senses');
  near(r.majority, 0.5, 'majority sense');
  // another seed holds out other sentences
  const other = senseProbeData(only('bank', 'bat'), { split: (t) => encoder.splitText(t), seed: 2 });
  assert.equal(other.dev.labels.length, 4);
});

test('the POS probe: a seeded fifth held out (or a dev file), word identity learnt from static vectors, the majority baseline; bad input', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pos-probe-'));
  const sentence = (i: number) => {
    const rows = [['the', 'DET'], [['cat', 'dog', 'bird'][i % 3]!, 'NOUN'], [['sat', 'ran'][i % 2]!, 'VERB'], ['.', 'PUNCT']];
    return rows.map(([w, t], k) => `${k + 1}\t${w}\t${w}\t${t}\t_\t_\t0\t_\t_\t_`).join('\n');
  };
  writeFileSync(join(dir, 'tiny.conllu'), Array.from({ length: 20 }, (_, i) => sentence(i)).join('\n\n') + '\n');
  const train = await readConllu(join(dir, 'tiny.conllu'));
  const data = posProbeData(train, null, { seed: 3 });
  assert.equal(data.dev.queries.length, 4);
  assert.equal(data.train.queries.length, 16);
  assert.equal(data.dev.labels.length, 16);
  assert.match(data.heldOut, /4 of .*tiny\.conllu's 20 sentences \(seed 3\)/);
  assert.notDeepEqual(posProbeData(train, null, { seed: 4 }).dev.queries, data.dev.queries);
  assert.equal(posProbeData(train, null, { devFraction: 0.5 }).dev.queries.length, 10);
  const words = ['the', 'cat', 'dog', 'bird', 'sat', 'ran', '.'];
  const rng = new T.Generator(1);
  const encoder = new StaticEncoder(new WordVectors({ words, dim: 6, vectors: Float32Array.from({ length: 42 }, () => rng.random() - 0.5) }), { lowercase: false });
  const r = await layerProbe(encoder, data, { probe: { ...LINEAR_PROBE, epochs: 40, batchSize: 8 } });
  assert.equal(r.layers.length, 1);
  near(r.layers[0]!.train, 1, 'train accuracy');
  near(r.layers[0]!.dev, 1, 'dev accuracy');
  near(r.majority, 0.25, 'one tag in four');
  near(r.chance, 0.25, 'uniform over 4 tags');
  // a dev file with a tag the training sentences lack
  writeFileSync(join(dir, 'dev.conllu'), `1\tthe\tthe\tX\t_\t_\t0\t_\t_\t_\n`);
  assert.throws(() => posProbeData(train, null, { devFraction: 1 }), /devFraction must be in \(0, 1\)/);
  const badDev = await readConllu(join(dir, 'dev.conllu'));
  assert.throws(() => posProbeData(train, badDev), /dev\.conllu: sentence 1 word 1 has the tag "X", which the training sentences do not/);
  await assert.rejects(layerProbe(encoder, data, { probe: { epochs: 0 } }), /epochs must be a positive integer/);
});
