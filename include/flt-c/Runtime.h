/*===- flt-c/Runtime.h - C API of libFLTRuntime --------------------------===*\
|*                                                                            *|
|* Load a library made by flt-compile, list its functions and signatures,    *|
|* call one on host buffers (or, for --target=cuda libraries, on device     *|
|* buffers) and free the results — for bindings and other languages (flt's  *|
|* own Python runtime is ctypes over this header). Every call that can fail *|
|* returns a status and, through `error`, a message the caller frees with   *|
|* fltFreeString. Nothing aborts: every argument, including a null pointer, *|
|* a negative size or an out-of-range index, is checked.                    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef FLT_C_RUNTIME_H
#define FLT_C_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum FltElementType {
  FLT_F32 = 0,
  FLT_F16 = 1,
  FLT_BF16 = 2,
  FLT_F64 = 3,
  FLT_I32 = 4,
  FLT_I64 = 5,
} FltElementType;

/// Any status but FLT_OK is a failure. FLT_INVALID_INPUT: the arguments do
/// not fit (a signature, a range), nothing ran; FLT_ERROR: anything else (a
/// library that cannot be loaded, a CUDA driver error, no memory).
typedef enum FltStatus {
  FLT_OK = 0,
  FLT_ERROR = 1,
  FLT_INVALID_INPUT = 2
} FltStatus;

/// A dense row-major tensor. As an input it is borrowed (data and shape stay
/// the caller's, and the data is read in place); as an output it is owned
/// by the runtime until fltFreeTensors. For the device calls `data` is a
/// CUDA device pointer.
typedef struct FltTensor {
  FltElementType element;
  int64_t rank;
  int64_t *shape;
  void *data;
} FltTensor;

typedef struct FltLibrary FltLibrary;

/// Loads `path`; null and a message in *error on failure.
FltLibrary *fltLoadLibrary(const char *path, char **error);
void fltUnloadLibrary(FltLibrary *library);

/// "cpu" or "cuda" (owned by the library).
const char *fltLibraryTarget(const FltLibrary *library);
int64_t fltNumFunctions(const FltLibrary *library);
/// Name of function `index` (owned by the library); null if out of range.
const char *fltFunctionName(const FltLibrary *library, int64_t index);
/// Index of the function called `name`, or -1.
int64_t fltFindFunction(const FltLibrary *library, const char *name);
int64_t fltNumArguments(const FltLibrary *library, int64_t function);
int64_t fltNumResults(const FltLibrary *library, int64_t function);
/// Signature of argument / result `index`: element type, rank and sizes
/// (-1 for a dynamic size; the array is owned by the library).
FltStatus fltArgumentType(const FltLibrary *library, int64_t function,
                          int64_t index, FltElementType *element, int64_t *rank,
                          const int64_t **shape);
FltStatus fltResultType(const FltLibrary *library, int64_t function,
                        int64_t index, FltElementType *element, int64_t *rank,
                        const int64_t **shape);

/// Run-time size relations of a function, in the order its check numbers
/// them (owned by the library); null if out of range.
int64_t fltNumConstraints(const FltLibrary *library, int64_t function);
const char *fltConstraint(const FltLibrary *library, int64_t function,
                          int64_t index);

/// Checks inputs against the signature (count, element types, ranks, static
/// sizes) and the run-time size relations, without running anything; the
/// inputs' data is not read (it may be null). FLT_INVALID_INPUT with the
/// reason when they do not fit.
FltStatus fltValidate(const FltLibrary *library, int64_t function,
                      const FltTensor *inputs, int64_t numInputs, char **error);

/// Checks the inputs (as fltValidate), then calls the function on host
/// buffers (a --target=cuda library copies them to the GPU and the results
/// back). On success *outputs holds fltNumResults tensors to free with
/// fltFreeTensors.
FltStatus fltCall(const FltLibrary *library, int64_t function,
                  const FltTensor *inputs, int64_t numInputs,
                  FltTensor **outputs, char **error);
void fltFreeTensors(FltTensor *tensors, int64_t count);

/// OpenMP threads for the kernels, 1 to fltMaxThreads().
FltStatus fltSetNumThreads(const FltLibrary *library, int64_t threads,
                           char **error);
int64_t fltMaxThreads(void);

/// The CPU the library was compiled for (owned by the library).
const char *fltLibraryCpu(const FltLibrary *library);

/*===-- --target=cuda libraries: device buffers -------------------------===*/

/// Whether a CUDA driver and GPU are usable; FLT_ERROR with the reason when
/// not (or when the library is not a CUDA one).
FltStatus fltCudaAvailable(const FltLibrary *library, char **error);

/// New device memory holding a copy of host tensor `host` (its data read
/// from host memory); *device is null for an empty tensor. Free it with
/// fltFreeDevice.
FltStatus fltToDevice(const FltLibrary *library, const FltTensor *host,
                      void **device, char **error);

/// Copies device tensor `device` (data: a device pointer) into `host`, a
/// buffer of at least `hostBytes` bytes.
FltStatus fltToHost(const FltLibrary *library, const FltTensor *device,
                    void *host, uint64_t hostBytes, char **error);

/// Frees device memory from fltToDevice or fltCallDevice (null: nothing).
void fltFreeDevice(const FltLibrary *library, void *device);

/// Checks the inputs (as fltValidate), then calls the function on device
/// tensors; on success *outputs holds fltNumResults tensors whose data are
/// new device buffers, each the caller's to fltFreeDevice, and the array
/// (with the shapes) is freed with fltFreeDeviceResults, which leaves the
/// device buffers alone.
FltStatus fltCallDevice(const FltLibrary *library, int64_t function,
                        const FltTensor *inputs, int64_t numInputs,
                        FltTensor **outputs, char **error);
void fltFreeDeviceResults(FltTensor *tensors, int64_t count);

/// GPU time of `calls` calls of the function on device tensors, one value
/// per call in milliseconds (CUDA events around each call; results freed
/// between calls), into milliseconds[0 .. calls).
FltStatus fltTimeDevice(const FltLibrary *library, int64_t function,
                        const FltTensor *inputs, int64_t numInputs,
                        int64_t calls, double *milliseconds, char **error);

void fltFreeString(char *string);

/// The flt version the runtime was built from.
const char *fltRuntimeVersion(void);

#ifdef __cplusplus
}
#endif

#endif /* FLT_C_RUNTIME_H */
