// A lineage run from start to end: pretrain (or find in the cache) every model, run every cell of the grid, writing
// lineage.json after each one so that an interrupted run resumes where it stopped, probe polysemy, decide the claims,
// and draw the pictures. The library never prints: the caller hears events.
import { mkdir, readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/safetensors.js';
import { loadEncoder } from '../transfer/build.js';
import { polysemyProbe, readPolysemyData } from '../probes/polysemy.js';
import { ContentCache } from './cache.js';
import { claimsMarkdown, lineageClaims, mean, sd, type ClaimResult, type PolysemyScore } from './claims.js';
import { LINEAGE_MODES, cellId, lineageCells, type CellSpec, type LineageConfig, type LineageModel } from './grid.js';
import { writePictures, type WrittenPictures } from './plots.js';
import { pretrainAll, type PretrainProgress, type PretrainedInfo } from './pretrain.js';
import { cellKey, readGenerationFiles, readTaskFiles, runCell, saveFeatureStores, type CellContext, type CellResult, type GenerationFiles, type TaskFiles } from './transfer.js';

/** The version of lineage.json's layout. */
export const LINEAGE_FORMAT = { format: 'pretrain.lineage', version: 1 } as const;

/** What a run tells its caller as it goes. */
export type LineageEvent =
  | { type: 'stage'; stage: 'pretrain' | 'transfer' | 'polysemy' | 'claims' | 'pictures' }
  | ({ type: 'pretrain' } & PretrainProgress)
  | { type: 'pretrained'; info: PretrainedInfo }
  | { type: 'cell-start'; index: number; total: number; cell: CellSpec; reused: number }
  | { type: 'cell-step'; step: number; maxSteps: number }
  | { type: 'cell-done'; index: number; total: number; result: CellResult }
  | { type: 'polysemy'; model: LineageModel; done: number; total: number };

/** Options of a run. */
export interface LineageRunOptions {
  /** Where lineage.json, lineage.md and the pictures go. */
  outDir: string;
  /** The content-hash cache of pretrained models and frozen features. */
  cacheDir: string;
  /** Start the grid over (the cache is kept); default: keep the cells of an earlier run whose keys are unchanged. */
  overwrite?: boolean;
  onEvent?: (e: LineageEvent) => void;
}

/** lineage.json: every figure, with the configuration that made it. */
export interface LineageResults {
  format: typeof LINEAGE_FORMAT.format;
  version: number;
  config: LineageConfig;
  started: string;
  updated: string;
  finished?: string;
  /** The machine: cores and the load average when the run started (the demo shares machines). */
  machine: { cpus: number; loadAverage: number[] };
  pretrained: PretrainedInfo[];
  cells: CellResult[];
  polysemy: PolysemyScore[];
  claims: ClaimResult[];
  notRun: { what: string; reason: string }[];
  pictures: string[];
  pngNote?: string;
  wallSeconds: number;
}

/** Reads an earlier lineage.json, refusing another format or version. */
async function readEarlier(path: string): Promise<LineageResults | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return null;
  const r = JSON.parse(text) as LineageResults;
  if (r.format !== LINEAGE_FORMAT.format) throw new Error(`${path}: not a lineage results file (format '${String(r.format)}'); remove it or choose another --out`);
  if (r.version !== LINEAGE_FORMAT.version) throw new Error(`${path}: lineage.json version ${r.version}, this pretrain writes version ${LINEAGE_FORMAT.version}; pass --overwrite to start the grid over`);
  return r;
}

/** The grid as Markdown: one row per model × mode, one column per task × label count, mean ± sd over seeds. */
export function resultsMarkdown(config: LineageConfig, cells: readonly CellResult[]): string {
  const tasks = config.tasks.filter((t) => cells.some((c) => c.task === t.name));
  const columns = tasks.flatMap((t) => config.labels.map((l) => ({ task: t.name, labels: l, title: `${t.name} ${t.metric} @${l}` })));
  const lines = [`| model | mode | ${columns.map((c) => c.title).join(' | ')} |`, `|---|---|${columns.map(() => '---|').join('')}`];
  for (const model of config.models) {
    for (const mode of LINEAGE_MODES) {
      const row = columns.map((col) => {
        const s = cells.filter((c) => c.model === model && c.mode === mode && c.task === col.task && c.labels === col.labels).map((c) => c.score);
        if (s.length === 0) return '–';
        return s.length > 1 ? `${mean(s).toFixed(3)} ± ${sd(s).toFixed(3)}` : mean(s).toFixed(3);
      });
      if (row.some((v) => v !== '–')) lines.push(`| ${model} | ${mode} | ${row.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

/** lineage.md: the claims, the grid, the pretrained models and what was not run. */
export function lineageMarkdown(r: LineageResults): string {
  const pre = ['| model | wall s | cached | summary |', '|---|---|---|---|',
    ...r.pretrained.map((p) => `| ${p.model} | ${p.wallSeconds.toFixed(0)} | ${p.cached ? 'yes' : 'no'} | ${Object.entries(p.summary).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`).join(', ')} |`)];
  const poly = r.polysemy.length ? ['| model | accuracy per layer | value | chance | queries |', '|---|---|---|---|---|',
    ...r.polysemy.map((p) => `| ${p.model} | ${p.accuracy.map((a) => a.toFixed(3)).join(' / ')} | ${p.value.toFixed(3)} | ${p.chance.toFixed(3)} | ${p.queries} |`)] : ['(not run)'];
  return [
    `# Lineage: ${r.config.preset} preset (${r.config.lang})${r.config.variant ? `, ${r.config.variant}` : ''}`, '',
    `${r.cells.length} cells, ${r.config.seeds.length} seeds; ${r.wallSeconds.toFixed(0)} s on ${r.machine.cpus} cores (load average ${r.machine.loadAverage.map((x) => x.toFixed(1)).join(', ')} at the start).`, '',
    '## Claims', '', claimsMarkdown(r.claims), '',
    '## Dev scores (best of each run, mean ± sd over seeds)', '', resultsMarkdown(r.config, r.cells), '',
    '## Polysemy', '', ...poly, '',
    '## Pretrained models', '', ...pre, '',
    ...(r.notRun.length ? ['## Not run', '', ...r.notRun.map((n) => `- ${n.what}: ${n.reason}`), ''] : []),
  ].join('\n');
}

/** Polysemy accuracy of each pretrained model (see claims.ts's PolysemyScore). */
async function probePolysemy(config: LineageConfig, pretrained: ReadonlyMap<LineageModel, PretrainedInfo>, emit: (e: LineageEvent) => void): Promise<PolysemyScore[]> {
  if (!config.polysemy) return [];
  const data = await readPolysemyData(config.polysemy);
  const out: PolysemyScore[] = [];
  for (const info of pretrained.values()) {
    if (!config.models.includes(info.model)) continue;
    const encoder = await loadEncoder(info.source);
    const r = await polysemyProbe(encoder, data, { batchSize: 32, onProgress: (done, total) => emit({ type: 'polysemy', model: info.model, done, total }) });
    const upper = r.accuracy.length > 1 ? r.accuracy.slice(1) : r.accuracy;
    out.push({ model: info.model, accuracy: r.accuracy, value: mean(upper), chance: r.chance, queries: r.queries });
  }
  return out;
}

/** Runs (or resumes) a lineage configuration; returns what lineage.json holds at the end. */
export async function runLineage(config: LineageConfig, opts: LineageRunOptions): Promise<LineageResults> {
  const emit = opts.onEvent ?? (() => {});
  const started = performance.now();
  await mkdir(opts.outDir, { recursive: true });
  const path = join(opts.outDir, 'lineage.json');
  const earlier = opts.overwrite ? null : await readEarlier(path);
  const cache = new ContentCache(opts.cacheDir);

  emit({ type: 'stage', stage: 'pretrain' });
  const pretrained = await pretrainAll(config, cache, (p) => emit({ type: 'pretrain', ...p }));
  for (const info of pretrained.values()) emit({ type: 'pretrained', info });

  const tasks = new Map<string, TaskFiles | GenerationFiles>();
  for (const t of config.tasks) {
    if (t.name in config.notRun) continue;
    if (!t.generation) tasks.set(t.name, await readTaskFiles(t));
    else if (config.parallel) tasks.set(t.name, await readGenerationFiles(t, config.parallel));
    else throw new Error(`lineage: the generation task ${t.name} needs config.parallel (the source and target languages)`);
  }
  const ctx: CellContext = { config, cache, pretrained, tasks, stores: new Map() };
  const results: LineageResults = {
    ...LINEAGE_FORMAT, config, started: earlier?.started ?? new Date().toISOString(), updated: new Date().toISOString(),
    machine: { cpus: cpus().length, loadAverage: loadavg() }, pretrained: [...pretrained.values()], cells: [], polysemy: [], claims: [],
    notRun: Object.entries(config.notRun).map(([what, reason]) => ({ what, reason })), pictures: [], wallSeconds: 0,
  };
  const save = async () => {
    results.updated = new Date().toISOString();
    results.wallSeconds = (performance.now() - started) / 1000;
    await writeFileAtomic(path, `${JSON.stringify(results, null, 1)}\n`);
  };

  emit({ type: 'stage', stage: 'transfer' });
  const cells = lineageCells(config);
  const kept = new Map((earlier?.cells ?? []).map((c) => [c.key, c]));
  let reused = 0;
  let task: string | null = null;
  for (const [index, cell] of cells.entries()) {
    const old = kept.get(cellKey(ctx, cell));
    if (old && old.id === cellId(cell)) {
      results.cells.push(old);
      reused++;
      emit({ type: 'cell-done', index, total: cells.length, result: old });
      continue;
    }
    // a new task: the previous task's frozen features are saved to the cache and let go
    if (task !== cell.task) { await saveFeatureStores(ctx); task = cell.task; }
    emit({ type: 'cell-start', index, total: cells.length, cell, reused });
    const result = await runCell(ctx, cell, (step, maxSteps) => emit({ type: 'cell-step', step, maxSteps }));
    results.cells.push(result);
    await save();
    emit({ type: 'cell-done', index, total: cells.length, result });
  }
  await saveFeatureStores(ctx);

  emit({ type: 'stage', stage: 'polysemy' });
  results.polysemy = await probePolysemy(config, pretrained, emit);
  emit({ type: 'stage', stage: 'claims' });
  results.claims = lineageClaims(config, results.cells, results.polysemy);
  emit({ type: 'stage', stage: 'pictures' });
  const most = config.labels.includes('all') ? 'all' : Math.max(...config.labels.filter((l): l is number => l !== 'all'));
  const pictures: WrittenPictures = await writePictures(opts.outDir, results.cells, results.polysemy, most);
  results.pictures = pictures.files;
  if (pictures.pngNote) results.pngNote = pictures.pngNote;
  results.finished = new Date().toISOString();
  await save();
  await writeFileAtomic(join(opts.outDir, 'lineage.md'), `${lineageMarkdown(results)}\n`);
  return results;
}
