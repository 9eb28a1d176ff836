// The C API on hostile arguments: null pointers, bad indices, element codes,
// ranks and sizes (negative, overflowing), missing data, thread counts out
// of range, device calls on a CPU library — each a status and a message,
// never a crash; the status tells inputs that do not fit
// (FLT_INVALID_INPUT = 2) from failures (FLT_ERROR = 1). A good call still
// works afterwards.
// RUN: split-file %s %t
// RUN: flt-compile %t/module.mlir -o %t/module.so
// RUN: %cc %t/main.c -I%flt_include -L%flt_libdir -lFLTRuntime -Wl,-rpath,%flt_libdir -o %t/main
// RUN: %t/main %t/module.so | FileCheck %s

// CHECK: null path: no library path
// CHECK: null library: 2 no library
// CHECK: function -1: 2 no function #-1
// CHECK: function 99: 2 no function #99
// CHECK: null inputs: 2 invalid inputs pointer or count
// CHECK: negative count: 2 invalid inputs pointer or count
// CHECK: null outputs: 2 no outputs pointer
// CHECK: element 42: 2 input #0 has an unknown element type code 42
// CHECK: rank -1: 2 input #0 has rank -1 (0 to 64)
// CHECK: rank 1000: 2 input #0 has rank 1000 (0 to 64)
// CHECK: null shape: 2 input #0 has no shape
// CHECK: negative size: 2 input #0: size -3 in shape (1, 2, -3, 4) is negative
// CHECK: overflow: 2 input #0: shape [1, 2, 4611686018427387904, 4] of f32 is too large (more than 2^62 bytes)
// CHECK: null data: 2 input #0 has no data
// CHECK: validate without data: 0
// CHECK: 100000 threads: 2 the thread count must be between 1 and 1024, got 100000
// CHECK: 0 threads: 2 the thread count must be between 1 and 1024, got 0
// CHECK: max threads 1024
// CHECK: to device on a CPU library: 1 '{{.*}}' was compiled for cpu, not for CUDA (--target=cuda)
// CHECK: time 0 calls: 2 the number of timed calls must be between 1 and 1000000, got 0
// CHECK: argument type 5: 1
// CHECK: constraint 7: (null)
// CHECK: good call: 0 out[5] = 4.5

//--- module.mlir
func.func @relu(%x: tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32> {
  %f = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return %f : tensor<1x2x?x4xf32>
}

//--- main.c
#include "flt-c/Runtime.h"

#include <stdio.h>
#include <stdlib.h>

// On success `error` is left alone: clear it after each report.
static void report(const char *what, FltStatus status, char **error) {
  printf("%s: %d %s\n", what, (int)status, status == FLT_OK ? "" : *error);
  if (status != FLT_OK)
    fltFreeString(*error);
  *error = NULL;
}

int main(int argc, char **argv) {
  char *error = NULL;
  if (!fltLoadLibrary(NULL, &error))
    printf("null path: %s\n", error);
  fltFreeString(error);
  FltLibrary *library = fltLoadLibrary(argv[1], &error);
  if (!library) {
    printf("load failed: %s\n", &error);
    return 1;
  }
  int64_t relu = fltFindFunction(library, "relu");
  float data[24];
  for (int i = 0; i < 24; ++i)
    data[i] = (float)i - 0.5f;
  int64_t shape[4] = {1, 2, 3, 4};
  FltTensor good = {FLT_F32, 4, shape, data};
  FltTensor *outputs = NULL;

  report("null library", fltCall(NULL, 0, &good, 1, &outputs, &error), &error);
  report("function -1", fltCall(library, -1, &good, 1, &outputs, &error),
         &error);
  report("function 99", fltCall(library, 99, &good, 1, &outputs, &error),
         &error);
  report("null inputs", fltCall(library, relu, NULL, 1, &outputs, &error),
         &error);
  report("negative count", fltCall(library, relu, &good, -1, &outputs, &error),
         &error);
  report("null outputs", fltCall(library, relu, &good, 1, NULL, &error),
         &error);
  FltTensor bad = good;
  bad.element = (FltElementType)42;
  report("element 42", fltCall(library, relu, &bad, 1, &outputs, &error),
         &error);
  bad = good;
  bad.rank = -1;
  report("rank -1", fltCall(library, relu, &bad, 1, &outputs, &error), &error);
  bad.rank = 1000;
  report("rank 1000", fltCall(library, relu, &bad, 1, &outputs, &error),
         &error);
  bad = good;
  bad.shape = NULL;
  report("null shape", fltCall(library, relu, &bad, 1, &outputs, &error),
         &error);
  int64_t negative[4] = {1, 2, -3, 4};
  bad = good;
  bad.shape = negative;
  report("negative size", fltCall(library, relu, &bad, 1, &outputs, &error),
         &error);
  int64_t huge[4] = {1, 2, (int64_t)1 << 62, 4};
  bad.shape = huge;
  report("overflow", fltCall(library, relu, &bad, 1, &outputs, &error), &error);
  bad = good;
  bad.data = NULL;
  report("null data", fltCall(library, relu, &bad, 1, &outputs, &error),
         &error);
  report("validate without data",
         fltValidate(library, relu, &bad, 1, &error), &error);
  report("100000 threads", fltSetNumThreads(library, 100000, &error), &error);
  report("0 threads", fltSetNumThreads(library, 0, &error), &error);
  printf("max threads %lld\n", (long long)fltMaxThreads());
  void *device = NULL;
  report("to device on a CPU library",
         fltToDevice(library, &good, &device, &error), &error);
  double times[1];
  report("time 0 calls",
         fltTimeDevice(library, relu, &good, 1, 0, times, &error), &error);
  printf("argument type 5: %d\n",
         (int)fltArgumentType(library, relu, 5, NULL, NULL, NULL));
  printf("constraint 7: %s\n", fltConstraint(library, relu, 7)
                                   ? fltConstraint(library, relu, 7)
                                   : "(null)");
  fltFreeTensors(NULL, 3);
  fltFreeString(NULL);
  fltFreeDevice(library, NULL);
  fltUnloadLibrary(NULL);

  FltStatus status = fltCall(library, relu, &good, 1, &outputs, &error);
  printf("good call: %d out[5] = %g\n", (int)status,
         status == FLT_OK ? ((float *)outputs[0].data)[5] : -1.0f);
  if (status == FLT_OK)
    fltFreeTensors(outputs, fltNumResults(library, relu));
  fltUnloadLibrary(library);
  return 0;
}
