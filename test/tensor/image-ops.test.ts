// The image ops beyond PyTorch's fixtures and the gradchecks: channel dropout, BatchNorm2d's buffers and modes, the
// fused kernels against the composites at a LeNet's sizes, and the errors bad shapes and windows give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { BatchNorm2d } from '../../src/nn/index.js';
import { UNFUSED, forEachBackend, withBackend } from '../helpers/backends.js';

forEachBackend('dropout2d zeroes whole channels and scales the kept ones by 1/(1-p); the gradient is that mask', async () => {
  const x = T.add(T.rand([8, 16, 3, 3]), 1).requireGrad();
  T.manualSeed(5);
  const y = T.dropout2d(x, 0.25);
  T.sum(y).backward();
  const ys = await y.data(), xs = await x.data(), gs = await x.grad!.data();
  let dropped = 0;
  for (let c = 0; c < 8 * 16; c++) {
    const plane = Array.from({ length: 9 }, (_, i) => c * 9 + i);
    const zero = ys[plane[0]!] === 0;
    if (zero) dropped++;
    for (const i of plane) {
      assert.ok(Math.abs(ys[i]! - (zero ? 0 : xs[i]! / 0.75)) < 1e-6, `channel ${c}: all dropped or all scaled`);
      assert.ok(Math.abs(gs[i]! - (zero ? 0 : 1 / 0.75)) < 1e-6, `channel ${c}: the gradient is the mask`);
    }
  }
  assert.ok(dropped > 10 && dropped < 60, `about a quarter of 128 channels dropped: ${dropped}`);
  assert.equal(T.dropout2d(x, 0.25, false), x, 'evaluation mode passes x through');
});

forEachBackend('BatchNorm2d: PyTorch\'s state_dict keys; training moves the running statistics and counts batches, evaluation uses them', async () => {
  const bn = new BatchNorm2d(3, 1e-5, 0.5);
  assert.deepEqual([...bn.stateDict().keys()], ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  assert.deepEqual(bn.parameters().length, 2, 'the buffers are not parameters (no optimizer state, no gradient)');
  const x = T.add(T.mul(T.randn([4, 3, 5, 5]), 2), 3);
  bn.train();
  bn.forward(x);
  bn.forward(x);
  assert.equal(await bn.num_batches_tracked.item(), 2);
  // Two updates of momentum 0.5 towards the batch mean (about 3) from 0: 0.75 of the way.
  const mean = await T.mean(x, [0, 2, 3]).data(), running = await bn.running_mean.data();
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(running[c]! - 0.75 * mean[c]!) < 1e-5, `running mean of channel ${c}`);
  bn.eval();
  const y = await bn.forward(x).data();
  const rv = await bn.running_var.data(), xs = await x.data();
  assert.ok(Math.abs(y[0]! - (xs[0]! - running[0]!) / Math.sqrt(rv[0]! + 1e-5)) < 1e-5, 'evaluation normalises by the running statistics');
  assert.equal(await bn.num_batches_tracked.item(), 2, 'evaluation counts nothing');
  const copy = new BatchNorm2d(3);
  copy.loadStateDict(bn.stateDict());
  assert.deepEqual(await copy.running_var.data(), rv, 'the buffers load with the state dict');
  assert.equal(await copy.num_batches_tracked.item(), 2);
});

forEachBackend('the fused image kernels equal the composites at a LeNet\'s and a ResNet block\'s sizes (float32)', () => {
  const values = (f: () => T.Tensor[]) => f().map((t) => t.dataSync());
  const inputs = () => {
    T.manualSeed(3);
    return { x: T.randn([16, 6, 14, 14]).requireGrad(), w: T.mul(T.randn([16, 6, 5, 5]), 0.1).requireGrad(), b: T.randn([16]).requireGrad(),
      w3: T.mul(T.randn([6, 6, 3, 3]), 0.1).requireGrad(), gamma: T.add(T.rand([6]), 0.5).requireGrad(), beta: T.randn([6]).requireGrad() };
  };
  const step = () => {
    const v = inputs();
    const conv = T.conv2d(v.x, v.w, v.b);
    const pooled = T.maxPool2d(T.relu(conv), 2);
    const block = T.batchNorm(T.conv2d(v.x, v.w3, null, { stride: 2, padding: 1 }), v.gamma, v.beta, { training: true });
    // A residual block's two ends: relu(bn(.)) and relu(bn(.) + shortcut), the shortcut from x too.
    const h = T.batchNorm(T.conv2d(v.x, v.w3, null, { stride: 2, padding: 1 }), v.gamma, v.beta, { training: true, relu: true });
    const out = T.batchNorm(T.conv2d(h, v.w3, null, { padding: 1 }), v.gamma, null, { training: true, relu: true, residual: T.avgPool2d(v.x, 2) });
    const loss = T.add(T.add(T.sum(T.mul(pooled, pooled)), T.sum(T.mul(T.avgPool2d(block, 3, 1, 1), block))), T.sum(T.mul(out, T.add(h, 1))));
    loss.backward();
    return [pooled, block, h, out, v.x.grad!, v.w.grad!, v.b.grad!, v.w3.grad!, v.gamma.grad!, v.beta.grad!].map((t) => t.detach());
  };
  const fused = values(step);
  const composite = withBackend(UNFUSED, () => values(step));
  fused.forEach((got, k) => {
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - composite[k]![i]!) / (1 + Math.abs(composite[k]![i]!)));
    assert.ok(worst < 2e-4, `output ${k}: relative difference ${worst}`);
  });
}, { exclude: { webgpu: 'reads synchronously; the WebGPU kernels are compared in test/backend/kernels.test.ts' } });

test('image ops name the shapes and windows they cannot take', () => {
  const x = T.zeros([2, 4, 6, 6]);
  assert.throws(() => T.conv2d(x, T.zeros([6, 3, 3, 3]), null, { groups: 2 }), /conv2d: input \[2, 4, 6, 6\] and weight \[6, 3, 3, 3\] do not fit 2 group\(s\)/);
  assert.throws(() => T.conv2d(x, T.zeros([6, 4, 3, 3]), T.zeros([5])), /conv2d: bias \[5\] must be \[6\]/);
  assert.throws(() => T.conv2d(x, T.zeros([6, 4, 4, 4]), null, { dilation: 2 }), /conv2d: kernel 4x4 \(dilation \[2, 2\]\) is larger than the padded input \[2, 4, 6, 6\]/);
  assert.throws(() => T.conv2d(x, T.zeros([6, 4, 3, 3]), null, { stride: 0 }), /conv2d: stride must be positive integers, got \[0, 0\]/);
  assert.throws(() => T.maxPool2d(x, 2, 2, 2), /maxPool2d: padding \[2, 2\] must be at most half the kernel \[2, 2\]/);
  assert.throws(() => T.avgPool2d(T.zeros([2, 6, 6]), 2), /avgPool2d: input must be \[N, C, H, W\], got \[2, 6, 6\]/);
  assert.throws(() => T.adaptiveAvgPool2d(x, 0), /adaptiveAvgPool2d: output size must be positive integers/);
  assert.throws(() => T.batchNorm(T.zeros([1, 3, 1, 1]), null, null, { training: true }), /more than one value per channel in training mode, got input \[1, 3, 1, 1\]/);
  assert.throws(() => T.batchNorm(x, T.ones([3]), null), /batchNorm: weight \[3\] must be \[4\]/);
  assert.throws(() => T.batchNorm(x, null, null, { runningMean: T.zeros([4]) }), /runningMean and runningVar come together/);
  assert.throws(() => T.batchNorm(x, null, null, { training: true, residual: x }), /a residual is added before the ReLU, so it needs relu: true/);
  assert.throws(() => T.batchNorm(x, null, null, { training: true, relu: true, residual: T.zeros([2, 4, 6]) }), /residual \[2, 4, 6\] must have the input's shape \[2, 4, 6, 6\]/);
  assert.throws(() => T.dropout2d(T.zeros([4, 6, 6]), 0.5), /dropout2d: input must be \[N, C, H, W\]/);
  assert.throws(() => new BatchNorm2d(4).forward(T.zeros([4, 6])), /BatchNorm2d: input must be \[N, C, H, W\], got \[4, 6\]/);
});
