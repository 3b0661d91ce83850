// `pretrain nnlm`: train Bengio's NNLM on a corpus, measure its perplexity, and the Kneser-Ney baseline's on the same
// vocabulary and tokens.
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { KneserNey, perplexityOf } from '../models/kneser-ney.js';
import { NNLM, nnlmConfig } from '../models/nnlm.js';
import { NNLM_PRETRAIN, NNLMPretrainTask, nnlmLogProbabilities } from '../tasks/nnlm-pretrain.js';
import { manualSeed } from '../tensor/random.js';
import { WordVocab, ngramWindows, readParagraphs, type WordSplit } from '../text/word-lm.js';
import { asset } from './assets.js';
import { loadModel } from './load.js';
import { printSummary, runTraining, trainConfigFromOptions, trainingCommand, useBackend } from './train-options.js';
import { formatNumber, parse, table, warnInvalidUtf8 } from './ui.js';

const VOCAB_FILE = 'vocab.txt';
const positive = parse.positiveInt;
const splitOption = () => new Option('--split <how>', "words: lowercased letters and digits; whitespace: pre-tokenised text such as wikitext").choices(['words', 'whitespace'] as const).default('words' as const);

/** Paragraphs of a corpus as words, with invalid UTF-8 reported; an empty corpus is an error naming it. */
async function paragraphsOf(path: string, split: WordSplit): Promise<string[][]> {
  const { paragraphs, stats } = await readParagraphs(path, split);
  warnInvalidUtf8(stats);
  if (paragraphs.length === 0) throw new Error(`${path}: no words in the corpus`);
  return paragraphs;
}

/** The vocabulary saved beside a model. */
async function loadVocab(dir: string): Promise<WordVocab> {
  const path = join(dir, VOCAB_FILE);
  return WordVocab.fromText(await readFile(path, 'utf8').catch(() => { throw new Error(`${dir}: no ${VOCAB_FILE} beside the model`); }), path);
}

function trainCommand() {
  return trainingCommand('train', NNLM_PRETRAIN)
    .description("Train Bengio's NNLM on a text corpus: words by frequency (rarer ones <unk>), each paragraph a sequence; held-out perplexity at each evaluation.")
    .option('--corpus <path>', 'text file, folder or .gz (default: bundled 200k characters of Shakespeare)')
    .option('--held-out <path>', 'held-out text (default: the last 10% of the corpus paragraphs)')
    .addOption(splitOption())
    .option('--out <dir>', 'output directory: checkpoint (config.json, model.safetensors, vocab.txt), log.jsonl, loss.svg', 'runs/nnlm')
    .option('--order <n>', 'n: condition on the n - 1 previous words', positive, 5)
    .option('--embedding-size <n>', 'm: the word vectors', positive, 64)
    .option('--hidden-size <n>', 'h: the tanh hidden layer', positive, 256)
    .option('--direct', 'direct connections from the word vectors to the output (the paper\'s W)')
    .option('--max-vocab <n>', 'at most this many words, <unk>, <s> and </s> included', positive, 10000)
    .option('--min-count <n>', 'words seen fewer times are <unk>', positive, 1)
    .option('--dropout <x>', 'dropout on the word vectors and the hidden layer', parse.unitInterval, 0)
    .option('--batch <n>', 'windows per step', positive, 256)
    .option('--eval-windows <n>', 'held-out windows per evaluation (the final perplexity scores them all)', positive, 20000)
    .action(async (o) => {
      if (o.order < 2) throw new Error('--order must be at least 2');
      await useBackend(o.backend, Boolean(o.json));
      manualSeed(o.seed);
      const corpus = o.corpus ?? asset('tiny-shakespeare-200k.txt');
      let train = await paragraphsOf(corpus, o.split);
      let held: string[][];
      if (o.heldOut) held = await paragraphsOf(o.heldOut, o.split);
      else {
        const cut = Math.floor(train.length * 0.9);
        if (cut === 0 || cut === train.length) throw new Error(`${corpus}: ${train.length} paragraph(s) are too few to hold out 10%; give --held-out`);
        [train, held] = [train.slice(0, cut), train.slice(cut)];
      }
      const vocab = WordVocab.build(train, { maxSize: o.maxVocab, minCount: o.minCount });
      const trainWindows = ngramWindows(train, vocab, o.order), heldWindows = ngramWindows(held, vocab, o.order);
      const model = new NNLM(nnlmConfig({ vocab_size: vocab.size, order: o.order, embedding_size: o.embeddingSize, hidden_size: o.hiddenSize, direct_connections: Boolean(o.direct), dropout: o.dropout }, 'nnlm train'));
      if (!o.json) {
        console.error(`${corpus}: ${formatNumber(trainWindows.count)} training and ${formatNumber(heldWindows.count)} held-out tokens (</s> included; ${formatNumber(heldWindows.unknown)} held-out <unk>), vocabulary ${formatNumber(vocab.size)}; model ${formatNumber(model.numParameters())} parameters`);
      }
      const task = new NNLMPretrainTask(model, trainWindows, heldWindows, {
        batchSize: o.batch, evalWindows: o.evalWindows, saveExtras: (dir) => writeFile(join(dir, VOCAB_FILE), vocab.toText()),
      });
      const cfg = trainConfigFromOptions(o, NNLM_PRETRAIN, resolve(o.out));
      const result = await runTraining('nnlm train', task, cfg, o,
        (p) => `loss ${p.record.loss?.toFixed(4)} | ${formatNumber(p.record.tokensPerSec ?? 0)} tok/s${p.eval ? ` | held-out ppl ${p.eval.perplexity!.toFixed(1)}` : ''}`);
      const final = perplexityOf(await nnlmLogProbabilities(model, heldWindows));
      printSummary({
        steps: result.steps, train_loss: result.finalLoss, held_out_tokens: final.tokens, held_out_loss: final.loss, perplexity: final.perplexity,
        wall_seconds: result.wallSeconds, checkpoint: join(cfg.outDir!, 'checkpoint'), loss_curve: result.lossCurve,
      }, Boolean(o.json));
    });
}

function perplexityCommand() {
  return new Command('perplexity')
    .description("Perplexity of a trained NNLM on a text, each paragraph a sequence ending in </s>, words outside the model's vocabulary counted as <unk>.")
    .requiredOption('--model <dir>', 'a checkpoint written by `pretrain nnlm train`')
    .requiredOption('--input <path>', 'text file, folder or .gz')
    .addOption(splitOption())
    .option('--json', 'print {"tokens", "unknown", "loss", "perplexity"}')
    .action(async (o) => {
      const { model } = await loadModel(o.model);
      if (!(model instanceof NNLM)) throw new Error(`${o.model}: not an NNLM`);
      const vocab = await loadVocab(o.model);
      if (vocab.size !== model.config.vocab_size) throw new Error(`${o.model}: ${VOCAB_FILE} has ${vocab.size} words but the model ${model.config.vocab_size}`);
      const windows = ngramWindows(await paragraphsOf(o.input, o.split), vocab, model.config.order);
      const result = { ...perplexityOf(await nnlmLogProbabilities(model, windows)), unknown: windows.unknown };
      if (o.json) console.log(JSON.stringify(result));
      else console.log(table([{ tokens: result.tokens, '<unk>': result.unknown, loss: result.loss, perplexity: result.perplexity }]));
    });
}

function kneserNeyCommand() {
  return new Command('kneser-ney')
    .description("The count baseline: an interpolated Kneser-Ney n-gram LM trained on a corpus, its perplexity on a text; with --vocab-from, on an NNLM's vocabulary, so the two compare token for token.")
    .requiredOption('--corpus <path>', 'training text')
    .requiredOption('--input <path>', 'held-out text')
    .addOption(splitOption())
    .option('--order <n>', 'n-gram order', positive, 3)
    .option('--discount <d>', "'modified' (Chen & Goodman, as KenLM) or a fixed discount in (0, 1) (NLTK's KneserNeyInterpolated)", 'modified')
    .option('--vocab-from <dir>', "an NNLM checkpoint whose vocab.txt to use")
    .option('--max-vocab <n>', 'without --vocab-from: at most this many words', positive, 10000)
    .option('--min-count <n>', 'without --vocab-from: words seen fewer times are <unk>', positive, 1)
    .option('--json', 'print {"order", "tokens", "unknown", "loss", "perplexity", "ngrams"}')
    .action(async (o) => {
      const discount = o.discount === 'modified' ? 'modified' as const : Number(o.discount);
      const train = await paragraphsOf(o.corpus, o.split);
      const vocab = o.vocabFrom ? await loadVocab(o.vocabFrom) : WordVocab.build(train, { maxSize: o.maxVocab, minCount: o.minCount });
      const lm = KneserNey.train(ngramWindows(train, vocab, o.order), vocab, { order: o.order, discount });
      const held = ngramWindows(await paragraphsOf(o.input, o.split), vocab, o.order);
      const result = { order: o.order, ...perplexityOf(lm.logProbabilities(held)), unknown: held.unknown, ngrams: lm.ngramCounts };
      if (o.json) console.log(JSON.stringify(result));
      else console.log(table([{ order: result.order, tokens: result.tokens, '<unk>': result.unknown, loss: result.loss, perplexity: result.perplexity, 'n-grams': result.ngrams.join(' / ') }]));
    });
}

/** Registers `pretrain nnlm`. */
export const registerNnlm = (program: Command): void => {
  program.addCommand(new Command('nnlm').description("Bengio's neural probabilistic language model, and the Kneser-Ney n-gram baseline")
    .addCommand(trainCommand()).addCommand(perplexityCommand()).addCommand(kneserNeyCommand()));
};
