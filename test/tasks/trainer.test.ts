import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../../src/tensor/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { GPT_PRETRAIN, GPTPretrainTask } from '../../src/tasks/gpt-pretrain.js';
import { splitTokens } from '../../src/data/lm.js';
import { defaultOptimizer, train, trainConfig } from '../../src/tasks/trainer.js';
import { AdamW } from '../../src/optim/index.js';
import { loadPretrained } from '../../src/models/pretrained.js';
import { CharVocab } from '../../src/text/char-vocab.js';

const TEXT = 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. '.repeat(20);
const vocab = CharVocab.fromText(TEXT);
const tokens = vocab.encode(TEXT);

function makeTask(seed = 0) {
  T.manualSeed(seed);
  const model = new GPT(gptConfig({ vocab_size: vocab.size, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0 }));
  return new GPTPretrainTask(model, splitTokens(tokens), { batchSize: 4, blockSize: 16, evalBatches: 2 });
}

async function params(task: GPTPretrainTask) {
  return Promise.all(task.model.parameters().map(async (p) => Array.from(await p.data())));
}

test('training lowers the loss and writes log.jsonl, a checkpoint and a loss curve', async () => {
  const out = mkdtempSync(join(tmpdir(), 'train-'));
  const task = makeTask();
  const result = await train(task, trainConfig(GPT_PRETRAIN, { maxSteps: 40, lr: 1e-2, warmupSteps: 4, evalEvery: 20, logEvery: 5, outDir: out }));
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
  const cfg = (outDir?: string) => trainConfig(GPT_PRETRAIN, { maxSteps: 12, lr: 5e-3, warmupSteps: 3, evalEvery: 0, logEvery: 1, checkpointEvery: 5, outDir });
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

test('frozen parameters get no optimizer state, stay unchanged, and get no gradient below the lowest trainable layer', async () => {
  const task = makeTask(3);
  const gpt = task.model;
  gpt.transformer.wte.requireGrad(false);
  gpt.transformer.wpe.requireGrad(false);
  gpt.transformer.h[0]!.attn.requireGrad(false);
  const frozen = gpt.namedParameters().filter(([, p]) => !p.requiresGrad);
  assert.equal(frozen.length, 2 + 4, 'wte, wpe and the first block\'s attention (c_attn, c_proj weights and biases)');
  const before = await Promise.all(frozen.map(async ([, p]) => Array.from(await p.data())));
  const optimizer = defaultOptimizer(gpt, trainConfig(GPT_PRETRAIN));
  assert.equal(optimizer.paramGroups.flatMap((g) => g.keys).some((k) => frozen.some(([name]) => name === k)), false, 'frozen parameters are not in the optimizer');
  await train(task, trainConfig(GPT_PRETRAIN, { maxSteps: 5, lr: 1e-2, warmupSteps: 0, evalEvery: 0, logEvery: 5 }), { optimizer });
  for (const [i, [name, p]] of frozen.entries()) {
    assert.deepEqual(Array.from(await p.data()), before[i], `${name} did not change`);
    assert.equal(p.grad, null, `${name} has no gradient`);
    assert.equal(optimizer.stateOf(p), undefined, `${name} has no optimizer state`);
  }
  // The embeddings' output is not on the tape: nothing below the first trainable layer is recorded.
  const x = T.fromArray(tokens.subarray(0, 16), [1, 16], { dtype: 'int32' });
  const embedded = T.add(gpt.transformer.wte.forward(x), gpt.transformer.wpe.forward(T.arange(16)));
  assert.equal(embedded.requiresGrad, false);
  assert.equal(gpt.forward({ inputIds: x }).logits.requiresGrad, true, 'the layers above still train');
  assert.throws(() => defaultOptimizer(gpt.requireGrad(false), trainConfig(GPT_PRETRAIN)), /every parameter of the model is frozen/);
});

test('parameter groups keep their own learning rates under the schedule, and resume bit for bit', async () => {
  const groupsOf = (task: GPTPretrainTask) => {
    const named = task.model.namedParameters();
    return new AdamW([
      { params: named.filter(([n]) => n.startsWith('transformer.h.')), lr: 2e-2 },
      { params: named.filter(([n]) => !n.startsWith('transformer.h.')), lr: 0 },
    ], { weightDecay: 0 });
  };
  const cfg = (outDir?: string) => trainConfig(GPT_PRETRAIN, { maxSteps: 8, warmupSteps: 2, evalEvery: 0, logEvery: 1, checkpointEvery: 4, outDir });
  const straight = makeTask(5);
  const still = straight.model.namedParameters().filter(([n]) => !n.startsWith('transformer.h.'));
  const before = await Promise.all(still.map(async ([, p]) => Array.from(await p.data())));
  const opt = groupsOf(straight);
  const lrs: number[][] = [];
  await train(straight, cfg(), { optimizer: opt, onProgress: () => lrs.push(opt.paramGroups.map((g) => g.lr)) });
  for (const [i, [name, p]] of still.entries()) assert.deepEqual(Array.from(await p.data()), before[i], `${name} has lr 0`);
  assert.ok(lrs.every(([a, b]) => a! > 0 && b === 0), 'the schedule scales each group from its own rate');
  assert.ok(Math.abs(lrs[7]![0]! - 2e-2 * 0.1) < 1e-9, `the cosine floor of the group's own rate: ${lrs[7]![0]}`);

  const out = mkdtempSync(join(tmpdir(), 'groups-'));
  const crashing = makeTask(5);
  await assert.rejects(train(crashing, cfg(out), { optimizer: groupsOf(crashing), onProgress: (p) => { if (p.step === 6) throw new Error('crash'); } }), /crash/);
  const resumed = makeTask(77);
  await train(resumed, cfg(out), { optimizer: groupsOf(resumed), resume: true });
  assert.deepEqual(await params(resumed), await params(straight));
});

test('a checkpoint holds each file once: the model directory, the optimizer, the trainer state and what the task adds', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const task = makeTask(6);
  const written: string[] = [];
  task.saveExtras = async (dir) => { written.push(...readdirSync(dir).sort()); writeFileSync(join(dir, 'char_vocab.json'), '{}'); };
  await train(task, trainConfig(GPT_PRETRAIN, { maxSteps: 2, warmupSteps: 0, evalEvery: 0, logEvery: 1, outDir: out }));
  assert.deepEqual(written, ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json'], 'the model is written before the task\'s extras, by the checkpoint');
  assert.deepEqual(readdirSync(join(out, 'checkpoint')).sort(), ['char_vocab.json', 'config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json']);
});

test('training configs are checked: counts are integers in range, rates finite', () => {
  assert.throws(() => trainConfig(GPT_PRETRAIN, { maxSteps: 0 }), /maxSteps must be an integer >= 1, got 0/);
  assert.throws(() => trainConfig(GPT_PRETRAIN, { lr: Number.NaN }), /lr must be positive, got NaN/);
  assert.throws(() => trainConfig(GPT_PRETRAIN, { beta2: 1 }), /beta2 must be in \[0, 1\)/);
  assert.throws(() => trainConfig(GPT_PRETRAIN, { gradAccumSteps: 1.5 }), /gradAccumSteps must be an integer >= 1/);
});

test('a run directory is not replaced by accident: an earlier run needs resume or overwrite, resume needs a checkpoint', async () => {
  const out = mkdtempSync(join(tmpdir(), 'rundir-'));
  const cfg = trainConfig(GPT_PRETRAIN, { maxSteps: 3, warmupSteps: 0, evalEvery: 0, logEvery: 1, outDir: out });
  await assert.rejects(train(makeTask(), cfg, { resume: true }), /there is no checkpoint to resume/);
  await train(makeTask(), cfg);
  await assert.rejects(train(makeTask(), cfg), /already holds a run \(checkpoint at step 3\); continue it with --resume \(resume: true\) or replace it with --overwrite/);
  const longer = trainConfig(GPT_PRETRAIN, { ...cfg, maxSteps: 5 });
  const resumed: { step: number; resumedFrom: string | null }[] = [];
  await train(makeTask(), longer, { resume: true, onStart: (s) => resumed.push(s) });
  assert.deepEqual(resumed, [{ step: 3, resumedFrom: join(out, 'checkpoint') }]);
  const steps = () => readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps(), [1, 2, 3, 4, 5]);
  await train(makeTask(), cfg, { overwrite: true });
  assert.deepEqual(steps(), [1, 2, 3], 'overwrite starts a new log');
  await assert.rejects(train(makeTask(), cfg, { resume: true, overwrite: true }), /exclude each other/);
});

test('a resumed run logs no step twice, and a save killed mid-write leaves nothing behind on the next start', async () => {
  const out = mkdtempSync(join(tmpdir(), 'resume-log-'));
  const cfg = trainConfig(GPT_PRETRAIN, { maxSteps: 8, warmupSteps: 0, evalEvery: 0, logEvery: 1, checkpointEvery: 4, outDir: out });
  await assert.rejects(train(makeTask(), cfg, { onProgress: (p) => { if (p.step === 6) throw new Error('killed'); } }), /killed/);
  mkdirSync(join(out, 'checkpoint.tmp-99999'));
  writeFileSync(join(out, 'log.jsonl'), readFileSync(join(out, 'log.jsonl'), 'utf8') + '{"step": 7, "lo');
  await train(makeTask(), cfg, { resume: true });
  assert.deepEqual(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(!readdirSync(out).some((f) => f.includes('.tmp-')), 'the killed save\'s temporary is gone');
});

test('a run directory is locked against a second run; a lock left by a dead process is taken over', async () => {
  const out = mkdtempSync(join(tmpdir(), 'lock-'));
  const cfg = trainConfig(GPT_PRETRAIN, { maxSteps: 2, warmupSteps: 0, evalEvery: 0, logEvery: 1, outDir: out });
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  try {
    writeFileSync(join(out, '.lock'), `${child.pid}\n`);
    await assert.rejects(train(makeTask(), cfg), new RegExp(`another training run \\(process ${child.pid}\\) is using this directory`));
  } finally {
    child.kill();
  }
  await new Promise((r) => child.once('exit', r));
  await train(makeTask(), cfg);
  assert.ok(!existsSync(join(out, '.lock')), 'the lock is released at the end');
});

test('a loss that becomes NaN stops training with an error naming the step, never a success', async () => {
  const task = makeTask();
  let calls = 0;
  const real = task.trainLoss.bind(task);
  task.trainLoss = async (rng) => {
    const r = await real(rng);
    return ++calls === 3 ? { ...r, loss: T.mul(r.loss, Number.NaN) } : r;
  };
  await assert.rejects(train(task, trainConfig(GPT_PRETRAIN, { maxSteps: 10, warmupSteps: 0, evalEvery: 0, logEvery: 5 })),
    (e: Error) => e.name === 'DivergenceError' && /the training loss became NaN at step 3; training stopped/.test(e.message));
  // with anomaly detection on, the op that made the NaN is named
  const anomalous = makeTask();
  const log = anomalous.trainLoss.bind(anomalous);
  anomalous.trainLoss = async (rng) => { const r = await log(rng); return { ...r, loss: T.log(T.mul(r.loss, -1)) }; };
  T.setAnomalyDetection(true);
  try {
    await assert.rejects(train(anomalous, trainConfig(GPT_PRETRAIN, { maxSteps: 2, warmupSteps: 0, evalEvery: 0 })), /log produced NaN/);
  } finally {
    T.setAnomalyDetection(false);
  }
});

test('the best model by a held-out metric is kept in outDir/best, and training stops when patience runs out', async () => {
  const out = mkdtempSync(join(tmpdir(), 'best-'));
  const task = makeTask(8);
  const scores = [0.5, 0.7, 0.6, 0.65, 0.69, 0.9];
  let calls = 0;
  let atBest: number[][] = [];
  task.evaluate = async () => {
    const score = scores[calls++]!;
    if (score === 0.7) atBest = await params(task);
    return { accuracy: score };
  };
  const result = await train(task, trainConfig(GPT_PRETRAIN, { maxSteps: 12, warmupSteps: 0, evalEvery: 2, logEvery: 2, outDir: out }),
    { best: { metric: 'accuracy', mode: 'max', patience: 3 } });
  assert.deepEqual(result.best, { step: 4, value: 0.7, dir: join(out, 'best'), stoppedEarly: true });
  assert.equal(result.steps, 10, 'three evaluations (steps 6, 8, 10) without improvement stop it before step 12');
  const { model } = await loadPretrained(join(out, 'best'));
  assert.deepEqual(await Promise.all(model.parameters().map(async (p) => Array.from(await p.data()))), atBest, 'best/ holds the weights of step 4');
  await assert.rejects(train(makeTask(), trainConfig(GPT_PRETRAIN, { maxSteps: 2, warmupSteps: 0, evalEvery: 1 }), { best: { metric: 'f1', mode: 'max' } }),
    /the evaluation has no metric 'f1' \(it has val_loss, perplexity\)/);
});
