// The static word embeddings' inner loops over f32x4 lanes. word2vec: one call trains a whole job of sentences
// (subsampling, shrunk windows, skip-gram or CBOW, hierarchical softmax and/or negative sampling), with word2vec.c /
// gensim semantics; GloVe (at the end): one call trains a block of co-occurrence entries with AdaGrad. The weights
// live in the shared memory, so Hogwild threads each run an instance over the same memory without copies.
// Every pointer is a byte offset the host laid out (src/models/word2vec/arena.ts); the module keeps its settings
// and random state in its own (per-instance, so per-thread) globals and has no static data of its own.
// Built twice: with relaxed SIMD (fused multiply-add) and without (multiply, then add).

const MAX_EXP: f32 = 6;
/** Cells per unit of f in the 1000-entry sigmoid table over [−MAX_EXP, MAX_EXP]. */
const EXP_SCALE: f32 = 1000.0 / 12.0;

let dim: i32 = 0;
let window: i32 = 0;
let negative: i32 = 0;
let hs: bool = false;
let cbow: bool = false;
let cbowMean: bool = false;
let vocabSize: i32 = 0;
let expTable: usize = 0;
let logTable: usize = 0;
let cumTable: usize = 0;
let sampleInt: usize = 0;
let codeStart: usize = 0;
let codes: usize = 0;
let points: usize = 0;
let syn0: usize = 0;
let syn1neg: usize = 0;
let syn1: usize = 0;
let neu1: usize = 0;
let neu1e: usize = 0;
let kept: usize = 0;
let targets: usize = 0;
let rng: u32 = 1;
let lossSum: f64 = 0;
let lossCount: f64 = 0;

/** Sets this instance's model: its shape and the offsets of its tables and weights. */
export function configure(dim_: i32, window_: i32, negative_: i32, hs_: i32, cbow_: i32, cbowMean_: i32, vocabSize_: i32,
  expTable_: usize, logTable_: usize, cumTable_: usize, sampleInt_: usize, codeStart_: usize, codes_: usize, points_: usize,
  syn0_: usize, syn1neg_: usize, syn1_: usize): void {
  dim = dim_; window = window_; negative = negative_; hs = hs_ != 0; cbow = cbow_ != 0; cbowMean = cbowMean_ != 0;
  vocabSize = vocabSize_; expTable = expTable_; logTable = logTable_; cumTable = cumTable_; sampleInt = sampleInt_;
  codeStart = codeStart_; codes = codes_; points = points_; syn0 = syn0_; syn1neg = syn1neg_; syn1 = syn1_;
}

/** Sets the xorshift32 state (the TypeScript reference's generator, so one thread draws the same numbers). */
export function setRandomState(s: u32): void { rng = s; }
/** The xorshift32 state. */
export function randomState(): u32 { return rng; }
/** Summed loss of the pairs trained since the last resetLoss. */
export function loss(): f64 { return lossSum; }
/** Pairs trained since the last resetLoss. */
export function lossPairs(): f64 { return lossCount; }
export function resetLoss(): void { lossSum = 0; lossCount = 0; }

@inline function next(): u32 {
  let x = rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  rng = x;
  return x;
}

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** a·b over dim floats: four independent accumulators, so the adds do not wait on one another. */
@inline function dot(a: usize, b: usize): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  const n = dim;
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    const o = <usize>j << 2;
    s0 = madd(v128.load(a + o), v128.load(b + o), s0);
    s1 = madd(v128.load(a + o, 16), v128.load(b + o, 16), s1);
    s2 = madd(v128.load(a + o, 32), v128.load(b + o, 32), s2);
    s3 = madd(v128.load(a + o, 48), v128.load(b + o, 48), s3);
  }
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    s0 = madd(v128.load(a + o), v128.load(b + o), s0);
  }
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; j < n; j++) s += load<f32>(a + (<usize>j << 2)) * load<f32>(b + (<usize>j << 2));
  return s;
}

/** y += a·x over dim floats. */
@inline function axpy(a: f32, x: usize, y: usize): void {
  const av = f32x4.splat(a);
  const n = dim;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(y + o, madd(av, v128.load(x + o), v128.load(y + o)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(y + o, load<f32>(y + o) + a * load<f32>(x + o));
  }
}

/** The output-layer step of one input vector l1: neu1e += g·w, then w += g·l1, in one pass over the row w. */
@inline function outputStep(g: f32, w: usize, l1: usize): void {
  const gv = f32x4.splat(g);
  const n = dim;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const wv = v128.load(w + o);
    v128.store(neu1e + o, madd(gv, wv, v128.load(neu1e + o)));
    v128.store(w + o, madd(gv, v128.load(l1 + o), wv));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    const wj = load<f32>(w + o);
    store<f32>(neu1e + o, load<f32>(neu1e + o) + g * wj);
    store<f32>(w + o, wj + g * load<f32>(l1 + o));
  }
}

@inline function zero(p: usize): void {
  const n = dim;
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(p + (<usize>j << 2), f32x4.splat(0));
  for (; j < n; j++) store<f32>(p + (<usize>j << 2), 0);
}

/** The table cell of f (the caller has checked |f| < MAX_EXP, or clamped it). */
@inline function cell(f: f32): usize { return <usize>i32((f + MAX_EXP) * EXP_SCALE) << 2; }

/** −log σ(x) for the loss, saturating at the table's ends (as the reference's negLogSigmoid). */
@inline function negLogSigmoid(x: f32): f64 {
  if (x >= MAX_EXP) return 0;
  return -<f64>load<f32>(logTable + cell(max(x, -MAX_EXP + 1e-6)));
}

/** One prediction of `word` from the input vector at l1: hierarchical softmax and/or negative sampling, error into neu1e. */
function predict(l1: usize, word: i32, alpha: f32): void {
  const rowBytes = <usize>dim << 2;
  if (hs) {
    // the nodes of a word's path are distinct rows, so three at a time is the same arithmetic as one at a time
    const start = load<i32>(codeStart + (<usize>word << 2));
    const end = load<i32>(codeStart + (<usize>(word + 1) << 2));
    let k = start;
    for (; k + 3 <= end; k += 3) {
      const r0 = syn1 + <usize>load<i32>(points + (<usize>k << 2)) * rowBytes;
      const r1 = syn1 + <usize>load<i32>(points + (<usize>(k + 1) << 2)) * rowBytes;
      const r2 = syn1 + <usize>load<i32>(points + (<usize>(k + 2) << 2)) * rowBytes;
      dots3(l1, r0, r1, r2);
      const g0 = hsGradient(dot0, k, alpha), g1 = hsGradient(dot1, k + 1, alpha), g2 = hsGradient(dot2, k + 2, alpha);
      update3(l1, r0, r1, r2, g0, g1, g2);
    }
    for (; k < end; k++) {
      const row = syn1 + <usize>load<i32>(points + (<usize>k << 2)) * rowBytes;
      const f = dot(l1, row);
      if (f <= -MAX_EXP || f >= MAX_EXP) continue;
      outputStep(hsGradient(f, k, alpha), row, l1);
    }
  }
  if (negative > 0) {
    // the word (label 1), then the negatives (label 0) drawn as gensim draws them; a draw equal to the word is skipped
    store<i32>(targets, word);
    let count = 1;
    let repeated = false;
    const last = load<u32>(cumTable + (<usize>(vocabSize - 1) << 2));
    for (let n = 0; n < negative; n++) {
      // bisect_left over the cumulative unigram^0.75 table; branch-free (a select per halving), since the
      // comparisons are coin flips that a branch predictor would miss half the time
      const r = next() % last;
      let base: i32 = 0;
      let len = vocabSize;
      while (len > 1) {
        const half = len >>> 1;
        base = select(base + half, base, load<u32>(cumTable + (<usize>(base + half) << 2)) < r);
        len -= half;
      }
      const target = base + i32(load<u32>(cumTable + (<usize>base << 2)) < r);
      if (target == word) continue;
      for (let k = 1; k < count; k++) if (load<i32>(targets + (<usize>k << 2)) == target) repeated = true;
      store<i32>(targets + (<usize>count << 2), target);
      count++;
    }
    // Distinct rows are independent, so three at a time is the same arithmetic as one at a time (word2vec.c's
    // order); a row drawn twice must see its first update, so then every row goes one at a time.
    let k = 0;
    if (!repeated) {
      for (; k + 6 <= count; k += 6) predict6(l1, k, alpha);
      for (; k + 3 <= count; k += 3) {
        predict3(l1, syn1neg + <usize>load<i32>(targets + (<usize>k << 2)) * rowBytes, syn1neg + <usize>load<i32>(targets + (<usize>(k + 1) << 2)) * rowBytes,
          syn1neg + <usize>load<i32>(targets + (<usize>(k + 2) << 2)) * rowBytes, k == 0 ? 1 : 0, alpha);
      }
    }
    for (; k < count; k++) predict1(l1, syn1neg + <usize>load<i32>(targets + (<usize>k << 2)) * rowBytes, k == 0 ? 1 : 0, alpha);
  }
}

@inline function targetRow(k: i32): usize {
  return syn1neg + <usize>load<i32>(targets + (<usize>k << 2)) * (<usize>dim << 2);
}

/** Six distinct rows (targets k … k + 5; the first is the word when k is 0), as predict3 with twice the sharing. */
function predict6(l1: usize, k: i32, alpha: f32): void {
  const w0 = targetRow(k), w1 = targetRow(k + 1), w2 = targetRow(k + 2), w3 = targetRow(k + 3), w4 = targetRow(k + 4), w5 = targetRow(k + 5);
  const n = dim;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0), a4 = f32x4.splat(0), a5 = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const x = v128.load(l1 + o);
    a0 = madd(x, v128.load(w0 + o), a0);
    a1 = madd(x, v128.load(w1 + o), a1);
    a2 = madd(x, v128.load(w2 + o), a2);
    a3 = madd(x, v128.load(w3 + o), a3);
    a4 = madd(x, v128.load(w4 + o), a4);
    a5 = madd(x, v128.load(w5 + o), a5);
  }
  let f0 = hsum(a0), f1 = hsum(a1), f2 = hsum(a2), f3 = hsum(a3), f4 = hsum(a4), f5 = hsum(a5);
  for (let t = j; t < n; t++) {
    const o = <usize>t << 2;
    const x = load<f32>(l1 + o);
    f0 += x * load<f32>(w0 + o);
    f1 += x * load<f32>(w1 + o);
    f2 += x * load<f32>(w2 + o);
    f3 += x * load<f32>(w3 + o);
    f4 += x * load<f32>(w4 + o);
    f5 += x * load<f32>(w5 + o);
  }
  const y0: f32 = k == 0 ? 1 : 0;
  const g0 = (y0 - clampedSigmoid(f0)) * alpha;
  const g1 = -clampedSigmoid(f1) * alpha, g2 = -clampedSigmoid(f2) * alpha, g3 = -clampedSigmoid(f3) * alpha;
  const g4 = -clampedSigmoid(f4) * alpha, g5 = -clampedSigmoid(f5) * alpha;
  lossSum += negLogSigmoid(y0 != 0 ? f0 : -f0) + negLogSigmoid(-f1) + negLogSigmoid(-f2) + negLogSigmoid(-f3) + negLogSigmoid(-f4) + negLogSigmoid(-f5);
  lossCount += 6;
  const v0 = f32x4.splat(g0), v1 = f32x4.splat(g1), v2 = f32x4.splat(g2), v3 = f32x4.splat(g3), v4 = f32x4.splat(g4), v5 = f32x4.splat(g5);
  j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const x = v128.load(l1 + o);
    let e = v128.load(neu1e + o);
    let r = v128.load(w0 + o); e = madd(v0, r, e); v128.store(w0 + o, madd(v0, x, r));
    r = v128.load(w1 + o); e = madd(v1, r, e); v128.store(w1 + o, madd(v1, x, r));
    r = v128.load(w2 + o); e = madd(v2, r, e); v128.store(w2 + o, madd(v2, x, r));
    r = v128.load(w3 + o); e = madd(v3, r, e); v128.store(w3 + o, madd(v3, x, r));
    r = v128.load(w4 + o); e = madd(v4, r, e); v128.store(w4 + o, madd(v4, x, r));
    r = v128.load(w5 + o); e = madd(v5, r, e); v128.store(w5 + o, madd(v5, x, r));
    v128.store(neu1e + o, e);
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    const x = load<f32>(l1 + o);
    let e = load<f32>(neu1e + o);
    let r = load<f32>(w0 + o); e += g0 * r; store<f32>(w0 + o, r + g0 * x);
    r = load<f32>(w1 + o); e += g1 * r; store<f32>(w1 + o, r + g1 * x);
    r = load<f32>(w2 + o); e += g2 * r; store<f32>(w2 + o, r + g2 * x);
    r = load<f32>(w3 + o); e += g3 * r; store<f32>(w3 + o, r + g3 * x);
    r = load<f32>(w4 + o); e += g4 * r; store<f32>(w4 + o, r + g4 * x);
    r = load<f32>(w5 + o); e += g5 * r; store<f32>(w5 + o, r + g5 * x);
    store<f32>(neu1e + o, e);
  }
}

/** σ(f) from the table; word2vec.c's negative sampling clamps saturated dot products to 0/1 instead of skipping them. */
@inline function clampedSigmoid(f: f32): f32 {
  return f >= MAX_EXP ? 1 : f <= -MAX_EXP ? 0 : load<f32>(expTable + cell(f));
}

/** Negative-sampling step for one output row w with label y: the dot product, the loss, and the updates. */
@inline function predict1(l1: usize, w: usize, y: f32, alpha: f32): void {
  const f = dot(l1, w);
  const g = (y - clampedSigmoid(f)) * alpha;
  lossSum += negLogSigmoid(y != 0 ? f : -f);
  lossCount += 1;
  outputStep(g, w, l1);
}

/** The dot products of dots3. */
let dot0: f32 = 0;
let dot1: f32 = 0;
let dot2: f32 = 0;

/** l1·w0, l1·w1, l1·w2 into dot0 … dot2, sharing each load of l1 (two accumulators per row for latency). */
function dots3(l1: usize, w0: usize, w1: usize, w2: usize): void {
  const n = dim;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0);
  let j = 0;
  for (; j + 8 <= n; j += 8) {
    const o = <usize>j << 2;
    const x = v128.load(l1 + o);
    const y = v128.load(l1 + o, 16);
    a0 = madd(x, v128.load(w0 + o), a0);
    a1 = madd(x, v128.load(w1 + o), a1);
    a2 = madd(x, v128.load(w2 + o), a2);
    b0 = madd(y, v128.load(w0 + o, 16), b0);
    b1 = madd(y, v128.load(w1 + o, 16), b1);
    b2 = madd(y, v128.load(w2 + o, 16), b2);
  }
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const x = v128.load(l1 + o);
    a0 = madd(x, v128.load(w0 + o), a0);
    a1 = madd(x, v128.load(w1 + o), a1);
    a2 = madd(x, v128.load(w2 + o), a2);
  }
  let f0 = hsum(f32x4.add(a0, b0)), f1 = hsum(f32x4.add(a1, b1)), f2 = hsum(f32x4.add(a2, b2));
  for (let t = j; t < n; t++) {
    const o = <usize>t << 2;
    const x = load<f32>(l1 + o);
    f0 += x * load<f32>(w0 + o);
    f1 += x * load<f32>(w1 + o);
    f2 += x * load<f32>(w2 + o);
  }
  dot0 = f0;
  dot1 = f1;
  dot2 = f2;
}

/**
 * The output-layer step of three distinct rows in one pass: neu1e += Σ gₖ·wₖ (in row order, as one row at a time
 * would add them), then wₖ += gₖ·l1; the rows share each load and store of neu1e and each load of l1. A zero g leaves
 * its row as it was.
 */
function update3(l1: usize, w0: usize, w1: usize, w2: usize, g0: f32, g1: f32, g2: f32): void {
  const n = dim;
  const v0 = f32x4.splat(g0), v1 = f32x4.splat(g1), v2 = f32x4.splat(g2);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const x = v128.load(l1 + o);
    const r0 = v128.load(w0 + o), r1 = v128.load(w1 + o), r2 = v128.load(w2 + o);
    v128.store(neu1e + o, madd(v2, r2, madd(v1, r1, madd(v0, r0, v128.load(neu1e + o)))));
    v128.store(w0 + o, madd(v0, x, r0));
    v128.store(w1 + o, madd(v1, x, r1));
    v128.store(w2 + o, madd(v2, x, r2));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    const x = load<f32>(l1 + o);
    const r0 = load<f32>(w0 + o), r1 = load<f32>(w1 + o), r2 = load<f32>(w2 + o);
    store<f32>(neu1e + o, load<f32>(neu1e + o) + g0 * r0 + g1 * r1 + g2 * r2);
    store<f32>(w0 + o, r0 + g0 * x);
    store<f32>(w1 + o, r1 + g1 * x);
    store<f32>(w2 + o, r2 + g2 * x);
  }
}

/** Negative-sampling steps for three distinct output rows (labels y0, 0, 0). */
function predict3(l1: usize, w0: usize, w1: usize, w2: usize, y0: f32, alpha: f32): void {
  dots3(l1, w0, w1, w2);
  const f0 = dot0, f1 = dot1, f2 = dot2;
  lossSum += negLogSigmoid(y0 != 0 ? f0 : -f0) + negLogSigmoid(-f1) + negLogSigmoid(-f2);
  lossCount += 3;
  update3(l1, w0, w1, w2, (y0 - clampedSigmoid(f0)) * alpha, -clampedSigmoid(f1) * alpha, -clampedSigmoid(f2) * alpha);
}

/** Hierarchical softmax's gradient at Huffman entry k for dot product f: 0 for a saturated node (skipped, as word2vec.c), else counted in the loss. */
@inline function hsGradient(f: f32, k: i32, alpha: f32): f32 {
  if (f <= -MAX_EXP || f >= MAX_EXP) return 0;
  const code = <f32>load<u8>(codes + <usize>k);
  lossSum += negLogSigmoid(code != 0 ? -f : f);
  lossCount += 1;
  return (<f32>1 - code - load<f32>(expTable + cell(f))) * alpha;
}

/** Trains one sentence of `length` vocabulary ids at `ids`: subsampling first, then a shrunk window per word. */
function trainSentence(ids: usize, length: i32, alpha: f32): void {
  let count = 0;
  for (let i = 0; i < length; i++) {
    const w = load<i32>(ids + (<usize>i << 2));
    if (load<f64>(sampleInt + (<usize>w << 3)) >= <f64>next()) {
      store<i32>(kept + (<usize>count << 2), w);
      count++;
    }
  }
  const rowBytes = <usize>dim << 2;
  for (let pos = 0; pos < count; pos++) {
    const b = <i32>(next() % <u32>window); // reduced_window: the effective window is window − b
    const lo = max(0, pos - window + b);
    const hi = min(count - 1, pos + window - b);
    const word = load<i32>(kept + (<usize>pos << 2));
    if (!cbow) {
      for (let c = lo; c <= hi; c++) {
        if (c == pos) continue;
        const l1 = syn0 + <usize>load<i32>(kept + (<usize>c << 2)) * rowBytes;
        zero(neu1e);
        predict(l1, word, alpha);
        axpy(1, neu1e, l1);
      }
    } else {
      const contexts = hi - lo;
      if (contexts == 0) continue;
      zero(neu1);
      for (let c = lo; c <= hi; c++) {
        if (c == pos) continue;
        axpy(1, syn0 + <usize>load<i32>(kept + (<usize>c << 2)) * rowBytes, neu1);
      }
      if (cbowMean) scale(neu1, 1 / <f32>contexts);
      zero(neu1e);
      predict(neu1, word, alpha);
      // gensim spreads the error over a summed context; a mean context passes it whole to each word (word2vec.c)
      if (!cbowMean) scale(neu1e, 1 / <f32>contexts);
      for (let c = lo; c <= hi; c++) {
        if (c == pos) continue;
        axpy(1, neu1e, syn0 + <usize>load<i32>(kept + (<usize>c << 2)) * rowBytes);
      }
    }
  }
}

@inline function scale(p: usize, a: f32): void {
  const av = f32x4.splat(a);
  const n = dim;
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(p + (<usize>j << 2), f32x4.mul(v128.load(p + (<usize>j << 2)), av));
  for (; j < n; j++) store<f32>(p + (<usize>j << 2), load<f32>(p + (<usize>j << 2)) * a);
}

/**
 * Trains a job: `sentences` sentences whose ids lie back to back at `words`, sentence s ending before index
 * ends[s] (int32 at `ends`). The learning rate is fixed for the job, as gensim sets it per job. kept (a sentence's
 * ids after subsampling), neu1 and neu1e (dim floats each) and targets (negative + 1 ids) are the job slot's scratch.
 */
export function trainJob(sentences: i32, alpha: f32, words: usize, ends: usize, kept_: usize, neu1_: usize, neu1e_: usize, targets_: usize): void {
  kept = kept_;
  targets = targets_;
  neu1 = neu1_;
  neu1e = neu1e_;
  let start = 0;
  for (let s = 0; s < sentences; s++) {
    const end = load<i32>(ends + (<usize>s << 2));
    trainSentence(words + (<usize>start << 2), end - start, alpha);
    start = end;
  }
}

// GloVe: AdaGrad on the weighted least-squares loss f(x)·(wᵢ·w̃ⱼ + bᵢ + b̃ⱼ − log x)², as glove.c's glove_thread, over a
// block of co-occurrence entries. Rows of W and of its AdaGrad sums hold dim weights and then the bias; the context
// rows (W̃) follow the vocabulary's word rows. Hogwild threads each run their own instance over the same memory.

/**
 * Trains the n entries of a block in their order (the host has shuffled them). Entry k: word row rowsI[k] and context
 * row rowsJ[k] (int32, the context row already offset by the vocabulary size), log x and the weight f(x) (float32).
 * As glove.c: each weight's gradient fdiff·(other vector) is clipped to [−clip, clip], times eta, over the root of its
 * AdaGrad sum; a bias steps biasRate·fdiff over the root of its sum (biasRate 1 in glove.c since 2019, eta before).
 * Returns the block's summed cost ½·f(x)·diff².
 */
export function gloveBlock(n: i32, rowsI: usize, rowsJ: usize, logX: usize, fX: usize, w: usize, gradsq: usize, d: i32, eta: f32, clip: f32, biasRate: f32): f64 {
  const rowBytes = <usize>(d + 1) << 2;
  const ev = f32x4.splat(eta), hi = f32x4.splat(clip), lo = f32x4.splat(-clip);
  let cost: f64 = 0;
  for (let t = 0; t < n; t++) {
    const k = <usize>t << 2;
    const o1 = <usize>load<i32>(rowsI + k) * rowBytes;
    const o2 = <usize>load<i32>(rowsJ + k) * rowBytes;
    const l1 = w + o1, l2 = w + o2, g1 = gradsq + o1, g2 = gradsq + o2;
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= d; j += 4) acc = madd(v128.load(l1 + (<usize>j << 2)), v128.load(l2 + (<usize>j << 2)), acc);
    let diff = hsum(acc);
    for (; j < d; j++) diff += load<f32>(l1 + (<usize>j << 2)) * load<f32>(l2 + (<usize>j << 2));
    const bias = <usize>d << 2;
    diff += load<f32>(l1 + bias) + load<f32>(l2 + bias) - load<f32>(logX + k);
    const fdiff = load<f32>(fX + k) * diff;
    cost += 0.5 * <f64>fdiff * <f64>diff;
    const fv = f32x4.splat(fdiff);
    j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = <usize>j << 2;
      const a = v128.load(l1 + o), b = v128.load(l2 + o), ga = v128.load(g1 + o), gb = v128.load(g2 + o);
      const t1 = f32x4.mul(f32x4.min(f32x4.max(f32x4.mul(fv, b), lo), hi), ev);
      const t2 = f32x4.mul(f32x4.min(f32x4.max(f32x4.mul(fv, a), lo), hi), ev);
      v128.store(l1 + o, f32x4.sub(a, f32x4.div(t1, f32x4.sqrt(ga))));
      v128.store(l2 + o, f32x4.sub(b, f32x4.div(t2, f32x4.sqrt(gb))));
      v128.store(g1 + o, madd(t1, t1, ga));
      v128.store(g2 + o, madd(t2, t2, gb));
    }
    for (; j <= d; j++) {
      // the tail of the weights, then the bias (j == d), whose gradient is fdiff itself
      const o = <usize>j << 2;
      const a = load<f32>(l1 + o), b = load<f32>(l2 + o);
      const t1 = j < d ? min(max(fdiff * b, -clip), clip) * eta : fdiff * biasRate;
      const t2 = j < d ? min(max(fdiff * a, -clip), clip) * eta : fdiff * biasRate;
      store<f32>(l1 + o, a - t1 / sqrt<f32>(load<f32>(g1 + o)));
      store<f32>(l2 + o, b - t2 / sqrt<f32>(load<f32>(g2 + o)));
      store<f32>(g1 + o, load<f32>(g1 + o) + t1 * t1);
      store<f32>(g2 + o, load<f32>(g2 + o) + t2 * t2);
    }
  }
  return cost;
}
