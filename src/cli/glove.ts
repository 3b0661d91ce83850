// `pretrain glove`: train GloVe on a corpus and save W + W̃ as vectors.bin, vectors.txt, vectors.safetensors,
// vocab.txt (word count) and config.json in --out.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { writeVectorsSafetensors, writeVocab, writeWord2Vec } from '../io/word2vec-format.js';
import { Glove, GLOVE_DEFAULTS } from '../models/word2vec/glove.js';
import { Corpus } from '../text/corpus.js';
import { formatNumber, parse, progressBar, warnInvalidUtf8 } from './ui.js';

const int = parse.positiveInt;
const num = parse.positive;

/** Adds `pretrain glove`. */
export const registerGlove = (program: Command): void => {
  const d = GLOVE_DEFAULTS;
  program.addCommand(new Command('glove')
    .description('Train GloVe (co-occurrence counts within a memory budget, AdaGrad weighted least squares); saves W + W~.')
    .requiredOption('--corpus <path>', 'text file, folder (recursive) or .gz; one sentence a line, lowercased and split into words')
    .requiredOption('--out <dir>', 'folder for vectors.bin, vectors.txt, vectors.safetensors, vocab.txt and config.json')
    .option('--dim <n>', 'vector size', int, d.dim)
    .option('--window <n>', 'co-occurrence window (each side)', int, d.window)
    .option('--min-count <n>', 'ignore words rarer than this', int, d.minCount)
    .option('--x-max <x>', 'weighting cut-off', num, d.xMax)
    .option('--alpha <x>', 'weighting exponent', num, d.alpha)
    .option('--eta <x>', 'AdaGrad learning rate', num, d.eta)
    .option('--epochs <n>', 'passes over the co-occurrence entries', int, d.epochs)
    .option('--memory-entries <n>', 'co-occurrence entries held in memory before spilling a shard to disk', int, d.memoryEntries)
    .option('--seed <n>', 'random seed', int, d.seed)
    .option('--threads <n>', 'training threads (Hogwild; 1 is deterministic for a seed)', int, availableParallelism())
    .addOption(new Option('--kernels <kind>', 'AdaGrad loop: WebAssembly SIMD, or the single-threaded TypeScript reference').choices(['wasm', 'js']).default(d.kernels))
    .option('--json', 'print the summary as JSON (no progress bar)')
    .option('--quiet', 'no progress bar')
    .action(async (o) => {
      const opts = { dim: o.dim, window: o.window, minCount: o.minCount, xMax: o.xMax, alpha: o.alpha, eta: o.eta, epochs: o.epochs, memoryEntries: o.memoryEntries, seed: o.seed,
        threads: o.kernels === 'js' ? 1 : o.threads, kernels: o.kernels };
      const started = performance.now();
      const bar = progressBar('training', opts.epochs, { unit: 'epochs', quiet: Boolean(o.json || o.quiet) });
      let loss = NaN;
      const corpus = await Corpus.open(o.corpus, { layout: 'raw' });
      const model = await Glove.train(corpus, opts, (p) => {
        if (p.epoch === undefined) return;
        loss = p.loss ?? NaN;
        bar.update(p.epoch + 1, `| loss ${loss.toFixed(5)}`);
      });
      bar.stop();
      warnInvalidUtf8(corpus.stats);
      const kv = model.toVectors();
      await mkdir(o.out, { recursive: true });
      const data = { words: kv.words, dim: kv.dim, vectors: kv.vectors, counts: model.vocab.counts };
      await writeWord2Vec(join(o.out, 'vectors.bin'), data, true);
      await writeWord2Vec(join(o.out, 'vectors.txt'), data, false);
      await writeVectorsSafetensors(join(o.out, 'vectors.safetensors'), data);
      await writeVocab(join(o.out, 'vocab.txt'), model.vocab.words, model.vocab.counts);
      await writeFile(join(o.out, 'config.json'), JSON.stringify({ model: 'glove', ...opts, corpus: o.corpus }, null, 2) + '\n');
      const seconds = (performance.now() - started) / 1000;
      const summary = { out: o.out, vocab: kv.size, seconds: +seconds.toFixed(3), final_loss: loss };
      if (o.json) console.log(JSON.stringify(summary));
      else console.log(`${formatNumber(kv.size)} words in ${seconds.toFixed(1)} s, final loss ${loss.toFixed(5)}; saved in ${o.out}`);
    }));
};
