//===- CudaEntryPoints.h - a CUDA library's wrapper functions ---*- C++ -*-===//
//
// Internal to libFLTRuntime. A library compiled with --target=cuda carries
// the mgpu* wrappers of lib/Runtime/cuda; the runtime uses the same ones
// (looked up with dlsym) to copy buffers and time kernels, so it never
// links or loads the CUDA driver itself.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_LIB_RUNTIME_CUDAENTRYPOINTS_H
#define FLT_LIB_RUNTIME_CUDAENTRYPOINTS_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace flt {

struct CudaEntryPoints {
  int (*initialize)();
  const char *(*error)();
  void (*clearError)();
  void *(*memAlloc)(uint64_t bytes, void *stream, bool hostShared);
  void (*memFree)(void *pointer, void *stream);
  void (*copy)(void *dst, const void *src, size_t bytes, void *stream,
               int wait);
  void *(*eventCreate)();
  void (*eventRecord)(void *event, void *stream);
  void (*eventSynchronize)(void *event);
  void (*eventDestroy)(void *event);
  float (*elapsedMs)(void *start, void *stop);

  /// Resolves every entry point in `handle`; false (with `missing` set to
  /// the first absent symbol) when the library lacks one.
  bool resolve(void *handle, std::string &missing);
};

} // namespace flt

#endif // FLT_LIB_RUNTIME_CUDAENTRYPOINTS_H
