//===- Npy.h - NumPy .npy files ---------------------------------*- C++ -*-===//

#ifndef FLT_RUNTIME_NPY_H
#define FLT_RUNTIME_NPY_H

#include "flt/Runtime/Runtime.h"

#include <string>

namespace flt {

/// Reads a little-endian, C-order .npy file of f32, f16, f64, i32 or i64.
bool readNpy(const std::string &path, HostTensor &tensor, std::string &error);

/// Writes `tensor` to `path` atomically: a temporary file beside it, then a
/// rename, so a failed write never leaves a truncated file. bf16 data is
/// written as f32 (NumPy has no bf16).
bool writeNpy(const std::string &path, const HostTensor &tensor,
              std::string &error);

/// `tensor` converted to `element` (f32 <-> f16/bf16/f64 only).
bool convertTensor(const HostTensor &tensor, ElementType element,
                   HostTensor &converted, std::string &error);

} // namespace flt

#endif // FLT_RUNTIME_NPY_H
