// Released ELMo files: options.json + weights.hdf5 in bilm-tf's layout (test/fixtures/elmo/bilm-tf, made by
// scripts/gen_elmo_hdf5_fixture.py with h5py) load into our biLM and give the layers that TensorFlow's semantics give
// (computed in NumPy by the script); corrupt files and options are errors naming the dataset or the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { elmoEmbed } from '../../src/tasks/elmo-pretrain.js';
import { importBilmTf } from '../../src/tasks/elmo-import.js';

const DIR = fileURLToPath(new URL('../fixtures/elmo/bilm-tf/', import.meta.url));
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { sentences: string[][]; layers: number[][][] };

test("a bilm-tf weights.hdf5 loads as AllenNLP loads it and gives TensorFlow's layers (gates, forget bias, clipping, highway, cut tokens)", async () => {
  const { model, vocab, hasSoftmax } = await importBilmTf(join(DIR, 'options.json'), join(DIR, 'weights.hdf5'), join(DIR, 'vocab.txt'));
  assert.ok(hasSoftmax);
  assert.equal(vocab.size, 6);
  assert.deepEqual(model.config.lstm, { use_skip_connections: true, projection_dim: 4, cell_clip: 0.5, proj_clip: 0.4, dim: 6, n_layers: 2 });
  // elmoEmbed drops the boundaries; the script's layers keep them: compare the words' rows.
  const got = await elmoEmbed(model, expected.sentences, { layers: 'all' });
  expected.sentences.forEach((s, b) => {
    const n = s.length, D = 8;
    for (let l = 0; l < 3; l++) {
      const want = expected.layers[b]![l]!.slice(D, (n + 1) * D);
      const have = got[b]!.data.subarray(l * n * D, (l + 1) * n * D);
      want.forEach((v, i) => assert.ok(Math.abs(have[i]! - v) < 1e-5, `sentence ${b}, layer ${l}, value ${i}: ${have[i]} vs ${v}`));
    }
  });
});

test('a file without a softmax (published dumps) loads for representations; one with a softmax needs its vocabulary', async () => {
  await assert.rejects(importBilmTf(join(DIR, 'options.json'), join(DIR, 'weights.hdf5')), /has a softmax; give its vocabulary file/);
});

test('corrupt options.json and weights.hdf5 are errors naming the key or the dataset', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'elmo-bad-'));
  const options = JSON.parse(readFileSync(join(DIR, 'options.json'), 'utf8')) as { lstm: Record<string, unknown>; char_cnn: Record<string, unknown> };
  const write = (name: string, value: unknown) => { const p = join(dir, name); writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value)); return p; };
  const weights = join(DIR, 'weights.hdf5'), vocab = join(DIR, 'vocab.txt');
  await assert.rejects(importBilmTf(write('a.json', { ...options, lstm: { ...options.lstm, projection_dim: undefined } }), weights, vocab), /a\.json: missing key 'lstm\.projection_dim'/);
  await assert.rejects(importBilmTf(write('b.json', { ...options, char_cnn: { ...options.char_cnn, activation: 'gelu' } }), weights, vocab), /b\.json: key 'char_cnn\.activation' is "gelu", expected 'relu' or 'tanh'/);
  await assert.rejects(importBilmTf(write('c.json', '{"lstm": '), weights, vocab), /c\.json: not JSON/);
  // The options ask for a wider projection than the file has.
  await assert.rejects(importBilmTf(write('d.json', { ...options, lstm: { ...options.lstm, projection_dim: 5 } }), weights, vocab), /weights\.hdf5: dataset 'CNN_proj\/W_proj' has shape \[7, 4\], the options need \[7, 5\]/);
  // One highway layer more than the file holds.
  await assert.rejects(importBilmTf(write('e.json', { ...options, char_cnn: { ...options.char_cnn, n_highway: 2 } }), weights, vocab), /weights\.hdf5: no dataset 'CNN_high_1\/W_transform'/);
  const notHdf5 = write('weights.hdf5', 'not an hdf5 file at all');
  await assert.rejects(importBilmTf(join(DIR, 'options.json'), notHdf5, vocab), /weights\.hdf5: not an HDF5 file/);
  const truncated = join(dir, 'cut.hdf5');
  copyFileSync(weights, truncated);
  writeFileSync(truncated, readFileSync(truncated).subarray(0, 2000));
  await assert.rejects(importBilmTf(join(DIR, 'options.json'), truncated, vocab), /cut\.hdf5/);
});
