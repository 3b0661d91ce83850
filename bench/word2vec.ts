// `npm run bench -- word2vec [--mb 50] [--runs 1] [--analogies FILE]`: our word2vec next to gensim
// (../shared/peers/gensim_word2vec.py) on the same Gutenberg prose (the first books up to --mb megabytes; 50, the
// default, is all 65 books, ~9.4M words), lowercased and tokenised once by our tokeniser and written one sentence a
// line, so both read identical words. Skip-gram and CBOW, negative 5, window 5, dim 100, min_count 5, sample 1e-3,
// 5 epochs. Analogy accuracy is on --analogies FILE, else on the set of bench/analogies-en.ts. A single run's
// Spearman figures move by about ±0.01 on the whole corpus (±0.05 on a few million words), for gensim as for us;
// --runs N repeats both sides N times (our seeds 1..N) and writes the means, with the spread on stderr.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGutenbergCorpus, evaluationFiles } from './gutenberg.js';
import { buildVocab, Word2Vec } from '../src/models/word2vec/trainer.js';
import { runPython, SHARED_PEERS } from './peer.js';
import { figure, throughput, writeResults, type BenchRow } from './results.js';

/** Mean and sample standard deviation. */
function meanSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
}

/** Runs the suite. */
export default async function main(args: string[]): Promise<void> {
  const arg = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
  const runs = Number(arg('runs') ?? 1);
  const { pairs, analogies } = evaluationFiles('word2vec', arg('analogies'));
  const corpus = join(tmpdir(), 'pretrain-bench-word2vec.txt');
  const { bytes } = await buildGutenbergCorpus('word2vec', corpus, Number(arg('mb') ?? 50) * 1024 * 1024);
  console.error(`corpus: ${(bytes / 1e6).toFixed(2)} MB of tokenised Gutenberg text in ${corpus}`);
  const rows: BenchRow[] = [];
  for (const model of ['skipgram', 'cbow'] as const) {
    // per row: our figure and gensim's, one per run
    const figures = new Map<string, { ours: number[]; peer: number[] }>();
    const add = (name: string, ours: number, peer: number | undefined) => {
      const f = figures.get(name) ?? { ours: [], peer: [] };
      f.ours.push(ours);
      if (peer !== undefined) f.peer.push(peer);
      figures.set(name, f);
    };
    let peerName: string | null = null;
    for (let run = 1; run <= runs; run++) {
      // gensim's script fixes its seed at 1; its two Hogwild workers make each run differ all the same
      const peerOut = runPython(join(SHARED_PEERS, 'gensim_word2vec.py'), [corpus, '--sg', model === 'skipgram' ? '1' : '0', '--workers', '2',
        '--pairs', pairs.ws353, pairs.simlex, '--analogies', analogies], undefined, { blas: false })?.[0];
      if (peerOut) peerName = `gensim ${peerOut['gensim']} (2 workers)`;
      const peerPairs = (peerOut?.['pairs'] ?? {}) as Record<string, { spearman: number }>;
      const w2v = new Word2Vec(await buildVocab(corpus, { minCount: 5, sample: 1e-3, maxVocabSize: Infinity }),
        { model, cbowMean: true, hs: false, negative: 5, window: 5, dim: 100, minCount: 5, maxVocabSize: Infinity, sample: 1e-3, alpha: 0.025, minAlpha: 0.0001, epochs: 5, seed: run, threads: 2, kernels: 'wasm', cacheJobs: true });
      const t0 = performance.now();
      await w2v.trainEpochs(corpus);
      const seconds = (performance.now() - t0) / 1000;
      const wps = (5 * w2v.vocab.totalWords) / seconds;
      add(`${model}-words-per-sec`, wps, peerOut ? Number(peerOut['words_per_second']) : undefined);
      const kv = w2v.toVectors();
      for (const [key, file] of Object.entries(pairs)) {
        add(`${model}-${key}`, (await kv.evaluateWordPairs(file)).spearman, peerPairs[file.split('/').pop()!]?.spearman);
      }
      const analogy = await kv.evaluateWordAnalogies(analogies);
      add(`${model}-analogy`, analogy.accuracy, peerOut ? Number(peerOut['analogy_accuracy']) : undefined);
      console.error(`${model} run ${run}/${runs}: ours ${Math.round(wps)} words/s (${seconds.toFixed(1)} s, vocab ${w2v.vocab.words.length}), ` +
        `analogy ${analogy.accuracy.toFixed(4)} on ${analogy.answered} answered; gensim ${peerOut?.['words_per_second'] ?? 'n/a'} words/s, ` +
        `analogy ${peerOut?.['analogy_accuracy'] ?? 'n/a'} on ${peerOut?.['analogy_answered'] ?? 'n/a'}`);
    }
    for (const [name, f] of figures) {
      const ours = meanSd(f.ours);
      const peer = f.peer.length === f.ours.length ? meanSd(f.peer) : null;
      const spread = (m: { mean: number; sd: number } | null) => (m ? `${m.mean.toPrecision(4)} (sd ${m.sd.toPrecision(2)})` : 'n/a');
      if (runs > 1) console.error(`${name} over ${runs} runs: ours ${spread(ours)}, gensim ${spread(peer)}`);
      const row = name.endsWith('words-per-sec') ? throughput : figure;
      const unit = name.endsWith('words-per-sec') ? 'words/s' : name.endsWith('analogy') ? 'accuracy' : 'spearman';
      rows.push(row(name, ours.mean, unit, peer ? peerName : null, peer ? peer.mean : null));
    }
  }
  console.log(`wrote ${writeResults('word2vec', rows)}`);
  console.log(JSON.stringify(rows, null, 1));
}
