//===- AttentionBuilder.cpp - the flt ops of a matched attention ----------===//
//
// Builds the flt op of an AttentionMatch: every operand is moved into flt's
// [B, H, tokens, features] layout (unit dims dropped, dims transposed into
// (batch..., token, feature), absent labels broadcast, batch dims folded
// into B and H), the op is created (flt.kernel_attention for softmax,
// flt.feature_map and flt.linear_attention for linear attention), and its
// result is brought back into the root's layout and scale.
//
// Keys and values whose heads are repeat_interleave'd copies of fewer heads
// (a broadcast over a new dim merged into the head dim, what torch's
// repeat_interleave and SDPA's enable_gqa compute) are given to the op
// unrepeated: docs/Semantics.md §5's grouped heads, with no copy per query
// head. Per-key weights (padding masks) are multiplied into fk.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/LinalgToFLT/AttentionMatch.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

class LayoutBuilder {
public:
  LayoutBuilder(OpBuilder &b, Location loc, TermAnalysis &terms,
                ArrayRef<Label> batch)
      : b(b), loc(loc), terms(terms), batch(batch) {}

  OpFoldResult size(Label label) {
    int64_t size = terms.sizeOf(label);
    if (!ShapedType::isDynamic(size))
      return b.getIndexAttr(size);
    auto [source, dim] = terms.sizeSource(label);
    return tensor::DimOp::create(b, loc, source, dim).getResult();
  }

  /// `operand` as [B, H, token, feature]: unit dims dropped, dims
  /// transposed into (batch..., token, feature), absent labels broadcast,
  /// batch dims folded into B and H.
  Value toLayout(const Operand &operand, Label token, Label feature) {
    SmallVector<Label> target(batch);
    target.append({token, feature});
    Value value = dropUnitDims(operand.value);
    SmallVector<Label> present;
    for (Label label : operand.labels)
      if (label != kUnitDim)
        present.push_back(label);
    // Transpose the present labels into target order.
    SmallVector<Label> ordered;
    for (Label label : target)
      if (llvm::is_contained(present, label))
        ordered.push_back(label);
    if (ordered != present) {
      SmallVector<int64_t> permutation;
      for (Label label : ordered)
        permutation.push_back(llvm::find(present, label) - present.begin());
      value = transpose(value, permutation);
    }
    // Broadcast the absent ones.
    if (ordered.size() != target.size()) {
      SmallVector<OpFoldResult> sizes;
      SmallVector<int64_t> added;
      for (auto [dim, label] : llvm::enumerate(target)) {
        sizes.push_back(size(label));
        if (!llvm::is_contained(ordered, label))
          added.push_back(dim);
      }
      Value init = tensor::EmptyOp::create(b, loc, sizes, f32());
      value =
          linalg::BroadcastOp::create(b, loc, value, init, added)->getResult(0);
    }
    return foldBatch(value);
  }

  /// The [B, H, L, E] result back in the root's layout: batch unfolded,
  /// dims in the root's label order, merged and unit dims restored.
  Value fromLayout(Value value, Label l, Label e,
                   ArrayRef<SmallVector<Label, 2>> rootOut,
                   RankedTensorType type) {
    SmallVector<Label> labels(batch);
    labels.append({l, e});
    value = unfoldBatch(value, labels);
    SmallVector<Label> wanted;
    for (const auto &group : rootOut)
      wanted.append(group.begin(), group.end());
    if (wanted != labels) {
      SmallVector<int64_t> permutation;
      for (Label label : wanted)
        permutation.push_back(llvm::find(labels, label) - labels.begin());
      value = transpose(value, permutation);
    }
    // Merge multi-label dims, then insert the unit ones.
    SmallVector<ReassociationIndices> merge;
    int64_t next = 0;
    for (const auto &group : rootOut) {
      if (group.empty())
        continue;
      merge.emplace_back();
      for (size_t i = 0; i < group.size(); ++i)
        merge.back().push_back(next++);
    }
    if (merge.size() != wanted.size())
      value = tensor::CollapseShapeOp::create(b, loc, value, merge);
    if (static_cast<int64_t>(merge.size()) != type.getRank()) {
      // Unit dims join the group of the next non-unit dim (trailing ones
      // the last group).
      SmallVector<ReassociationIndices> expand;
      SmallVector<OpFoldResult> sizes;
      ReassociationIndices pending;
      int64_t source = 0;
      for (auto [dim, group] : llvm::enumerate(rootOut)) {
        pending.push_back(dim);
        if (group.empty()) {
          sizes.push_back(b.getIndexAttr(1));
          continue;
        }
        sizes.push_back(dimSize(value, source++));
        expand.push_back(pending);
        pending.clear();
      }
      expand.back().append(pending.begin(), pending.end());
      value = expandTo(value, type, expand, sizes);
    }
    if (value.getType() != type)
      value = tensor::CastOp::create(b, loc, type, value);
    return value;
  }

  /// value * scale, elementwise.
  Value scaled(Value value, double scale) {
    if (scale == 1.0)
      return value;
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim = 0; dim < type.getRank(); ++dim)
      sizes.push_back(dimSize(value, dim));
    Value init = tensor::EmptyOp::create(b, loc, sizes, f32());
    AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
    SmallVector<utils::IteratorType> iterators(type.getRank(),
                                               utils::IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, type, value, init,
               ArrayRef<AffineMap>{identity, identity}, iterators,
               [&](OpBuilder &nb, Location nloc, ValueRange args) {
                 Value c = arith::ConstantOp::create(
                     nb, nloc, nb.getF32FloatAttr(static_cast<float>(scale)));
                 Value product = arith::MulFOp::create(nb, nloc, args[0], c);
                 linalg::YieldOp::create(nb, nloc, product);
               })
        ->getResult(0);
  }

  /// [B, H, T, F] `keys` times the per-key weight `weight` (labels within
  /// batch and `token`), broadcast over the features; `keys` may have
  /// fewer heads than H when the weight does not depend on the head.
  Value weighted(Value keys, const Operand &weight, Label token,
                 Label feature) {
    Value w = toLayout(weight, token, feature);
    auto keysType = cast<RankedTensorType>(keys.getType());
    if (cast<RankedTensorType>(w.getType()).getDimSize(1) !=
        keysType.getDimSize(1)) {
      // Grouped heads: the weight is the same for every head; keep the
      // first H_kv.
      SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0)), sizes,
          strides(4, b.getIndexAttr(1));
      for (int64_t dim = 0; dim < 4; ++dim)
        sizes.push_back(dimSize(keys, dim));
      w = tensor::ExtractSliceOp::create(b, loc, w, offsets, sizes, strides);
    }
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim = 0; dim < 4; ++dim)
      sizes.push_back(dimSize(keys, dim));
    Value init = tensor::EmptyOp::create(b, loc, sizes, f32());
    AffineMap identity = b.getMultiDimIdentityMap(4);
    SmallVector<utils::IteratorType> iterators(4,
                                               utils::IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, keysType, ValueRange{keys, w}, init,
               ArrayRef<AffineMap>{identity, identity, identity}, iterators,
               [&](OpBuilder &nb, Location nloc, ValueRange args) {
                 Value product =
                     arith::MulFOp::create(nb, nloc, args[0], args[1]);
                 linalg::YieldOp::create(nb, nloc, product);
               })
        ->getResult(0);
  }

private:
  Type f32() { return b.getF32Type(); }

  OpFoldResult dimSize(Value value, int64_t dim) {
    int64_t size = cast<RankedTensorType>(value.getType()).getDimSize(dim);
    if (!ShapedType::isDynamic(size))
      return b.getIndexAttr(size);
    return tensor::DimOp::create(b, loc, value, dim).getResult();
  }

  Value transpose(Value value, ArrayRef<int64_t> permutation) {
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim : permutation)
      sizes.push_back(dimSize(value, dim));
    Value init = tensor::EmptyOp::create(b, loc, sizes, f32());
    return linalg::TransposeOp::create(b, loc, value, init, permutation)
        ->getResult(0);
  }

  /// `value` without its static size-1 dims.
  Value dropUnitDims(Value value) {
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<ReassociationIndices> groups;
    ReassociationIndices pending;
    for (int64_t dim = 0; dim < type.getRank(); ++dim) {
      pending.push_back(dim);
      if (type.getDimSize(dim) != 1) {
        groups.push_back(pending);
        pending.clear();
      }
    }
    if (static_cast<int64_t>(groups.size()) == type.getRank())
      return value;
    if (!groups.empty())
      groups.back().append(pending.begin(), pending.end());
    return tensor::CollapseShapeOp::create(b, loc, value, groups);
  }

  Value expandTo(Value value, RankedTensorType type,
                 ArrayRef<ReassociationIndices> groups,
                 ArrayRef<OpFoldResult> sizes) {
    SmallVector<int64_t> shape;
    for (OpFoldResult size : sizes) {
      std::optional<int64_t> known = getConstantIntValue(size);
      shape.push_back(known ? *known : ShapedType::kDynamic);
    }
    auto resultType = RankedTensorType::get(shape, type.getElementType());
    return tensor::ExpandShapeOp::create(b, loc, resultType, value, groups,
                                         sizes);
  }

  /// [batch..., T, F] -> [B, H, T, F].
  Value foldBatch(Value value) {
    auto type = cast<RankedTensorType>(value.getType());
    int64_t n = batch.size();
    if (n == 2)
      return value;
    if (n > 2) {
      SmallVector<ReassociationIndices> groups(1);
      for (int64_t dim = 0; dim < n - 1; ++dim)
        groups[0].push_back(dim);
      for (int64_t dim = n - 1; dim < n + 2; ++dim)
        groups.push_back({dim});
      return tensor::CollapseShapeOp::create(b, loc, value, groups);
    }
    // Prepend 2 - n unit dims.
    SmallVector<ReassociationIndices> groups;
    SmallVector<OpFoldResult> sizes;
    groups.emplace_back();
    for (int64_t unit = 0; unit < 2 - n; ++unit) {
      groups[0].push_back(unit);
      sizes.push_back(b.getIndexAttr(1));
    }
    for (int64_t dim = 0; dim < type.getRank(); ++dim) {
      if (dim > 0)
        groups.emplace_back();
      groups.back().push_back(dim + 2 - n);
      sizes.push_back(dimSize(value, dim));
    }
    return expandTo(value, type, groups, sizes);
  }

  /// [B, H, T, F] -> [batch..., T, F] with `labels` naming the dims.
  Value unfoldBatch(Value value, ArrayRef<Label> labels) {
    int64_t n = batch.size();
    if (n == 2)
      return value;
    if (n < 2) {
      SmallVector<ReassociationIndices> groups(1);
      for (int64_t dim = 0; dim <= 2 - n; ++dim)
        groups[0].push_back(dim);
      for (int64_t dim = 3 - n; dim < 4; ++dim)
        groups.push_back({dim});
      return tensor::CollapseShapeOp::create(b, loc, value, groups);
    }
    SmallVector<ReassociationIndices> groups(1);
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim = 0; dim < n - 1; ++dim) {
      groups[0].push_back(dim);
      sizes.push_back(size(labels[dim]));
    }
    for (int64_t dim = 1; dim < 4; ++dim) {
      groups.push_back({n - 2 + dim});
      sizes.push_back(dimSize(value, dim));
    }
    auto type = cast<RankedTensorType>(value.getType());
    return expandTo(value, type, groups, sizes);
  }

  OpBuilder &b;
  Location loc;
  TermAnalysis &terms;
  ArrayRef<Label> batch;
};

/// The [B, H_kv, T, F] tensor whose heads `value` [B, H, T, F] repeats
/// H / H_kv times each in a row (repeat_interleave's order: head h reads
/// h / (H / H_kv)), and that group size; nullopt when `value` is not such a
/// repeat. Recognized: the collapse of [B, H_kv, g, T, F] into H of a
/// broadcast along g (linalg.broadcast, or a copying linalg.generic that
/// reads a unit g dim).
std::optional<std::pair<Value, int64_t>>
unrepeatHeads(OpBuilder &b, Location loc, Value value) {
  auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse)
    return std::nullopt;
  SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
  if (groups.size() != 4 || groups[0].size() != 1 || groups[1].size() != 2 ||
      groups[2].size() != 1 || groups[3].size() != 1)
    return std::nullopt;
  auto wide = cast<RankedTensorType>(collapse.getSrc().getType());
  int64_t group = wide.getDimSize(2);
  if (ShapedType::isDynamic(group) || group < 2)
    return std::nullopt;
  if (auto broadcast = collapse.getSrc().getDefiningOp<linalg::BroadcastOp>()) {
    if (broadcast.getDimensions() != ArrayRef<int64_t>{2})
      return std::nullopt;
    return std::pair(broadcast.getInput(), group);
  }
  auto generic = collapse.getSrc().getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || !generic.hasPureTensorSemantics())
    return std::nullopt;
  // The body copies its input.
  Block &body = generic.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != body.getArgument(0))
    return std::nullopt;
  AffineMap input = generic.getIndexingMapsArray()[0];
  AffineMap output = generic.getIndexingMapsArray()[1];
  if (!output.isIdentity() || input.getNumResults() != 5)
    return std::nullopt;
  for (int64_t dim = 0; dim < 5; ++dim) {
    AffineExpr expr = input.getResult(dim);
    if (dim == 2 ? expr != getAffineConstantExpr(0, b.getContext())
                 : expr != getAffineDimExpr(dim, b.getContext()))
      return std::nullopt;
  }
  Value narrow = generic.getDpsInputs()[0];
  if (cast<RankedTensorType>(narrow.getType()).getDimSize(2) != 1)
    return std::nullopt;
  narrow = tensor::CollapseShapeOp::create(
      b, loc, narrow, SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
  return std::pair(narrow, group);
}

} // namespace

/// Builds the flt ops for `match` before `root` and returns the value that
/// replaces its result.
Value mlir::flt::buildAttention(OpBuilder &b, Operation *root,
                                TermAnalysis &terms,
                                const AttentionMatch &match) {
  Location loc = root->getLoc();
  LayoutBuilder layout(b, loc, terms, match.batch);
  Value v = layout.toLayout(match.v, match.s, match.e);
  Value result;
  // Feature labels: the one label of q that is neither batch nor token.
  auto featureOf = [&](const Operand &operand, Label token) {
    for (Label label : operand.labels)
      if (label != kUnitDim && label != token &&
          !llvm::is_contained(match.batch, label))
        return label;
    return kUnitDim;
  };
  Label x = featureOf(match.q, match.l);
  Operand qOperand = match.q, kOperand = match.k;
  if (match.fq)
    qOperand.value = match.fq->input;
  if (match.fk)
    kOperand.value = match.fk->input;
  Value q = layout.toLayout(qOperand, match.l, x);
  Value k = layout.toLayout(kOperand, match.s, x);
  // Grouped heads: both k and v repeat the same number of heads each, and
  // no per-key weight differs between heads.
  bool weightsPerHead = llvm::any_of(match.keyWeights, [&](const Operand &w) {
    return !match.batch.empty() &&
           llvm::is_contained(w.labels, match.batch.back());
  });
  if (!weightsPerHead) {
    std::optional<std::pair<Value, int64_t>> kGroups = unrepeatHeads(b, loc, k);
    std::optional<std::pair<Value, int64_t>> vGroups = unrepeatHeads(b, loc, v);
    if (kGroups && vGroups && kGroups->second == vGroups->second) {
      k = kGroups->first;
      v = vGroups->first;
    }
  }
  if (match.kind == AttentionMatch::Kind::Softmax) {
    Value bias;
    if (!match.bias.empty()) {
      int64_t width = static_cast<int64_t>(match.bias.size()) / match.biasHeads;
      auto biasType =
          RankedTensorType::get({match.biasHeads, width}, b.getF32Type());
      bias = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(biasType, ArrayRef(match.bias)));
    }
    result = KernelAttentionOp::create(
        b, loc, KernelAttentionOp::inferResultType(q, v), q, k, v, Value(),
        bias, Value(), Value(),
        PairKernelAttr::get(b.getContext(), PairKernel::Softmax),
        b.getBoolAttr(match.causal),
        b.getF32FloatAttr(static_cast<float>(match.temperature)),
        b.getI64IntegerAttr(4),
        NormalizeAttr::get(b.getContext(), Normalize::Divide),
        b.getF32FloatAttr(1e-6f));
  } else {
    if (match.fq)
      q = FeatureMapOp::create(b, loc, q, Value(), match.fq->kernel,
                               match.fq->eps, /*is_query=*/true);
    if (match.fk)
      k = FeatureMapOp::create(b, loc, k, Value(), match.fk->kernel,
                               match.fk->eps, /*is_query=*/false);
    for (const Operand &weight : match.keyWeights)
      k = layout.weighted(k, weight, match.s, x);
    Value phi, psi;
    if (match.phi) {
      Label y = featureOf(*match.phi, match.l);
      phi = layout.toLayout(*match.phi, match.l, y);
      psi = layout.toLayout(*match.psi, match.s, y);
    } else if (const std::optional<LowRankMask> &mask = match.rpeMask) {
      // The factors of a constant mask: [L, r] and [S, r] tables broadcast
      // over the batch.
      auto table = [&](int64_t tokens, ArrayRef<float> values) {
        auto type = RankedTensorType::get({tokens, mask->rank}, b.getF32Type());
        return arith::ConstantOp::create(b, loc,
                                         DenseElementsAttr::get(type, values))
            .getResult();
      };
      Value phiTable = table(mask->tokensL, mask->phi);
      Value psiTable = table(mask->tokensS, mask->psi);
      Label y = terms.freshLabel(mask->rank, phiTable, 1);
      phi = layout.toLayout({phiTable, {match.l, y}}, match.l, y);
      psi = layout.toLayout({psiTable, {match.s, y}}, match.s, y);
    }
    result = LinearAttentionOp::create(b, loc, q, k, v, phi, psi, match.causal,
                                       Normalize::Divide, match.eps)
                 .getResult();
  }
  result = layout.fromLayout(result, match.l, match.e, match.rootOut,
                             cast<RankedTensorType>(root->getResultTypes()[0]));
  return layout.scaled(result, match.scale);
}

/// Whether the flt ops can take the matched operands: f32 tensors (the flt
/// ops' bf16 forms are not produced by raising), no label repeated within
/// one operand (a diagonal has no [B, H, T, F] layout).
bool mlir::flt::isRewritable(const AttentionMatch &match) {
  SmallVector<const Operand *> operands = {&match.q, &match.k, &match.v};
  if (match.phi)
    operands.append({&*match.phi, &*match.psi});
  for (const Operand &weight : match.keyWeights)
    operands.push_back(&weight);
  for (const Operand *operand : operands) {
    auto type = dyn_cast<RankedTensorType>(operand->value.getType());
    if (!type || !type.getElementType().isF32())
      return false;
    SmallVector<Label> labels;
    for (Label label : operand->labels)
      if (label != kUnitDim) {
        if (llvm::is_contained(labels, label))
          return false;
        labels.push_back(label);
      }
  }
  for (const auto &fm : {match.fq, match.fk})
    if (fm &&
        !cast<RankedTensorType>(fm->input.getType()).getElementType().isF32())
      return false;
  return true;
}
