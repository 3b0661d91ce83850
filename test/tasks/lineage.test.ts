// The lineage on a tiny set made here: the grid runs end to end, every cell is a number that came from its run (its
// best evaluation, its steps and its timing), the claims are computed from the cells by the stated rule, the pictures
// are written, a rerun resumes from lineage.json, and the content-hash cache is reused and invalidated as it should be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setBackend } from '../../src/backend/registry.js';
import { loadEncoder } from '../../src/tasks/transfer/build.js';
import { padBatch } from '../../src/tasks/transfer/encoders.js';
import {
  CachedFeatureEncoder, ContentCache, DECISION_RULE, LINEAGE_MODES, canonicalJson, compare, decide, hashFiles, lineageCells, mean, runLineage, sd,
  type CellResult, type LineageConfig, type LineageEvent,
} from '../../src/tasks/lineage/index.js';

const POLYSEMY = fileURLToPath(new URL('../fixtures/probes/polysemy.json', import.meta.url));

/** A corpus, a classification task (which animal a sentence is about) and a tagging task (names), in a fresh folder. */
function tinyData(): { dir: string; config: LineageConfig } {
  const dir = mkdtempSync(join(tmpdir(), 'lineage-'));
  const animals = ['cat', 'dog', 'bird', 'fish'], verbs = ['sees', 'likes', 'finds', 'follows'], names = ['Anna', 'Ben', 'Clara', 'David'];
  const sentence = (i: number) => `${names[i % 4]} ${verbs[(i >> 2) % 4]} the ${animals[(i >> 4) % 4]} by the river bank.`;
  writeFileSync(join(dir, 'corpus.txt'), Array.from({ length: 60 }, (_, p) => Array.from({ length: 5 }, (_, k) => sentence(p * 5 + k)).join(' ')).join('\n\n') + '\n');
  const topic = (i: number) => ({ text: `the ${animals[i % 2]} ${verbs[i % 4]} a ${animals[2 + ((i >> 1) % 2)]}`, label: animals[i % 2] });
  const tags = (i: number) => ({ words: ['then', names[i % 4]!.toLowerCase(), verbs[i % 4], 'the', animals[i % 4]], tags: ['O', 'B-NAME', 'O', 'O', 'O'] });
  const lines = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  writeFileSync(join(dir, 'topic-train.jsonl'), lines(Array.from({ length: 24 }, (_, i) => topic(i))));
  writeFileSync(join(dir, 'topic-dev.jsonl'), lines(Array.from({ length: 8 }, (_, i) => topic(i + 100))));
  writeFileSync(join(dir, 'tags-train.jsonl'), lines(Array.from({ length: 24 }, (_, i) => tags(i))));
  writeFileSync(join(dir, 'tags-dev.jsonl'), lines(Array.from({ length: 8 }, (_, i) => tags(i + 100))));
  const config: LineageConfig = {
    preset: 'demo', lang: 'en', corpus: [join(dir, 'corpus.txt')], models: ['word2vec-sg', 'bert'], modes: [...LINEAGE_MODES],
    tasks: [
      { name: 'topic', description: 'which animal', train: join(dir, 'topic-train.jsonl'), dev: join(dir, 'topic-dev.jsonl'), metric: 'accuracy' },
      { name: 'tags', description: 'names', train: join(dir, 'tags-train.jsonl'), dev: join(dir, 'tags-dev.jsonl'), metric: 'f1' },
    ],
    labels: [8, 'all'], seeds: [1, 2],
    budgets: { word2vecEpochs: 1, gloveEpochs: 1, nnlmSteps: 3, elmoSteps: 2, coveSteps: 2, gptSteps: 3, bertSteps: 3 },
    shapes: {
      vectors: { dim: 8, window: 2, minCount: 1 },
      nnlm: { order: 3, embedding: 8, hidden: 8, maxVocab: 100, batch: 8 },
      elmo: { lstmDim: 16, projectionDim: 8, filterScale: 0.05, highway: 0, maxVocab: 100, maxTokens: 8, batch: 4 },
      cove: { hidden: 8, targetEmbedding: 8, maxVocab: 100, batch: 4 },
      transformer: { layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 120, seq: 32, batch: 8 },
    },
    transfer: { epochs: 1, minSteps: 3, maxSteps: 3, evaluations: 2, batch: 8, lrFinetune: 1e-3, lrFrozen: 1e-2, head: 'linear', maxLength: 32 },
    polysemy: POLYSEMY, notRun: {},
  };
  return { dir, config };
}

const readResults = (dir: string) => JSON.parse(readFileSync(join(dir, 'lineage.json'), 'utf8')) as { cells: CellResult[]; claims: { id: number; verdict: string; comparisons: { label: string; meanA: number; meanB: number }[] }[] };

test('lineage: the demo grid on a tiny set runs, every cell came from its run, the claims come from the cells, a rerun resumes and the cache is reused and invalidated', async () => {
  setBackend('cpu');
  const { dir, config } = tinyData();
  const cache = join(dir, 'cache');
  const events: LineageEvent[] = [];
  const first = await runLineage(config, { outDir: join(dir, 'out'), cacheDir: cache, onEvent: (e) => events.push(e) });

  // the grid: 2 models x 3 modes x 2 tasks x 2 label counts x 2 seeds, each cell once, in lineage.json as returned
  const cells = lineageCells(config);
  assert.equal(cells.length, 2 * 3 * 2 * 2 * 2);
  assert.equal(first.cells.length, cells.length);
  assert.deepEqual(readResults(join(dir, 'out')).cells.map((c) => c.id), first.cells.map((c) => c.id));
  assert.equal(new Set(first.cells.map((c) => c.key)).size, cells.length);
  for (const c of first.cells) {
    // a number from a run: its best evaluation, at the step the run reports, after the steps the settings give
    assert.ok(Number.isFinite(c.score) && c.curve.length === 2, c.id);
    assert.equal(c.score, Math.max(...c.curve.map((p) => p.value)), c.id);
    assert.equal(c.bestStep, c.curve.find((p) => p.value === c.score)!.step, c.id);
    assert.equal(c.steps, 3);
    assert.ok(c.wallSeconds > 0 && Number.isFinite(c.trainLoss) && c.trainableParameters > 0, c.id);
    assert.equal(c.trainExamples, c.labels === 'all' ? 24 : 8);
    assert.equal(c.devExamples, 8);
    assert.ok(!Number.isNaN(Date.parse(c.finished)));
  }
  // seeds differ in their samples and initialisation: not every pair of seeds scores alike
  const bySeed = (seed: number) => first.cells.filter((c) => c.seed === seed).map((c) => c.trainLoss);
  assert.notDeepEqual(bySeed(1), bySeed(2));
  // frozen cells train only the new top
  const bertFrozen = first.cells.find((c) => c.model === 'bert' && c.mode === 'frozen')!, bertTuned = first.cells.find((c) => c.model === 'bert' && c.mode === 'finetune')!;
  assert.ok(bertFrozen.trainableParameters < bertTuned.trainableParameters / 5);

  // the claims: six rows, each verdict from the rule, each comparison's means the means of the cells it names
  assert.deepEqual(first.claims.map((c) => c.id), [1, 2, 3, 4, 5, 6]);
  for (const c of first.claims) assert.ok(['supported', 'not supported', 'too noisy to say', 'not run'].includes(c.verdict));
  assert.equal(first.claims[3]!.verdict, 'not run'); // no LSTM here
  assert.equal(first.claims[4]!.verdict, 'not run'); // no GPT here
  const claim1 = first.claims[0]!;
  assert.equal(claim1.comparisons.length, 2 * 2 * 2); // 2 models x frozen/finetune x 2 tasks, at 8 labels
  const scores = (model: string, mode: string, task: string) => first.cells.filter((c) => c.model === model && c.mode === mode && c.task === task && c.labels === 8).map((c) => c.score);
  const bertTopic = claim1.comparisons.find((c) => c.label.startsWith('bert finetune') && c.label.includes('topic'))!;
  assert.equal(bertTopic.meanA, mean(scores('bert', 'finetune', 'topic')));
  assert.equal(bertTopic.meanB, mean(scores('bert', 'scratch', 'topic')));
  assert.equal(claim1.difference, mean(claim1.comparisons.map((c) => c.difference)));
  // polysemy: both models probed; word2vec's single layer scores chance (every occurrence ties)
  assert.deepEqual(first.polysemy.map((p) => p.model), ['word2vec-sg', 'bert']);
  assert.ok(Math.abs(first.polysemy[0]!.value - first.polysemy[0]!.chance) < 1e-9);
  assert.equal(first.claims[2]!.comparisons.length, 1);
  // the pictures, and the progress the caller heard
  for (const name of ['learning-curves', 'convergence', 'polysemy']) {
    for (const ext of ['svg', 'png']) assert.ok(existsSync(join(dir, 'out', `${name}.${ext}`)), `${name}.${ext}`);
  }
  assert.match(readFileSync(join(dir, 'out', 'learning-curves.svg'), 'utf8'), /^<svg/);
  assert.deepEqual([...readFileSync(join(dir, 'out', 'polysemy.png')).subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
  assert.ok(events.some((e) => e.type === 'pretrain') && events.filter((e) => e.type === 'cell-start').length === cells.length);
  assert.match(readFileSync(join(dir, 'out', 'lineage.md'), 'utf8'), /## Claims[\s\S]*\| 1 \| Pretraining lets a task be learned from few labels\./);
  assert.equal(first.pretrained.every((p) => !p.cached), true);
  // frozen features: one store per model and task, saved to the cache
  assert.equal(readdirSync(cache).filter((n) => n.startsWith('features-') && !n.includes('.tmp')).length, 2 * 2);

  // a rerun in the same folder keeps every cell (same keys) and pretrains nothing
  const again = await runLineage(config, { outDir: join(dir, 'out'), cacheDir: cache });
  assert.ok(again.pretrained.every((p) => p.cached));
  assert.deepEqual(again.cells.map((c) => c.finished), first.cells.map((c) => c.finished));

  // interrupted: a lineage.json with half the cells resumes with the rest
  const partial = readResults(join(dir, 'out'));
  writeFileSync(join(dir, 'out', 'lineage.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'out', 'lineage.json'), 'utf8')), cells: partial.cells.slice(0, 10) }));
  const resumed = await runLineage(config, { outDir: join(dir, 'out'), cacheDir: cache });
  assert.deepEqual(resumed.cells.slice(0, 10).map((c) => c.finished), first.cells.slice(0, 10).map((c) => c.finished));
  assert.ok(resumed.cells.slice(10).every((c, i) => c.finished > first.cells[10 + i]!.finished));

  // a changed budget pretrains that model again (and reruns its cells); the other is found in the cache
  const entries = readdirSync(cache).filter((n) => n.startsWith('pretrained-bert-'));
  const changed = await runLineage({ ...config, budgets: { ...config.budgets, bertSteps: 4 } }, { outDir: join(dir, 'out'), cacheDir: cache });
  assert.equal(changed.pretrained.find((p) => p.model === 'bert')!.cached, false);
  assert.equal(changed.pretrained.find((p) => p.model === 'word2vec-sg')!.cached, true);
  assert.equal(readdirSync(cache).filter((n) => n.startsWith('pretrained-bert-')).length, entries.length + 1);
  const w2vCells = (r: { cells: CellResult[] }) => r.cells.filter((c) => c.model === 'word2vec-sg').map((c) => c.finished);
  assert.deepEqual(w2vCells(changed), w2vCells(resumed));
  assert.ok(changed.cells.filter((c) => c.model === 'bert').every((c, i) => c.finished > resumed.cells.filter((r) => r.model === 'bert')[i]!.finished));
});

test('lineage in Chinese: character vectors and a BERT on a character corpus, tagging characters and classifying unsegmented text', async () => {
  setBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'lineage-zh-'));
  const people = ['宝玉', '黛玉', '悟空', '八戒'], acts = ['来到', '看见', '说道', '走进'], places = ['园中', '山上', '府里', '河边'];
  const line = (i: number) => `${people[i % 4]}${acts[(i >> 2) % 4]}${places[(i >> 4) % 4]}。`;
  writeFileSync(join(dir, 'corpus.txt'), Array.from({ length: 40 }, (_, p) => Array.from({ length: 4 }, (_, k) => line(p * 4 + k)).join('')).join('\n\n') + '\n');
  // MSRA's layout: a character and its tag a line, a blank line between sentences
  const tagged = (i: number) => [...people[i % 4]!].map((c, k) => `${c}\t${k === 0 ? 'B-PER' : 'I-PER'}`).concat([...`${acts[i % 4]}${places[(i >> 1) % 4]}`].map((c) => `${c}\tO`)).join('\n');
  writeFileSync(join(dir, 'ner-train.txt'), Array.from({ length: 16 }, (_, i) => tagged(i)).join('\n\n') + '\n');
  writeFileSync(join(dir, 'ner-dev.txt'), Array.from({ length: 6 }, (_, i) => tagged(i + 3)).join('\n\n') + '\n');
  const review = (i: number) => JSON.stringify({ text: `${places[i % 4]}${i % 2 ? '很好' : '不好'}`, label: String(i % 2) });
  writeFileSync(join(dir, 'cls-train.jsonl'), Array.from({ length: 16 }, (_, i) => review(i)).join('\n') + '\n');
  writeFileSync(join(dir, 'cls-dev.jsonl'), Array.from({ length: 6 }, (_, i) => review(i + 1)).join('\n') + '\n');
  const { config } = tinyData();
  const zh: LineageConfig = {
    ...config, lang: 'zh', corpus: [join(dir, 'corpus.txt')], labels: ['all'], seeds: [1], polysemy: undefined,
    tasks: [
      { name: 'ner', description: 'people', train: join(dir, 'ner-train.txt'), dev: join(dir, 'ner-dev.txt'), metric: 'f1' },
      { name: 'cls', description: 'good or bad', train: join(dir, 'cls-train.jsonl'), dev: join(dir, 'cls-dev.jsonl'), metric: 'accuracy' },
    ],
  };
  const r = await runLineage(zh, { outDir: join(dir, 'out'), cacheDir: join(dir, 'cache') });
  assert.equal(r.cells.length, 2 * 3 * 2);
  assert.ok(r.cells.every((c) => Number.isFinite(c.score) && c.trainExamples === 16 && c.devExamples === 6));
  // the vectors are of characters (the corpus has no spaces): 7 in the names (玉 twice), 8 in the verbs, 8 in the places, and 。
  const vectors = r.pretrained.find((p) => p.model === 'word2vec-sg')!;
  assert.equal(vectors.summary.vocab, 24);
  assert.equal(r.claims[2]!.verdict, 'not run');
});

test('lineage generation: Multi30k-style cells through the seq2seq API, GPT and BERT from scratch and fine-tuned, BLEU over 100 from their runs', async () => {
  setBackend('cpu');
  const { dir, config } = tinyData();
  const en = ['a dog runs', 'a cat sleeps', 'the bird sings', 'the fish swims'], de = ['ein hund läuft', 'eine katze schläft', 'der vogel singt', 'der fisch schwimmt'];
  const lines = (xs: string[], n: number) => gzipSync(Array.from({ length: n }, (_, i) => xs[i % 4]).join('\n') + '\n');
  mkdirSync(join(dir, 'mt'));
  writeFileSync(join(dir, 'mt', 'train.en.gz'), lines(en, 24));
  writeFileSync(join(dir, 'mt', 'train.de.gz'), lines(de, 24));
  writeFileSync(join(dir, 'mt', 'val.en.gz'), lines(en, 4));
  writeFileSync(join(dir, 'mt', 'val.de.gz'), lines(de, 4));
  const r = await runLineage({
    ...config, models: ['gpt', 'bert'], tasks: [{ name: 'mt', description: 'en-de', train: join(dir, 'mt'), metric: 'bleu', generation: true }],
    labels: ['all'], seeds: [1], polysemy: undefined, parallel: { dir: join(dir, 'mt'), source: 'en', target: 'de' },
  }, { outDir: join(dir, 'out'), cacheDir: join(dir, 'cache') });
  // no frozen cells: a fixed model cannot learn to translate
  assert.deepEqual(r.cells.map((c) => c.id), ['gpt/scratch/mt/all/seed1', 'gpt/finetune/mt/all/seed1', 'bert/scratch/mt/all/seed1', 'bert/finetune/mt/all/seed1']);
  for (const c of r.cells) {
    assert.equal(c.metric, 'bleu/100');
    assert.ok(c.score >= 0 && c.score <= 1 && c.score === Math.max(...c.curve.map((p) => p.value)), c.id);
    assert.deepEqual([c.trainExamples, c.devExamples, c.steps], [24, 4, 3]);
  }
});

test('lineage feature store: rows are computed once, served from memory and from a saved file, equal at the positions a feature model reads', async () => {
  setBackend('cpu');
  const { dir, config } = tinyData();
  const run = await runLineage({ ...config, models: ['bert'], modes: ['frozen'], tasks: config.tasks.slice(1), labels: ['all'], seeds: [1], polysemy: undefined }, { outDir: join(dir, 'out'), cacheDir: join(dir, 'cache') });
  const source = run.pretrained[0]!.source;
  const examples = [{ words: ['then', 'anna', 'sees', 'the', 'cat'] }, { words: ['ben', 'likes', 'a', 'river', 'bank', 'today'] }];
  const first = new CachedFeatureEncoder(await loadEncoder(source));
  const { inputs } = first.tokenize(examples);
  const batch = padBatch(inputs, first.padId);
  const computed = first.forward(batch).map((t) => t.dataSync() as Float32Array);
  const served = first.forward(padBatch(inputs, first.padId)).map((t) => t.dataSync() as Float32Array);
  assert.deepEqual([first.misses, first.hits, first.size], [2, 2, 2]);
  await first.save(join(dir, 'features.safetensors'));
  const second = new CachedFeatureEncoder(await loadEncoder(source));
  await second.load(join(dir, 'features.safetensors'));
  second.tokenize(examples);
  const loaded = second.forward(padBatch(inputs, second.padId)).map((t) => t.dataSync() as Float32Array);
  assert.deepEqual([second.misses, second.hits], [0, 2]);
  const H = first.hiddenSize, T = batch.inputIds.shape[1]!;
  inputs.forEach((x, b) => {
    for (const t of new Set([0, x.ids.length - 1, ...x.wordStarts])) {
      for (let s = 0; s < computed.length; s++) {
        const at = (b * T + t) * H;
        assert.deepEqual(served[s]!.subarray(at, at + H), computed[s]!.subarray(at, at + H));
        assert.deepEqual(loaded[s]!.subarray(at, at + H), computed[s]!.subarray(at, at + H));
      }
    }
  });
});

test('lineage cache: keys are order-free, a file change changes the hash, an entry is built once and replaced by put', async () => {
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 0 }] } }), canonicalJson({ a: { c: [3, { e: 0, f: 1 }], d: 2 }, b: 1 }));
  const dir = mkdtempSync(join(tmpdir(), 'lineage-cache-'));
  writeFileSync(join(dir, 'a.txt'), 'one');
  const h1 = await hashFiles([dir]);
  writeFileSync(join(dir, 'a.txt'), 'two');
  const h2 = await hashFiles([dir]);
  assert.notEqual(h1, h2);
  writeFileSync(join(dir, 'a.txt'), 'one');
  assert.equal(await hashFiles([dir]), h1);
  const cache = new ContentCache(join(dir, 'cache'));
  let builds = 0;
  const build = async (d: string) => { builds++; writeFileSync(join(d, 'x'), String(builds)); return { n: builds }; };
  const a = await cache.get('thing', { k: 1, j: 2 }, build);
  const b = await cache.get('thing', { j: 2, k: 1 }, build);
  assert.equal(builds, 1);
  assert.deepEqual([a.hit, b.hit, b.meta.n, b.dir], [false, true, 1, a.dir]);
  assert.notEqual((await cache.get('thing', { k: 2, j: 2 }, build)).dir, a.dir);
  const replaced = await cache.put('thing', { k: 1, j: 2 }, build);
  assert.equal(replaced.dir, a.dir);
  assert.equal(readFileSync(join(a.dir, 'x'), 'utf8'), '3');
  assert.equal((await cache.lookup<{ n: number }>('thing', { k: 1, j: 2 }))!.meta.n, 3);
  assert.equal(await cache.lookup('thing', { k: 9 }), null);
});

test('lineage claims: the decision rule on mean ± sd, and "not run" without comparisons', () => {
  const c = compare('x', [0.8, 0.82, 0.84], [0.5, 0.52, 0.54]);
  assert.ok(Math.abs(c.difference - 0.3) < 1e-12);
  assert.ok(Math.abs(c.se - Math.sqrt(2 * sd([0.8, 0.82, 0.84]) ** 2 / 3)) < 1e-12);
  assert.equal(decide(1, 'a', 'm', [c], '').verdict, 'supported');
  assert.equal(decide(1, 'a', 'm', [compare('y', [0.5, 0.52, 0.54], [0.8, 0.82, 0.84])], '').verdict, 'not supported');
  assert.equal(decide(1, 'a', 'm', [compare('z', [0.5, 0.9, 0.7], [0.6, 0.65, 0.7])], '').verdict, 'too noisy to say');
  assert.equal(decide(1, 'a', 'm', [compare('one seed', [0.9], [0.1])], '').verdict, 'too noisy to say');
  const none = decide(1, 'a', 'm', [], 'no runs');
  assert.deepEqual([none.verdict, none.reason], ['not run', 'no runs']);
  // two comparisons: the mean difference, the standard error √(Σ se²)/k
  const two = decide(1, 'a', 'm', [c, compare('w', [0.6, 0.61, 0.65], [0.6, 0.62, 0.6])], '');
  assert.ok(Math.abs(two.se - Math.sqrt(two.comparisons[0]!.se ** 2 + two.comparisons[1]!.se ** 2) / 2) < 1e-12);
  assert.equal(two.favouring, 2);
  assert.match(DECISION_RULE, /d̄ − 2·se > 0/);
});
