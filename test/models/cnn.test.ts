// LeNet-5 and the ResNet against PyTorch: a state_dict saved as safetensors (scripts/gen_cnn_fixture.py) loads by
// torchvision's names, and the logits (eval and training mode), loss, every gradient and the moved running statistics
// match; save/load as a model directory; freezing layers 1…k; the layers' shapes and sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, type SafetensorsTensor } from '../../src/io/safetensors.js';
import { LeNet5, ResNet, cnnConfig, loadPretrained, savePretrained, type ImageClassifier } from '../../src/models/index.js';
import * as T from '../../src/tensor/index.js';
import { forEachBackend } from '../helpers/backends.js';

const FIXTURES = new URL('../fixtures/cnn/', import.meta.url).pathname;

/** Fails unless |got - want| <= tol · max(1, max|want|) everywhere. */
async function close(what: string, got: T.Tensor, want: SafetensorsTensor, tol: number): Promise<void> {
  assert.deepEqual([...got.shape], want.shape, `${what}: shape`);
  const g = await got.data(), w = want.data;
  const scale = Math.max(1, ...Array.from(w, Math.abs));
  let worst = 0, at = 0;
  for (let i = 0; i < w.length; i++) { const e = Math.abs(g[i]! - w[i]!) / scale; if (e > worst) { worst = e; at = i; } }
  assert.ok(worst <= tol, `${what}: relative error ${worst.toExponential(2)} at ${at} (ours ${g[at]}, PyTorch ${w[at]})`);
}

for (const name of ['lenet5', 'resnet8']) {
  forEachBackend(`${name}: a PyTorch state_dict loads by name; eval and training logits, loss, gradients and running statistics match`, async (run) => {
    const { model, report } = await loadPretrained(join(FIXTURES, name));
    assert.deepEqual([report.newlyInitialized, report.unexpected], [[], []], 'every tensor has its place');
    const { tensors: want } = await readSafetensors(join(FIXTURES, name, 'expected.safetensors'));
    const net = model as ImageClassifier;
    const x = T.fromArray(want.get('input')!.data, want.get('input')!.shape);
    const labels = T.fromArray(want.get('labels')!.data, want.get('labels')!.shape, { dtype: 'int32' });
    const tol = run.tol(2e-5);
    await close('eval logits', T.noGrad(() => net.forward(x).logits), want.get('eval.logits')!, tol);
    net.train();
    const { logits, loss } = net.forward(x, labels);
    await close('train logits', logits, want.get('train.logits')!, tol);
    await close('train loss', loss!, want.get('train.loss')!, tol);
    loss!.backward();
    for (const [key, p] of net.namedParameters()) await close(`grad ${key}`, p.grad!, want.get(`grad.${key}`)!, tol);
    for (const [key, b] of net.namedBuffers()) await close(`buffer ${key}`, b, want.get(`buffer.${key}`)!, tol);
  });
}

test('a model directory round-trips the state dict, buffers included (num_batches_tracked as I64, as PyTorch writes it)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnn-'));
  try {
    const net = new ResNet(cnnConfig({ num_channels: 3, image_size: 12, base_width: 4, ...{ id2label: { 0: 'cat', 1: 'dog' }, label2id: { cat: 0, dog: 1 } } }));
    net.train().forward(T.rand([3, 3, 12, 12]));
    await savePretrained(net, dir);
    const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
    assert.equal(tensors.get('layer2.0.downsample.1.num_batches_tracked')!.dtype, 'I64');
    const { model } = await loadPretrained(dir);
    assert.ok(model instanceof ResNet);
    assert.deepEqual((model as ResNet).config.id2label, { 0: 'cat', 1: 'dog' });
    for (const [key, t] of net.stateDict()) assert.deepEqual(await model.stateDict().get(key)!.data(), await t.data(), key);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

forEachBackend('freeze(k): layers 1…k get no gradients and their batch norms keep the running statistics while the rest trains', async () => {
  const net = new ResNet(cnnConfig({ base_width: 4 })).freeze(2);
  net.train();
  assert.equal(net.bn1.training, false, 'a frozen layer\'s batch norm stays in evaluation mode');
  assert.equal(net.layer1[0]!.bn2.training, false);
  assert.equal(net.layer2[0]!.bn1.training, true, 'layer 3 trains');
  const before = await net.layer1[0]!.bn1.running_mean.data();
  const { loss } = net.forward(T.rand([4, 1, 28, 28]), T.fromArray([0, 1, 2, 3], [4], { dtype: 'int32' }));
  loss!.backward();
  assert.deepEqual(await net.layer1[0]!.bn1.running_mean.data(), before, 'frozen running statistics do not move');
  for (const [key, p] of net.namedParameters()) {
    const frozen = key.startsWith('conv1.') || key.startsWith('bn1.') || key.startsWith('layer1.');
    assert.equal(p.requiresGrad, !frozen, key);
    assert.equal(p.grad === null, frozen, `${key}: ${frozen ? 'no gradient' : 'a gradient'}`);
  }
  net.freeze(0).train();
  assert.ok(net.parameters().every((p) => p.requiresGrad) && net.bn1.training, 'freeze(0) unfreezes');
  assert.throws(() => net.freeze(5), /freeze: k must be an integer in \[0, 4\]/);
});

test('the layers\' outputs at 28×28 and the sizes: LeNet-5 61,706 parameters, ResNet-8 77,754', () => {
  const x = T.rand([2, 1, 28, 28]);
  const shapes = (net: ImageClassifier) => T.noGrad(() => net.eval().activations(x)).map((a) => a.shape.join('x'));
  const lenet = new LeNet5(cnnConfig()), resnet = new ResNet(cnnConfig());
  assert.deepEqual(shapes(lenet), ['2x6x14x14', '2x16x5x5', '2x120', '2x84', '2x10']);
  assert.deepEqual(shapes(resnet), ['2x16x28x28', '2x16x28x28', '2x32x14x14', '2x64x7x7', '2x10']);
  assert.equal(lenet.numParameters(), 61706);
  assert.equal(resnet.numParameters(), 77754);
  assert.throws(() => lenet.forward(T.rand([2, 3, 28, 28])), /LeNet5: images must be \[N, 1, 28, 28\], got \[2, 3, 28, 28\]/);
  assert.throws(() => cnnConfig({ depth: 10 }), /depth must be 6n \+ 2/);
  assert.throws(() => new LeNet5(cnnConfig({ image_size: 10 })), /too small/);
});
