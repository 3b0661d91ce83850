// `pretrain seq2seq`: train an encoder-decoder (each side BERT or GPT-2, warm-started from a model directory or from
// scratch) or GPT as a conditional generator on parallel text (Multi30k English→German by default), translate with
// it (greedy, beam search or sampling), and evaluate translations by BLEU, chrF and chrF++ with sacrebleu's semantics
// and by ROUGE-1, ROUGE-2 and ROUGE-L with rouge-score's.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { formatBleu } from '../tasks/bleu.js';
import { formatChrf } from '../tasks/chrf.js';
import { formatRouge } from '../tasks/rouge.js';
import { findCheckpoint } from '../tasks/checkpoint.js';
import type { Seq2SeqGenerateOptions } from '../tasks/seq2seq-generate.js';
import { SEQ2SEQ_TRAIN, Seq2SeqTrainTask, scoreTranslations, type TranslationScores } from '../tasks/seq2seq-train.js';
import { Seq2Seq, buildSeq2Seq, readParallelCorpus, readTextLines, type BuildReport, type ParallelCorpus } from '../tasks/seq2seq.js';
import { EncoderDecoderModel } from '../models/encoder-decoder.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { packageRoot } from './assets.js';
import { printSummary, runTraining, trainConfigFromOptions, trainingCommand, useBackend } from './train-options.js';
import { formatNumber, parse, progressBar, table, warnInvalidUtf8 } from './ui.js';

const positive = parse.positiveInt;
const BACKENDS = ['cpu', 'cpu-native', 'cpu-wasm', 'cpu-reference', 'webgpu'] as const;

/** Multi30k as ../shared/data holds it beside the package (its licence is unstated, so it is not bundled). */
function defaultData(): string {
  return join(packageRoot(), '..', 'shared', 'data', 'multi30k-en-de');
}

/** `<dir>/<split>.<lang>`, or the same with .gz. */
function splitFile(dir: string, split: string, lang: string): string {
  for (const name of [`${split}.${lang}`, `${split}.${lang}.gz`]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`${dir}: no ${split}.${lang} or ${split}.${lang}.gz` + (dir === defaultData() ? ' (pretrain seq2seq train reads Multi30k from ../shared/data/multi30k-en-de by default; give --data DIR with train.SRC, train.TGT, val.SRC, val.TGT)' : ''));
}

/** Reads a split, saying on stderr how many empty pairs were skipped and how much invalid UTF-8 was replaced. */
async function readSplit(dir: string, split: string, src: string, tgt: string, quiet: boolean): Promise<ParallelCorpus> {
  const corpus = await readParallelCorpus(splitFile(dir, split, src), splitFile(dir, split, tgt));
  if (!quiet) for (const s of corpus.stats) warnInvalidUtf8(s);
  if (!quiet && corpus.skippedEmpty > 0) console.error(`${dir}: ${split}: ${formatNumber(corpus.skippedEmpty)} line pair(s) with an empty side skipped`);
  if (corpus.pairs.length === 0) throw new Error(`${dir}: the ${split} split has no sentence pairs`);
  return corpus;
}

/**
 * Says once what warm starting loaded and what starts new (the decoder's cross-attention, at least, and
 * enc_to_dec_proj between sides of different widths).
 */
function describeBuild(report: BuildReport, spec: { encoder?: string; decoder?: string }, model: Seq2Seq['model']): void {
  const ws = report.warmStart;
  if (report.trainedTokenizers.length) console.error(`tokenizers trained here (WordPiece, cased): ${report.trainedTokenizers.join(', ')}`);
  if (!ws) return;
  if ('architecture' in ws) {
    if (ws.newlyInitialized.length) console.error(`${spec.decoder}: ${ws.newlyInitialized.length} parameters new (train them)`);
    return;
  }
  for (const [side, r] of [['encoder', ws.encoder], ['decoder', ws.decoder]] as const) {
    if (r?.unexpected.length) console.error(`${side} (${spec[side]}): ${r.unexpected.length} checkpoint tensors unused (its ${r.unexpected.some((k) => k.startsWith('cls.')) ? 'pretraining heads' : 'head'})`);
  }
  const cross = ws.newlyInitialized.filter((n) => /crossattention|ln_cross_attn/.test(n));
  const layers = new Set(cross.map((n) => n.match(/\.(?:layer|h)\.(\d+)\./)?.[1]));
  if (ws.decoder && cross.length) console.error(`decoder (${spec.decoder}): its checkpoint has no cross-attention; ${cross.length} cross-attention parameters in ${layers.size} layers initialised new (train them)`);
  if ((ws.encoder || ws.decoder) && model instanceof EncoderDecoderModel && model.enc_to_dec_proj && ws.newlyInitialized.includes('enc_to_dec_proj.weight')) {
    const [d, e] = model.enc_to_dec_proj.weight.shape;
    console.error(`enc_to_dec_proj (the encoder's ${e}-wide states to the decoder's width, ${d}): initialised new (train it)`);
  }
  const other = ws.newlyInitialized.filter((n) => !cross.includes(n) && ((n.startsWith('encoder.') && ws.encoder) || (n.startsWith('decoder.') && ws.decoder)));
  if (other.length) console.error(`also new: ${other.slice(0, 6).join(', ')}${other.length > 6 ? `, ... (${other.length} in all)` : ''}`);
}

/** The scores' table rows and sacrebleu score lines (ROUGE's mean F times 100, as BLEU and chrF are percentages). */
function scoreRows(scores: TranslationScores, decoding: string) {
  const rouge = scores.rouge.mean;
  return [
    { metric: 'BLEU', score: Number(scores.bleu.score.toFixed(2)), decoding, signature: scores.bleu.signature },
    { metric: scores.chrf.name, score: Number(scores.chrf.score.toFixed(2)), decoding, signature: scores.chrf.signature },
    { metric: scores.chrfpp.name, score: Number(scores.chrfpp.score.toFixed(2)), decoding, signature: scores.chrfpp.signature },
    ...([['ROUGE-1', rouge.rouge1], ['ROUGE-2', rouge.rouge2], ['ROUGE-L', rouge.rougeL]] as const).map(([metric, s]) => ({ metric, score: Number((100 * s!.fmeasure).toFixed(2)), decoding })),
  ];
}

/** The table, sacrebleu's score lines and ROUGE's line, and the samples. */
function printScores(scores: TranslationScores, decoding: string, samples: { source: string; translation: string; reference: string }[]): void {
  console.log(table(scoreRows(scores, decoding), ['metric', 'score', 'decoding']));
  console.log([formatBleu(scores.bleu), formatChrf(scores.chrf), formatChrf(scores.chrfpp), formatRouge(scores.rouge)].join('\n'));
  if (samples.length) console.log(table(samples));
}

/** A command with the decoding options (built here, not added to a caller's, as trainingCommand explains). */
function decodingCommand(name: string) {
  return new Command(name)
    .requiredOption('--model <dir>', 'a model directory pretrain seq2seq train wrote (its best or checkpoint)')
    .option('--beams <n>', 'beam search with n beams (1: greedy)', positive, 4)
    .option('--max-new-tokens <n>', 'most target tokens per sentence, the end token included', positive, 64)
    .option('--length-penalty <x>', 'beam scores are sum log p / length ** x', parse.number, 1)
    .addOption(new Option('--early-stopping <when>', "when a sentence's beam search ends (transformers' early_stopping)").choices(['true', 'false', 'never'] as const).default('false' as const))
    .option('--block-repeat-ngram <n>', "no n-gram of this size twice in a translation (transformers' no_repeat_ngram_size; 0: off)", parse.count, 0)
    .option('--sample', 'sample instead of searching (with --beams 1)')
    .option('--temperature <x>', 'sampling temperature (implies --sample)', parse.positive)
    .option('--top-k <n>', 'sample among the k most likely tokens (implies --sample)', positive)
    .option('--top-p <x>', 'sample from the smallest set with this much probability (implies --sample)', parse.probability)
    .option('--seed <n>', 'random seed for sampling', parse.count, 0)
    .option('--batch <n>', 'sentences decoded together', positive, 32)
    .option('--truncate', "cut sources longer than the encoder's positions (counted) instead of stopping at the first")
    .addOption(new Option('--backend <name>', 'compute backend').choices(BACKENDS).default('cpu' as const));
}

type DecodingValues = ReturnType<ReturnType<typeof decodingCommand>['opts']>;

function generateOptions(o: DecodingValues, onProgress?: (n: number) => void): Seq2SeqGenerateOptions {
  const sample = Boolean(o.sample) || o.temperature !== undefined || o.topK !== undefined || o.topP !== undefined;
  return {
    numBeams: sample ? 1 : o.beams, maxNewTokens: o.maxNewTokens, lengthPenalty: o.lengthPenalty, noRepeatNgramSize: o.blockRepeatNgram,
    earlyStopping: o.earlyStopping === 'never' ? 'never' : o.earlyStopping === 'true', doSample: sample, temperature: o.temperature, topK: o.topK, topP: o.topP,
    batchSize: o.batch, generator: new Generator(o.seed), onProgress,
  };
}

/** How a decoding is named in tables: greedy, beam 4, sampling. */
function decodingName(g: Seq2SeqGenerateOptions): string {
  return g.doSample ? 'sampling' : (g.numBeams ?? 1) > 1 ? `beam ${g.numBeams}` : 'greedy';
}

/**
 * Translates lines, `numReturn` translations each (beam search's best first, or that many samples): empty ones stay
 * empty (counted), a source over the model's positions is an error naming the file and line unless `truncate` cuts
 * it (counted).
 */
async function translateLines(seq2seq: Seq2Seq, lines: readonly string[], path: string, o: DecodingValues, quiet: boolean, numReturn = 1) {
  const kept: { index: number; ids: number[] }[] = [];
  let truncated = 0;
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const ids = seq2seq.encodeSource(line);
    const fitted = seq2seq.fitSource(ids, Boolean(o.truncate));
    if (!fitted) throw new Error(`${path}, line ${index + 1}: the source has ${ids.length} tokens, more than the model's ${seq2seq.limits.source}; give --truncate to cut such sources (they are counted)`);
    if (fitted.length < ids.length) truncated++;
    kept.push({ index, ids: fitted });
  });
  const bar = progressBar('translate', kept.length, { unit: 'sentences', quiet });
  const opts = { ...generateOptions(o, (n) => bar.update(n)), numReturnSequences: numReturn };
  const hyps = await seq2seq.translateIds(kept.map((k) => k.ids), opts);
  bar.stop();
  const translations = lines.map(() => new Array<string>(numReturn).fill(''));
  kept.forEach((k, i) => { translations[k.index] = hyps.slice(i * numReturn, (i + 1) * numReturn); });
  if (!quiet && truncated) console.error(`${path}: ${formatNumber(truncated)} source(s) cut to the model's ${seq2seq.limits.source} tokens`);
  return { translations, empty: lines.length - kept.length, truncated, decoding: decodingName(opts) };
}

function trainCommand() {
  return trainingCommand('train', SEQ2SEQ_TRAIN)
    .description('Train a Transformer encoder-decoder (transformers\' EncoderDecoderModel: BERT or GPT-2 sides, each warm-started from a model directory or from scratch, the decoder\'s cross-attention new) or GPT on "source [SEP] target" (loss on the target only) on parallel text; validation loss, BLEU and chrF at each evaluation, the best BLEU kept in --out/best; a BLEU/chrF/ROUGE table and sample translations at the end.')
    .option('--data <dir>', 'a folder with train.SRC, train.TGT, val.SRC, val.TGT (.gz allowed), line i translating line i (default: ../shared/data/multi30k-en-de)')
    .option('--src-lang <code>', "the source files' suffix", 'en')
    .option('--tgt-lang <code>', "the target files' suffix", 'de')
    .option('--max-pairs <n>', 'train on the first N pairs only', positive)
    .addOption(new Option('--model <kind>', 'encoder-decoder, or GPT as a conditional generator').choices(['encoder-decoder', 'gpt'] as const).default('encoder-decoder' as const))
    .option('--encoder <dir>', 'warm-start the encoder from a BERT or GPT-2 model directory (ours or transformers\'; its tokenizer.json reads the source)')
    .option('--decoder <dir>', 'warm-start the decoder (with --model gpt: the GPT to fine-tune) from a model directory; its tokenizer.json writes the target')
    .addOption(new Option('--encoder-type <type>', 'a scratch encoder\'s architecture').choices(['bert', 'gpt2'] as const).default('bert' as const))
    .addOption(new Option('--decoder-type <type>', 'a scratch decoder\'s architecture').choices(['bert', 'gpt2'] as const).default('bert' as const))
    .option('--layers <n>', 'layers of each scratch side', positive, 3)
    .option('--dim <n>', 'width of each scratch side', positive, 256)
    .option('--heads <n>', 'attention heads (must divide --dim)', positive, 4)
    .option('--ffn <n>', 'feed-forward width', positive, 1024)
    .option('--positions <n>', 'positions (tokens) of each scratch side', positive, 128)
    .option('--dropout <x>', 'dropout of scratch sides', parse.unitInterval, 0.1)
    .option('--tie', 'tie the encoder\'s weights to the decoder\'s (sides of one type, shape and vocabulary)')
    .option('--source-tokenizer <file>', 'tokenizer.json for the source (with --model gpt: for both sides)')
    .option('--target-tokenizer <file>', 'tokenizer.json for the target')
    .option('--vocab-size <n>', 'size of each tokenizer trained here (WordPiece, cased) when a side brings none', positive, 8000)
    .option('--truncate', 'cut pairs longer than the model\'s positions (counted) instead of stopping at the first')
    .option('--batch <n>', 'sentence pairs per step', positive, 32)
    .option('--eval-pairs <n>', 'validation pairs translated at each evaluation (the first N; the loss is over all)', positive, 500)
    .option('--eval-beams <n>', 'beams when evaluating during training (1: greedy)', positive, 1)
    .option('--beams <n>', 'beams for the final evaluation and sample translations', positive, 4)
    .option('--max-new-tokens <n>', 'most target tokens per translation', positive, 64)
    .option('--samples <n>', 'sample translations shown at the end', parse.count, 3)
    .option('--out <dir>', 'output directory: checkpoint and best (config.json, model.safetensors, tokenizer.json, target_tokenizer.json, generation_config.json), log.jsonl, loss.svg', 'runs/seq2seq')
    .action(async (o) => {
      const quiet = Boolean(o.json);
      await useBackend(o.backend, quiet);
      manualSeed(o.seed);
      const data = o.data ?? defaultData();
      const train = await readSplit(data, 'train', o.srcLang, o.tgtLang, quiet);
      const val = await readSplit(data, 'val', o.srcLang, o.tgtLang, quiet);
      const trainPairs = train.pairs.slice(0, o.maxPairs);
      const out = resolve(o.out);
      const resumeFrom = o.resume ? await findCheckpoint(join(out, 'checkpoint')) : null;
      let seq2seq: Seq2Seq;
      if (resumeFrom) seq2seq = await Seq2Seq.load(resumeFrom); // its tokenizers; the trainer restores the weights and optimizer
      else {
        const spec = {
          kind: o.model, encoder: o.encoder, decoder: o.decoder, encoderType: o.encoderType, decoderType: o.decoderType, tie: Boolean(o.tie),
          shape: { layers: o.layers, dim: o.dim, heads: o.heads, ffn: o.ffn, positions: o.positions, dropout: o.dropout },
          sourceTokenizer: o.sourceTokenizer, targetTokenizer: o.targetTokenizer, vocabSize: o.vocabSize,
        };
        const built = await buildSeq2Seq(spec, { source: trainPairs.map((p) => p.source), target: trainPairs.map((p) => p.target) });
        if (!quiet) describeBuild(built.report, spec, built.seq2seq.model);
        seq2seq = built.seq2seq;
      }
      const where = (c: ParallelCorpus) => ({ source: c.sourcePath, target: c.targetPath });
      const trainSet = seq2seq.encodePairs(trainPairs, { truncate: Boolean(o.truncate), where: where(train) });
      const valSet = seq2seq.encodePairs(val.pairs, { truncate: Boolean(o.truncate), where: where(val) });
      if (!quiet) {
        for (const [name, set] of [['train', trainSet], ['val', valSet]] as const) if (set.truncated) console.error(`${name}: ${formatNumber(set.truncated)} pair(s) cut to the model's positions`);
        console.error(`${data}: ${formatNumber(trainSet.pairs.length)} training and ${formatNumber(valSet.pairs.length)} validation pairs; ${seq2seq.kind}, ` +
          `${formatNumber(seq2seq.model.numParameters())} parameters; vocabularies ${formatNumber(seq2seq.sourceTokenizer.vocabSize)} / ${formatNumber(seq2seq.targetTokenizer.vocabSize)}`);
      }
      const generate: Seq2SeqGenerateOptions = { numBeams: o.evalBeams, maxNewTokens: o.maxNewTokens };
      const task = new Seq2SeqTrainTask(seq2seq, trainSet.pairs, valSet.pairs, val.pairs.map((p) => p.target), { batchSize: o.batch, evalPairs: o.evalPairs, seed: o.seed, generate });
      const cfg = trainConfigFromOptions(o, SEQ2SEQ_TRAIN, out);
      const result = await runTraining('seq2seq train', task, cfg, o,
        (p) => `loss ${p.record.loss?.toFixed(4)} | ${formatNumber(p.record.tokensPerSec ?? 0)} tok/s${p.eval ? ` | val ppl ${p.eval.perplexity!.toFixed(2)} BLEU ${p.eval.bleu!.toFixed(2)} chrF ${p.eval.chrf!.toFixed(2)}` : ''}`,
        { best: { metric: 'bleu', mode: 'max' } });
      // the final model, decoded with --beams, on the same validation pairs the evaluations translated
      const n = Math.min(o.evalPairs, valSet.pairs.length);
      const final: Seq2SeqGenerateOptions = { numBeams: o.beams, maxNewTokens: o.maxNewTokens, batchSize: o.batch };
      // the run's last evaluation translated these pairs with the final model; with the same beams, its translations are the ones
      let hyps = o.evalBeams === o.beams && task.last?.hypotheses.length === n ? task.last.hypotheses : null;
      if (!hyps) {
        const bar = progressBar('translate val', n, { unit: 'sentences', quiet });
        hyps = await seq2seq.translateIds(valSet.pairs.slice(0, n).map((p) => p.source), { ...final, onProgress: (k) => bar.update(k) });
        bar.stop();
      }
      const references = val.pairs.slice(0, n).map((p) => p.target);
      const scores = scoreTranslations(hyps, [references]);
      const samples = val.pairs.slice(0, o.samples).map((p, i) => ({ source: p.source, translation: hyps[i]!, reference: p.target }));
      if (!quiet) printScores(scores, decodingName(final), samples);
      printSummary({
        steps: result.steps, train_loss: result.finalLoss, val_loss: result.eval.val_loss, perplexity: result.eval.perplexity,
        bleu: scores.bleu.score, chrf: scores.chrf.score, chrfpp: scores.chrfpp.score, decoding: decodingName(final), eval_pairs: n,
        ...(quiet ? { bleu_detail: scores.bleu, rouge: scores.rouge, samples } : {}), best_bleu: result.best?.value, best_step: result.best?.step,
        truncated_pairs: trainSet.truncated + valSet.truncated, skipped_empty: train.skippedEmpty + val.skippedEmpty,
        wall_seconds: result.wallSeconds, checkpoint: join(out, 'checkpoint'), best: result.best?.dir, loss_curve: result.lossCurve,
      }, quiet);
    });
}

function translateCommand() {
  return decodingCommand('translate')
    .description('Translate sentences (one a line) with a model pretrain seq2seq train wrote: beam search by default, greedy with --beams 1, or sampling; --num-return-sequences N writes N translations per sentence.')
    .requiredOption('--input <file>', 'source sentences, one a line (.gz allowed); an empty line translates to an empty line (counted)')
    .option('--out <file>', 'write the translations here (default: standard output)')
    .option('--num-return-sequences <n>', "translations per sentence, on N lines in a row (transformers' num_return_sequences): beam search's N best, best first (N <= --beams), or N samples with --sample", positive, 1)
    .option('--json', 'print {"sentences", "empty_lines", "truncated", "decoding", "num_return_sequences", "out"} (and "translations" without --out: a string per sentence, or with N > 1 an array of N)')
    .action(async (o) => {
      const quiet = Boolean(o.json);
      const n = o.numReturnSequences;
      const sample = generateOptions(o).doSample;
      if (n > 1 && !sample && o.beams === 1) throw new Error(`--num-return-sequences ${n} needs beam search (--beams ${n} or more) or --sample: greedy decoding gives one translation (transformers raises the same)`);
      if (n > 1 && !sample && n > o.beams) throw new Error(`--num-return-sequences ${n} is more than --beams ${o.beams}: beam search returns at most one translation per beam (transformers raises the same)`);
      await useBackend(o.backend, quiet);
      const seq2seq = await Seq2Seq.load(o.model);
      const { lines, stats } = await readTextLines(o.input);
      if (!quiet) warnInvalidUtf8(stats);
      const t = await translateLines(seq2seq, lines, o.input, o, quiet, n);
      if (!quiet && t.empty) console.error(`${o.input}: ${formatNumber(t.empty)} empty line(s) left empty${n > 1 ? ` (${n} empty lines each)` : ''}`);
      // N lines per input line, those of line i at i·N+1..i·N+N
      const text = t.translations.flat().map((x) => `${x}\n`).join('');
      if (o.out) await writeFile(o.out, text);
      else if (!quiet) process.stdout.write(text);
      if (quiet) {
        const translations = n === 1 ? t.translations.map(([x]) => x) : t.translations;
        console.log(JSON.stringify({ sentences: lines.length, empty_lines: t.empty, truncated: t.truncated, decoding: t.decoding, num_return_sequences: n, ...(o.out ? { out: resolve(o.out) } : { translations }) }));
      }
    });
}

function evaluateCommand() {
  return decodingCommand('evaluate')
    .description('Translate a source file with a model and score it against references by BLEU, chrF and chrF++ (sacrebleu\'s corpus scores) and ROUGE-1, ROUGE-2 and ROUGE-L (rouge-score\'s, the mean over sentences and its bootstrap interval); or score given --hypotheses. Prints a table, the score lines and sample translations.')
    .requiredOption('--source <file>', 'source sentences, one a line')
    .requiredOption('--references <files...>', 'reference translations, one file per reference, each parallel to --source')
    .option('--hypotheses <file>', 'score these translations (parallel to --source) instead of translating; --model is then not read')
    .option('--samples <n>', 'sample translations shown', parse.count, 3)
    .option('--rouge-stemmer', "ROUGE with NLTK's Porter stemmer (rouge-score's use_stemmer)")
    .option('--json', 'print {"sentences", "empty_lines", "decoding", "bleu", "chrf", "chrfpp", "rouge", "samples"}');
}

function evaluateAction(cmd: ReturnType<typeof evaluateCommand>) {
  return cmd.action(async (o) => {
    const quiet = Boolean(o.json);
    const { lines, stats } = await readTextLines(o.source);
    if (!quiet) warnInvalidUtf8(stats);
    const refs = await Promise.all(o.references.map(async (path) => {
      const r = (await readTextLines(path)).lines;
      if (r.length !== lines.length) throw new Error(`${path} has ${r.length} lines but ${o.source} has ${lines.length}; each reference line translates the source line of the same number`);
      return r;
    }));
    let translations: string[], empty: number, decoding: string;
    if (o.hypotheses) {
      translations = (await readTextLines(o.hypotheses)).lines;
      if (translations.length !== lines.length) throw new Error(`${o.hypotheses} has ${translations.length} lines but ${o.source} has ${lines.length}; line i of one must translate line i of the other`);
      empty = lines.filter((l) => l.trim() === '').length;
      decoding = o.hypotheses;
    } else {
      await useBackend(o.backend, quiet);
      const t = await translateLines(await Seq2Seq.load(o.model), lines, o.source, o, quiet);
      ({ empty, decoding } = t);
      translations = t.translations.map(([x]) => x!);
    }
    // empty source lines are left out of the scores (their translations are empty), and counted
    const keep = lines.map((_, i) => i).filter((i) => lines[i]!.trim() !== '');
    if (keep.length === 0) throw new Error(`${o.source}: every line is empty`);
    if (!quiet && empty) console.error(`${o.source}: ${formatNumber(empty)} empty line(s) skipped`);
    const scores = scoreTranslations(keep.map((i) => translations[i]!), refs.map((r) => keep.map((i) => r[i]!)), { useStemmer: Boolean(o.rougeStemmer), bootstrap: true });
    const samples = keep.slice(0, o.samples).map((i) => ({ source: lines[i]!, translation: translations[i]!, reference: refs[0]![i]! }));
    if (quiet) console.log(JSON.stringify({ sentences: keep.length, empty_lines: empty, decoding, bleu: scores.bleu, chrf: scores.chrf, chrfpp: scores.chrfpp, rouge: scores.rouge, samples }));
    else printScores(scores, decoding, samples);
  });
}

/** Registers `pretrain seq2seq`. */
export const registerSeq2seq = (program: Command): void => {
  program.addCommand(new Command('seq2seq').description('Generation: Transformer encoder-decoders warm-started from BERT/GPT-2 (or GPT alone), beam search, BLEU and chrF')
    .addCommand(trainCommand()).addCommand(translateCommand()).addCommand(evaluateAction(evaluateCommand())));
};
