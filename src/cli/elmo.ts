// `pretrain elmo`: train ELMo's biLM on a corpus, measure its perplexity in each direction, and write its
// representations of sentences (AllenNLP's `elmo` command, as safetensors).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { writeSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import { savePretrained } from '../models/pretrained.js';
import { importBilmTf } from '../tasks/elmo-import.js';
import { ELMO_CONFIGS, ElmoBiLM, elmoConfig, publishedParameterCount, type ElmoConfigName } from '../models/elmo.js';
import { ELMO_PRETRAIN, ELMO_SPECIALS, ElmoCorpus, ElmoPretrainTask, elmoEmbed, elmoPerplexity, type ElmoCorpusReport } from '../tasks/elmo-pretrain.js';
import { manualSeed } from '../tensor/random.js';
import { WordVocab, readParagraphs, type SequenceLayout, type WordSplit } from '../text/word-lm.js';
import { asset } from './assets.js';
import { loadModel } from './load.js';
import { printSummary, runTraining, trainConfigFromOptions, trainingCommand, useBackend } from './train-options.js';
import { formatNumber, parse, progressBar, table, warnInvalidUtf8 } from './ui.js';

const VOCAB_FILE = 'vocab.txt';
const positive = parse.positiveInt;
const splitOption = () => new Option('--split <how>', "tokens: words with case, punctuation split off (raw text); whitespace: pre-tokenised text (bilm-tf's input)")
  .choices(['tokens', 'whitespace'] as const).default('tokens' as const);
const layoutOption = () => new Option('--layout <how>', 'lines: one sentence a line (bilm-tf, AllenNLP); paragraphs: blank-line separated, wrapped lines joined')
  .choices(['lines', 'paragraphs'] as const).default('lines' as const);

/** A corpus's sequences, with invalid UTF-8 and skipped empty lines reported; an empty corpus is an error naming it. */
async function sequencesOf(path: string, split: WordSplit, layout: SequenceLayout, quiet: boolean): Promise<string[][]> {
  const { paragraphs, stats, emptyLines } = await readParagraphs(path, split, layout);
  warnInvalidUtf8(stats);
  if (emptyLines > 0 && !quiet) console.error(`${path}: ${formatNumber(emptyLines)} empty line(s) skipped`);
  if (paragraphs.length === 0) throw new Error(`${path}: no tokens in the corpus`);
  return paragraphs;
}

/** Says on stderr what encoding a corpus cut or replaced. */
function reportEncoding(path: string, r: ElmoCorpusReport, maxChars: number): void {
  if (r.truncatedTokens) console.error(`${path}: ${formatNumber(r.truncatedTokens)} distinct token(s) longer than ${maxChars - 2} UTF-8 bytes, cut as bilm-tf cuts them`);
  if (r.replacedTokens) console.error(`${path}: ${formatNumber(r.replacedTokens)} distinct token(s) with unpaired surrogates, read as U+FFFD`);
}

/** The vocabulary saved beside a model, checked against it. */
async function loadVocab(dir: string, model: ElmoBiLM): Promise<WordVocab> {
  const path = join(dir, VOCAB_FILE);
  const vocab = WordVocab.fromText(await readFile(path, 'utf8').catch(() => { throw new Error(`${dir}: no ${VOCAB_FILE} beside the model`); }), path, ELMO_SPECIALS);
  if (vocab.size !== model.config.vocab_size) throw new Error(`${path}: ${vocab.size} words but the model's softmax has ${model.config.vocab_size}`);
  return vocab;
}

/** A trained biLM from a directory `pretrain elmo train` or `import` wrote, or a released model's directory (options.json, weights.hdf5). */
async function loadBiLM(dir: string): Promise<ElmoBiLM> {
  if (!existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'options.json')) && existsSync(join(dir, 'weights.hdf5'))) {
    const vocab = join(dir, VOCAB_FILE);
    return (await importBilmTf(join(dir, 'options.json'), join(dir, 'weights.hdf5'), existsSync(vocab) ? vocab : undefined)).model;
  }
  const { model } = await loadModel(dir);
  if (!(model instanceof ElmoBiLM)) throw new Error(`${dir}: not an ELMo biLM (config.json model_type must be 'elmo')`);
  return model;
}

function trainCommand() {
  return trainingCommand('train', ELMO_PRETRAIN)
    .description("Train ELMo's biLM (char CNN, forward and backward LSTM LMs) on a text corpus; held-out perplexity per direction at each evaluation.")
    .option('--corpus <path>', 'text file, folder or .gz (default: bundled 200k characters of Shakespeare)')
    .option('--held-out <path>', 'held-out text (default: the last 5% of the corpus sequences)')
    .addOption(splitOption())
    .addOption(layoutOption())
    .addOption(new Option('--config <name>', 'tiny: 512 cells, projection 64 (minutes on a CPU); small, original: the published sizes').choices(Object.keys(ELMO_CONFIGS) as ElmoConfigName[]).default('tiny' as ElmoConfigName))
    .option('--lstm-dim <n>', "override the configuration's LSTM cell size", positive)
    .option('--projection-dim <n>', "override its projection P (the representations are 2P wide)", positive)
    .option('--filter-scale <x>', "scale its char CNN's filter counts (each kept at 1 or more)", parse.positive)
    .option('--highway <n>', 'override its number of highway layers', parse.count)
    .option('--out <dir>', 'output directory: checkpoint (config.json, model.safetensors, vocab.txt), log.jsonl, loss.svg', 'runs/elmo')
    .option('--max-vocab <n>', "the softmax's words at most, <S> </S> <UNK> included (the char CNN reads every word)", positive, 20000)
    .option('--min-count <n>', 'words seen fewer times are <UNK> targets', positive, 1)
    .option('--max-tokens <n>', 'longer sequences are cut into windows of this many tokens (bilm-tf unrolls 20)', positive, 20)
    .option('--negative-samples <n>', 'sampled softmax with this many log-uniform candidates per step (0: the full softmax)', parse.count, 0)
    .option('--dropout <x>', 'dropout on the LSTM inputs and the softmax input', parse.unitInterval, 0.1)
    .option('--batch <n>', 'sequences per step', positive, 64)
    .option('--eval-sequences <n>', 'held-out sequences per evaluation (the final perplexity scores them all)', positive, 1000)
    .action(async (o) => {
      const quiet = Boolean(o.json);
      await useBackend(o.backend, quiet);
      manualSeed(o.seed);
      const corpus = o.corpus ?? asset('tiny-shakespeare-200k.txt');
      let train = await sequencesOf(corpus, o.split, o.layout, quiet);
      let held: string[][];
      if (o.heldOut) held = await sequencesOf(o.heldOut, o.split, o.layout, quiet);
      else {
        const cut = Math.floor(train.length * 0.95);
        if (cut === 0 || cut === train.length) throw new Error(`${corpus}: ${train.length} sequence(s) are too few to hold out 5%; give --held-out`);
        [train, held] = [train.slice(0, cut), train.slice(cut)];
      }
      const vocab = WordVocab.build(train, { maxSize: o.maxVocab, minCount: o.minCount, specials: ELMO_SPECIALS });
      const named = elmoConfig({}, 'elmo train', o.config);
      const config = elmoConfig({
        vocab_size: vocab.size, dropout: o.dropout, n_negative_samples: o.negativeSamples,
        char_cnn: {
          ...named.char_cnn, n_highway: o.highway ?? named.char_cnn.n_highway,
          filters: named.char_cnn.filters.map(([w, n]) => [w, Math.max(1, Math.round(n * (o.filterScale ?? 1)))]),
        },
        lstm: { ...named.lstm, dim: o.lstmDim ?? named.lstm.dim, projection_dim: o.projectionDim ?? named.lstm.projection_dim },
      }, 'elmo train', o.config);
      const trainCorpus = ElmoCorpus.encode(train, vocab, { maxTokens: o.maxTokens }), heldCorpus = ElmoCorpus.encode(held, vocab, { maxTokens: o.maxTokens });
      const model = new ElmoBiLM(config);
      if (!quiet) {
        reportEncoding(corpus, trainCorpus.report, config.char_cnn.max_characters_per_token);
        console.error(`${corpus}: ${formatNumber(trainCorpus.sequences.length)} training and ${formatNumber(heldCorpus.sequences.length)} held-out sequences ` +
          `(${formatNumber(trainCorpus.predictions)} and ${formatNumber(heldCorpus.predictions)} predictions a direction), vocabulary ${formatNumber(vocab.size)}; ` +
          `model ${formatNumber(publishedParameterCount(model))} parameters without the softmax, ${formatNumber(model.numParameters())} with it`);
      }
      const task = new ElmoPretrainTask(model, trainCorpus, heldCorpus, {
        batchSize: o.batch, evalSequences: o.evalSequences, saveExtras: (dir) => writeFile(join(dir, VOCAB_FILE), vocab.toText()),
      });
      const cfg = trainConfigFromOptions(o, ELMO_PRETRAIN, resolve(o.out));
      const result = await runTraining('elmo train', task, cfg, o,
        (p) => `loss ${p.record.loss?.toFixed(4)} | ${formatNumber(p.record.tokensPerSec ?? 0)} tok/s${p.eval ? ` | held-out ppl ${p.eval.perplexity!.toFixed(1)} (fwd ${p.eval.forward_perplexity!.toFixed(1)}, bwd ${p.eval.backward_perplexity!.toFixed(1)})` : ''}`);
      const final = await elmoPerplexity(model, heldCorpus);
      printSummary({
        steps: result.steps, train_loss: result.finalLoss, held_out_tokens: final.tokens, perplexity: final.perplexity,
        forward_perplexity: final.forward.perplexity, backward_perplexity: final.backward.perplexity,
        wall_seconds: result.wallSeconds, checkpoint: join(cfg.outDir!, 'checkpoint'), loss_curve: result.lossCurve,
      }, quiet);
    });
}

function perplexityCommand() {
  return new Command('perplexity')
    .description("Perplexity of a trained biLM on a text, forward and backward and bilm-tf's combined exp(mean of the two losses); words outside its vocabulary are <UNK> targets.")
    .requiredOption('--model <dir>', 'a checkpoint written by `pretrain elmo train`')
    .requiredOption('--input <path>', 'text file, folder or .gz')
    .addOption(splitOption())
    .addOption(layoutOption())
    .option('--max-tokens <n>', 'longer sequences are cut into windows of this many tokens', positive, 20)
    .option('--json', 'print {"tokens", "unknown", "forward", "backward", "loss", "perplexity"}')
    .action(async (o) => {
      const model = await loadBiLM(o.model);
      const vocab = await loadVocab(o.model, model);
      const corpus = ElmoCorpus.encode(await sequencesOf(o.input, o.split, o.layout, Boolean(o.json)), vocab, { maxTokens: o.maxTokens, maxChars: model.config.char_cnn.max_characters_per_token });
      const result = { ...(await elmoPerplexity(model, corpus)), unknown: corpus.unknownTargets };
      if (o.json) console.log(JSON.stringify(result));
      else {
        console.log(table([
          { direction: 'forward', tokens: result.tokens, loss: result.forward.loss, perplexity: result.forward.perplexity },
          { direction: 'backward', tokens: result.tokens, loss: result.backward.loss, perplexity: result.backward.perplexity },
          { direction: 'both (bilm-tf)', tokens: result.tokens, loss: result.loss, perplexity: result.perplexity },
        ]));
        console.log(`<UNK> targets: ${formatNumber(result.unknown)}`);
      }
    });
}

function embedCommand() {
  return new Command('embed')
    .description("ELMo representations of sentences (one a line), as AllenNLP's `elmo` command writes them, in a safetensors file: tensor \"i\" for line i, [3, n, 2P] (all) or [n, 2P] (top, average); metadata sentence_to_index maps each sentence to its key.")
    .requiredOption('--model <dir>', 'a checkpoint written by `pretrain elmo train`')
    .requiredOption('--input <path>', 'sentences, one a line (empty lines are skipped and counted)')
    .requiredOption('--out <file>', 'the .safetensors file to write')
    .addOption(new Option('--layers <which>', 'all: every layer; top: the last LSTM layer; average: the mean of the layers').choices(['all', 'top', 'average'] as const).default('all' as const))
    .addOption(splitOption().default('whitespace' as const))
    .option('--batch <n>', 'sentences per batch', positive, 32)
    .addOption(new Option('--backend <name>', 'compute backend').choices(['cpu', 'cpu-native', 'cpu-wasm', 'cpu-reference', 'webgpu'] as const).default('cpu' as const))
    .option('--json', 'print {"sentences", "tokens", "layers", "out"}')
    .action(async (o) => {
      const quiet = Boolean(o.json);
      await useBackend(o.backend, quiet);
      const model = await loadBiLM(o.model);
      const sentences = await sequencesOf(o.input, o.split, 'lines', quiet);
      const bar = quiet ? null : progressBar('embed', sentences.length, { unit: 'sentences' });
      const tensors: Record<string, SafetensorsTensor> = {};
      const index: Record<string, number> = {};
      for (let from = 0; from < sentences.length; from += o.batch) {
        const group = sentences.slice(from, from + o.batch);
        const out = await elmoEmbed(model, group, { layers: o.layers, batchSize: o.batch });
        out.forEach((e, i) => {
          tensors[String(from + i)] = { dtype: 'F32', shape: e.shape, data: e.data };
          index[group[i]!.join(' ')] ??= from + i;
        });
        bar?.update(from + group.length);
      }
      bar?.stop();
      await writeSafetensors(o.out, tensors, { format: 'pt', layers: o.layers, sentence_to_index: JSON.stringify(index) });
      const summary = { sentences: sentences.length, tokens: sentences.reduce((s, x) => s + x.length, 0), layers: o.layers, out: resolve(o.out) };
      if (quiet) console.log(JSON.stringify(summary));
      else console.log(table([summary]));
    });
}

function importCommand() {
  return new Command('import')
    .description("Convert a released ELMo (bilm-tf's or AllenNLP's options.json + weights.hdf5) into a model directory the other commands, finetune and probe read.")
    .requiredOption('--options <file>', 'options.json')
    .requiredOption('--weights <file>', 'weights.hdf5')
    .option('--vocab <file>', "bilm-tf's vocabulary file, for weights that include the softmax")
    .requiredOption('--out <dir>', 'the model directory to write (config.json, model.safetensors, vocab.txt)')
    .option('--json', 'print {"out", "parameters", "softmax"}')
    .action(async (o) => {
      const { model, vocab, hasSoftmax } = await importBilmTf(o.options, o.weights, o.vocab);
      await savePretrained(model, o.out);
      await writeFile(join(o.out, VOCAB_FILE), vocab.toText());
      const summary = { out: resolve(o.out), parameters: publishedParameterCount(model), softmax: hasSoftmax };
      if (o.json) console.log(JSON.stringify(summary));
      else {
        console.log(table([summary]));
        if (!hasSoftmax) console.error(`${o.weights}: no softmax (bilm-tf's dumps leave it out): representations only, no perplexity`);
      }
    });
}

/** Registers `pretrain elmo`. */
export const registerElmo = (program: Command): void => {
  program.addCommand(new Command('elmo').description("ELMo: a character-CNN biLM whose layers become contextual word features")
    .addCommand(trainCommand()).addCommand(perplexityCommand()).addCommand(embedCommand()).addCommand(importCommand()));
};
