// `pretrain image`: train an image classifier (LeNet-5 or ResNet-8) on Fashion-MNIST, MNIST or a folder of images,
// transfer it to another image set (layers 1…k frozen or fine-tuned, or from scratch), and classify image files.
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { loadFashionMnist, loadMnist, type ImageDataset, type ImageSplits } from '../data/images.js';
import { readImageFile, readImageFolder } from '../data/image-folder.js';
import { ImageClassifier, classNames } from '../models/cnn.js';
import { activationsPng, filterGridPng } from '../tasks/image-pictures.js';
import { IMAGE_ARCHITECTURES, IMAGE_TRAIN, ImageClassificationTask, checkImages, evaluateClassifier, imageClassifier, transferModel } from '../tasks/image-transfer.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { loadModel } from './load.js';
import { printSummary, runTraining, trainConfigFromOptions, trainingCommand, useBackend } from './train-options.js';
import { formatNumber, parse, progressBar, table } from './ui.js';

const BUILT_IN = ['fashion-mnist', 'mnist'] as const;
/** The share of each class a folder holds out when no --test folder is given. */
const HELD_OUT = 0.1;

/** What the data options ask for: a built-in set's splits, or a folder's (with --test, or a seeded tenth held out). */
async function loadData(o: { data: string; test?: string; resize?: boolean; size?: number; channels?: '1' | '3'; seed: number; json?: boolean }, classes?: readonly string[]): Promise<ImageSplits & { described: string }> {
  const quiet = Boolean(o.json);
  if ((BUILT_IN as readonly string[]).includes(o.data)) {
    if (o.test) throw new Error(`--test is for folders; ${o.data} comes with its own held-out split`);
    const bar = progressBar(`reading ${o.data}`, 10, { unit: 'files', quiet });
    const splits = (o.data === 'mnist' ? loadMnist : loadFashionMnist)((done) => bar.update(done));
    bar.stop();
    return { ...splits, described: `${o.data}: ${formatNumber(splits.train.size)} training and ${formatNumber(splits.test.size)} held-out images` };
  }
  const read = async (dir: string, knownClasses?: readonly string[]) => {
    const bar = progressBar(`reading ${dir}`, 1, { unit: 'images', quiet });
    const { dataset, report } = await readImageFolder(dir, {
      classes: knownClasses, size: o.size, channels: o.channels === undefined ? undefined : (Number(o.channels) as 1 | 3),
      onSizeMismatch: o.resize ? 'resize' : 'error', onProgress: (done, total) => { bar.setTotal(total); bar.update(done); },
    });
    bar.stop();
    for (const { file, reason } of report.skipped) console.error(`skipped ${file}: ${reason}`);
    if (report.converted) console.error(`${dir}: converted ${report.converted.count} image(s) to ${report.converted.to}, so that all have ${dataset.channels === 3 ? 'three channels' : 'one channel'}`);
    if (report.resized) console.error(`${dir}: resized ${report.resized} image(s) to ${dataset.width}×${dataset.height}`);
    if (report.ignored.length) console.error(`${dir}: ignored ${report.ignored.length} file(s) that are not .png, .jpg or .jpeg`);
    return { dataset, skipped: report.skipped.length };
  };
  const train = await read(o.data, classes);
  let test: ImageDataset;
  if (o.test) {
    test = (await read(o.test, train.dataset.classes)).dataset;
    checkSame(train.dataset, test, o.test);
  } else {
    const split = train.dataset.holdOut(HELD_OUT, new Generator(o.seed));
    [train.dataset, test] = [split.train, split.test];
  }
  const skipped = train.skipped ? ` (${train.skipped} unreadable file(s) skipped)` : '';
  return { train: train.dataset, test, described: `${o.data}: ${formatNumber(train.dataset.size)} training images in ${train.dataset.classes.length} classes${skipped}, ` +
    `${formatNumber(test.size)} held out${o.test ? ` (${o.test})` : ` (${HELD_OUT * 100}% of each class, seed ${o.seed})`}` };
}

function checkSame(a: ImageDataset, b: ImageDataset, where: string): void {
  if (a.channels !== b.channels || a.height !== b.height || a.width !== b.width) {
    throw new Error(`${where}: images of ${b.channels}×${b.height}×${b.width}, but the training images are ${a.channels}×${a.height}×${a.width}`);
  }
}

/** The options both training commands read their images with. */
function withDataOptions(name: string, description: string, defaultData: string) {
  return trainingCommand(name, IMAGE_TRAIN)
    .description(description)
    .option('--data <set|folder>', `${BUILT_IN.join(' or ')} (the npm packages), or a folder with one subfolder of PNG/JPEG images per class`, defaultData)
    .option('--test <folder>', `held-out images for a --data folder, in the same class subfolders (default: ${HELD_OUT * 100}% of each class, drawn with --seed)`)
    .option('--resize', 'resize images of another size (bilinear) rather than stop at the first one')
    .option('--size <n>', 'the image size of a folder (default: its first image\'s)', parse.positiveInt)
    .addOption(new Option('--channels <n>', 'convert a folder\'s images to 1 (grayscale) or 3 (RGB) channels (default: RGB when any has colour)').choices(['1', '3'] as const))
    .option('--batch <n>', 'images per step', parse.positiveInt, 64)
    .option('--eval-images <n>', 'held-out images per evaluation (evenly spaced; the final accuracy uses all)', parse.positiveInt, 2000);
}

/** Trains `model` on the splits and prints the summary with the final held-out accuracy on every test image. */
async function trainAndReport(label: string, model: ImageClassifier, data: ImageSplits, o: Parameters<typeof trainConfigFromOptions>[0] & { out: string; batch: number; evalImages: number; json?: boolean },
  extra: Record<string, unknown>): Promise<void> {
  const task = new ImageClassificationTask(model, data.train, data.test, { batchSize: o.batch, evalImages: o.evalImages });
  const cfg = trainConfigFromOptions(o, IMAGE_TRAIN, resolve(o.out));
  const result = await runTraining(label, task, cfg, o,
    (p) => `loss ${p.record.loss?.toFixed(4)} | ${formatNumber(p.record.tokensPerSec ?? 0)} img/s${p.eval ? ` | held-out accuracy ${(100 * p.eval.accuracy!).toFixed(2)}%` : ''}`);
  const final = await evaluateClassifier(model, data.test);
  const filters = join(cfg.outDir!, 'filters.png');
  await writeFile(filters, await filterGridPng(model.conv1.weight, { scale: 16 }));
  printSummary({
    ...extra, steps: result.steps, train_loss: result.finalLoss, test_images: data.test.size, test_accuracy: final.accuracy, test_loss: final.loss,
    wall_seconds: result.wallSeconds, checkpoint: join(cfg.outDir!, 'checkpoint'), loss_curve: result.lossCurve, filters,
  }, Boolean(o.json));
}

function pretrainCommand() {
  return withDataOptions('pretrain', 'Train an image classifier from scratch (the base net that `image transfer` starts from); held-out accuracy at each evaluation.', 'fashion-mnist')
    .addOption(new Option('--arch <name>', 'LeNet-5 (conv1, conv2, fc1-3) or ResNet-8 (stem, three stages, fc)').choices(IMAGE_ARCHITECTURES).default('lenet5' as const))
    .option('--out <dir>', 'output directory: checkpoint (config.json with the classes, model.safetensors), log.jsonl, loss.svg, filters.png (conv1)', 'runs/image')
    .action(async (o) => {
      await useBackend(o.backend, Boolean(o.json));
      manualSeed(o.seed);
      const data = await loadData(o);
      const model = imageClassifier(o.arch, data.train);
      if (!o.json) console.error(`${data.described}; ${o.arch} of ${formatNumber(model.numParameters())} parameters`);
      await trainAndReport('image pretrain', model, data, o, { arch: o.arch, data: o.data, train_images: data.train.size });
    });
}

function transferCommand() {
  return withDataOptions('transfer', "Transfer a pretrained image classifier to another image set (Yosinski et al. 2014): its layers 1..k copied and frozen, or fine-tuned with the rest; a new classifier on the target's classes, the layers above k fresh; or the same net from scratch.", 'mnist')
    .option('--from <dir>', 'the pretrained net: a checkpoint of `image pretrain` (or any cnn model directory)')
    .addOption(new Option('--mode <how>', 'frozen: layers 1..k fixed; finetune: layers 1..k copied and trained with the rest; scratch: nothing copied').choices(['frozen', 'finetune', 'scratch'] as const).default('finetune' as const))
    .option('--layers <k>', 'how many layers to copy, from the bottom (default: all below the classifier)', parse.positiveInt)
    .addOption(new Option('--arch <name>', 'with --mode scratch and no --from: the architecture').choices(IMAGE_ARCHITECTURES).default('lenet5' as const))
    .option('--labels <n|all>', 'training labels to use: a stratified sample of this many (drawn with --seed), or all', 'all')
    .option('--classes <list>', "only these of the target's classes, comma-separated (e.g. 5,6,7,8,9), relabelled in that order")
    .option('--out <dir>', 'output directory: checkpoint, log.jsonl, loss.svg, filters.png (conv1)', 'runs/image-transfer')
    .action(async (o) => {
      if (o.mode !== 'scratch' && !o.from) throw new Error(`--mode ${o.mode} needs --from, the pretrained net`);
      const labels = o.labels === 'all' ? Infinity : Number(o.labels);
      if (!(labels === Infinity || (Number.isInteger(labels) && labels > 0))) throw new Error(`--labels must be a positive integer or 'all', got ${o.labels}`);
      await useBackend(o.backend, Boolean(o.json));
      manualSeed(o.seed);
      let data = await loadData(o);
      if (o.classes) {
        const names = o.classes.split(',').map((s) => s.trim()).filter(Boolean);
        data = { train: data.train.selectClasses(names), test: data.test.selectClasses(names), described: `${data.described}; classes ${names.join(', ')}` };
      }
      const train = labels < data.train.size ? data.train.stratifiedSample(labels, new Generator(o.seed)) : data.train;
      const base = o.from ? (await loadModel(o.from)).model : null;
      if (base && !(base instanceof ImageClassifier)) throw new Error(`${o.from}: not an image classifier (model_type cnn)`);
      const model = base ? transferModel(base, train.classes, { mode: o.mode, layers: o.layers ?? base.layers().length - 1 }) : imageClassifier(o.arch, train);
      checkImages(model, train, o.data);
      if (!o.json) {
        const trainable = model.parameters().filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0);
        console.error(`${data.described}; training on ${formatNumber(train.size)} labels; ${o.mode}${o.mode === 'scratch' ? '' : ` from ${o.from}, layers 1-${o.layers ?? model.layers().length - 1} copied`}; ` +
          `${formatNumber(trainable)} of ${formatNumber(model.numParameters())} parameters trained`);
      }
      await trainAndReport('image transfer', model, { train, test: data.test }, o, { mode: o.mode, layers: o.mode === 'scratch' ? 0 : o.layers ?? model.layers().length - 1, train_images: train.size });
    });
}

/** The image files named, folders replaced by the images in them. */
async function imageFiles(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    const s = await stat(input).catch(() => null);
    if (!s) throw new Error(`${input}: no such file or folder`);
    if (!s.isDirectory()) { out.push(input); continue; }
    const names = (await readdir(input)).filter((n) => /\.(png|jpe?g)$/i.test(n)).sort();
    if (names.length === 0) throw new Error(`${input}: no .png, .jpg or .jpeg files in the folder`);
    out.push(...names.map((n) => join(input, n)));
  }
  return out;
}

function predictCommand() {
  return new Command('predict')
    .description("Classify image files with a trained net: each image converted to the net's channels and resized to its input, the top classes with their probabilities.")
    .requiredOption('--model <dir>', 'a checkpoint of `image pretrain` or `image transfer`')
    .argument('<images...>', 'PNG or JPEG files, or folders of them')
    .option('--top <k>', 'classes to show per image', parse.positiveInt, 3)
    .option('--activations <png>', "write a picture of every layer's outputs on the first image (a row per layer, the input first)")
    .option('--json', 'print one JSON line per image: {"file", "predictions": [{"label", "probability"}]}')
    .action(async (inputs, o) => {
      const { model } = await loadModel(o.model);
      if (!(model instanceof ImageClassifier)) throw new Error(`${o.model}: not an image classifier (model_type cnn)`);
      const { num_channels: C, image_size: S } = model.config;
      const names = classNames(model.config);
      const files = await imageFiles(inputs);
      const rows: Record<string, unknown>[] = [];
      for (const [i, file] of files.entries()) {
        const bytes = await readImageFile(file, C === 1 ? 1 : 3, S);
        const pixels = ops.fromArray(Float32Array.from(bytes, (v) => v / 255), [1, C, S, S]);
        if (i === 0 && o.activations) await writeFile(o.activations, await activationsPng(model, pixels));
        const probs = await noGrad(() => ops.softmax(model.forward(pixels).logits, -1)).data();
        const top = Array.from(probs, (p, i) => ({ label: names[i]!, probability: p })).sort((a, b) => b.probability - a.probability).slice(0, o.top);
        if (o.json) console.log(JSON.stringify({ file, predictions: top }));
        else rows.push({ file, ...Object.fromEntries(top.map((t, i) => [`#${i + 1}`, `${t.label} ${(100 * t.probability).toFixed(1)}%`])) });
      }
      if (!o.json) console.log(table(rows));
    });
}

/** Registers `pretrain image`. */
export const registerImage = (program: Command): void => {
  program.addCommand(new Command('image').description('Image classifiers (LeNet-5, ResNet-8) and their transfer, the precedent of the NLP lineage')
    .addCommand(pretrainCommand()).addCommand(transferCommand()).addCommand(predictCommand()));
};
