/* Calls the compiled layer through the C API and compares it with causal
 * linear attention with elu + 1 features evaluated here in double. */
#include "flt-c/Runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { H = 2, L = 37, D = 8, E = 4 };

static double elu1(double x) { return x > 0 ? x + 1.0 : exp(x); }

int main(int argc, char **argv) {
  char *error = NULL;
  FltLibrary *library = fltLoadLibrary(argv[1], &error);
  if (!library) {
    printf("load failed: %s\n", error);
    return 1;
  }
  static float q[H * L * D], k[H * L * D], v[H * L * E];
  unsigned seed = 1;
  for (int i = 0; i < H * L * D; ++i) {
    seed = seed * 1103515245u + 12345u;
    q[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
    seed = seed * 1103515245u + 12345u;
    k[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
  }
  for (int i = 0; i < H * L * E; ++i) {
    seed = seed * 1103515245u + 12345u;
    v[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
  }
  int64_t qkShape[4] = {1, H, L, D}, vShape[4] = {1, H, L, E};
  FltTensor inputs[3] = {{FLT_F32, 4, qkShape, q},
                         {FLT_F32, 4, qkShape, k},
                         {FLT_F32, 4, vShape, v}};
  FltTensor *outputs = NULL;
  int64_t layer = fltFindFunction(library, "layer");
  if (fltCall(library, layer, inputs, 3, &outputs, &error) != FLT_OK) {
    printf("call failed: %s\n", error);
    return 1;
  }
  const float *out = (const float *)outputs[0].data;
  double worst = 0.0;
  for (int h = 0; h < H; ++h)
    for (int i = 0; i < L; ++i) {
      double num[E] = {0}, den = 0.0;
      for (int j = 0; j <= i; ++j) {
        double s = 0.0;
        for (int d = 0; d < D; ++d)
          s += elu1(q[(h * L + i) * D + d]) * elu1(k[(h * L + j) * D + d]);
        den += s;
        for (int e = 0; e < E; ++e)
          num[e] += s * v[(h * L + j) * E + e];
      }
      for (int e = 0; e < E; ++e) {
        double ref = num[e] / (den + 1e-6);
        double diff = fabs(ref - out[(h * L + i) * E + e]);
        if (diff > worst)
          worst = diff;
      }
    }
  printf("downstream: [%lld, %lld, %lld, %lld] max |out - ref| = %.2e: %s\n",
         (long long)outputs[0].shape[0], (long long)outputs[0].shape[1],
         (long long)outputs[0].shape[2], (long long)outputs[0].shape[3],
         worst, worst < 1e-5 ? "ok" : "WRONG");
  fltFreeTensors(outputs, 1);
  fltUnloadLibrary(library);
  return worst < 1e-5 ? 0 : 1;
}
