// Direct convolution for the native kernels (included by kernels.cc after its vector types, thread pool and GEMM):
// the forward pass, the input gradient and the weight gradient of conv2d with one group, over NCHW arrays, with no
// im2col matrix.
//
// The idea is the "shifted GEMM". An image's input is copied, padded, into a grid of planes (one per channel and
// stride phase) whose rows are Wg = Wo + (largest tap shift) wide. On that grid every kernel tap is a constant
// offset: output pixel q = oh·Wg + ow reads tap (c, a, b) at q + off[c, a, b]. So the convolution is
// out[o, q] = Σ_k weight[o, k] · grid[off[k] + q], a GEMM whose second operand is the grid read at K shifts: the
// micro-kernel broadcasts R weights and loads V vectors of consecutive pixels straight from the grid (no packing),
// and its accumulators hold R output channels × V·VL pixels for the whole K loop. The Wg - Wo columns past each
// output row are computed and dropped (7% at 28×28 with a 3×3 kernel, 22% at 7×7).
//
// A stride s splits each axis into the phases (a·dilation) mod s that the taps use, each its own plane, so a tap is
// again a plain shift (a stride-2 convolution reads four quarter-size planes). The input gradient is the transposed
// convolution: per phase ρ of the input, the taps with (a·dilation) mod s = ρ correlate the output gradient (padded
// on the grid) with the weight read as [C, O·taps]; a stride-1 convolution has one phase and the flipped kernel. The
// weight gradient is dW[o, k] = Σ_n Σ_q g[n, o, q] · grid[n, off[k] + q], a product reduced along the pixels: with
// g transposed to [pixels, O], R taps broadcast from the grid times V vectors of output channels (only the real
// pixels, no lanes to add up at the end), or, when O is far from a multiple of the vector width, with g on the grid
// (zero in the dropped columns) and accumulators that are vectors of pixels, summed at the end.
//
// The micro-kernels' tiles were measured on AVX-512 (tileCycles): broadcasts are cheap, the unaligned pixel vectors
// split cache lines, so R = 8 rows × 2-3 vectors reach 150 GFLOP/s on one core here, the im2col GEMM about 15-50.
//
// Images are independent: threads take whole images (the weight gradient keeps a partial sum per thread), and every
// grid lives in the thread's own scratch, an image (or a few, for the weight gradient) at a time, so it stays in L2.

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace conv {

// Short rows (7 to 30 floats here) copied with whole vectors and a masked last one: memcpy's call and size dispatch
// cost more than the copy, and these rows are most of the grid building.
#if defined(__AVX512F__)
static inline __mmask16 tailMask(long n) { return static_cast<__mmask16>((1u << n) - 1); }
/** dst[0:n] = src[0:n] + add. */
static inline void copyRow(float* dst, const float* src, long n, float add = 0.0f) {
  const __m512 a = _mm512_set1_ps(add);
  long i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_add_ps(_mm512_loadu_ps(src + i), a));
  if (i < n) _mm512_mask_storeu_ps(dst + i, tailMask(n - i), _mm512_add_ps(_mm512_maskz_loadu_ps(tailMask(n - i), src + i), a));
}
static inline void zeroRow(float* dst, long n) {
  long i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_setzero_ps());
  if (i < n) _mm512_mask_storeu_ps(dst + i, tailMask(n - i), _mm512_setzero_ps());
}
#else
static inline void copyRow(float* dst, const float* src, long n, float add = 0.0f) {
  if (add == 0.0f) std::memcpy(dst, src, sizeof(float) * n);
  else for (long i = 0; i < n; i++) dst[i] = src[i] + add;
}
static inline void zeroRow(float* dst, long n) { std::memset(dst, 0, sizeof(float) * n); }
#endif

static inline long floorDiv(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static inline long ceilDiv(long a, long b) { return -floorDiv(-a, b); }

/** One spatial axis of a convolution: its taps' phases and shifts on the grid. */
struct Axis {
  long k, s, p, d, in, out;
  /** The phases (a·d) mod s that taps use, ascending, and each tap's index among them and shift (a·d) div s. */
  std::vector<long> phases, phaseOf, shift;
  long tmax = 0;
  /** Grid length per phase: out + tmax covers every tap of every output. */
  long grid = 0;
  Axis(long k_, long s_, long p_, long d_, long in_, long out_) : k(k_), s(s_), p(p_), d(d_), in(in_), out(out_) {
    for (long a = 0; a < k; a++) {
      const long r = (a * d) % s;
      if (std::find(phases.begin(), phases.end(), r) == phases.end()) phases.push_back(r);
    }
    std::sort(phases.begin(), phases.end());
    for (long a = 0; a < k; a++) {
      phaseOf.push_back(std::find(phases.begin(), phases.end(), (a * d) % s) - phases.begin());
      shift.push_back((a * d) / s);
      tmax = std::max(tmax, shift.back());
    }
    grid = out + tmax;
  }
  long nph() const { return static_cast<long>(phases.size()); }
  /** Grid positions [lo, hi) of phase `ph` that hold input elements (the rest is padding). */
  void valid(long ph, long& lo, long& hi) const {
    const long r = phases[ph];
    lo = std::min(grid, std::max(0L, ceilDiv(p - r, s)));
    hi = std::max(lo, std::min(grid, floorDiv(in + p - 1 - r, s) + 1));
  }
};

/** A scratch array per thread and purpose, 64-byte aligned (rows of whole vectors never split a cache line), kept at the largest size asked for. */
static float* scratch(int slot, size_t n) {
  thread_local std::vector<float> bufs[8];
  std::vector<float>& b = bufs[slot];
  if (b.size() < n + 16) b.assign(n + 16, 0.0f);
  return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(b.data()) + 63) & ~static_cast<uintptr_t>(63));
}

/**
 * The grid of one image x [C, H, W]: planes [C][phases h][phases w][Hg][Wg], zero where the padding is, and `slack`
 * floats of zeros after them (the dropped columns of the last rows read past the planes). A horizontal stride of 2
 * splits each padded input row into its even and odd columns with vector shuffles.
 */
static void buildGrid(const float* x, long C, const Axis& ah, const Axis& aw, float* grid, long slack) {
  const long Hg = ah.grid, Wg = aw.grid, S = Hg * Wg, npw = aw.nph();
  const bool split2 = aw.s == 2;
  // A padded input row for the split (W + 2·pw elements, read up to 2·roundUp(Wg, VL) + a vector), then room for
  // its even and odd halves.
  const long padW = roundUp(Wg, VL) + VL;
  const long rowLen = std::max(aw.in + 2 * aw.p, 2 * padW) + 2 * VL + 2 * padW;
  float* rowp = split2 ? scratch(6, static_cast<size_t>(rowLen)) : nullptr;
  if (split2) std::memset(rowp, 0, sizeof(float) * rowLen);
  for (long c = 0; c < C; c++) {
    const float* plane = x + c * ah.in * aw.in;
    for (long ph = 0; ph < ah.nph(); ph++) {
      long ulo, uhi;
      ah.valid(ph, ulo, uhi);
      const long rh = ah.phases[ph];
      float* dst = grid + (c * ah.nph() + ph) * npw * S;
      for (long pw = 0; pw < npw; pw++) {
        std::memset(dst + pw * S, 0, sizeof(float) * ulo * Wg);
        std::memset(dst + pw * S + uhi * Wg, 0, sizeof(float) * (Hg - uhi) * Wg);
      }
      for (long u = ulo; u < uhi; u++) {
        const float* src = plane + (u * ah.s + rh - ah.p) * aw.in;
        if (split2) {
          // rowp[t] = x[t - pw] (zeros around), then phase r's row v = rowp[2v + r].
          copyRow(rowp + aw.p, src, aw.in);
          // Whole vectors into the row buffer's two halves (past Wg too: rows are often shorter than a vector), then
          // the rows' Wg elements out. The phases are {0} or {0, 1}: tap 0 is always in phase 0.
          float* ev = rowp + rowLen - 2 * padW, * od = ev + padW;
          for (long v = 0; v < Wg; v += VL) {
            const vf a = loadu(rowp + 2 * v), b = loadu(rowp + 2 * v + VL);
            vi even, odd;
            for (int i = 0; i < VL; i++) {
              even[i] = 2 * i;
              odd[i] = 2 * i + 1;
            }
            storeu(ev + v, __builtin_shuffle(a, b, even));
            storeu(od + v, __builtin_shuffle(a, b, odd));
          }
          copyRow(dst + u * Wg, ev, Wg);
          if (npw > 1) copyRow(dst + S + u * Wg, od, Wg);
          continue;
        }
        for (long pw = 0; pw < npw; pw++) {
          long vlo, vhi;
          aw.valid(pw, vlo, vhi);
          const long rw = aw.phases[pw];
          float* row = dst + pw * S + u * Wg;
          const float* s0 = src + rw - aw.p;
          if (aw.s == 1) {
            zeroRow(row, Wg);
            copyRow(row + vlo, s0 + vlo, vhi - vlo);
            continue;
          }
          for (long v = 0; v < vlo; v++) row[v] = 0.0f;
          for (long v = vlo; v < vhi; v++) row[v] = s0[v * aw.s];
          for (long v = vhi; v < Wg; v++) row[v] = 0.0f;
        }
      }
    }
  }
  std::memset(grid + C * ah.nph() * npw * S, 0, sizeof(float) * slack);
}

// ---------------------------------------------------------------------------------------------------------------
// The shifted GEMM: T[m, q] = Σ_k A[m, k] · in[off[k] + q] over tiles of R rows × V vectors.

template <int R, int V>
static void shiftTile(long K, const float* __restrict ap, const float* in, const int32_t* __restrict off, float* out, long ldo) {
  vf acc[R][V];
#pragma GCC unroll 32
  for (int i = 0; i < R; i++)
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) acc[i][v] = vf{};
  for (long k = 0; k < K; k++) {
    const float* p = in + off[k];
    vf b[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) b[v] = loadu(p + v * VL);
#pragma GCC unroll 32
    for (int i = 0; i < R; i++) {
      // A scalar times a vector: GCC broadcasts it straight from memory (splat's 0 + x would cost an add).
      const float a = ap[k * R + i];
#pragma GCC unroll 8
      for (int v = 0; v < V; v++) acc[i][v] += a * b[v];
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < R; i++)
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) storeu(out + i * ldo + v * VL, acc[i][v]);
}

using ShiftFn = void (*)(long, const float*, const float*, const int32_t*, float*, long);
template <int R>
static ShiftFn shiftFnV(int V) {
  switch (V) {
    case 1: return &shiftTile<R, 1>;
    case 2: return &shiftTile<R, 2>;
    case 3: return &shiftTile<R, 3>;
    case 4: return &shiftTile<R, 4>;
    case 5: return &shiftTile<R, 5>;
    default: return &shiftTile<R, 6>;
  }
}
/** The micro-kernel for R rows (1-8) × V vectors (1-6). */
static ShiftFn shiftFn(int R, int V) {
  switch (R) {
    case 1: return shiftFnV<1>(V);
    case 2: return shiftFnV<2>(V);
    case 3: return shiftFnV<3>(V);
    case 4: return shiftFnV<4>(V);
    case 5: return shiftFnV<5>(V);
    case 6: return shiftFnV<6>(V);
    case 7: return shiftFnV<7>(V);
    default: return shiftFnV<8>(V);
  }
}

/**
 * A register tile, R rows (broadcast weights) × V vectors of pixels; the rows and vectors left over at the edges
 * take smaller tiles of the same kernel.
 */
struct Tile { int R, V; };
/**
 * Cycles per k of an r × v tile, as measured on AVX-512: two FMAs a cycle, or its loads (broadcasts are cheap, the
 * unaligned vectors split cache lines), plus a cycle of loop overhead; big tiles win, tall ones (R = 8) most.
 */
static inline double tileCycles(long r, long v) { return std::max(static_cast<double>(r * v) / 2, static_cast<double>(r + 4 * v) / 2) + 1; }

/** The tile that minimises the estimated cycles for M rows and Q pixels, edges included. */
static Tile pickShiftTile(long M, long Q) {
  const long nv = (Q + VL - 1) / VL;
  Tile best{4, 4};
  double bestCost = 1e300;
  for (int R = 2; R <= 8; R++)
    for (int V = 1; V <= 6; V++) {
      if (R * V > 24 || R * V < 8) continue;
      const long fm = M / R, rm = M % R, fq = nv / V, rq = nv % V;
      double cost = fm * (fq * tileCycles(R, V) + (rq ? tileCycles(R, rq) : 0));
      if (rm) cost += fq * tileCycles(rm, V) + (rq ? tileCycles(rm, rq) : 0);
      if (cost < bestCost - 1e-9) {
        bestCost = cost;
        best = {R, V};
      }
    }
  return best;
}

/** Packs A [M, K] (row stride lda) into blocks of R rows, [K][r] each (the last block r = M mod R rows), at m0·K. */
static void packRows(const float* a, long M, long K, long lda, int R, float* dst) {
  for (long m0 = 0; m0 < M; m0 += R) {
    const long r = std::min<long>(R, M - m0);
    for (long k = 0; k < K; k++)
      for (long i = 0; i < r; i++) *dst++ = a[(m0 + i) * lda + k];
  }
}

/**
 * Prefetches n floats at p into L2, a few cache lines at each step() of a kernel's tile loop: the next image's input
 * then streams in while this image's product keeps the FMAs busy (building the grid from an input in memory took a
 * third of a stride-2 forward pass here).
 */
struct Prefetch {
  const char* p;
  long left, per;
  Prefetch(const float* at, long n, long steps)
      : p(reinterpret_cast<const char*>(at)), left(at ? (n * 4 + 63) / 64 : 0), per(std::max(1L, (left + steps - 1) / std::max(1L, steps))) {}
  void step() {
    for (long i = 0; i < per && left > 0; i++, left--, p += 64) __builtin_prefetch(p, 0, 2);
  }
};

/** How many tile calls shiftGemm makes for M rows and Qp pixels. */
static long shiftTiles(Tile t, long M, long Qp) { return (M + t.R - 1) / t.R * ((Qp / VL + t.V - 1) / t.V); }

/**
 * T [M, Qp] = packed A · in shifted, for the tile `t`; Qp a multiple of VL. The pixels go in blocks of about 1,000,
 * every row block over each, so a large image's grid is read from cache by all the rows. `pf` steps after each tile.
 */
static void shiftGemm(Tile t, long M, long K, const float* ap, const float* in, const int32_t* off, long Qp, float* T, Prefetch* pf = nullptr) {
  const long step = t.V * VL, block = std::max(step, 1024 / step * step);
  for (long q0 = 0; q0 < Qp; q0 += block) {
    const long q1 = std::min(Qp, q0 + block);
    for (long m0 = 0; m0 < M; m0 += t.R) {
      const int r = static_cast<int>(std::min<long>(t.R, M - m0));
      const float* a = ap + m0 * K;
      float* out = T + m0 * Qp;
      const ShiftFn full = shiftFn(r, t.V);
      for (long q = q0; q < q1; q += step) {
        (q + step <= q1 ? full : shiftFn(r, static_cast<int>((q1 - q) / VL)))(K, a, in + q, off, out + q, Qp);
        if (pf) pf->step();
      }
    }
  }
}

/**
 * Runs f(begin, end) over [0, n) images on the pool's threads (about 128k multiply-adds each at least), in runs of
 * consecutive images, four a thread, taken in turn (so each thread knows which input it reads next).
 */
static void overImages(long n, long work, const std::function<void(long, long)>& f) {
  const int T = static_cast<int>(std::min<long>({static_cast<long>(threads().size()), n, std::max(1L, work >> 17)}));
  if (T <= 1) {
    f(0, n);
    return;
  }
  const long blocks = std::min(n, 4L * T);
  parallelBlocks(T, blocks, [&](int, long i) { f(i * n / blocks, (i + 1) * n / blocks); });
}

// ---------------------------------------------------------------------------------------------------------------
/**
 * Each tap's (channel, a, b) offset into the phase-split grid that buildGrid writes (C planes of nph(h)·nph(w)
 * phases of Hg·Wg), written to off[(c·kh + a)·kw + b]; returns the largest, which sizes the grid's slack.
 */
static long tapOffsets(long C, const Window& w, const Axis& ah, const Axis& aw, int32_t* off) {
  const long Wg = aw.grid, S = ah.grid * Wg;
  long maxOff = 0;
  for (long c = 0; c < C; c++)
    for (long a = 0; a < w.kh; a++)
      for (long b = 0; b < w.kw; b++) {
        const long o = ((c * ah.nph() + ah.phaseOf[a]) * aw.nph() + aw.phaseOf[b]) * S + ah.shift[a] * Wg + aw.shift[b];
        off[(c * w.kh + a) * w.kw + b] = static_cast<int32_t>(o);
        maxOff = std::max(maxOff, o);
      }
  return maxOff;
}

// The forward pass.

/** y [N, O, Ho, Wo] = conv(x [N, C, H, W], weight [O, C, kh, kw]) (+ bias [O]), one group. */
static void forward(const float* x, long N, long C, long H, long W, const float* weight, long O, const float* bias, const Window& w, float* y) {
  const Axis ah(w.kh, w.sh, w.ph, w.dh, H, w.Ho), aw(w.kw, w.sw, w.pw, w.dw, W, w.Wo);
  const long Hg = ah.grid, Wg = aw.grid, S = Hg * Wg, K = C * w.kh * w.kw;
  const long Q = w.Ho * Wg;
  const Tile t = pickShiftTile(O, Q);
  const long Qp = roundUp(Q, VL), Mp = O;
  std::vector<int32_t> off(static_cast<size_t>(K));
  const long planes = C * ah.nph() * aw.nph() * S;
  const long slack = std::max(0L, tapOffsets(C, w, ah, aw, off.data()) + Qp - planes) + VL;
  std::vector<float> ap(static_cast<size_t>(Mp * K));
  packRows(weight, O, K, K, t.R, ap.data());
  const long P = w.Ho * w.Wo;
  overImages(N, N * O * Qp * K, [&](long n0, long n1) {
    float* grid = scratch(0, static_cast<size_t>(planes + slack));
    float* T = scratch(1, static_cast<size_t>(Mp * Qp));
    for (long n = n0; n < n1; n++) {
      buildGrid(x + n * C * H * W, C, ah, aw, grid, slack);
      Prefetch next(n + 1 < n1 ? x + (n + 1) * C * H * W : nullptr, C * H * W, shiftTiles(t, O, Qp));
      shiftGemm(t, O, K, ap.data(), grid, off.data(), Qp, T, &next);
      for (long o = 0; o < O; o++) {
        const float add = bias ? bias[o] : 0.0f;
        float* dst = y + (n * O + o) * P;
        const float* src = T + o * Qp;
        for (long i = 0; i < w.Ho; i++, dst += w.Wo, src += Wg) copyRow(dst, src, w.Wo, add);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The input gradient: per phase of the input, a shifted GEMM of the weight [C, O·taps] with the padded gradient.

/**
 * One axis of the transposed convolution: per input phase ρ, its taps and the positions u it covers. The padded
 * gradient's grid holds g at z = i + E - base (E the largest tap shift); `base` drops the leading rows no tap reads.
 */
struct BackAxis {
  long E = 0, base = 0, grid = 0;
  struct Phase { long rho, u0, u1; std::vector<long> taps; };
  std::vector<Phase> phases;
  BackAxis(const Axis& a) {
    E = a.tmax;
    long lo = -1, hi = 0;
    for (long rho = 0; rho < a.s; rho++) {
      Phase ph{rho, std::max(0L, ceilDiv(a.p - rho, a.s)), floorDiv(a.in + a.p - 1 - rho, a.s) + 1, {}};
      if (ph.u1 <= ph.u0) continue;
      for (long t = 0; t < a.k; t++)
        if ((t * a.d) % a.s == rho) ph.taps.push_back(t);
      for (long t : ph.taps) {
        lo = lo < 0 ? ph.u0 + E - a.shift[t] : std::min(lo, ph.u0 + E - a.shift[t]);
        hi = std::max(hi, ph.u1 + E - a.shift[t]);
      }
      phases.push_back(ph);
    }
    base = std::max(0L, lo);
    grid = std::max(hi - base, 1L);
  }
  /** Where g's row i lands on the grid (outside [0, grid): no tap reads it). */
  long at(long i) const { return i + E - base; }
};

/**
 * The input gradient's plan for one convolution: per phase pair of the input with taps, its packed weight
 * [C, O·taps], offsets and output grid; then `image` computes one image's dx from its g.
 */
struct InputGradPlan {
  long C, H, W, O, P, Hgp, Wgp, Sg, j0, j1, gsize = 0, maxT = 1, work = 0;
  Window w;
  BackAxis bh, bw;
  bool covered = true;
  struct Job { const BackAxis::Phase* ph; const BackAxis::Phase* pw; long K, U, V, Q, Qp; Tile t; std::vector<float> ap; std::vector<int32_t> off; };
  std::vector<Job> jobs;

  InputGradPlan(const float* weight, long C_, long H_, long W_, long O_, const Window& w_, const Axis& ah, const Axis& aw)
      : C(C_), H(H_), W(W_), O(O_), P(w_.Ho * w_.Wo), w(w_), bh(ah), bw(aw) {
    Hgp = bh.grid, Wgp = bw.grid, Sg = Hgp * Wgp;
    // The columns of g that land on the grid.
    j0 = std::min(w.Wo, std::max(0L, -bw.at(0)));
    j1 = std::max(j0, std::min(w.Wo, Wgp - bw.at(0)));
    long maxRead = 0;
    for (const auto& ph : bh.phases)
      for (const auto& pw : bw.phases) {
        if (ph.taps.empty() || pw.taps.empty()) {
          covered = false;
          continue;
        }
        Job j{&ph, &pw, O * static_cast<long>(ph.taps.size() * pw.taps.size()), ph.u1 - ph.u0, pw.u1 - pw.u0, 0, 0, {}, {}, {}};
        j.Q = j.U * Wgp;
        j.t = pickShiftTile(C, j.Q);
        j.Qp = roundUp(j.Q, VL);
        // A [C, K'] with K' = (o, a, b) over the phase's taps: the weight's (o, c, a, b) read per input channel.
        std::vector<float> a(static_cast<size_t>(C * j.K));
        j.off.resize(static_cast<size_t>(j.K));
        long k = 0;
        for (long o = 0; o < O; o++)
          for (long ta : ph.taps)
            for (long tb : pw.taps) {
              for (long c = 0; c < C; c++) a[c * j.K + k] = weight[((o * C + c) * w.kh + ta) * w.kw + tb];
              const long at = o * Sg + (ph.u0 + bh.E - ah.shift[ta] - bh.base) * Wgp + (pw.u0 + bw.E - aw.shift[tb] - bw.base);
              j.off[k++] = static_cast<int32_t>(at);
              maxRead = std::max(maxRead, at + j.Qp);
            }
        j.ap.resize(static_cast<size_t>(C * j.K));
        packRows(a.data(), C, j.K, j.K, j.t.R, j.ap.data());
        maxT = std::max(maxT, C * j.Qp);
        work += C * j.Qp * j.K;
        jobs.push_back(std::move(j));
      }
    if (bh.phases.size() * bw.phases.size() < static_cast<size_t>(w.sh * w.sw)) covered = false;
    gsize = std::max(O * Sg, maxRead) + VL;
  }

  /** A thread's padded-gradient grid (zero outside g, which `image` rewrites) and output scratch. */
  void scratchFor(float*& gp, float*& T) const {
    gp = scratch(4, static_cast<size_t>(gsize));
    T = scratch(5, static_cast<size_t>(maxT));
    std::memset(gp, 0, sizeof(float) * gsize);
  }

  /** dx [C, H, W] of one image from its g [O, Ho, Wo]. */
  void image(const float* gn, float* dn, float* gp, float* T) const {
    for (long o = 0; o < O; o++)
      for (long i = 0; i < w.Ho; i++) {
        const long z = bh.at(i);
        if (z >= 0 && z < Hgp) copyRow(gp + o * Sg + z * Wgp + bw.at(j0), gn + (o * w.Ho + i) * w.Wo + j0, j1 - j0);
      }
    if (!covered) std::memset(dn, 0, sizeof(float) * C * H * W);
    for (const Job& j : jobs) {
      shiftGemm(j.t, C, j.K, j.ap.data(), gp, j.off.data(), j.Qp, T);
      const long rh = j.ph->rho, rw = j.pw->rho;
      for (long c = 0; c < C; c++) {
        const float* src = T + c * j.Qp;
        float* plane = dn + c * H * W;
        for (long u = 0; u < j.U; u++) {
          float* row = plane + ((j.ph->u0 + u) * w.sh + rh - w.ph) * W + (j.pw->u0 * w.sw + rw - w.pw);
          const float* s = src + u * Wgp;
          if (w.sw == 1) copyRow(row, s, j.V);
          else for (long v = 0; v < j.V; v++) row[v * w.sw] = s[v];
        }
      }
    }
  }
};

/** dx [N, C, H, W] from g [N, O, Ho, Wo] and weight [O, C, kh, kw], one group. */
static void inputGrad(const float* g, const float* weight, long N, long C, long H, long W, long O, const Window& w, float* dx) {
  const Axis ah(w.kh, w.sh, w.ph, w.dh, H, w.Ho), aw(w.kw, w.sw, w.pw, w.dw, W, w.Wo);
  const InputGradPlan plan(weight, C, H, W, O, w, ah, aw);
  overImages(N, N * plan.work, [&](long n0, long n1) {
    float *gp, *T;
    plan.scratchFor(gp, T);
    for (long n = n0; n < n1; n++) plan.image(g + n * O * plan.P, dx + n * C * H * W, gp, T);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The weight gradient: D[o, k] += Σ_q G[o, q] · grid[off[k] + q], accumulators vectors along q.

template <int R, int J>
static void weightTile(long images, long nq, const float* g, long gImage, long ldg, const float* in, long inImage, const int32_t* off,
                       float* D, long ldd, int rows, int cols) {
  vf acc[R][J];
#pragma GCC unroll 32
  for (int i = 0; i < R; i++)
#pragma GCC unroll 16
    for (int j = 0; j < J; j++) acc[i][j] = vf{};
  for (long n = 0; n < images; n++) {
    const float* gn = g + n * gImage;
    const float* xn = in + n * inImage;
    for (long q = 0; q < nq; q += VL) {
      vf xv[J];
#pragma GCC unroll 16
      for (int j = 0; j < J; j++) xv[j] = loadu(xn + off[j] + q);
#pragma GCC unroll 32
      for (int i = 0; i < R; i++) {
        const vf gv = loadu(gn + i * ldg + q);
#pragma GCC unroll 16
        for (int j = 0; j < J; j++) acc[i][j] += gv * xv[j];
      }
    }
  }
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) D[i * ldd + j] += hsum(acc[i][j]);
}

/**
 * The weight gradient the other way round, for wide outputs: Dt[k, o] += Σ_pixels grid[pixel + off[k]] · gT[pixel, o],
 * R taps (broadcast from the grid) × V vectors of output channels (g transposed to [P, Og] per image). It visits
 * only the Ho·Wo real pixels (no dropped columns) and keeps its sums in vectors of channels, so nothing is reduced
 * across lanes at the end.
 */
template <int R, int V>
static void pixelTile(long images, const float* xs, long xImage, const int32_t* off, const float* gT, long gImage, long ldg, long Ho, long Wo, long Wg,
                      float* Dt, long ldd) {
  vf acc[R][V];
#pragma GCC unroll 32
  for (int i = 0; i < R; i++)
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) acc[i][v] = vf{};
  for (long n = 0; n < images; n++) {
    const float* base[R];
#pragma GCC unroll 32
    for (int i = 0; i < R; i++) base[i] = xs + n * xImage + off[i];
    const float* gp = gT + n * gImage;
    for (long oh = 0; oh < Ho; oh++) {
      const long t0 = oh * Wg;
      const float* grow = gp + oh * Wo * ldg;
      for (long ow = 0; ow < Wo; ow++) {
        vf gv[V];
#pragma GCC unroll 8
        for (int v = 0; v < V; v++) gv[v] = loadu(grow + ow * ldg + v * VL);
#pragma GCC unroll 32
        for (int i = 0; i < R; i++) {
          const float b = base[i][t0 + ow];
#pragma GCC unroll 8
          for (int v = 0; v < V; v++) acc[i][v] += b * gv[v];
        }
      }
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < R; i++)
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) storeu(Dt + i * ldd + v * VL, loadu(Dt + i * ldd + v * VL) + acc[i][v]);
}

using LaneFn = void (*)(long, long, const float*, long, long, const float*, long, const int32_t*, float*, long, int, int);
struct LTile { int R, J; LaneFn f; };
static constexpr LTile LANE_TILES[] = {{8, 3, &weightTile<8, 3>}, {6, 4, &weightTile<6, 4>}, {4, 6, &weightTile<4, 6>}};

using PixelFn = void (*)(long, const float*, long, const int32_t*, const float*, long, long, long, long, long, float*, long);
struct PTile { int R, V; PixelFn f; };
static constexpr PTile PIXEL_TILES[] = {{16, 1, &pixelTile<16, 1>}, {12, 2, &pixelTile<12, 2>}, {8, 2, &pixelTile<8, 2>}, {8, 3, &pixelTile<8, 3>},
                                        {6, 4, &pixelTile<6, 4>}, {24, 1, &pixelTile<24, 1>}, {4, 4, &pixelTile<4, 4>}};

/**
 * dweight [O, C·kh·kw] and dbias [O] (either may be null) from g [N, O, Ho, Wo] and x, one group: images in chunks
 * of about 1 MiB of grids, each chunk's grids (and g laid out for the kernel) built and every tile run over it. Two
 * kernels: along the output pixels in vector lanes (weightTile, any O) or along the output channels (pixelTile, O a
 * multiple of the vector width or close, no dropped columns); the one with the lower estimate runs.
 */
static void weightGrad(const float* g, const float* x, long N, long C, long H, long W, long O, const Window& w, float* dweight, float* dbias,
                       const InputGradPlan* ig = nullptr, float* dx = nullptr) {
  const Axis ah(w.kh, w.sh, w.ph, w.dh, H, w.Ho), aw(w.kw, w.sw, w.pw, w.dw, W, w.Wo);
  const long Hg = ah.grid, Wg = aw.grid, S = Hg * Wg, K = C * w.kh * w.kw, P = w.Ho * w.Wo;
  const long Q = w.Ho * Wg, Qp = roundUp(Q, VL), Og = roundUp(O, VL);
  // The pixel kernel's tile: V dividing the channel vectors, the lowest estimate.
  PTile pt = PIXEL_TILES[0];
  double best = 1e300;
  for (const PTile& t : PIXEL_TILES) {
    if ((Og / VL) % t.V) continue;
    const double cost = static_cast<double>((K + t.R - 1) / t.R) * static_cast<double>((Og / VL + t.V - 1) / t.V) * tileCycles(t.R, t.V);
    if (cost < best) {
      best = cost;
      pt = t;
    }
  }
  // The lanes kernel's tile: the least padded work over O and K (8 × 3 measured best for O = 16, 6 × 4 for O = 6).
  LTile lt = LANE_TILES[0];
  long leastWork = -1;
  for (const LTile& t : LANE_TILES) {
    const long work = roundUp(O, t.R) * roundUp(K, t.J);
    if (leastWork < 0 || work < leastWork) {
      leastWork = work;
      lt = t;
    }
  }
  const int LR = lt.R, LJ = lt.J;
  const double lanesCost = static_cast<double>(Qp / VL) * ((O + LR - 1) / LR) * ((K + LJ - 1) / LJ) * tileCycles(LR, LJ);
  const bool pixels = best * static_cast<double>(P) < lanesCost;
  const long Kp = roundUp(K, pixels ? pt.R : LJ), Op = roundUp(O, LR);
  std::vector<int32_t> off(static_cast<size_t>(Kp), 0);
  const long planes = C * ah.nph() * aw.nph() * S;
  const long slack = std::max(0L, tapOffsets(C, w, ah, aw, off.data()) + Qp - planes) + VL;
  const long xImage = roundUp(planes + slack, VL), gImage = pixels ? P * Og : Op * Qp;
  const long chunk = std::max(1L, std::min(N, (256L << 10) / (xImage + gImage)));
  // The images in G parts, four a thread, taken in turn (parallelBlocks); per part the partial dweight ([Op, Kp]
  // lanes, or transposed [Kp, Og] pixels), then dbias, side by side in the calling thread's scratch (not each
  // worker's: a caller that runs all the parts itself needs them all).
  const long wSize = pixels ? Kp * Og : Op * Kp, partSize = wSize + O;
  const int T = static_cast<int>(std::min<long>({static_cast<long>(threads().size()), N, std::max(1L, (N * O * K * P + (ig ? N * ig->work : 0)) >> 17)}));
  const long G = T <= 1 ? 1 : std::min(N, 4L * T);
  float* parts = scratch(7, static_cast<size_t>(G * partSize));
  auto partW = [&](long j) { return parts + j * partSize; };
  auto partB = [&](long j) { return parts + j * partSize + wSize; };
  auto part = [&](long j, long n0, long n1) {
    std::memset(dweight ? partW(j) : partB(j), 0, sizeof(float) * (dweight ? partSize : O));
    float* D = dweight ? partW(j) : nullptr;
    std::vector<double> bsum(static_cast<size_t>(O), 0.0);
    float* xs = dweight ? scratch(2, static_cast<size_t>(chunk * xImage)) : nullptr;
    float* gs = dweight ? scratch(3, static_cast<size_t>(chunk * gImage)) : nullptr;
    float *gp = nullptr, *out = nullptr;
    if (ig) ig->scratchFor(gp, out);
    // The chunk's input gradients, once its weight-gradient tiles have read its g.
    auto inputs = [&](long c0, long nb) {
      if (ig)
        for (long i = 0; i < nb; i++) ig->image(g + (c0 + i) * O * P, dx + (c0 + i) * C * H * W, gp, out);
    };
    for (long c0 = n0; c0 < n1; c0 += chunk) {
      const long nb = std::min(chunk, n1 - c0);
      for (long i = 0; i < nb; i++) {
        const float* gn = g + (c0 + i) * O * P;
        // The bias gradient on the way, in vectors of float then double per image.
        for (long o = 0; o < O; o++) bsum[o] += static_cast<double>(rowSum(gn + o * P, P));
        if (!dweight) continue;
        buildGrid(x + (c0 + i) * C * H * W, C, ah, aw, xs + i * xImage, xImage - planes);
        float* gg = gs + i * gImage;
        if (pixels) {
          // g [O, P] to [P, Og], zero lanes past O.
          if (O < Og) std::memset(gg, 0, sizeof(float) * P * Og);
          for (long o = 0; o < O; o++) {
            const float* src = gn + o * P;
            for (long q = 0; q < P; q++) gg[q * Og + o] = src[q];
          }
          continue;
        }
        for (long o = 0; o < Op; o++) {
          float* row = gg + o * Qp;
          if (o >= O) {
            std::memset(row, 0, sizeof(float) * Qp);
            continue;
          }
          const float* src = gn + o * P;
          zeroRow(row, Qp);
          for (long u = 0; u < w.Ho; u++) copyRow(row + u * Wg, src + u * w.Wo, w.Wo);
        }
      }
      if (!dweight) {
        inputs(c0, nb);
        continue;
      }
      if (pixels) {
        for (long k0 = 0; k0 < K; k0 += pt.R)
          for (long o0 = 0; o0 < Og; o0 += pt.V * VL) pt.f(nb, xs, xImage, off.data() + k0, gs + o0, gImage, Og, w.Ho, w.Wo, Wg, D + k0 * Og + o0, Og);
        inputs(c0, nb);
        continue;
      }
      for (long o0 = 0; o0 < O; o0 += LR)
        for (long k0 = 0; k0 < K; k0 += LJ)
          lt.f(nb, Qp, gs + o0 * Qp, gImage, Qp, xs, xImage, off.data() + k0, D + o0 * Kp + k0, Kp,
               static_cast<int>(std::min<long>(LR, O - o0)), static_cast<int>(std::min<long>(LJ, K - k0)));
      inputs(c0, nb);
    }
    for (long o = 0; o < O; o++) partB(j)[o] = static_cast<float>(bsum[o]);
  };
  parallelBlocks(T, G, [&](int, long j) { part(j, j * N / G, (j + 1) * N / G); });
  if (dweight)
    for (long o = 0; o < O; o++)
      for (long k = 0; k < K; k++) {
        float s = 0.0f;
        for (long j = 0; j < G; j++) s += pixels ? partW(j)[k * Og + o] : partW(j)[o * Kp + k];
        dweight[o * K + k] = s;
      }
  if (dbias)
    for (long o = 0; o < O; o++) {
      double s = 0.0;
      for (long j = 0; j < G; j++) s += partB(j)[o];
      dbias[o] = static_cast<float>(s);
    }
}

/**
 * All of a convolution's gradients (each pointer may be null): with both dx and dweight, one pass over the images,
 * each chunk's input gradients right after its weight-gradient tiles, while its g is still in cache.
 */
static void backward(const float* g, const float* x, const float* weight, long N, long C, long H, long W, long O, const Window& w, float* dx,
                     float* dweight, float* dbias) {
  if (dx && (dweight || dbias)) {
    const Axis ah(w.kh, w.sh, w.ph, w.dh, H, w.Ho), aw(w.kw, w.sw, w.pw, w.dw, W, w.Wo);
    const InputGradPlan plan(weight, C, H, W, O, w, ah, aw);
    weightGrad(g, x, N, C, H, W, O, w, dweight, dbias, &plan, dx);
    return;
  }
  if (dweight || dbias) weightGrad(g, x, N, C, H, W, O, w, dweight, dbias);
  if (dx) inputGrad(g, weight, N, C, H, W, O, w, dx);
}

}  // namespace conv
