//===- AttentionMatch.h - what flt-raise-attention matches -*- C++ -*-===//
//
// What flt-raise-attention's matchers share. A candidate root (one
// structured op's result) is read by TermAnalysis into a product-sum; the
// matchers fill an AttentionMatch with the factors that become the flt
// op's operands, each with its labels, and the rewrite moves them into
// flt's [B, H, tokens, features] layout. The matchers live in one file per
// seam:
//
//   AttentionMatch.cpp   N / (D + eps) common to every attention, dispatch
//   SoftmaxMatch.cpp     exp(c q k^T - m) and linalg.softmax
//   LinearMatch.cpp      feature, RPE and mask factors of linear attention
//   MaskMatch.cpp        causal masks, Toeplitz biases, low-rank RPE masks
//   FeatureMapMatch.cpp  relu / elu + 1 feature maps in payloads
//   AttentionBuilder.cpp the flt ops and the layout changes around them
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CONVERSION_LINALGTOFLT_ATTENTIONMATCH_H
#define FLT_CONVERSION_LINALGTOFLT_ATTENTIONMATCH_H

#include "flt/Conversion/LinalgToFLT/PayloadView.h"
#include "flt/Conversion/LinalgToFLT/TensorTerms.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::flt {

/// A feature map flt knows, recognized in the generic producing a factor.
struct FeatureMapMatch {
  Kernel kernel;
  float eps;
  Value input;
};

/// A factor and the labels of its dims (kUnitDim for size-1 dims).
struct Operand {
  Value value;
  SmallVector<Label, 4> labels;
};

/// A constant [L, S] mask factored as phi psi^T: phi [L, rank] and psi
/// [S, rank], row-major.
struct LowRankMask {
  int64_t rank = 0, tokensL = 0, tokensS = 0;
  SmallVector<float> phi, psi;
};

/// Everything the rewrite needs, in the labels of the root's term.
struct AttentionMatch {
  enum class Kind { Softmax, Linear } kind;
  SmallVector<Label> batch; // in the order of the root's result
  Label l, s, e;
  Operand q, k, v;                       // q, k: scores or features
  std::optional<Operand> phi, psi;       // linear: the RPE factors
  std::optional<LowRankMask> rpeMask;    // linear: or a constant RPE mask
  std::optional<FeatureMapMatch> fq, fk; // linear: recognized feature maps
  SmallVector<Operand> keyWeights; // linear: per-key factors (padding masks)
  bool causal = false;
  double temperature = 1.0; // softmax
  SmallVector<float> bias;  // softmax: b [H, L+S-1]
  int64_t biasHeads = 1;
  double scale = 1.0;                            // multiplies the op's result
  float eps = 0.0f;                              // linear
  SmallVector<SmallVector<Label, 2>, 4> rootOut; // the root's dims
};

//===----------------------------------------------------------------------===//
// Labels (AttentionMatch.cpp)
//===----------------------------------------------------------------------===//

/// Whether every label of `labels` is kUnitDim or in `allowed`.
bool labelsWithin(ArrayRef<Label> labels, ArrayRef<Label> allowed);

/// Whether `factor` carries `label`.
bool hasLabel(const TermFactor &factor, Label label);

/// The labels of `factor` summed in `term`.
SmallVector<Label> summedIn(const TermFactor &factor, const Term &term);

/// Renames `term`'s out labels to `labels` (one per dim, kUnitDim for unit
/// dims). Fails when a dim of the term merges several labels.
bool alignOut(Term &term, ArrayRef<Label> labels);

/// Reads the root's result dims as [batch..., l, e]: the last two must each
/// be one label; the batch labels keep their order.
bool readResultLabels(const Term &root, AttentionMatch &match);

//===----------------------------------------------------------------------===//
// Matchers
//===----------------------------------------------------------------------===//

/// Every pattern, tried on the term of one structured op's result.
std::optional<AttentionMatch> matchAttention(TermAnalysis &terms, Value result);

/// Elementwise with every input indexed by the identity too, except splat
/// constants (TOSA broadcasts scalars as tensor<1x1x1xf32>), whose indexing
/// does not matter.
bool isIdentityElementwise(linalg::GenericOp op);

/// The feature map (relu or elu + 1, with an additive eps) that produces
/// `factor`, when it is one.
std::optional<FeatureMapMatch> matchFeatureMap(Value factor);

/// Softmax numerators exp(scores - m) (m constant along s, so it cancels)
/// or exp(scores), with the factor's dims carrying `labels`.
bool matchSoftmaxNumerator(TermAnalysis &terms, const TermFactor &factor,
                           ArrayRef<Label> batch, Label l, Label s,
                           AttentionMatch &match);

/// linalg.softmax(c q k^T) @ v, `root` being the term of the product.
std::optional<AttentionMatch> matchNamedSoftmax(TermAnalysis &terms,
                                                const Term &root);

/// Linear attention: Rest = query-side factors [l, x], key-side factors
/// [s, x] and constant masks [l, s] (causal, low-rank RPE).
bool matchLinearFactors(TermAnalysis &terms, const Term &n,
                        ArrayRef<TermFactor> rest, AttentionMatch &match);

/// Whether the constant factor (an [L, S] table, or its indicator) is the
/// causal mask: 1 where s <= l, else 0.
bool isCausalMask(TermAnalysis &terms, const TermFactor &factor, Label l,
                  Label s);

/// The constant [L, S] factor as phi psi^T when its numerical rank is low
/// (an RPE mask computed from random Fourier features of fixed positions).
std::optional<LowRankMask> matchLowRankMask(const TermFactor &factor, Label l,
                                            Label s);

/// Whether a constant condition read by `read` and tested by `indicator`
/// (in loops of `rank` dims, tokens at lDim and sDim) masks exactly the keys
/// after each query: masked (test == maskedWhenTrue) iff s > l, the same for
/// every batch.
bool isCausalSelect(std::optional<ElementRead> read, Indicator indicator,
                    bool maskedWhenTrue, unsigned rank, int64_t lDim,
                    int64_t sDim);

/// An additive constant bias read by `read` in loops labelled `loops`,
/// times `scale`: fills match.bias (docs/Semantics.md 2.5's Toeplitz b[h, s - l
/// + L - 1]) and match.causal (-inf above the diagonal), or fails.
bool matchConstantBias(TermAnalysis &terms, const ElementRead &read,
                       ArrayRef<Label> loops, double scale,
                       AttentionMatch &match);

//===----------------------------------------------------------------------===//
// Rewriting (AttentionBuilder.cpp)
//===----------------------------------------------------------------------===//

/// Whether the flt ops can take the matched operands.
bool isRewritable(const AttentionMatch &match);

/// Builds the flt ops for `match` before `root` and returns the value that
/// replaces its result.
Value buildAttention(OpBuilder &b, Operation *root, TermAnalysis &terms,
                     const AttentionMatch &match);

} // namespace mlir::flt

#endif // FLT_CONVERSION_LINALGTOFLT_ATTENTIONMATCH_H
