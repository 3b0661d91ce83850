// Checkpoints saved here load in transformers with the same outputs: builds a small random model of every
// architecture we implement (every weight perturbed, so LayerNorms and biases are checked too), saves each with
// savePretrained, has transformers load it (scripts/gen_hf_fixtures.py --check, in PRETRAIN_PYTHON or python3, which
// loads the class config.json names and runs the fixtures' inputs and labels) and compares its outputs with ours.
// Run where transformers is installed (the GPU machine):
//   node --import tsx scripts/check-hf-roundtrip.ts [--json OUT.json]
// Exits 1 when an output differs by more than 1e-4 relative error.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../src/tensor/index.js';
import { normalAt } from '../src/tensor/random.js';
import { savePretrained } from '../src/models/pretrained.js';
import type { PretrainedModule } from '../src/models/family.js';
import { labelConfig } from '../src/models/heads.js';
import {
  BertForMaskedLM, BertForMultipleChoice, BertForPreTraining, BertForSequenceClassification, BertForTokenClassification, BertModel, bertConfig,
} from '../src/models/bert.js';
import { GPT, GPT2ForSequenceClassification, GPT2ForTokenClassification, GPT2Model, gptConfig } from '../src/models/gpt.js';
import { compareOutputs, ourOutputs, type Reference } from './hf-reference.js';

const python = process.env.PRETRAIN_PYTHON || 'python3';
const script = fileURLToPath(new URL('./gen_hf_fixtures.py', import.meta.url));

/** Adds N(0, 0.02²) noise to every parameter, as the fixture script does to transformers' models. */
async function perturb(model: PretrainedModule, key: number): Promise<void> {
  const state = new Map<string, T.Tensor>();
  let k = key;
  for (const [name, p] of model.namedParameters()) {
    const d = Float32Array.from((await p.data()) as Float32Array);
    k++;
    for (let i = 0; i < d.length; i++) d[i]! += 0.02 * normalAt(k, i);
    state.set(name, T.fromArray(d, [...p.shape]));
  }
  model.loadStateDict(state);
}

T.manualSeed(0);
const gpt = { vocab_size: 99, n_positions: 64, n_embd: 64, n_layer: 2, n_head: 4 };
const bert = { vocab_size: 99, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, max_position_embeddings: 64 };
const ner = labelConfig(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']);
const models: [string, PretrainedModule][] = [
  ['gpt2-model', new GPT2Model(gptConfig(gpt))],
  ['gpt2-lm-head', new GPT(gptConfig(gpt))],
  ['gpt2-for-sequence-classification', new GPT2ForSequenceClassification(gptConfig({ ...gpt, pad_token_id: 0 }))],
  ['gpt2-for-token-classification', new GPT2ForTokenClassification(gptConfig({ ...gpt, ...ner }))],
  ['bert-model', new BertModel(bertConfig(bert))],
  ['bert-for-pretraining', new BertForPreTraining(bertConfig(bert))],
  ['bert-for-masked-lm', new BertForMaskedLM(bertConfig(bert))],
  ['bert-for-sequence-classification', new BertForSequenceClassification(bertConfig({ ...bert, ...labelConfig(['neg', 'neu', 'pos']) }))],
  ['bert-for-sequence-regression', new BertForSequenceClassification(bertConfig({ ...bert, ...labelConfig(1), problem_type: 'regression' }))],
  ['bert-for-token-classification', new BertForTokenClassification(bertConfig({ ...bert, ...ner }))],
  ['bert-for-multiple-choice', new BertForMultipleChoice(bertConfig(bert))],
];
const summary: Record<string, { name: string; error: number }[]> = {};
let worst = 0;
for (const [i, [name, model]] of models.entries()) {
  await perturb(model, 1000 * (i + 1));
  const dir = mkdtempSync(join(tmpdir(), `pretrain-${name}-`));
  await savePretrained(model, dir);
  const res = spawnSync(python, [script, '--check', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.status !== 0) {
    console.error(`${name}: transformers could not load ${dir}:\n${res.stderr}`);
    process.exit(1);
  }
  const theirs = JSON.parse(res.stdout.trim().split('\n').pop()!) as Reference;
  const rows = compareOutputs(await ourOutputs(model, theirs), theirs);
  summary[name] = rows;
  for (const r of rows) worst = Math.max(worst, r.error);
  console.table(rows.map((r) => ({ model: name, output: r.name, 'relative error': r.error.toExponential(2) })));
}
const jsonAt = process.argv.indexOf('--json');
if (jsonAt >= 0) writeFileSync(process.argv[jsonAt + 1]!, `${JSON.stringify({ worst, models: summary }, null, 2)}\n`);
console.log(`worst relative error ${worst.toExponential(2)} (limit 1e-4): ${worst <= 1e-4 ? 'pass' : 'FAIL'}`);
process.exitCode = worst <= 1e-4 ? 0 : 1;
