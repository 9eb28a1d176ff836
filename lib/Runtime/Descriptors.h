//===- Descriptors.h - memref descriptors of the kernel ABI -----*- C++ -*-===//
//
// Internal to libFLTRuntime: building the strided memref descriptors that
// compiled functions take (ModuleInfo.h) and reading the ones they return.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_LIB_RUNTIME_DESCRIPTORS_H
#define FLT_LIB_RUNTIME_DESCRIPTORS_H

#include <cstdint>
#include <cstring>
#include <vector>

namespace flt {

/// MLIR's strided memref descriptor of a dense row-major array at `data`,
/// rank erased: allocated, aligned, offset, sizes[rank], strides[rank] —
/// all 8-byte words.
inline std::vector<int64_t> describe(const void *data,
                                     const std::vector<int64_t> &shape) {
  size_t rank = shape.size();
  std::vector<int64_t> words(3 + 2 * rank);
  auto pointer = reinterpret_cast<int64_t>(data);
  words[0] = pointer;
  words[1] = pointer;
  words[2] = 0;
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    words[3 + i] = shape[i];
    words[3 + rank + i] = stride;
    stride *= shape[i];
  }
  return words;
}

/// Copies a strided array into a dense one, advancing `out`.
inline void gather(const uint8_t *base, const int64_t *sizes,
                   const int64_t *strides, size_t rank, size_t elementBytes,
                   uint8_t *&out, size_t dim = 0) {
  // The trailing dims from `dim` on that are dense row-major (each stride
  // the product of the sizes after it) are one memcpy: results are usually
  // dense, and an element-by-element copy of a large state costs more than
  // a decoding step's kernel.
  int64_t run = 1;
  size_t dense = rank;
  while (dense > dim && strides[dense - 1] == run) {
    run *= sizes[dense - 1];
    --dense;
  }
  if (dense == dim) {
    size_t bytes = static_cast<size_t>(run) * elementBytes;
    if (bytes)
      std::memcpy(out, base, bytes);
    out += bytes;
    return;
  }
  if (dim == rank) {
    std::memcpy(out, base, elementBytes);
    out += elementBytes;
    return;
  }
  for (int64_t i = 0; i < sizes[dim]; ++i)
    gather(base + i * strides[dim] * static_cast<int64_t>(elementBytes), sizes,
           strides, rank, elementBytes, out, dim + 1);
}

} // namespace flt

#endif // FLT_LIB_RUNTIME_DESCRIPTORS_H
