/*===- flt-c/Runtime.h - C API of libFLTRuntime --------------------------===*\
|*                                                                            *|
|* Load a library made by flt-compile, list its functions and signatures,    *|
|* call one on host buffers and free the results — for bindings and other   *|
|* languages. Every call that can fail returns a status and, through        *|
|* `error`, a message the caller frees with fltFreeString. Nothing aborts.  *|
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

typedef enum FltStatus { FLT_OK = 0, FLT_ERROR = 1 } FltStatus;

/// A dense row-major tensor. As an input it is borrowed (data and shape stay
/// the caller's); as an output it is owned by the runtime until
/// fltFreeTensors.
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

/// Checks the inputs against the signature and the run-time size relations,
/// then calls the function. On success *outputs holds fltNumResults tensors
/// to free with fltFreeTensors.
FltStatus fltCall(const FltLibrary *library, int64_t function,
                  const FltTensor *inputs, int64_t numInputs,
                  FltTensor **outputs, char **error);
void fltFreeTensors(FltTensor *tensors, int64_t count);

/// OpenMP threads for the kernels (>= 1).
FltStatus fltSetNumThreads(const FltLibrary *library, int threads,
                           char **error);

void fltFreeString(char *string);

/// The flt version the runtime was built from.
const char *fltRuntimeVersion(void);

#ifdef __cplusplus
}
#endif

#endif /* FLT_C_RUNTIME_H */
