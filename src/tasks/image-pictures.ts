// Pictures of what an image classifier learned, as PNG: its first layer's filters as a grid (a diverging colour map:
// blue negative, white zero, red positive, each filter scaled to its own largest weight), and each layer's outputs on
// one image, a row per layer (grayscale, each map scaled to its own largest value). And a number for the question
// the pictures are asked: how much does each first-layer filter look like an oriented edge detector.
import { encodePng } from '../data/image-folder.js';
import type { ImageClassifier } from '../models/cnn.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';

/** An RGBA canvas filled with one colour, and a way to paint scaled-up cells onto it. */
function canvas(width: number, height: number, background: [number, number, number]) {
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) rgba.set([...background, 255], p * 4);
  return {
    /** Paints cell (cx, cy) of a grid of `cell`-pixel squares starting at (x0, y0). */
    cell(x0: number, y0: number, cx: number, cy: number, cell: number, colour: readonly [number, number, number]) {
      for (let y = 0; y < cell; y++) for (let x = 0; x < cell; x++) rgba.set(colour, ((y0 + cy * cell + y) * width + x0 + cx * cell + x) * 4);
    },
    png: () => encodePng(width, height, rgba),
  };
}

/** Blue (-1) through white (0) to red (+1). */
const diverging = (v: number): [number, number, number] => {
  const t = Math.max(-1, Math.min(1, v));
  return t < 0 ? [Math.round(255 * (1 + t)), Math.round(255 * (1 + t)), 255] : [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))];
};

const GAP = 4;

/**
 * The filters of a first convolution, weight [O, C, kh, kw], as a PNG grid of `columns` filters a row, each tap a
 * `scale`-pixel square. One-channel filters in the diverging map; RGB ones as colour (each channel scaled to the
 * filter's largest weight, grey at zero).
 */
export async function filterGridPng(weight: Tensor, opts: { scale?: number; columns?: number } = {}): Promise<Uint8Array> {
  const [O, C, kh, kw] = weight.shape as [number, number, number, number];
  const w = await weight.data();
  const scale = opts.scale ?? 10, columns = Math.min(O, opts.columns ?? 8), rows = Math.ceil(O / columns);
  const img = canvas(GAP + columns * (kw * scale + GAP), GAP + rows * (kh * scale + GAP), [128, 128, 128]);
  for (let o = 0; o < O; o++) {
    const f = w.subarray(o * C * kh * kw, (o + 1) * C * kh * kw);
    const top = Math.max(1e-12, ...Array.from(f, Math.abs));
    const x0 = GAP + (o % columns) * (kw * scale + GAP), y0 = GAP + Math.floor(o / columns) * (kh * scale + GAP);
    for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
      const at = (c: number) => f[(c * kh + a) * kw + b]! / top;
      const colour: [number, number, number] = C === 3 ? [0, 1, 2].map((c) => Math.round(127.5 + 127.5 * at(c))) as [number, number, number] : diverging(at(0));
      img.cell(x0, y0, b, a, scale, colour);
    }
  }
  return img.png();
}

/** One picture of a row: `values` laid out in rows of `w`, each a `cell`-pixel square. */
interface Map2d { h: number; w: number; values: ArrayLike<number> }

/** A vector of units as a map of rows of at most `w`. */
const strip = (values: ArrayLike<number>, w = 40): Map2d => ({ h: Math.ceil(values.length / w), w: Math.min(w, values.length), values });

/**
 * Each layer's output on one image pixels [1, C, H, W], a row each from the input down: feature maps side by side,
 * fully connected layers as strips of units, the classifier as its softmax probabilities. Black is zero; each map
 * is scaled to its own largest value.
 */
export async function activationsPng(model: ImageClassifier, pixels: Tensor, opts: { scale?: number } = {}): Promise<Uint8Array> {
  const scale = opts.scale ?? 4;
  const acts = noGrad(() => model.eval().activations(pixels));
  const maps = async (t: Tensor): Promise<Map2d[]> => {
    const values = await t.data();
    if (t.rank !== 4) return [strip(values)];
    const [C, h, w] = [t.shape[1]!, t.shape[2]!, t.shape[3]!];
    return Array.from({ length: C }, (_, c) => ({ h, w, values: values.subarray(c * h * w, (c + 1) * h * w) }));
  };
  const logits = Array.from(await acts[acts.length - 1]!.data());
  const e = logits.map((v) => Math.exp(v - Math.max(...logits)));
  const rows = [await maps(pixels), ...(await Promise.all(acts.slice(0, -1).map(maps))), [strip(e.map((v) => v / e.reduce((a, b) => a + b, 0)))]];
  const rowWidth = (row: Map2d[]) => row.reduce((s, m) => s + m.w * scale + GAP, 0);
  const img = canvas(GAP + Math.max(...rows.map(rowWidth)), GAP + rows.reduce((s, row) => s + Math.max(...row.map((m) => m.h)) * scale + 2 * GAP, 0), [40, 40, 60]);
  let y0 = GAP;
  for (const row of rows) {
    let x0 = GAP;
    for (const m of row) {
      const top = Math.max(1e-12, ...Array.from(m.values));
      for (let i = 0; i < m.values.length; i++) {
        const v = Math.round(255 * Math.max(0, m.values[i]! / top));
        img.cell(x0, y0, i % m.w, Math.floor(i / m.w), scale, [v, v, v]);
      }
      x0 += m.w * scale + GAP;
    }
    y0 += Math.max(...row.map((m) => m.h)) * scale + 2 * GAP;
  }
  return img.png();
}

/** Derivative-of-Gaussian edge detectors of a kh×kw window at `orientations` angles in [0, π), mean removed, unit norm. */
function edgeBank(kh: number, kw: number, orientations: number): Float64Array[] {
  // σ = a quarter of the window: a Sobel filter scores 0.98, a step edge 0.90, a linear ramp 0.81 (5×5).
  const sigma = Math.max(kh, kw) / 4;
  return Array.from({ length: orientations }, (_, k) => {
    const theta = (Math.PI * k) / orientations;
    const f = new Float64Array(kh * kw);
    for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
      const y = a - (kh - 1) / 2, x = b - (kw - 1) / 2;
      f[a * kw + b] = -(x * Math.cos(theta) + y * Math.sin(theta)) * Math.exp(-(x * x + y * y) / (2 * sigma * sigma));
    }
    return unit(f);
  });
}

function unit(f: Float64Array): Float64Array {
  const mean = f.reduce((s, v) => s + v, 0) / f.length;
  for (let i = 0; i < f.length; i++) f[i] -= mean;
  const norm = Math.sqrt(f.reduce((s, v) => s + v * v, 0)) || 1;
  return f.map((v) => v / norm);
}

/**
 * How edge-like each filter of weight [O, C, kh, kw] is: the largest |cosine| between the filter (channels averaged,
 * mean removed) and a derivative-of-Gaussian edge detector at one of 16 orientations. 1 is an ideal oriented edge;
 * random 5×5 filters score 0.26 on average (compare a freshly initialised layer's scores).
 */
export async function edgeScores(weight: Tensor): Promise<number[]> {
  const [O, C, kh, kw] = weight.shape as [number, number, number, number];
  const w = await weight.data();
  const bank = edgeBank(kh, kw, 16);
  return Array.from({ length: O }, (_, o) => {
    const f = new Float64Array(kh * kw);
    for (let c = 0; c < C; c++) for (let t = 0; t < kh * kw; t++) f[t] += w[(o * C + c) * kh * kw + t]! / C;
    const u = unit(f);
    return Math.max(...bank.map((e) => Math.abs(e.reduce((s, v, i) => s + v * u[i]!, 0))));
  });
}
