// `npm run bench -- browser [--runs 3]`: the playground's training speed in headless Chromium against the same library
// calls in Node, side by side: word2vec words/s (skip-gram, dim 100, 30 epochs of the bundled Shakespeare sample, one
// thread: the page's worker; the WebAssembly kernels on both sides) and GPT-mini training tokens/s (4 layers, width
// 128, 4 heads, context 64, batch 16, character tokens; the cpu-wasm backend with its kernel threads on both sides,
// and Node's native kernels for scale). Each figure is the best of --runs; ratio = page / Node. Needs Chromium
// (apt-get install chromium, or PRETRAIN_CHROMIUM).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backend as B, data as D, models as M, tasks, text } from '../src/index.js';
import { buildPlayground, clickAndWait, fill, findChromium, launchChromium, openPlayground, serveStatic } from '../playground/harness.js';
import type { Requests } from '../playground/src/protocol.js';
import { throughput, writeResults, type BenchRow } from './results.js';

const W2V = { model: 'skipgram', dim: 100, window: 5, epochs: 30, minCount: 3, negative: 5 } as const;
const GPT = { layers: 4, dim: 128, heads: 4, block: 64, batch: 16, steps: 20, lr: 1e-3 } as const;

/** word2vec in Node with the page's settings: words per second. */
async function nodeWord2Vec(sentences: string[][]): Promise<number> {
  const start = performance.now();
  let words = 0;
  await M.Word2Vec.train(() => sentences, { ...W2V, threads: 1, cacheJobs: false, kernels: 'wasm' }, (p) => { words = p.words; });
  return words / ((performance.now() - start) / 1000);
}

/** GPT-mini in Node on a backend with the page's settings and loop: tokens per second over the steps after the first. */
async function nodeGpt(corpus: string, backendName: string): Promise<number> {
  B.setBackend(backendName);
  const vocab = text.CharVocab.fromText(corpus);
  const split = D.splitTokens(vocab.encode(corpus));
  const model = new M.GPT(M.gptConfig({ vocab_size: vocab.size, n_positions: GPT.block, n_embd: GPT.dim, n_layer: GPT.layers, n_head: GPT.heads,
    resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, bos_token_id: 0, eos_token_id: 0 }));
  const task = new tasks.GPTPretrainTask(model, split, { batchSize: GPT.batch, blockSize: GPT.block, evalBatches: 4 });
  const config = tasks.trainConfig(tasks.GPT_PRETRAIN, { maxSteps: GPT.steps, lr: GPT.lr, warmupSteps: 2, evalEvery: 0, logEvery: 1, checkpointEvery: 0 });
  const rates: number[] = [];
  await tasks.train(task, config, { onProgress: (p) => rates.push(p.record.tokensPerSec!) });
  return rates.slice(1).reduce((s, r) => s + r, 0) / (rates.length - 1);
}

/** Runs the suite. */
export default async function main(args: string[]): Promise<void> {
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 3) || 3;
  const chromium = findChromium();
  if (!chromium) throw new Error('bench browser: no Chromium binary found (Debian: apt-get install chromium; or set PRETRAIN_CHROMIUM)');
  const corpus = readFileSync(new URL('../assets/tiny-shakespeare-200k.txt', import.meta.url), 'utf8');
  const sentences = corpus.split(/\r?\n/).map((l) => text.tokenize(l)).filter((s) => s.length > 0);
  const best = async (f: () => Promise<number>) => { let b = 0; for (let i = 0; i < runs; i++) b = Math.max(b, await f()); return b; };

  const site = join(mkdtempSync(join(tmpdir(), 'pretrain-bench-browser-')), 'site');
  await buildPlayground(site);
  const server = await serveStatic(site);
  const browser = await launchChromium(chromium);
  let page: { w2v: number; gpt: number; engine: string; version: string };
  try {
    const { page: p } = await openPlayground(browser, server.url, 'wasm');
    const engine = (await p.textContent('#engine'))!;
    await p.click('#tab-word2vec');
    await fill(p, { 'w2v-dim': W2V.dim, 'w2v-window': W2V.window, 'w2v-epochs': W2V.epochs, 'w2v-min-count': W2V.minCount, 'w2v-negative': W2V.negative });
    await p.selectOption('#w2v-model', W2V.model);
    const w2v = await best(async () => (await clickAndWait<Requests['word2vecTrain']['result']>(p, 'w2v-train', 'w2v-status', 120_000)).wordsPerSec);
    await p.click('#tab-gpt');
    await fill(p, { 'gpt-layers': GPT.layers, 'gpt-dim': GPT.dim, 'gpt-heads': GPT.heads, 'gpt-block': GPT.block, 'gpt-batch': GPT.batch, 'gpt-steps': GPT.steps, 'gpt-lr': GPT.lr });
    const gpt = await best(async () => (await clickAndWait<Requests['gptTrain']['result']>(p, 'gpt-train', 'gpt-status', 300_000)).tokensPerSec);
    page = { w2v, gpt, engine, version: browser.version() };
  } finally {
    await browser.close();
    await server.close();
  }
  console.error(`page: ${page.engine} (Chromium ${page.version})`);

  const nodeW2v = await best(() => nodeWord2Vec(sentences));
  const wasm = await B.initWasm();
  const nodeWasm = await best(() => nodeGpt(corpus, 'cpu-wasm'));
  const native = B.setBackend('cpu');
  const nodeNative = await best(() => nodeGpt(corpus, 'cpu'));
  const chrome = `headless Chromium ${page.version}`;
  const rows: BenchRow[] = [
    // ours = the page, peer = Node: the ratio is what the page keeps of Node's speed
    throughput('word2vec-skipgram-words-per-sec (1 thread, WebAssembly)', page.w2v, 'words/s', `Node ${process.version}, same call`, nodeW2v),
    throughput(`gpt-mini-tokens-per-sec (${wasm.kernels})`, page.gpt, 'tokens/s', `Node ${process.version}, cpu-wasm`, nodeWasm),
    throughput('gpt-mini-tokens-per-sec vs Node native kernels', page.gpt, 'tokens/s', `Node ${process.version}, ${native.kernels ?? 'cpu'}`, nodeNative),
  ];
  for (const r of rows) console.error(`${r.name}: ${chrome} ${r.value} ${r.unit} | ${r.peer} ${r.peer_value} | ratio ${r.ratio}`);
  console.error(`wrote ${writeResults('browser', rows)}`);
}
