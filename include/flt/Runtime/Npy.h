//===- Npy.h - NumPy .npy files ---------------------------------*- C++ -*-===//
//
// flt-run's inputs and outputs. The reader is strict: the header must be
// the dict literal NumPy writes (exactly the keys descr, fortran_order and
// shape), the data exactly as long as the shape says — checked against the
// file's size before anything is allocated.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_RUNTIME_NPY_H
#define FLT_RUNTIME_NPY_H

#include "flt/Runtime/Runtime.h"

#include <string>

namespace flt {

/// What a .npy header says.
struct NpyHeader {
  ElementType element = ElementType::F32;
  std::vector<int64_t> shape;
  /// Where the data starts, and how many bytes the shape needs.
  size_t dataOffset = 0;
  size_t dataBytes = 0;
};

/// Parses the preamble and header at the start of `bytes` (`size` bytes
/// available). Needs the whole header; `needMore` says how many bytes in
/// all it takes when `size` is too short (0 otherwise).
bool parseNpyHeader(const uint8_t *bytes, size_t size, NpyHeader &header,
                    size_t &needMore, std::string &error);

/// Reads a little-endian, C-order .npy file of f32, f16, f64, i32 or i64.
bool readNpy(const std::string &path, HostTensor &tensor, std::string &error);

/// The same for a whole .npy file held in memory.
bool readNpyBuffer(const uint8_t *bytes, size_t size, HostTensor &tensor,
                   std::string &error);

/// Writes `tensor` to `path`. A new path or a regular file is written
/// atomically (a temporary file beside it, then a rename, so a failed write
/// never leaves a truncated file); anything else — a symbolic link's
/// target, a character device, a FIFO — is written through, never
/// replaced. Every write error is reported. bf16 data is written as f32
/// (NumPy has no bf16).
bool writeNpy(const std::string &path, const HostTensor &tensor,
              std::string &error);

/// `tensor` converted to `element` (f32 <-> f16/bf16/f64 only).
bool convertTensor(const HostTensor &tensor, ElementType element,
                   HostTensor &converted, std::string &error);

} // namespace flt

#endif // FLT_RUNTIME_NPY_H
