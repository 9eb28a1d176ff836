//===- QuadraticAttention.h - tiled exact attention -------------*- C++ -*-===//
//
// The tiled quadratic form shared by flt.kernel_attention and the direct
// method of flt.toeplitz_attention: an scf.forall over (batch, head, tile of
// queries) walks the tiles of keys with a running row max and row sum
// (online normalization), so no [L, S] tensor ever exists.
//
// docs/Semantics.md section 5: k and v may have fewer (grouped) heads, read
// at head h / (H / H_kv); with `lengths` a batch's keys end at n_b and its
// rows from n_b on are zero; with `cuSeqlens` (B = 1) each tile of queries
// walks only the key tiles of its tokens' sequences, and pairs across a
// sequence boundary are masked (per-token sequence bounds are tabulated
// once, before the loops).
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CONVERSION_FLTTOLINALG_QUADRATICATTENTION_H
#define FLT_CONVERSION_FLTTOLINALG_QUADRATICATTENTION_H

#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/IR/Builders.h"

namespace mlir::flt {

struct QuadraticAttention {
  enum class Score {
    /// exp(temperature q·k + bias) · M, normalized by the row sum.
    Softmax,
    /// (q·k) · M · exp(toeplitzBias - max), normalized as linear attention.
    Dot,
    /// Π_k sinc(R_k (q_k - k_k))^power · exp(bias) · M, in the log domain.
    FourierIntegral,
  };
  Score score = Score::Softmax;
  Value q, k, v;
  /// R [H, d] (FourierIntegral).
  Value scale;
  /// Additive log-bias b [H, L + S - 1] (Softmax, FourierIntegral).
  Value bias;
  /// Multiplicative Toeplitz mask exp(b - max_h b), b [H, 2L - 1] (Dot).
  Value toeplitzBias;
  /// Positive RPE mask M = phi psiᵀ.
  Value phi, psi;
  /// docs/Semantics.md section 5 (each may be null): offsets of packed
  /// sequences [N + 1] and lengths [B], i32 or i64.
  Value cuSeqlens, lengths;
  bool causal = false;
  float temperature = 1.0f;
  int64_t power = 4;
  /// FourierIntegral with fourier_form amplitude_eps: every factor keeps its
  /// amplitude, (R_k sinc(R_k Δ_k))^power, and the row sum gets `eps`
  /// (rescaled by the running max: exp(log eps - max)).
  bool amplitudeEps = false;
  Normalize normalize = Normalize::Divide;
  float eps = 1e-6f;
  RankedTensorType resultType;
  /// Tokens per tile of queries and of keys.
  int64_t tokenTile = 64;
  /// Value columns are padded to a multiple of this (vector width).
  int64_t columnMultiple = 16;

  /// Builds the loops at the builder's insertion point; returns the result.
  FailureOr<Value> build(OpBuilder &b, Location loc, Operation *op);
};

} // namespace mlir::flt

#endif // FLT_CONVERSION_FLTTOLINALG_QUADRATICATTENTION_H
