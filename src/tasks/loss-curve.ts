// Loss-curve pictures for the end of training: an SVG file (Vega-Lite, rendered headless) and a terminal chart.
import asciichart from 'asciichart';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One point of a curve. */
export interface CurvePoint {
  step: number;
  value: number;
  /** The curve it belongs to, e.g. 'train' or 'validation'. */
  series: string;
}

/** Renders loss curves as an SVG document (log-scaled y when values span more than a decade). */
export async function lossCurveSvg(points: readonly CurvePoint[], opts: { title?: string; yLabel?: string } = {}): Promise<string> {
  const values = points.filter((p) => Number.isFinite(p.value));
  const ys = values.map((p) => p.value);
  const logScale = ys.length > 0 && Math.min(...ys) > 0 && Math.max(...ys) / Math.min(...ys) > 10;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title ?? 'Loss',
    width: 640,
    height: 320,
    data: { values },
    mark: { type: 'line', point: values.length < 60 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: opts.yLabel ?? 'loss', scale: { type: logScale ? 'log' : 'linear', zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A small terminal line chart of one series (for the end-of-run summary). */
export function lossCurveText(values: readonly number[], height = 10, width = 70): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2) return '';
  // Average into at most `width` buckets so that long runs fit a terminal line.
  const buckets = Math.min(width, finite.length);
  const series = Array.from({ length: buckets }, (_, b) => {
    const lo = Math.floor((b * finite.length) / buckets), hi = Math.floor(((b + 1) * finite.length) / buckets);
    const part = finite.slice(lo, Math.max(hi, lo + 1));
    return part.reduce((s, v) => s + v, 0) / part.length;
  });
  return asciichart.plot(series, { height, format: (x: number) => x.toFixed(3).padStart(8) });
}
