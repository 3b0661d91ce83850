// `npm run bench -- glove [--mb 50] [--analogies FILE] [--no-peer]`: our GloVe next to the independent NumPy GloVe
// (bench/peers/glove_numpy.py: the paper and glove.c's semantics, float64, one thread) and next to our word2vec
// skip-gram, all on the same Gutenberg prose: the first books up to --mb megabytes (50, the default, is all 65 books,
// ~9.5M words), lowercased and tokenised once by our tokeniser and written one sentence (line) a line, so every side
// reads identical words. GloVe as the hand comparison with glove.c: dim 100, window 10, min-count 5, x_max 100,
// alpha 0.75, eta 0.05, 15 iterations, ours on 2 threads. Skip-gram as bench/word2vec.ts (negative 5, window 5,
// dim 100, min-count 5, sample 1e-3, 5 epochs, 2 threads). All three are scored by the same code (WordVectors:
// WS-353 and SimLex-999 Spearman, analogy accuracy on --analogies FILE, else on bench/analogies-en.ts's set); rows are
// named full-… for the whole corpus, subset-<N>mb-… for a part. Seconds count from the corpus file to trained
// vectors (vocabulary and co-occurrence counting included, evaluation not). The NumPy peer takes about 3 µs an
// entry and epoch on this kind of machine (15 epochs of the 14M entries of the whole corpus: ~10-15 min of CPU).
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Glove } from '../src/models/word2vec/glove.js';
import { buildVocab, Word2Vec } from '../src/models/word2vec/trainer.js';
import { WordVectors } from '../src/models/vectors.js';
import { buildGutenbergCorpus, evaluationFiles } from './gutenberg.js';
import { runPython } from './peer.js';
import { figure, throughput, writeResults, type BenchRow } from './results.js';

/** The GloVe settings of both sides. */
const GLOVE = { dim: 100, window: 10, minCount: 5, xMax: 100, alpha: 0.75, eta: 0.05, epochs: 15 };

interface Scores { ws353: number; simlex: number; analogy: number; answered: number }

/** WS-353 and SimLex Spearman and analogy accuracy, the same code for every side. */
async function score(kv: WordVectors, pairs: { ws353: string; simlex: string }, analogies: string): Promise<Scores> {
  const analogy = await kv.evaluateWordAnalogies(analogies);
  return { ws353: (await kv.evaluateWordPairs(pairs.ws353)).spearman, simlex: (await kv.evaluateWordPairs(pairs.simlex)).spearman, analogy: analogy.accuracy, answered: analogy.answered };
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** Runs the suite. */
export default async function main(args: string[]): Promise<void> {
  const arg = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
  const { pairs, analogies } = evaluationFiles('glove', arg('analogies'));
  const mb = Number(arg('mb') ?? 50);
  const dir = mkdtempSync(join(tmpdir(), 'pretrain-bench-glove-'));
  try {
    const corpus = join(dir, 'corpus.txt');
    const { bytes, all } = await buildGutenbergCorpus('glove', corpus, mb * 1024 * 1024);
    const part = all ? 'full' : `subset-${mb}mb`;
    console.error(`corpus (${part}): ${(bytes / 1e6).toFixed(2)} MB of tokenised Gutenberg text; load average ${load()} on ${availableParallelism()} CPUs`);

    let t0 = performance.now();
    const glove = await Glove.train(corpus, { ...GLOVE, threads: 2 });
    const gloveSeconds = (performance.now() - t0) / 1000;
    const ours = await score(glove.toVectors(), pairs, analogies);
    const words = glove.vocab.totalWords;
    console.error(`ours: ${gloveSeconds.toFixed(1)} s, vocab ${glove.vocab.words.length}, ws353 ${ours.ws353.toFixed(4)} simlex ${ours.simlex.toFixed(4)} analogy ${ours.analogy.toFixed(4)} (${ours.answered} answered); load ${load()}`);

    let peer: (Scores & { seconds: number; name: string }) | undefined;
    if (!args.includes('--no-peer')) {
      const vectors = join(dir, 'numpy-vectors.txt');
      const script = fileURLToPath(new URL('./peers/glove_numpy.py', import.meta.url));
      const out = runPython(script, [corpus, '--dim', String(GLOVE.dim), '--window', String(GLOVE.window), '--min-count', String(GLOVE.minCount),
        '--x-max', String(GLOVE.xMax), '--alpha', String(GLOVE.alpha), '--eta', String(GLOVE.eta), '--epochs', String(GLOVE.epochs), '--save-vectors', vectors], 4 * 3600_000);
      const summary = out?.find((o) => o['peer'] === 'glove-numpy');
      if (summary) {
        const seconds = Number(summary['count_seconds']) + Number(summary['train_seconds']);
        peer = { ...(await score(await WordVectors.load(vectors), pairs, analogies)), seconds, name: `glove-numpy (numpy ${summary['numpy']}, float64, 1 thread)` };
        console.error(`numpy peer: ${seconds.toFixed(1)} s, vocab ${summary['vocab']}, ${summary['entries']} entries (runs of ${summary['mean_run']}), ws353 ${peer.ws353.toFixed(4)} simlex ${peer.simlex.toFixed(4)} analogy ${peer.analogy.toFixed(4)} (${peer.answered} answered); load ${load()}`);
      }
    }

    const w2v = new Word2Vec(await buildVocab(corpus, { minCount: 5, sample: 1e-3, maxVocabSize: Infinity }),
      { model: 'skipgram', cbowMean: true, hs: false, negative: 5, window: 5, dim: 100, minCount: 5, maxVocabSize: Infinity, sample: 1e-3, alpha: 0.025, minAlpha: 0.0001, epochs: 5, seed: 1, threads: 2, kernels: 'wasm', cacheJobs: true });
    t0 = performance.now();
    await w2v.trainEpochs(corpus);
    const sgSeconds = (performance.now() - t0) / 1000;
    const sg = await score(w2v.toVectors(), pairs, analogies);
    console.error(`skip-gram: ${sgSeconds.toFixed(1)} s, ws353 ${sg.ws353.toFixed(4)} simlex ${sg.simlex.toFixed(4)} analogy ${sg.analogy.toFixed(4)} (${sg.answered} answered); load ${load()}`);

    const p = peer?.name ?? null;
    const rows: BenchRow[] = [
      figure(`glove-${part}-ws353`, ours.ws353, 'spearman', p, peer?.ws353 ?? null),
      figure(`glove-${part}-simlex`, ours.simlex, 'spearman', p, peer?.simlex ?? null),
      figure(`glove-${part}-analogy`, ours.analogy, 'accuracy', p, peer?.analogy ?? null),
      figure(`glove-${part}-seconds`, gloveSeconds, 's', p, peer?.seconds ?? null),
      throughput(`glove-${part}-words-per-sec`, words / gloveSeconds, 'words/s', p, peer ? words / peer.seconds : null),
      figure(`skipgram-${part}-ws353`, sg.ws353, 'spearman'),
      figure(`skipgram-${part}-simlex`, sg.simlex, 'spearman'),
      figure(`skipgram-${part}-analogy`, sg.analogy, 'accuracy'),
      figure(`skipgram-${part}-seconds`, sgSeconds, 's'),
    ];
    console.log(`wrote ${writeResults('glove', rows)}`);
    console.log(JSON.stringify(rows, null, 1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
