// ELMo as a transfer encoder: `<S>` words `</S>` (pairs as two such sequences), the biLM's three layers per token
// equal to `pretrain elmo embed`'s, one token vector for a word in every context but contextual LSTM layers (the
// polysemy ELMo was made for), the loader and its scratch baseline, freezing per biLM layer, and `pretrain finetune`
// and `evaluate` through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElmoBiLM, elmoConfig } from '../../src/models/elmo.js';
import { savePretrained } from '../../src/models/pretrained.js';
import { elmoEmbed } from '../../src/tasks/elmo-pretrain.js';
import { freezeBelow } from '../../src/tasks/transfer/build.js';
import { encoderLoader } from '../../src/tasks/transfer/encoder-loaders.js';
import { encode } from '../../src/tasks/transfer/encoders.js';
import { ElmoEncoder } from '../../src/tasks/transfer/elmo-encoder.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { manualSeed } from '../../src/tensor/random.js';

const FIX = fileURLToPath(new URL('../fixtures/transfer/', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function microElmo(): ElmoBiLM {
  manualSeed(5);
  return new ElmoBiLM(elmoConfig({
    vocab_size: 7, dropout: 0,
    char_cnn: { embedding: { dim: 4 }, filters: [[1, 8], [2, 8], [3, 16]], n_highway: 1, activation: 'relu', n_characters: 262, max_characters_per_token: 20 },
    lstm: { dim: 16, projection_dim: 8, n_layers: 2, cell_clip: 3, proj_clip: 3, use_skip_connections: true },
  }));
}

test('tokens: <S> words </S> per sequence, a pair as two sequences with segment ids, every word a token (no unknown words)', () => {
  const enc = new ElmoEncoder(microElmo());
  const { inputs } = enc.tokenize([{ words: ['the', 'bank'], pair: ['a', 'zyzzyva'] }, { words: ['bank'] }]);
  const [pair, single] = inputs;
  assert.equal(pair!.ids.length, 8);
  assert.deepEqual(pair!.wordStarts, [1, 2, 5, 6]);
  assert.deepEqual(pair!.typeIds, [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.equal(pair!.ids[0], pair!.ids[4], '<S> twice');
  assert.equal(pair!.ids[2], single!.ids[1], '"bank" has one id');
  assert.deepEqual(enc.splitText('The bank, by the river.'), ['The', 'bank', ',', 'by', 'the', 'river', '.']);
});

test("the encoder's states are the biLM's layers (as elmo embed writes them); the token layer is context-free, the LSTM layers are not", async () => {
  const model = microElmo();
  const enc = new ElmoEncoder(model);
  assert.equal(enc.numStates, 3);
  assert.equal(enc.hiddenSize, 16);
  const sentences = [['money', 'in', 'the', 'bank'], ['the', 'bank', 'of', 'the', 'river']];
  const out = noGrad(() => encode(enc, sentences.map((words) => ({ words }))));
  assert.deepEqual(out.hiddenStates.map((h) => h.shape), [[2, 7, 16], [2, 7, 16], [2, 7, 16]]);
  const embedded = await elmoEmbed(model, sentences, { layers: 'all' });
  const states = await Promise.all(out.hiddenStates.map((h) => h.data()));
  const D = 16, T = 7;
  const at = (l: number, b: number, w: number) => [...states[l]!.subarray((b * T + out.wordStarts[b]![w]!) * D, (b * T + out.wordStarts[b]![w]! + 1) * D)];
  for (let b = 0; b < 2; b++) {
    const n = sentences[b]!.length;
    for (let l = 0; l < 3; l++) for (let w = 0; w < n; w++) {
      const want = [...embedded[b]!.data.subarray((l * n + w) * D, (l * n + w + 1) * D)];
      at(l, b, w).forEach((v, d) => assert.ok(Math.abs(v - want[d]!) < 1e-5, `layer ${l}, sentence ${b}, word ${w}`));
    }
  }
  // "bank": word 3 of sentence 0, word 1 of sentence 1
  assert.deepEqual(at(0, 0, 3), at(0, 1, 1));
  assert.notDeepEqual(at(2, 0, 3), at(2, 1, 1));
});

test('the loader reads a saved biLM and makes a scratch one of the same architecture; freezing goes per biLM layer', async () => {
  const model = microElmo();
  const dir = mkdtempSync(join(tmpdir(), 'elmo-enc-'));
  await savePretrained(model, dir);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const loader = encoderLoader('elmo', 'test');
  const loaded = await loader.load(dir, config) as ElmoEncoder, scratch = await loader.scratch(dir, config) as ElmoEncoder;
  const w = async (e: ElmoEncoder) => [...(await e.model.softmax.weight.data())];
  assert.deepEqual(await w(loaded), await w(new ElmoEncoder(model)));
  assert.notDeepEqual(await w(scratch), await w(loaded));
  assert.deepEqual(scratch.model.config, loaded.model.config);
  assert.equal(loaded.layers.length, 3);
  freezeBelow(loaded, 1);
  assert.equal(loaded.model.token_encoder.projection.weight.requiresGrad, false);
  assert.equal(loaded.model.forward_layers[0]!.parameters()[0]!.requiresGrad, false);
  assert.equal(loaded.model.backward_layers[0]!.parameters()[0]!.requiresGrad, false);
  assert.equal(loaded.model.forward_layers[1]!.parameters()[0]!.requiresGrad, true);
});

test('pretrain finetune through ELMo, frozen (scalar mix, tagging) and fine-tuned (classification); evaluate rebuilds the saved model on it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'elmo-ft-'));
  await savePretrained(microElmo(), join(dir, 'elmo'));
  const pretrain = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `pretrain ${args.join(' ')}\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  };
  // Tagging on frozen features: even a random char CNN tells the names' letters from the rest (a random biLM's
  // features are small, hence the high rate for the new top).
  const nerDev = join(FIX, 'ner-dev.conll');
  const frozen = pretrain('finetune', '--model', join(dir, 'elmo'), '--mode', 'frozen', '--task', 'token-classification', '--train', join(FIX, 'ner-train.conll'),
    '--dev', nerDev, '--batch', '8', '--warmup', '2', '--eval-every', '20', '--seed', '1', '--steps', '100', '--lr', '0.3', '--out', join(dir, 'frozen'));
  assert.ok(frozen['best_f1']! >= 0.4, `frozen best dev F1 ${frozen['best_f1']}`);
  assert.equal(pretrain('evaluate', '--model', join(dir, 'frozen', 'best'), '--data', nerDev)['f1'], frozen['best_f1']);
  const dev = join(FIX, 'sentiment-dev.tsv');
  const common = ['--train', join(FIX, 'sentiment-train.tsv'), '--dev', dev, '--batch', '8', '--warmup', '2', '--eval-every', '20', '--seed', '1'];
  const tuned = pretrain('finetune', '--model', join(dir, 'elmo'), '--mode', 'finetune', ...common, '--steps', '20', '--lr', '3e-3', '--out', join(dir, 'tuned'));
  assert.equal(tuned['steps'], 20);
  assert.equal(pretrain('evaluate', '--model', join(dir, 'tuned', 'best'), '--data', dev)['accuracy'], tuned['best_accuracy']);
});
