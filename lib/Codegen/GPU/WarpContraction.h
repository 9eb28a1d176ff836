//===- WarpContraction.h - Contractions that tensor cores run ---*- C++ -*-===//
//
// What flt-tile-contractions-to-warps and flt-contractions-to-mma agree on:
// which linalg ops are matrix products C(m, n) += A(m, k) * B(k, n) (any
// operand transposed), the tensor-core operand types and the warp tile of
// one `mma.sync` (m16n8k16 for f16/bf16, m16n8k8 for tf32; f32 accumulate).
//
//===----------------------------------------------------------------------===//

#ifndef FLT_DIALECT_FLT_TRANSFORMS_WARPCONTRACTION_H
#define FLT_DIALECT_FLT_TRANSFORMS_WARPCONTRACTION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace mlir::flt {

/// Threads of a warp.
constexpr int64_t kWarpSize = 32;

/// The discardable attribute that marks a warp tile of a contraction for
/// tensor cores; its value is the operand type (see MMAType).
constexpr llvm::StringLiteral kMMAAttrName = "flt.mma";

/// Operand types of `mma.sync` (the accumulator is always f32).
enum class MMAType { BF16, F16, TF32 };

llvm::StringRef stringifyMMAType(MMAType type);
std::optional<MMAType> parseMMAType(llvm::StringRef name);

/// The shape of one `mma.sync` for operands of `type`: 16 x 8 x k.
constexpr int64_t kMMARows = 16;
constexpr int64_t kMMAColumns = 8;
int64_t mmaDepth(MMAType type);

/// A linalg op on buffers that computes C(m, n) += A * B with A indexed by
/// (m, k) or (k, m), B by (k, n) or (n, k), C by (m, n) or (n, m), float
/// operands and an f32 accumulator. The dims are loop dimensions of the op.
struct Contraction {
  unsigned m, n, k;
};

/// `op` as a contraction, or nothing when it is not one.
std::optional<Contraction> matchContraction(linalg::LinalgOp op);

} // namespace mlir::flt

#endif // FLT_DIALECT_FLT_TRANSFORMS_WARPCONTRACTION_H
