// Transfer end to end on tiny separable sets shipped with the tests (scripts/gen_transfer_fixtures.py): words traced
// to subword tokens and windows, BERT and GPT-2 fine-tuned under transformers' heads, frozen features cached once
// under a linear or BiLSTM-CRF top, word vectors as an encoder, regression on pairs, and saved task models that load
// and predict the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/tensor/index.js';
import { readTask } from '../../src/data/tasks/read.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { loadPretrained, savePretrained } from '../../src/models/pretrained.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { trainConfig } from '../../src/tasks/trainer.js';
import { train } from '../../src/tasks/trainer.js';
import { buildTaskModel, loadTaskModel, type TransferSpec } from '../../src/tasks/transfer/build.js';
import { transferData } from '../../src/tasks/transfer/data.js';
import { FINETUNE, FROZEN, FinetuneTask, gradualUnfreezing, layerwiseLrGroups } from '../../src/tasks/transfer/finetune.js';
import { tokenizeExamples } from '../../src/tasks/transfer/inputs.js';
import { FeatureModel } from '../../src/tasks/transfer/task-model.js';
import { Parameter } from '../../src/nn/module.js';

const FIX = fileURLToPath(new URL('../fixtures/transfer/', import.meta.url));
const TEXT = fileURLToPath(new URL('../fixtures/text/', import.meta.url));
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `${name}-`));

/** A small random BERT over the fixtures' WordPiece vocabulary, saved as a model directory with its vocab.txt. */
async function tinyBert(seed = 1): Promise<string> {
  T.manualSeed(seed);
  const dir = fresh('tiny-bert');
  const vocab = readFileSync(join(FIX, 'vocab.txt'), 'utf8');
  writeFileSync(join(dir, 'vocab.txt'), vocab);
  const size = vocab.trim().split('\n').length;
  await savePretrained(new BertForPreTraining(bertConfig({ vocab_size: size, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
    intermediate_size: 64, max_position_embeddings: 64 })), dir);
  return dir;
}

async function data(kind: 'sentiment' | 'ner') {
  const opts = kind === 'ner' ? { format: 'conll' as const, columnNames: ['token', 'ner'], labelColumn: 'ner' } : {};
  const train = await readTask(join(FIX, `${kind}-train.${kind === 'ner' ? 'conll' : 'tsv'}`), opts);
  const dev = await readTask(join(FIX, `${kind}-dev.${kind === 'ner' ? 'conll' : 'tsv'}`), { ...opts, labels: train.labels });
  return transferData(train, dev);
}

async function finetune(spec: Omit<TransferSpec, 'kind' | 'labels'>, kind: 'sentiment' | 'ner', steps: number, lr: number, outDir?: string) {
  const d = await data(kind);
  const built = await buildTaskModel({ ...spec, kind: d.kind, labels: d.labels });
  const task = new FinetuneTask(built.taskModel, d, { batchSize: 8, saveExtras: built.saveExtras });
  const recipe = spec.mode === 'finetune' ? FINETUNE : FROZEN;
  const result = await train(task, trainConfig(recipe, { maxSteps: steps, lr, warmupSteps: 5, evalEvery: steps, logEvery: steps, seed: 3, outDir }),
    outDir ? { best: { metric: kind === 'ner' ? 'f1' : 'accuracy', mode: 'max' } } : {});
  return { built, task, result, d };
}

test('words are traced to their first subword (WordPiece, byte-level BPE, characters), and long sequences become windows', () => {
  const bert = Tokenizer.fromFile(join(TEXT, 'bert-uncased.json'));
  const { inputs } = tokenizeExamples(bert, bert.config.template ?? null, [{ words: ['Unaffable', 'players,', 'yes'] }], { maxTokens: 64 });
  const x = inputs[0]!;
  const tokens = x.ids.map((id) => bert.idToToken(id));
  assert.equal(tokens[0], '[CLS]');
  assert.equal(tokens.at(-1), '[SEP]');
  assert.deepEqual(x.wordStarts.map((t) => tokens[t]), ['un', 'pla', 'ye'], `${tokens.join(' ')}`);
  assert.ok(tokens.includes(','), 'the comma is a token of the second word, not a word of its own');

  const gpt2 = Tokenizer.fromFile(join(TEXT, 'gpt2.json'));
  const g = tokenizeExamples(gpt2, null, [{ words: ['Hello', 'world!', 'again'] }], { maxTokens: 64 }).inputs[0]!;
  assert.deepEqual(g.wordStarts.map((t) => gpt2.idToToken(g.ids[t]!)), ['H', 'Ġwor', 'Ġa'], 'the first token of a word carries the space before it');

  const zh = Tokenizer.fromFile(join(TEXT, 'bert-chinese.json'));
  const c = tokenizeExamples(zh, zh.config.template ?? null, [{ words: ['我', '爱', '北', '京'] }], { maxTokens: 64, separator: '' }).inputs[0]!;
  assert.deepEqual(c.wordStarts, [1, 2, 3, 4], 'each character is its own token, after [CLS]');

  // 40 words in windows of 10 content tokens (12 with [CLS] and [SEP]) every 5: each word is scored exactly once,
  // in a window where it has context on both sides wherever one exists
  const words = Array.from({ length: 40 }, (_, i) => ['the', 'no', 'was', 'so'][i % 4]!);
  const long = tokenizeExamples(bert, bert.config.template ?? null, [{ words }], { maxTokens: 12, stride: 5 });
  assert.equal(long.report.windowed, 1);
  assert.ok(long.inputs.length >= 7 && long.inputs.every((w) => w.ids.length <= 12));
  for (let w = 0; w < words.length; w++) {
    const owners = long.inputs.filter((x) => x.scoredWords[w]);
    assert.equal(owners.length, 1, `word ${w} is scored by one window`);
    const o = owners[0]!, at = o.wordStarts[w]!;
    assert.equal(bert.idToToken(o.ids[at]!), words[w]);
    if (w >= 3 && w < words.length - 3) assert.ok(at >= 3 && at <= o.ids.length - 4, `word ${w} has context on both sides (token ${at} of ${o.ids.length})`);
  }
  // a pair longer than the context loses tokens from its longer sequence, and says so
  const pair = tokenizeExamples(bert, bert.config.template ?? null, [{ words: words.slice(0, 20), pair: words.slice(0, 4) }], { maxTokens: 16 });
  assert.equal(pair.report.truncatedPairs, 1);
  assert.equal(pair.inputs[0]!.ids.length, 16);
});

test('BERT fine-tuned under BertForSequenceClassification learns the tiny sentiment set; the best model loads in the HF layout', async () => {
  const out = fresh('ft-sentiment');
  const { result, task } = await finetune({ model: await tinyBert(), mode: 'finetune' }, 'sentiment', 160, 2e-3, out);
  assert.ok(result.eval.accuracy! >= 0.95, `dev accuracy ${result.eval.accuracy}`);
  assert.equal(result.best!.value, result.eval.accuracy);
  const { model, report } = await loadPretrained(join(out, 'best'));
  assert.equal(report.architecture, 'BertForSequenceClassification');
  assert.deepEqual((model.config as { id2label: object }).id2label, { 0: 'neg', 1: 'pos' });
  // the saved task model predicts what the trained one does
  const { built } = await loadTaskModel(join(out, 'best'));
  built.taskModel.module.eval();
  task.model.eval();
  const d = await data('sentiment');
  const again = new FinetuneTask(built.taskModel, d, { batchSize: 8 });
  assert.deepEqual(await again.predict(again.dev, d.dev), await task.predict(task.dev, d.dev));
});

test('BERT fine-tuned for tagging: labels on first subwords, entity F1 on the dev set', async () => {
  const { result } = await finetune({ model: await tinyBert(2), mode: 'finetune' }, 'ner', 160, 2e-3);
  assert.ok(result.eval.f1! >= 0.9, `dev entity F1 ${result.eval.f1}`);
});

test('frozen BERT features are computed once per input and cached; only the new top trains (linear, and BiLSTM-CRF)', async () => {
  const dir = await tinyBert(3);
  const before = await Promise.all((await loadPretrained(dir, { architecture: 'BertModel' })).model.parameters().map(async (p) => Array.from(await p.data())));
  for (const head of ['linear', 'bilstm-crf'] as const) {
    const { built, task, result, d } = await finetune({ model: dir, mode: 'frozen', head }, 'ner', 150, 2e-2);
    const fm = built.taskModel as FeatureModel;
    assert.ok(result.eval.f1! >= 0.9, `${head}: dev entity F1 ${result.eval.f1}`);
    if (head === 'bilstm-crf') {
      // BIO tags decode within AllenNLP's constraints: even with O -> I-X and START -> I-X made the best transitions,
      // no I-X follows O, another type or the start
      const crf = fm.head.tagger!.crf!;
      const K = d.labels.length;
      const trans = Array.from(await crf.transitions.data()), start = Array.from(await crf.start_transitions.data());
      const o = d.labels.indexOf('O');
      d.labels.forEach((l, j) => { if (l.startsWith('I-')) { trans[o * K + j] = 50; start[j] = 50; } });
      crf.setParameter('transitions', new Parameter(T.fromArray(trans, [K, K])));
      crf.setParameter('start_transitions', new Parameter(T.fromArray(start, [K])));
      fm.module.eval();
      for (const tags of await task.predict(task.dev, d.dev) as string[][]) {
        tags.forEach((t, i) => {
          if (t.startsWith('I-')) assert.ok(i > 0 && tags[i - 1]!.slice(2) === t.slice(2) && tags[i - 1] !== 'O', `invalid BIO: ${tags.join(' ')}`);
        });
      }
    }
    assert.equal(fm.encoderRuns, task.train.inputs.length + task.dev.inputs.length, `${head}: each input ran through the encoder once`);
    const enc = fm.encoder as unknown as { model: { parameters(): T.Tensor[] } };
    const after = await Promise.all(enc.model.parameters().map(async (p) => Array.from(await p.data())));
    assert.deepEqual(after, before, `${head}: the encoder did not change`);
    assert.ok(task.model.parameters().every((p) => p.requiresGrad), 'what the optimizer sees is the new top');
  }
});

test('word vectors as a frozen or trained embedding layer under a classifier', async () => {
  const dir = fresh('vectors');
  const words = readFileSync(join(FIX, 'vocab.txt'), 'utf8').trim().split('\n').filter((w) => !w.startsWith('['));
  // vectors as pretraining would leave them: the sentiment words apart along one direction, the rest noise
  const rng = new T.Generator(4);
  const sentiment = (w: string) => (['good', 'great', 'fine', 'lovely', 'superb'].includes(w) ? 1 : ['bad', 'awful', 'poor', 'dull', 'boring'].includes(w) ? -1 : 0);
  const rows = words.map((w) => `${w} ${Array.from({ length: 8 }, (_, k) => (k === 0 ? sentiment(w) : rng.random() - 0.5).toFixed(4)).join(' ')}`);
  writeFileSync(join(dir, 'v.txt'), `${words.length} 8\n${rows.join('\n')}\n`);
  for (const mode of ['frozen', 'finetune'] as const) {
    const { result } = await finetune({ model: join(dir, 'v.txt'), mode }, 'sentiment', 200, 3e-2);
    assert.ok(result.eval.accuracy! >= 0.9, `${mode}: dev accuracy ${result.eval.accuracy}`);
  }
});

test('GPT-2 fine-tuned with GPT\'s input tokens and its auxiliary LM loss; the saved head reads the extract token', async () => {
  T.manualSeed(5);
  const dir = fresh('tiny-gpt');
  const tok = Tokenizer.fromFile(join(TEXT, 'gpt2.json'));
  tok.save(join(dir, 'tokenizer.json'));
  await savePretrained(new GPT(gptConfig({ vocab_size: tok.vocabSize, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 2 })), dir);
  const out = fresh('ft-gpt');
  const { result, built } = await finetune({ model: dir, mode: 'finetune' }, 'sentiment', 120, 2e-3, out);
  assert.ok(result.eval.accuracy! >= 0.9, `dev accuracy ${result.eval.accuracy}`);
  assert.ok(built.newWeights.some((w) => w.includes('task tokens')), 'the embeddings grew rows for the task tokens');
  const { model } = await loadPretrained(join(out, 'best'));
  const cfg = model.config as { vocab_size: number; pad_token_id: number };
  assert.equal(cfg.vocab_size, tok.vocabSize + 4, '<|start|>, <|delim|>, <|extract|> and <|pad|> were added');
  assert.equal(cfg.pad_token_id, tok.vocabSize + 3);
  const saved = Tokenizer.fromFile(join(out, 'best', 'tokenizer.json'));
  assert.equal(saved.tokenToId('<|extract|>'), tok.vocabSize + 2);
});

test('bad transfer inputs are refused with a message: an unknown dev label, a head for other labels', async () => {
  const d = await data('sentiment');
  const built = await buildTaskModel({ model: await tinyBert(), kind: d.kind, labels: d.labels, mode: 'finetune' });
  assert.throws(() => new FinetuneTask(built.taskModel, { ...d, dev: [{ input: { words: ['meh'] }, target: 'neutral' }] }, { batchSize: 4 }),
    /dev: example 0 has the label "neutral", which is not in the label set \(neg, pos\)/);
  const out = fresh('head');
  await finetune({ model: await tinyBert(), mode: 'finetune' }, 'sentiment', 2, 1e-3, out);
  await assert.rejects(buildTaskModel({ model: join(out, 'best'), kind: 'classification', labels: ['a', 'b', 'c'], mode: 'finetune' }),
    /has a BertForSequenceClassification head for the labels neg, pos, not a, b, c; pass --reset-head/);
  const reset = await buildTaskModel({ model: join(out, 'best'), kind: 'classification', labels: ['a', 'b', 'c'], mode: 'finetune', resetHead: true });
  assert.deepEqual(reset.newWeights, ['classifier.weight', 'classifier.bias']);
});

test('layer-wise learning rates (ULMFiT): head and top layer at the base rate, each layer below divided by the decay, every trainable parameter once', async () => {
  const d = await data('sentiment');
  const built = await buildTaskModel({ model: await tinyBert(), mode: 'finetune', kind: d.kind, labels: d.labels });
  const groups = layerwiseLrGroups(built.taskModel, 1e-3, 2, 0.01);
  const layers = built.taskModel.encoder.layers;
  const rateOf = new Map<T.Tensor, number>();
  for (const g of groups) for (const [, p] of g.params) { assert.ok(!rateOf.has(p), 'a parameter in two groups'); rateOf.set(p, g.lr); }
  const trainable = built.taskModel.module.parameters().filter((p) => p.requiresGrad);
  assert.equal(rateOf.size, trainable.length);
  // embeddings, layer 0, layer 1 (the top): 1e-3 / 4, / 2, / 1
  layers.forEach((m, i) => { for (const p of m.parameters()) assert.equal(rateOf.get(p), 1e-3 / 2 ** (layers.length - 1 - i), `encoder module ${i}`); });
  const classifier = (built.taskModel.module as unknown as { classifier: { weight: T.Tensor } }).classifier.weight;
  assert.equal(rateOf.get(classifier), 1e-3);
  assert.equal(groups[0]!.lr, 1e-3, 'the head comes first (the logged rate is the base one)');
  assert.ok(groups.every((g) => g.weightDecay === 0 || g.params.every(([, p]) => p.rank >= 2)), 'no decay on biases and norms');
  assert.throws(() => layerwiseLrGroups(built.taskModel, 1e-3, 0.5, 0), /decay must be >= 1/);
});

test('gradual unfreezing (ULMFiT): the head trains alone, then one encoder layer more every N steps, top first, the embeddings last', async () => {
  const d = await data('sentiment');
  const built = await buildTaskModel({ model: await tinyBert(4), mode: 'finetune', kind: d.kind, labels: d.labels });
  const task = new FinetuneTask(built.taskModel, d, { batchSize: 8 });
  const layers = built.taskModel.encoder.layers;
  const L = layers.length;
  const weights = () => Promise.all(layers.map(async (m) => (await Promise.all(m.parameters().map(async (p) => Array.from(await p.data())))).flat()));
  const before = await weights();
  const unfreeze = gradualUnfreezing(built.taskModel, 2);
  const trainingAt: boolean[][] = [];
  // L stages of 2 steps: the head alone, then the top layer too, ..., all but the embeddings
  await train(task, trainConfig(FINETUNE, { maxSteps: 2 * L, lr: 1e-3, evalEvery: 0, logEvery: 2 * L, seed: 3 }), {
    beforeStep: (step) => { unfreeze(step); trainingAt.push(layers.map((m) => m.parameters().every((p) => p.requiresGrad))); },
  });
  trainingAt.forEach((flags, step) => assert.deepEqual(flags, layers.map((_, i) => i >= L - Math.floor(step / 2)), `step ${step}`));
  const after = await weights();
  assert.deepEqual(after[0], before[0], 'the embeddings never trained');
  for (let i = 1; i < L; i++) assert.notDeepEqual(after[i], before[i], `encoder module ${i} trained once unfrozen`);
  unfreeze(2 * L);
  assert.ok(built.taskModel.module.parameters().every((p) => p.requiresGrad), 'after L stages everything trains');
  assert.throws(() => gradualUnfreezing(built.taskModel, 0), /positive integer/);
});

test('BERT fine-tuned for regression on sentence pairs (SICK layout): a relatedness score read from both sentences', async () => {
  // the score counts the positive words across both sentences (1 to 5): learnable only by reading the pair; measured
  // dev Pearson 0.94
  const rng = new T.Generator(12);
  const pick = <X>(xs: readonly X[]) => xs[Math.floor(rng.random() * xs.length)]!;
  const positive = ['good', 'great', 'fine', 'lovely', 'superb'], other = ['the', 'film', 'movie', 'was', 'plot', 'acting', 'story', 'very', 'a'];
  const sentence = (k: number) => Array.from({ length: 5 }, (_, i) => (i < k ? pick(positive) : pick(other))).sort(() => rng.random() - 0.5).join(' ');
  const file = (n: number) => {
    const rows = Array.from({ length: n }, (_, i) => {
      const ka = Math.floor(rng.random() * 3), kb = Math.floor(rng.random() * 3);
      return `${i + 1}\t${sentence(ka)}\t${sentence(kb)}\t${1 + ka + kb}\tNEUTRAL`;
    });
    const path = join(fresh('sick'), 'SICK_part.txt');
    writeFileSync(path, `pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n${rows.join('\n')}\n`);
    return path;
  };
  const trainSet = await readTask(file(240), { labelColumn: 'relatedness' }), dev = await readTask(file(60), { labelColumn: 'relatedness' });
  const d = transferData(trainSet, dev);
  assert.equal(d.kind, 'regression');
  const built = await buildTaskModel({ model: await tinyBert(5), mode: 'finetune', kind: d.kind, labels: d.labels });
  const task = new FinetuneTask(built.taskModel, d, { batchSize: 8 });
  const result = await train(task, trainConfig(FINETUNE, { maxSteps: 200, lr: 2e-3, warmupSteps: 5, evalEvery: 200, logEvery: 200, seed: 3 }));
  assert.ok(result.eval.pearson! >= 0.8, `dev Pearson ${result.eval.pearson}`);
});
