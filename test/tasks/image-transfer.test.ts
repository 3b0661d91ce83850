// Image transfer and its pictures: transferModel copies layers 1…k (frozen or not) and starts the rest fresh, the
// classification task learns and evaluates, the pictures are PNGs of the right size and colours, and the edge score
// tells an oriented edge detector from noise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageDataset } from '../../src/data/images.js';
import { decodeImage } from '../../src/data/image-folder.js';
import { LeNet5, ResNet, cnnConfig } from '../../src/models/cnn.js';
import { activationsPng, edgeScores, filterGridPng } from '../../src/tasks/image-pictures.js';
import { IMAGE_TRAIN, ImageClassificationTask, evaluateClassifier, imageClassifier, transferModel } from '../../src/tasks/image-transfer.js';
import { train, trainConfig } from '../../src/tasks/trainer.js';
import * as T from '../../src/tensor/index.js';

/** 12×12 images of a bright row (class 0) or column (class 1) at each offset, over faint noise. */
function bars(): ImageDataset {
  const n = 40, px = new Uint8Array(n * 144), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const at = 1 + (i % 10), vertical = i % 2;
    labels[i] = vertical;
    for (let y = 0; y < 12; y++) for (let x = 0; x < 12; x++) px[i * 144 + y * 12 + x] = (vertical ? x : y) === at ? 230 : (x * 7 + y * 3 + i) % 30;
  }
  return new ImageDataset(px, labels, 1, 12, 12, ['row', 'column']);
}

const same = async (a: T.Tensor, b: T.Tensor) => assert.deepEqual(Array.from(await a.data()), Array.from(await b.data()));

test('transferModel: layers 1..k copied (frozen or trainable), the layers above and the classifier fresh for the target\'s classes', async () => {
  T.manualSeed(1);
  const pre = new LeNet5(cnnConfig({ image_size: 12 }));
  const tuned = transferModel(pre, ['a', 'b', 'c'], { mode: 'finetune', layers: 2 }) as LeNet5;
  await same(tuned.conv2.weight, pre.conv2.weight);
  assert.notDeepEqual(Array.from(await tuned.fc1.weight.data()), Array.from(await pre.fc1.weight.data()), 'layer 3 starts fresh');
  assert.deepEqual([...tuned.fc3.weight.shape], [3, 84]);
  assert.ok(tuned.parameters().every((p) => p.requiresGrad), 'fine-tuning trains everything');
  const frozen = transferModel(pre, ['a', 'b'], { mode: 'frozen', layers: 3 });
  assert.deepEqual(frozen.namedParameters().filter(([, p]) => !p.requiresGrad).map(([k]) => k), ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', 'fc1.weight', 'fc1.bias']);
  const scratch = transferModel(pre, ['a', 'b'], { mode: 'scratch', layers: 4 });
  assert.notDeepEqual(Array.from(await scratch.conv1.weight.data()), Array.from(await pre.conv1.weight.data()));
  assert.throws(() => transferModel(pre, ['a', 'b'], { mode: 'frozen', layers: 5 }), /layers must be an integer in \[1, 4\]/);
  const res = new ResNet(cnnConfig({ base_width: 4 }));
  res.train().forward(T.rand([4, 1, 28, 28]));
  const resT = transferModel(res, ['x', 'y'], { mode: 'frozen', layers: 1 }) as ResNet;
  await same(resT.bn1.running_var, res.bn1.running_var);
  resT.train();
  assert.equal(resT.bn1.training, false, 'a frozen stem keeps its batch norm in evaluation mode');
});

test('ImageClassificationTask learns bars; evaluateClassifier scores it; mismatched images are errors naming both shapes', async () => {
  const data = bars();
  T.manualSeed(2);
  const model = imageClassifier('lenet5', data);
  const before = await evaluateClassifier(model, data);
  const task = new ImageClassificationTask(model, data, data, { batchSize: 16, evalImages: 10 });
  const result = await train(task, trainConfig(IMAGE_TRAIN, { maxSteps: 60, lr: 0.01, evalEvery: 30, logEvery: 30 }));
  assert.ok(result.history.some((r) => r.accuracy !== undefined), 'evaluations log an accuracy');
  const after = await evaluateClassifier(model, data);
  assert.ok(after.accuracy >= 0.9 && after.loss < before.loss, `bars are learnt: ${JSON.stringify({ before, after })}`);
  const rgb = new ImageDataset(new Uint8Array(3 * 144 * 2), Int32Array.of(0, 1), 3, 12, 12, ['row', 'column']);
  assert.throws(() => new ImageClassificationTask(model, rgb, null, { batchSize: 4 }), /images of 3×12×12 do not fit the model, which takes 1×12×12/);
  assert.throws(() => imageClassifier('resnet8', new ImageDataset(new Uint8Array(12 * 10), Int32Array.of(0), 1, 12, 10, ['a'])), /square images; these are 10×12/);
});

test('pictures: the filter grid\'s size and colours, the activations as one PNG, and edge scores that tell edges from noise', async () => {
  const w = new Float32Array(2 * 25);
  w[12] = 1; // filter 0: one positive centre tap
  for (let t = 0; t < 25; t++) w[25 + t] = Math.sign((t % 5) - 2); // filter 1: a step edge, dark left, bright right
  const weight = T.fromArray(w, [2, 1, 5, 5]);
  const grid = decodeImage(await filterGridPng(weight, { scale: 4 }));
  assert.deepEqual([grid.width, grid.height], [4 + 2 * (20 + 4), 4 + 20 + 4]);
  const centre = ((4 + 2 * 4 + 1) * grid.width + 4 + 2 * 4 + 1) * 3;
  assert.deepEqual(Array.from(grid.rgb.subarray(centre, centre + 3)), [255, 0, 0], 'the positive tap is red');
  const zero = ((4 + 1) * grid.width + 4 + 1) * 3;
  assert.deepEqual(Array.from(grid.rgb.subarray(zero, zero + 3)), [255, 255, 255], 'zero is white');
  const [dot, step] = await edgeScores(weight);
  assert.ok(step! > 0.85 && dot! < 0.3, `a step is edge-like, a dot is not: ${step}, ${dot}`);
  const model = new LeNet5(cnnConfig({ image_size: 12 }));
  const acts = decodeImage(await activationsPng(model, bars().batch([0]).pixels));
  assert.ok(acts.width > 0 && acts.height > 0);
});
