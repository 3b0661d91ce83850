// CoVe training (src/tasks/cove-train.ts): tokens with joiners that detokenise back to the text, parallel files read
// with their errors, the GloVe source vocabulary, a tiny copy task that the model learns (greedy BLEU near 100), and
// a run interrupted at a checkpoint that resumes to exactly the weights and losses of an uninterrupted one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CoveModel, coveConfig } from '../../src/models/cove.js';
import { WordVectors } from '../../src/models/vectors.js';
import {
  COVE_TRAIN, CoveTrainTask, JOINER, detokenize, gloveVocabulary, greedyTranslate, joinerTokens, readParallel, sourceId, sourceTokens, translateSentences,
  type CoveVocabularies, type TranslationPair,
} from '../../src/tasks/cove-train.js';
import { train, trainConfig } from '../../src/tasks/trainer.js';
import { Generator, manualSeed } from '../../src/tensor/random.js';
import { WordVocab } from '../../src/text/word-lm.js';

test('joiner tokens detokenise back to the text; source tokens are the same without marks', () => {
  const text = 'Ein Mann im T-Shirt, der „lacht“ (laut)... Er\'s 3.5 m hoch.';
  const tokens = joinerTokens(text);
  assert.deepEqual(tokens.slice(0, 7), ['Ein', 'Mann', 'im', 'T', `${JOINER}-`, `${JOINER}Shirt`, `${JOINER},`]);
  assert.equal(detokenize(tokens), text);
  assert.deepEqual(sourceTokens(text), tokens.map((t) => t.replace(JOINER, '')));
  assert.equal(detokenize(joinerTokens('  two   spaces  ')), 'two spaces');
  assert.deepEqual(sourceTokens("A dog's ball."), ["A", "dog's", 'ball', '.']);
});

test('readParallel pairs lines (gzip too), skips and counts pairs with an empty side, and names both files when the counts differ', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cove-data-'));
  try {
    writeFileSync(join(dir, 'a.en.gz'), gzipSync('A dog runs.\n\nTwo cats.\n'));
    writeFileSync(join(dir, 'a.de'), 'Ein Hund rennt.\nLeer.\nZwei Katzen.\n');
    const { pairs, skippedEmpty } = await readParallel(join(dir, 'a.en.gz'), join(dir, 'a.de'));
    assert.equal(skippedEmpty, 1);
    assert.deepEqual(pairs.map((p) => p.reference), ['Ein Hund rennt.', 'Zwei Katzen.']);
    assert.deepEqual(pairs[0]!.source, ['A', 'dog', 'runs', '.']);
    assert.deepEqual(pairs[0]!.target, ['Ein', 'Hund', 'rennt', `${JOINER}.`]);
    writeFileSync(join(dir, 'b.de'), 'Eins.\n');
    await assert.rejects(readParallel(join(dir, 'a.en.gz'), join(dir, 'b.de')), /a\.en\.gz has 3 lines but .*b\.de has 1; line i of one must translate line i of the other/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the GloVe source vocabulary: zero rows for <unk> <s> </s>, then the words; lookups fall back to lowercase, then <unk>', () => {
  const vectors = new WordVectors({ words: ['the', '<unk>', 'Dog', 'dog'], dim: 2, vectors: Float32Array.from([1, 2, 9, 9, 3, 4, 5, 6]) });
  const { vocab, table } = gloveVocabulary(vectors);
  assert.deepEqual(vocab.words, ['<unk>', '<s>', '</s>', 'the', 'Dog', 'dog']);
  assert.deepEqual(Array.from(table), [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(['Dog', 'dog', 'THE', 'cat'].map((w) => sourceId(vocab, w)), [4, 5, 3, 0]);
});

// A copy task: German is the English words, so a model that learns to attend copies them.
const WORDS = ['red', 'blue', 'dog', 'cat', 'runs', 'sits', 'big', 'small'];
function copyPairs(n: number, seed: number): TranslationPair[] {
  const rng = new Generator(seed);
  return Array.from({ length: n }, () => {
    const words = Array.from({ length: 3 + Math.floor(rng.random() * 3) }, () => WORDS[Math.floor(rng.random() * WORDS.length)]!);
    return { source: words, target: words, reference: words.join(' ') };
  });
}

function copySetup(seed = 3): { model: CoveModel; vocabs: CoveVocabularies; trainPairs: TranslationPair[]; val: TranslationPair[] } {
  manualSeed(seed);
  const rng = new Generator(seed);
  const vectors = new WordVectors({ words: WORDS, dim: 6, vectors: Float32Array.from({ length: WORDS.length * 6 }, () => rng.random() * 2 - 1) });
  const { vocab, table } = gloveVocabulary(vectors);
  const trainPairs = copyPairs(400, 1), val = copyPairs(40, 2);
  const target = WordVocab.build(trainPairs.map((p) => p.target));
  const model = new CoveModel(coveConfig({
    source_vocab_size: vocab.size, embedding_size: 6, hidden_size: 16, target_vocab_size: target.size, target_embedding_size: 8, dropout: 0,
  }));
  model.setGlove(table);
  return { model, vocabs: { source: vocab, target }, trainPairs, val };
}

test('a tiny copy task learns: validation loss falls and greedy translations score BLEU above 80', async () => {
  const { model, vocabs, trainPairs, val } = copySetup();
  const task = new CoveTrainTask(model, trainPairs, val, vocabs, { batchSize: 16, evalPairs: 40, seed: 1 });
  const before = await task.evaluate();
  const result = await train(task, trainConfig(COVE_TRAIN, { maxSteps: 150, warmupSteps: 10, lr: 1e-2, evalEvery: 0, logEvery: 50 }));
  assert.ok(result.eval.val_loss! < before.val_loss! / 4, `val loss ${before.val_loss} → ${result.eval.val_loss}`);
  assert.ok(result.eval.bleu! > 80, `BLEU ${result.eval.bleu}`);
  assert.equal(task.lastBleu!.signature, 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0');
  const [out] = await translateSentences(model, vocabs, ['red dog sits']);
  assert.equal(out, 'red dog sits');
  // greedy output stops at </s> and never runs past maxLength
  const ids = await greedyTranslate(model, [Int32Array.from(['big', 'cat'], (w) => sourceId(vocabs.source, w))], { maxLength: 1 });
  assert.equal(ids[0]!.length, 1);
});

test('a run resumed from its checkpoint ends with the weights and losses of an uninterrupted run', async () => {
  const run = async (out: string, steps: number, resume: boolean) => {
    const { model, vocabs, trainPairs, val } = copySetup(5);
    // batches of 16 over 400 pairs: an epoch is 25 batches, so the resumed part crosses into the second epoch
    const task = new CoveTrainTask(model, trainPairs, val, vocabs, { batchSize: 16, evalPairs: 8, seed: 4 });
    // a constant schedule, so that the first part's shorter maxSteps does not change its learning rates
    const result = await train(task, trainConfig(COVE_TRAIN, { maxSteps: steps, warmupSteps: 2, schedule: 'constant', evalEvery: 0, checkpointEvery: 20, logEvery: 1, outDir: out }), { resume });
    return { result, weights: await Promise.all(model.parameters().map((p) => p.data())) };
  };
  const root = mkdtempSync(join(tmpdir(), 'cove-resume-'));
  try {
    const whole = await run(join(root, 'whole'), 32, false);
    await run(join(root, 'split'), 20, false);
    const resumed = await run(join(root, 'split'), 32, true);
    assert.deepEqual(resumed.result.history.map((r) => r.loss), whole.result.history.map((r) => r.loss));
    resumed.weights.forEach((w, i) => assert.deepEqual(w, whole.weights[i], `parameter ${i}`));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
