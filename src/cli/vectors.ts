// `pretrain vectors eval|neighbors|analogy`: evaluate and query word vectors (word2vec binary/text, fastText .vec, safetensors).
import { basename } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { WordVectors } from '../models/vectors.js';
import { parse, table } from './ui.js';

const int = parse.positiveInt;

/** Loads a vector file, warning when it holds more than its header's count (those rows are not loaded, as in gensim). */
async function loadVectors(path: string): Promise<WordVectors> {
  const kv = await WordVectors.load(path);
  const more = kv.beyondHeader;
  if (more) {
    const what = more.lines !== undefined ? `${more.lines} more vector lines` : `${more.bytes} more bytes`;
    console.error(`warning: ${path}: the header says ${kv.size} vectors but the file holds ${what}, which are not loaded; fix the header's count to load them`);
  }
  return kv;
}

/** Adds `pretrain vectors`. */
export const registerVectors = (program: Command): void => {
  const vectors = new Command('vectors').description('Evaluate and query word vectors (.bin word2vec binary; .txt/.vec text; .safetensors).');
  vectors.addCommand(new Command('eval')
    .description("Analogy accuracy (questions-words format) and word-pair Spearman, with gensim's semantics (case-insensitive, first 300000 words).")
    .requiredOption('--vectors <file>', 'vector file')
    .option('--analogies <file>', 'questions-words.txt style file')
    .option('--pairs <files...>', 'word-similarity files (word1 word2 score; tab or space separated; # comments)')
    .option('--restrict-vocab <n>', 'only the first n words answer and are asked about', int, 300000)
    .option('--json', 'print JSON')
    .action(async (o) => {
      if (!o.analogies && !o.pairs) throw new Error('vectors eval: give --analogies FILE, --pairs FILE..., or both');
      const kv = await loadVectors(o.vectors);
      const out: { analogy_accuracy?: number; analogy_answered?: number; analogy_skipped?: number; pairs: Record<string, { spearman: number; pearson: number; oov_percent: number }> } = { pairs: {} };
      const rows: Record<string, unknown>[] = [];
      if (o.analogies) {
        const r = await kv.evaluateWordAnalogies(o.analogies, { restrictVocab: o.restrictVocab });
        Object.assign(out, { analogy_accuracy: r.accuracy, analogy_answered: r.answered, analogy_skipped: r.skipped });
        for (const s of r.sections) rows.push({ test: `analogy: ${s.section}`, score: s.accuracy.toFixed(4), answered: s.correct + s.incorrect });
        rows.push({ test: 'analogy: total', score: r.accuracy.toFixed(4), answered: r.answered, skipped: r.skipped });
      }
      for (const path of o.pairs ?? []) {
        const r = await kv.evaluateWordPairs(path, { restrictVocab: o.restrictVocab });
        out.pairs[basename(path)] = { spearman: r.spearman, pearson: r.pearson, oov_percent: r.oovPercent };
        rows.push({ test: basename(path), score: r.spearman.toFixed(4), pearson: r.pearson.toFixed(4), answered: r.pairs, 'oov %': r.oovPercent.toFixed(2) });
      }
      if (o.json) console.log(JSON.stringify(out));
      else console.log(table(rows));
    }));
  vectors.addCommand(new Command('neighbors')
    .description('Nearest words by cosine similarity.')
    .requiredOption('--vectors <file>', 'vector file')
    .argument('<word>')
    .option('--topn <n>', 'how many', int, 10)
    .option('--json', 'print JSON')
    .action(async (word: string, o) => {
      const res = (await loadVectors(o.vectors)).mostSimilar({ positive: [word], topn: o.topn });
      if (o.json) console.log(JSON.stringify(res.map(([w, s]) => ({ word: w, similarity: s }))));
      else console.log(table(res.map(([w, s]) => ({ word: w, similarity: s.toFixed(4) }))));
    }));
  vectors.addCommand(new Command('analogy')
    .description('A is to B as C is to ? (3CosAdd, or 3CosMul with --cosmul).')
    .requiredOption('--vectors <file>', 'vector file')
    .arguments('<a> <b> <c>')
    .option('--cosmul', 'use 3CosMul')
    .option('--topn <n>', 'how many answers', int, 1)
    .option('--json', 'print JSON')
    .action(async (a: string, b: string, c: string, o) => {
      const res = (await loadVectors(o.vectors)).analogy(a, b, c, { method: o.cosmul ? '3cosmul' : '3cosadd', topn: o.topn });
      if (o.json) console.log(JSON.stringify(res.map(([w, s]) => ({ word: w, score: s }))));
      else console.log(table(res.map(([w, s]) => ({ word: w, score: s.toFixed(4) }))));
    }));
  program.addCommand(vectors);
};
