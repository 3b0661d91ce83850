import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../../src/tensor/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { GPTPretrainTask, splitTokens } from '../../src/tasks/gpt-pretrain.js';
import { train, trainConfig } from '../../src/tasks/trainer.js';
import { savePretrained, loadPretrained } from '../../src/models/pretrained.js';
import { CharVocab } from '../../src/text/char-vocab.js';

const TEXT = 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. '.repeat(20);
const vocab = CharVocab.fromText(TEXT);
const tokens = vocab.encode(TEXT);

function makeTask(seed = 0) {
  T.manualSeed(seed);
  const model = new GPT(gptConfig({ vocab_size: vocab.size, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0 }));
  return new GPTPretrainTask(model, splitTokens(tokens), { batchSize: 4, blockSize: 16, evalBatches: 2, saveExtras: (dir) => savePretrained(model, dir) });
}

async function params(task: GPTPretrainTask) {
  return Promise.all(task.model.parameters().map(async (p) => Array.from(await p.data())));
}

test('training lowers the loss and writes log.jsonl, a checkpoint and a loss curve', async () => {
  const out = mkdtempSync(join(tmpdir(), 'train-'));
  const task = makeTask();
  const result = await train(task, trainConfig({ maxSteps: 40, lr: 1e-2, warmupSteps: 4, evalEvery: 20, logEvery: 5, outDir: out }));
  const first = result.history[0]!.loss!;
  assert.ok(result.finalLoss < first - 0.5, `loss ${first} -> ${result.finalLoss}`);
  assert.ok(result.eval.val_loss! > 0 && Math.abs(result.eval.perplexity! - Math.exp(result.eval.val_loss!)) < 1e-9);
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.map((r) => r.step), [5, 10, 15, 20, 25, 30, 35, 40]);
  assert.ok('val_loss' in log[3] && 'val_loss' in log[7] && !('val_loss' in log[0]));
  assert.deepEqual(readdirSync(join(out, 'checkpoint')).sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json']);
  assert.match(readFileSync(join(out, 'loss.svg'), 'utf8'), /^<svg/);
  // The checkpoint is a Hugging Face directory: it loads back into the same model.
  const { model } = await loadPretrained(join(out, 'checkpoint'));
  const x = T.fromArray(tokens.subarray(0, 16), [1, 16], { dtype: 'int32' });
  task.model.eval();
  const a = await T.noGrad(() => task.model.forward({ inputIds: x }).logits).data();
  const b = await T.noGrad(() => (model as GPT).forward({ inputIds: x }).logits).data();
  assert.deepEqual(Array.from(b), Array.from(a));
});

test('a run interrupted after a checkpoint resumes bit for bit (weights, optimizer, schedule, data and dropout RNG)', async () => {
  const cfg = (outDir?: string) => trainConfig({ maxSteps: 12, lr: 5e-3, warmupSteps: 3, evalEvery: 0, logEvery: 1, checkpointEvery: 5, outDir });
  const straight = makeTask();
  await train(straight, cfg());

  const out = mkdtempSync(join(tmpdir(), 'resume-'));
  const crashing = makeTask();
  await assert.rejects(train(crashing, cfg(out), { onProgress: (p) => { if (p.step === 7) throw new Error('simulated crash'); } }), /simulated crash/);
  assert.equal(JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')).step, 5);
  const resumed = makeTask(99); // different init: everything must come from the checkpoint
  const result = await train(resumed, cfg(out), { resume: true });
  assert.equal(result.steps, 12);
  assert.deepEqual(await params(resumed), await params(straight));
  assert.ok(!existsSync(join(out, 'checkpoint.old')) && !readdirSync(out).some((f) => f.includes('.tmp-')), 'no leftovers from the atomic swap');
});
