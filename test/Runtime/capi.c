// The C API of libFLTRuntime from a C program: load, list functions and
// signatures, call on host buffers, free results; errors come back as
// messages, never as crashes.
// RUN: split-file %s %t
// RUN: flt-compile %t/module.mlir -o %t/module.so
// RUN: %cc %t/main.c -I%flt_include -L%flt_libdir -lFLTRuntime -Wl,-rpath,%flt_libdir -o %t/main
// RUN: %t/main %t/module.so | FileCheck %s

// CHECK: target cpu, 1 function(s), runtime 0.1.0
// CHECK: relu: 1 argument(s), 1 result(s)
// CHECK: arg 0: element 0 rank 4 sizes 1 2 -1 4
// CHECK: call ok: 1 x 2 x 3 x 4, out[0] = 0, out[5] = 4.5
// CHECK: wrong rank: input #0 of 'relu' must have rank 4
// CHECK: disagreeing size: input #0 of 'relu' must have shape f32 [1, 2, ?, 4]
// CHECK: bad function: no function #7
// CHECK: missing library: cannot open library
// CHECK: threads: ok

//--- module.mlir
func.func @relu(%x: tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32> {
  %f = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return %f : tensor<1x2x?x4xf32>
}

//--- main.c
#include "flt-c/Runtime.h"

#include <stdio.h>
#include <stdlib.h>

static void report(const char *what, FltStatus status, char *error) {
  printf("%s: %s\n", what, status == FLT_OK ? "ok" : error);
  fltFreeString(error);
}

int main(int argc, char **argv) {
  char *error = NULL;
  FltLibrary *library = fltLoadLibrary(argv[1], &error);
  if (!library) {
    printf("load failed: %s\n", error);
    return 1;
  }
  printf("target %s, %lld function(s), runtime %s\n", fltLibraryTarget(library),
         (long long)fltNumFunctions(library), fltRuntimeVersion());
  int64_t relu = fltFindFunction(library, "relu");
  printf("%s: %lld argument(s), %lld result(s)\n", fltFunctionName(library, relu),
         (long long)fltNumArguments(library, relu),
         (long long)fltNumResults(library, relu));
  FltElementType element;
  int64_t rank;
  const int64_t *sizes;
  fltArgumentType(library, relu, 0, &element, &rank, &sizes);
  printf("arg 0: element %d rank %lld sizes", (int)element, (long long)rank);
  for (int64_t i = 0; i < rank; ++i)
    printf(" %lld", (long long)sizes[i]);
  printf("\n");

  float data[24];
  for (int i = 0; i < 24; ++i)
    data[i] = (float)i - 0.5f;
  int64_t shape[4] = {1, 2, 3, 4};
  FltTensor input = {FLT_F32, 4, shape, data};
  FltTensor *outputs = NULL;
  if (fltCall(library, relu, &input, 1, &outputs, &error) == FLT_OK) {
    float *out = (float *)outputs[0].data;
    printf("call ok: %lld x %lld x %lld x %lld, out[0] = %g, out[5] = %g\n",
           (long long)outputs[0].shape[0], (long long)outputs[0].shape[1],
           (long long)outputs[0].shape[2], (long long)outputs[0].shape[3],
           out[0], out[5]);
    fltFreeTensors(outputs, fltNumResults(library, relu));
  } else {
    report("call", FLT_ERROR, error);
  }

  FltTensor flat = {FLT_F32, 1, shape + 3, data};
  report("wrong rank", fltCall(library, relu, &flat, 1, &outputs, &error),
         error);
  int64_t other[4] = {1, 3, 2, 4};
  FltTensor wrong = {FLT_F32, 4, other, data};
  report("disagreeing size", fltCall(library, relu, &wrong, 1, &outputs,
                                     &error), error);
  report("bad function", fltCall(library, 7, &input, 1, &outputs, &error),
         error);
  FltLibrary *missing = fltLoadLibrary("/nonexistent/x.so", &error);
  printf("missing library: %s\n", missing ? "loaded?" : error);
  fltFreeString(error);
  error = NULL;
  report("threads", fltSetNumThreads(library, 1, &error), error);
  fltUnloadLibrary(library);
  return 0;
}
