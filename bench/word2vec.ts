// `npm run bench -- word2vec [--mb 50] [--analogies FILE]`: our word2vec next to gensim (../shared/peers/gensim_word2vec.py)
// on the same Gutenberg prose (the first books up to --mb megabytes; 50, the default, is all 65 books, ~9.4M words),
// lowercased and tokenised once by our tokeniser and written one sentence a line, so both read identical words.
// Skip-gram and CBOW, negative 5, window 5, dim 100, min_count 5, sample 1e-3, 5 epochs. The word-similarity
// Spearman figures of a few million words move by ±0.05 from seed to seed (for gensim as for us); on the whole
// corpus they settle enough to compare.
import { createReadStream, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { tokenize } from '../src/models/word2vec/corpus.js';
import { buildVocab, Word2Vec } from '../src/models/word2vec/trainer.js';
import { runPython, SHARED_DATA, SHARED_PEERS } from './peer.js';
import { figure, throughput, writeResults, type BenchRow } from './results.js';

/** Tokenised Gutenberg books, one sentence (line) a line, until at least `minBytes` are written (or the books end). */
async function buildCorpus(path: string, minBytes: number): Promise<number> {
  const books = join(SHARED_DATA, 'gutenberg', 'books');
  if (!existsSync(books)) throw new Error(`bench word2vec needs ${books} (the shared data folder beside the project); it is missing`);
  const out: string[] = [];
  let bytes = 0;
  for (const name of readdirSync(books).sort()) {
    const lines = createInterface({ input: createReadStream(join(books, name)).pipe(createGunzip()), crlfDelay: Infinity });
    for await (const line of lines) {
      const words = tokenize(line);
      if (words.length === 0) continue;
      const s = words.join(' ');
      out.push(s);
      bytes += s.length + 1;
    }
    if (bytes >= minBytes) break;
  }
  writeFileSync(path, out.join('\n') + '\n');
  return bytes;
}

/** Runs the suite. */
export default async function main(args: string[]): Promise<void> {
  const ai = args.indexOf('--analogies');
  const analogies = ai >= 0 ? args[ai + 1] : undefined;
  const sim = join(SHARED_DATA, 'word-similarity');
  const pairs = { ws353: join(sim, 'EN-WS-353-ALL.txt'), simlex: join(sim, 'EN-SIMLEX-999.txt') };
  for (const p of Object.values(pairs)) if (!existsSync(p)) throw new Error(`bench word2vec needs ${p}; it is missing`);
  const corpus = join(tmpdir(), 'pretrain-bench-word2vec.txt');
  const mi = args.indexOf('--mb');
  const bytes = await buildCorpus(corpus, (mi >= 0 ? Number(args[mi + 1]) : 50) * 1024 * 1024);
  console.error(`corpus: ${(bytes / 1e6).toFixed(2)} MB of tokenised Gutenberg text in ${corpus}`);
  const rows: BenchRow[] = [];
  for (const model of ['skipgram', 'cbow'] as const) {
    const peerOut = runPython(join(SHARED_PEERS, 'gensim_word2vec.py'), [corpus, '--sg', model === 'skipgram' ? '1' : '0', '--workers', '2',
      '--pairs', pairs.ws353, pairs.simlex, ...(analogies ? ['--analogies', analogies] : [])])?.[0];
    const peerName = peerOut ? `gensim ${peerOut['gensim']} (2 workers)` : null;
    const peerPairs = (peerOut?.['pairs'] ?? {}) as Record<string, { spearman: number }>;
    const w2v = new Word2Vec(await buildVocab(corpus, { minCount: 5, sample: 1e-3, maxVocabSize: Infinity }),
      { model, cbowMean: true, hs: false, negative: 5, window: 5, dim: 100, minCount: 5, maxVocabSize: Infinity, sample: 1e-3, alpha: 0.025, minAlpha: 0.0001, epochs: 5, seed: 1, threads: 2, kernels: 'wasm', cacheJobs: true });
    const t0 = performance.now();
    await w2v.trainEpochs(corpus);
    const seconds = (performance.now() - t0) / 1000;
    const wps = (5 * w2v.vocab.totalWords) / seconds;
    console.error(`${model}: ours ${Math.round(wps)} words/s (${seconds.toFixed(1)} s, vocab ${w2v.vocab.words.length}); gensim ${peerOut?.['words_per_second'] ?? 'n/a'} words/s`);
    rows.push(throughput(`${model}-words-per-sec`, wps, 'words/s', peerName, peerOut ? Number(peerOut['words_per_second']) : null));
    const kv = w2v.toVectors();
    for (const [key, file] of Object.entries(pairs)) {
      const r = await kv.evaluateWordPairs(file);
      const peer = peerPairs[file.split('/').pop()!];
      rows.push(figure(`${model}-${key}`, r.spearman, 'spearman', peer ? peerName : null, peer ? peer.spearman : null));
    }
    if (analogies) {
      const r = await kv.evaluateWordAnalogies(analogies);
      rows.push(figure(`${model}-analogy`, r.accuracy, 'accuracy', peerOut ? peerName : null, peerOut ? Number(peerOut['analogy_accuracy']) : null));
    }
  }
  console.log(`wrote ${writeResults('word2vec', rows)}`);
  console.log(JSON.stringify(rows, null, 1));
}
