// `pretrain lineage`: every model of the lineage pretrained on one corpus and transferred to the same tasks, the
// essay's claims decided by the numbers. `--preset demo` (what `npx pretrain` with no arguments runs) uses the bundled
// data in assets/lineage; `--preset full` reads ../shared/data.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { DEMO_BUDGETS, FULL_BUDGETS, LINEAGE_MODELS, LINEAGE_MODES, lineagePreset, type Budgets, type LineageConfig, type LineageModel, type LineageMode } from '../tasks/lineage/grid.js';
import { runLineage, type LineageEvent } from '../tasks/lineage/run.js';
import { packageRoot } from './assets.js';
import { useBackend } from './train-options.js';
import { formatDuration, formatNumber, parse, progressBar, table } from './ui.js';

/** "a,b,c" as a list whose items are all in `allowed`. */
function listOf<T extends string>(flag: string, allowed: readonly T[]) {
  return (value: string): T[] => {
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = items.filter((i) => !allowed.includes(i as T));
    if (bad.length || items.length === 0) throw new Error(`${flag}: expected a comma-separated list of ${allowed.join(', ')}; got '${value}'`);
    return items as T[];
  };
}

/** "100,1000,all". */
function labelCounts(value: string): (number | 'all')[] {
  return value.split(',').map((s) => {
    const t = s.trim();
    if (t === 'all') return 'all';
    const n = Number(t);
    if (!(Number.isInteger(n) && n > 0)) throw new Error(`--labels: expected positive counts or 'all', comma-separated; got '${value}'`);
    return n;
  });
}

/** The budget flags: the budget, the option's parsed name, the flag and what it sets. */
const BUDGET_FLAGS: [keyof Budgets, string, string, string][] = [
  ['word2vecEpochs', 'w2vEpochs', '--w2v-epochs <n>', 'word2vec epochs (skip-gram and CBOW)'],
  ['gloveEpochs', 'gloveEpochs', '--glove-epochs <n>', 'GloVe epochs'],
  ['nnlmSteps', 'nnlmSteps', '--nnlm-steps <n>', 'NNLM steps'],
  ['elmoSteps', 'elmoSteps', '--elmo-steps <n>', 'ELMo biLM steps'],
  ['coveSteps', 'coveSteps', '--cove-steps <n>', 'CoVe translation steps'],
  ['gptSteps', 'gptSteps', '--gpt-steps <n>', 'GPT steps'],
  ['bertSteps', 'bertSteps', '--bert-steps <n>', 'BERT steps'],
];

/** Progress bars per stage: one per model's pretraining phase, one over the grid's cells, one per polysemy probe. */
function reporter(quiet: boolean) {
  let bar: ReturnType<typeof progressBar> | null = null;
  let current = '';
  let cellLabel = '';
  let cellIndex = 0;
  let resumed = false;
  const open = (label: string, total: number, unit: string) => {
    if (current === label) return bar!;
    bar?.stop();
    current = label;
    bar = progressBar(label, total, { unit, quiet });
    return bar;
  };
  const say = (line: string) => { if (!quiet) { bar?.stop(); current = ''; console.error(line); } };
  return {
    event(e: LineageEvent) {
      switch (e.type) {
        case 'pretrain': {
          const b = open(`pretrain ${e.model} (${e.phase})`, e.total, e.unit);
          b.setTotal(e.total);
          b.update(e.done, e.detail ?? '');
          break;
        }
        case 'pretrained':
          say(`${e.info.model}: ${e.info.cached ? 'cached' : `pretrained in ${formatDuration(e.info.wallSeconds)}`} (${e.info.source})`);
          break;
        case 'cell-start':
          if (e.reused > 0 && !resumed) say(`resuming: ${formatNumber(e.reused)} finished cells kept from lineage.json`);
          resumed = true;
          cellLabel = `${e.cell.model} ${e.cell.mode} ${e.cell.task} @${e.cell.labels} seed ${e.cell.seed}`;
          cellIndex = e.index;
          open('transfer', e.total, 'cells').update(e.index, cellLabel);
          break;
        case 'cell-step':
          bar?.update(cellIndex, `${cellLabel} | step ${e.step}/${e.maxSteps}`);
          break;
        case 'cell-done':
          open('transfer', e.total, 'cells').update(e.index + 1, `${e.result.id}: ${e.result.metric} ${e.result.score.toFixed(3)}`);
          break;
        case 'polysemy':
          open(`polysemy ${e.model}`, e.total, 'sentences').update(e.done);
          break;
        case 'stage':
          if (e.stage === 'claims') { bar?.stop(); current = ''; }
          break;
      }
    },
    stop() { bar?.stop(); },
  };
}

function lineageCommand() {
  const cmd = new Command('lineage')
    .description('Pretrain every model of the lineage (word2vec skip-gram and CBOW, GloVe, NNLM, ELMo, CoVe, GPT, BERT) on one corpus, transfer each '
      + 'from scratch, frozen and fine-tuned to the same tasks at several label counts over seeds, and decide the essay\'s claims from the '
      + 'numbers. Writes lineage.json (every figure with its configuration, after each cell: rerunning resumes), lineage.md and pictures '
      + '(SVG, PNG) in --out; pretrained models and frozen features are cached by content hash in --cache.')
    .addOption(new Option('--preset <name>', 'demo: the bundled corpus and two tasks, tiny models, minutes; full: ../shared/data, hours').choices(['demo', 'full'] as const).default('demo' as const))
    .addOption(new Option('--lang <lang>', 'English (gutenberg; SST-2, CoNLL-2003, MRPC, SICK) or Chinese (chinese-classics; MSRA, ChnSentiCorp, AFQMC), full preset').choices(['en', 'zh'] as const).default('en' as const))
    .option('--data <dir>', 'the shared data folder the full preset reads (default: ../shared/data beside the package)')
    .option('--out <dir>', 'output folder: lineage.json, lineage.md, learning-curves/convergence/polysemy .svg and .png', 'runs/lineage')
    .option('--cache <dir>', 'the content-hash cache of pretrained models and frozen features (default: <out>/cache)')
    .option('--models <list>', `comma-separated subset of ${LINEAGE_MODELS.join(', ')}`, listOf('--models', LINEAGE_MODELS))
    .option('--modes <list>', `comma-separated subset of ${LINEAGE_MODES.join(', ')}`, listOf('--modes', LINEAGE_MODES))
    .option('--tasks <list>', "comma-separated task names of the preset (demo: author, names; full en: sst2, conll2003, mrpc, sick, multi30k; zh: msra, chnsenticorp, afqmc)")
    .option('--labels <list>', 'training labels per cell, comma-separated counts or all (default: demo 100,all; full 100,1000,all)', labelCounts)
    .option('--seeds <n>', 'seeds per cell (mean ± sd over them)', parse.positiveInt, 3);
  for (const [key, , flag, what] of BUDGET_FLAGS) cmd.option(flag, `${what} (default: demo ${DEMO_BUDGETS[key]}, full ${FULL_BUDGETS[key]})`, parse.positiveInt);
  return cmd
    .option('--transfer-epochs <n>', 'passes over each cell\'s training sample (default: demo 4, full 3), within --transfer-max-steps', parse.positiveInt)
    .option('--transfer-max-steps <n>', 'most training steps of a cell (default: demo 160, full 1500)', parse.positiveInt)
    .option('--overwrite', 'run every cell again, discarding lineage.json in --out (the cache is kept)')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['cpu', 'cpu-native', 'cpu-wasm', 'cpu-reference', 'webgpu'] as const).default('cpu' as const))
    .option('--json', 'print the claims, the grid and where the files are as one JSON object (no progress bars)')
    .action(async (o) => {
      const quiet = Boolean(o.json);
      await useBackend(o.backend, quiet);
      const root = packageRoot();
      const config: LineageConfig = lineagePreset(o.preset, o.lang, { assets: join(root, 'assets'), shared: o.data ? resolve(o.data) : join(root, '..', 'shared', 'data') });
      if (o.models) config.models = o.models as LineageModel[];
      if (o.modes) config.modes = o.modes as LineageMode[];
      if (o.tasks) {
        const names = o.tasks.split(',').map((s) => s.trim());
        const unknown = names.filter((n) => !config.tasks.some((t) => t.name === n));
        if (unknown.length) throw new Error(`--tasks: no task ${unknown.join(', ')} in the ${o.preset} preset (${config.tasks.map((t) => t.name).join(', ')})`);
        config.tasks = config.tasks.filter((t) => names.includes(t.name));
      }
      if (o.labels) config.labels = o.labels;
      config.seeds = Array.from({ length: o.seeds }, (_, i) => i + 1);
      for (const [key, name] of BUDGET_FLAGS) {
        const v = (o as Record<string, unknown>)[name];
        if (typeof v === 'number') config.budgets[key] = v;
      }
      if (o.transferEpochs) config.transfer.epochs = o.transferEpochs;
      if (o.transferMaxSteps) config.transfer.maxSteps = o.transferMaxSteps;
      if (o.preset === 'full') {
        const missing = [...config.corpus, ...config.tasks.map((t) => t.train), ...(config.polysemy ? [config.polysemy] : [])].filter((p) => !existsSync(p));
        if (missing.length) throw new Error(`the full preset reads the shared data folder (${o.data ?? 'default ../shared/data beside the package'}; give another with --data); missing: ${missing.join(', ')}`);
      }
      const out = resolve(o.out);
      if (!quiet) {
        console.error(`lineage, ${o.preset} preset (${o.lang}): ${config.models.filter((m) => !(m in config.notRun)).join(', ')} on ${config.corpus.join(', ')}; `
          + `tasks ${config.tasks.filter((t) => !(t.name in config.notRun)).map((t) => t.name).join(', ')}; labels ${config.labels.join(', ')}; ${config.seeds.length} seeds`);
        for (const [what, why] of Object.entries(config.notRun)) console.error(`not run: ${what}: ${why}`);
      }
      const progress = reporter(quiet);
      const results = await runLineage(config, { outDir: out, cacheDir: o.cache ? resolve(o.cache) : join(out, 'cache'), overwrite: o.overwrite, onEvent: (e) => progress.event(e) });
      progress.stop();
      const claimRows = results.claims.map((c) => ({
        '#': c.id, claim: c.claim, 'd ± se': c.verdict === 'not run' ? '-' : `${c.difference.toFixed(3)} ± ${Number.isFinite(c.se) ? c.se.toFixed(3) : '? (one seed)'}`,
        '> 0': c.verdict === 'not run' ? '-' : `${c.favouring}/${c.comparisons.length}`, verdict: c.verdict,
      }));
      if (o.json) {
        console.log(JSON.stringify({
          out, lineage: join(out, 'lineage.json'), markdown: join(out, 'lineage.md'), pictures: results.pictures, wall_seconds: results.wallSeconds,
          cells: results.cells.length, claims: results.claims.map(({ comparisons, ...c }) => ({ ...c, comparisons: comparisons.length })), not_run: results.notRun,
        }));
        return;
      }
      console.log(table(claimRows));
      console.log(`\nA claim is supported when the mean difference over its comparisons exceeds twice its standard error, not supported when it is `
        + `below minus twice that, and too noisy to say otherwise (rule and every comparison in lineage.md).`);
      console.log(`${formatNumber(results.cells.length)} cells in ${formatDuration(results.wallSeconds)}; wrote ${join(out, 'lineage.json')}, ${join(out, 'lineage.md')}`
        + `${results.pictures.length ? ` and ${results.pictures.length} pictures` : ''}${results.pngNote ? ` (${results.pngNote})` : ''}`);
    });
}

/** Registers `pretrain lineage`. */
export const registerLineage = (program: Command): void => {
  program.addCommand(lineageCommand());
};
