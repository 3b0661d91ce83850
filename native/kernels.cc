// Native CPU kernels for Node: the fast CPU backend's hot kernels compiled for the installing machine's own vector
// width (AVX-512, AVX2 or SSE/NEON through GCC/Clang vector extensions) and run on a pool of native threads, over the
// tensors' own Float32Arrays (no copies in or out).
//
// Why native next to the WebAssembly kernels: WebAssembly SIMD is 128 bits wide, so on an AVX2 or AVX-512 machine
// it can use at most a half or a quarter of the FMA throughput PyTorch uses (the WebAssembly GEMM tops out near
// 80 GFLOP/s on 2 cores here, PyTorch reaches ~175). Browsers keep the WebAssembly kernels; Node builds this file
// at install time (scripts/build-native.mjs) when a C++ compiler and Node's headers are present, and falls back to
// WebAssembly when they are not.
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#include <unistd.h>

// ---------------------------------------------------------------------------------------------------------------
// Vector width and GEMM register tile, chosen by the instruction set the compiler targets.
#if defined(__AVX512F__)
constexpr int VL = 16;  // floats per vector
// 6 rows × 4 vectors: 24 accumulators + 4 B vectors + 1 broadcast = 29 of 32 zmm registers, and 10 loads per 24
// FMAs (14 × 2 needed 16 per 28; it measured ~8% slower here)
constexpr int MR = 6;
constexpr int NV = 4;
#elif defined(__AVX__)
constexpr int VL = 8;
constexpr int MR = 6;  // 6 × 2 accumulators + 2 + 1 = 15 of 16 ymm registers
constexpr int NV = 2;
#else
constexpr int VL = 4;
constexpr int MR = 6;
constexpr int NV = 2;
#endif
constexpr int NR = NV * VL;
typedef float vf __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4)));
typedef int32_t vi __attribute__((vector_size(VL * 4)));

/**
 * K block: an MR×KC panel of A (6 KiB) stays in L1 while the micro-kernel runs, and the KC×NR panel of B it is
 * multiplied with (64 KiB at NR = 64) is reused from L1 and L2 by the MC/MR panels of A below it. KC ∈ {128, 192,
 * 256, 384} × MC ∈ {4, 8, 16, 32}·MR measured none better than 256 × 8·MR (docs/cpu-backend.md#the-gemm).
 */
constexpr int KC = 256;
/** M block: an MC×KC block of packed A (48 KiB) stays in L1/L2. */
constexpr int MC = MR * 8;

/**
 * N block: a KC×NC block of packed B fills half of this CPU's L2 (read at run time; 1,024 columns, 1 MiB, with the
 * 2 MiB L2 it was measured on, where larger blocks were slower with two threads). A multiple of NR, 4·NR to 4,096.
 */
static int ncBlock() {
  static const int nc = [] {
    long l2 = 0;
#if defined(_SC_LEVEL2_CACHE_SIZE)
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    if (l2 <= 0) l2 = 2L << 20;  // not reported: the L2 the blocking was measured on
    const long columns = l2 / 2 / static_cast<long>(KC * sizeof(float));
    return static_cast<int>(std::clamp(columns / NR * NR, 4L * NR, 4096L));
  }();
  return nc;
}

static inline vf splat(float x) { return vf{} + x; }
static inline vf loadu(const float* p) { return *reinterpret_cast<const vfu*>(p); }
static inline void storeu(float* p, vf v) { *reinterpret_cast<vfu*>(p) = v; }
static inline float hsum(vf v) {
  float s = 0;
  for (int i = 0; i < VL; i++) s += v[i];
  return s;
}
static inline float hmax(vf v) {
  float m = v[0];
  for (int i = 1; i < VL; i++) m = std::max(m, v[i]);
  return m;
}
/** The first n (< VL) floats at p, the other lanes `fill`. */
static inline vf loadPartial(const float* p, int n, float fill) {
  vf v = splat(fill);
  for (int i = 0; i < n; i++) v[i] = p[i];
  return v;
}
static inline void storePartial(float* p, vf v, int n) {
  for (int i = 0; i < n; i++) p[i] = v[i];
}

// ---------------------------------------------------------------------------------------------------------------
// Thread pool. After a job, workers and the caller spin for a bounded while (a training step issues kernels back to
// back, and a futex wake-up costs more than a small GEMM), then sleep on a condition variable: an idle pool burns no
// core. The calling thread takes part in every job.

static inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/**
 * Spin iterations before sleeping: ~100 µs of pause instructions on some x86 cores, 20 µs on this project's Xeon (a
 * pause there is ~10 ns). Spinning 100 µs by the clock made 2-thread steps slower on a loaded 2-core machine.
 */
constexpr int SPIN = 2000;

class Pool {
 public:
  explicit Pool(int threads) : size_(std::max(1, threads)) {
    for (int t = 1; t < size_; t++) std::thread([this, t] { work(t); }).detach();
  }
  int size() const { return size_; }

  /**
   * Runs f(t) for t in [0, n) on n threads (t = 0 on the caller) and returns when all are done. With `shared`, f is
   * a loop over work that the threads share out among themselves (parallelBlocks), so once the caller's f(0)
   * returns nothing is left to start: the job is closed, and only the workers already in it are waited for. A
   * worker that has not been scheduled yet (preempted by V8's GC threads or by other processes) then costs nothing.
   */
  void run(int n, const std::function<void(int)>& f, bool shared = false) {
    n = std::min(n, size_);
    // A second JavaScript thread calling in while the pool is busy runs its job alone rather than waiting.
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (n <= 1 || !busy.owns_lock()) {
      for (int t = 0; t < n; t++) f(t);
      return;
    }
    joined_.store(tagOf(generation_.load(std::memory_order_relaxed) + 1), std::memory_order_relaxed);
    task_.store(&f, std::memory_order_relaxed);
    active_.store(n, std::memory_order_relaxed);
    shared_.store(shared, std::memory_order_relaxed);
    pending_.store(shared ? 0 : n - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    f(0);
    // Every worker's part done (a shared job has none of its own), then closed to latecomers, then none inside.
    waitFor([this] { return pending_.load(std::memory_order_acquire) == 0; });
    joined_.fetch_or(CLOSED, std::memory_order_acq_rel);
    waitFor([this] { return (joined_.load(std::memory_order_acquire) & INSIDE) == 0; });
  }

 private:
  // joined_: the job's tag (its generation in the high 32 bits), CLOSED once the caller is done, and the number of
  // workers inside. A worker reads the job only after entering, and the caller returns only after all have left, so
  // no worker ever runs a job that is over, or reads a later job's fields for an earlier one.
  static constexpr uint64_t CLOSED = 1ull << 31, INSIDE = CLOSED - 1;
  static uint64_t tagOf(uint64_t generation) { return (generation & 0xffffffffu) << 32; }

  template <typename Done>
  void waitFor(const Done& done) {
    for (int i = 0; i < SPIN && !done(); i++) cpuRelax();
    if (done()) return;
    std::unique_lock<std::mutex> lk(mu_);
    done_.wait(lk, done);
  }

  void notifyDone() {
    std::lock_guard<std::mutex> lk(mu_);
    done_.notify_one();
  }

  void work(int id) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g = generation_.load(std::memory_order_acquire);
      for (int i = 0; i < SPIN && g == seen; i++) {
        cpuRelax();
        g = generation_.load(std::memory_order_acquire);
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu_);
        wake_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        g = generation_.load(std::memory_order_acquire);
      }
      seen = g;
      // Enter job g unless it is closed or over (a later job's tag: this worker then takes that job next round).
      const uint64_t tag = tagOf(g);
      uint64_t s = joined_.load(std::memory_order_acquire);
      while ((s & ~INSIDE) == tag && !joined_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) {}
      if ((s & ~INSIDE) != tag) continue;
      if (id < active_.load(std::memory_order_relaxed)) {
        (*task_.load(std::memory_order_relaxed))(id);
        if (!shared_.load(std::memory_order_relaxed) && pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) notifyDone();
      }
      if (joined_.fetch_sub(1, std::memory_order_acq_rel) == (tag | CLOSED | 1)) notifyDone();
    }
  }

  const int size_;
  std::mutex busy_, mu_;
  std::condition_variable wake_, done_;
  // The job: written by the caller before the generation's release store, read by workers that entered it.
  std::atomic<const std::function<void(int)>*> task_{nullptr};
  std::atomic<int> active_{0};
  std::atomic<bool> shared_{false};
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> joined_{0};
};

// One pool per process (worker_threads that load the addon share it); created with the first setThreads call.
static std::mutex poolInit;
static Pool* pool = nullptr;

static Pool& threads() {
  std::lock_guard<std::mutex> lk(poolInit);
  if (!pool) pool = new Pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  return *pool;
}

/**
 * Runs f(t, i) for every i in [0, n) on up to `parts` threads (t the thread's index in the job), each thread taking
 * the next i in turn: a thread that starts late (woken from sleep) or is preempted (by V8's GC threads, or by other
 * processes on a busy machine) leaves the rest to the others instead of holding up the whole job with a fixed share.
 */
static void parallelBlocks(int parts, long n, const std::function<void(int, long)>& f) {
  if (parts <= 1 || n <= 1) {
    for (long i = 0; i < n; i++) f(0, i);
    return;
  }
  std::atomic<long> next{0};
  threads().run(parts, [&](int t) {
    for (long i = next.fetch_add(1, std::memory_order_relaxed); i < n; i = next.fetch_add(1, std::memory_order_relaxed)) f(t, i);
  }, true);
}

/** Splits [0, n) into ranges aligned to `align`, a few per thread, and runs f(begin, end) on each in parallel. */
static void parallelFor(long n, long align, long work, const std::function<void(long, long)>& f) {
  Pool& p = threads();
  // About 64k multiply-adds per thread at least: below that a wake-up costs more than it saves (and on a many-core
  // machine a small job would otherwise be cut into slivers).
  int parts = static_cast<int>(std::min<long>({static_cast<long>(p.size()), (n + align - 1) / align, std::max(1L, work >> 16)}));
  if (parts <= 1) {
    f(0, n);
    return;
  }
  // Four blocks a thread: enough for one delayed thread's share to be taken over, few enough to keep blocks long.
  const long blocks = std::min((n + align - 1) / align, 4L * parts);
  parallelBlocks(parts, blocks, [&](int, long i) {
    const long b = std::min(n, align * ((i * n / blocks + align / 2) / align));
    const long e = i == blocks - 1 ? n : std::min(n, align * (((i + 1) * n / blocks + align / 2) / align));
    if (b < e) f(b, e);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// GEMM: the Goto/BLIS structure. B is packed into NR-wide column panels and A into MR-tall row panels (K-blocked by
// KC); an MR×NR micro-kernel of vector FMAs runs over the packed panels. Packing reads through arbitrary element
// strides, so every transpose combination is a packing order and backward passes never materialise a transpose.

static void packA(int mc, int kc, const float* a, long rs, long cs, float* dst) {
  for (int i = 0; i < mc; i += MR) {
    const int rows = std::min(MR, mc - i);
    const float* src = a + i * rs;
    if (rows == MR && rs == 1) {
      for (int k = 0; k < kc; k++, dst += MR) std::memcpy(dst, src + k * cs, MR * sizeof(float));
      continue;
    }
    for (int k = 0; k < kc; k++)
      for (int r = 0; r < MR; r++) *dst++ = r < rows ? src[r * rs + k * cs] : 0.0f;
  }
}

static void packB(int kc, int nc, const float* b, long rs, long cs, float* dst) {
  for (int j = 0; j < nc; j += NR) {
    const int cols = std::min(NR, nc - j);
    const float* src = b + j * cs;
    if (cols == NR && cs == 1) {
      for (int k = 0; k < kc; k++, dst += NR) std::memcpy(dst, src + k * rs, NR * sizeof(float));
      continue;
    }
    for (int k = 0; k < kc; k++)
      for (int c = 0; c < NR; c++) *dst++ = c < cols ? src[k * rs + c * cs] : 0.0f;
  }
}

/**
 * C[mr, nr] (+)= Ap[MR, kc] · Bp[kc, NR] (+ bias[nr] on every row) for packed panels; `add` accumulates into C,
 * otherwise overwrites it.
 */
static inline void microKernel(int kc, const float* __restrict ap, const float* __restrict bp, float* c, long ldc, int mr, int nr, bool add,
                               const float* bias = nullptr) {
  vf acc[MR][NV];
  // A bias row (the last K block of a linear layer's product) starts every accumulator.
  vf start[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; v++) {
    const int lanes = std::min(VL, nr - v * VL);
    start[v] = !bias || lanes <= 0 ? vf{} : lanes == VL ? loadu(bias + v * VL) : loadPartial(bias + v * VL, lanes, 0.0f);
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) acc[i][v] = start[v];
  for (int k = 0; k < kc; k++) {
    vf b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) b[v] = *reinterpret_cast<const vf*>(bp + k * NR + v * VL);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const float a = ap[k * MR + i];
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) acc[i][v] += a * b[v];
    }
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      float* row = c + i * ldc;
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) storeu(row + v * VL, add ? loadu(row + v * VL) + acc[i][v] : acc[i][v]);
    }
    return;
  }
  alignas(64) float tile[MR * NR];
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < NV; v++) *reinterpret_cast<vf*>(tile + i * NR + v * VL) = acc[i][v];
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) c[i * ldc + j] = add ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}

struct Scratch {
  float* a = nullptr;
  float* b = nullptr;
  Scratch() {
    a = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * MC * KC));
    b = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * KC * ncBlock()));
  }
  ~Scratch() {
    std::free(a);
    std::free(b);
  }
};

static inline long roundUp(long x, long m) { return (x + m - 1) / m * m; }

/**
 * B [K, N] packed once for many products with it (a recurrent weight, used at every time step): the panels gemmRange
 * would pack, for each K block in turn; the block starting at row pc holds every column, at pc·roundUp(N, NR).
 */
struct Packed {
  std::unique_ptr<float, decltype(&std::free)> data{nullptr, &std::free};
  long n = 0;  // the columns packed
};

static Packed prepackB(long K, long N, const float* b, long rs, long cs) {
  const long np = roundUp(N, NR);
  Packed out;
  out.n = N;
  // 64-byte aligned: the micro-kernel loads whole vectors from the panels
  out.data.reset(static_cast<float*>(std::aligned_alloc(64, sizeof(float) * roundUp(std::max(1L, K) * np, 16))));
  for (long pc = 0; pc < K; pc += KC) packB(static_cast<int>(std::min<long>(KC, K - pc)), static_cast<int>(N), b + pc * rs, rs, cs, out.data.get() + pc * np);
  return out;
}

/**
 * C[m0:m1, n0:n1] = A[m0:m1, :] · B[:, n0:n1] for one matrix (C row-major with row stride ldc); n0 a multiple of NR.
 * B is read through its strides, or from `packed` (prepackB of all N columns) when given; `bias` [N], when given, is
 * added to every row.
 */
static void gemmRange(long m0, long m1, long n0, long n1, long K, const float* a, long ars, long acs, const float* b, long brs, long bcs, float* c, long ldc,
                      const float* packed = nullptr, long packedN = 0, const float* bias = nullptr) {
  if (K == 0) {
    for (long i = m0; i < m1; i++)
      for (long j = n0; j < n1; j++) c[i * ldc + j] = bias ? bias[j] : 0.0f;
    return;
  }
  thread_local Scratch scratch;
  const int NC = ncBlock();
  for (long jc = n0; jc < n1; jc += NC) {
    const int nc = static_cast<int>(std::min<long>(NC, n1 - jc));
    for (long pc = 0; pc < K; pc += KC) {
      const int kc = static_cast<int>(std::min<long>(KC, K - pc));
      const float* bp = packed ? packed + pc * roundUp(packedN, NR) + jc * kc : scratch.b;
      if (!packed) packB(kc, nc, b + pc * brs + jc * bcs, brs, bcs, scratch.b);
      for (long ic = m0; ic < m1; ic += MC) {
        const int mc = static_cast<int>(std::min<long>(MC, m1 - ic));
        packA(mc, kc, a + ic * ars + pc * acs, ars, acs, scratch.a);
        for (int jr = 0; jr < nc; jr += NR)
          for (int ir = 0; ir < mc; ir += MR)
            microKernel(kc, scratch.a + ir * kc, bp + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc, std::min(MR, mc - ir),
                        std::min(NR, nc - jr), pc > 0, bias && pc == 0 ? bias + jc + jr : nullptr);
      }
    }
  }
}

/** out[b] = A[b] · B[b] for strided A [batch, M, K] and B [batch, K, N]; out is contiguous [batch, M, N]. */
static void sgemm(long batch, long M, long N, long K, const float* a, const long sa[3], const float* b, const long sb[3], float* out,
                  const float* bias = nullptr) {
  const long work = batch * M * N * K;
  Pool& p = threads();
  // About 128k multiply-adds per thread at least (see parallelFor).
  const int T = static_cast<int>(std::min<long>(p.size(), std::max(1L, work >> 17)));
  auto item = [&](long i, long m0, long m1, long n0, long n1) {
    gemmRange(m0, m1, n0, n1, K, a + i * sa[0], sa[1], sa[2], b + i * sb[0], sb[1], sb[2], out + i * M * N, N, nullptr, 0, bias);
  };
  if (T == 1) {
    for (long i = 0; i < batch; i++) item(i, 0, M, 0, N);
    return;
  }
  if (batch >= 2 * T) {
    // Many small products (attention): whole batch items per thread.
    p.run(T, [&](int t) {
      for (long i = t * batch / T; i < (t + 1) * batch / T; i++) item(i, 0, M, 0, N);
    });
  } else if (M >= 4L * MR * T && (N <= M || N < 4L * NR * T)) {
    // Rows, cut at multiples of the register tile so only the last range has an edge tile. Every thread packs all
    // of B (K×N), so rows are the split when B is the smaller operand to duplicate; otherwise columns (A duplicated).
    p.run(T, [&](int t) {
      long m0 = MR * ((t * M / T) / MR), m1 = t == T - 1 ? M : MR * (((t + 1) * M / T) / MR);
      for (long i = 0; i < batch; i++) item(i, m0, m1, 0, N);
    });
  } else {
    p.run(T, [&](int t) {
      long n0 = NR * ((t * N / T) / NR), n1 = t == T - 1 ? N : NR * (((t + 1) * N / T) / NR);
      if (n0 < n1)
        for (long i = 0; i < batch; i++) item(i, 0, M, n0, n1);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Elementwise and row kernels. exp uses Cephes' range reduction (x = n·ln2 + r) and a degree-6 polynomial, within
// 2 ulp over float32's range; the formulas match assembly/vecmath.ts so both fast paths agree with the reference.

/** e^x; 0 below -87.34, where float32's result would be denormal (slow to compute with, and below 1.2e-38). */
static inline vf vexp(vf x) {
  const auto underflow = x < -87.3365447504f;
  x = underflow ? splat(-87.3365447504f) : x;
  x = x > 88.3762626647949f ? splat(88.3762626647949f) : x;
  // round-to-nearest through the 1.5·2^23 trick: plain arithmetic, so it vectorises everywhere
  const vf shifter = splat(12582912.0f);
  const vf n = (x * 1.44269504088896341f + shifter) - shifter;
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf q = splat(1.9875691500e-4f);
  q = q * r + 1.3981999507e-3f;
  q = q * r + 8.3334519073e-3f;
  q = q * r + 4.1665795894e-2f;
  q = q * r + 1.6666665459e-1f;
  q = q * r + 5.0000001201e-1f;
  q = q * r * r + (r + 1.0f);
  const vi bits = (__builtin_convertvector(n, vi) + 127) << 23;
  vf scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return underflow ? vf{} : q * scale;
}

static inline vf vabs(vf x) { return x < 0 ? -x : x; }

static inline vf vtanh(vf x) {
  const vf e = vexp(x + x);
  const vf big = 1.0f - 2.0f / (e + 1.0f);
  const vf z = x * x;
  vf q = splat(-5.70498872745e-3f);
  q = q * z + 2.06390887954e-2f;
  q = q * z + -5.37397155531e-2f;
  q = q * z + 1.33314422036e-1f;
  q = q * z + -3.33332819422e-1f;
  const vf small = q * z * x + x;
  return vabs(x) < 0.625f ? small : big;
}

static inline vf verfcPos(vf z) {
  const vf t = 1.0f / (1.0f + 0.5f * z);
  vf q = splat(0.17087277f);
  q = q * t + -0.82215223f;
  q = q * t + 1.48851587f;
  q = q * t + -1.13520398f;
  q = q * t + 0.27886807f;
  q = q * t + -0.18628806f;
  q = q * t + 0.09678418f;
  q = q * t + 0.37409196f;
  q = q * t + 1.00002368f;
  q = q * t + -1.26551223f;
  return t * vexp(q - z * z);
}

static inline vf vphi(vf x) {
  const vf half = 0.5f * verfcPos(vabs(x) * 0.7071067811865476f);
  return x < 0 ? half : 1.0f - half;
}

enum UnaryOp { OP_EXP = 0, OP_TANH, OP_SIGMOID, OP_GELU_TANH, OP_GELU_TANH_GRAD, OP_GELU, OP_GELU_GRAD, OP_RELU };

static inline vf applyUnary(int op, vf x) {
  switch (op) {
    case OP_EXP: return vexp(x);
    case OP_TANH: return vtanh(x);
    case OP_SIGMOID: return 1.0f / (1.0f + vexp(-x));
    case OP_GELU: return x * vphi(x);
    case OP_GELU_GRAD: return vphi(x) + x * (0.3989422804014327f * vexp(-0.5f * x * x));
    case OP_RELU: return x > 0.0f ? x : vf{};  // NaN to 0, as the reference
    default: break;
  }
  // GELU (tanh form) as x·σ(2u): keeps relative precision in the negative tail.
  const vf u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  const vf s = 1.0f / (1.0f + vexp(-2.0f * u));
  if (op == OP_GELU_TANH) return x * s;
  const vf du = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
  return s + 2.0f * x * s * (1.0f - s) * du;
}

static void unaryKernel(int op, const float* x, float* y, long n) {
  parallelFor(n, 4096, n * 16, [&](long b, long e) {
    long i = b;
    for (; i + VL <= e; i += VL) storeu(y + i, applyUnary(op, loadu(x + i)));
    if (i < e) storePartial(y + i, applyUnary(op, loadPartial(x + i, static_cast<int>(e - i), 0.0f)), static_cast<int>(e - i));
  });
}

static inline float rowMax(const float* s, long n) {
  vf m = splat(-INFINITY);
  long i = 0;
  for (; i + VL <= n; i += VL) {
    const vf v = loadu(s + i);
    m = v > m ? v : m;
  }
  float r = hmax(m);
  for (; i < n; i++) r = std::max(r, s[i]);
  return r;
}

/** Σ e^{s[i] - shift}, optionally writing the exponentials to d. */
static inline float expSum(const float* s, float* d, long n, float shift) {
  vf acc = vf{};
  long i = 0;
  for (; i + VL <= n; i += VL) {
    const vf e = vexp(loadu(s + i) - shift);
    if (d) storeu(d + i, e);
    acc += e;
  }
  float sum = hsum(acc);
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    const vf e = vexp(loadPartial(s + i, rest, -INFINITY) - shift);
    if (d) storePartial(d + i, e, rest);
    for (int j = 0; j < rest; j++) sum += e[j];
  }
  return sum;
}

static void softmaxRows(const float* x, float* y, long rows, long n, bool log) {
  parallelFor(rows, 1, rows * n * 8, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* s = x + r * n;
      float* d = y + r * n;
      const float m = rowMax(s, n);
      const float sum = expSum(s, log ? nullptr : d, n, m);
      if (log) {
        // (x - max) - log(sum), not x - (max + log(sum)): large logits would lose the small term to rounding.
        const float ls = static_cast<float>(std::log(static_cast<double>(sum)));
        for (long i = 0; i < n; i++) d[i] = (s[i] - m) - ls;
      } else {
        const float inv = 1.0f / sum;
        for (long i = 0; i < n; i++) d[i] *= inv;
      }
    }
  });
}

/** Per-row cross-entropy with label smoothing and each row's log-sum-exp; returns the first bad row or -1. */
static long crossEntropyRows(const float* x, const int32_t* target, float* loss, float* lse, long rows, long n, int ignore, float smoothing) {
  for (long r = 0; r < rows; r++)
    if (target[r] != ignore && (target[r] < 0 || target[r] >= n)) return r;
  parallelFor(rows, 1, rows * n * 8, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* s = x + r * n;
      const float m = rowMax(s, n);
      const float sum = expSum(s, nullptr, n, m);
      float sx = 0;
      if (smoothing != 0)
        for (long i = 0; i < n; i++) sx += s[i];
      const float l = m + static_cast<float>(std::log(static_cast<double>(sum)));
      lse[r] = l;
      const int t = target[r];
      loss[r] = t == ignore ? 0.0f : (1 - smoothing) * (l - s[t]) + smoothing * (l - sx / static_cast<float>(n));
    }
  });
  return -1;
}

static void crossEntropyGradRows(const float* x, const int32_t* target, const float* lse, const float* grad, float* dx, long rows, long n, int ignore, float smoothing) {
  const float shift = smoothing / static_cast<float>(n);
  parallelFor(rows, 1, rows * n * 8, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* s = x + r * n;
      float* d = dx + r * n;
      const int t = target[r];
      if (t == ignore) {
        std::fill(d, d + n, 0.0f);
        continue;
      }
      const float g = grad[r], l = lse[r];
      long i = 0;
      for (; i + VL <= n; i += VL) storeu(d + i, g * (vexp(loadu(s + i) - l) - shift));
      if (i < n) storePartial(d + i, g * (vexp(loadPartial(s + i, static_cast<int>(n - i), 0.0f) - l) - shift), static_cast<int>(n - i));
      d[t] -= g * (1 - smoothing);
    }
  });
}

// Fused scaled-dot-product attention, one (batch, head) pair per task: the score block, masking and softmax stay in
// the thread's cache, q/k/v are read through their strides (straight out of the fused qkv projection), and outputs
// and gradients are written in [B, T, H, D] order, so splitting and merging heads needs no copies.

/** A strided 4-D float32 operand: element [i0, i1, i2, i3] at p[i0*s[0] + i1*s[1] + i2*s[2] + i3*s[3]]. */
struct View4 {
  const float* p;
  long s[4];
  const float* at(long i0, long i1) const { return p + i0 * s[0] + i1 * s[1]; }
};

static inline void softmaxRowInPlace(float* row, long n) {
  const float m = rowMax(row, n);
  const float inv = 1.0f / expSum(row, row, n, m);
  for (long j = 0; j < n; j++) row[j] *= inv;
}

/**
 * out[b, i, h, :] = softmax_j(scale·q[b,h,i]·k[b,h,j], masked) · v[b,h,j,:], keeping the weights P [B, H, Tq, Tk]
 * and hidden [B, H, Tq]: 1 for a row with no visible key (its weights are uniform, and, as in the composite, its
 * scores get no gradient). A key j is visible to query i when (not causal or j <= i + Tk - Tq) and (no mask or
 * mask[b,h,i,j] != 0).
 */
static void attentionForward(long B, long H, long Tq, long Tk, long D, long Dv, View4 q, View4 k, View4 v, const View4* mask, bool causal,
                             float scale, float* out, float* P, float* hidden) {
  parallelFor(B * H, 1, B * H * Tq * Tk * (D + Dv), [&](long n0, long n1) {
    for (long n = n0; n < n1; n++) {
      const long b = n / H, h = n % H;
      float* S = P + n * Tq * Tk;
      gemmRange(0, Tq, 0, Tk, D, q.at(b, h), q.s[2], q.s[3], k.at(b, h), k.s[3], k.s[2], S, Tk);
      for (long i = 0; i < Tq; i++) {
        float* row = S + i * Tk;
        const long visible = causal ? std::min(Tk, i + Tk - Tq + 1) : Tk;
        const float* mrow = mask ? mask->at(b, h) + i * mask->s[2] : nullptr;
        bool any = false;
        for (long j = 0; j < Tk; j++) {
          const bool shown = j < visible && (!mrow || mrow[j * mask->s[3]] != 0);
          row[j] = shown ? row[j] * scale : -INFINITY;
          any = any || shown;
        }
        // Hidden keys get exactly 0 (the composite's e^(MASK_VALUE - max) underflows to ~1e-38, whose denormal
        // products in the backward pass would be slow); a row with every key hidden is uniform, as in the composite.
        if (any) softmaxRowInPlace(row, Tk);
        else std::fill(row, row + Tk, 1.0f / static_cast<float>(Tk));
        hidden[n * Tq + i] = any ? 0.0f : 1.0f;
      }
      gemmRange(0, Tq, 0, Dv, Tk, S, Tk, 1, v.at(b, h), v.s[2], v.s[3], out + b * Tq * H * Dv + h * Dv, H * Dv);
    }
  });
}

/**
 * The attention's gradients from dOut [B, H, Tq, Dv] (strided) and the saved weights P: dV = Pᵀ dO, dP = dO Vᵀ,
 * dS = P ⊙ (dP - rowsum(dP ⊙ P))·scale, dQ = dS K, dK = dSᵀ Q; dq, dk, dv written as [B, T, H, D].
 */
static void attentionBackward(long B, long H, long Tq, long Tk, long D, long Dv, View4 dO, View4 q, View4 k, View4 v, const float* P, const float* hidden,
                              float scale, float* dq, float* dk, float* dv) {
  parallelFor(B * H, 1, B * H * Tq * Tk * (2 * D + 2 * Dv), [&](long n0, long n1) {
    thread_local std::vector<float> scratch;
    scratch.resize(static_cast<size_t>(Tq * Tk));
    float* dS = scratch.data();
    for (long n = n0; n < n1; n++) {
      const long b = n / H, h = n % H;
      const float* Pn = P + n * Tq * Tk;
      gemmRange(0, Tk, 0, Dv, Tq, Pn, 1, Tk, dO.at(b, h), dO.s[2], dO.s[3], dv + b * Tk * H * Dv + h * Dv, H * Dv);
      gemmRange(0, Tq, 0, Tk, Dv, dO.at(b, h), dO.s[2], dO.s[3], v.at(b, h), v.s[3], v.s[2], dS, Tk);
      for (long i = 0; i < Tq; i++) {
        float* row = dS + i * Tk;
        const float* prow = Pn + i * Tk;
        if (hidden[n * Tq + i] != 0) {
          std::fill(row, row + Tk, 0.0f);
          continue;
        }
        float dot = 0;
        for (long j = 0; j < Tk; j++) dot += row[j] * prow[j];
        for (long j = 0; j < Tk; j++) row[j] = prow[j] * (row[j] - dot) * scale;
      }
      gemmRange(0, Tq, 0, D, Tk, dS, Tk, 1, k.at(b, h), k.s[2], k.s[3], dq + b * Tq * H * D + h * D, H * D);
      gemmRange(0, Tk, 0, D, Tq, dS, 1, Tk, q.at(b, h), q.s[2], q.s[3], dk + b * Tk * H * D + h * D, H * D);
    }
  });
}

static void layerNormRows(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, long rows, long n, float eps) {
  parallelFor(rows, 1, rows * n * 4, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* s = x + r * n;
      float* d = y + r * n;
      float sum = 0;
      for (long i = 0; i < n; i++) sum += s[i];
      const float mu = sum / static_cast<float>(n);
      float var = 0;
      for (long i = 0; i < n; i++) var += (s[i] - mu) * (s[i] - mu);
      const float rs = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var / static_cast<float>(n)) + static_cast<double>(eps)));
      mean[r] = mu;
      rstd[r] = rs;
      for (long i = 0; i < n; i++) {
        float t = (s[i] - mu) * rs;
        if (w) t *= w[i];
        if (b) t += b[i];
        d[i] = t;
      }
    }
  });
}

static void layerNormGradRows(const float* g, const float* x, const float* w, const float* mean, const float* rstd, float* dx, float* dw, float* db, long rows, long n) {
  Pool& p = threads();
  const int T = static_cast<int>(std::max(1L, std::min<long>({static_cast<long>(p.size()), rows, (rows * n) >> 15})));
  // Each thread sums its rows' dw and db into its own slice; the slices are added at the end (no atomics).
  std::vector<float> partial(static_cast<size_t>(T) * 2 * n, 0.0f);
  auto body = [&](int t) {
    const long r0 = t * rows / T, r1 = (t + 1) * rows / T;
    float* pw = partial.data() + static_cast<size_t>(t) * 2 * n;
    float* pb = pw + n;
    for (long r = r0; r < r1; r++) {
      const float* gs = g + r * n;
      const float* xs = x + r * n;
      float* d = dx + r * n;
      const float mu = mean[r], rs = rstd[r];
      float a = 0, c = 0;
      for (long i = 0; i < n; i++) {
        const float xh = (xs[i] - mu) * rs;
        const float gy = w ? gs[i] * w[i] : gs[i];
        a += gy;
        c += gy * xh;
        pw[i] += gs[i] * xh;
        pb[i] += gs[i];
      }
      const float ma = a / static_cast<float>(n), mc = c / static_cast<float>(n);
      for (long i = 0; i < n; i++) {
        const float xh = (xs[i] - mu) * rs;
        const float gy = w ? gs[i] * w[i] : gs[i];
        d[i] = rs * (gy - ma - xh * mc);
      }
    }
  };
  if (T == 1) body(0); else p.run(T, body);
  for (long i = 0; i < n; i++) {
    float sw = 0, sb = 0;
    for (int t = 0; t < T; t++) {
      sw += partial[static_cast<size_t>(t) * 2 * n + i];
      sb += partial[static_cast<size_t>(t) * 2 * n + n + i];
    }
    dw[i] = sw;
    db[i] = sb;
  }
}

static void adamw(float* p, const float* g, float* m, float* v, long n, float keep, float beta1, float c1, float beta2, float c2, float stepSize, float inv2, float eps) {
  parallelFor(n, 4096, n * 4, [&](long b, long e) {
    for (long i = b; i < e; i++) {
      const float gi = g[i];
      const float mi = beta1 * m[i] + c1 * gi;
      const float vi = beta2 * v[i] + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * keep - stepSize * mi / (std::sqrt(vi * inv2) + eps);
    }
  });
}

typedef uint32_t vu __attribute__((vector_size(VL * 4)));

/**
 * out[i] = uniformAt(key, i) of tensor/random.ts for i in [0, n): its hash of (key, i) in 32-bit vector lanes, the
 * top 24 bits scaled to [0, 1), exact in float32, so the draws (T.rand, dropout masks) are the reference's bit for bit.
 */
static void uniformKernel(uint32_t key, float* out, long n) {
  parallelFor(n, 4096, n * 16, [&](long b, long e) {
    vu lane;
    for (int j = 0; j < VL; j++) lane[j] = static_cast<uint32_t>(j);
    const vu k = vu{} + key;
    for (long i = b; i < e; i += VL) {
      vu h = k ^ ((lane + static_cast<uint32_t>(i)) * 0x9e3779b9u);
      h ^= h >> 16;
      h *= 0x85ebca6bu;
      h ^= h >> 13;
      h *= 0xc2b2ae35u;
      h ^= h >> 16;
      h += k;
      h ^= h >> 15;
      h *= 0x2c1b3c6du;
      h ^= h >> 12;
      h *= 0x297a2d39u;
      h ^= h >> 15;
      // 24 bits convert exactly through signed lanes (a plain instruction on every ISA, unlike unsigned).
      const vf u = __builtin_convertvector(reinterpret_cast<vi>(h >> 8), vf) * (1.0f / 16777216.0f);
      if (i + VL <= e) storeu(out + i, u);
      else storePartial(out + i, u, static_cast<int>(e - i));
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Strided elementwise kernels over broadcast views (binary ops, where, copies): the caller collapses the views to at
// most 8 dims; rows (all but the last dim) are split across threads, and each row's loop is specialised for unit and
// zero strides, which the compiler vectorises.

constexpr int MAX_RANK = 8;

/** Up to four strided views (output first) over one shape. */
struct Walk {
  int rank = 0;
  long shape[MAX_RANK] = {};
  long strides[4][MAX_RANK] = {};
  long offset[4] = {};
  int views = 0;
};

/**
 * Calls row(n, offsets) for every row of the walk's shape, rows split across threads; with fewer rows than threads
 * (a 1-D tensor is one row) the columns are split instead, so row() must treat its n elements independently.
 */
template <typename Row>
static void walkRows(const Walk& w, long costPerElement, const Row& row) {
  const int r = w.rank;
  const long n = r == 0 ? 1 : w.shape[r - 1];
  long rows = 1;
  for (int d = 0; d < r - 1; d++) rows *= w.shape[d];
  if (n == 0 || rows == 0) return;
  if (rows < static_cast<long>(threads().size())) {
    parallelFor(n, 16, rows * n * costPerElement, [&](long c0, long c1) {
      long offs[4];
      for (long i = 0; i < rows; i++) {
        for (int k = 0; k < w.views; k++) offs[k] = w.offset[k] + c0 * w.strides[k][r - 1];
        for (long rem = i, d = r - 2; d >= 0; d--) {
          for (int k = 0; k < w.views; k++) offs[k] += (rem % w.shape[d]) * w.strides[k][d];
          rem /= w.shape[d];
        }
        row(c1 - c0, offs);
      }
    });
    return;
  }
  parallelFor(rows, 1, rows * n * costPerElement, [&](long r0, long r1) {
    long idx[MAX_RANK] = {}, offs[4];
    long rem = r0;
    for (int d = r - 2; d >= 0; d--) {
      idx[d] = rem % w.shape[d];
      rem /= w.shape[d];
    }
    for (int k = 0; k < w.views; k++) {
      offs[k] = w.offset[k];
      for (int d = 0; d < r - 1; d++) offs[k] += idx[d] * w.strides[k][d];
    }
    for (long i = r0; i < r1; i++) {
      row(n, offs);
      for (int d = r - 2; d >= 0; d--) {
        for (int k = 0; k < w.views; k++) offs[k] += w.strides[k][d];
        if (++idx[d] < w.shape[d]) break;
        for (int k = 0; k < w.views; k++) offs[k] -= w.strides[k][d] * w.shape[d];
        idx[d] = 0;
      }
    }
  });
}

enum BinaryOp { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE };

template <typename F>
static void binaryWalk(const Walk& w, float* out, const float* a, const float* b, F f) {
  const long sa = w.strides[1][w.rank - 1], sb = w.strides[2][w.rank - 1];
  walkRows(w, 1, [&](long n, const long* offs) {
    float* o = out + offs[0];
    const float* x = a + offs[1];
    const float* y = b + offs[2];
    if (sa == 1 && sb == 1) for (long i = 0; i < n; i++) o[i] = f(x[i], y[i]);
    else if (sa == 1 && sb == 0) for (long i = 0; i < n; i++) o[i] = f(x[i], y[0]);
    else if (sa == 0 && sb == 1) for (long i = 0; i < n; i++) o[i] = f(x[0], y[i]);
    else for (long i = 0; i < n; i++) o[i] = f(x[i * sa], y[i * sb]);
  });
}

static bool binaryKernel(int op, const Walk& w, float* out, const float* a, const float* b) {
  switch (op) {
    case B_ADD: binaryWalk(w, out, a, b, [](float x, float y) { return x + y; }); return true;
    case B_SUB: binaryWalk(w, out, a, b, [](float x, float y) { return x - y; }); return true;
    case B_MUL: binaryWalk(w, out, a, b, [](float x, float y) { return x * y; }); return true;
    case B_DIV: binaryWalk(w, out, a, b, [](float x, float y) { return x / y; }); return true;
    // NaN wins, as in PyTorch's maximum/minimum
    case B_MAX: binaryWalk(w, out, a, b, [](float x, float y) { return x >= y || x != x ? x : y; }); return true;
    case B_MIN: binaryWalk(w, out, a, b, [](float x, float y) { return x <= y || x != x ? x : y; }); return true;
    case B_EQ: binaryWalk(w, out, a, b, [](float x, float y) { return x == y ? 1.0f : 0.0f; }); return true;
    case B_NE: binaryWalk(w, out, a, b, [](float x, float y) { return x != y ? 1.0f : 0.0f; }); return true;
    case B_LT: binaryWalk(w, out, a, b, [](float x, float y) { return x < y ? 1.0f : 0.0f; }); return true;
    case B_LE: binaryWalk(w, out, a, b, [](float x, float y) { return x <= y ? 1.0f : 0.0f; }); return true;
    case B_GT: binaryWalk(w, out, a, b, [](float x, float y) { return x > y ? 1.0f : 0.0f; }); return true;
    case B_GE: binaryWalk(w, out, a, b, [](float x, float y) { return x >= y ? 1.0f : 0.0f; }); return true;
    default: return false;
  }
}

/** out = cond != 0 ? a : b, with a float32 or int32 condition. */
template <typename C>
static void whereKernel(const Walk& w, float* out, const C* cond, const float* a, const float* b) {
  const long sc = w.strides[1][w.rank - 1], sa = w.strides[2][w.rank - 1], sb = w.strides[3][w.rank - 1];
  walkRows(w, 1, [&](long n, const long* offs) {
    float* o = out + offs[0];
    const C* c = cond + offs[1];
    const float* x = a + offs[2];
    const float* y = b + offs[3];
    for (long i = 0; i < n; i++) o[i] = c[i * sc] != 0 ? x[i * sa] : y[i * sb];
  });
}

/** A strided copy of 4-byte elements (float32 or int32 bits), out and x both strided. */
static void copyKernel(const Walk& w, uint32_t* out, const uint32_t* x) {
  const long so = w.strides[0][w.rank - 1], sx = w.strides[1][w.rank - 1];
  walkRows(w, 1, [&](long n, const long* offs) {
    uint32_t* o = out + offs[0];
    const uint32_t* src = x + offs[1];
    if (so == 1 && sx == 1) std::memcpy(o, src, n * sizeof(uint32_t));
    else for (long i = 0; i < n; i++) o[i * so] = src[i * sx];
  });
}

/**
 * Sum, max or min over the middle of a contiguous [outer, red, inner] array, in the reference's order (the first
 * slice, then each next one combined in turn); threads split the outer rows, or the inner columns when there is one row.
 */
static void reduceBlock(int op, const float* x, float* out, long outer, long red, long inner) {
  auto run = [&](long o, long i0, long i1) {
    float* dst = out + o * inner;
    const float* base = x + o * red * inner;
    for (long i = i0; i < i1; i++) dst[i] = base[i];
    for (long r = 1; r < red; r++) {
      const float* src = base + r * inner;
      if (op == 0) for (long i = i0; i < i1; i++) dst[i] += src[i];
      else if (op == 1) for (long i = i0; i < i1; i++) dst[i] = src[i] > dst[i] || src[i] != src[i] ? src[i] : dst[i];
      else for (long i = i0; i < i1; i++) dst[i] = src[i] < dst[i] || src[i] != src[i] ? src[i] : dst[i];
    }
  };
  if (inner == 1) {
    // Row reductions: each row alone, sequentially (the reference's order).
    parallelFor(outer, 1, outer * red, [&](long o0, long o1) {
      for (long o = o0; o < o1; o++) {
        const float* row = x + o * red;
        float acc = row[0];
        if (op == 0) for (long r = 1; r < red; r++) acc += row[r];
        else if (op == 1) for (long r = 1; r < red; r++) acc = row[r] > acc || row[r] != row[r] ? row[r] : acc;
        else for (long r = 1; r < red; r++) acc = row[r] < acc || row[r] != row[r] ? row[r] : acc;
        out[o] = acc;
      }
    });
  } else if (outer >= 2 * threads().size()) {
    parallelFor(outer, 1, outer * red * inner, [&](long o0, long o1) {
      for (long o = o0; o < o1; o++) run(o, 0, inner);
    });
  } else {
    for (long o = 0; o < outer; o++) parallelFor(inner, 64, red * inner, [&](long i0, long i1) { run(o, i0, i1); });
  }
}

/**
 * out[idx[k], :] += src[k, :] for k in order (an embedding's gradient), columns split across threads so each element
 * still receives its terms in increasing k. Returns the first out-of-range index position, or -1 (out untouched).
 */
static long scatterRows(float* out, long rows, long D, const int32_t* idx, long idxStride, long N, const float* src) {
  for (long k = 0; k < N; k++)
    if (idx[k * idxStride] < 0 || idx[k * idxStride] >= rows) return k;
  parallelFor(D, 64, N * D, [&](long c0, long c1) {
    for (long k = 0; k < N; k++) {
      float* dst = out + idx[k * idxStride] * D;
      const float* row = src + k * D;
      for (long c = c0; c < c1; c++) dst[c] += row[c];
    }
  });
  return -1;
}

// ---------------------------------------------------------------------------------------------------------------
// The LSTM recurrence of one layer and direction (PyTorch's gate order i, f, g, o), forward and backward through
// time, without and with a projection (LSTMP). The recurrent weights are packed once per sequence, each step is one
// GEMM per weight (columns split across threads) and one vectorised pass over the gates (and one over the projection);
// the weight gradients are one large GEMM each over all steps at the end. Both recurrences share the gate math.

/** C[M, N] = A[M, K] · packed B, columns split across threads when the product is large enough. */
static void gemmPacked(long M, long N, long K, const float* a, long ars, long acs, const Packed& packed, float* c, long ldc) {
  Pool& p = threads();
  const int T = static_cast<int>(std::min<long>({static_cast<long>(p.size()), (N + NR - 1) / NR, std::max(1L, (M * N * K) >> 17)}));
  if (T <= 1) {
    gemmRange(0, M, 0, N, K, a, ars, acs, nullptr, 0, 0, c, ldc, packed.data.get(), packed.n);
    return;
  }
  p.run(T, [&](int t) {
    const long n0 = NR * ((t * N / T) / NR), n1 = t == T - 1 ? N : NR * (((t + 1) * N / T) / NR);
    if (n0 < n1) gemmRange(0, M, n0, n1, K, a, ars, acs, nullptr, 0, 0, c, ldc, packed.data.get(), packed.n);
  });
}

static inline vf vsigmoid(vf x) { return 1.0f / (1.0f + vexp(-x)); }

/** Runs f(j, lanes) over [0, n) in vector-wide chunks (the last one partial). */
template <typename F>
static inline void lanes(long n, const F& f) {
  for (long j = 0; j < n; j += VL) f(j, static_cast<int>(std::min<long>(VL, n - j)));
}
static inline vf ld(const float* p, int n) { return n == VL ? loadu(p) : loadPartial(p, n, 0.0f); }
static inline void st(float* p, vf v, int n) {
  if (n == VL) storeu(p, v);
  else storePartial(p, v, n);
}

/** x clipped to ±bound as the composite clips (minimum(maximum(x, -bound), bound)). */
static inline vf clipTo(vf x, float bound) {
  const vf lo = splat(-bound), hi = splat(bound);
  x = x < lo ? lo : x;
  return x > hi ? hi : x;
}
/** d where x lies within ±bound (bounds included), else 0: the gradient through clipTo, as clamp passes it. */
static inline vf insideOr0(vf x, float bound, vf d) { return x >= splat(-bound) ? (x <= splat(bound) ? d : vf{}) : vf{}; }

/** One chunk of a row's four gate activations. */
struct Gates {
  vf i, f, g, o;
};

/**
 * Chunk [j, j + n) of one row's gates: the activations of the recurrent product g4 [4H] + xw's row x (+ b_hh), saved
 * into the row's acts a [4H].
 */
static inline Gates gateActivations(long H, const float* g4, const float* x, const float* bias, float* a, long j, int n) {
  auto pre = [&](long gate) {
    vf v = ld(g4 + gate * H + j, n) + ld(x + gate * H + j, n);
    return bias ? v + ld(bias + gate * H + j, n) : v;
  };
  const Gates s{vsigmoid(pre(0)), vsigmoid(pre(1)), vtanh(pre(2)), vsigmoid(pre(3))};
  st(a + j, s.i, n);
  st(a + H + j, s.f, n);
  st(a + 2 * H + j, s.g, n);
  st(a + 3 * H + j, s.o, n);
  return s;
}

/** The saved activations of chunk [j, j + n) of a row's acts a [4H]. */
static inline Gates savedGates(long H, const float* a, long j, int n) { return {ld(a + j, n), ld(a + H + j, n), ld(a + 2 * H + j, n), ld(a + 3 * H + j, n)}; }

/**
 * Chunk [j, j + n) of one row's gate pre-activation gradients dg [4H], from dc (the gradient of the cell after any
 * clip has passed it), dh (of h = o·tanh(c)), tanh(c) and the incoming cell cPrev.
 */
static inline void gateGradients(long H, const Gates& s, vf dc, vf dh, vf tc, vf cPrev, float* dg, long j, int n) {
  st(dg + j, dc * s.g * s.i * (1.0f - s.i), n);
  st(dg + H + j, dc * cPrev * s.f * (1.0f - s.f), n);
  st(dg + 2 * H + j, dc * s.i * (1.0f - s.g * s.g), n);
  st(dg + 3 * H + j, dh * tc * s.o * (1.0f - s.o), n);
}

/** dState [B, W] for step t - 1 = dPrev (the gradient through the recurrent weight) + what a padded step t passes straight back. */
static void carry(long B, long T, long W, long t, const float* mask, float* dState, const float* dPrev) {
  for (long b = 0; b < B; b++) {
    const float keep = mask ? 1.0f - mask[b * T + t] : 0.0f;
    float* d = dState + b * W;
    const float* p = dPrev + b * W;
    for (long j = 0; j < W; j++) d[j] = p[j] + d[j] * keep;
  }
}

/**
 * Forward over xw [B, T, 4H] (x·W_ih + b_ih, precomputed for all steps), W_hh [4H, H], optional b_hh [4H], h0, c0
 * [B, H] and an optional step mask [B, T] (1 = real step; a padded step keeps the state and outputs 0). Writes out
 * [B, T + 2, H] (every step's output, then the final h and c) and saves the gate activations acts [B, T, 4H], the
 * cell values cNew [B, T, H] and the states entering each step, hPrev and cPrev [B, T, H].
 */
static void lstmForward(long B, long T, long H, const float* xw, const float* w, const float* bias, const float* h0, const float* c0, const float* mask,
                        float* out, float* acts, float* cNew, float* hPrev, float* cPrev) {
  const long H4 = 4 * H;
  const Packed wT = prepackB(H, H4, w, 1, H);  // W_hhᵀ: element (k, j) = W[j][k]
  std::vector<float> h(h0, h0 + B * H), c(c0, c0 + B * H), gates(static_cast<size_t>(B * H4));
  for (long t = 0; t < T; t++) {
    gemmPacked(B, H4, H, h.data(), H, 1, wT, gates.data(), H4);
    parallelFor(B, 1, B * H4 * 8, [&](long b0, long b1) {
      for (long b = b0; b < b1; b++) {
        const long row = b * T + t;
        float* hb = h.data() + b * H;
        float* cb = c.data() + b * H;
        std::memcpy(hPrev + row * H, hb, H * sizeof(float));
        std::memcpy(cPrev + row * H, cb, H * sizeof(float));
        const float m = mask ? mask[row] : 1.0f;
        lanes(H, [&](long j, int n) {
          const Gates s = gateActivations(H, gates.data() + b * H4, xw + row * H4, bias, acts + row * H4, j, n);
          const vf cPrevV = ld(cb + j, n);
          const vf cn = s.f * cPrevV + s.i * s.g;
          const vf hn = s.o * vtanh(cn);
          st(cNew + row * H + j, cn, n);
          if (mask) {
            st(hb + j, m * hn + (1.0f - m) * ld(hb + j, n), n);
            st(cb + j, m * cn + (1.0f - m) * cPrevV, n);
            st(out + (b * (T + 2) + t) * H + j, hn * m, n);
          } else {
            st(hb + j, hn, n);
            st(cb + j, cn, n);
            st(out + (b * (T + 2) + t) * H + j, hn, n);
          }
        });
      }
    });
  }
  for (long b = 0; b < B; b++) {
    std::memcpy(out + (b * (T + 2) + T) * H, h.data() + b * H, H * sizeof(float));
    std::memcpy(out + (b * (T + 2) + T + 1) * H, c.data() + b * H, H * sizeof(float));
  }
}

/**
 * Backward from grad [B, T + 2, H] (the gradient of lstmForward's out) and the saved tensors: dxw [B, T, 4H] (the gate
 * pre-activation gradients), dW [4H, H], db [4H] (when bias), dh0 and dc0 [B, H].
 */
static void lstmBackward(long B, long T, long H, const float* grad, const float* w, const float* mask, const float* acts, const float* cNew, const float* hPrev,
                         const float* cPrev, float* dxw, float* dw, float* db, float* dh0, float* dc0) {
  const long H4 = 4 * H;
  const Packed wP = prepackB(H4, H, w, H, 1);  // W_hh as the B operand of dG [B, 4H] · W [4H, H]
  std::vector<float> dh(static_cast<size_t>(B * H)), dc(static_cast<size_t>(B * H)), dhPrev(static_cast<size_t>(B * H));
  for (long b = 0; b < B; b++) {
    std::memcpy(dh.data() + b * H, grad + (b * (T + 2) + T) * H, H * sizeof(float));
    std::memcpy(dc.data() + b * H, grad + (b * (T + 2) + T + 1) * H, H * sizeof(float));
  }
  for (long t = T - 1; t >= 0; t--) {
    parallelFor(B, 1, B * H4 * 8, [&](long b0, long b1) {
      for (long b = b0; b < b1; b++) {
        const long row = b * T + t;
        float* dhb = dh.data() + b * H;
        float* dcb = dc.data() + b * H;
        const float* gOut = grad + (b * (T + 2) + t) * H;
        const float m = mask ? mask[row] : 1.0f;
        lanes(H, [&](long j, int n) {
          const Gates s = savedGates(H, acts + row * H4, j, n);
          const vf tc = vtanh(ld(cNew + row * H + j, n));
          const vf dcIn = ld(dcb + j, n);
          const vf dhNew = (ld(dhb + j, n) + ld(gOut + j, n)) * m;
          const vf dcNew = dcIn * m + dhNew * s.o * (1.0f - tc * tc);
          gateGradients(H, s, dcNew, dhNew, tc, ld(cPrev + row * H + j, n), dxw + row * H4, j, n);
          // dc for step t - 1: through the cell, plus the part a padded step passes straight back.
          st(dcb + j, dcNew * s.f + dcIn * (1.0f - m), n);
        });
      }
    });
    // dh for step t - 1: through the recurrent weight, plus the part a padded step passes straight back.
    gemmPacked(B, H, H4, dxw + t * H4, T * H4, 1, wP, dhPrev.data(), H);
    carry(B, T, H, t, mask, dh.data(), dhPrev.data());
  }
  std::memcpy(dh0, dh.data(), B * H * sizeof(float));
  std::memcpy(dc0, dc.data(), B * H * sizeof(float));
  // dW = Σ_t dGᵀ_t · hPrev_t as one product over all B·T rows; db = the column sums of dG.
  const long sa[3] = {0, 1, H4}, sb[3] = {0, H, 1};
  sgemm(1, H4, H, B * T, dxw, sa, hPrev, sb, dw);
  if (db && B * T > 0) reduceBlock(0, dxw, db, 1, B * T, H4);  // (db comes zeroed)
}

/** The LSTMP's clip bounds; an infinite bound is no clip. */
struct Clip {
  float cell, proj;
  bool clipsCell() const { return std::isfinite(cell); }
  bool clipsProj() const { return std::isfinite(proj); }
};

/**
 * LSTMP forward (Sak et al. 2014; PyTorch's proj_size, bilm-tf's num_proj): the recurrent state is r = clip(h·W_hrᵀ)
 * [B, P] of h = o·tanh(clip(c)), and the gates read r through W_hh [4H, P]. xw [B, T, 4H], optional b_hh [4H], W_hr
 * [P, H], r0 [B, P], c0 [B, H] and the mask as lstmForward's. Per step: the gate GEMM, a gate pass (new c, clipped, and
 * h), the projection GEMM and a projection pass (clip, mask, the new r). Writes out [B, T·P + P + H] (every step's r,
 * then the final r and c) and saves acts [B, T, 4H], the unclipped cells cRaw [B, T, H], h [B, T, H], the incoming
 * states rPrev [B, T, P] and cPrev [B, T, H], and, with a projection clip, the unclipped projections rRaw [B, T, P].
 */
static void lstmpForward(long B, long T, long H, long P, const float* xw, const float* w, const float* bias, const float* wr, const float* r0, const float* c0,
                         const float* mask, Clip clip, float* out, float* acts, float* cRaw, float* hNew, float* rPrev, float* cPrev, float* rRaw) {
  const long H4 = 4 * H, width = T * P + P + H;
  const Packed wT = prepackB(P, H4, w, 1, P);    // W_hhᵀ [P, 4H]
  const Packed wrT = prepackB(H, P, wr, 1, H);   // W_hrᵀ [H, P]
  std::vector<float> r(r0, r0 + B * P), c(c0, c0 + B * H), gates(static_cast<size_t>(B * H4)), proj(static_cast<size_t>(B * P));
  for (long t = 0; t < T; t++) {
    gemmPacked(B, H4, P, r.data(), P, 1, wT, gates.data(), H4);
    parallelFor(B, 1, B * H4 * 8, [&](long b0, long b1) {
      for (long b = b0; b < b1; b++) {
        const long row = b * T + t;
        float* cb = c.data() + b * H;
        std::memcpy(cPrev + row * H, cb, H * sizeof(float));
        const float m = mask ? mask[row] : 1.0f;
        lanes(H, [&](long j, int n) {
          const Gates s = gateActivations(H, gates.data() + b * H4, xw + row * H4, bias, acts + row * H4, j, n);
          const vf cp = ld(cb + j, n);
          const vf raw = s.f * cp + s.i * s.g;
          const vf cn = clip.clipsCell() ? clipTo(raw, clip.cell) : raw;
          st(cRaw + row * H + j, raw, n);
          st(hNew + row * H + j, s.o * vtanh(cn), n);
          st(cb + j, mask ? m * cn + (1.0f - m) * cp : cn, n);
        });
      }
    });
    // r_t = clip(h_t · W_hrᵀ), h_t's rows T·H apart in hNew
    gemmPacked(B, P, H, hNew + t * H, T * H, 1, wrT, proj.data(), P);
    for (long b = 0; b < B; b++) {
      const long row = b * T + t;
      float* rb = r.data() + b * P;
      float* o = out + b * width + t * P;
      std::memcpy(rPrev + row * P, rb, P * sizeof(float));
      const float m = mask ? mask[row] : 1.0f;
      lanes(P, [&](long j, int n) {
        const vf raw = ld(proj.data() + b * P + j, n);
        if (rRaw) st(rRaw + row * P + j, raw, n);
        const vf rn = clip.clipsProj() ? clipTo(raw, clip.proj) : raw;
        if (mask) {
          st(rb + j, m * rn + (1.0f - m) * ld(rb + j, n), n);
          st(o + j, rn * m, n);
        } else {
          st(rb + j, rn, n);
          st(o + j, rn, n);
        }
      });
    }
  }
  for (long b = 0; b < B; b++) {
    std::memcpy(out + b * width + T * P, r.data() + b * P, P * sizeof(float));
    std::memcpy(out + b * width + T * P + P, c.data() + b * H, H * sizeof(float));
  }
}

/**
 * LSTMP backward from grad [B, T·P + P + H] (the gradient of lstmpForward's out) and the saved tensors, per step from
 * the last: the projection's gradient dR_t (through the mask and the clip), dh_t = dR_t · W_hr as one GEMM, the gate
 * pass, and dr_{t-1} = dG_t · W_hh as one GEMM. Writes dxw [B, T, 4H], dW [4H, P], db [4H] (when bias), dW_hr [P, H]
 * (Σ dRᵀ h, one GEMM over all B·T rows, as dW = Σ dGᵀ rPrev), dr0 [B, P] and dc0 [B, H].
 */
static void lstmpBackward(long B, long T, long H, long P, const float* grad, const float* w, const float* wr, const float* mask, Clip clip, const float* acts,
                          const float* cRaw, const float* hNew, const float* rPrev, const float* cPrev, const float* rRaw, float* dxw, float* dw, float* db,
                          float* dwr, float* dr0, float* dc0) {
  const long H4 = 4 * H, width = T * P + P + H;
  const Packed wP = prepackB(H4, P, w, P, 1);   // W_hh [4H, P] as the B operand of dG · W_hh
  const Packed wrP = prepackB(P, H, wr, H, 1);  // W_hr [P, H] as the B operand of dR · W_hr
  std::vector<float> dr(static_cast<size_t>(B * P)), dc(static_cast<size_t>(B * H)), dh(static_cast<size_t>(B * H)),
      drPrev(static_cast<size_t>(B * P)), dProj(static_cast<size_t>(B * T * P));
  for (long b = 0; b < B; b++) {
    std::memcpy(dr.data() + b * P, grad + b * width + T * P, P * sizeof(float));
    std::memcpy(dc.data() + b * H, grad + b * width + T * P + P, H * sizeof(float));
  }
  for (long t = T - 1; t >= 0; t--) {
    // r_t = m·r_new + (1 - m)·r_{t-1} and out_t = m·r_new, r_new = clip(raw)
    for (long b = 0; b < B; b++) {
      const long row = b * T + t;
      const float m = mask ? mask[row] : 1.0f;
      lanes(P, [&](long j, int n) {
        const vf d = (ld(dr.data() + b * P + j, n) + ld(grad + b * width + t * P + j, n)) * m;
        st(dProj.data() + row * P + j, clip.clipsProj() ? insideOr0(ld(rRaw + row * P + j, n), clip.proj, d) : d, n);
      });
    }
    gemmPacked(B, H, P, dProj.data() + t * P, T * P, 1, wrP, dh.data(), H);
    parallelFor(B, 1, B * H4 * 8, [&](long b0, long b1) {
      for (long b = b0; b < b1; b++) {
        const long row = b * T + t;
        float* dcb = dc.data() + b * H;
        const float m = mask ? mask[row] : 1.0f;
        lanes(H, [&](long j, int n) {
          const Gates s = savedGates(H, acts + row * H4, j, n);
          const vf raw = ld(cRaw + row * H + j, n);
          const vf tc = vtanh(clip.clipsCell() ? clipTo(raw, clip.cell) : raw);
          const vf dcIn = ld(dcb + j, n);
          const vf dhNew = ld(dh.data() + b * H + j, n);
          const vf dcNew = dcIn * m + dhNew * s.o * (1.0f - tc * tc);
          const vf dcRaw = clip.clipsCell() ? insideOr0(raw, clip.cell, dcNew) : dcNew;
          gateGradients(H, s, dcRaw, dhNew, tc, ld(cPrev + row * H + j, n), dxw + row * H4, j, n);
          st(dcb + j, dcRaw * s.f + dcIn * (1.0f - m), n);
        });
      }
    });
    gemmPacked(B, P, H4, dxw + t * H4, T * H4, 1, wP, drPrev.data(), P);
    carry(B, T, P, t, mask, dr.data(), drPrev.data());
  }
  std::memcpy(dr0, dr.data(), B * P * sizeof(float));
  std::memcpy(dc0, dc.data(), B * H * sizeof(float));
  // dW = Σ_t dG_tᵀ · rPrev_t and dW_hr = Σ_t dR_tᵀ · h_t, each one product over all B·T rows; db = the column sums of dG.
  const long gT[3] = {0, 1, H4}, rows[3] = {0, P, 1}, pT[3] = {0, 1, P}, hRows[3] = {0, H, 1};
  sgemm(1, H4, P, B * T, dxw, gT, rPrev, rows, dw);
  if (db && B * T > 0) reduceBlock(0, dxw, db, 1, B * T, H4);  // (db comes zeroed)
  sgemm(1, P, H, B * T, dProj.data(), pT, hNew, hRows, dwr);
}

// ---------------------------------------------------------------------------------------------------------------
// Image kernels: im2col/col2im for the convolution's GEMMs (columns [C·kh·kw, N·Ho·Wo], src/backend/cpu/image.ts),
// pooling with the first-largest argmax, batch normalisation over [N, C, L], and the block transpose between the
// GEMM's [O, N, P] and NCHW. Threads split independent rows, planes or channels, so no two write the same element.

/** A convolution's or pooling's window (Window2d), unpacked from its Float64Array meta. */
struct Window {
  long kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo;
  explicit Window(const double* m)
      : kh(long(m[0])), kw(long(m[1])), sh(long(m[2])), sw(long(m[3])), ph(long(m[4])), pw(long(m[5])), dh(long(m[6])), dw(long(m[7])),
        Ho(long(m[8])), Wo(long(m[9])) {}
  /** The output columns [lo, hi) whose tap at input offset `tap` lands inside [0, W). */
  void columns(long W, long tap, long& lo, long& hi) const {
    lo = tap >= 0 ? 0 : (-tap + sw - 1) / sw;
    hi = W - 1 - tap < 0 ? 0 : std::min(Wo, (W - 1 - tap) / sw + 1);
    if (hi < lo) hi = lo;
  }
};

static void im2col(const float* x, long N, long C, long H, long W, const Window& w, float* cols) {
  const long P = w.Ho * w.Wo, NP = N * P, rows = C * w.kh * w.kw;
  parallelFor(rows * N, 1, rows * NP, [&](long r0, long r1) {
    for (long rn = r0; rn < r1; rn++) {
      const long row = rn / N, n = rn % N;
      const long c = row / (w.kh * w.kw), a = (row / w.kw) % w.kh, b = row % w.kw;
      const long tap = b * w.dw - w.pw;
      long lo, hi;
      w.columns(W, tap, lo, hi);
      const float* plane = x + (n * C + c) * H * W;
      float* dst = cols + row * NP + n * P;
      for (long i = 0; i < w.Ho; i++, dst += w.Wo) {
        const long ih = i * w.sh - w.ph + a * w.dh;
        if (ih < 0 || ih >= H) {
          std::memset(dst, 0, sizeof(float) * w.Wo);
          continue;
        }
        const float* src = plane + ih * W + tap;
        for (long j = 0; j < lo; j++) dst[j] = 0.0f;
        if (w.sw == 1) std::memcpy(dst + lo, src + lo, sizeof(float) * (hi - lo));
        else for (long j = lo; j < hi; j++) dst[j] = src[j * w.sw];
        for (long j = hi; j < w.Wo; j++) dst[j] = 0.0f;
      }
    }
  });
}

/**
 * x [N, C, H, W] into rows [N·Ho·Wo, C·kh·kw], a row per output pixel (the weight gradient's operand, read row-major).
 * A task fills the rows of one output row (Wo pixels, a block small enough to stay in L1) tap by tap, so each inner
 * loop runs along the output row with its bounds worked out once.
 */
static void im2row(const float* x, long N, long C, long H, long W, const Window& w, float* rows) {
  const long P = w.Ho * w.Wo, K = C * w.kh * w.kw;
  parallelFor(N * w.Ho, 1, N * P * K, [&](long r0, long r1) {
    for (long ni = r0; ni < r1; ni++) {
      const long n = ni / w.Ho, i = ni % w.Ho;
      float* block = rows + (n * P + i * w.Wo) * K;
      for (long c = 0; c < C; c++)
        for (long a = 0; a < w.kh; a++) {
          const long ih = i * w.sh - w.ph + a * w.dh;
          for (long b = 0; b < w.kw; b++) {
            float* dst = block + (c * w.kh + a) * w.kw + b;
            const long tap = b * w.dw - w.pw;
            long lo = 0, hi = 0;
            if (ih >= 0 && ih < H) w.columns(W, tap, lo, hi);
            const float* src = x + ((n * C + c) * H + ih) * W + tap;
            for (long j = 0; j < lo; j++) dst[j * K] = 0.0f;
            for (long j = lo; j < hi; j++) dst[j * K] = src[j * w.sw];
            for (long j = hi; j < w.Wo; j++) dst[j * K] = 0.0f;
          }
        }
    }
  });
}

static void col2im(const float* cols, long N, long C, long H, long W, const Window& w, float* dx) {
  const long P = w.Ho * w.Wo, NP = N * P;
  // One (image, channel) plane per task: it gathers from its kh·kw rows, so planes never collide.
  parallelFor(N * C, 1, N * C * w.kh * w.kw * P, [&](long p0, long p1) {
    for (long nc = p0; nc < p1; nc++) {
      const long n = nc / C, c = nc % C;
      float* plane = dx + nc * H * W;
      std::memset(plane, 0, sizeof(float) * H * W);
      for (long a = 0; a < w.kh; a++)
        for (long b = 0; b < w.kw; b++) {
          const long tap = b * w.dw - w.pw;
          long lo, hi;
          w.columns(W, tap, lo, hi);
          const float* src = cols + ((c * w.kh + a) * w.kw + b) * NP + n * P;
          for (long i = 0; i < w.Ho; i++, src += w.Wo) {
            const long ih = i * w.sh - w.ph + a * w.dh;
            if (ih < 0 || ih >= H) continue;
            float* dst = plane + ih * W + tap;
            if (w.sw == 1) for (long j = lo; j < hi; j++) dst[j] += src[j];
            else for (long j = lo; j < hi; j++) dst[j * w.sw] += src[j];
          }
        }
    }
  });
}

/**
 * Max (kind 0; argmax: the first largest, a NaN wins, as in PyTorch) or average (kind 1, padding counted) pooling.
 * Output columns whose windows lie inside the plane go tap by tap across the whole row (independent outputs, so the
 * compare-and-select chains of neighbouring outputs overlap); the edges take the bounds-checked loop.
 */
static inline float rowSum(const float* row, long L);

#if defined(__AVX512F__)
#include <immintrin.h>
/**
 * 2×2 max pooling with stride 2 and no padding (LeNet's), 16 outputs a step: each input row pair's even and odd
 * columns split by permutes, the four taps compared in window order with pooling's rule (the first largest, a NaN
 * wins, the last NaN when there are several), masked loads and stores at the row's end.
 */
static void maxPool2x2(const float* plane, long W, long Ho, long Wo, float* y, int32_t* am) {
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i even = _mm512_slli_epi32(lane, 1), odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (long i = 0; i < Ho; i++) {
    const float* r0 = plane + 2 * i * W;
    const float* r1 = r0 + W;
    for (long j = 0; j < Wo; j += 16) {
      const long n = std::min(16L, Wo - j), m = 2 * n;
      const __mmask16 lo = m >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << m) - 1);
      const __mmask16 hi = m >= 32 ? 0xFFFF : m > 16 ? static_cast<__mmask16>((1u << (m - 16)) - 1) : 0;
      const __m512 alo = _mm512_maskz_loadu_ps(lo, r0 + 2 * j), ahi = _mm512_maskz_loadu_ps(hi, r0 + 2 * j + 16);
      const __m512 blo = _mm512_maskz_loadu_ps(lo, r1 + 2 * j), bhi = _mm512_maskz_loadu_ps(hi, r1 + 2 * j + 16);
      const __m512i pos = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(2 * i * W + 2 * j)), even);
      __m512 best = _mm512_permutex2var_ps(alo, even, ahi);
      __m512i arg = pos;
      auto tap = [&](__m512 v, __m512i at) {
        const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        best = _mm512_mask_mov_ps(best, take, v);
        arg = _mm512_mask_mov_epi32(arg, take, at);
      };
      tap(best, pos);
      tap(_mm512_permutex2var_ps(alo, odd, ahi), _mm512_add_epi32(pos, _mm512_set1_epi32(1)));
      tap(_mm512_permutex2var_ps(blo, even, bhi), _mm512_add_epi32(pos, _mm512_set1_epi32(static_cast<int>(W))));
      tap(_mm512_permutex2var_ps(blo, odd, bhi), _mm512_add_epi32(pos, _mm512_set1_epi32(static_cast<int>(W + 1))));
      const __mmask16 out = n >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << n) - 1);
      _mm512_mask_storeu_ps(y + i * Wo + j, out, best);
      _mm512_mask_storeu_epi32(am + i * Wo + j, out, arg);
    }
  }
}
#endif

static void pool2d(int kind, const float* x, long planes, long H, long W, const Window& w, float* y, int32_t* argmax) {
  const long P = w.Ho * w.Wo;
#if defined(__AVX512F__)
  if (kind == 0 && w.kh == 2 && w.kw == 2 && w.sh == 2 && w.sw == 2 && w.ph == 0 && w.pw == 0 && w.dh == 1 && w.dw == 1) {
    parallelFor(planes, 1, planes * P * 4, [&](long p0, long p1) {
      for (long p = p0; p < p1; p++) maxPool2x2(x + p * H * W, W, w.Ho, w.Wo, y + p * P, argmax + p * P);
    });
    return;
  }
#endif
  if (kind == 1 && P == 1 && w.kh == H && w.kw == W && w.ph == 0 && w.pw == 0) {
    // Global average pooling (a ResNet's head): one vector sum per plane.
    const float inv = 1.0f / static_cast<float>(H * W);
    parallelFor(planes, 1, planes * H * W, [&](long p0, long p1) {
      for (long p = p0; p < p1; p++) y[p] = rowSum(x + p * H * W, H * W) * inv;
    });
    return;
  }
  const float inv = 1.0f / static_cast<float>(w.kh * w.kw);
  const long spanW = (w.kw - 1) * w.dw, spanH = (w.kh - 1) * w.dh;
  const long jIn0 = std::min(w.Wo, (w.pw + w.sw - 1) / w.sw);
  const long jIn1 = std::max(jIn0, std::min(w.Wo, W - 1 - spanW + w.pw < 0 ? 0 : (W - 1 - spanW + w.pw) / w.sw + 1));
  parallelFor(planes, 1, planes * P * w.kh * w.kw, [&](long p0, long p1) {
    std::vector<int32_t> argRow(static_cast<size_t>(w.Wo));
    for (long p = p0; p < p1; p++) {
      const float* plane = x + p * H * W;
      for (long i = 0; i < w.Ho; i++) {
        const long ih0 = i * w.sh - w.ph;
        float* yr = y + p * P + i * w.Wo;
        int32_t* ar = argRow.data();
        long inner0 = jIn0, inner1 = jIn1;
        if (!(ih0 >= 0 && ih0 + spanH < H)) inner0 = inner1 = w.Wo;
        for (long j = inner0; j < inner1; j++) {
          const long at = ih0 * W + j * w.sw - w.pw;
          yr[j] = kind == 0 ? plane[at] : 0.0f;
          ar[j] = static_cast<int32_t>(at);
        }
        for (long a = 0; a < w.kh; a++)
          for (long b = 0; b < w.kw; b++) {
            const long off = (ih0 + a * w.dh) * W + b * w.dw - w.pw;
            const float* src = plane + off;
            if (kind == 0) {
              for (long j = inner0; j < inner1; j++) {
                const float v = src[j * w.sw];
                const bool take = v > yr[j] || v != v;
                yr[j] = take ? v : yr[j];
                ar[j] = take ? static_cast<int32_t>(off + j * w.sw) : ar[j];
              }
            } else {
              for (long j = inner0; j < inner1; j++) yr[j] += src[j * w.sw];
            }
          }
        for (long j = inner0; j < inner1; j++) {
          if (kind == 0) argmax[p * P + i * w.Wo + j] = ar[j];
          else yr[j] *= inv;
        }
        for (long j = 0; j < w.Wo; j++) {
          if (j == inner0) j = inner1;
          if (j >= w.Wo) break;
          const long iw0 = j * w.sw - w.pw;
          float best = -INFINITY, sum = 0.0f;
          long arg = -1;
          for (long a = 0; a < w.kh; a++) {
            const long ih = ih0 + a * w.dh;
            if (ih < 0 || ih >= H) continue;
            for (long b = 0; b < w.kw; b++) {
              const long iw = iw0 + b * w.dw;
              if (iw < 0 || iw >= W) continue;
              const long at = ih * W + iw;
              const float v = plane[at];
              sum += v;
              if (arg < 0) arg = at;
              if (v > best || v != v) {
                best = v;
                arg = at;
              }
            }
          }
          if (kind == 0) {
            yr[j] = best;
            argmax[p * P + i * w.Wo + j] = static_cast<int32_t>(arg);
          } else {
            yr[j] = sum * inv;
          }
        }
      }
    }
  });
}

static void pool2dBackward(int kind, const float* g, long planes, long H, long W, const Window& w, const int32_t* argmax, float* dx) {
  const long P = w.Ho * w.Wo;
  const float inv = 1.0f / static_cast<float>(w.kh * w.kw);
  if (kind == 1 && P == 1 && w.kh == H && w.kw == W && w.ph == 0 && w.pw == 0) {
    parallelFor(planes, 1, planes * H * W, [&](long p0, long p1) {
      for (long p = p0; p < p1; p++) std::fill(dx + p * H * W, dx + (p + 1) * H * W, g[p] * inv);
    });
    return;
  }
  parallelFor(planes, 1, planes * P * (kind == 0 ? 1 : w.kh * w.kw), [&](long p0, long p1) {
    for (long p = p0; p < p1; p++) {
      float* plane = dx + p * H * W;
      std::memset(plane, 0, sizeof(float) * H * W);
      const float* gp = g + p * P;
      if (kind == 0) {
        const int32_t* ap = argmax + p * P;
        for (long o = 0; o < P; o++) plane[ap[o]] += gp[o];
        continue;
      }
      for (long i = 0; i < w.Ho; i++)
        for (long j = 0; j < w.Wo; j++) {
          const float gv = gp[i * w.Wo + j] * inv;
          for (long a = 0; a < w.kh; a++) {
            const long ih = i * w.sh - w.ph + a * w.dh;
            if (ih < 0 || ih >= H) continue;
            for (long b = 0; b < w.kw; b++) {
              const long iw = j * w.sw - w.pw + b * w.dw;
              if (iw >= 0 && iw < W) plane[ih * W + iw] += gv;
            }
          }
        }
    }
  });
}

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/** The first n (< VL) floats at p, the other lanes `fill`: a masked load where the ISA has one. */
static inline vf loadTail(const float* p, long n, float fill) {
#if defined(__AVX512F__)
  return reinterpret_cast<vf>(_mm512_mask_loadu_ps(_mm512_set1_ps(fill), static_cast<__mmask16>((1u << n) - 1), p));
#else
  return loadPartial(p, static_cast<int>(n), fill);
#endif
}
/** Stores the first n (< VL) lanes of v at p. */
static inline void storeTail(float* p, vf v, long n) {
#if defined(__AVX512F__)
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), reinterpret_cast<__m512>(v));
#else
  storePartial(p, v, static_cast<int>(n));
#endif
}

/** Σ row[0:L] in float vector lanes (lane by lane: a row's own rounding). */
static inline vf rowSumV(const float* row, long L) {
  vf s0 = vf{}, s1 = vf{};
  long l = 0;
  for (; l + 2 * VL <= L; l += 2 * VL) {
    s0 += loadu(row + l);
    s1 += loadu(row + l + VL);
  }
  for (; l + VL <= L; l += VL) s0 += loadu(row + l);
  if (l < L) s1 += loadTail(row + l, L - l, 0.0f);
  return s0 + s1;
}
/** Σ row[0:L] in float vector lanes, then across them. */
static inline float rowSum(const float* row, long L) { return hsum(rowSumV(row, L)); }

/** Σ (row[0:L] - m)² in float vector lanes. */
static inline vf rowSquaresV(const float* row, long L, float m) {
  const vf mv = splat(m);
  vf s0 = vf{}, s1 = vf{};
  long l = 0;
  for (; l + 2 * VL <= L; l += 2 * VL) {
    const vf d0 = loadu(row + l) - mv, d1 = loadu(row + l + VL) - mv;
    s0 += d0 * d0;
    s1 += d1 * d1;
  }
  for (; l + VL <= L; l += VL) {
    const vf d = loadu(row + l) - mv;
    s0 += d * d;
  }
  if (l < L) {
    const vf d = loadTail(row + l, L - l, m) - mv;
    s1 += d * d;
  }
  return s0 + s1;
}

/** out[0:L] = row·k + shift, or with `relu` max(row·k + shift (+ res), 0), the ReLU's NaN to 0 (as the unary relu). */
static inline void rowAffine(const float* row, const float* res, float* out, long L, float k, float shift, bool relu) {
  const vf kv = splat(k), sv = splat(shift);
  auto one = [&](vf v, const float* r, long n) {
    if (r) v += n == VL ? loadu(r) : loadTail(r, n, 0.0f);
    return relu ? (v > 0.0f ? v : vf{}) : v;
  };
  long l = 0;
  for (; l + VL <= L; l += VL) storeu(out + l, one(loadu(row + l) * kv + sv, res ? res + l : nullptr, VL));
  if (l < L) storeTail(out + l, one(loadTail(row + l, L - l, 0.0f) * kv + sv, res ? res + l : nullptr, L - l), L - l);
}

/**
 * Training-mode batch norm of x [N, C, L]: per channel the mean and biased variance (two passes, each row in float
 * vector lanes, rows added in double), then the affine map. A channel's N rows stay in cache across its
 * three passes. With `relu`, y = relu(x̂·w + b + res) (res [N, C, L] or null): a residual block's end in the same
 * passes.
 */
static void batchNorm(const float* x, long N, long C, long L, const float* w, const float* b, float eps, float* y, float* mean, float* var,
                      const float* res = nullptr, bool relu = false) {
  parallelFor(C, 1, C * N * L * 3, [&](long c0, long c1) {
    for (long c = c0; c < c1; c++) {
      double s = 0;
      for (long n = 0; n < N; n++) s += hsum(rowSumV(x + (n * C + c) * L, L));
      const double mu = s / static_cast<double>(N * L);
      double v2 = 0;
      const float m = static_cast<float>(mu);
      for (long n = 0; n < N; n++) v2 += hsum(rowSquaresV(x + (n * C + c) * L, L, m));
      const double v = v2 / static_cast<double>(N * L);
      mean[c] = static_cast<float>(mu);
      var[c] = static_cast<float>(v);
      const float k = static_cast<float>((w ? w[c] : 1.0f) / std::sqrt(v + eps));
      const float shift = static_cast<float>((b ? b[c] : 0.0f) - mu * k);
      for (long n = 0; n < N; n++) {
        const long o = (n * C + c) * L;
        rowAffine(x + o, res ? res + o : nullptr, y + o, L, k, shift, relu);
      }
    }
  });
}

/**
 * Batch norm's gradients. With the output `yout` of a batchNorm with relu, g is first masked by yout > 0 (the ReLU's
 * gradient), and written to `dres` when given (the residual's gradient). Without dres the second pass masks g again
 * rather than keep the masked channel: its rows of g and yout are still in cache, and a buffer per call and task
 * (200 KB for a 28×28 ResNet stage) cost an allocation and a zero-fill on every thread.
 */
static void batchNormBackward(const float* g, const float* x, long N, long C, long L, const float* w, const float* mean, const float* var, float eps,
                              float* dx, float* dw, float* db, const float* yout = nullptr, float* dres = nullptr) {
  const double M = static_cast<double>(N * L);
  // The (masked) gradient at o + l, n lanes (n < VL: a row's tail, the other lanes 0).
  auto grad = [&](long o, long l, long n) -> vf {
    const vf gv = n == VL ? loadu(g + o + l) : loadTail(g + o + l, n, 0.0f);
    if (!yout) return gv;
    return (n == VL ? loadu(yout + o + l) : loadTail(yout + o + l, n, 0.0f)) > 0.0f ? gv : vf{};
  };
  parallelFor(C, 1, C * N * L * 3, [&](long c0, long c1) {
    for (long c = c0; c < c1; c++) {
      const float mu = mean[c];
      const double rs = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
      double sumG = 0, sumGX = 0;
      const vf muv = splat(mu);
      for (long n = 0; n < N; n++) {
        const long o = (n * C + c) * L;
        const float* xr = x + o;
        vf a = vf{}, bsum = vf{};
        long l = 0;
        for (; l + VL <= L; l += VL) {
          const vf gv = grad(o, l, VL);
          if (dres) storeu(dres + o + l, gv);
          a += gv;
          bsum += gv * (loadu(xr + l) - muv);
        }
        if (l < L) {
          const vf gv = grad(o, l, L - l);
          if (dres) storeTail(dres + o + l, gv, L - l);
          a += gv;
          bsum += gv * (loadTail(xr + l, L - l, mu) - muv);
        }
        sumG += hsum(a);
        sumGX += hsum(bsum);
      }
      sumGX *= rs;
      db[c] = static_cast<float>(sumG);
      dw[c] = static_cast<float>(sumGX);
      // dx = k·(g - mean(g) - x̂·mean(g·x̂)) with k = weight·rstd, as k·g + b·x + d
      const double k = (w ? w[c] : 1.0f) * rs, bx = -k * rs * sumGX / M, d = -k * sumG / M - bx * mu;
      const vf kv = splat(static_cast<float>(k)), bv = splat(static_cast<float>(bx)), dv = splat(static_cast<float>(d));
      for (long n = 0; n < N; n++) {
        const long o = (n * C + c) * L;
        const float* xr = x + o;
        float* out = dx + o;
        long l = 0;
        for (; l + VL <= L; l += VL) storeu(out + l, kv * (dres ? loadu(dres + o + l) : grad(o, l, VL)) + bv * loadu(xr + l) + dv);
        if (l < L) storeTail(out + l, kv * (dres ? loadTail(dres + o + l, L - l, 0.0f) : grad(o, l, L - l)) + bv * loadTail(xr + l, L - l, 0.0f) + dv, L - l);
      }
    }
  });
}

/**
 * dst[b][a][:P] = src[a][b][:P] (+ bias[a]) for src [A, B, P]; with `sums`, sums[b] = Σ_a Σ_p src[a][b][p]. The
 * convolution's product [O, N, P] to NCHW [N, O, P] with its bias, and the output gradient the other way with the
 * bias gradient.
 */
static void swapBlocks(const float* src, long A, long B, long P, const float* bias, float* dst, float* sums) {
  parallelFor(B, 1, A * B * P, [&](long b0, long b1) {
    for (long b = b0; b < b1; b++) {
      float total = 0.0f;
      for (long a = 0; a < A; a++) {
        const float* s = src + (a * B + b) * P;
        float* d = dst + (b * A + a) * P;
        const float add = bias ? bias[a] : 0.0f;
        float part = 0.0f;
        for (long p = 0; p < P; p++) {
          d[p] = s[p] + add;
          part += s[p];
        }
        total += part;
      }
      if (sums) sums[b] = total;
    }
  });
}

#include "conv.h"

// ---------------------------------------------------------------------------------------------------------------
// N-API bindings. Arrays are passed as typed arrays and used in place; numbers as JavaScript numbers.

struct Args {
  napi_env env;
  napi_value argv[20];
  size_t argc = 20;
  bool ok = true;
  Args(napi_env e, napi_callback_info info) : env(e) { napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr); }
  void fail(const char* msg) {
    if (ok) napi_throw_type_error(env, nullptr, msg);
    ok = false;
  }
  double num(size_t i) {
    double d = 0;
    if (i >= argc || napi_get_value_double(env, argv[i], &d) != napi_ok) fail("pretrain native kernels: expected a number");
    return d;
  }
  long integer(size_t i) { return static_cast<long>(num(i)); }
  /** A typed array's elements (nullptr for null/undefined when optional). */
  template <typename T>
  T* array(size_t i, bool optional = false) {
    napi_valuetype type;
    if (optional && (i >= argc || (napi_typeof(env, argv[i], &type) == napi_ok && (type == napi_null || type == napi_undefined)))) return nullptr;
    bool is = false;
    if (i >= argc || napi_is_typedarray(env, argv[i], &is) != napi_ok || !is) {
      fail("pretrain native kernels: expected a typed array");
      return nullptr;
    }
    napi_typedarray_type kind;
    size_t length;
    void* data;
    napi_get_typedarray_info(env, argv[i], &kind, &length, &data, nullptr, nullptr);
    return static_cast<T*>(data);
  }
};

static napi_value number(napi_env env, double x) {
  napi_value v;
  napi_create_double(env, x, &v);
  return v;
}

// sgemm(batch, M, N, K, a, aOffset, as0, as1, as2, b, bOffset, bs0, bs1, bs2, out, bias?) (bias: contiguous [N], added to every row)
static napi_value jsSgemm(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const long batch = A.integer(0), M = A.integer(1), N = A.integer(2), K = A.integer(3);
  const float* a = A.array<float>(4);
  const long sa[3] = {A.integer(6), A.integer(7), A.integer(8)};
  const float* b = A.array<float>(9);
  const long sb[3] = {A.integer(11), A.integer(12), A.integer(13)};
  float* out = A.array<float>(14);
  const float* bias = A.array<float>(15, true);
  if (!A.ok) return nullptr;
  sgemm(batch, M, N, K, a + A.integer(5), sa, b + A.integer(10), sb, out, bias);
  return nullptr;
}

// unary(op, x, y, n)
static napi_value jsUnary(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const int op = static_cast<int>(A.integer(0));
  const float* x = A.array<float>(1);
  float* y = A.array<float>(2);
  const long n = A.integer(3);
  if (A.ok) unaryKernel(op, x, y, n);
  return nullptr;
}

// uniform(key, out, n): seeded draws in [0, 1)
static napi_value jsUniform(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const uint32_t key = static_cast<uint32_t>(A.integer(0));
  float* out = A.array<float>(1);
  const long n = A.integer(2);
  if (A.ok) uniformKernel(key, out, n);
  return nullptr;
}

// softmaxRows(x, y, rows, n, log)
static napi_value jsSoftmax(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* x = A.array<float>(0);
  float* y = A.array<float>(1);
  const long rows = A.integer(2), n = A.integer(3);
  const bool log = A.num(4) != 0;
  if (A.ok) softmaxRows(x, y, rows, n, log);
  return nullptr;
}

// crossEntropyRows(x, target, loss, lse, rows, n, ignore, smoothing) -> first bad row or -1
static napi_value jsCrossEntropy(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* x = A.array<float>(0);
  const int32_t* t = A.array<int32_t>(1);
  float* loss = A.array<float>(2);
  float* lse = A.array<float>(3);
  const long rows = A.integer(4), n = A.integer(5);
  const int ignore = static_cast<int>(A.integer(6));
  const float smoothing = static_cast<float>(A.num(7));
  if (!A.ok) return nullptr;
  return number(env, static_cast<double>(crossEntropyRows(x, t, loss, lse, rows, n, ignore, smoothing)));
}

// crossEntropyGradRows(x, target, lse, grad, dx, rows, n, ignore, smoothing)
static napi_value jsCrossEntropyGrad(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* x = A.array<float>(0);
  const int32_t* t = A.array<int32_t>(1);
  const float* lse = A.array<float>(2);
  const float* g = A.array<float>(3);
  float* dx = A.array<float>(4);
  const long rows = A.integer(5), n = A.integer(6);
  const int ignore = static_cast<int>(A.integer(7));
  const float smoothing = static_cast<float>(A.num(8));
  if (A.ok) crossEntropyGradRows(x, t, lse, g, dx, rows, n, ignore, smoothing);
  return nullptr;
}

// layerNormRows(x, w|null, b|null, y, mean, rstd, rows, n, eps)
static napi_value jsLayerNorm(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* x = A.array<float>(0);
  const float* w = A.array<float>(1, true);
  const float* b = A.array<float>(2, true);
  float* y = A.array<float>(3);
  float* mean = A.array<float>(4);
  float* rstd = A.array<float>(5);
  const long rows = A.integer(6), n = A.integer(7);
  const float eps = static_cast<float>(A.num(8));
  if (A.ok) layerNormRows(x, w, b, y, mean, rstd, rows, n, eps);
  return nullptr;
}

// layerNormGradRows(g, x, w|null, mean, rstd, dx, dw, db, rows, n)
static napi_value jsLayerNormGrad(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* g = A.array<float>(0);
  const float* x = A.array<float>(1);
  const float* w = A.array<float>(2, true);
  const float* mean = A.array<float>(3);
  const float* rstd = A.array<float>(4);
  float* dx = A.array<float>(5);
  float* dw = A.array<float>(6);
  float* db = A.array<float>(7);
  const long rows = A.integer(8), n = A.integer(9);
  if (A.ok) layerNormGradRows(g, x, w, mean, rstd, dx, dw, db, rows, n);
  return nullptr;
}

// adamw(p, g, m, v, n, keep, beta1, c1, beta2, c2, stepSize, inv2, eps)
static napi_value jsAdamW(napi_env env, napi_callback_info info) {
  Args A(env, info);
  float* p = A.array<float>(0);
  const float* g = A.array<float>(1);
  float* m = A.array<float>(2);
  float* v = A.array<float>(3);
  const long n = A.integer(4);
  float c[8];
  for (int i = 0; i < 8; i++) c[i] = static_cast<float>(A.num(5 + i));
  if (A.ok) adamw(p, g, m, v, n, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
  return nullptr;
}

// attention(meta Float64Array, q, k, v, mask|null, out, weights); meta = [B, H, Tq, Tk, D, Dv, causal, scale,
//   then offset and 4 strides for q, k, v, mask]; weights holds P [B, H, Tq, Tk] then the hidden-row flags [B, H, Tq]
static View4 view4(const float* base, const double* m) {
  return View4{base + static_cast<long>(m[0]), {static_cast<long>(m[1]), static_cast<long>(m[2]), static_cast<long>(m[3]), static_cast<long>(m[4])}};
}

static napi_value jsAttention(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const double* m = A.array<double>(0);
  const float* q = A.array<float>(1);
  const float* k = A.array<float>(2);
  const float* v = A.array<float>(3);
  const float* mask = A.array<float>(4, true);
  float* out = A.array<float>(5);
  float* weights = A.array<float>(6);
  if (!A.ok) return nullptr;
  const View4 mv = mask ? view4(mask, m + 23) : View4{};
  attentionForward(static_cast<long>(m[0]), static_cast<long>(m[1]), static_cast<long>(m[2]), static_cast<long>(m[3]), static_cast<long>(m[4]),
                   static_cast<long>(m[5]), view4(q, m + 8), view4(k, m + 13), view4(v, m + 18), mask ? &mv : nullptr, m[6] != 0,
                   static_cast<float>(m[7]), out, weights, weights + static_cast<long>(m[0] * m[1] * m[2] * m[3]));
  return nullptr;
}

// attentionBackward(meta, dOut, q, k, v, weights, dq, dk, dv); meta as attention's, with dOut's view in the mask's place
static napi_value jsAttentionBackward(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const double* m = A.array<double>(0);
  const float* dO = A.array<float>(1);
  const float* q = A.array<float>(2);
  const float* k = A.array<float>(3);
  const float* v = A.array<float>(4);
  const float* weights = A.array<float>(5);
  float* dq = A.array<float>(6);
  float* dk = A.array<float>(7);
  float* dv = A.array<float>(8);
  if (!A.ok) return nullptr;
  attentionBackward(static_cast<long>(m[0]), static_cast<long>(m[1]), static_cast<long>(m[2]), static_cast<long>(m[3]), static_cast<long>(m[4]),
                    static_cast<long>(m[5]), view4(dO, m + 23), view4(q, m + 8), view4(k, m + 13), view4(v, m + 18), weights,
                    weights + static_cast<long>(m[0] * m[1] * m[2] * m[3]), static_cast<float>(m[7]), dq, dk, dv);
  return nullptr;
}

/** A Walk from meta = [rank, shape..., then offset and rank strides for each of `views` views]. */
static Walk walkFrom(const double* m, int views) {
  Walk w;
  w.rank = static_cast<int>(m[0]);
  w.views = views;
  for (int d = 0; d < w.rank; d++) w.shape[d] = static_cast<long>(m[1 + d]);
  const double* v = m + 1 + w.rank;
  for (int k = 0; k < views; k++, v += 1 + w.rank) {
    w.offset[k] = static_cast<long>(v[0]);
    for (int d = 0; d < w.rank; d++) w.strides[k][d] = static_cast<long>(v[1 + d]);
  }
  return w;
}

// binary(op, meta, out, a, b) -> whether the op has a native kernel
static napi_value jsBinary(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const int op = static_cast<int>(A.integer(0));
  const double* m = A.array<double>(1);
  float* out = A.array<float>(2);
  const float* a = A.array<float>(3);
  const float* b = A.array<float>(4);
  if (!A.ok) return nullptr;
  napi_value r;
  napi_get_boolean(env, binaryKernel(op, walkFrom(m, 3), out, a, b), &r);
  return r;
}

// where(meta, out, cond, condIsInt, a, b)
static napi_value jsWhere(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const double* m = A.array<double>(0);
  float* out = A.array<float>(1);
  const void* cond = A.array<void>(2);
  const bool isInt = A.num(3) != 0;
  const float* a = A.array<float>(4);
  const float* b = A.array<float>(5);
  if (!A.ok) return nullptr;
  const Walk w = walkFrom(m, 4);
  if (isInt) whereKernel(w, out, static_cast<const int32_t*>(cond), a, b);
  else whereKernel(w, out, static_cast<const float*>(cond), a, b);
  return nullptr;
}

// copy(meta, out, x): 4-byte elements, both views strided
static napi_value jsCopy(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const double* m = A.array<double>(0);
  uint32_t* out = A.array<uint32_t>(1);
  const uint32_t* x = A.array<uint32_t>(2);
  if (A.ok) copyKernel(walkFrom(m, 2), out, x);
  return nullptr;
}

// reduceBlock(op 0 sum | 1 max | 2 min, x, out, outer, red, inner)
static napi_value jsReduceBlock(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const int op = static_cast<int>(A.integer(0));
  const float* x = A.array<float>(1);
  float* out = A.array<float>(2);
  const long outer = A.integer(3), red = A.integer(4), inner = A.integer(5);
  if (A.ok) reduceBlock(op, x, out, outer, red, inner);
  return nullptr;
}

// lstm(meta [B, T, H], xw, w, bias|null, h0, c0, mask|null, out, acts, cNew, hPrev, cPrev)
static napi_value jsLstm(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const double* m = A.array<double>(0);
  const float* xw = A.array<float>(1);
  const float* w = A.array<float>(2);
  const float* bias = A.array<float>(3, true);
  const float* h0 = A.array<float>(4);
  const float* c0 = A.array<float>(5);
  const float* mask = A.array<float>(6, true);
  float* out = A.array<float>(7);
  float* acts = A.array<float>(8);
  float* cNew = A.array<float>(9);
  float* hPrev = A.array<float>(10);
  float* cPrev = A.array<float>(11);
  if (A.ok) lstmForward(static_cast<long>(m[0]), static_cast<long>(m[1]), static_cast<long>(m[2]), xw, w, bias, h0, c0, mask, out, acts, cNew, hPrev, cPrev);
  return nullptr;
}

// lstmBackward(meta [B, T, H], grad, w, mask|null, acts, cNew, hPrev, cPrev, dxw, dw, db|null, dh0, dc0)
static napi_value jsLstmBackward(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const double* m = A.array<double>(0);
  const float* grad = A.array<float>(1);
  const float* w = A.array<float>(2);
  const float* mask = A.array<float>(3, true);
  const float* acts = A.array<float>(4);
  const float* cNew = A.array<float>(5);
  const float* hPrev = A.array<float>(6);
  const float* cPrev = A.array<float>(7);
  float* dxw = A.array<float>(8);
  float* dw = A.array<float>(9);
  float* db = A.array<float>(10, true);
  float* dh0 = A.array<float>(11);
  float* dc0 = A.array<float>(12);
  if (A.ok)
    lstmBackward(static_cast<long>(m[0]), static_cast<long>(m[1]), static_cast<long>(m[2]), grad, w, mask, acts, cNew, hPrev, cPrev, dxw, dw, db, dh0, dc0);
  return nullptr;
}

// lstmp(meta [B, T, H, P, cellClip, projClip], xw, w, bias|null, wr, r0, c0, mask|null, out, acts, cRaw, hNew, rPrev, cPrev, rRaw|null)
// (an infinite clip bound is no clip; rRaw is needed with a projection clip)
static napi_value jsLstmp(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const double* m = A.array<double>(0);
  const float* xw = A.array<float>(1);
  const float* w = A.array<float>(2);
  const float* bias = A.array<float>(3, true);
  const float* wr = A.array<float>(4);
  const float* r0 = A.array<float>(5);
  const float* c0 = A.array<float>(6);
  const float* mask = A.array<float>(7, true);
  float* out = A.array<float>(8);
  float* acts = A.array<float>(9);
  float* cRaw = A.array<float>(10);
  float* hNew = A.array<float>(11);
  float* rPrev = A.array<float>(12);
  float* cPrev = A.array<float>(13);
  float* rRaw = A.array<float>(14, true);
  if (!A.ok) return nullptr;
  const Clip clip{static_cast<float>(m[4]), static_cast<float>(m[5])};
  // (an empty typed array may come without a data pointer)
  if (clip.clipsProj() && !rRaw && m[0] * m[1] * m[3] > 0) {
    A.fail("pretrain native kernels: lstmp needs rRaw with a projection clip");
    return nullptr;
  }
  lstmpForward(static_cast<long>(m[0]), static_cast<long>(m[1]), static_cast<long>(m[2]), static_cast<long>(m[3]), xw, w, bias, wr, r0, c0, mask, clip, out,
               acts, cRaw, hNew, rPrev, cPrev, clip.clipsProj() ? rRaw : nullptr);
  return nullptr;
}

// lstmpBackward(meta as lstmp's, grad, w, wr, mask|null, acts, cRaw, hNew, rPrev, cPrev, rRaw|null, dxw, dw, db|null, dwr, dr0, dc0)
static napi_value jsLstmpBackward(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const double* m = A.array<double>(0);
  const float* grad = A.array<float>(1);
  const float* w = A.array<float>(2);
  const float* wr = A.array<float>(3);
  const float* mask = A.array<float>(4, true);
  const float* acts = A.array<float>(5);
  const float* cRaw = A.array<float>(6);
  const float* hNew = A.array<float>(7);
  const float* rPrev = A.array<float>(8);
  const float* cPrev = A.array<float>(9);
  const float* rRaw = A.array<float>(10, true);
  float* dxw = A.array<float>(11);
  float* dw = A.array<float>(12);
  float* db = A.array<float>(13, true);
  float* dwr = A.array<float>(14);
  float* dr0 = A.array<float>(15);
  float* dc0 = A.array<float>(16);
  if (!A.ok) return nullptr;
  const Clip clip{static_cast<float>(m[4]), static_cast<float>(m[5])};
  if (clip.clipsProj() && !rRaw && m[0] * m[1] * m[3] > 0) {
    A.fail("pretrain native kernels: lstmpBackward needs rRaw with a projection clip");
    return nullptr;
  }
  lstmpBackward(static_cast<long>(m[0]), static_cast<long>(m[1]), static_cast<long>(m[2]), static_cast<long>(m[3]), grad, w, wr, mask, clip, acts, cRaw, hNew,
                rPrev, cPrev, rRaw, dxw, dw, db, dwr, dr0, dc0);
  return nullptr;
}

// scatterRows(out, rows, D, idx, idxOffset, idxStride, N, src) -> first bad position or -1
static napi_value jsScatterRows(napi_env env, napi_callback_info info) {
  Args A(env, info);
  float* out = A.array<float>(0);
  const long rows = A.integer(1), D = A.integer(2);
  const int32_t* idx = A.array<int32_t>(3);
  const long off = A.integer(4), stride = A.integer(5), N = A.integer(6);
  const float* src = A.array<float>(7);
  if (!A.ok) return nullptr;
  return number(env, static_cast<double>(scatterRows(out, rows, D, idx + off, stride, N, src)));
}

// im2col(x, N, C, H, W, window, cols) with window = Float64Array [kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo]
static napi_value jsIm2col(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* x = A.array<float>(0);
  const long N = A.integer(1), C = A.integer(2), H = A.integer(3), W = A.integer(4);
  const double* m = A.array<double>(5);
  float* cols = A.array<float>(6);
  if (A.ok) im2col(x, N, C, H, W, Window(m), cols);
  return nullptr;
}

// im2row(x, N, C, H, W, window, rows)
static napi_value jsIm2row(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* x = A.array<float>(0);
  const long N = A.integer(1), C = A.integer(2), H = A.integer(3), W = A.integer(4);
  const double* m = A.array<double>(5);
  float* rows = A.array<float>(6);
  if (A.ok) im2row(x, N, C, H, W, Window(m), rows);
  return nullptr;
}

// col2im(cols, N, C, H, W, window, dx)
static napi_value jsCol2im(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* cols = A.array<float>(0);
  const long N = A.integer(1), C = A.integer(2), H = A.integer(3), W = A.integer(4);
  const double* m = A.array<double>(5);
  float* dx = A.array<float>(6);
  if (A.ok) col2im(cols, N, C, H, W, Window(m), dx);
  return nullptr;
}

// pool2d(kind 0 max | 1 avg, x, planes, H, W, window, y, argmax|null)
static napi_value jsPool2d(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const int kind = static_cast<int>(A.integer(0));
  const float* x = A.array<float>(1);
  const long planes = A.integer(2), H = A.integer(3), W = A.integer(4);
  const double* m = A.array<double>(5);
  float* y = A.array<float>(6);
  int32_t* argmax = A.array<int32_t>(7, true);
  if (A.ok && (kind != 0 || argmax)) pool2d(kind, x, planes, H, W, Window(m), y, argmax);
  return nullptr;
}

// pool2dBackward(kind, g, planes, H, W, window, argmax|null, dx)
static napi_value jsPool2dBackward(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const int kind = static_cast<int>(A.integer(0));
  const float* g = A.array<float>(1);
  const long planes = A.integer(2), H = A.integer(3), W = A.integer(4);
  const double* m = A.array<double>(5);
  const int32_t* argmax = A.array<int32_t>(6, true);
  float* dx = A.array<float>(7);
  if (A.ok && (kind != 0 || argmax)) pool2dBackward(kind, g, planes, H, W, Window(m), argmax, dx);
  return nullptr;
}

// batchNorm(x, N, C, L, w|null, b|null, eps, y, mean, var)
static napi_value jsBatchNorm(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* x = A.array<float>(0);
  const long N = A.integer(1), C = A.integer(2), L = A.integer(3);
  const float* w = A.array<float>(4, true);
  const float* b = A.array<float>(5, true);
  const float eps = static_cast<float>(A.num(6));
  float* y = A.array<float>(7);
  float* mean = A.array<float>(8);
  float* var = A.array<float>(9);
  if (A.ok) batchNorm(x, N, C, L, w, b, eps, y, mean, var);
  return nullptr;
}

// batchNormBackward(g, x, N, C, L, w|null, mean, var, eps, dx, dw, db)
static napi_value jsBatchNormBackward(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* g = A.array<float>(0);
  const float* x = A.array<float>(1);
  const long N = A.integer(2), C = A.integer(3), L = A.integer(4);
  const float* w = A.array<float>(5, true);
  const float* mean = A.array<float>(6);
  const float* var = A.array<float>(7);
  const float eps = static_cast<float>(A.num(8));
  float* dx = A.array<float>(9);
  float* dw = A.array<float>(10);
  float* db = A.array<float>(11);
  if (A.ok) batchNormBackward(g, x, N, C, L, w, mean, var, eps, dx, dw, db);
  return nullptr;
}

// conv2d(x, N, C, H, W, weight, O, bias|null, window, y): one group (native/conv.h)
static napi_value jsConv2d(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* x = A.array<float>(0);
  const long N = A.integer(1), C = A.integer(2), H = A.integer(3), W = A.integer(4);
  const float* weight = A.array<float>(5);
  const long O = A.integer(6);
  const float* bias = A.array<float>(7, true);
  const double* m = A.array<double>(8);
  float* y = A.array<float>(9);
  if (A.ok) conv::forward(x, N, C, H, W, weight, O, bias, Window(m), y);
  return nullptr;
}

// conv2dBackward(g, x, weight, N, C, H, W, O, window, dx|null, dweight|null, dbias|null): one group
static napi_value jsConv2dBackward(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* g = A.array<float>(0);
  const float* x = A.array<float>(1);
  const float* weight = A.array<float>(2);
  const long N = A.integer(3), C = A.integer(4), H = A.integer(5), W = A.integer(6), O = A.integer(7);
  const double* m = A.array<double>(8);
  float* dx = A.array<float>(9, true);
  float* dw = A.array<float>(10, true);
  float* db = A.array<float>(11, true);
  if (!A.ok) return nullptr;
  conv::backward(g, x, weight, N, C, H, W, O, Window(m), dx, dw, db);
  return nullptr;
}

// batchNormRelu(x, N, C, L, w|null, b|null, eps, y, mean, var, residual|null): y = relu(batch norm + residual)
static napi_value jsBatchNormRelu(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* x = A.array<float>(0);
  const long N = A.integer(1), C = A.integer(2), L = A.integer(3);
  const float* w = A.array<float>(4, true);
  const float* b = A.array<float>(5, true);
  const float eps = static_cast<float>(A.num(6));
  float* y = A.array<float>(7);
  float* mean = A.array<float>(8);
  float* var = A.array<float>(9);
  const float* res = A.array<float>(10, true);
  if (A.ok) batchNorm(x, N, C, L, w, b, eps, y, mean, var, res, true);
  return nullptr;
}

// batchNormReluBackward(g, x, y, N, C, L, w|null, mean, var, eps, dx, dw, db, dres|null)
static napi_value jsBatchNormReluBackward(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* g = A.array<float>(0);
  const float* x = A.array<float>(1);
  const float* y = A.array<float>(2);
  const long N = A.integer(3), C = A.integer(4), L = A.integer(5);
  const float* w = A.array<float>(6, true);
  const float* mean = A.array<float>(7);
  const float* var = A.array<float>(8);
  const float eps = static_cast<float>(A.num(9));
  float* dx = A.array<float>(10);
  float* dw = A.array<float>(11);
  float* db = A.array<float>(12);
  float* dres = A.array<float>(13, true);
  if (A.ok) batchNormBackward(g, x, N, C, L, w, mean, var, eps, dx, dw, db, y, dres);
  return nullptr;
}

// swapBlocks(src, A, B, P, bias|null, dst, sums|null)
static napi_value jsSwapBlocks(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const float* src = A.array<float>(0);
  const long a = A.integer(1), b = A.integer(2), P = A.integer(3);
  const float* bias = A.array<float>(4, true);
  float* dst = A.array<float>(5);
  float* sums = A.array<float>(6, true);
  if (A.ok) swapBlocks(src, a, b, P, bias, dst, sums);
  return nullptr;
}

// setThreads(n): the pool's size (the first call decides; later calls return the size in use)
static napi_value jsSetThreads(napi_env env, napi_callback_info info) {
  Args A(env, info);
  const long n = A.integer(0);
  if (!A.ok) return nullptr;
  {
    std::lock_guard<std::mutex> lk(poolInit);
    if (!pool) pool = new Pool(static_cast<int>(std::max(1L, n)));
  }
  return number(env, threads().size());
}

static napi_value jsInfo(napi_env env, napi_callback_info) {
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "vectorBits", number(env, VL * 32));
  napi_set_named_property(env, o, "tile", number(env, MR * 1000 + NR));
  return o;
}

NAPI_MODULE_INIT() {
#if defined(__GLIBC__)
  {
    // Outputs are fresh ArrayBuffers that V8 frees only at a garbage collection. glibc serves blocks above its mmap
    // threshold with fresh mappings, whose every page then faults on first write (~15% of a 1024³ GEMM); from the
    // heap instead, a block freed by the last collection is reused as it is.
    static std::once_flag once;
    std::call_once(once, [] {
      mallopt(M_MMAP_THRESHOLD, 256 << 20);
      mallopt(M_TRIM_THRESHOLD, 512 << 20);
    });
  }
#endif
  const napi_property_descriptor fns[] = {
      {"sgemm", nullptr, jsSgemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, jsUnary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"uniform", nullptr, jsUniform, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmaxRows", nullptr, jsSoftmax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossEntropyRows", nullptr, jsCrossEntropy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossEntropyGradRows", nullptr, jsCrossEntropyGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"layerNormRows", nullptr, jsLayerNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"layerNormGradRows", nullptr, jsLayerNormGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamw", nullptr, jsAdamW, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attention", nullptr, jsAttention, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attentionBackward", nullptr, jsAttentionBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, jsBinary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"where", nullptr, jsWhere, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copy", nullptr, jsCopy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceBlock", nullptr, jsReduceBlock, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstm", nullptr, jsLstm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmBackward", nullptr, jsLstmBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmp", nullptr, jsLstmp, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmpBackward", nullptr, jsLstmpBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"scatterRows", nullptr, jsScatterRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"im2col", nullptr, jsIm2col, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"im2row", nullptr, jsIm2row, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"col2im", nullptr, jsCol2im, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pool2d", nullptr, jsPool2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pool2dBackward", nullptr, jsPool2dBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, jsBatchNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, jsBatchNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"swapBlocks", nullptr, jsSwapBlocks, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormRelu", nullptr, jsBatchNormRelu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormReluBackward", nullptr, jsBatchNormReluBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2d", nullptr, jsConv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackward", nullptr, jsConv2dBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, jsSetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, jsInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
  return exports;
}
