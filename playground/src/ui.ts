// Small DOM helpers of the playground: elements from tag/attributes/children, number formatting, the loss chart,
// the 2-D scatter of word vectors and the attention heat-map.

type Child = Node | string | number | null | undefined | false;

/** An element with attributes (`on*` functions become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
/** An SVG element with attributes. */
export function s(tag: string, attrs: Record<string, string | number> = {}, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** 12,345 / 1.2M style. */
export function count(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : Math.round(n).toLocaleString('en');
}

/** The value of an <input> or <select> by id, as a number (named in the error when it is not one). */
export function numberOf(id: string): number {
  const el = document.getElementById(id) as HTMLInputElement;
  const v = Number(el.value);
  if (el.value.trim() === '' || !Number.isFinite(v)) throw new Error(`${el.dataset.label ?? id}: "${el.value}" is not a number`);
  return v;
}

/** The text of an input by id. */
export function textOf(id: string): string {
  return (document.getElementById(id) as HTMLInputElement).value;
}

/** Draws a loss curve (steps against loss) into an <svg>, with its axes' ranges labelled. */
export function drawLossChart(svg: SVGSVGElement, losses: readonly number[], maxSteps: number): void {
  const W = 640, H = 220, pad = 36;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.replaceChildren();
  if (losses.length === 0) return;
  const lo = Math.min(...losses), hi = Math.max(...losses);
  const x = (i: number) => pad + ((W - 2 * pad) * (i + 1)) / Math.max(1, maxSteps);
  const y = (v: number) => H - pad - ((H - 2 * pad) * (v - lo)) / Math.max(1e-9, hi - lo);
  svg.append(
    s('line', { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: '#999' }),
    s('line', { x1: pad, y1: pad, x2: pad, y2: H - pad, stroke: '#999' }),
    s('text', { x: 2, y: pad + 4 }, hi.toFixed(2)),
    s('text', { x: 2, y: H - pad }, lo.toFixed(2)),
    s('text', { x: W - pad - 40, y: H - pad + 16 }, `step ${maxSteps}`),
    s('polyline', { fill: 'none', stroke: '#2f6fdf', 'stroke-width': 1.5, points: losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ') }),
  );
}

/** Draws labelled points into an <svg>, scaled to fill it. */
export function drawScatter(svg: SVGSVGElement, words: readonly string[], points: readonly [number, number][]): void {
  const W = 640, H = 420, pad = 40;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (v: number) => pad + ((W - 2 * pad) * (v - x0)) / Math.max(1e-9, x1 - x0);
  const sy = (v: number) => H - pad - ((H - 2 * pad) * (v - y0)) / Math.max(1e-9, y1 - y0);
  points.forEach(([px, py], i) => {
    svg.append(s('circle', { cx: sx(px), cy: sy(py), r: 3, fill: '#2f6fdf' }), s('text', { x: sx(px) + 5, y: sy(py) - 4 }, words[i]!));
  });
}

/** One head's [T, T] weights as a canvas heat-map (darker is more attention), query rows, key columns. */
export function heatmap(weights: readonly number[][], tokens: readonly string[], cell = 12): HTMLCanvasElement {
  const n = tokens.length, label = 28;
  const canvas = h('canvas', { width: label + n * cell, height: label + n * cell });
  const g = canvas.getContext('2d')!;
  g.font = '9px monospace';
  g.fillStyle = '#333';
  const shown = (t: string) => JSON.stringify(t).slice(1, -1).slice(0, 3);
  tokens.forEach((t, i) => {
    g.fillText(shown(t), 2, label + i * cell + cell - 3);
    g.save(); g.translate(label + i * cell + cell - 3, label - 2); g.rotate(-Math.PI / 2); g.fillText(shown(t), 0, 0); g.restore();
  });
  weights.forEach((row, i) => row.forEach((w, j) => {
    g.fillStyle = `rgba(47, 111, 223, ${Math.min(1, w).toFixed(3)})`;
    g.fillRect(label + j * cell, label + i * cell, cell - 1, cell - 1);
  }));
  return canvas;
}
