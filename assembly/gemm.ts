// Single-precision GEMM for the fast CPU backend: C[M, N] = A[M, K] · B[K, N] over one shared WebAssembly memory.
//
// The Goto/BLIS structure: B is packed into NR-wide column panels and A into MR-tall row panels (K-blocked by KC),
// then a register-tiled MR×NR micro-kernel of f32x4 vectors runs over the packed panels. Packing reads A and B
// through arbitrary element strides, so every transpose combination is just a packing order: backward passes never
// materialise a transpose. Each worker thread calls `sgemm` on its own range of rows of C with its own pack buffers.
// Built twice: with relaxed SIMD (fused multiply-add) and without (multiply, then add).

import { hsum, splat, vexp, vsigmoid, vtanh } from './lib/vmath';

/** Register tile: MR rows × NR columns = 12 f32x4 accumulators, + 2 B vectors + 1 A splat = 15 of x64's 16 xmm registers. */
const MR: i32 = 6;
const NR: i32 = 8;
/** K block: an MR×KC panel of A and a KC×NR panel of B stay in L1 while the micro-kernel runs. */
export const KC: i32 = 256;
/** M block: an MC×KC block of packed A stays in L2. */
export const MC: i32 = 132;
/** N block: a KC×NC block of packed B stays in L3. */
export const NC: i32 = 2048;

/** Bytes of scratch a thread needs for its two pack buffers. */
export function packBytes(): i32 {
  return (MC * KC + KC * NC + NR * MR) * 4;
}

@inline function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Packs rows [0, mc) × k [0, kc) of A (element strides rs, cs) into MR-tall panels, zero-padding the last one. */
function packA(mc: i32, kc: i32, a: usize, rs: i32, cs: i32, dst: usize): void {
  for (let i: i32 = 0; i < mc; i += MR) {
    const rows = min(MR, mc - i);
    for (let k: i32 = 0; k < kc; k++) {
      for (let r: i32 = 0; r < MR; r++) {
        const v: f32 = r < rows ? load<f32>(a + (<usize>((i + r) * rs + k * cs) << 2)) : 0;
        store<f32>(dst, v);
        dst += 4;
      }
    }
  }
}

/** Packs k [0, kc) × columns [0, nc) of B (element strides rs, cs) into NR-wide panels, zero-padding the last one. */
function packB(kc: i32, nc: i32, b: usize, rs: i32, cs: i32, dst: usize): void {
  for (let j: i32 = 0; j < nc; j += NR) {
    const cols = min(NR, nc - j);
    if (cols === NR && cs === 1) {
      for (let k: i32 = 0; k < kc; k++) {
        const src = b + (<usize>(k * rs + j) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += NR << 2;
      }
      continue;
    }
    for (let k: i32 = 0; k < kc; k++) {
      for (let c: i32 = 0; c < NR; c++) {
        const v: f32 = c < cols ? load<f32>(b + (<usize>(k * rs + (j + c) * cs) << 2)) : 0;
        store<f32>(dst, v);
        dst += 4;
      }
    }
  }
}

/** C tile (MR×NR at c, row stride ldc) = (accumulate ? C : 0) + packed A panel · packed B panel; clipped to mr×nr. */
function microKernel(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, mr: i32, nr: i32, accumulate: bool, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let k: i32 = 0; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = fma(a, b0, c00); c01 = fma(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = fma(a, b0, c10); c11 = fma(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = fma(a, b0, c20); c21 = fma(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = fma(a, b0, c30); c31 = fma(a, b1, c31);
    a = v128.load32_splat(pa, 16);
    c40 = fma(a, b0, c40); c41 = fma(a, b1, c41);
    a = v128.load32_splat(pa, 20);
    c50 = fma(a, b0, c50); c51 = fma(a, b1, c51);
    pa += MR << 2;
    pb += NR << 2;
  }
  const rowBytes = <usize>ldc << 2;
  if (mr === MR && nr === NR) {
    if (accumulate) {
      c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
      c10 = f32x4.add(c10, v128.load(c + rowBytes)); c11 = f32x4.add(c11, v128.load(c + rowBytes, 16));
      c20 = f32x4.add(c20, v128.load(c + 2 * rowBytes)); c21 = f32x4.add(c21, v128.load(c + 2 * rowBytes, 16));
      c30 = f32x4.add(c30, v128.load(c + 3 * rowBytes)); c31 = f32x4.add(c31, v128.load(c + 3 * rowBytes, 16));
      c40 = f32x4.add(c40, v128.load(c + 4 * rowBytes)); c41 = f32x4.add(c41, v128.load(c + 4 * rowBytes, 16));
      c50 = f32x4.add(c50, v128.load(c + 5 * rowBytes)); c51 = f32x4.add(c51, v128.load(c + 5 * rowBytes, 16));
    }
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c + rowBytes, c10); v128.store(c + rowBytes, c11, 16);
    v128.store(c + 2 * rowBytes, c20); v128.store(c + 2 * rowBytes, c21, 16);
    v128.store(c + 3 * rowBytes, c30); v128.store(c + 3 * rowBytes, c31, 16);
    v128.store(c + 4 * rowBytes, c40); v128.store(c + 4 * rowBytes, c41, 16);
    v128.store(c + 5 * rowBytes, c50); v128.store(c + 5 * rowBytes, c51, 16);
    return;
  }
  // An edge tile: spill the accumulators, then write only the valid part.
  v128.store(tmp, c00); v128.store(tmp, c01, 16);
  v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
  v128.store(tmp, c20, 64); v128.store(tmp, c21, 80);
  v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
  v128.store(tmp, c40, 128); v128.store(tmp, c41, 144);
  v128.store(tmp, c50, 160); v128.store(tmp, c51, 176);
  for (let r: i32 = 0; r < mr; r++) {
    for (let j: i32 = 0; j < nr; j++) {
      const dst = c + <usize>r * rowBytes + (<usize>j << 2);
      const v = load<f32>(tmp + (<usize>(r * NR + j) << 2));
      store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
    }
  }
}

/**
 * Rows [m0, m1) of C = A · B. A[i, k] is at a + 4·(i·rsa + k·csa), B[k, j] at b + 4·(k·rsb + j·csb); C is row-major
 * with row stride ldc. `scratch` holds packBytes() bytes for this call's pack buffers.
 */
export function sgemm(m0: i32, m1: i32, N: i32, K: i32, a: usize, rsa: i32, csa: i32, b: usize, rsb: i32, csb: i32,
  c: usize, ldc: i32, scratch: usize): void {
  gemm(m0, m1, N, K, a, rsa, csa, b, rsb, csb, 0, c, ldc, scratch);
}

/** The NR-padded width of a column block of nc columns. */
@inline function padded(nc: i32): i32 { return (nc + NR - 1) / NR * NR; }

/** Floats that packPanels writes for a K×N operand. */
export function packedFloats(K: i32, N: i32): i32 {
  const full = N / NC * NC;
  return K * (full + padded(N - full));
}

/**
 * Packs all of B (K×N, element strides rs, cs) once, in the panels sgemm packs block by block: block (jc, pc) at
 * float offset jc·K + pc·padded(nc). An operand reused across many products (the LSTM's recurrent weight, once per
 * time step) is then packed once per sequence instead of once per product and thread.
 */
export function packPanels(K: i32, N: i32, b: usize, rs: i32, cs: i32, dst: usize): void {
  for (let jc: i32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc: i32 = 0; pc < K; pc += KC) {
      packB(min(KC, K - pc), nc, b + (<usize>(pc * rs + jc * cs) << 2), rs, cs, dst + (<usize>(jc * K + pc * padded(nc)) << 2));
    }
  }
}

/** sgemm with B already packed by packPanels(K, N, ...) at `packed`. */
export function sgemmPacked(m0: i32, m1: i32, N: i32, K: i32, a: usize, rsa: i32, csa: i32, packed: usize, c: usize, ldc: i32, scratch: usize): void {
  gemm(m0, m1, N, K, a, rsa, csa, 0, 0, 0, packed, c, ldc, scratch);
}

/** sgemm's loops; B's blocks are packed here into scratch, or read from `packed` where that is non-zero. */
@inline function gemm(m0: i32, m1: i32, N: i32, K: i32, a: usize, rsa: i32, csa: i32, b: usize, rsb: i32, csb: i32, packed: usize,
  c: usize, ldc: i32, scratch: usize): void {
  const packedA = scratch;
  const tmp = scratch + (<usize>(MC * KC + KC * NC) << 2);
  if (K === 0) {
    for (let i = m0; i < m1; i++) memory.fill(c + (<usize>(i * ldc) << 2), 0, <usize>N << 2);
    return;
  }
  for (let jc: i32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc: i32 = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      let packedB = scratch + (<usize>(MC * KC) << 2);
      if (packed) packedB = packed + (<usize>(jc * K + pc * padded(nc)) << 2);
      else packB(kc, nc, b + (<usize>(pc * rsb + jc * csb) << 2), rsb, csb, packedB);
      for (let ic: i32 = m0; ic < m1; ic += MC) {
        const mc = min(MC, m1 - ic);
        packA(mc, kc, a + (<usize>(ic * rsa + pc * csa) << 2), rsa, csa, packedA);
        for (let jr: i32 = 0; jr < nc; jr += NR) {
          for (let ir: i32 = 0; ir < mc; ir += MR) {
            microKernel(kc, packedA + (<usize>(ir * kc) << 2), packedB + (<usize>(jr * kc) << 2),
              c + (<usize>((ic + ir) * ldc + jc + jr) << 2), ldc, min(MR, mc - ir), min(NR, nc - jr), pc > 0, tmp);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Fused kernels built on the GEMM (a module cannot call another's functions, so they live next to sgemm): scaled
// dot-product attention per (batch, head) pair, forward and backward, and the per-step passes of the LSTM recurrence
// and of the LSTM with a projection (LSTMP). Their semantics are native/kernels.cc's (attentionForward/Backward,
// lstmForward/Backward, lstmpForward/Backward); exp, tanh and the sigmoid come from lib/vmath.ts.

/** Four floats at p, or the first n of them (the rest 0) when n < 4. */
@inline function ld(p: usize, n: i32): v128 {
  if (n === 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores four floats at p, or only the first n when n < 4. */
@inline function st(p: usize, v: v128, n: i32): void {
  if (n === 4) { v128.store(p, v); return; }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** Softmax in place over a row of n floats at row; hidden entries hold -Infinity and come out exactly 0. */
function softmaxRowInPlace(row: usize, n: i32): void {
  let vmax = splat(-Infinity);
  let j: i32 = 0;
  for (; j + 4 <= n; j += 4) vmax = f32x4.max(vmax, v128.load(row + (<usize>j << 2)));
  let m = max<f32>(max<f32>(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max<f32>(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  for (; j < n; j++) m = max<f32>(m, load<f32>(row + (<usize>j << 2)));
  const vm = splat(m);
  let vsum = splat(0);
  for (j = 0; j < n; j += 4) {
    const w = min(4, n - j), p = row + (<usize>j << 2);
    // The missing lanes of a partial load are 0, not -Infinity: mask them out of the sum.
    const e = v128.and(vexp(f32x4.sub(ld(p, w), vm)), lanesBelow(w));
    st(p, e, w);
    vsum = f32x4.add(vsum, e);
  }
  const inv = splat(1 / hsum(vsum));
  for (j = 0; j < n; j += 4) {
    const w = min(4, n - j), p = row + (<usize>j << 2);
    st(p, f32x4.mul(ld(p, w), inv), w);
  }
}

/** All-ones in the first n lanes, zeros in the rest. */
@inline function lanesBelow(n: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n));
}

// The parameter block of the attention kernels: 32 i32 slots in the shared memory, written by the caller (slot 0,
// B, is unused here; slot 7, the scale, holds a float32's bits). A view is its byte address at element [0, 0, 0, 0],
// then its four element strides. In the backward pass the mask's slots hold dOut's view, and OUT, GK, GV hold dq,
// dk, dv; in the forward pass OUT is the output and P the weights (read back in the backward pass).
const A_H = 1, A_TQ = 2, A_TK = 3, A_D = 4, A_DV = 5, A_CAUSAL = 6, A_SCALE = 7;
const A_Q = 8, A_K = 13, A_V = 18, A_M = 23, A_OUT = 28, A_P = 29, A_GK = 30, A_GV = 31;

@inline function slot(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }

/** The byte address of view v's element [b, h, 0, 0]. */
@inline function pairBase(p: usize, v: i32, b: i32, h: i32): usize {
  return <usize>slot(p, v) + (<usize>(b * slot(p, v + 1) + h * slot(p, v + 2)) << 2);
}

/**
 * Attention forward for the (batch, head) pairs [n0, n1) (pair n = b·H + h) of q [B, H, Tq, D], k [B, H, Tk, D],
 * v [B, H, Tk, Dv] and an optional mask [B, H, Tq, Tk] (address 0: none), all read through their strides: the
 * weights P [B, H, Tq, Tk] = softmax(scale·q kᵀ) over the visible keys (key j is visible to query i when not causal
 * or j <= i + Tk - Tq, and the mask is non-zero there; hidden keys get exactly 0, a row with none visible is
 * uniform and flagged in the B·H·Tq floats after P, so that the backward gives its scores no gradient, as the
 * composite does), and out [B, Tq, H, Dv] = P v. `scratch` holds packBytes() bytes for the GEMM.
 */
export function attentionForward(n0: i32, n1: i32, p: usize, scratch: usize): void {
  const H = slot(p, A_H), Tq = slot(p, A_TQ), Tk = slot(p, A_TK), D = slot(p, A_D), Dv = slot(p, A_DV);
  const causal = slot(p, A_CAUSAL) !== 0, scale = load<f32>(p + (<usize>A_SCALE << 2));
  const hasMask = slot(p, A_M) !== 0, ms2 = slot(p, A_M + 3), ms3 = slot(p, A_M + 4);
  const hiddenRows = <usize>slot(p, A_P) + (<usize>(slot(p, 0) * H * Tq * Tk) << 2);
  for (let n = n0; n < n1; n++) {
    const b = n / H, h = n % H;
    const S = <usize>slot(p, A_P) + (<usize>(n * Tq * Tk) << 2);
    sgemm(0, Tq, Tk, D, pairBase(p, A_Q, b, h), slot(p, A_Q + 3), slot(p, A_Q + 4), pairBase(p, A_K, b, h), slot(p, A_K + 4), slot(p, A_K + 3), S, Tk, scratch);
    const mbase = hasMask ? pairBase(p, A_M, b, h) : 0;
    for (let i: i32 = 0; i < Tq; i++) {
      const row = S + (<usize>(i * Tk) << 2);
      const visible = causal ? min(Tk, i + Tk - Tq + 1) : Tk;
      let any = visible > 0;
      if (hasMask) {
        const mrow = mbase + (<usize>(i * ms2) << 2);
        any = false;
        for (let j: i32 = 0; j < Tk; j++) {
          const shown = j < visible && load<f32>(mrow + (<usize>(j * ms3) << 2)) != 0;
          const at = row + (<usize>j << 2);
          store<f32>(at, shown ? load<f32>(at) * scale : -Infinity);
          any = any || shown;
        }
        if (any) softmaxRowInPlace(row, Tk);
      } else if (any) {
        // Without a mask the visible keys are a prefix: scale it four lanes at a time, softmax over it alone, and
        // give the hidden rest weight 0.
        const vs = splat(scale);
        for (let j: i32 = 0; j < visible; j += 4) {
          const w = min(4, visible - j), at = row + (<usize>j << 2);
          st(at, f32x4.mul(ld(at, w), vs), w);
        }
        softmaxRowInPlace(row, visible);
        memory.fill(row + (<usize>visible << 2), 0, <usize>(Tk - visible) << 2);
      }
      if (!any) {
        const u: f32 = 1 / <f32>Tk;
        for (let j: i32 = 0; j < Tk; j++) store<f32>(row + (<usize>j << 2), u);
      }
      store<f32>(hiddenRows + (<usize>(n * Tq + i) << 2), any ? 0 : 1);
    }
    const out = <usize>slot(p, A_OUT) + (<usize>(b * Tq * H * Dv + h * Dv) << 2);
    sgemm(0, Tq, Dv, Tk, S, Tk, 1, pairBase(p, A_V, b, h), slot(p, A_V + 3), slot(p, A_V + 4), out, H * Dv, scratch);
  }
}

/**
 * Attention backward for the pairs [n0, n1) from dOut [B, H, Tq, Dv] (strided, in the mask's slots) and the saved P:
 * dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP - rowsum(dP ⊙ P))·scale, dQ = dS K, dK = dSᵀ Q, written as dq [B, Tq, H, D],
 * dk [B, Tk, H, D], dv [B, Tk, H, Dv]. `dS` holds Tq·Tk floats of this thread's own.
 */
export function attentionBackward(n0: i32, n1: i32, p: usize, scratch: usize, dS: usize): void {
  const H = slot(p, A_H), Tq = slot(p, A_TQ), Tk = slot(p, A_TK), D = slot(p, A_D), Dv = slot(p, A_DV);
  const scale = splat(load<f32>(p + (<usize>A_SCALE << 2)));
  const os2 = slot(p, A_M + 3), os3 = slot(p, A_M + 4);
  const hiddenRows = <usize>slot(p, A_P) + (<usize>(slot(p, 0) * H * Tq * Tk) << 2);
  for (let n = n0; n < n1; n++) {
    const b = n / H, h = n % H;
    const P = <usize>slot(p, A_P) + (<usize>(n * Tq * Tk) << 2);
    const dO = pairBase(p, A_M, b, h), q = pairBase(p, A_Q, b, h), k = pairBase(p, A_K, b, h);
    const dv = <usize>slot(p, A_GV) + (<usize>(b * Tk * H * Dv + h * Dv) << 2);
    sgemm(0, Tk, Dv, Tq, P, 1, Tk, dO, os2, os3, dv, H * Dv, scratch);
    sgemm(0, Tq, Tk, Dv, dO, os2, os3, pairBase(p, A_V, b, h), slot(p, A_V + 4), slot(p, A_V + 3), dS, Tk, scratch);
    for (let i: i32 = 0; i < Tq; i++) {
      const row = dS + (<usize>(i * Tk) << 2), prow = P + (<usize>(i * Tk) << 2);
      if (load<f32>(hiddenRows + (<usize>(n * Tq + i) << 2)) != 0) { memory.fill(row, 0, <usize>Tk << 2); continue; }
      let vdot = splat(0);
      for (let j: i32 = 0; j < Tk; j += 4) {
        const w = min(4, Tk - j), o = <usize>j << 2;
        vdot = f32x4.add(vdot, f32x4.mul(ld(row + o, w), ld(prow + o, w)));
      }
      const dot = splat(hsum(vdot));
      for (let j: i32 = 0; j < Tk; j += 4) {
        const w = min(4, Tk - j), o = <usize>j << 2;
        st(row + o, f32x4.mul(f32x4.mul(ld(prow + o, w), f32x4.sub(ld(row + o, w), dot)), scale), w);
      }
    }
    const dq = <usize>slot(p, A_OUT) + (<usize>(b * Tq * H * D + h * D) << 2);
    const dk = <usize>slot(p, A_GK) + (<usize>(b * Tk * H * D + h * D) << 2);
    sgemm(0, Tq, D, Tk, dS, Tk, 1, k, slot(p, A_K + 3), slot(p, A_K + 4), dq, H * D, scratch);
    sgemm(0, Tk, D, Tq, dS, 1, Tk, q, slot(p, A_Q + 3), slot(p, A_Q + 4), dk, H * D, scratch);
  }
}

// The LSTM recurrence's per-step passes, without and with a projection (LSTMP); the caller runs the GEMMs between
// them. The gate math is shared: gateChunk and gateGradChunk.

/**
 * Chunk jo (w lanes) of one row's gates: the activations i, f, g, o of the recurrent product g4 [4H] + xw's row x
 * (+ b_hh unless bias is 0), saved into the row's acts a [4H] (`gate` bytes apart); returns the new cell f·cp + i·g.
 */
@inline function gateChunk(g4: usize, x: usize, bias: usize, a: usize, gate: usize, jo: usize, w: i32, cp: v128): v128 {
  let pi = f32x4.add(ld(g4 + jo, w), ld(x + jo, w));
  let pf = f32x4.add(ld(g4 + gate + jo, w), ld(x + gate + jo, w));
  let pg = f32x4.add(ld(g4 + 2 * gate + jo, w), ld(x + 2 * gate + jo, w));
  let po = f32x4.add(ld(g4 + 3 * gate + jo, w), ld(x + 3 * gate + jo, w));
  if (bias) {
    pi = f32x4.add(pi, ld(bias + jo, w));
    pf = f32x4.add(pf, ld(bias + gate + jo, w));
    pg = f32x4.add(pg, ld(bias + 2 * gate + jo, w));
    po = f32x4.add(po, ld(bias + 3 * gate + jo, w));
  }
  const i = vsigmoid(pi), f = vsigmoid(pf), g = vtanh(pg);
  st(a + jo, i, w);
  st(a + gate + jo, f, w);
  st(a + 2 * gate + jo, g, w);
  st(a + 3 * gate + jo, vsigmoid(po), w);
  return f32x4.add(f32x4.mul(f, cp), f32x4.mul(i, g));
}

/**
 * Chunk jo of one row's gate pre-activation gradients dg [4H] from the saved acts a, dc (the cell's gradient, after
 * any clip has passed it), dh (of h = o·tanh(c)), tc = tanh(c) and the incoming cell cp.
 */
@inline function gateGradChunk(a: usize, dg: usize, gate: usize, jo: usize, w: i32, dc: v128, dh: v128, tc: v128, cp: v128): void {
  const one = splat(1);
  const i = ld(a + jo, w), f = ld(a + gate + jo, w), g = ld(a + 2 * gate + jo, w), o = ld(a + 3 * gate + jo, w);
  st(dg + jo, f32x4.mul(f32x4.mul(f32x4.mul(dc, g), i), f32x4.sub(one, i)), w);
  st(dg + gate + jo, f32x4.mul(f32x4.mul(f32x4.mul(dc, cp), f), f32x4.sub(one, f)), w);
  st(dg + 2 * gate + jo, f32x4.mul(f32x4.mul(dc, i), f32x4.sub(one, f32x4.mul(g, g))), w);
  st(dg + 3 * gate + jo, f32x4.mul(f32x4.mul(f32x4.mul(dh, tc), o), f32x4.sub(one, o)), w);
}

/** x clipped to ±bound as the composite clips it (minimum(maximum(x, -bound), bound)). */
@inline function clipTo(x: v128, bound: f32): v128 { return f32x4.min(f32x4.max(x, splat(-bound)), splat(bound)); }

/** d where x lies within ±bound (bounds included), else 0: the gradient through clipTo, as clamp passes it. */
@inline function insideOr0(x: v128, bound: f32, d: v128): v128 {
  return v128.and(d, v128.and(f32x4.ge(x, splat(-bound)), f32x4.le(x, splat(bound))));
}

/**
 * The gate pass of LSTM forward step t (PyTorch's gate order i, f, g, o) over B rows, after the caller's GEMM put
 * h·W_hhᵀ into gates [B, 4H]: adds xw [B, T, 4H] (and b_hh [4H] unless bias is 0), applies the activations, saves
 * them into acts [B, T, 4H], the new cell into cNew [B, T, H] and the incoming h, c into hPrev, cPrev [B, T, H],
 * writes the step's output into out [B, T + 2, H] and updates the states h, c [B, H] in place. With a step mask
 * [B, T] (0: none), a padded step (mask 0) keeps the state and outputs 0.
 */
export function lstmStepForward(B: i32, T: i32, H: i32, t: i32, xw: usize, gates: usize, bias: usize, mask: usize, h: usize, c: usize,
  acts: usize, cNew: usize, hPrev: usize, cPrev: usize, out: usize): void {
  const H4 = 4 * H, gate = <usize>H << 2;
  for (let b: i32 = 0; b < B; b++) {
    const row = b * T + t;
    const x = xw + (<usize>(row * H4) << 2), g4 = gates + (<usize>(b * H4) << 2), a = acts + (<usize>(row * H4) << 2);
    const hb = h + (<usize>(b * H) << 2), cb = c + (<usize>(b * H) << 2);
    const cn = cNew + (<usize>(row * H) << 2), o = out + (<usize>((b * (T + 2) + t) * H) << 2);
    memory.copy(hPrev + (<usize>(row * H) << 2), hb, gate);
    memory.copy(cPrev + (<usize>(row * H) << 2), cb, gate);
    const m = mask ? load<f32>(mask + (<usize>row << 2)) : 1;
    const vm = splat(m), keep = splat(1 - m);
    for (let j: i32 = 0; j < H; j += 4) {
      const w = min(4, H - j), jo = <usize>j << 2;
      const cp = ld(cb + jo, w);
      const cv = gateChunk(g4, x, bias, a, gate, jo, w, cp);
      const hv = f32x4.mul(ld(a + 3 * gate + jo, w), vtanh(cv));
      st(cn + jo, cv, w);
      if (mask) {
        st(hb + jo, f32x4.add(f32x4.mul(vm, hv), f32x4.mul(keep, ld(hb + jo, w))), w);
        st(cb + jo, f32x4.add(f32x4.mul(vm, cv), f32x4.mul(keep, cp)), w);
        st(o + jo, f32x4.mul(hv, vm), w);
      } else {
        st(hb + jo, hv, w);
        st(cb + jo, cv, w);
        st(o + jo, hv, w);
      }
    }
  }
}

/**
 * The gate pass of LSTM backward step t from grad [B, T + 2, H] (the gradient of the forward's out), the saved
 * acts, cNew, cPrev and the running dh, dc [B, H]: writes the gate pre-activation gradients into dxw [B, T, 4H] and
 * turns dc into step t - 1's (dh's is the caller's GEMM with W_hh, then lstmCarry).
 */
export function lstmStepBackward(B: i32, T: i32, H: i32, t: i32, grad: usize, mask: usize, acts: usize, cNew: usize, cPrev: usize,
  dh: usize, dc: usize, dxw: usize): void {
  const H4 = 4 * H, gate = <usize>H << 2, one = splat(1);
  for (let b: i32 = 0; b < B; b++) {
    const row = b * T + t;
    const a = acts + (<usize>(row * H4) << 2), dg = dxw + (<usize>(row * H4) << 2);
    const dhb = dh + (<usize>(b * H) << 2), dcb = dc + (<usize>(b * H) << 2);
    const gOut = grad + (<usize>((b * (T + 2) + t) * H) << 2);
    const cn = cNew + (<usize>(row * H) << 2), cp = cPrev + (<usize>(row * H) << 2);
    const m = mask ? load<f32>(mask + (<usize>row << 2)) : 1;
    const vm = splat(m), keep = splat(1 - m);
    for (let j: i32 = 0; j < H; j += 4) {
      const w = min(4, H - j), jo = <usize>j << 2;
      const tc = vtanh(ld(cn + jo, w));
      const dcIn = ld(dcb + jo, w);
      const dhNew = f32x4.mul(f32x4.add(ld(dhb + jo, w), ld(gOut + jo, w)), vm);
      const dcNew = f32x4.add(f32x4.mul(dcIn, vm), f32x4.mul(f32x4.mul(dhNew, ld(a + 3 * gate + jo, w)), f32x4.sub(one, f32x4.mul(tc, tc))));
      gateGradChunk(a, dg, gate, jo, w, dcNew, dhNew, tc, ld(cp + jo, w));
      // dc for step t - 1: through the cell, plus the part a padded step passes straight back.
      st(dcb + jo, f32x4.add(f32x4.mul(dcNew, ld(a + gate + jo, w)), f32x4.mul(dcIn, keep)), w);
    }
  }
}

/**
 * The state's gradient d [B, W] for step t - 1 = dPrev (dG_t · W_hh, the caller's GEMM) + what a padded step t passes
 * straight back (d is dh [B, H] for the LSTM, dr [B, P] for the LSTMP).
 */
export function lstmCarry(B: i32, T: i32, W: i32, t: i32, mask: usize, d: usize, dPrev: usize): void {
  for (let b: i32 = 0; b < B; b++) {
    const keep = splat(mask ? 1 - load<f32>(mask + (<usize>(b * T + t) << 2)) : 0);
    const db = d + (<usize>(b * W) << 2), s = dPrev + (<usize>(b * W) << 2);
    for (let j: i32 = 0; j < W; j += 4) {
      const w = min(4, W - j), jo = <usize>j << 2;
      st(db + jo, f32x4.add(ld(s + jo, w), f32x4.mul(ld(db + jo, w), keep)), w);
    }
  }
}

/**
 * The gate pass of LSTMP forward step t (native/kernels.cc lstmpForward) over B rows, after the caller's GEMM put
 * r·W_hhᵀ into gates [B, 4H]: adds xw [B, T, 4H] (and b_hh unless bias is 0), saves the activations into acts
 * [B, T, 4H], the unclipped cell into cRaw and the incoming c into cPrev [B, T, H], writes h = o·tanh(c clipped to
 * ±cellClip; infinite: no clip) into hNew [B, T, H] and updates c [B, H] in place (a padded step keeps it).
 */
export function lstmpGatesForward(B: i32, T: i32, H: i32, t: i32, xw: usize, gates: usize, bias: usize, mask: usize, c: usize,
  acts: usize, cRaw: usize, cPrev: usize, hNew: usize, cellClip: f32): void {
  const H4 = 4 * H, gate = <usize>H << 2, clips = isFinite<f32>(cellClip);
  for (let b: i32 = 0; b < B; b++) {
    const row = b * T + t;
    const x = xw + (<usize>(row * H4) << 2), g4 = gates + (<usize>(b * H4) << 2), a = acts + (<usize>(row * H4) << 2);
    const cb = c + (<usize>(b * H) << 2), cr = cRaw + (<usize>(row * H) << 2), hn = hNew + (<usize>(row * H) << 2);
    memory.copy(cPrev + (<usize>(row * H) << 2), cb, gate);
    const m = mask ? load<f32>(mask + (<usize>row << 2)) : 1;
    const vm = splat(m), keep = splat(1 - m);
    for (let j: i32 = 0; j < H; j += 4) {
      const w = min(4, H - j), jo = <usize>j << 2;
      const cp = ld(cb + jo, w);
      const raw = gateChunk(g4, x, bias, a, gate, jo, w, cp);
      const cv = clips ? clipTo(raw, cellClip) : raw;
      st(cr + jo, raw, w);
      st(hn + jo, f32x4.mul(ld(a + 3 * gate + jo, w), vtanh(cv)), w);
      st(cb + jo, mask ? f32x4.add(f32x4.mul(vm, cv), f32x4.mul(keep, cp)) : cv, w);
    }
  }
}

/**
 * The projection pass of LSTMP forward step t over B rows, after the caller's GEMM put h_t·W_hrᵀ into proj [B, P]:
 * saves the incoming r [B, P] into rPrev [B, T, P] and (unless rRaw is 0) the unclipped projection into rRaw
 * [B, T, P], clips it to ±projClip (infinite: no clip), writes it (0 on a padded step) as step t's output into out
 * [B, T·P + P + H] and updates r in place (a padded step keeps it).
 */
export function lstmpProjectForward(B: i32, T: i32, H: i32, P: i32, t: i32, proj: usize, mask: usize, r: usize, rPrev: usize, rRaw: usize,
  out: usize, projClip: f32): void {
  const clips = isFinite<f32>(projClip);
  for (let b: i32 = 0; b < B; b++) {
    const row = b * T + t;
    const rb = r + (<usize>(b * P) << 2), pb = proj + (<usize>(b * P) << 2), o = out + (<usize>(b * (T * P + P + H) + t * P) << 2);
    memory.copy(rPrev + (<usize>(row * P) << 2), rb, <usize>P << 2);
    const m = mask ? load<f32>(mask + (<usize>row << 2)) : 1;
    const vm = splat(m), keep = splat(1 - m);
    for (let j: i32 = 0; j < P; j += 4) {
      const w = min(4, P - j), jo = <usize>j << 2;
      const raw = ld(pb + jo, w);
      if (rRaw) st(rRaw + (<usize>(row * P) << 2) + jo, raw, w);
      const rv = clips ? clipTo(raw, projClip) : raw;
      if (mask) {
        st(rb + jo, f32x4.add(f32x4.mul(vm, rv), f32x4.mul(keep, ld(rb + jo, w))), w);
        st(o + jo, f32x4.mul(rv, vm), w);
      } else {
        st(rb + jo, rv, w);
        st(o + jo, rv, w);
      }
    }
  }
}

/**
 * The projection's part of LSTMP backward step t: dProj [B, T, P] at step t = (dr [B, P] + step t's output gradient
 * in grad [B, T·P + P + H])·mask, through the clip of rRaw's values (unless rRaw is 0). dr is left for lstmCarry.
 */
export function lstmpProjectBackward(B: i32, T: i32, H: i32, P: i32, t: i32, grad: usize, mask: usize, rRaw: usize, projClip: f32,
  dr: usize, dProj: usize): void {
  for (let b: i32 = 0; b < B; b++) {
    const row = b * T + t;
    const drb = dr + (<usize>(b * P) << 2), g = grad + (<usize>(b * (T * P + P + H) + t * P) << 2);
    const dp = dProj + (<usize>(row * P) << 2), raw = rRaw + (<usize>(row * P) << 2);
    const vm = splat(mask ? load<f32>(mask + (<usize>row << 2)) : 1);
    for (let j: i32 = 0; j < P; j += 4) {
      const w = min(4, P - j), jo = <usize>j << 2;
      const d = f32x4.mul(f32x4.add(ld(drb + jo, w), ld(g + jo, w)), vm);
      st(dp + jo, rRaw ? insideOr0(ld(raw + jo, w), projClip, d) : d, w);
    }
  }
}

/**
 * The gate pass of LSTMP backward step t from dh [B, H] (dProj_t · W_hr, the caller's GEMM), the saved acts, cRaw,
 * cPrev and the running dc [B, H]: writes the gate pre-activation gradients into dxw [B, T, 4H] and turns dc into
 * step t - 1's (dr's is the caller's GEMM with W_hh, then lstmCarry).
 */
export function lstmpGatesBackward(B: i32, T: i32, H: i32, t: i32, mask: usize, acts: usize, cRaw: usize, cPrev: usize, dh: usize, dc: usize,
  dxw: usize, cellClip: f32): void {
  const H4 = 4 * H, gate = <usize>H << 2, one = splat(1), clips = isFinite<f32>(cellClip);
  for (let b: i32 = 0; b < B; b++) {
    const row = b * T + t;
    const a = acts + (<usize>(row * H4) << 2), dg = dxw + (<usize>(row * H4) << 2);
    const dhb = dh + (<usize>(b * H) << 2), dcb = dc + (<usize>(b * H) << 2);
    const cr = cRaw + (<usize>(row * H) << 2), cp = cPrev + (<usize>(row * H) << 2);
    const m = mask ? load<f32>(mask + (<usize>row << 2)) : 1;
    const vm = splat(m), keep = splat(1 - m);
    for (let j: i32 = 0; j < H; j += 4) {
      const w = min(4, H - j), jo = <usize>j << 2;
      const raw = ld(cr + jo, w);
      const tc = vtanh(clips ? clipTo(raw, cellClip) : raw);
      const dcIn = ld(dcb + jo, w), dhNew = ld(dhb + jo, w);
      const dcNew = f32x4.add(f32x4.mul(dcIn, vm), f32x4.mul(f32x4.mul(dhNew, ld(a + 3 * gate + jo, w)), f32x4.sub(one, f32x4.mul(tc, tc))));
      const dcRaw = clips ? insideOr0(raw, cellClip, dcNew) : dcNew;
      gateGradChunk(a, dg, gate, jo, w, dcRaw, dhNew, tc, ld(cp + jo, w));
      st(dcb + jo, f32x4.add(f32x4.mul(dcRaw, ld(a + gate + jo, w)), f32x4.mul(dcIn, keep)), w);
    }
  }
}

/** out[j] = Σ_r x[r, j] over a contiguous [rows, n] array (the LSTM's bias gradient). */
export function columnSums(x: usize, rows: i32, n: i32, out: usize): void {
  memory.fill(out, 0, <usize>n << 2);
  for (let r: i32 = 0; r < rows; r++) {
    const s = x + (<usize>(r * n) << 2);
    for (let j: i32 = 0; j < n; j += 4) {
      const w = min(4, n - j), jo = <usize>j << 2;
      st(out + jo, f32x4.add(ld(out + jo, w), ld(s + jo, w)), w);
    }
  }
}
