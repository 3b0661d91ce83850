// The lineage's pictures, drawn with Vega-Lite and rendered headless to SVG, and to PNG by resvg (a Rust renderer
// shipped as prebuilt npm packages; loaded on first use, and where it cannot load the PNGs are skipped and named):
//   learning-curves   dev score against training labels, per task, a colour per model and a line style per mode;
//   convergence       dev score against steps with all labels, fine-tuned against scratch, per task;
//   polysemy          nearest-neighbour sense accuracy per model and layer, beside chance.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { mean, sd, type PolysemyScore } from './claims.js';
import { LINEAGE_MODELS } from './grid.js';
import type { CellResult } from './transfer.js';

/** A Vega-Lite spec as an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** An SVG document as PNG bytes at twice its size, text in the system's sans-serif font; null when resvg cannot load here. */
export async function svgToPng(svg: string): Promise<Uint8Array | null> {
  let resvg: typeof import('@resvg/resvg-js');
  try {
    resvg = await import('@resvg/resvg-js');
  } catch {
    return null;
  }
  const image = new resvg.Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' } }).render();
  return image.asPng();
}

/** A legend of line styles drawn as lines. */
const STROKE_LEGEND = { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 400, encode: { symbols: { update: { stroke: { value: '#444' } } } } };

/** The line style of each mode: solid fine-tuned, dashed frozen, dotted scratch. */
const MODE_DASH = { field: 'mode', type: 'nominal' as const, title: 'mode', scale: { domain: ['finetune', 'frozen', 'scratch'], range: [[1, 0], [6, 3], [2, 2]] }, legend: STROKE_LEGEND };

/** One colour per model in every picture (the lineage's order), whichever models a run has. */
const MODEL_COLOR = { field: 'model', type: 'nominal' as const, title: 'model', scale: { domain: [...LINEAGE_MODELS] } };

/** Score against labels, per task: one colour per model, one line style per mode, the seeds' mean and sd as error bars. */
export function learningCurvesSpec(cells: readonly CellResult[]): TopLevelSpec {
  const byKey = new Map<string, CellResult[]>();
  for (const c of cells) {
    const k = `${c.task}|${c.model}|${c.mode}|${c.labels}`;
    byKey.set(k, [...(byKey.get(k) ?? []), c]);
  }
  const values = [...byKey.values()].map((g) => {
    const s = g.map((c) => c.score), m = mean(s), d = sd(s);
    return { task: `${g[0]!.task} (${g[0]!.metric})`, model: g[0]!.model, mode: g[0]!.mode, labels: mean(g.map((c) => c.trainExamples)), score: m, lo: Number.isFinite(d) ? m - d : m, hi: Number.isFinite(d) ? m + d : m };
  });
  const x = { field: 'labels', type: 'quantitative' as const, scale: { type: 'log' as const }, title: 'training labels' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Dev score against training labels (mean ± sd over seeds)',
    data: { values },
    facet: { column: { field: 'task', type: 'nominal', title: null } },
    spec: {
      width: 360, height: 280,
      layer: [
        { mark: { type: 'line', point: { filled: true, size: 30 } }, encoding: { x, y: { field: 'score', type: 'quantitative', title: 'dev score', scale: { zero: false } }, color: MODEL_COLOR, strokeDash: MODE_DASH } },
        { mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'dev score' }, y2: { field: 'hi' }, color: MODEL_COLOR } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** Dev score against steps at the most labels: fine-tuned pretrained models and their scratch baselines, mean over seeds. */
export function convergenceSpec(cells: readonly CellResult[], labels: number | 'all'): TopLevelSpec {
  const runs = cells.filter((c) => c.labels === labels && c.mode !== 'frozen');
  const points = new Map<string, { task: string; model: string; mode: string; step: number; values: number[] }>();
  for (const c of runs) {
    for (const p of c.curve) {
      const k = `${c.task}|${c.model}|${c.mode}|${p.step}`;
      const e = points.get(k) ?? { task: `${c.task} (${c.metric})`, model: c.model, mode: c.mode === 'scratch' ? 'scratch' : 'pretrained', step: p.step, values: [] };
      e.values.push(p.value);
      points.set(k, e);
    }
  }
  const values = [...points.values()].map((p) => ({ task: p.task, model: p.model, pretraining: p.mode, step: p.step, score: mean(p.values) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Dev score against steps, ${labels === 'all' ? 'all' : labels} labels: fine-tuned from pretraining (solid) and from scratch (dotted), mean over seeds`,
    data: { values },
    facet: { column: { field: 'task', type: 'nominal', title: null } },
    spec: {
      width: 360, height: 280,
      mark: { type: 'line', point: { filled: true, size: 30 } },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'score', type: 'quantitative', title: 'dev score', scale: { zero: false } },
        color: MODEL_COLOR,
        strokeDash: { field: 'pretraining', type: 'nominal', title: 'start', scale: { domain: ['pretrained', 'scratch'], range: [[1, 0], [2, 2]] }, legend: STROKE_LEGEND },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** Polysemy accuracy per model and layer, with the chance rate as a rule. */
export function polysemySpec(scores: readonly PolysemyScore[]): TopLevelSpec {
  const values = scores.flatMap((s) => s.accuracy.map((a, layer) => ({ model: s.model, layer: `layer ${layer}`, accuracy: a })));
  const chance = scores.length ? scores[0]!.chance : 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Polysemy: nearest-neighbour sense accuracy per layer (chance ${chance.toFixed(3)})`,
    width: 560, height: 300,
    layer: [
      { data: { values }, mark: 'bar', encoding: { x: { field: 'model', type: 'nominal', sort: scores.map((s) => s.model), title: null }, xOffset: { field: 'layer' }, y: { field: 'accuracy', type: 'quantitative', title: 'accuracy (dashed: chance)', scale: { zero: false } }, color: { field: 'layer', type: 'nominal', title: 'layer (0: embeddings)' } } },
      { data: { values: [{ chance }] }, mark: { type: 'rule', strokeDash: [4, 4] }, encoding: { y: { field: 'chance', type: 'quantitative', title: 'accuracy (dashed: chance)' } } },
    ],
  };
}

/** The pictures written, and any that could not be. */
export interface WrittenPictures {
  files: string[];
  /** Why PNGs are missing, if they are. */
  pngNote?: string;
}

/** Writes each picture as <name>.svg and <name>.png in `dir`. */
export async function writePictures(dir: string, cells: readonly CellResult[], polysemy: readonly PolysemyScore[], mostLabels: number | 'all'): Promise<WrittenPictures> {
  const specs: [string, TopLevelSpec][] = [];
  if (cells.length) specs.push(['learning-curves', learningCurvesSpec(cells)], ['convergence', convergenceSpec(cells, mostLabels)]);
  if (polysemy.length) specs.push(['polysemy', polysemySpec(polysemy)]);
  const files: string[] = [];
  let pngNote: string | undefined;
  for (const [name, spec] of specs) {
    const svg = await renderSvg(spec);
    await writeFile(join(dir, `${name}.svg`), svg);
    files.push(join(dir, `${name}.svg`));
    const png = await svgToPng(svg);
    if (png) {
      await writeFile(join(dir, `${name}.png`), png);
      files.push(join(dir, `${name}.png`));
    } else pngNote = '@resvg/resvg-js could not be loaded on this platform: SVG only';
  }
  return { files, ...(pngNote ? { pngNote } : {}) };
}
