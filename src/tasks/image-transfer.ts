// Training image classifiers and transferring them, the precedent of the NLP lineage (Yosinski, Clune, Bengio &
// Lipson 2014, "How transferable are features in deep neural networks?"): a net pretrained on one image set gives a
// net for another, the same architecture with the target's classes, whose layers 1…k are copied from the pretrained
// net and either frozen (Yosinski's AnB) or fine-tuned with the rest (AnB+); the layers above k start fresh, as in
// the paper. From scratch, no layer is copied. Training is the shared loop (trainer.ts) on random mini-batches.
import type { ImageDataset } from '../data/images.js';
import { LeNet5, ResNet, cnnConfig, type CNNConfig, type ImageClassifier } from '../models/cnn.js';
import { labelConfig } from '../models/heads.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { LOOP_DEFAULTS, type TrainConfig, type TrainTask } from './trainer.js';

/**
 * Image classification's recipe: AdamW at 1e-3 with cosine decay to a tenth, light weight decay, no clipping (as
 * PyTorch's MNIST examples), an evaluation every 250 steps.
 */
export const IMAGE_TRAIN: TrainConfig = {
  ...LOOP_DEFAULTS, maxSteps: 2000, lr: 1e-3, minLrRate: 0.1, warmupSteps: 0, schedule: 'cosine', weightDecay: 1e-4,
  beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 0, evalEvery: 250, checkpointEvery: 500,
};

/** The architectures, by the names the CLI and benchmarks take. */
export const IMAGE_ARCHITECTURES = ['lenet5', 'resnet8'] as const;
export type ImageArchitecture = (typeof IMAGE_ARCHITECTURES)[number];

/** A fresh classifier of `arch` for images like `data`'s (channels, size) with its classes. */
export function imageClassifier(arch: ImageArchitecture, data: Pick<ImageDataset, 'channels' | 'height' | 'width' | 'classes'>): ImageClassifier {
  if (data.height !== data.width) throw new Error(`${arch}: the nets take square images; these are ${data.width}×${data.height} (resize them)`);
  const config = cnnConfig({ num_channels: data.channels, image_size: data.height, ...labelConfig(data.classes) }, arch);
  return arch === 'lenet5' ? new LeNet5(config) : new ResNet(config);
}

/** Throws unless the images fit the model (channels, size), naming both. */
export function checkImages(model: ImageClassifier, data: ImageDataset, what: string): void {
  const { num_channels: C, image_size: S } = model.config;
  if (data.channels !== C || data.height !== S || data.width !== S) {
    throw new Error(`${what}: images of ${data.channels}×${data.height}×${data.width} do not fit the model, which takes ${C}×${S}×${S}`);
  }
}

/** How a transfer uses the pretrained net's layers 1…k. */
export type TransferMode = 'scratch' | 'frozen' | 'finetune';

/** Options of `transferModel`. */
export interface TransferOptions {
  mode: TransferMode;
  /** k: the layers copied (1…k); at most the number of layers below the classifier. Ignored from scratch. */
  layers: number;
}

/**
 * The target task's net: `pretrained`'s architecture and input with the target's classes, layers 1…k copied from
 * `pretrained` (weights and running statistics) and, with 'frozen', fixed; the layers above are freshly initialised.
 */
export function transferModel(pretrained: ImageClassifier, classes: readonly string[], opts: TransferOptions): ImageClassifier {
  const config: CNNConfig = { ...pretrained.config, ...labelConfig(classes) };
  const model: ImageClassifier = pretrained instanceof ResNet ? new ResNet(config) : new LeNet5(config);
  if (opts.mode === 'scratch') return model;
  const below = model.layers().length - 1;
  if (!(Number.isInteger(opts.layers) && opts.layers >= 1 && opts.layers <= below)) {
    throw new Error(`transfer: layers must be an integer in [1, ${below}] (the ${below} layers below the classifier of ${pretrained.constructor.name}), got ${opts.layers}`);
  }
  const from = pretrained.layers(), to = model.layers();
  for (let i = 0; i < opts.layers; i++) to[i]!.loadStateDict(from[i]!.stateDict());
  if (opts.mode === 'frozen') model.freeze(opts.layers);
  return model;
}

/** Accuracy and mean cross-entropy of a classifier on a dataset, in batches, in evaluation mode with grad off. */
export async function evaluateClassifier(model: ImageClassifier, data: ImageDataset, batchSize = 256): Promise<{ accuracy: number; loss: number }> {
  checkImages(model, data, 'evaluate');
  const wasTraining = model.training;
  model.eval();
  let correct = 0, lossSum = 0;
  try {
    for (let from = 0; from < data.size; from += batchSize) {
      const rows = Array.from({ length: Math.min(batchSize, data.size - from) }, (_, i) => from + i);
      const { pixels, labels } = data.batch(rows);
      const { logits, loss } = noGrad(() => model.forward(pixels, labels));
      const [predicted, truth] = [await ops.argmax(logits, 1).data(), await labels.data()];
      for (let i = 0; i < rows.length; i++) if (predicted[i] === truth[i]) correct++;
      lossSum += (await loss!.item()) * rows.length;
    }
  } finally {
    model.train(wasTraining);
  }
  return { accuracy: correct / data.size, loss: lossSum / data.size };
}

/** Options of image classification training. */
export interface ImageTaskOptions {
  batchSize: number;
  /** Evaluate on at most this many test images, evenly spaced through the split (default all). */
  evalImages?: number;
  /** Writes what a checkpoint needs besides the model (nothing by default: the classes are in config.json). */
  saveExtras?: (dir: string) => Promise<void>;
}

/** Classification on random mini-batches (drawn with replacement by the loop's data generator, so a resumed run draws the same). */
export class ImageClassificationTask implements TrainTask {
  readonly saveExtras?: (dir: string) => Promise<void>;
  constructor(readonly model: ImageClassifier, readonly train: ImageDataset, readonly test: ImageDataset | null, readonly opts: ImageTaskOptions) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) throw new RangeError(`ImageClassificationTask: batchSize must be a positive integer, got ${opts.batchSize}`);
    if (train.size === 0) throw new Error('ImageClassificationTask: no training images');
    checkImages(model, train, 'training');
    if (test) checkImages(model, test, 'evaluation');
    const labels = Object.keys(model.config.id2label).length;
    if (train.classes.length !== labels) throw new Error(`ImageClassificationTask: ${train.classes.length} classes in the data, ${labels} in the model`);
    this.saveExtras = opts.saveExtras;
  }

  async trainLoss(rng: Generator): Promise<{ loss: Tensor; tokens: number }> {
    const rows = Array.from({ length: this.opts.batchSize }, () => Math.floor(rng.random() * this.train.size));
    const { pixels, labels } = this.train.batch(rows);
    return { loss: this.model.forward(pixels, labels).loss!, tokens: rows.length };
  }

  async evaluate(): Promise<Record<string, number>> {
    if (!this.test) return {};
    const limit = Math.min(this.test.size, this.opts.evalImages ?? Infinity);
    // Evenly spaced images: test splits are often sorted by class, so the first ones would be one class.
    const test = limit < this.test.size ? this.test.subset(Array.from({ length: limit }, (_, i) => Math.floor((i * this.test!.size) / limit))) : this.test;
    const { accuracy, loss } = await evaluateClassifier(this.model, test);
    return { accuracy, val_loss: loss };
  }
}
