/* Measures one core's fp32 FMA peak: independent accumulator chains of the
 * widest vector the compiler targets (-march=native), enough of them to
 * cover the FMA latency on both pipes. Prints GFLOP/s (an FMA counts 2). */
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif

typedef float vec __attribute__((vector_size(LANES * 4)));
#define CHAINS 12

int main(void) {
  vec acc[CHAINS], a, b;
  for (int i = 0; i < LANES; ++i) {
    a[i] = 1.0f + 1e-7f * i;
    b[i] = 1e-7f;
  }
  for (int c = 0; c < CHAINS; ++c)
    acc[c] = a * (float)c;
  long iterations = 200000000L / LANES;
  struct timespec start, stop;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < iterations; ++i) {
#pragma clang loop unroll(full)
    for (int c = 0; c < CHAINS; ++c)
      acc[c] = acc[c] * a + b;
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[CHAINS - 1]));
  }
  clock_gettime(CLOCK_MONOTONIC, &stop);
  double seconds =
      (stop.tv_sec - start.tv_sec) + 1e-9 * (stop.tv_nsec - start.tv_nsec);
  float sink = 0;
  for (int c = 0; c < CHAINS; ++c)
    for (int i = 0; i < LANES; ++i)
      sink += acc[c][i];
  printf("%.2f %d %g\n", 2.0 * CHAINS * LANES * iterations / seconds / 1e9,
         LANES, sink);
  return 0;
}
