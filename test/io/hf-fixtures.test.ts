// Checkpoints written by transformers (scripts/gen_hf_fixtures.py, run on the GPU machine, which has transformers)
// load here and give transformers' logits, pooled output and every hidden state within 1e-4 relative error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPretrained } from '../../src/io/hf.js';
import { compareOutputs, ourOutputs, type Reference } from '../../scripts/hf-reference.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/hf/', import.meta.url));
const names = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((n) => existsSync(join(FIXTURES, n, 'reference.json'))) : [];

if (names.length === 0) {
  test('transformers checkpoints match', { skip: 'test/fixtures/hf is not generated yet: it needs transformers, which only the GPU machine has (scripts/gen_hf_fixtures.py)' }, () => {});
}

for (const name of names) {
  test(`transformers checkpoint ${name}: same outputs within 1e-4 relative error`, async () => {
    const dir = join(FIXTURES, name);
    const architecture = (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { architectures?: string[] }).architectures?.[0] ?? '';
    const { model, report } = await loadPretrained(dir);
    assert.deepEqual(report.unexpected, [], 'every checkpoint tensor has a place in the model');
    // a base BertModel has no pretraining heads; everything else loads whole
    const missing = architecture === 'BertModel' ? report.missing.filter((k) => !k.startsWith('cls.')) : report.missing;
    assert.deepEqual(missing, []);
    const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
    const rows = compareOutputs(await ourOutputs(model, reference.inputs, architecture), reference);
    assert.ok(rows.length > 2, 'the reference holds outputs to compare');
    for (const r of rows) assert.ok(r.error <= 1e-4, `${name} ${r.name}: relative error ${r.error.toExponential(2)}`);
  });
}
