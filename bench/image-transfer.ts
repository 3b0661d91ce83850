// `npm run bench -- image-transfer [--pretrain-steps 1500] [--base-steps 400] [--steps 200] [--seeds 3] [--eval-every 20]
//   [--eval-images 500] [--targets 0.7,0.8,0.85] [--pictures docs/images]`
// The image precedent measured (Yosinski et al. 2014 on small images): LeNet-5 pretrained on Fashion-MNIST's 60,000
// training images, then transferred to MNIST digits with 100, 1,000 and all (8,000) training labels, a stratified
// sample per seed:
//   scratch       nothing copied
//   frozen k      layers 1..k copied and fixed, the layers above fresh (AnB)
//   finetune k    layers 1..k copied and trained with the fresh ones above (AnB+)
// for k = 1..4 (conv1, conv2, fc1, fc2; fc3 is the new classifier). Every run trains --steps steps of 64 images;
// the held-out MNIST test split (2,000 digits, never trained on) scores --eval-images of it every --eval-every steps
// (the learning curves and the steps to each of --targets accuracies) and all of it at the end. The control within MNIST:
// bases trained on digits 0-4 (A) and 5-9 (B), then digits 5-9 learnt with layers 1..k of A frozen (AnB) or
// fine-tuned (AnB+), or of B itself frozen (BnB: only the fresh layers above k re-learnt). Mean ± sd over --seeds
// seeds. Writes bench/results/image-transfer.json, the tables as Markdown on stdout, and the pictures (first-layer
// filters, activations, learning curves) into --pictures.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFashionMnist, loadMnist, type ImageDataset } from '../src/data/images.js';
import type { ImageClassifier } from '../src/models/cnn.js';
import { activationsPng, edgeScores, filterGridPng } from '../src/tasks/image-pictures.js';
import { IMAGE_TRAIN, ImageClassificationTask, evaluateClassifier, imageClassifier, transferModel, type TransferMode } from '../src/tasks/image-transfer.js';
import { lossCurveSvg, type CurvePoint } from '../src/tasks/loss-curve.js';
import { train, trainConfig } from '../src/tasks/trainer.js';
import { Generator, manualSeed } from '../src/tensor/random.js';
import { figure, writeResults, type BenchRow } from './results.js';

const arg = (args: string[], name: string, fallback: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : fallback; };
const BATCH = 64;
const DIGITS_A = ['0', '1', '2', '3', '4'], DIGITS_B = ['5', '6', '7', '8', '9'];

interface Settings { steps: number; evalEvery: number; evalImages: number; targets: number[] }
/**
 * One training run's outcome: the final accuracy on the whole test split, the curve on its evaluated part, and the
 * first evaluated step at or above each target (null: not within the run).
 */
interface RunResult { accuracy: number; curve: { step: number; accuracy: number }[]; stepsTo: (number | null)[] }

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (xs: number[]) => `${(100 * mean(xs)).toFixed(1)} ± ${(100 * sd(xs)).toFixed(1)}`;

/** Trains `model` on `data` for `steps`, evaluating on `test` (its evaluated part every evalEvery, all at the end). */
async function fit(model: ImageClassifier, data: ImageDataset, test: ImageDataset, s: Settings, seed: number): Promise<RunResult> {
  const task = new ImageClassificationTask(model, data, test, { batchSize: BATCH, evalImages: s.evalImages });
  const result = await train(task, trainConfig(IMAGE_TRAIN, { maxSteps: s.steps, evalEvery: s.evalEvery, logEvery: s.evalEvery || s.steps, checkpointEvery: 0, seed }));
  const curve = result.history.filter((r) => r.accuracy !== undefined).map((r) => ({ step: r.step, accuracy: r.accuracy! }));
  const stepsTo = s.targets.map((t) => curve.find((p) => p.accuracy >= t)?.step ?? null);
  return { accuracy: (await evaluateClassifier(model, test)).accuracy, curve, stepsTo };
}

/** A base net trained from scratch on `data`. */
async function base(data: ImageDataset, test: ImageDataset, steps: number, s: Settings, seed: number): Promise<{ model: ImageClassifier; accuracy: number; seconds: number }> {
  manualSeed(seed);
  const model = imageClassifier('lenet5', data);
  const t = performance.now();
  const { accuracy } = await fit(model, data, test, { ...s, steps, evalEvery: 0 }, seed);
  return { model, accuracy, seconds: (performance.now() - t) / 1000 };
}

/** The transfer configurations: scratch, then frozen and fine-tuned for each k. */
function configs(layersBelow: number): { name: string; mode: TransferMode; k: number }[] {
  const ks = Array.from({ length: layersBelow }, (_, i) => i + 1);
  return [{ name: 'scratch', mode: 'scratch', k: 0 }, ...ks.map((k) => ({ name: `frozen-k${k}`, mode: 'frozen' as const, k })),
    ...ks.map((k) => ({ name: `finetune-k${k}`, mode: 'finetune' as const, k }))];
}

export default async function imageTransferBench(args: string[]): Promise<void> {
  const s: Settings = { steps: Number(arg(args, 'steps', '200')), evalEvery: Number(arg(args, 'eval-every', '20')), evalImages: Number(arg(args, 'eval-images', '500')),
    targets: arg(args, 'targets', '0.7,0.8,0.85').split(',').map(Number) };
  const seeds = Array.from({ length: Number(arg(args, 'seeds', '3')) }, (_, i) => i + 1);
  const pictures = arg(args, 'pictures', 'docs/images');
  const started = performance.now();
  const fashion = loadFashionMnist(), mnist = loadMnist();
  const rows: BenchRow[] = [];
  const say = (msg: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${msg}`);

  // The base: Fashion-MNIST, and what its first layer looks like before and after.
  manualSeed(1);
  const init = imageClassifier('lenet5', fashion.train);
  const initScores = await edgeScores(init.conv1.weight);
  mkdirSync(pictures, { recursive: true });
  writeFileSync(join(pictures, 'image-filters-init.png'), await filterGridPng(init.conv1.weight, { scale: 16 }));
  const pre = await base(fashion.train, fashion.test, Number(arg(args, 'pretrain-steps', '1500')), s, 1);
  say(`Fashion-MNIST base: ${(100 * pre.accuracy).toFixed(2)}% on its 10,000 held-out images in ${pre.seconds.toFixed(0)} s`);
  rows.push(figure('fashion-pretrain-test-accuracy', 100 * pre.accuracy, '%'), figure('fashion-pretrain-seconds', pre.seconds, 's'));
  writeFileSync(join(pictures, 'image-filters-fashion.png'), await filterGridPng(pre.model.conv1.weight, { scale: 16 }));
  writeFileSync(join(pictures, 'image-activations-fashion.png'), await activationsPng(pre.model, fashion.test.batch([0]).pixels));
  const fashionScores = await edgeScores(pre.model.conv1.weight);

  // Fashion-MNIST -> MNIST at three label counts.
  const table: string[] = [], stepsTable: string[] = [];
  const layersBelow = pre.model.layers().length - 1;
  let mnistScratch: ImageClassifier | null = null;
  for (const labels of [100, 1000, mnist.train.size]) {
    const label = labels === mnist.train.size ? 'all' : String(labels);
    const results = new Map<string, RunResult[]>();
    for (const seed of seeds) {
      const sample = mnist.train.stratifiedSample(labels, new Generator(seed));
      for (const c of configs(layersBelow)) {
        manualSeed(1000 * seed + c.k);
        const model = transferModel(pre.model, mnist.train.classes, { mode: c.mode, layers: Math.max(1, c.k) });
        const r = await fit(model, sample, mnist.test, s, seed);
        results.set(c.name, [...(results.get(c.name) ?? []), r]);
        if (c.mode === 'scratch' && label === 'all' && seed === 1) mnistScratch = model;
        if (c.name === `finetune-k${layersBelow}` && label === 'all' && seed === 1) writeFileSync(join(pictures, 'image-activations-digit.png'), await activationsPng(model, mnist.test.batch([0]).pixels));
      }
      say(`MNIST ${label} labels, seed ${seed}: ${configs(layersBelow).map((c) => `${c.name} ${(100 * results.get(c.name)!.at(-1)!.accuracy).toFixed(1)}%`).join(', ')}`);
    }
    const scratch = results.get('scratch')!.map((r) => r.accuracy);
    const reachedAt = (name: string, t: number) => results.get(name)!.map((r) => r.stepsTo[t]).filter((x): x is number => x !== null);
    for (const [name, rs] of results) {
      const acc = rs.map((r) => r.accuracy);
      rows.push(figure(`mnist-${label}-${name}-accuracy`, 100 * mean(acc), `% (mean of ${seeds.length} seeds, 2,000 held-out digits)`, name === 'scratch' ? null : 'scratch', name === 'scratch' ? null : 100 * mean(scratch)));
      rows.push(figure(`mnist-${label}-${name}-accuracy-sd`, 100 * sd(acc), '% (sd over seeds)'));
      s.targets.forEach((target, t) => {
        const reached = reachedAt(name, t);
        rows.push(figure(`mnist-${label}-${name}-steps-to-${100 * target}%`, reached.length ? mean(reached) : -1, `steps (mean of the ${reached.length}/${seeds.length} seeds that reached it; -1: none within ${s.steps})`));
      });
    }
    table.push(`| ${label} | ${pct(scratch)} | ${Array.from({ length: layersBelow }, (_, i) => pct(results.get(`frozen-k${i + 1}`)!.map((r) => r.accuracy))).join(' | ')} | ` +
      `${Array.from({ length: layersBelow }, (_, i) => pct(results.get(`finetune-k${i + 1}`)!.map((r) => r.accuracy))).join(' | ')} |`);
    s.targets.forEach((target, t) => {
      const cell = (name: string) => {
        const reached = reachedAt(name, t);
        return reached.length ? `${mean(reached).toFixed(0)}${reached.length < seeds.length ? ` (${reached.length}/${seeds.length})` : ''}` : '—';
      };
      stepsTable.push(`| ${label} | ${100 * target}% | ${configs(layersBelow).map((c) => cell(c.name)).join(' | ')} |`);
    });
    // Learning curves: the mean over seeds of each configuration's evaluated accuracy.
    const points: CurvePoint[] = [];
    for (const name of ['scratch', 'frozen-k2', `frozen-k${layersBelow}`, 'finetune-k2', `finetune-k${layersBelow}`]) {
      const rs = results.get(name)!;
      rs[0]!.curve.forEach((p, i) => points.push({ step: p.step, value: mean(rs.map((r) => r.curve[i]!.accuracy)), series: name }));
    }
    writeFileSync(join(pictures, `image-learning-curves-${label}.svg`), await lossCurveSvg(points, { title: `MNIST with ${label} training labels, from Fashion-MNIST`, yLabel: `accuracy on ${s.evalImages} held-out digits` }));
  }
  if (mnistScratch) writeFileSync(join(pictures, 'image-filters-mnist.png'), await filterGridPng(mnistScratch.conv1.weight, { scale: 16 }));
  const mnistScores = mnistScratch ? await edgeScores(mnistScratch.conv1.weight) : [];
  for (const [name, scores] of [['init', initScores], ['fashion', fashionScores], ['mnist-scratch', mnistScores]] as const) {
    rows.push(figure(`edge-score-${name}`, mean([...scores]), 'max |cos| with an oriented edge detector, mean over the 6 conv1 filters'));
  }

  // The control within MNIST: digits 0-4 (A) and 5-9 (B).
  const [trainA, trainB, testB] = [mnist.train.selectClasses(DIGITS_A), mnist.train.selectClasses(DIGITS_B), mnist.test.selectClasses(DIGITS_B)];
  const baseSteps = Number(arg(args, 'base-steps', '400'));
  const baseA = await base(trainA, mnist.test.selectClasses(DIGITS_A), baseSteps, s, 2);
  const baseB = await base(trainB, testB, baseSteps, s, 3);
  say(`digit bases: A (0-4) ${(100 * baseA.accuracy).toFixed(2)}%, B (5-9) ${(100 * baseB.accuracy).toFixed(2)}%`);
  rows.push(figure('digits-baseA-accuracy', 100 * baseA.accuracy, '%'), figure('digits-baseB-accuracy', 100 * baseB.accuracy, '%'));
  const control: string[] = [];
  for (let k = 1; k <= layersBelow; k++) {
    const cell: Record<string, number[]> = { AnB: [], 'AnB+': [], BnB: [] };
    for (const seed of seeds) {
      for (const [name, from, mode] of [['AnB', baseA.model, 'frozen'], ['AnB+', baseA.model, 'finetune'], ['BnB', baseB.model, 'frozen']] as const) {
        manualSeed(1000 * seed + 10 * k);
        const r = await fit(transferModel(from, DIGITS_B, { mode, layers: k }), trainB, testB, { ...s, evalEvery: 0 }, seed);
        cell[name]!.push(r.accuracy);
      }
    }
    say(`digits 5-9, k = ${k}: ${Object.entries(cell).map(([n, a]) => `${n} ${pct(a)}`).join(', ')}`);
    for (const [name, acc] of Object.entries(cell)) rows.push(figure(`digits-${name}-k${k}-accuracy`, 100 * mean(acc), `% (mean of ${seeds.length} seeds, digits 5-9 held out)`));
    control.push(`| ${k} | ${pct(cell.BnB!)} | ${pct(cell.AnB!)} | ${pct(cell['AnB+']!)} |`);
  }
  const seconds = (performance.now() - started) / 1000;
  rows.push(figure('image-transfer-wall-seconds', seconds, 's'));
  const head = `| labels | scratch | ${Array.from({ length: layersBelow }, (_, i) => `frozen 1–${i + 1}`).join(' | ')} | ${Array.from({ length: layersBelow }, (_, i) => `fine-tuned 1–${i + 1}`).join(' | ')} |`;
  console.log(`Fashion-MNIST base: ${(100 * pre.accuracy).toFixed(2)}% held out\n\n${head}\n|${'---|'.repeat(1 + 2 * layersBelow + 1)}\n${table.join('\n')}\n`);
  console.log(`steps to a held-out accuracy (of ${s.evalImages} digits, evaluated every ${s.evalEvery} steps; mean of the seeds that reached it):\n\n` +
    `| labels | accuracy | ${configs(layersBelow).map((c) => c.name).join(' | ')} |\n|${'---|'.repeat(2 + configs(layersBelow).length)}\n${stepsTable.join('\n')}\n`);
  console.log(`| k | BnB (5–9 base, frozen) | AnB (0–4 base, frozen) | AnB+ (0–4 base, fine-tuned) |\n|---|---|---|---|\n${control.join('\n')}\n`);
  console.log(`edge scores (mean over conv1's filters): init ${mean(initScores).toFixed(2)}, Fashion-MNIST ${mean(fashionScores).toFixed(2)}, MNIST from scratch ${mean(mnistScores).toFixed(2)}`);
  console.log(`wrote ${writeResults('image-transfer', rows)} after ${seconds.toFixed(0)} s`);
}
