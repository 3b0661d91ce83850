// `pretrain cove`: train CoVe's attentional translation model English→German (Multi30k by default), translate with
// it (and score BLEU with sacrebleu's semantics, ROUGE with rouge-score's), and write its [GloVe; CoVe] features of
// sentences as safetensors.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { readJsonFile } from '../io/hf.js';
import { writeSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import { CoveModel, coveConfig } from '../models/cove.js';
import { modelFromConfig } from '../models/pretrained.js';
import { WordVectors } from '../models/vectors.js';
import { BLEU, formatBleu, type BleuTokenizerName } from '../tasks/bleu.js';
import { corpusRouge, formatRouge } from '../tasks/rouge.js';
import {
  COVE_TRAIN, CoveTrainTask, gloveVocabulary, loadCove, readCoveVocabularies, readParallel, saveCoveVocabularies, sourceOovRate, sourceTokens,
  trainSourceGlove, translateSentences, type CoveVocabularies, type ParallelText,
} from '../tasks/cove-train.js';
import { findCheckpoint } from '../tasks/checkpoint.js';
import { CoveEncoder, coveEmbed } from '../tasks/transfer/cove-encoder.js';
import { manualSeed } from '../tensor/random.js';
import { Corpus } from '../text/corpus.js';
import { WordVocab } from '../text/word-lm.js';
import { packageRoot } from './assets.js';
import { printSummary, runTraining, trainConfigFromOptions, trainingCommand, useBackend } from './train-options.js';
import { formatNumber, parse, progressBar, table, warnInvalidUtf8 } from './ui.js';

const positive = parse.positiveInt;
const backendOption = () => new Option('--backend <name>', 'compute backend').choices(['cpu', 'cpu-native', 'cpu-wasm', 'cpu-reference', 'webgpu'] as const).default('cpu' as const);

/** Multi30k as ../shared/data holds it beside the package (its licence is unstated, so it is not bundled). */
function defaultData(): string {
  return join(packageRoot(), '..', 'shared', 'data', 'multi30k-en-de');
}

/** `<dir>/<split>.<lang>`, or the same with .gz. */
function splitFile(dir: string, split: string, lang: string): string {
  for (const name of [`${split}.${lang}`, `${split}.${lang}.gz`]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`${dir}: no ${split}.${lang} or ${split}.${lang}.gz` + (dir === defaultData() ? ' (pretrain cove train reads Multi30k from ../shared/data/multi30k-en-de by default; give --data DIR with train.en, train.de, val.en, val.de)' : ''));
}

async function readSplit(dir: string, split: string, src: string, tgt: string, quiet: boolean): Promise<ParallelText> {
  const text = await readParallel(splitFile(dir, split, src), splitFile(dir, split, tgt));
  if (!quiet) for (const s of text.stats) warnInvalidUtf8(s);
  if (!quiet && text.skippedEmpty > 0) console.error(`${dir}: ${split}: ${formatNumber(text.skippedEmpty)} line pair(s) with an empty side skipped`);
  if (text.pairs.length === 0) throw new Error(`${dir}: the ${split} split has no sentence pairs`);
  return text;
}

/** Lines of a text file (.gz allowed), with invalid UTF-8 reported. */
async function readLines(path: string, quiet: boolean): Promise<string[]> {
  const corpus = await Corpus.open(path, { layout: 'raw' });
  const lines: string[] = [];
  for await (const line of corpus.lines()) lines.push(line);
  if (!quiet) warnInvalidUtf8(corpus.stats);
  return lines;
}

function trainCommand() {
  return trainingCommand('train', COVE_TRAIN)
    .description("Train CoVe's translation model (McCann et al. 2017): fixed GloVe into a 2-layer biLSTM (the MT-LSTM), an attentional 2-layer LSTM decoder; validation loss and greedy BLEU (sacrebleu's semantics) at each evaluation, the best BLEU kept in --out/best.")
    .option('--data <dir>', 'a folder with train.SRC, train.TGT, val.SRC, val.TGT (.gz allowed), line i translating line i (default: ../shared/data/multi30k-en-de)')
    .option('--src-lang <code>', 'the source files\' suffix', 'en')
    .option('--tgt-lang <code>', 'the target files\' suffix', 'de')
    .option('--vectors <file>', 'GloVe vectors (.bin, .txt, .vec, .safetensors; pretrain glove writes them); default: GloVe trained here on the training source side first')
    .option('--glove-dim <n>', 'without --vectors: the size of the GloVe trained first', positive, 100)
    .option('--glove-epochs <n>', 'without --vectors: its epochs', positive, 15)
    .option('--glove-min-count <n>', 'without --vectors: source words seen fewer times get no vector (<unk>)', positive, 2)
    .option('--max-pairs <n>', 'train on the first N pairs only', positive)
    .option('--out <dir>', 'output directory: checkpoint and best (config.json, model.safetensors, source_vocab.txt, target_vocab.txt), log.jsonl, loss.svg', 'runs/cove')
    .option('--hidden-size <n>', 'MT-LSTM hidden size per direction (the decoder\'s is twice this; the paper: 300)', positive, 128)
    .option('--layers <n>', 'layers of the MT-LSTM and of the decoder', positive, 2)
    .option('--target-embedding-size <n>', 'German word embeddings', positive, 128)
    .option('--no-input-feeding', 'a decoder that runs all steps at once, without h~(t-1) in its input (faster, not the paper\'s)')
    .option('--dropout <x>', 'dropout on target embeddings, between LSTM layers and on h~', parse.unitInterval, 0.2)
    .option('--max-vocab <n>', 'target vocabulary: at most this many words, <unk>, <s> and </s> included', positive, 10000)
    .option('--min-count <n>', 'target words seen fewer times are <unk>', positive, 3)
    .option('--batch <n>', 'sentence pairs per step', positive, 64)
    .option('--eval-pairs <n>', 'validation pairs scored and translated at each evaluation (the first N)', positive, 1014)
    .action(async (o) => {
      const quiet = Boolean(o.json);
      await useBackend(o.backend, quiet);
      manualSeed(o.seed);
      const data = o.data ?? defaultData();
      const trainPairs = (await readSplit(data, 'train', o.srcLang, o.tgtLang, quiet)).pairs.slice(0, o.maxPairs);
      const val = (await readSplit(data, 'val', o.srcLang, o.tgtLang, quiet)).pairs;
      const out = resolve(o.out);
      let model: CoveModel;
      let vocabs: CoveVocabularies;
      const resumeFrom = o.resume ? await findCheckpoint(join(out, 'checkpoint')) : null;
      if (resumeFrom) {
        // the vocabularies are the checkpoint's, and so is the GloVe table (loaded with the weights)
        const where = join(resumeFrom, 'config.json');
        const built = modelFromConfig(await readJsonFile(where), {}, where);
        if (!(built instanceof CoveModel)) throw new Error(`${where}: not a CoVe model (${built.constructor.name})`);
        model = built;
        vocabs = await readCoveVocabularies(resumeFrom, model.config);
      } else {
        let vectors: WordVectors;
        if (o.vectors) vectors = await WordVectors.load(o.vectors);
        else {
          const bar = progressBar('glove', o.gloveEpochs, { unit: 'epochs', quiet });
          vectors = await trainSourceGlove(trainPairs, { dim: o.gloveDim, epochs: o.gloveEpochs, minCount: o.gloveMinCount, threads: availableParallelism() },
            (epoch, loss) => bar.update(epoch + 1, `| loss ${loss.toFixed(5)}`));
          bar.stop();
        }
        const glove = gloveVocabulary(vectors);
        vocabs = { source: glove.vocab, target: WordVocab.build(trainPairs.map((p) => p.target), { maxSize: o.maxVocab, minCount: o.minCount }) };
        model = new CoveModel(coveConfig({
          source_vocab_size: glove.vocab.size, embedding_size: vectors.dim, hidden_size: o.hiddenSize, num_layers: o.layers,
          target_vocab_size: vocabs.target.size, target_embedding_size: o.targetEmbeddingSize, dropout: o.dropout, input_feeding: o.inputFeeding,
        }, 'cove train'));
        model.setGlove(glove.table);
      }
      const trainable = model.parameters().filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0);
      if (!quiet) {
        console.error(`${data}: ${formatNumber(trainPairs.length)} training and ${formatNumber(val.length)} validation pairs; source: ${formatNumber(vocabs.source.size)} GloVe words ` +
          `(${(100 * sourceOovRate(vocabs.source, val)).toFixed(1)}% of validation tokens without a vector), target: ${formatNumber(vocabs.target.size)} words; ` +
          `model ${formatNumber(trainable)} trainable parameters (+ ${formatNumber(model.encoder.embeddings.weight.size)} fixed GloVe)`);
      }
      const task = new CoveTrainTask(model, trainPairs, val, vocabs, { batchSize: o.batch, evalPairs: o.evalPairs, seed: o.seed, saveExtras: (dir) => saveCoveVocabularies(dir, vocabs) });
      const cfg = trainConfigFromOptions(o, COVE_TRAIN, out);
      const result = await runTraining('cove train', task, cfg, o,
        (p) => `loss ${p.record.loss?.toFixed(4)} | ${formatNumber(p.record.tokensPerSec ?? 0)} tok/s${p.eval ? ` | val ppl ${p.eval.perplexity!.toFixed(1)} BLEU ${p.eval.bleu!.toFixed(2)}` : ''}`,
        { best: { metric: 'bleu', mode: 'max' } });
      const bleu = task.lastBleu!;
      if (!quiet) {
        console.log(formatBleu(bleu));
        const samples = val.slice(0, 3);
        const hyps = await translateSentences(model, vocabs, samples.map((p) => p.source.join(' ')));
        console.log(table(samples.map((p, i) => ({ source: p.source.join(' '), translation: hyps[i], reference: p.reference }))));
      }
      printSummary({
        steps: result.steps, train_loss: result.finalLoss, val_loss: result.eval.val_loss, perplexity: result.eval.perplexity, bleu: bleu.score,
        ...(quiet ? { bleu_detail: bleu } : { signature: bleu.signature }),
        best_bleu: result.best?.value, best_step: result.best?.step, wall_seconds: result.wallSeconds,
        checkpoint: join(out, 'checkpoint'), best: result.best?.dir, loss_curve: result.lossCurve,
      }, quiet);
    });
}

function translateCommand() {
  return new Command('translate')
    .description('Translate sentences (one a line) with a trained CoVe model, greedily; with --bleu, score them against references (sacrebleu\'s corpus BLEU; and rouge-score\'s ROUGE-1, ROUGE-2 and ROUGE-L, the mean over the non-empty input lines).')
    .requiredOption('--model <dir>', 'a model directory pretrain cove train wrote (its best or checkpoint)')
    .requiredOption('--input <file>', 'source sentences, one a line (.gz allowed); an empty line translates to an empty line')
    .option('--out <file>', 'write the translations here (default: standard output)')
    .option('--bleu <refs...>', 'reference files, one translation a line each, parallel to --input')
    .addOption(new Option('--tokenize <name>', 'BLEU tokenizer').choices(['13a', 'intl', 'zh', 'char', 'none'] as const).default('13a' as const))
    .option('--lowercase', 'case-insensitive BLEU')
    .option('--batch <n>', 'sentences per batch', positive, 64)
    .option('--max-length <n>', 'most target tokens per sentence (default: twice the source\'s, plus 10)', positive)
    .addOption(backendOption())
    .option('--json', 'print {"sentences", "empty_lines", "out", "bleu", "rouge"} (and "translations" without --out)')
    .action(async (o) => {
      const quiet = Boolean(o.json);
      await useBackend(o.backend, quiet);
      const { model, vocabs } = await loadCove(o.model);
      const lines = await readLines(o.input, quiet);
      const refs = await Promise.all((o.bleu ?? []).map(async (path) => {
        const r = await readLines(path, quiet);
        if (r.length !== lines.length) throw new Error(`${path} has ${r.length} lines but ${o.input} has ${lines.length}; each reference line translates the input line of the same number`);
        return r;
      }));
      const kept = lines.map((l, i) => [l, i] as const).filter(([l]) => sourceTokens(l).length > 0);
      const bar = progressBar('translate', kept.length, { unit: 'sentences', quiet });
      const hyps = await translateSentences(model, vocabs, kept.map(([l]) => l), { batchSize: o.batch, maxLength: o.maxLength, onProgress: (n) => bar.update(n) });
      bar.stop();
      const translations = new Array<string>(lines.length).fill('');
      kept.forEach(([, i], k) => { translations[i] = hyps[k]!; });
      if (o.out) await writeFile(o.out, translations.map((t) => `${t}\n`).join(''));
      else if (!quiet) process.stdout.write(translations.map((t) => `${t}\n`).join(''));
      const bleu = refs.length ? new BLEU({ tokenize: o.tokenize as BleuTokenizerName, lowercase: Boolean(o.lowercase) }).corpusScore(translations, refs) : undefined;
      // ROUGE averages over sentences, so the empty input lines (empty translations) are left out of it
      const rouge = refs.length && kept.length ? corpusRouge(kept.map(([, i]) => translations[i]!), refs.map((r) => kept.map(([, i]) => r[i]!)), { rougeTypes: ['rouge1', 'rouge2', 'rougeL'] }) : undefined;
      if (quiet) console.log(JSON.stringify({ sentences: lines.length, empty_lines: lines.length - kept.length, ...(o.out ? { out: resolve(o.out) } : { translations }), ...(bleu ? { bleu } : {}), ...(rouge ? { rouge } : {}) }));
      else if (bleu) console.error([formatBleu(bleu), ...(rouge ? [formatRouge(rouge)] : [])].join('\n'));
    });
}

function embedCommand() {
  return new Command('embed')
    .description("CoVe features of sentences (one a line), AllenNLP `elmo` command's layout in a safetensors file: tensor \"i\" for the i-th sentence, [3, n, d + 2h] (all: [GloVe; 0], [GloVe; MT-LSTM 1], [GloVe; MT-LSTM 2]) or [n, d + 2h] (top: [GloVe; CoVe], the paper's; average); metadata sentence_to_index maps each sentence to its key.")
    .requiredOption('--model <dir>', 'a model directory pretrain cove train wrote')
    .requiredOption('--input <file>', 'sentences, one a line (empty lines are skipped and counted)')
    .requiredOption('--out <file>', 'the .safetensors file to write')
    .addOption(new Option('--layers <which>', 'all: the three states; top: [GloVe; CoVe]; average: their mean').choices(['all', 'top', 'average'] as const).default('all' as const))
    .addOption(new Option('--split <how>', 'cove: words and punctuation, as the translation model read its source; whitespace: pre-tokenised text').choices(['cove', 'whitespace'] as const).default('cove' as const))
    .option('--batch <n>', 'sentences per batch', positive, 32)
    .addOption(backendOption())
    .option('--json', 'print {"sentences", "empty_lines", "tokens", "layers", "out"}')
    .action(async (o) => {
      const quiet = Boolean(o.json);
      await useBackend(o.backend, quiet);
      const { model, vocabs } = await loadCove(o.model);
      const encoder = new CoveEncoder(model, vocabs.source);
      const lines = await readLines(o.input, quiet);
      const sentences = lines.map((l) => (o.split === 'cove' ? sourceTokens(l) : l.split(/\s+/).filter(Boolean))).filter((s) => s.length > 0);
      const empty = lines.length - sentences.length;
      if (!quiet && empty > 0) console.error(`${o.input}: ${formatNumber(empty)} empty line(s) skipped`);
      const bar = progressBar('embed', sentences.length, { unit: 'sentences', quiet });
      const tensors: Record<string, SafetensorsTensor> = {};
      const index: Record<string, number> = {};
      for (let from = 0; from < sentences.length; from += o.batch) {
        const group = sentences.slice(from, from + o.batch);
        (await coveEmbed(encoder, group, { layers: o.layers, batchSize: o.batch })).forEach((e, i) => {
          tensors[String(from + i)] = { dtype: 'F32', shape: e.shape, data: e.data };
          index[group[i]!.join(' ')] ??= from + i;
        });
        bar.update(from + group.length);
      }
      bar.stop();
      await writeSafetensors(o.out, tensors, { format: 'pt', layers: o.layers, sentence_to_index: JSON.stringify(index) });
      const summary = { sentences: sentences.length, empty_lines: empty, tokens: sentences.reduce((s, x) => s + x.length, 0), layers: o.layers, out: resolve(o.out) };
      if (quiet) console.log(JSON.stringify(summary));
      else console.log(table([summary]));
    });
}

/** Registers `pretrain cove`. */
export const registerCove = (program: Command): void => {
  program.addCommand(new Command('cove').description('CoVe: the encoder of an attentional English-German translation model, as contextual word features')
    .addCommand(trainCommand()).addCommand(translateCommand()).addCommand(embedCommand()));
};
