// Single-precision GEMM for the fast CPU backend: C[M, N] = A[M, K] · B[K, N] over one shared WebAssembly memory.
//
// The Goto/BLIS structure: B is packed into NR-wide column panels and A into MR-tall row panels (K-blocked by KC),
// then a register-tiled MR×NR micro-kernel of f32x4 vectors runs over the packed panels. Packing reads A and B
// through arbitrary element strides, so every transpose combination is just a packing order: backward passes never
// materialise a transpose. Each worker thread calls `sgemm` on its own range of rows of C with its own pack buffers.
// Built twice: with relaxed SIMD (fused multiply-add) and without (multiply, then add).

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
  const packedA = scratch;
  const packedB = scratch + (<usize>(MC * KC) << 2);
  const tmp = packedB + (<usize>(KC * NC) << 2);
  if (K === 0) {
    for (let i = m0; i < m1; i++) memory.fill(c + (<usize>(i * ldc) << 2), 0, <usize>N << 2);
    return;
  }
  for (let jc: i32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc: i32 = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(kc, nc, b + (<usize>(pc * rsb + jc * csb) << 2), rsb, csb, packedB);
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
