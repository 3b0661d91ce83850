// The fine-tuning loop on every backend (WebGPU included, on lavapipe where the suite has it): a few steps of
// `pretrain finetune`'s FinetuneTask under the trainer, for each head family, give the losses the reference backend
// gives. Dropout is on and the head is newly initialised, so the seed makes the runs comparable.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/tensor/index.js';
import { readTask } from '../../src/data/tasks/read.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { savePretrained } from '../../src/models/pretrained.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { train, trainConfig } from '../../src/tasks/trainer.js';
import { buildTaskModel, type TransferSpec } from '../../src/tasks/transfer/build.js';
import { transferData } from '../../src/tasks/transfer/data.js';
import { FINETUNE, FROZEN, FinetuneTask } from '../../src/tasks/transfer/finetune.js';
import { UNFUSED, forEachBackend, withBackend } from '../helpers/backends.js';

const FIX = fileURLToPath(new URL('../fixtures/transfer/', import.meta.url));
const TEXT = fileURLToPath(new URL('../fixtures/text/', import.meta.url));
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `${name}-`));

/** The two checkpoints every case reads, saved once (their weights are plain files, so any backend loads them). */
const checkpoints = (async () => {
  T.manualSeed(1);
  const bert = fresh('bb-bert');
  const vocab = readFileSync(join(FIX, 'vocab.txt'), 'utf8');
  writeFileSync(join(bert, 'vocab.txt'), vocab);
  await savePretrained(new BertForPreTraining(bertConfig({ vocab_size: vocab.trim().split('\n').length, hidden_size: 32, num_hidden_layers: 2,
    num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 })), bert);
  const gpt = fresh('bb-gpt');
  const tok = Tokenizer.fromFile(join(TEXT, 'gpt2.json'));
  tok.save(join(gpt, 'tokenizer.json'));
  await savePretrained(new GPT(gptConfig({ vocab_size: tok.vocabSize, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 2 })), gpt);
  return { bert, gpt };
})();

async function taskData(kind: 'sentiment' | 'ner') {
  const opts = kind === 'ner' ? { format: 'conll' as const, columnNames: ['token', 'ner'], labelColumn: 'ner' } : {};
  const trainSet = await readTask(join(FIX, `${kind}-train.${kind === 'ner' ? 'conll' : 'tsv'}`), opts);
  const dev = await readTask(join(FIX, `${kind}-dev.${kind === 'ner' ? 'conll' : 'tsv'}`), { ...opts, labels: trainSet.labels });
  return transferData(trainSet, dev);
}

/** The training losses of `steps` steps of a transfer run on the selected backend. */
async function losses(spec: Omit<TransferSpec, 'kind' | 'labels'>, kind: 'sentiment' | 'ner', steps: number): Promise<number[]> {
  const d = await taskData(kind);
  T.manualSeed(7); // the same new head, and then the same dropout masks, on every backend
  const built = await buildTaskModel({ ...spec, kind: d.kind, labels: d.labels });
  const task = new FinetuneTask(built.taskModel, d, { batchSize: 8 });
  const recipe = spec.mode === 'finetune' ? FINETUNE : FROZEN;
  const result = await train(task, trainConfig(recipe, { maxSteps: steps, lr: 2e-3, warmupSteps: 1, evalEvery: 0, logEvery: 1, seed: 3 }));
  return result.history.filter((r) => r.loss !== undefined).map((r) => r.loss!);
}

const CASES: { what: string; kind: 'sentiment' | 'ner'; spec: (c: { bert: string; gpt: string }) => Omit<TransferSpec, 'kind' | 'labels'> }[] = [
  { what: 'BertForSequenceClassification, fine-tuned', kind: 'sentiment', spec: (c) => ({ model: c.bert, mode: 'finetune' }) },
  { what: 'BertForTokenClassification, fine-tuned', kind: 'ner', spec: (c) => ({ model: c.bert, mode: 'finetune' }) },
  { what: 'GPT2ForSequenceClassification with the auxiliary LM loss', kind: 'sentiment', spec: (c) => ({ model: c.gpt, mode: 'finetune' }) },
  { what: 'BERT below layer 1 frozen', kind: 'sentiment', spec: (c) => ({ model: c.bert, mode: { freezeBelow: 1 } }) },
  { what: 'frozen BERT features, a layer-normalised mix under a linear top', kind: 'ner', spec: (c) => ({ model: c.bert, mode: 'frozen', layerNorm: true }) },
  { what: 'frozen BERT features under a BiLSTM-CRF', kind: 'ner', spec: (c) => ({ model: c.bert, mode: 'frozen', head: 'bilstm-crf' }) },
];

for (const c of CASES) {
  forEachBackend(`fine-tuning runs on the backend: ${c.what}, the reference's losses`, async (b) => {
    const cps = await checkpoints;
    const want = await withBackend(UNFUSED, () => losses(c.spec(cps), c.kind, 4));
    const got = await losses(c.spec(cps), c.kind, 4);
    assert.equal(got.length, 4);
    assert.notEqual(want[3], want[0], 'the run trains');
    // measured worst errors: 2e-6 (the BiLSTM-CRF), 1e-6 on WebGPU; the bound leaves 10x
    const tol = b.tol(2e-5);
    got.forEach((l, i) => assert.ok(Math.abs(l - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!)), `step ${i + 1}: loss ${l}, reference ${want[i]} (tolerance ${tol})`));
  }, { timeout: 120_000 });
}
