// Vectorised kernels for the fast CPU backend over f32x4 lanes of the shared memory: exp, tanh, sigmoid, the GELU
// forms and their derivatives, and the row kernels: softmax / log-softmax, cross-entropy forward and backward, layer
// norm forward and backward, and the AdamW update. exp and tanh come from lib/vmath.ts.

import { splat, vexp, vtanh } from './lib/vmath';

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;

@inline function scalarExp(x: f32): f32 { return f32x4.extract_lane(vexp(splat(x)), 0); }

/** The op codes of `unary`. */
export const OP_EXP: i32 = 0;
export const OP_TANH: i32 = 1;
export const OP_SIGMOID: i32 = 2;
export const OP_GELU_TANH: i32 = 3;
export const OP_GELU_TANH_GRAD: i32 = 4;
export const OP_GELU: i32 = 5;
export const OP_GELU_GRAD: i32 = 6;
export const OP_RELU: i32 = 7;

const INV_SQRT2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

/**
 * erfc(z) for z ≥ 0 on four lanes: Numerical Recipes' Chebyshev fit t·e^{-z² + P(t)}, t = 1/(1 + z/2), whose
 * relative error is below 1.2e-7 everywhere, so x·Φ(x) keeps relative precision deep into the negative tail where
 * 1 + erf(x) would cancel.
 */
@inline function verfcPos(z: v128): v128 {
  const t = f32x4.div(splat(1), f32x4.add(splat(1), f32x4.mul(splat(0.5), z)));
  let p = splat(0.17087277);
  p = f32x4.add(f32x4.mul(p, t), splat(-0.82215223));
  p = f32x4.add(f32x4.mul(p, t), splat(1.48851587));
  p = f32x4.add(f32x4.mul(p, t), splat(-1.13520398));
  p = f32x4.add(f32x4.mul(p, t), splat(0.27886807));
  p = f32x4.add(f32x4.mul(p, t), splat(-0.18628806));
  p = f32x4.add(f32x4.mul(p, t), splat(0.09678418));
  p = f32x4.add(f32x4.mul(p, t), splat(0.37409196));
  p = f32x4.add(f32x4.mul(p, t), splat(1.00002368));
  p = f32x4.add(f32x4.mul(p, t), splat(-1.26551223));
  return f32x4.mul(t, vexp(f32x4.sub(p, f32x4.mul(z, z))));
}

/** Φ(x), the standard normal CDF, on four lanes: ½erfc(|x|/√2) below zero, 1 - ½erfc(x/√2) above. */
@inline function vphi(x: v128): v128 {
  const half = f32x4.mul(splat(0.5), verfcPos(f32x4.mul(f32x4.abs(x), splat(INV_SQRT2))));
  return v128.bitselect(half, f32x4.sub(splat(1), half), f32x4.lt(x, splat(0)));
}

@inline function apply(op: i32, x: v128): v128 {
  if (op === OP_EXP) return vexp(x);
  // max(x, 0) with NaN to 0, as the reference (f32x4.max would keep the NaN).
  if (op === OP_RELU) return v128.bitselect(x, splat(0), f32x4.gt(x, splat(0)));
  // Exact GELU x·Φ(x) and its derivative Φ(x) + x·φ(x).
  if (op === OP_GELU) return f32x4.mul(x, vphi(x));
  if (op === OP_GELU_GRAD) {
    const pdf = f32x4.mul(splat(INV_SQRT_2PI), vexp(f32x4.mul(splat(-0.5), f32x4.mul(x, x))));
    return f32x4.add(vphi(x), f32x4.mul(x, pdf));
  }
  if (op === OP_TANH) return vtanh(x);
  if (op === OP_SIGMOID) return f32x4.div(splat(1), f32x4.add(splat(1), vexp(f32x4.neg(x))));
  // GELU (tanh form) as x·σ(2u): 0.5(1 + tanh(u)) = σ(2u), which keeps relative precision in the negative tail.
  const u = f32x4.mul(splat(SQRT_2_OVER_PI), f32x4.add(x, f32x4.mul(splat(GELU_C), f32x4.mul(x, f32x4.mul(x, x)))));
  const s = f32x4.div(splat(1), f32x4.add(splat(1), vexp(f32x4.mul(splat(-2), u))));
  if (op === OP_GELU_TANH) return f32x4.mul(x, s);
  // d/dx x·σ(2u) = σ + 2x·σ(1 - σ)·u', u' = c(1 + 3·0.044715x²)
  const du = f32x4.mul(splat(SQRT_2_OVER_PI), f32x4.add(splat(1), f32x4.mul(splat(3 * GELU_C), f32x4.mul(x, x))));
  return f32x4.add(s, f32x4.mul(f32x4.mul(f32x4.mul(splat(2), x), f32x4.mul(s, f32x4.sub(splat(1), s))), du));
}

/** dst[i] = op(src[i]) for i < n (float32 arrays at byte addresses src, dst; may alias). */
export function unary(op: i32, src: usize, dst: usize, n: i32): void {
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), apply(op, v128.load(src + (<usize>i << 2))));
  for (; i < n; i++) {
    const v = apply(op, splat(load<f32>(src + (<usize>i << 2))));
    store<f32>(dst + (<usize>i << 2), f32x4.extract_lane(v, 0));
  }
}

/** Softmax (or log-softmax when `log`) of each of `rows` contiguous rows of length n, from src into dst. */
export function softmaxRows(src: usize, dst: usize, rows: i32, n: i32, log: bool): void {
  for (let r: i32 = 0; r < rows; r++) {
    const s = src + (<usize>(r * n) << 2), d = dst + (<usize>(r * n) << 2);
    const m = rowMax(s, n), vm = splat(m);
    let vsum = splat(0);
    let i: i32 = 0;
    for (; i + 4 <= n; i += 4) {
      const e = vexp(f32x4.sub(v128.load(s + (<usize>i << 2)), vm));
      if (!log) v128.store(d + (<usize>i << 2), e);
      vsum = f32x4.add(vsum, e);
    }
    let sum: f32 = f32x4.extract_lane(vsum, 0) + f32x4.extract_lane(vsum, 1) + f32x4.extract_lane(vsum, 2) + f32x4.extract_lane(vsum, 3);
    for (; i < n; i++) {
      const e = scalarExp(load<f32>(s + (<usize>i << 2)) - m);
      if (!log) store<f32>(d + (<usize>i << 2), e);
      sum += e;
    }
    if (log) {
      // (x - max) - log(sum), not x - (max + log(sum)): large logits would lose the small term to rounding.
      const logSum: f32 = <f32>Math.log(<f64>sum);
      const vl = splat(logSum);
      i = 0;
      for (; i + 4 <= n; i += 4) v128.store(d + (<usize>i << 2), f32x4.sub(f32x4.sub(v128.load(s + (<usize>i << 2)), vm), vl));
      for (; i < n; i++) store<f32>(d + (<usize>i << 2), (load<f32>(s + (<usize>i << 2)) - m) - logSum);
    } else {
      const inv = splat(1 / sum);
      i = 0;
      for (; i + 4 <= n; i += 4) v128.store(d + (<usize>i << 2), f32x4.mul(v128.load(d + (<usize>i << 2)), inv));
      for (; i < n; i++) store<f32>(d + (<usize>i << 2), load<f32>(d + (<usize>i << 2)) / sum);
    }
  }
}

/** The largest element of a row of n floats at s. */
@inline function rowMax(s: usize, n: i32): f32 {
  let vmax = splat(-Infinity);
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) vmax = f32x4.max(vmax, v128.load(s + (<usize>i << 2)));
  let m = max<f32>(max<f32>(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max<f32>(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  for (; i < n; i++) m = max<f32>(m, load<f32>(s + (<usize>i << 2)));
  return m;
}

/**
 * Cross-entropy of `rows` contiguous logit rows of length n against int32 targets: loss[r] (0 on rows whose target
 * is `ignore`) with label smoothing ε, (1 - ε)(lse - x_t) + ε(lse - mean_c x_c), and lse[r], in one pass over each row
 * for the sums. Returns the first row whose target is out of range, or -1.
 */
export function crossEntropyRows(x: usize, target: usize, loss: usize, lse: usize, rows: i32, n: i32, ignore: i32, smoothing: f32): i32 {
  for (let r: i32 = 0; r < rows; r++) {
    const s = x + (<usize>r * <usize>n << 2);
    const m = rowMax(s, n), vm = splat(m);
    let vsum = splat(0), vx = splat(0);
    let i: i32 = 0;
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(s + (<usize>i << 2));
      vsum = f32x4.add(vsum, vexp(f32x4.sub(v, vm)));
      vx = f32x4.add(vx, v);
    }
    let sum: f32 = f32x4.extract_lane(vsum, 0) + f32x4.extract_lane(vsum, 1) + f32x4.extract_lane(vsum, 2) + f32x4.extract_lane(vsum, 3);
    let sx: f32 = f32x4.extract_lane(vx, 0) + f32x4.extract_lane(vx, 1) + f32x4.extract_lane(vx, 2) + f32x4.extract_lane(vx, 3);
    for (; i < n; i++) {
      const v = load<f32>(s + (<usize>i << 2));
      sum += scalarExp(v - m);
      sx += v;
    }
    const l: f32 = m + <f32>Math.log(<f64>sum);
    store<f32>(lse + (<usize>r << 2), l);
    const t = load<i32>(target + (<usize>r << 2));
    if (t === ignore) { store<f32>(loss + (<usize>r << 2), 0); continue; }
    if (t < 0 || t >= n) return r;
    const xt = load<f32>(s + (<usize>t << 2));
    store<f32>(loss + (<usize>r << 2), (1 - smoothing) * (l - xt) + smoothing * (l - sx / <f32>n));
  }
  return -1;
}

/**
 * The cross-entropy's logit gradient from the saved lse: dx = g_r·(e^{x - lse} - ε/n) - g_r(1 - ε) at the target,
 * zero on ignored rows (targets already checked by the forward pass).
 */
export function crossEntropyGradRows(x: usize, target: usize, lse: usize, grad: usize, dx: usize, rows: i32, n: i32, ignore: i32, smoothing: f32): void {
  const shift: f32 = smoothing / <f32>n;
  for (let r: i32 = 0; r < rows; r++) {
    const s = x + (<usize>r * <usize>n << 2), d = dx + (<usize>r * <usize>n << 2);
    const t = load<i32>(target + (<usize>r << 2));
    if (t === ignore) { memory.fill(d, 0, <usize>n << 2); continue; }
    const g = load<f32>(grad + (<usize>r << 2)), l = load<f32>(lse + (<usize>r << 2));
    const vg = splat(g), vl = splat(l), vs = splat(shift);
    let i: i32 = 0;
    for (; i + 4 <= n; i += 4) {
      const p = vexp(f32x4.sub(v128.load(s + (<usize>i << 2)), vl));
      v128.store(d + (<usize>i << 2), f32x4.mul(vg, f32x4.sub(p, vs)));
    }
    for (; i < n; i++) store<f32>(d + (<usize>i << 2), g * (scalarExp(load<f32>(s + (<usize>i << 2)) - l) - shift));
    const dt = d + (<usize>t << 2);
    store<f32>(dt, load<f32>(dt) - g * (1 - smoothing));
  }
}

/**
 * One AdamW step over n contiguous floats, in place on p, m and v (PyTorch's order: decoupled decay first, then the
 * moments, then the bias-corrected update). The caller derives the coefficients in double precision (1 - β2 rounded
 * from a float32 β2 would be off by 1e-5 relative): keep = 1 - lr·decay, c = 1 - β, stepSize = lr / (1 - β1^t),
 * inv2 = 1 / (1 - β2^t).
 */
export function adamw(p: usize, g: usize, m: usize, v: usize, n: i32, keep: f32, beta1: f32, c1: f32, beta2: f32, c2: f32, stepSize: f32, inv2: f32, eps: f32): void {
  const vk = splat(keep), b1 = splat(beta1), vc1 = splat(c1), b2 = splat(beta2), vc2 = splat(c2);
  const vs = splat(stepSize), vi2 = splat(inv2), ve = splat(eps);
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(vc1, gi));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(f32x4.mul(vc2, gi), gi));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const denom = f32x4.add(f32x4.sqrt(f32x4.mul(vi, vi2)), ve);
    v128.store(p + o, f32x4.sub(f32x4.mul(v128.load(p + o), vk), f32x4.div(f32x4.mul(vs, mi), denom)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = beta1 * load<f32>(m + o) + c1 * gi;
    const vi = beta2 * load<f32>(v + o) + c2 * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(p + o, load<f32>(p + o) * keep - stepSize * mi / (<f32>Math.sqrt(<f64>(vi * inv2)) + eps));
  }
}

/** The sum of n floats at s. */
@inline function rowSum(s: usize, n: i32): f32 {
  let v = splat(0);
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) v = f32x4.add(v, v128.load(s + (<usize>i << 2)));
  let sum: f32 = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
  for (; i < n; i++) sum += load<f32>(s + (<usize>i << 2));
  return sum;
}

/**
 * Layer norm over `rows` contiguous rows of length n: y = (x - mean)·rstd·w + b (w, b: n floats, or 0 for none),
 * with the per-row mean and rstd = 1/sqrt(var + eps) (two-pass variance) saved for the backward pass.
 */
export function layerNormRows(x: usize, w: usize, b: usize, y: usize, mean: usize, rstd: usize, rows: i32, n: i32, eps: f32): void {
  for (let r: i32 = 0; r < rows; r++) {
    const s = x + (<usize>r * <usize>n << 2), d = y + (<usize>r * <usize>n << 2);
    const mu = rowSum(s, n) / <f32>n, vmu = splat(mu);
    let vv = splat(0);
    let i: i32 = 0;
    for (; i + 4 <= n; i += 4) { const c = f32x4.sub(v128.load(s + (<usize>i << 2)), vmu); vv = f32x4.add(vv, f32x4.mul(c, c)); }
    let v: f32 = f32x4.extract_lane(vv, 0) + f32x4.extract_lane(vv, 1) + f32x4.extract_lane(vv, 2) + f32x4.extract_lane(vv, 3);
    for (; i < n; i++) { const c = load<f32>(s + (<usize>i << 2)) - mu; v += c * c; }
    const rs: f32 = <f32>(1 / Math.sqrt(<f64>(v / <f32>n) + <f64>eps));
    store<f32>(mean + (<usize>r << 2), mu);
    store<f32>(rstd + (<usize>r << 2), rs);
    const vrs = splat(rs);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      let t = f32x4.mul(f32x4.sub(v128.load(s + o), vmu), vrs);
      if (w) t = f32x4.mul(t, v128.load(w + o));
      if (b) t = f32x4.add(t, v128.load(b + o));
      v128.store(d + o, t);
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      let t = (load<f32>(s + o) - mu) * rs;
      if (w) t *= load<f32>(w + o);
      if (b) t += load<f32>(b + o);
      store<f32>(d + o, t);
    }
  }
}

/**
 * Layer norm gradients from the output gradient g and the saved mean and rstd: dx = rstd·(gy - mean(gy) -
 * x̂·mean(gy·x̂)) with gy = g·w, and dw = Σ_rows g·x̂, db = Σ_rows g (both zeroed here first).
 */
export function layerNormGradRows(g: usize, x: usize, w: usize, mean: usize, rstd: usize, dx: usize, dw: usize, db: usize, rows: i32, n: i32): void {
  memory.fill(dw, 0, <usize>n << 2);
  memory.fill(db, 0, <usize>n << 2);
  for (let r: i32 = 0; r < rows; r++) {
    const off = <usize>r * <usize>n << 2;
    const gs = g + off, xs = x + off, d = dx + off;
    const vmu = splat(load<f32>(mean + (<usize>r << 2))), vrs = splat(load<f32>(rstd + (<usize>r << 2)));
    let sgy = splat(0), sgyx = splat(0);
    let i: i32 = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const gi = v128.load(gs + o), xh = f32x4.mul(f32x4.sub(v128.load(xs + o), vmu), vrs);
      const gy = w ? f32x4.mul(gi, v128.load(w + o)) : gi;
      sgy = f32x4.add(sgy, gy);
      sgyx = f32x4.add(sgyx, f32x4.mul(gy, xh));
      v128.store(dw + o, f32x4.add(v128.load(dw + o), f32x4.mul(gi, xh)));
      v128.store(db + o, f32x4.add(v128.load(db + o), gi));
    }
    const mu = f32x4.extract_lane(vmu, 0), rs = f32x4.extract_lane(vrs, 0);
    let a: f32 = f32x4.extract_lane(sgy, 0) + f32x4.extract_lane(sgy, 1) + f32x4.extract_lane(sgy, 2) + f32x4.extract_lane(sgy, 3);
    let c: f32 = f32x4.extract_lane(sgyx, 0) + f32x4.extract_lane(sgyx, 1) + f32x4.extract_lane(sgyx, 2) + f32x4.extract_lane(sgyx, 3);
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const gi = load<f32>(gs + o), xh = (load<f32>(xs + o) - mu) * rs;
      const gy = w ? gi * load<f32>(w + o) : gi;
      a += gy; c += gy * xh;
      store<f32>(dw + o, load<f32>(dw + o) + gi * xh);
      store<f32>(db + o, load<f32>(db + o) + gi);
    }
    const ma = splat(a / <f32>n), mc = splat(c / <f32>n);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const gi = v128.load(gs + o), xh = f32x4.mul(f32x4.sub(v128.load(xs + o), vmu), vrs);
      const gy = w ? f32x4.mul(gi, v128.load(w + o)) : gi;
      v128.store(d + o, f32x4.mul(vrs, f32x4.sub(f32x4.sub(gy, ma), f32x4.mul(xh, mc))));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const gi = load<f32>(gs + o), xh = (load<f32>(xs + o) - mu) * rs;
      const gy = w ? gi * load<f32>(w + o) : gi;
      store<f32>(d + o, rs * (gy - a / <f32>n - xh * (c / <f32>n)));
    }
  }
}
