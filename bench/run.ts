// Runs one benchmark suite: `npm run bench -- <suite>` imports bench/<suite>.ts and calls its default export.
import { existsSync } from 'node:fs';

/** The suites (bench/<name>.ts), for the usage line; bench/run.ts runs any file of that name all the same. */
const SUITES = ['browser', 'cnn', 'cpu', 'elmo', 'engine', 'glove', 'image-transfer', 'lineage', 'models', 'nnlm', 'probes', 'profile', 'seq2seq', 'shakespeare', 'tokenizer', 'webgpu', 'webgpu-dispatch', 'word2vec'];

const suite = process.argv[2];
if (!suite || !/^[\w-]+$/.test(suite) || !existsSync(new URL(`./${suite}.ts`, import.meta.url))) {
  console.error(`usage: npm run bench -- <suite>   (a file bench/<suite>.ts: ${SUITES.join(', ')})`);
  process.exit(2);
}
const mod = (await import(`./${suite}.ts`)) as { default: (args: string[]) => unknown };
await mod.default(process.argv.slice(3));
