// The NNLM as a transfer encoder: its hidden state at each word is the one the model itself computes from the n-gram
// window (text/word-lm.ts's ngramWindows, <s> padding) to predict the next word; words map through its vocabulary
// with <unk>; states are left-context only (right padding changes nothing); the loader reads a saved directory and
// its scratch baseline; and `pretrain finetune` and `evaluate` run through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/tensor/index.js';
import * as ops from '../../src/tensor/ops.js';
import { NNLM, nnlmConfig } from '../../src/models/nnlm.js';
import { savePretrained } from '../../src/models/pretrained.js';
import { Parameter } from '../../src/nn/module.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { WordVocab, ngramWindows } from '../../src/text/word-lm.js';
import { encoderLoader } from '../../src/tasks/transfer/encoder-loaders.js';
import { encode, padBatch } from '../../src/tasks/transfer/encoders.js';
import { freezeBelow } from '../../src/tasks/transfer/build.js';
import { NNLMEncoder, vocabSplit } from '../../src/tasks/transfer/nnlm-encoder.js';

const FIX = fileURLToPath(new URL('../fixtures/transfer/', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

const SENTENCES = [['the', 'cat', 'sat', 'on', 'the', 'mat'], ['a', 'dog', 'ran'], ['the', 'dog', 'sat']];

function tinyNnlm(order = 4, embedding = 6, hidden = 10): { model: NNLM; vocab: WordVocab } {
  T.manualSeed(7);
  const vocab = WordVocab.build(SENTENCES);
  return { model: new NNLM(nnlmConfig({ vocab_size: vocab.size, order, embedding_size: embedding, hidden_size: hidden })), vocab };
}

/** Rows [T, H] of one batch row of a state. */
async function rows(state: T.Tensor, b: number, n: number): Promise<number[][]> {
  const [, Tn, H] = state.shape as [number, number, number];
  const d = (await state.data()) as Float32Array;
  return Array.from({ length: n }, (_, t) => Array.from(d.subarray((b * Tn + t) * H, (b * Tn + t + 1) * H)));
}

function close(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-5, `${what}[${i}]: ${x} vs ${b[i]}`));
}

test('the hidden state at w_t is the tanh layer over the n−1 words ending at w_t, as the model computes it from its n-gram windows', async () => {
  const { model, vocab } = tinyNnlm();
  const encoder = new NNLMEncoder(model, vocab);
  model.eval();
  const { hiddenStates } = noGrad(() => encode(encoder, SENTENCES.map((words) => ({ words }))));
  assert.equal(hiddenStates.length, 2);
  assert.equal(encoder.hiddenSize, 10);
  for (const [b, words] of SENTENCES.entries()) {
    // ngramWindows' row i + 1 predicts word i + 1 from the n − 1 words ending at word i
    const w = ngramWindows([words], vocab, 4);
    const ctx = ops.fromArray(w.contexts, [w.count, 3], { dtype: 'int32' });
    const x = ops.reshape(model.embeddings.forward(ctx), [w.count, 18]);
    const expected = await rows(ops.unsqueeze(noGrad(() => ops.tanh(model.hidden.forward(x))), 0), 0, w.count);
    const got = await rows(hiddenStates[1]!, b, words.length);
    words.forEach((_, i) => close(got[i]!, expected[i + 1]!, `sentence ${b} word ${i} hidden`));
    // state 0: C(w_t), zero-padded from 6 to the hidden width 10
    const table = (await model.embeddings.weight.data()) as Float32Array;
    const emb = await rows(hiddenStates[0]!, b, words.length);
    words.forEach((word, i) => close(emb[i]!, [...table.subarray(vocab.id(word) * 6, vocab.id(word) * 6 + 6), 0, 0, 0, 0], `sentence ${b} word ${i} vector`));
  }
});

test('the NNLM encoder: <unk> and lowercasing by its vocabulary, a split told by it, right padding that changes nothing, pairs', async () => {
  const { model, vocab } = tinyNnlm(3, 8, 5);
  const encoder = new NNLMEncoder(model, vocab);
  assert.equal(encoder.split, 'words');
  assert.deepEqual(encoder.splitText('The Cat, sat!'), ['the', 'cat', 'sat']);
  const { inputs } = encoder.tokenize([{ words: ['The', 'zebra', 'sat'], pair: ['a', 'dog'] }]);
  assert.deepEqual(inputs[0]!.ids, [vocab.id('the'), 0, vocab.id('sat'), vocab.id('a'), vocab.id('dog')]);
  assert.deepEqual(inputs[0]!.typeIds, [0, 0, 0, 1, 1]);
  assert.equal(encoder.hiddenSize, 8); // the hidden layer (5) is the one padded now
  // a short row padded to a long one has the states it has alone
  model.eval();
  const short = encoder.tokenize([{ words: ['a', 'dog'] }]).inputs;
  const both = encoder.tokenize([{ words: ['a', 'dog'] }, { words: ['the', 'cat', 'sat', 'on', 'the', 'mat'] }]).inputs;
  const alone = noGrad(() => encoder.forward(padBatch(short, encoder.padId)));
  const padded = noGrad(() => encoder.forward(padBatch(both, encoder.padId)));
  for (let s = 0; s < 2; s++) {
    const a = await rows(alone[s]!, 0, 2), p = await rows(padded[s]!, 0, 2);
    a.forEach((r, t) => close(p[t]!, r, `state ${s} word ${t}`));
  }
  // a vocabulary with capitals or punctuation came from pre-split text: words are looked up as they are
  const cased = new NNLMEncoder(new NNLM(nnlmConfig({ vocab_size: 5, order: 2, embedding_size: 4, hidden_size: 4 })), new WordVocab(['<unk>', '<s>', '</s>', 'The', ',']));
  assert.equal(vocabSplit(cased.vocab), 'whitespace');
  assert.deepEqual(cased.splitText('The cat ,'), ['The', 'cat', ',']);
  assert.equal(cased.idOf('The'), 3);
  assert.equal(cased.idOf('the'), 0);
  assert.throws(() => new NNLMEncoder(model, new WordVocab(['<unk>', '<s>', '</s>'])), /vocabulary of 3 words for a model of/);
});

test("the 'nnlm' loader reads a saved model and its vocabulary, or its architecture with fresh weights; freezing below layer 0 fixes C", async () => {
  const { model, vocab } = tinyNnlm();
  const dir = mkdtempSync(join(tmpdir(), 'nnlm-enc-'));
  await savePretrained(model, dir);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const loader = encoderLoader('nnlm', 'test');
  await assert.rejects(loader.load(dir, config), /no vocab\.txt beside the model/);
  writeFileSync(join(dir, 'vocab.txt'), vocab.toText());
  const loaded = await loader.load(dir, config) as NNLMEncoder;
  const scratch = await loader.scratch(dir, config) as NNLMEncoder;
  const weights = async (e: NNLMEncoder) => Array.from((await e.model.embeddings.weight.data()) as Float32Array);
  assert.deepEqual(await weights(loaded), await weights(new NNLMEncoder(model, vocab)));
  assert.notDeepEqual(await weights(scratch), await weights(loaded));
  assert.deepEqual(scratch.vocab.words, vocab.words);
  freezeBelow(loaded, 0);
  assert.equal(loaded.model.embeddings.weight.requiresGrad, false);
  assert.equal(loaded.model.hidden.weight.requiresGrad, true);
  writeFileSync(join(dir, 'vocab.txt'), '<unk>\n<s>\n</s>\ncat\n');
  await assert.rejects(loader.load(dir, config), /vocab\.txt: 4 words, but config\.json's vocab_size is 11/);
});

test('pretrain finetune through an NNLM, frozen and fine-tuned; evaluate rebuilds the saved model on it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nnlm-ft-'));
  const sentences = readFileSync(join(FIX, 'sentiment-train.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')[1]!.split(' '));
  const vocab = WordVocab.build(sentences);
  T.manualSeed(2);
  const model = new NNLM(nnlmConfig({ vocab_size: vocab.size, order: 3, embedding_size: 8, hidden_size: 16 }));
  // word vectors as pretraining would leave them: the sentiment words apart along one direction, the rest noise
  const sentiment = (w: string) => (['good', 'great', 'fine', 'lovely', 'superb'].includes(w) ? 1 : ['bad', 'awful', 'poor', 'dull', 'boring'].includes(w) ? -1 : 0);
  const rng = new T.Generator(4);
  const table = Float32Array.from(vocab.words.flatMap((w) => Array.from({ length: 8 }, (_, k) => (k === 0 ? sentiment(w) : 0.2 * (rng.random() - 0.5)))));
  model.embeddings.weight = new Parameter(ops.fromArray(table, [vocab.size, 8]));
  await savePretrained(model, join(dir, 'nnlm'));
  writeFileSync(join(dir, 'nnlm', 'vocab.txt'), vocab.toText());
  const pretrain = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `pretrain ${args.join(' ')}\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  };
  const dev = join(FIX, 'sentiment-dev.tsv');
  const common = ['--train', join(FIX, 'sentiment-train.tsv'), '--dev', dev, '--batch', '8', '--warmup', '2', '--eval-every', '20', '--seed', '1'];
  const frozen = pretrain('finetune', '--model', join(dir, 'nnlm'), '--mode', 'frozen', ...common, '--steps', '120', '--lr', '3e-2', '--out', join(dir, 'frozen'));
  assert.ok(frozen['best_accuracy']! >= 0.9, `frozen best dev accuracy ${frozen['best_accuracy']}`);
  const evaluated = pretrain('evaluate', '--model', join(dir, 'frozen', 'best'), '--data', dev);
  assert.equal(evaluated['accuracy'], frozen['best_accuracy']);
  const tuned = pretrain('finetune', '--model', join(dir, 'nnlm'), '--mode', 'finetune', ...common, '--steps', '40', '--lr', '3e-3', '--out', join(dir, 'tuned'));
  assert.equal(tuned['steps'], 40);
  assert.equal(pretrain('evaluate', '--model', join(dir, 'tuned', 'best'), '--data', dev)['accuracy'], tuned['best_accuracy']);
});
