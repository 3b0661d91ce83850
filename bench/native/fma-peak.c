// The machine's FMA peak, the ceiling MFU is measured against: each thread runs ACC independent chains of
// vector fused multiply-adds (enough to cover the FMA latency on every FMA port) for a fixed number of rounds,
// entirely in registers, and the best of 5 runs is reported as GFLOP/s (2 FLOPs per lane per FMA).
//   cc -O2 -march=native -pthread fma-peak.c -o fma-peak && ./fma-peak THREADS
// Built and run by bench/fma-peak.ts; it is a measuring tool, not part of the library.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#define VL 16
#elif defined(__AVX__)
#define VL 8
#else
#define VL 4
#endif
typedef float vf __attribute__((vector_size(VL * 4)));

static const long ROUNDS = 20000000;

// 24 named accumulators (an array was kept in memory by GCC): 4-cycle latency x 2 FMA ports needs 8 chains; more
// hide the loop's own overhead. Without -ffast-math the compiler may not merge or reorder the chains.
#define ACC 24
#define EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#define DECLARE(j) vf acc##j = m * (float)(j + 1);
#define STEP(j) acc##j = acc##j * m + a;
#define SUM(j) s += acc##j[0];

static void* run(void* out) {
  vf m, a;
  for (int i = 0; i < VL; i++) { m[i] = 0.999999f; a[i] = 1e-7f * (float)i; }
  EACH(DECLARE)
  for (long r = 0; r < ROUNDS; r++) { EACH(STEP) }
  float s = 0;
  EACH(SUM)
  *(float*)out = s;
  return NULL;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 1;
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    pthread_t tid[64];
    float sink[64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int t = 0; t < threads; t++) pthread_create(&tid[t], NULL, run, &sink[t]);
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double sec = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    const double gflops = 2.0 * VL * ACC * ROUNDS * threads / sec / 1e9;
    if (gflops > best) best = gflops;
    if (sink[0] == 12345.678f) puts("");  // the sums are used
  }
  printf("{\"threads\": %d, \"vector_floats\": %d, \"gflops\": %.1f}\n", threads, VL, best);
  return 0;
}
