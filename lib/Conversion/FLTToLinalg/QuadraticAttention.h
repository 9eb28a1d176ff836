//===- QuadraticAttention.h - tiled exact attention -------------*- C++ -*-===//
//
// The tiled quadratic form shared by flt.kernel_attention and the direct
// method of flt.toeplitz_attention: an scf.forall over (batch, head, tile of
// queries) walks the tiles of keys with a running row max and row sum
// (online normalization), so no [L, S] tensor ever exists.
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
