// WGSL generators for the image kernels: direct convolution (a thread per output, per input element for the input
// gradient, a workgroup per weight element for the weight gradient), pooling with the first-largest argmax (its
// backward gathers per input element, so no float atomics are needed), and batch norm (a workgroup per channel for
// the statistics, a thread per element to apply them). Inputs are dense (the backend copies strided views first).
//
// Every kernel's parameter block starts with its thread or row count, then (for the row kernels) the row length,
// then the geometry GEO: N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo, then its own words.
import { PRELUDE, WG, rowKernel } from './wgsl.js';

/** Words of the geometry block, from prm[2]. */
export const GEO_WORDS = 14;
/** The parameter words after the geometry, from prm[2 + GEO_WORDS]. */
const AFTER = 2 + GEO_WORDS;

const geometry = `
  let N = prm[2]; let C = prm[3]; let H = prm[4]; let W = prm[5];
  let kh = prm[6]; let kw = prm[7]; let sh = prm[8]; let sw = prm[9]; let ph = i32(prm[10]); let pw = i32(prm[11]);
  let dh = prm[12]; let dw = prm[13]; let Ho = prm[14]; let Wo = prm[15];`;

// A NaN through its bits: implementations may assume floats are never NaN, and fold v != v away.
const IS_NAN = 'fn isNan_(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }';

const threadMain = (bindings: string) => `${PRELUDE}
${IS_NAN}
${bindings}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = groupId(wid, nwg) * ${WG}u + lid;
  if (e >= prm[0]) { return; }${geometry}`;

/**
 * Convolution forward, a thread per output element [N, O, Ho, Wo]. meta: total, 0, GEO, O, Cg, Og, x offset,
 * weight offset, bias offset.
 */
export function conv2dKernel(bias: boolean): string {
  return `${threadMain(`
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
${bias ? '@group(0) @binding(3) var<storage, read> bs: array<f32>;' : ''}
@group(0) @binding(${bias ? 4 : 3}) var<storage, read_write> out: array<f32>;`)}
  let O = prm[${AFTER}]; let Cg = prm[${AFTER + 1}]; let Og = prm[${AFTER + 2}];
  let xo = prm[${AFTER + 3}]; let ko = prm[${AFTER + 4}];
  let j = e % Wo; let i = (e / Wo) % Ho; let o = (e / (Wo * Ho)) % O; let n = e / (Wo * Ho * O);
  let c0 = (o / Og) * Cg;
  var acc = ${bias ? `bs[prm[${AFTER + 5}] + o]` : '0.0'};
  for (var c = 0u; c < Cg; c++) {
    for (var a = 0u; a < kh; a++) {
      let ih = i32(i * sh + a * dh) - ph;
      if (ih < 0 || ih >= i32(H)) { continue; }
      for (var b = 0u; b < kw; b++) {
        let iw = i32(j * sw + b * dw) - pw;
        if (iw < 0 || iw >= i32(W)) { continue; }
        acc += x[xo + ((n * C + c0 + c) * H + u32(ih)) * W + u32(iw)] * k[ko + ((o * Cg + c) * kh + a) * kw + b];
      }
    }
  }
  out[e] = acc;
}`;
}

/** The input gradient, a thread per input element: the outputs whose windows read it. meta: total, 0, GEO, O, Cg, Og, g offset, weight offset. */
export function conv2dDxKernel(): string {
  return `${threadMain(`
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;`)}
  let O = prm[${AFTER}]; let Cg = prm[${AFTER + 1}]; let Og = prm[${AFTER + 2}];
  let go = prm[${AFTER + 3}]; let ko = prm[${AFTER + 4}];
  let iw = e % W; let ih = (e / W) % H; let c = (e / (W * H)) % C; let n = e / (W * H * C);
  let grp = c / Cg; let cl = c % Cg;
  var acc = 0.0;
  for (var ol = 0u; ol < Og; ol++) {
    let o = grp * Og + ol;
    for (var a = 0u; a < kh; a++) {
      let ti = i32(ih) + ph - i32(a * dh);
      if (ti < 0 || ti % i32(sh) != 0 || u32(ti) / sh >= Ho) { continue; }
      let i = u32(ti) / sh;
      for (var b = 0u; b < kw; b++) {
        let tj = i32(iw) + pw - i32(b * dw);
        if (tj < 0 || tj % i32(sw) != 0 || u32(tj) / sw >= Wo) { continue; }
        acc += g[go + ((n * O + o) * Ho + i) * Wo + u32(tj) / sw] * k[ko + ((o * Cg + cl) * kh + a) * kw + b];
      }
    }
  }
  dx[e] = acc;
}`;
}

/**
 * The weight gradient, a workgroup per weight element [O, Cg, kh, kw] summing over the N·Ho·Wo outputs. meta: rows,
 * N·Ho·Wo, GEO, O, Cg, Og, g offset, x offset.
 */
export function conv2dDwKernel(subgroups: boolean): string {
  return `${rowKernel(subgroups, `
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw_: array<f32>;`)}${geometry}
  let O = prm[${AFTER}]; let Cg = prm[${AFTER + 1}]; let Og = prm[${AFTER + 2}];
  let go = prm[${AFTER + 3}]; let xo = prm[${AFTER + 4}];
  let b = row % kw; let a = (row / kw) % kh; let cl = (row / (kw * kh)) % Cg; let o = row / (kw * kh * Cg);
  let c = (o / Og) * Cg + cl;
  var s = 0.0;
  for (var q = lid; q < n; q += ${WG}u) {
    let j = q % Wo; let i = (q / Wo) % Ho; let nn = q / (Wo * Ho);
    let ih = i32(i * sh + a * dh) - ph; let iw = i32(j * sw + b * dw) - pw;
    if (ih >= 0 && ih < i32(H) && iw >= 0 && iw < i32(W)) {
      s += g[go + ((nn * O + o) * Ho + i) * Wo + j] * x[xo + ((nn * C + c) * H + u32(ih)) * W + u32(iw)];
    }
  }
  let total = rowSum(s, lid);
  if (lid == 0u) { dw_[row] = total; }
}`;
}

/** The bias gradient, a workgroup per output channel. meta: O, N·Ho·Wo, GEO, O, g offset. */
export function conv2dDbKernel(subgroups: boolean): string {
  return `${rowKernel(subgroups, `
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;`)}${geometry}
  let O = prm[${AFTER}]; let go = prm[${AFTER + 1}];
  let P = Ho * Wo;
  var s = 0.0;
  for (var q = lid; q < n; q += ${WG}u) { s += g[go + ((q / P) * O + row) * P + q % P]; }
  let total = rowSum(s, lid);
  if (lid == 0u) { db[row] = total; }
}`;
}

/**
 * Pooling forward, a thread per output [N·C, Ho, Wo]; max keeps the first largest (a NaN wins) and its flat index
 * in the input plane. meta: total, 0, GEO (N = planes, C = 1), x offset.
 */
export function pool2dKernel(kind: 'max' | 'avg'): string {
  return `${threadMain(`
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${kind === 'max' ? '@group(0) @binding(3) var<storage, read_write> argmax: array<i32>;' : ''}`)}
  let xo = prm[${AFTER}];
  let j = e % Wo; let i = (e / Wo) % Ho; let p = e / (Wo * Ho);
  var best = negInf(); var arg = -1; var sum = 0.0;
  for (var a = 0u; a < kh; a++) {
    let ih = i32(i * sh + a * dh) - ph;
    if (ih < 0 || ih >= i32(H)) { continue; }
    for (var b = 0u; b < kw; b++) {
      let iw = i32(j * sw + b * dw) - pw;
      if (iw < 0 || iw >= i32(W)) { continue; }
      let at = ih * i32(W) + iw;
      let v = x[xo + p * H * W + u32(at)];
      sum += v;
      if (arg < 0) { arg = at; }
      if (isNan_(v) || (!isNan_(best) && v > best)) { best = v; arg = at; }
    }
  }
  ${kind === 'max' ? 'y[e] = best; argmax[e] = arg;' : 'y[e] = sum / f32(kh * kw);'}
}`;
}

/**
 * Pooling backward, a thread per input element: the gradients of the windows that contain it (max: those whose
 * argmax it is). meta: total, 0, GEO (N = planes, C = 1), g offset.
 */
export function pool2dDxKernel(kind: 'max' | 'avg'): string {
  return `${threadMain(`
@group(0) @binding(1) var<storage, read> g: array<f32>;
${kind === 'max' ? '@group(0) @binding(2) var<storage, read> argmax: array<i32>;' : ''}
@group(0) @binding(${kind === 'max' ? 3 : 2}) var<storage, read_write> dx: array<f32>;`)}
  let go = prm[${AFTER}];
  let iw = e % W; let ih = (e / W) % H; let p = e / (W * H);
  let at = i32(ih * W + iw);
  var acc = 0.0;
  for (var a = 0u; a < kh; a++) {
    let ti = i32(ih) + ph - i32(a * dh);
    if (ti < 0 || ti % i32(sh) != 0 || u32(ti) / sh >= Ho) { continue; }
    for (var b = 0u; b < kw; b++) {
      let tj = i32(iw) + pw - i32(b * dw);
      if (tj < 0 || tj % i32(sw) != 0 || u32(tj) / sw >= Wo) { continue; }
      let o = (p * Ho + u32(ti) / sh) * Wo + u32(tj) / sw;
      ${kind === 'max' ? 'if (argmax[o] == at) { acc += g[go + o]; }' : 'acc += g[go + o] / f32(kh * kw);'}
    }
  }
  dx[e] = acc;
}`;
}

/** Batch norm statistics, a workgroup per channel of x [N, C, L]: mean and biased variance (two passes). meta: C, N·L, N, C, L, x offset. */
export function batchNormStatsKernel(subgroups: boolean): string {
  return `${rowKernel(subgroups, `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> vr: array<f32>;`)}
  let C = prm[3]; let L = prm[4]; let xo = prm[5];
  var s = 0.0;
  for (var q = lid; q < n; q += ${WG}u) { s += x[xo + ((q / L) * C + row) * L + q % L]; }
  let mu = rowSum(s, lid) / f32(n);
  var v = 0.0;
  for (var q = lid; q < n; q += ${WG}u) { let d = x[xo + ((q / L) * C + row) * L + q % L] - mu; v += d * d; }
  let total = rowSum(v, lid);
  if (lid == 0u) { mean[row] = mu; vr[row] = total / f32(n); }
}`;
}

/** y = (x - mean)·rstd·weight + bias, a thread per element. meta: total, 0, N, C, L, x offset, eps, weight offset, bias offset. */
export function batchNormApplyKernel(weight: boolean, bias: boolean): string {
  let b = 4;
  return `${PRELUDE}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> vr: array<f32>;
${weight ? `@group(0) @binding(${b++}) var<storage, read> wt: array<f32>;` : ''}
${bias ? `@group(0) @binding(${b++}) var<storage, read> bs: array<f32>;` : ''}
@group(0) @binding(${b}) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = groupId(wid, nwg) * ${WG}u + lid;
  if (e >= prm[0]) { return; }
  let C = prm[3]; let L = prm[4];
  let c = (e / L) % C;
  let k = ${weight ? 'wt[prm[7] + c]' : '1.0'} / sqrt(vr[c] + mf(6u));
  y[e] = (x[prm[5] + e] - mean[c]) * k${bias ? ' + bs[prm[8] + c]' : ''};
}`;
}

/**
 * Batch norm backward sums, a workgroup per channel: dbias = Σ g and dweight = Σ g·x̂. meta: C, N·L, N, C, L,
 * g offset, x offset, eps.
 */
export function batchNormSumsKernel(subgroups: boolean): string {
  return `${rowKernel(subgroups, `
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> vr: array<f32>;
@group(0) @binding(5) var<storage, read_write> dw: array<f32>;
@group(0) @binding(6) var<storage, read_write> db: array<f32>;`)}
  let C = prm[3]; let L = prm[4]; let go = prm[5]; let xo = prm[6];
  let mu = mean[row];
  var sg = 0.0; var sgx = 0.0;
  for (var q = lid; q < n; q += ${WG}u) {
    let at = ((q / L) * C + row) * L + q % L;
    let gv = g[go + at];
    sg += gv; sgx += gv * (x[xo + at] - mu);
  }
  let tg = rowSum(sg, lid);
  let tgx = rowSum(sgx, lid);
  if (lid == 0u) { db[row] = tg; dw[row] = tgx / sqrt(vr[row] + mf(7u)); }
}`;
}

/**
 * The input gradient dx = k·(g - mean(g) - x̂·mean(g·x̂)), k = weight·rstd, from the sums. meta: total, 0, N, C, L,
 * g offset, x offset, eps, weight offset.
 */
export function batchNormDxKernel(weight: boolean): string {
  return `${PRELUDE}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> vr: array<f32>;
@group(0) @binding(5) var<storage, read> dw: array<f32>;
@group(0) @binding(6) var<storage, read> db: array<f32>;
${weight ? '@group(0) @binding(7) var<storage, read> wt: array<f32>;' : ''}
@group(0) @binding(${weight ? 8 : 7}) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = groupId(wid, nwg) * ${WG}u + lid;
  if (e >= prm[0]) { return; }
  let N = prm[2]; let C = prm[3]; let L = prm[4];
  let c = (e / L) % C;
  let M = f32(N * L);
  let rs = 1.0 / sqrt(vr[c] + mf(7u));
  let xhat = (x[prm[6] + e] - mean[c]) * rs;
  dx[e] = ${weight ? 'wt[prm[8] + c]' : '1.0'} * rs * (g[prm[5] + e] - db[c] / M - xhat * dw[c] / M);
}`;
}
