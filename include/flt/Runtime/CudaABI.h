//===- CudaABI.h - host/device ABI of --target=cuda libraries --*- C++ -*-===//
//
// A library compiled with --target=cuda carries the mgpu* and fltCuda*
// wrappers of lib/Runtime/CUDA/CudaRuntimeWrappers.cpp over the CUDA driver
// API. libFLTRuntime never links or loads the driver itself: it calls the
// wrappers inside the library it loaded (to copy buffers and time kernels),
// looked up by name. This header is that contract, once: the wrappers'
// definitions are checked against the declarations below by the compiler,
// and the runtime resolves exactly these names (CudaEntryPoints).
//
// Handles (streams, events) are opaque pointers; device pointers are void *.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_RUNTIME_CUDAABI_H
#define FLT_RUNTIME_CUDAABI_H

#include <cstddef>
#include <cstdint>
#include <string>

/// FLT_CUDA_ENTRY_POINTS(X) calls X(FIELD, SYMBOL, RETURN, PARAMETERS) for
/// every wrapper the runtime calls.
#define FLT_CUDA_ENTRY_POINTS(X)                                               \
  /* Sets up the driver and context; 0 on success. */                          \
  X(initialize, fltCudaInitialize, int, ())                                    \
  /* The first error since the last fltCudaClearError, or "". */               \
  X(error, fltCudaError, const char *, ())                                     \
  X(clearError, fltCudaClearError, void, ())                                   \
  X(memAlloc, mgpuMemAlloc, void *,                                            \
    (uint64_t bytes, void *stream, bool hostShared))                           \
  X(memFree, mgpuMemFree, void, (void *pointer, void *stream))                 \
  /* Any direction, ordered on `stream`; synchronous when `wait` is set. */    \
  X(copy, fltCudaCopy, void,                                                   \
    (void *dst, const void *src, size_t bytes, void *stream, int wait))        \
  X(eventCreate, mgpuEventCreate, void *, ())                                  \
  X(eventRecord, mgpuEventRecord, void, (void *event, void *stream))           \
  X(eventSynchronize, mgpuEventSynchronize, void, (void *event))               \
  X(eventDestroy, mgpuEventDestroy, void, (void *event))                       \
  /* Milliseconds between two recorded events (after both completed). */       \
  X(elapsedMs, fltCudaEventElapsedMs, float, (void *start, void *stop))

extern "C" {
#define FLT_DECLARE_CUDA_ENTRY_POINT(FIELD, SYMBOL, RETURN, PARAMETERS)        \
  RETURN SYMBOL PARAMETERS;
FLT_CUDA_ENTRY_POINTS(FLT_DECLARE_CUDA_ENTRY_POINT)
#undef FLT_DECLARE_CUDA_ENTRY_POINT
}

namespace flt {

/// The wrappers of one loaded library, resolved by their ABI names.
struct CudaEntryPoints {
#define FLT_CUDA_ENTRY_POINT_FIELD(FIELD, SYMBOL, RETURN, PARAMETERS)          \
  RETURN(*FIELD) PARAMETERS = nullptr;
  FLT_CUDA_ENTRY_POINTS(FLT_CUDA_ENTRY_POINT_FIELD)
#undef FLT_CUDA_ENTRY_POINT_FIELD

  /// Resolves every entry point in `handle` (a dlopen handle); false, with
  /// `missing` set to the first absent symbol, when the library lacks one.
  bool resolve(void *handle, std::string &missing);
};

} // namespace flt

#endif // FLT_RUNTIME_CUDAABI_H
