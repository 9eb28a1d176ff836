//===- RotaryMatch.h - rotary embeddings in linalg -> position_transform -===//
//
// Rotary position embeddings as models write them,
//
//   x * cos + rotate_half(x) * sin,   rotate_half(x) = cat(-x2, x1)
//   x * cos + rotate_every_two(x) * sin     (pairs (x_2t, x_2t+1))
//
// with constant cos / sin tables, are one flt.position_transform (rotary,
// pairing halves or interleaved) whose angles theta_t are read back from
// the tables (cos(l theta_t) at position l). Part of flt-raise-attention.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CONVERSION_LINALGTOFLT_ROTARYMATCH_H
#define FLT_CONVERSION_LINALGTOFLT_ROTARYMATCH_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::flt {

/// When `root` (an elementwise generic) computes a rotary embedding of some
/// x, builds flt.position_transform of x before `root` (with x moved into
/// flt's [B, H, L, d] layout and back) and returns the value that replaces
/// root's result; std::nullopt (building nothing) otherwise. `foldBatch`:
/// every batch dim of x becomes H ([1, N, L, d]); else the last one is H
/// and the leading ones fold into B, as for the attention ops.
std::optional<Value> raiseRotary(OpBuilder &b, linalg::GenericOp root,
                                 bool foldBatch);

} // namespace mlir::flt

#endif // FLT_CONVERSION_LINALGTOFLT_ROTARYMATCH_H
