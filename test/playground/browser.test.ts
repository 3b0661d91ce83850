// The playground in a real headless Chromium (the system's binary; nothing is downloaded): the app is built, served
// with the isolation headers from a local server, and driven page by page. word2vec and fill-mask answers are compared
// with the same library calls in Node, the GPT's shown loss must fall, the downloaded checkpoints must load with
// loadPretrained, and every page is photographed (under a temporary folder, or PLAYGROUND_SCREENSHOTS). Where
// Chromium has a WebGPU adapter (lavapipe or SwiftShader), a few GPT steps run on it too. Skips without Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import { models, tasks, text } from 'pretrain';
import { buildPlayground, clickAndWait, fill, findChromium, launchChromium, openPlayground, serveStatic, waitDone } from '../../playground/harness.js';
import type { Requests } from '../../playground/src/protocol.js';

const chromium = findChromium();
const SKIP = chromium ? false : 'no Chromium binary found (Debian: apt-get install chromium; or set PRETRAIN_CHROMIUM to one)';
const ROOT = new URL('../../', import.meta.url).pathname;
const BERT_DIR = join(ROOT, 'playground/public/models/tiny-bert');

test('the playground in headless Chromium: word2vec, GPT, fill-mask, polysemy, checkpoints, screenshots', { skip: SKIP, timeout: 170_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'pretrain-playground-'));
  const shots = process.env.PLAYGROUND_SCREENSHOTS ?? join(work, 'screenshots');
  mkdirSync(shots, { recursive: true });
  await buildPlayground(join(work, 'site'));
  const server = await serveStatic(join(work, 'site'));
  const browser = await launchChromium(chromium!);
  t.after(async () => { await browser.close(); await server.close(); });
  const { page, errors } = await openPlayground(browser, server.url, 'wasm');
  const shoot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  t.diagnostic(`screenshots in ${shots}`);

  await t.test('the engine: the WebAssembly kernels on worker threads, the page cross-origin isolated', async () => {
    assert.equal(await page.getAttribute('#engine', 'data-backend'), 'cpu-wasm');
    assert.match((await page.textContent('#engine'))!, /WebAssembly (relaxed )?SIMD, \d+ threads/);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    assert.match((await page.textContent('#corpus-status'))!, /200,000 characters/);
    await shoot('corpus');
  });

  await t.test('word2vec: trained in the page, its neighbours (read from the table) are those the same call gives in Node', async () => {
    await page.click('#tab-word2vec');
    const settings = { 'w2v-dim': 32, 'w2v-window': 5, 'w2v-epochs': 5, 'w2v-min-count': 3, 'w2v-negative': 5 };
    await fill(page, { ...settings, 'w2v-word': 'king' });
    const trained = await clickAndWait<Requests['word2vecTrain']['result']>(page, 'w2v-train', 'w2v-status');
    assert.ok(trained.vocabulary > 500 && trained.wordsPerSec > 0, JSON.stringify(trained));
    assert.equal(await page.$eval('#w2v-progress', (p) => (p as HTMLProgressElement).value), 1);
    await clickAndWait(page, 'w2v-neighbours-go', 'w2v-query-status');
    const shown = await page.$$eval('#w2v-neighbours tbody tr', (rows) => rows.map((r) => [r.children[0]!.textContent!, Number(r.children[1]!.textContent)] as [string, number]));
    assert.equal(shown.length, 10);
    // the page's worker runs the same trainer on the same sentences with one thread: deterministic for the seed
    const corpus = readFileSync(join(ROOT, 'assets/tiny-shakespeare-200k.txt'), 'utf8');
    const sentences = corpus.split(/\r?\n/).map((l) => text.tokenize(l)).filter((s) => s.length > 0);
    const node = (await models.Word2Vec.train(() => sentences, { model: 'skipgram', dim: 32, window: 5, epochs: 5, minCount: 3, negative: 5, threads: 1, cacheJobs: false }))
      .toVectors().mostSimilar({ positive: ['king'], topn: 10 });
    assert.deepEqual(shown.map(([w]) => w), node.map(([w]) => w));
    shown.forEach(([, s], i) => assert.ok(Math.abs(s - node[i]![1]) < 1e-4, `cosine ${i}: ${s} vs ${node[i]![1]}`));
    await clickAndWait(page, 'w2v-analogy-go', 'w2v-analogy-status');
    assert.equal(await page.$$eval('#w2v-analogy tbody tr', (r) => r.length), 5);
    const projected = await clickAndWait<Requests['project']['result']>(page, 'w2v-project-go', 'w2v-project-status');
    assert.ok(projected.points.length >= 5);
    assert.equal(await page.$$eval('#w2v-plot circle', (c) => c.length), projected.points.length);
    await shoot('word2vec');
  });

  await t.test('GPT: the loss shown falls within a few steps; sampling and the attention heat-map work', async () => {
    await page.click('#tab-gpt');
    await fill(page, { 'gpt-steps': 25, 'gpt-layers': 2, 'gpt-dim': 64, 'gpt-heads': 4, 'gpt-block': 64, 'gpt-batch': 16 });
    const result = await clickAndWait<Requests['gptTrain']['result']>(page, 'gpt-train', 'gpt-status', 90_000);
    assert.equal(result.steps, 25);
    const losses = JSON.parse((await page.getAttribute('#gpt-losses', 'data-losses'))!) as number[];
    assert.equal(losses.length, 25);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(mean(losses.slice(-5)) < mean(losses.slice(0, 5)) - 0.3, `the loss falls: ${losses.map((l) => l.toFixed(2)).join(' ')}`);
    assert.ok(await page.$('#gpt-chart polyline'), 'the chart is drawn');
    await fill(page, { 'gpt-new': 40 });
    await clickAndWait(page, 'gpt-sample-go', 'gpt-sample-status');
    assert.ok((await page.textContent('#gpt-sample'))!.length > 'ROMEO:'.length);
    await clickAndWait(page, 'gpt-attention-go', 'gpt-attention-status');
    assert.equal(await page.$$eval('#gpt-attention canvas', (c) => c.length), 4, 'one heat-map per head');
    await shoot('gpt');
  });

  await t.test('BERT: fill-mask with the bundled tiny model gives the table Node gives with the same files', async () => {
    await page.click('#tab-bert');
    await clickAndWait(page, 'bert-bundled', 'bert-status');
    await fill(page, { 'bert-text': 'the [MASK] of the king', 'bert-topk': 5 });
    await clickAndWait(page, 'bert-fill-go', 'bert-fill-status');
    const rows = await page.$$eval('#bert-table tbody tr', (rs) => rs.map((r) => [r.children[1]!.textContent!, Number(r.children[2]!.textContent)] as [string, number]));
    const { model } = await models.loadPretrained(BERT_DIR);
    const node = (await tasks.fillMask(model as models.BertForPreTraining, text.Tokenizer.fromFile(join(BERT_DIR, 'tokenizer.json')), 'the [MASK] of the king', 5))[0]!;
    assert.deepEqual(rows.map(([tok]) => tok), node.map((c) => c.token));
    rows.forEach(([, p], i) => assert.ok(Math.abs(p - node[i]!.score) < 1e-4, `probability ${i}: ${p} vs ${node[i]!.score}`));
    await shoot('bert');
  });

  await t.test('polysemy: word2vec gives "king" one vector (cosine 1), BERT "bank" a cosine per layer', async () => {
    await page.click('#tab-polysemy');
    await page.selectOption('#poly-model', 'word2vec');
    await fill(page, { 'poly-a': 'the king is dead', 'poly-b': 'long live the king', 'poly-word': 'king' });
    const fixed = await clickAndWait<Requests['polysemy']['result']>(page, 'poly-go', 'poly-status');
    assert.equal(fixed.layers.length, 1);
    assert.ok(Math.abs(fixed.layers[0]! - 1) < 1e-6);
    await page.selectOption('#poly-model', 'bert');
    await fill(page, { 'poly-a': 'he sat on the bank of the river', 'poly-b': 'she put the money in the bank', 'poly-word': 'bank' });
    const contextual = await clickAndWait<Requests['polysemy']['result']>(page, 'poly-go', 'poly-status');
    assert.equal(contextual.layers.length, 3, 'embeddings and two layers');
    assert.ok(contextual.layers.slice(1).every((c) => c < 0.999), `the layers tell the contexts apart: ${contextual.layers}`);
    assert.equal(await page.$$eval('#poly-table tbody tr', (r) => r.length), 3);
    await shoot('polysemy');
  });

  await t.test('checkpoints: the GPT and BERT zips unpack into Hugging Face directories that loadPretrained loads', async () => {
    await page.click('#tab-checkpoints');
    for (const which of ['gpt', 'bert'] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#ckpt-${which}`)]);
      const files = unzipSync(readFileSync((await download.path())!));
      const dir = join(work, which);
      for (const [name, bytes] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), bytes);
      }
      const root = join(dir, `${which}-playground`);
      const { model } = await models.loadPretrained(root);
      assert.equal(model.constructor.name, which === 'gpt' ? 'GPT' : 'BertForPreTraining');
      assert.ok(Object.keys(files).some((f) => f.endsWith(which === 'gpt' ? 'char_vocab.json' : 'tokenizer.json')));
    }
    await shoot('checkpoints');
  });

  await t.test('bad input: a file with invalid UTF-8 is read with the bytes counted, a model folder without its tokenizer is named', async () => {
    await page.click('#tab-bert');
    // a folder picked from disk, as a person would, with no tokenizer.json beside the weights
    const folder = join(work, 'no-tokenizer');
    mkdirSync(folder);
    for (const f of ['config.json', 'model.safetensors']) writeFileSync(join(folder, f), readFileSync(join(BERT_DIR, f)));
    await page.setInputFiles('#bert-dir', folder);
    await assert.rejects(waitDone(page, 'bert-status'), /no-tokenizer: no tokenizer\.json/);
    await page.click('#tab-corpus');
    // "caf\xe9" in Latin-1: one invalid byte, then a sequence cut off by the end of the file
    await page.setInputFiles('#corpus-file', { name: 'latin1.txt', mimeType: 'text/plain', buffer: Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b, 0x0a, 0xe2, 0x82]) });
    const info = await waitDone<Requests['corpus']['result']>(page, 'corpus-status');
    assert.deepEqual([info.invalidSequences, info.invalidBytes], [2, 3]);
    assert.match((await page.textContent('#corpus-status'))!, /latin1\.txt: .*2 invalid UTF-8 sequences \(3 bytes\) replaced/);
    await page.click('#tab-gpt');
    await page.click('#gpt-sample-go');
    await assert.rejects(waitDone(page, 'gpt-sample-status'), /no GPT yet/, 'a new corpus drops the models trained on the old one');
  });

  await t.test('no errors in the page', () => {
    assert.deepEqual(errors, []);
  });
});

test('the playground on WebGPU in headless Chromium, where it has an adapter', { skip: SKIP, timeout: 90_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'pretrain-playground-gpu-'));
  await buildPlayground(join(work, 'site'));
  const server = await serveStatic(join(work, 'site'));
  const browser = await launchChromium(chromium!, { webgpu: true });
  t.after(async () => { await browser.close(); await server.close(); });
  const probe = await browser.newPage();
  await probe.goto(server.url);
  const adapter = await probe.evaluate(async () => Boolean(await (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()));
  await probe.close();
  if (!adapter) { t.skip('headless Chromium has no WebGPU adapter here (on Linux it needs a Vulkan driver: lavapipe from mesa-vulkan-drivers)'); return; }
  const { page } = await openPlayground(browser, server.url, 'webgpu');
  assert.equal(await page.getAttribute('#engine', 'data-backend'), 'webgpu');
  t.diagnostic((await page.textContent('#engine'))!);
  await page.click('#tab-gpt');
  await fill(page, { 'gpt-steps': 8, 'gpt-layers': 1, 'gpt-dim': 32, 'gpt-heads': 2, 'gpt-block': 32, 'gpt-batch': 4 });
  const result = await clickAndWait<Requests['gptTrain']['result']>(page, 'gpt-train', 'gpt-status', 60_000);
  const losses = JSON.parse((await page.getAttribute('#gpt-losses', 'data-losses'))!) as number[];
  assert.equal(result.steps, 8);
  assert.ok(losses.every(Number.isFinite) && losses[losses.length - 1]! < losses[0]!, `losses on the GPU: ${losses}`);
});
