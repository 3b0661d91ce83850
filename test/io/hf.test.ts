// Hugging Face model directories as files: config.json with model.safetensors or a sharded index, atomic writes, and
// errors that name the file for what is missing or unreadable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHfCheckpoint, writeHfCheckpoint } from '../../src/io/hf.js';
import { writeSafetensors, type SafetensorsTensor } from '../../src/io/safetensors.js';

const tensor = (values: number[]): SafetensorsTensor => ({ dtype: 'F32', shape: [values.length], data: Float32Array.from(values) });
const fresh = () => mkdtempSync(join(tmpdir(), 'hf-'));

test('a directory written here reads back: config.json and model.safetensors, no temporary files left', async () => {
  const dir = join(fresh(), 'model');
  await writeHfCheckpoint(dir, { model_type: 'gpt2', n_layer: 1 }, new Map([['a.weight', tensor([1, 2])], ['b.bias', tensor([3])]]));
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors']);
  const back = await readHfCheckpoint(dir);
  assert.deepEqual(back.config, { model_type: 'gpt2', n_layer: 1 });
  assert.deepEqual([...back.tensors.keys()], ['a.weight', 'b.bias']);
  assert.deepEqual(Array.from(back.tensors.get('a.weight')!.data), [1, 2]);
  assert.equal(back.weightsPath, join(dir, 'model.safetensors'));
});

test('a sharded checkpoint (model.safetensors.index.json) reads every shard', async () => {
  const dir = fresh();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert' }));
  await writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), new Map([['x', tensor([1])]]));
  await writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), new Map([['y', tensor([2, 3])]]));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({
    metadata: { total_size: 12 }, weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' },
  }));
  const back = await readHfCheckpoint(dir);
  assert.deepEqual([...back.tensors.keys()].sort(), ['x', 'y']);
  assert.match(back.weightsPath, /model\.safetensors\.index\.json$/);
});

test('missing and unreadable files are named', async () => {
  await assert.rejects(readHfCheckpoint(join(fresh(), 'nope')), /nope: no such model directory/);
  const dir = fresh();
  await assert.rejects(readHfCheckpoint(dir), /config\.json: no such file/);
  writeFileSync(join(dir, 'config.json'), '{ not json');
  await assert.rejects(readHfCheckpoint(dir), /config\.json: invalid JSON/);
  writeFileSync(join(dir, 'config.json'), '[1, 2]');
  await assert.rejects(readHfCheckpoint(dir), /config\.json: expected a JSON object/);
  writeFileSync(join(dir, 'config.json'), '{}');
  await assert.rejects(readHfCheckpoint(dir), /no model\.safetensors \(or model\.safetensors\.index\.json\) beside config\.json/);
  writeFileSync(join(dir, 'pytorch_model.bin'), 'pickle');
  await assert.rejects(readHfCheckpoint(dir), /the weights are in pytorch_model\.bin, which is not read here; save them as safetensors/);
});
