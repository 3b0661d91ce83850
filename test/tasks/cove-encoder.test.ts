// CoVe as a transfer encoder (src/tasks/transfer/cove-encoder.ts): the three states [GloVe; 0], [GloVe; MT-LSTM₁] and
// [GloVe; MT-LSTM₂] against the model's own encoder, padding that changes nothing, the 'cove' loader (trained and
// scratch, the same fixed GloVe), freezing below a layer, and `pretrain finetune --model COVE_DIR` with evaluate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoveModel, coveConfig } from '../../src/models/cove.js';
import { savePretrained } from '../../src/models/pretrained.js';
import { saveCoveVocabularies } from '../../src/tasks/cove-train.js';
import { freezeBelow } from '../../src/tasks/transfer/build.js';
import { CoveEncoder } from '../../src/tasks/transfer/cove-encoder.js';
import { encoderLoader } from '../../src/tasks/transfer/encoder-loaders.js';
import { padBatch } from '../../src/tasks/transfer/encoders.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { Generator, manualSeed } from '../../src/tensor/random.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { WordVocab } from '../../src/text/word-lm.js';

const FIX = fileURLToPath(new URL('../fixtures/transfer/', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** A CoVe model over the sentiment fixture's words, whose GloVe rows carry the sentiment along their first dimension. */
function sentimentCove(): { model: CoveModel; vocab: WordVocab; target: WordVocab } {
  const sentences = readFileSync(join(FIX, 'sentiment-train.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')[1]!.split(' '));
  const vocab = WordVocab.build(sentences);
  const target = new WordVocab(['<unk>', '<s>', '</s>', 'gut', 'schlecht']);
  manualSeed(3);
  const model = new CoveModel(coveConfig({ source_vocab_size: vocab.size, embedding_size: 6, hidden_size: 5, target_vocab_size: target.size, target_embedding_size: 4 }));
  const sentiment = (w: string) => (['good', 'great', 'fine', 'lovely', 'superb'].includes(w) ? 1 : ['bad', 'awful', 'poor', 'dull', 'boring'].includes(w) ? -1 : 0);
  const rng = new Generator(4);
  model.setGlove(Float32Array.from(vocab.words.flatMap((w, i) => Array.from({ length: 6 }, (_, k) => (i < 3 ? 0 : k === 0 ? sentiment(w) : 0.2 * (rng.random() - 0.5))))));
  return { model, vocab, target };
}

async function rows(state: Tensor, b: number, n: number): Promise<number[][]> {
  const [, T, H] = state.shape as [number, number, number];
  const d = (await state.data()) as Float32Array;
  return Array.from({ length: n }, (_, t) => Array.from(d.subarray((b * T + t) * H, (b * T + t + 1) * H)));
}

function close(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-5, `${what}[${i}]: ${x} vs ${b[i]}`));
}

test('CoVe states are [GloVe; 0], [GloVe; layer 1] and [GloVe; layer 2] of the MT-LSTM, and padding changes none of them', async () => {
  const { model, vocab } = sentimentCove();
  const encoder = new CoveEncoder(model, vocab);
  assert.deepEqual([encoder.numStates, encoder.hiddenSize, encoder.layers.length], [3, 6 + 10, 3]);
  assert.deepEqual(encoder.splitText('Good film, truly.'), ['Good', 'film', ',', 'truly', '.']);
  const { inputs } = encoder.tokenize([{ words: ['Good', 'zebra', 'film'] }, { words: ['bad', 'plot', 'was', 'the', 'acting', 'film'] }]);
  assert.deepEqual(inputs[0]!.ids, [vocab.id('good'), 0, vocab.id('film')]);
  const both = noGrad(() => encoder.forward(padBatch(inputs, encoder.padId)));
  const alone = noGrad(() => encoder.forward(padBatch(inputs.slice(0, 1), encoder.padId)));
  const batch = padBatch(inputs, encoder.padId);
  const own = noGrad(() => model.encoder.forward(batch.inputIds, batch.mask));
  for (const [b, n] of [[0, 3], [1, 6]] as const) {
    const glove = await rows(own.glove, b, n);
    const layer1 = await rows(own.layers[0]!, b, n), layer2 = await rows(own.layers[1]!, b, n);
    const states = await Promise.all(both.map((s) => rows(s, b, n)));
    for (let t = 0; t < n; t++) {
      close(states[0]![t]!, [...glove[t]!, ...new Array<number>(10).fill(0)], `row ${b} word ${t} state 0`);
      close(states[1]![t]!, [...glove[t]!, ...layer1[t]!], `row ${b} word ${t} state 1`);
      close(states[2]![t]!, [...glove[t]!, ...layer2[t]!], `row ${b} word ${t} state 2`);
    }
  }
  for (let s = 0; s < 3; s++) {
    const a = await rows(alone[s]!, 0, 3), p = await rows(both[s]!, 0, 3);
    a.forEach((r, t) => close(p[t]!, r, `padded state ${s} word ${t}`));
  }
});

test("the 'cove' loader: the trained MT-LSTM, or a fresh one over the same GloVe; freezeBelow 1 fixes GloVe and the first biLSTM layer, not the second", async () => {
  const { model, vocab, target } = sentimentCove();
  const dir = mkdtempSync(join(tmpdir(), 'cove-enc-'));
  try {
    await savePretrained(model, dir);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const loader = encoderLoader('cove', 'test');
    await assert.rejects(loader.load(dir, config), /no source_vocab\.txt beside the model/);
    await saveCoveVocabularies(dir, { source: vocab, target });
    const loaded = await loader.load(dir, config) as CoveEncoder;
    const scratch = await loader.scratch(dir, config) as CoveEncoder;
    const data = async (t: Tensor) => Array.from((await t.data()) as Float32Array);
    const firstWeight = (m: CoveModel) => new Map(m.encoder.rnn.namedParameters()).get('weight_ih_l0')!;
    assert.deepEqual(await data(firstWeight(loaded.model)), await data(firstWeight(model)));
    assert.notDeepEqual(await data(firstWeight(scratch.model)), await data(firstWeight(model)));
    assert.deepEqual(await data(scratch.model.encoder.embeddings.weight), await data(model.encoder.embeddings.weight));
    assert.equal(scratch.model.encoder.embeddings.weight.requiresGrad, false);
    freezeBelow(loaded, 1);
    const rnn = loaded.model.encoder.rnn as unknown as Record<string, Tensor>;
    assert.deepEqual(['weight_ih_l0', 'weight_hh_l0_reverse', 'weight_ih_l1', 'bias_hh_l1_reverse'].map((k) => rnn[k]!.requiresGrad), [false, false, true, true]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pretrain finetune --model COVE_DIR trains a frozen-feature classifier on CoVe, and evaluate rebuilds it', async () => {
  const { model, vocab, target } = sentimentCove();
  const dir = mkdtempSync(join(tmpdir(), 'cove-ft-'));
  try {
    await savePretrained(model, join(dir, 'cove'));
    await saveCoveVocabularies(join(dir, 'cove'), { source: vocab, target });
    const pretrain = (...args: string[]) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args, '--json'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `pretrain ${args.join(' ')}\n${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
    };
    const dev = join(FIX, 'sentiment-dev.tsv');
    const frozen = pretrain('finetune', '--model', join(dir, 'cove'), '--mode', 'frozen', '--train', join(FIX, 'sentiment-train.tsv'), '--dev', dev,
      '--batch', '8', '--warmup', '2', '--eval-every', '20', '--seed', '1', '--steps', '120', '--lr', '3e-2', '--out', join(dir, 'frozen'));
    assert.ok(frozen['best_accuracy']! >= 0.9, `frozen best dev accuracy ${frozen['best_accuracy']}`);
    assert.equal(pretrain('evaluate', '--model', join(dir, 'frozen', 'best'), '--data', dev)['accuracy'], frozen['best_accuracy']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
