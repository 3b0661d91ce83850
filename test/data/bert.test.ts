import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Corpus } from '../../src/text/corpus.js';
import {
  BERT_DATA_DEFAULTS, createInstancesFromDocument, createMaskedLmPredictions, createTrainingInstances, instancesToBatch, roundHalfEven, tokenizeDocuments, truncateSeqPair,
  type BertInstance, type TokenDocument,
} from '../../src/data/bert.js';
import { bertVocab, type BertVocab } from '../../src/data/encoder.js';
import { instanceStats } from '../../src/data/prepare.js';
import { Rng } from '../../src/data/random.js';
import { testEncoder } from './helpers.js';

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'data', 'pretrain-corpus.txt');

/** The ids before masking. */
function original(inst: BertInstance): Int32Array {
  const ids = Int32Array.from(inst.inputIds);
  inst.maskedPositions.forEach((p, k) => { ids[p] = inst.maskedIds[k]!; });
  return ids;
}

/** Synthetic documents whose ids say where they come from: document d, token k -> 1000 * (d + 1) + k, consecutive
 * through the document, so segment A/B provenance and contiguity can be checked exactly. */
function syntheticDocs(nDocs: number, rng: Rng, sentenceLength: [number, number]): { docs: TokenDocument[]; vocab: BertVocab; lastIds: Set<number> } {
  const docs: TokenDocument[] = [];
  for (let d = 0; d < nDocs; d++) {
    const doc: Int32Array[] = [];
    let k = 0;
    const sentences = rng.randint(3, 40);
    for (let s = 0; s < sentences; s++) {
      const n = rng.randint(sentenceLength[0], sentenceLength[1]);
      doc.push(Int32Array.from({ length: n }, () => 1000 * (d + 1) + k++));
    }
    docs.push(doc);
  }
  const size = 1000 * (nDocs + 1);
  const lastIds = new Set(docs.map((d) => d[d.length - 1]!.at(-1)!));
  return { docs, vocab: { size, pad: 0, cls: 2, sep: 3, mask: 4, continuation: new Uint8Array(size) }, lastIds };
}

test('segment pairs respect documents: A then B from one document unless B is random, each contiguous; layout and mask counts exact', () => {
  const { docs, vocab, lastIds } = syntheticDocs(30, new Rng(1), [3, 14]);
  const opts = { ...BERT_DATA_DEFAULTS, maxSeqLength: 64, dupeFactor: 8, shortSeqProb: 0, seed: 7 };
  const instances = createTrainingInstances(docs, vocab, opts);
  assert.ok(instances.length > 800, `${instances.length} instances`);
  let random = 0, coin = 0, mask = 0, same = 0, other = 0, predictions = 0;
  for (const inst of instances) {
    const ids = original(inst);
    const n = ids.length, a = inst.segmentALength;
    assert.ok(n <= 64);
    assert.equal(ids[0], vocab.cls);
    assert.equal(ids[a - 1], vocab.sep);
    assert.equal(ids[n - 1], vocab.sep);
    assert.equal(ids.filter((t) => t === vocab.sep).length, 2);
    const A = ids.subarray(1, a - 1), B = ids.subarray(a, n - 1);
    assert.ok(A.length >= 1 && B.length >= 1);
    for (const seg of [A, B]) for (let k = 1; k < seg.length; k++) assert.equal(seg[k], seg[k - 1]! + 1, 'segments are contiguous text');
    const docOf = (t: number) => Math.floor(t / 1000);
    assert.ok(A.every((t) => docOf(t) === docOf(A[0]!)) && B.every((t) => docOf(t) === docOf(B[0]!)));
    // A chunk of one segment must take a random B: with short sentences that is only a document's last sentence
    // alone, recognisable as A ending the document. The others flip the NSP coin.
    const forced = lastIds.has(A[A.length - 1]!);
    if (!forced) { coin++; if (inst.isRandomNext) random++; }
    if (inst.isRandomNext) {
      assert.notEqual(docOf(B[0]!), docOf(A[0]!), 'a random next segment comes from another document');
    } else {
      assert.equal(docOf(B[0]!), docOf(A[0]!));
      assert.ok(B[0]! > A[A.length - 1]!, 'B follows A');
    }
    // Masking: min(max_predictions, max(1, round(n * 0.15))) positions, ascending, never [CLS]/[SEP].
    assert.equal(inst.maskedPositions.length, Math.min(20, Math.max(1, roundHalfEven(n * 0.15))));
    for (let k = 0; k < inst.maskedPositions.length; k++) {
      const p = inst.maskedPositions[k]!;
      if (k > 0) assert.ok(p > inst.maskedPositions[k - 1]!);
      assert.ok(p !== 0 && p !== a - 1 && p !== n - 1);
      const shown = inst.inputIds[p]!;
      if (shown === vocab.mask) mask++;
      else if (shown === inst.maskedIds[k]) same++;
      else other++;
      predictions++;
    }
  }
  const nsp = random / coin;
  assert.ok(Math.abs(nsp - 0.5) < 0.03, `random next ${nsp}`);
  assert.ok(Math.abs(mask / predictions - 0.8) < 0.02, `[MASK] ${mask / predictions}`);
  assert.ok(Math.abs(same / predictions - 0.1) < 0.015, `unchanged ${same / predictions}`);
  assert.ok(Math.abs(other / predictions - 0.1) < 0.015, `random token ${other / predictions}`);
});

test('on a real multi-document corpus: 80/10/10, NSP near 50/50, full-length examples, and short_seq_prob shortens', async () => {
  const enc = testEncoder(readFileSync(CORPUS, 'utf8'));
  const docs = await tokenizeDocuments((await Corpus.open(CORPUS)).documents(), enc);
  assert.ok(docs.length >= 15);
  const vocab = bertVocab(enc);
  const run = (shortSeqProb: number) => createTrainingInstances(docs, vocab, { ...BERT_DATA_DEFAULTS, shortSeqProb, dupeFactor: 10, seed: 3 });
  const base = run(0.1);
  let mask = 0, same = 0, other = 0, predictions = 0;
  for (const inst of base) {
    inst.maskedPositions.forEach((p, k) => {
      const shown = inst.inputIds[p]!;
      if (shown === vocab.mask) mask++;
      else if (shown === inst.maskedIds[k]) same++;
      else other++;
      predictions++;
    });
  }
  assert.ok(predictions > 30_000, `${predictions} predictions`);
  assert.ok(Math.abs(mask / predictions - 0.8) < 0.01, `[MASK] ${mask / predictions}`);
  assert.ok(Math.abs(same / predictions - 0.1) < 0.01, `unchanged ${same / predictions}`);
  assert.ok(Math.abs(other / predictions - 0.1) < 0.01, `random ${other / predictions}`);
  const stats = instanceStats(base, 128);
  // A chunk of a single long sentence must take a random B (as in the script), so NSP leans above one half here.
  assert.ok(stats.randomNextFraction > 0.47 && stats.randomNextFraction < 0.62, `random next ${stats.randomNextFraction}`);
  assert.ok(stats.maskedPerExample > 17 && stats.maskedPerExample <= 20, `masked per example ${stats.maskedPerExample}`);
  // Length distribution: with short_seq_prob 0 nearly every example fills max_seq_length (all but document ends);
  // 0.1 shortens some; 1 spreads targets uniformly over [2, 125], so a large share is short.
  const never = instanceStats(run(0), 128), always = run(1);
  assert.ok(never.fullLengthFraction > 0.93, `full at p=0: ${never.fullLengthFraction}`);
  assert.ok(stats.fullLengthFraction < never.fullLengthFraction && stats.fullLengthFraction > 0.8, `full at p=0.1: ${stats.fullLengthFraction}`);
  const lengths = [...always].map((i) => i.inputIds.length);
  const below = (x: number) => lengths.filter((l) => l < x).length / lengths.length;
  assert.ok(below(64) > 0.08 && below(128) > 0.4, `p=1: below 64 ${below(64)}, below 128 ${below(128)}`);
  assert.ok(Math.min(...lengths) < 20, 'very short targets occur');
});

test('whole-word masking masks every piece of a word or none', async () => {
  const enc = testEncoder(readFileSync(CORPUS, 'utf8'), 150); // a small vocabulary: many words split into ## pieces
  const docs = await tokenizeDocuments((await Corpus.open(CORPUS)).documents(), enc);
  const vocab = bertVocab(enc);
  const instances = createTrainingInstances(docs, vocab, { ...BERT_DATA_DEFAULTS, wholeWordMask: true, dupeFactor: 2, seed: 5 });
  let pieceMasks = 0;
  for (const inst of instances) {
    const ids = original(inst);
    const masked = new Set(inst.maskedPositions);
    const special = (q: number) => ids[q] === vocab.cls || ids[q] === vocab.sep;
    for (const p of masked) {
      // The word's previous piece, skipping [SEP]: a front-truncated segment can start with a ## piece, which the
      // script groups with the word before the [SEP]; right after [CLS] it starts a word of its own.
      let q = p - 1;
      while (q > 0 && special(q)) q--;
      if (vocab.continuation[ids[p]!] && q > 0) { pieceMasks++; assert.ok(masked.has(q), 'the piece before a masked ## piece is masked'); }
      if (p + 1 < ids.length && vocab.continuation[ids[p + 1]!]) assert.ok(masked.has(p + 1), 'the ## piece after a masked piece is masked');
    }
    assert.ok(inst.maskedPositions.length <= 20);
  }
  assert.ok(pieceMasks > 1000, `${pieceMasks} masked ## pieces`);
  // Without whole-word masking, pieces are masked alone.
  const single = createTrainingInstances(docs, vocab, { ...BERT_DATA_DEFAULTS, dupeFactor: 1, seed: 5 });
  const alone = [...single].some((inst) => {
    const ids = original(inst), masked = new Set(inst.maskedPositions);
    return [...masked].some((p) => vocab.continuation[ids[p]!] && !masked.has(p - 1));
  });
  assert.ok(alone);
});

test('seeded and reproducible: the same seed gives the same examples, another seed others', () => {
  const { docs, vocab } = syntheticDocs(10, new Rng(2), [5, 30]);
  const opts = { ...BERT_DATA_DEFAULTS, dupeFactor: 2 };
  const a = instancesToBatch(createTrainingInstances(docs, vocab, { ...opts, seed: 1 }).slice(0), 128, 20, 0);
  const b = instancesToBatch(createTrainingInstances(docs, vocab, { ...opts, seed: 1 }).slice(0), 128, 20, 0);
  const c = instancesToBatch(createTrainingInstances(docs, vocab, { ...opts, seed: 2 }).slice(0), 128, 20, 0);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.inputIds, c.inputIds);
  // The packed store and its shuffled order equal the script's plain list and random.shuffle.
  const rng = new Rng(1);
  const shuffled = rng.shuffle([...docs]);
  const list: BertInstance[] = [];
  for (let dupe = 0; dupe < 2; dupe++) for (let d = 0; d < shuffled.length; d++) list.push(...createInstancesFromDocument(shuffled, d, vocab, { ...opts, seed: 1 }, rng));
  assert.deepEqual(instancesToBatch(rng.shuffle(list), 128, 20, 0), a);
});

test('truncate_seq_pair trims the longer segment from a random end; Python rounding; padding layout', () => {
  const rng = new Rng(9);
  let front = 0, back = 0;
  for (let t = 0; t < 2000; t++) {
    const a = Array.from({ length: 30 }, (_, i) => i), b = [100, 101, 102];
    truncateSeqPair(a, b, 29, rng);
    assert.equal(a.length, 26);
    assert.deepEqual(b, [100, 101, 102]);
    if (a[0] !== 0) front++;
    if (a[a.length - 1] !== 29) back++;
  }
  assert.ok(front > 1700 && back > 1700, `${front} ${back}`); // 4 cuts, each end with p = 1/2: P(no cut at an end) = 1/16
  assert.deepEqual([0.5, 1.5, 2.5, 4.5, 2.6, 3.4].map(roundHalfEven), [0, 2, 2, 4, 3, 3]);
  // 30 tokens x 0.15 = 4.5 -> 4 predictions (Python's round), 10 x 0.15 = 1.5 -> 2.
  const vocab: BertVocab = { size: 50, pad: 0, cls: 2, sep: 3, mask: 4, continuation: new Uint8Array(50) };
  const seq = (n: number) => Int32Array.from({ length: n }, (_, i) => (i === 0 ? 2 : i === n - 1 ? 3 : 10 + (i % 30)));
  const opts = { maskedLmProb: 0.15, maxPredictionsPerSeq: 20, wholeWordMask: false };
  assert.equal(createMaskedLmPredictions(seq(30), vocab, opts, rng).positions.length, 4);
  assert.equal(createMaskedLmPredictions(seq(10), vocab, opts, rng).positions.length, 2);
  assert.equal(createMaskedLmPredictions(seq(200), vocab, opts, rng).positions.length, 20);
  const batch = instancesToBatch([{ inputIds: Int32Array.from([2, 11, 3, 12, 13, 3]), segmentALength: 3, isRandomNext: true, maskedPositions: Int32Array.from([3]), maskedIds: Int32Array.from([14]) }], 8, 2, 0);
  assert.deepEqual(Array.from(batch.inputIds), [2, 11, 3, 12, 13, 3, 0, 0]);
  assert.deepEqual(Array.from(batch.tokenTypeIds), [0, 0, 0, 1, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(batch.attentionMask), [1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(batch.maskedPositions), [3, 0]);
  assert.deepEqual(Array.from(batch.maskedIds), [14, 0]);
  assert.deepEqual(Array.from(batch.maskedWeights), [1, 0]);
  assert.deepEqual(Array.from(batch.nextSentenceLabels), [1]);
});

test('Rng: uniform unbiased integers, 53-bit floats, shuffles, state restore', () => {
  const rng = new Rng(42);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70_000; i++) counts[rng.randint(0, 6)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 400, String(counts));
  const state = rng.getState();
  const draws = [rng.random(), rng.random(), rng.below(1000)];
  rng.setState(state);
  assert.deepEqual([rng.random(), rng.random(), rng.below(1000)], draws);
  assert.deepEqual(rng.shuffle([1, 2, 3, 4, 5, 6]).sort(), [1, 2, 3, 4, 5, 6]);
  assert.notDeepEqual(new Rng(1).getState(), new Rng(2).getState());
  assert.throws(() => rng.below(0), /n must be in/);
});
