// `pretrain word2vec`: train word2vec on a corpus (file, folder, .gz) and save vectors.bin, vectors.txt,
// vectors.safetensors, vocab.txt (word count) and config.json in --out.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { writeVectorsSafetensors, writeVocab, writeWord2Vec } from '../io/word2vec-format.js';
import { buildVocab, Word2Vec, WORD2VEC_DEFAULTS, type Word2VecOptions } from '../models/word2vec/trainer.js';
import { Corpus } from '../text/corpus.js';
import { formatNumber, parse, progressBar, warnInvalidUtf8 } from './ui.js';

const int = parse.positiveInt;
const count = parse.count;
const num = parse.nonNegative;

/** Adds `pretrain word2vec`. */
export const registerWord2vec = (program: Command): void => {
  const d = WORD2VEC_DEFAULTS;
  program.addCommand(new Command('word2vec')
    .description('Train word2vec (CBOW or skip-gram; negative sampling and/or hierarchical softmax) with word2vec.c/gensim semantics.')
    .requiredOption('--corpus <path>', 'text file, folder (recursive) or .gz; one sentence a line, lowercased and split into words')
    .requiredOption('--out <dir>', 'folder for vectors.bin, vectors.txt, vectors.safetensors, vocab.txt and config.json')
    .addOption(new Option('--model <model>', 'architecture').choices(['cbow', 'skipgram']).default('cbow'))
    .option('--cbow-sum', 'CBOW: sum the context vectors instead of averaging them')
    .option('--hs', 'hierarchical softmax over a Huffman tree')
    .option('--negative <n>', 'negative samples (0 = none)', count, d.negative)
    .option('--window <n>', 'largest context window (shrunk at random per word)', int, d.window)
    .option('--dim <n>', 'vector size', int, d.dim)
    .option('--min-count <n>', 'ignore words rarer than this', count, d.minCount)
    .option('--max-vocab-size <n>', 'prune the counts while counting whenever they exceed this many words', int)
    .option('--sample <x>', 'subsampling threshold for frequent words (0 = off)', num, d.sample)
    .option('--alpha <x>', 'initial learning rate', parse.positive, d.alpha)
    .option('--min-alpha <x>', 'final learning rate', num, d.minAlpha)
    .option('--epochs <n>', 'passes over the corpus', int, d.epochs)
    .option('--threads <n>', 'training threads (Hogwild; 1 is deterministic for a seed)', int, availableParallelism())
    .option('--seed <n>', 'random seed', count, d.seed)
    .addOption(new Option('--kernels <kind>', 'inner loops: WebAssembly SIMD, or the TypeScript reference').choices(['wasm', 'js']).default(d.kernels))
    .option('--no-job-cache', 'read the corpus text every epoch instead of replaying the first epoch\'s word ids from a temporary file')
    .option('--json', 'print the summary as JSON (no progress bar)')
    .option('--quiet', 'no progress bar')
    .action(async (o) => {
      const opts: Word2VecOptions = {
        model: o.model, cbowMean: !o.cbowSum, hs: Boolean(o.hs), negative: o.negative, window: o.window, dim: o.dim,
        minCount: o.minCount, maxVocabSize: o.maxVocabSize ?? Infinity, sample: o.sample, alpha: o.alpha, minAlpha: o.minAlpha,
        epochs: o.epochs, seed: o.seed, threads: Math.max(1, o.threads), kernels: o.kernels, cacheJobs: o.jobCache,
      };
      const started = performance.now();
      const corpus = await Corpus.open(o.corpus, { layout: 'raw' });
      const vocab = await buildVocab(corpus, opts);
      warnInvalidUtf8(corpus.stats);
      const vocabSeconds = (performance.now() - started) / 1000;
      const model = new Word2Vec(vocab, opts);
      const total = opts.epochs * vocab.totalWords;
      const bar = progressBar('training', total, { unit: 'words', quiet: Boolean(o.json || o.quiet) });
      const trainStart = performance.now();
      let lastLoss = 0;
      await model.trainEpochs(corpus, (p) => {
        lastLoss = p.loss;
        bar.update(p.words, `| epoch ${p.epoch + 1}/${opts.epochs} | alpha ${p.alpha.toFixed(5)} | loss ${p.loss.toFixed(4)}`);
      });
      bar.stop();
      const trainSeconds = (performance.now() - trainStart) / 1000;
      await mkdir(o.out, { recursive: true });
      const data = { words: vocab.words, dim: opts.dim, vectors: model.syn0, counts: vocab.counts };
      await writeWord2Vec(join(o.out, 'vectors.bin'), data, true);
      await writeWord2Vec(join(o.out, 'vectors.txt'), data, false);
      await writeVectorsSafetensors(join(o.out, 'vectors.safetensors'), data);
      await writeVocab(join(o.out, 'vocab.txt'), vocab.words, vocab.counts);
      const config = { ...opts, maxVocabSize: Number.isFinite(opts.maxVocabSize) ? opts.maxVocabSize : null, corpus: o.corpus };
      await writeFile(join(o.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
      const summary = {
        out: o.out, vocab: vocab.words.length, corpus_words: vocab.totalWords, epochs: opts.epochs,
        vocab_seconds: +vocabSeconds.toFixed(3), train_seconds: +trainSeconds.toFixed(3),
        words_per_second: Math.round(total / trainSeconds), final_loss: +lastLoss.toFixed(5),
      };
      if (o.json) console.log(JSON.stringify(summary));
      else console.log(`${formatNumber(summary.vocab)} words, ${formatNumber(total)} trained in ${trainSeconds.toFixed(1)} s (${formatNumber(summary.words_per_second)} words/s); saved in ${o.out}`);
    }));
};
