//===- FLTToLinalg.h - flt -> linalg on tensors -----------------*- C++ -*-===//

#ifndef FLT_CONVERSION_FLTTOLINALG_FLTTOLINALG_H
#define FLT_CONVERSION_FLTTOLINALG_FLTTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::flt {

class LinearAttentionOp;

/// How flt.linear_attention is lowered in its linear form (a target's tiles
/// come from flt/Codegen/TargetConfig.h through flt-convert-to-linalg's
/// options).
struct LinearAttentionLoweringOptions {
  /// Form the Kronecker features fk ⊗ psi and fq ⊗ phi tile by tile and keep
  /// the state split by value columns (docs/Design.md section 4). When false,
  /// the lowering materializes both [L, m r] products and runs the same loops
  /// on them as attention without rpe: the unfused reference pipeline that
  /// benchmarks compare against.
  bool fuseKronecker = true;
  /// Tokens per tile (queries and keys; also the causal chunk).
  int64_t tokenTile = 64;
  /// Value columns per parallel slice of the state.
  int64_t valueSlice = 32;
  /// The most blocks the keys are split into, each block's state computed
  /// in parallel: the non-causal state is their sum; causal attention takes
  /// a prefix over them and walks every block's chunks in parallel. 0: one
  /// sequential pass over the keys per (batch, head, value slice).
  int64_t keyBlocks = 0;
  /// Features of fk (fq) per Kronecker block with rpe: one step of the
  /// feature loop forms fk[:, p .. p+g) ⊗ psi as a [tokens, g r] block and
  /// runs one contraction over it (fewer, larger products: the GPU's warps
  /// all get tensor-core tiles). The largest divisor of m not above this is
  /// used, so m is never padded; 1 when m or r is dynamic.
  int64_t featureGroup = 1;
  /// > 0: the value-block form with rpe. For every group of G positional
  /// features c (the largest divisor of r not above this; 1 when r is
  /// dynamic) the keys form W = psi[:, c] ⊗ v, [tokens, G e], and update
  /// T[:, c] += fkᵀ W; the queries form P = fq T[:, c] and add
  /// Σ_c phi[:, c] P[:, c]. A block then forms G e products per token
  /// instead of m r, and its contractions have m × G e or tokens × G e
  /// outputs: the GPU's choice. featureGroup is then not used.
  int64_t positionalGroup = 0;
  /// Register-tile granularity the padded tile shapes are rounded up to:
  /// rows (state rows, query rows) and columns (value columns).
  int64_t rowMultiple = 4;
  int64_t columnMultiple = 16;
};

void populateFeatureMapLoweringPatterns(RewritePatternSet &patterns);
void populateSpectralLoweringPatterns(RewritePatternSet &patterns);
void populatePositionTransformLoweringPatterns(RewritePatternSet &patterns);
/// flt.kernel_attention, and flt.toeplitz_attention with method direct (the
/// tiled quadratic form with `tokenTile` × `tokenTile` blocks; value columns
/// padded to a multiple of `columnMultiple`).
void populateKernelAttentionLoweringPatterns(RewritePatternSet &patterns,
                                             int64_t tokenTile,
                                             int64_t columnMultiple);
/// flt.toeplitz_attention and flt.toeplitz_correlation with method fft.
/// `lanes`: complex columns per FFT row (fft-lanes).
void populateToeplitzFFTLoweringPatterns(RewritePatternSet &patterns,
                                         int64_t lanes);
/// flt.linear_attention in its linear form (flt-select-algorithm rewrites
/// the ones the quadratic form computes cheaper first).
void populateLinearAttentionLoweringPatterns(
    RewritePatternSet &patterns, const LinearAttentionLoweringOptions &options);
/// flt.linear_attention_grad (reverse mode), fused: one state pass, one
/// query pass, one key pass per (batch, head) (flt-select-algorithm has
/// decomposed the instances this lowering does not take).
void populateLinearAttentionGradLoweringPatterns(
    RewritePatternSet &patterns, const LinearAttentionLoweringOptions &options);
/// The linear form of one flt.linear_attention, built at the rewriter's
/// insertion point: its results (failure: a result size could not be
/// reified).
FailureOr<SmallVector<Value>>
lowerLinearAttentionLinearForm(LinearAttentionOp op, RewriterBase &rewriter,
                               const LinearAttentionLoweringOptions &options);

} // namespace mlir::flt

#endif // FLT_CONVERSION_FLTTOLINALG_FLTTOLINALG_H
