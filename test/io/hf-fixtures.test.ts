// Checkpoints written by transformers 4.40 (test/fixtures/hf, copied from ../shared/fixtures/hf; scripts/gen_hf_fixtures.py
// writes the same layout) load here, every tensor finding its place, and give transformers' logits, loss, pooled
// output and every hidden state within 1e-4 relative error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPretrained } from '../../src/models/pretrained.js';
import { compareOutputs, ourOutputs, type Reference } from '../../scripts/hf-reference.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/hf/', import.meta.url));
const names = readdirSync(FIXTURES).filter((n) => !n.startsWith('.'));

test('the transformers fixtures are all here', () => {
  assert.deepEqual(names.sort(), ['bert-for-multiple-choice', 'bert-for-pretraining', 'bert-for-sequence-classification', 'bert-for-sequence-regression',
    'bert-for-token-classification', 'bert-model', 'gpt2-for-sequence-classification', 'gpt2-lm-head']);
});

for (const name of names) {
  test(`transformers checkpoint ${name}: same outputs within 1e-4 relative error`, async () => {
    const dir = join(FIXTURES, name);
    const architecture = (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { architectures: string[] }).architectures[0];
    const { model, report } = await loadPretrained(dir);
    assert.equal(report.architecture, architecture);
    assert.deepEqual(report.unexpected, [], 'every checkpoint tensor has a place in the model');
    assert.deepEqual(report.newlyInitialized, [], 'every parameter comes from the checkpoint');
    const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
    const rows = compareOutputs(await ourOutputs(model, reference), reference);
    assert.ok(rows.length > 2, 'the reference holds outputs to compare');
    if (reference.labels) assert.ok(rows.some((r) => r.name === 'loss'), 'the loss is compared where the head took labels');
    for (const r of rows) assert.ok(r.error <= 1e-4, `${name} ${r.name}: relative error ${r.error.toExponential(2)}`);
  });
}
