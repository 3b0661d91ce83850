// `npm run bench -- lineage`: the lineage's full preset on ../shared/data (pretrain lineage --preset full): every model
// pretrained on the Gutenberg books (Chinese: the classics), transferred from scratch, frozen and fine-tuned to SST-2,
// CoNLL-2003, MRPC, SICK and Multi30k (Chinese: MSRA, ChnSentiCorp, AFQMC) at 100, 1,000 and all labels over 3 seeds,
// and the essay's claims decided from the numbers. It takes many hours on 2 cores; a rerun resumes from the cells
// already in lineage.json, and the pretrained models and frozen features are kept in bench/cache/lineage
// (PRETRAIN_BENCH_CACHE).
//
// Writes bench/results/<suite>.json (one row per model × mode × task × label count: the mean dev score over seeds, its
// sd beside it; one row per claim: the mean difference, its verdict beside it; the wall time) and, in
// bench/results/<suite>/, lineage.json, lineage.md and the pictures. <suite> is lineage, or lineage-reduced with
// --reduced: a variant of about 20 minutes (an eighth of the books, SST-2 and CoNLL-2003, 100 and 1,000 labels, 2
// seeds, the demo's sizes and budgets) whose results say so in their name.
//
//   npm run bench -- lineage [--lang en|zh] [--reduced] [--models a,b] [--tasks a,b] [--labels 100,all] [--seeds 3]
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_BUDGETS, DEMO_SHAPES, DEMO_TRANSFER, lineagePreset, mean, runLineage, sd, type LineageConfig, type LineageModel } from '../src/tasks/lineage/index.js';
import { setBackend } from '../src/backend/registry.js';
import { SHARED_DATA } from './peer.js';
import { figure, writeResults, type BenchRow } from './results.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * The reduced variant: the demo's model sizes and budgets on an eighth of the Gutenberg books (every eighth, by name),
 * SST-2 and CoNLL-2003 (500 dev examples each) at 100 and 1,000 labels over 2 seeds, ELMo and CoVe (on 5,000
 * Multi30k pairs) frozen only, as their papers used them.
 */
function reduce(config: LineageConfig): LineageConfig {
  const books = config.corpus[0]!;
  const corpus = readdirSync(books).filter((f) => f.endsWith('.txt.gz')).sort().filter((_, i) => i % 8 === 0).map((f) => join(books, f));
  return {
    ...config, variant: 'reduced (bench lineage --reduced: an eighth of the books, SST-2 and CoNLL-2003, the demo\'s sizes)', corpus, tasks: config.tasks.filter((t) => ['sst2', 'conll2003'].includes(t.name)).map((t) => ({ ...t, maxDev: 500 })), labels: [100, 1000], seeds: [1, 2],
    shapes: structuredClone(DEMO_SHAPES), budgets: { ...DEMO_BUDGETS, coveSteps: 200 }, transfer: { ...DEMO_TRANSFER },
    parallel: config.parallel ? { ...config.parallel, maxPairs: 5000 } : undefined,
    modesOf: { elmo: ['frozen'], cove: ['frozen'] },
    notRun: { ...config.notRun, 'elmo and cove scratch and finetune': 'left out of the reduced variant for time' },
  };
}

export default async function lineage(args: string[]): Promise<void> {
  const lang = (flag(args, 'lang') ?? 'en') as 'en' | 'zh';
  if (lang !== 'en' && lang !== 'zh') throw new Error(`--lang must be en or zh, got ${lang}`);
  const reduced = args.includes('--reduced');
  let config = lineagePreset('full', lang, { assets: join(HERE, '..', 'assets'), shared: SHARED_DATA.replace(/\/$/, '') });
  const missing = [...config.corpus, ...config.tasks.map((t) => t.train), ...(config.polysemy ? [config.polysemy] : [])].filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`bench lineage reads the shared data folder beside the project; missing: ${missing.join(', ')}`);
  if (reduced) config = reduce(config);
  const models = flag(args, 'models');
  if (models) config.models = models.split(',') as LineageModel[];
  const tasks = flag(args, 'tasks');
  if (tasks) config.tasks = config.tasks.filter((t) => tasks.split(',').includes(t.name));
  const labels = flag(args, 'labels');
  if (labels) config.labels = labels.split(',').map((l) => (l === 'all' ? 'all' : Number(l)));
  const seeds = flag(args, 'seeds');
  if (seeds) config.seeds = Array.from({ length: Number(seeds) }, (_, i) => i + 1);

  const suite = `lineage${reduced ? '-reduced' : ''}${lang === 'zh' ? '-zh' : ''}`;
  const outDir = join(HERE, 'results', suite);
  mkdirSync(outDir, { recursive: true });
  setBackend('cpu');
  let last = '';
  const results = await runLineage(config, {
    outDir, cacheDir: process.env.PRETRAIN_BENCH_CACHE ?? join(HERE, 'cache', 'lineage'),
    onEvent: (e) => {
      const line = e.type === 'pretrained' ? `${e.info.model}: ${e.info.cached ? 'cached' : `pretrained in ${e.info.wallSeconds.toFixed(0)} s`}`
        : e.type === 'cell-done' ? `[${e.index + 1}/${e.total}] ${e.result.id}: ${e.result.metric} ${e.result.score.toFixed(4)} (${e.result.wallSeconds.toFixed(0)} s)`
          : e.type === 'stage' ? `stage: ${e.stage}` : '';
      if (line && line !== last) console.error(line);
      last = line;
    },
  });

  const rows: BenchRow[] = [];
  const groups = new Map<string, typeof results.cells>();
  for (const c of results.cells) groups.set(`${c.task}-${c.model}-${c.mode}-${c.labels}`, [...(groups.get(`${c.task}-${c.model}-${c.mode}-${c.labels}`) ?? []), c]);
  for (const [name, cells] of groups) {
    const s = cells.map((c) => c.score);
    rows.push(figure(name, mean(s), cells[0]!.metric, `sd over ${s.length} seeds${reduced ? ' (reduced variant)' : ''}`, s.length > 1 ? sd(s) : null));
  }
  for (const c of results.claims) rows.push(figure(`claim-${c.id}`, c.difference, 'mean difference', `${c.verdict}; se`, Number.isFinite(c.se) ? c.se : null));
  rows.push(figure('wall-time', results.wallSeconds, 's', reduced ? 'reduced variant' : null));
  console.table(results.claims.map((c) => ({ claim: c.id, difference: c.difference, se: c.se, verdict: c.verdict })));
  console.log(`wrote ${writeResults(suite, rows)} and ${outDir}`);
}
