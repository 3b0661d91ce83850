// `pretrain finetune | evaluate | predict`: transfer a pretrained model (or word vectors, or a scratch baseline) to a
// labelled task, score a saved task model on a data set, and write its predictions in a format the readers read.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { readTask, type ReadTaskOptions } from '../data/tasks/read.js';
import { TASK_FORMATS, type TaskDataset, type TaskFormat } from '../data/tasks/types.js';
import { entityScores, formatConllevalReport } from '../tasks/metrics.js';
import { lossCurveSvg } from '../tasks/loss-curve.js';
import { buildTaskModel, loadTaskModel, type TransferSpec } from '../tasks/transfer/build.js';
import { transferData, labelledExamples } from '../tasks/transfer/data.js';
import { FINETUNE, FROZEN, FinetuneTask, gradualUnfreezing, layerwiseOptimizer, scoreTask, type TransferData } from '../tasks/transfer/finetune.js';
import { FinetunedModel, type TaskKind, type TransferMode } from '../tasks/transfer/task-model.js';
import { manualSeed } from '../tensor/random.js';
import { printSummary, runTraining, trainConfigFromOptions, trainingCommand, useBackend } from './train-options.js';
import { formatNumber, parse, table } from './ui.js';

const KINDS = ['token-classification', 'classification', 'pair', 'regression'] as const;

/** `--mode finetune | frozen | freeze-below:K`. */
function parseMode(value: string): TransferMode {
  if (value === 'finetune' || value === 'frozen') return value;
  const m = /^freeze-below:(\d+)$/.exec(value);
  if (m) return { freezeBelow: Number(m[1]) };
  throw new Error(`--mode: expected finetune, frozen or freeze-below:K, got '${value}'`);
}

/** The reader options the data flags give. */
function readOptions(o: { format?: string; textColumns?: string; labelColumn?: string; labelType?: string }): ReadTaskOptions {
  const column = (c: string) => (/^\d+$/.test(c) ? Number(c) : c);
  if (o.format !== undefined && !TASK_FORMATS.includes(o.format as TaskFormat)) throw new Error(`--format: expected one of ${TASK_FORMATS.join(', ')}, got '${o.format}'`);
  return {
    ...(o.format ? { format: o.format as TaskFormat } : {}),
    ...(o.textColumns ? { textColumns: o.textColumns.split(',').map(column) } : {}),
    ...(o.labelColumn ? { labelColumn: column(o.labelColumn) } : {}),
    ...(o.labelType ? { labelType: o.labelType as 'string' | 'number' } : {}),
  };
}

/** The per-type rows of a tagging task's entity scores, for the summary table. */
function entityRows(data: TransferData, predictions: string[][]): Record<string, unknown>[] {
  const s = entityScores(data.dev.map((e) => [...(e.target as readonly string[])]), predictions);
  return [...s.types.map((t) => ({ type: t.type, precision: t.precision, recall: t.recall, f1: t.f1, support: t.support })),
    { type: 'overall', precision: s.precision, recall: s.recall, f1: s.f1, support: s.support }];
}

/** The metric early stopping and the best checkpoint follow, by task. */
function defaultMetric(kind: TaskKind, labels: readonly string[]): string {
  if (kind === 'regression') return 'pearson';
  if (kind === 'token-classification') return labels.some((l) => /^[BIES]-/.test(l)) ? 'f1' : 'accuracy';
  return 'accuracy';
}

function finetuneCommand() {
  return trainingCommand('finetune', FINETUNE)
    .description('Transfer a pretrained model to a labelled task: fine-tuned, frozen (features under a new top) or frozen below layer K.')
    .requiredOption('--model <source>', 'a model directory (ours or transformers\'), word vectors (.bin/.txt/.vec/.safetensors), or scratch:<model directory> (its architecture, random weights)')
    .addOption(new Option('--task <kind>', 'what to learn (default: what the training data is)').choices(KINDS))
    .requiredOption('--train <file>', 'training data (CoNLL, CoNLL-U, char BIO, TSV, CSV, JSON lines, MRPC, SICK; .gz read through)')
    .option('--dev <file>', 'held-out data for evaluation, early stopping and the best checkpoint')
    .option('--test <file>', 'held-out data scored once at the end, with the best model on --dev (else the last checkpoint)')
    .option('--format <format>', `the data's format (default: told by the file name): ${TASK_FORMATS.join(', ')}`)
    .option('--text-columns <cols>', 'the text column(s), by name or index: one, or two for pairs (a,b)')
    .option('--label-column <col>', 'the label column by name or index (CoNLL: e.g. ner, chunk, pos; SICK: entailment or relatedness)')
    .addOption(new Option('--label-type <type>', 'read labels as classes or as numbers (regression)').choices(['string', 'number'] as const))
    .option('--mode <mode>', 'finetune, frozen, or freeze-below:K (the embeddings and the lowest K layers fixed)', parseMode, 'finetune' as TransferMode)
    .addOption(new Option('--head <head>', 'frozen features and word vectors: the top over them').choices(['linear', 'bilstm', 'bilstm-crf'] as const).default('linear' as const))
    .option('--crf', 'tagging: a BiLSTM-CRF top (the same as --head bilstm-crf)')
    .option('--layer <layer>', 'frozen: "mix" (a learned scalar mix of all layers, ELMo) or a layer index (-1: the top)', 'mix')
    .option('--layer-norm', 'frozen: normalise each layer over the batch\'s real tokens before the mix (AllenNLP\'s do_layer_norm)')
    .option('--train-size <n>', 'keep a stratified sample of this many training examples (learning curves)', parse.positiveInt)
    .option('--epochs <n>', 'passes over the training data', parse.positiveInt, 3)
    .option('--batch <n>', 'examples per batch', parse.positiveInt, 32)
    .option('--max-length <n>', 'tokens per input, special tokens included; longer sequences are read in windows', parse.positiveInt, 128)
    .option('--patience <n>', 'stop after N evaluations without improvement (early stopping)', parse.positiveInt)
    .option('--metric <name>', 'the dev metric for the best checkpoint and early stopping (default: f1 for entity tagging, pearson for regression, else accuracy)')
    .option('--tokenizer <file>', 'a tokenizer for a model directory without one beside it')
    .option('--layer-lr-decay <x>', 'fine-tuning: each encoder layer learns at the rate of the one above divided by x (ULMFiT: 2.6); 1 is off', parse.atLeastOne, 1)
    .option('--gradual-unfreeze [steps]', 'fine-tuning: start with the encoder fixed and unfreeze one layer, top first, every N steps (default: an epoch), as ULMFiT', parse.positiveInt)
    .option('--reset-head', 'the checkpoint already has a head with other labels: start a new one on its encoder')
    .option('--out <dir>', 'output directory: best/ (the best model), checkpoint/, log.jsonl, loss.svg, dev.svg', 'runs/finetune')
    .action(async (o, cmd) => {
      const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
      if (o.gradualUnfreeze !== undefined && o.mode !== 'finetune') throw new Error(`--gradual-unfreeze is for --mode finetune (the mode given fixes its layers for the whole run)`);
      await useBackend(o.backend, Boolean(o.json));
      manualSeed(o.seed);
      const read = readOptions(o);
      const train = await readTask(o.train, { ...read, trainSize: o.trainSize, seed: o.seed });
      const dev = o.dev ? await readTask(o.dev, { ...read, labels: train.labels.length ? train.labels : undefined }) : null;
      warnUtf8([train, dev]);
      const head = o.crf ? 'bilstm-crf' : o.head;
      const spec: TransferSpec = {
        model: o.model, kind: 'classification', labels: [], mode: o.mode, tokenizer: o.tokenizer, resetHead: o.resetHead,
        layer: o.layer === 'mix' ? 'mix' : Number(o.layer), layerNorm: Boolean(o.layerNorm), separator: train.format === 'char-bio' ? '' : ' ',
      };
      const probe = transferData(train, dev);
      if (o.task && o.task !== probe.kind && !(o.task === 'regression' && probe.kind === 'pair')) {
        throw new Error(`--task ${o.task}, but ${o.train} holds ${probe.kind} data`);
      }
      const kind = o.task ?? probe.kind;
      spec.kind = kind;
      spec.labels = probe.labels;
      const built = await buildTaskModel({ ...spec, head });
      const data = transferData(train, dev, built.taskModel.encoder.splitText?.bind(built.taskModel.encoder));
      const task = new FinetuneTask(built.taskModel, { ...data, kind }, { batchSize: o.batch, saveExtras: built.saveExtras, maxLength: o.maxLength });
      const stepsPerEpoch = Math.ceil(task.train.inputs.length / o.batch);
      // a Transformer body fine-tuned takes transformers' rate; a new top over features or word vectors (frozen or not)
      // takes AllenNLP's 1e-3, at which a BiLSTM from random weights learns in a few hundred steps
      const recipe = built.taskModel instanceof FinetunedModel ? FINETUNE : FROZEN;
      // the number of steps and the evaluation interval follow the data unless given
      const cfg = trainConfigFromOptions(o, recipe, resolve(o.out), {
        maxSteps: given('steps') ? o.steps : stepsPerEpoch * o.epochs,
        evalEvery: given('evalEvery') ? o.evalEvery : stepsPerEpoch,
        lr: given('lr') ? o.lr : recipe.lr,
      });
      const metric = o.metric ?? defaultMetric(kind, data.labels);
      if (!o.json) {
        const r = task.train.report;
        console.error(`${o.train}: ${formatNumber(data.train.length)} ${kind} examples${data.labels.length ? `, ${data.labels.length} labels` : ''}; ` +
          `${o.dev ? `${formatNumber(data.dev.length)} dev examples` : 'no --dev: no evaluation, early stopping or best checkpoint'}`);
        if (r.windowed) console.error(`${formatNumber(r.windowed)} training examples are longer than --max-length ${o.maxLength}: read in overlapping windows`);
        if (r.truncatedPairs) console.error(`${formatNumber(r.truncatedPairs)} training pairs are longer than --max-length ${o.maxLength}: the longer sequence loses its end`);
        if (built.newWeights.length) console.error(`new weights (trained from scratch): ${built.newWeights.slice(0, 6).join(', ')}${built.newWeights.length > 6 ? ', ...' : ''}`);
        console.error(`${kind === 'token-classification' ? 'tagging' : kind}, mode ${typeof o.mode === 'object' ? `freeze-below:${o.mode.freezeBelow}` : o.mode}: ${formatNumber(task.model.numParameters())} parameters, ${cfg.maxSteps} steps (${stepsPerEpoch} a epoch), dev ${metric} as the measure`);
      }
      const result = await runTraining('finetune', task, cfg, o, (p) => `loss ${p.record.loss?.toFixed(4)}${p.eval?.[metric] !== undefined ? ` | dev ${metric} ${p.eval[metric]!.toFixed(4)}` : ''}`,
        {
          ...(o.dev ? { best: { metric, mode: metric === 'val_loss' ? 'min' : 'max', patience: o.patience } } : {}),
          ...(o.layerLrDecay > 1 ? { optimizer: layerwiseOptimizer(built.taskModel, cfg, o.layerLrDecay) } : {}),
          ...(o.gradualUnfreeze !== undefined ? { beforeStep: gradualUnfreezing(built.taskModel, o.gradualUnfreeze === true ? stepsPerEpoch : o.gradualUnfreeze) } : {}),
        });
      const devCurve = result.history.filter((r) => r[metric] !== undefined).map((r) => ({ step: r.step, value: r[metric]!, series: `dev ${metric}` }));
      if (devCurve.length > 0) writeFileSync(join(resolve(o.out), 'dev.svg'), await lossCurveSvg(devCurve, { title: `Dev ${metric}`, yLabel: metric }));
      // --test scores the model a user would keep: the best one on dev, else the last checkpoint
      let test: Record<string, number> = {};
      if (o.test) {
        const opened = await openTask(result.best?.dir ?? join(cfg.outDir!, 'checkpoint'), o.test, o);
        const scores = scoreTask(opened.transfer, opened.transfer.dev, await opened.task.predict(opened.task.dev, opened.transfer.dev));
        test = Object.fromEntries(Object.entries(scores).map(([k, v]) => [`test_${k}`, v]));
      }
      printSummary({
        steps: result.steps, train_loss: result.finalLoss, ...result.eval,
        ...(result.best ? { best_step: result.best.step, [`best_${metric}`]: result.best.value, stopped_early: result.best.stoppedEarly, best_model: result.best.dir } : {}),
        ...test,
        checkpoint: join(cfg.outDir!, 'checkpoint'), loss_curve: result.lossCurve,
      }, Boolean(o.json));
      if (!o.json && dev && kind === 'token-classification' && metric === 'f1') {
        const predictions = await task.predict(task.dev, data.dev) as string[][];
        console.log(table(entityRows(data, predictions)));
      }
    });
}

function warnUtf8(sets: (TaskDataset | null)[]): void {
  for (const d of sets) if (d && d.utf8.invalidSequences > 0) console.error(`warning: ${d.file}: ${d.utf8.invalidSequences} invalid UTF-8 sequences (${d.utf8.invalidBytes} bytes) replaced with U+FFFD`);
}

/** A saved task model and its data, ready to score or predict. */
async function openTask(modelDir: string, dataPath: string, o: { format?: string; textColumns?: string; labelColumn?: string; labelType?: string }) {
  const { built, spec } = await loadTaskModel(modelDir);
  const data = await readTask(dataPath, { ...readOptions(o), ...(spec.labels.length ? { labels: spec.labels } : {}) });
  warnUtf8([data]);
  const examples = labelledExamples(data, built.taskModel.encoder.splitText?.bind(built.taskModel.encoder));
  const transfer: TransferData = { kind: spec.kind, labels: spec.labels, train: examples, dev: examples };
  const task = new FinetuneTask(built.taskModel, transfer, { batchSize: 32 });
  built.taskModel.module.eval();
  return { task, transfer, data, spec };
}

function evaluateCommand() {
  return new Command('evaluate')
    .description('Score a model that `pretrain finetune` saved (its best/ or checkpoint/ directory) on a labelled data set.')
    .requiredOption('--model <dir>', 'the saved task model')
    .requiredOption('--data <file>', 'labelled data in a format the readers read')
    .option('--format <format>', `the data's format (default: told by the file name)`)
    .option('--text-columns <cols>', 'the text column(s)')
    .option('--label-column <col>', 'the label column')
    .option('--label-type <type>', 'string or number')
    .option('--json', 'print the metrics as JSON')
    .action(async (o) => {
      const { task, transfer } = await openTask(o.model, o.data, o);
      const predictions = await task.predict(task.dev, transfer.dev);
      const metrics = scoreTask(transfer, transfer.dev, predictions);
      if (o.json) { console.log(JSON.stringify({ examples: transfer.dev.length, ...metrics })); return; }
      console.log(table(Object.entries(metrics).map(([metric, value]) => ({ metric, value }))));
      if (transfer.kind === 'token-classification' && metrics.f1 !== undefined) {
        console.log(formatConllevalReport(entityScores(transfer.dev.map((e) => [...(e.target as readonly string[])]), predictions as string[][])));
      }
    });
}

function predictCommand() {
  return new Command('predict')
    .description('Write a saved task model\'s predictions: CoNLL (word and tag per line) for tagging, else TSV (label<TAB>text), which the readers read back.')
    .requiredOption('--model <dir>', 'the saved task model')
    .requiredOption('--input <file>', 'the data to label (its labels, if any, are ignored)')
    .requiredOption('--output <file>', 'where to write the predictions')
    .option('--format <format>', `the input's format (default: told by the file name)`)
    .option('--text-columns <cols>', 'the text column(s)')
    .option('--label-column <col>', 'the label column')
    .option('--label-type <type>', 'string or number')
    .option('--json', 'print a summary as JSON')
    .action(async (o) => {
      const { task, transfer, data } = await openTask(o.model, o.input, o);
      const predictions = await task.predict(task.dev, transfer.dev);
      let text: string;
      if (data.kind === 'sequence') {
        text = data.examples.map((e, i) => e.words.map((w, k) => `${w}\t${(predictions[i] as string[])[k]}`).join('\n')).join('\n\n') + '\n';
      } else if (data.kind === 'pair') {
        text = `label\ta\tb\n${data.examples.map((e, i) => `${predictions[i]}\t${e.a}\t${e.b}`).join('\n')}\n`;
      } else {
        text = `label\ttext\n${data.examples.map((e, i) => `${predictions[i]}\t${e.text}`).join('\n')}\n`;
      }
      writeFileSync(o.output, text);
      const summary = { examples: predictions.length, output: o.output };
      if (o.json) console.log(JSON.stringify(summary));
      else console.error(`${formatNumber(predictions.length)} predictions written to ${o.output}`);
    });
}

/** Adds `pretrain finetune`, `pretrain evaluate` and `pretrain predict`. */
export const registerFinetune = (program: Command): void => {
  program.addCommand(finetuneCommand());
  program.addCommand(evaluateCommand());
  program.addCommand(predictCommand());
};
