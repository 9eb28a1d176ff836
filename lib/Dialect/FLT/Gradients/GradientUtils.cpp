//===- GradientUtils.cpp - IR building blocks of the gradient rules -------===//

#include "GradientUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flt;
using namespace mlir::flt::gradients;

static SmallVector<unsigned> allDims(unsigned rank) {
  return llvm::to_vector(llvm::seq<unsigned>(rank));
}

Value GradientBuilder::map(ValueRange inputs,
                           ArrayRef<SmallVector<unsigned>> inputDims,
                           Value like, BodyFn body) {
  unsigned rank = cast<RankedTensorType>(like.getType()).getRank();
  SmallVector<AffineMap> maps;
  for (auto [i, input] : llvm::enumerate(inputs))
    maps.push_back(inputDims.empty() ? map(rank, allDims(rank))
                                     : map(rank, inputDims[i]));
  maps.push_back(map(rank, allDims(rank)));
  Value init = empty(dims(like), builder().getF32Type());
  return generic1(inputs, init, maps, parallel(rank),
                  [&](OpBuilder &nb, Location nl, ValueRange args) {
                    SmallVector<Value> scalars;
                    StructuredBuilder sb(nb, nl);
                    for (Value arg : args.drop_back())
                      scalars.push_back(sb.convertScalar(arg, nb.getF32Type()));
                    return body(nb, nl, scalars);
                  });
}

Value GradientBuilder::sum(ValueRange inputs,
                           ArrayRef<SmallVector<unsigned>> inputDims,
                           ArrayRef<OpFoldResult> loopSizes,
                           ArrayRef<unsigned> reduced, BodyFn body) {
  unsigned loops = loopSizes.size();
  // Loop order: kept dims first (in order), then the reduced ones, so that
  // the iterator types are parallel... then reduction.
  SmallVector<unsigned> kept, order;
  for (unsigned d = 0; d < loops; ++d)
    if (!llvm::is_contained(reduced, d))
      kept.push_back(d);
  order = kept;
  order.append(reduced.begin(), reduced.end());
  // position of original dim d in the new loop order
  SmallVector<unsigned> position(loops);
  for (auto [i, d] : llvm::enumerate(order))
    position[d] = i;
  SmallVector<AffineMap> maps;
  for (ArrayRef<unsigned> dimsOfInput : inputDims) {
    SmallVector<unsigned> remapped;
    for (unsigned d : dimsOfInput)
      remapped.push_back(position[d]);
    maps.push_back(map(loops, remapped));
  }
  SmallVector<unsigned> out;
  SmallVector<OpFoldResult> outSizes;
  for (auto [i, d] : llvm::enumerate(kept)) {
    out.push_back(i);
    outSizes.push_back(loopSizes[d]);
  }
  maps.push_back(map(loops, out));
  Value init = filled(outSizes, builder().getF32Type(), 0.0);
  return generic1(inputs, init, maps, parallel(kept.size(), reduced.size()),
                  [&](OpBuilder &nb, Location nl, ValueRange args) {
                    SmallVector<Value> scalars;
                    StructuredBuilder sb(nb, nl);
                    for (Value arg : args.drop_back())
                      scalars.push_back(sb.convertScalar(arg, nb.getF32Type()));
                    Value term = body(nb, nl, scalars).front();
                    return SmallVector<Value>{
                        arith::AddFOp::create(nb, nl, args.back(), term)};
                  });
}

Value GradientBuilder::add(Value a, Value bValue) {
  Type element = cast<RankedTensorType>(a.getType()).getElementType();
  unsigned rank = cast<RankedTensorType>(a.getType()).getRank();
  Value init = empty(dims(a), element);
  return generic1(ValueRange{a, bValue}, init,
                  {map(rank, allDims(rank)), map(rank, allDims(rank)),
                   map(rank, allDims(rank))},
                  parallel(rank),
                  [&](OpBuilder &nb, Location nl, ValueRange args) {
                    return SmallVector<Value>{
                        arith::AddFOp::create(nb, nl, args[0], args[1])};
                  });
}

Value GradientBuilder::castTo(Value tensor, Type type) {
  auto target = cast<RankedTensorType>(type);
  auto source = cast<RankedTensorType>(tensor.getType());
  Value converted = tensor;
  if (source.getElementType() != target.getElementType()) {
    unsigned rank = source.getRank();
    Value init = empty(dims(tensor), target.getElementType());
    converted = generic1(
        tensor, init, {map(rank, allDims(rank)), map(rank, allDims(rank))},
        parallel(rank), [&](OpBuilder &nb, Location nl, ValueRange args) {
          return SmallVector<Value>{StructuredBuilder(nb, nl).convertScalar(
              args[0], target.getElementType())};
        });
  }
  if (converted.getType() != type)
    converted = tensor::CastOp::create(builder(), location(), type, converted);
  return converted;
}

Value GradientBuilder::zerosLike(Value like, Type type) {
  auto target = cast<RankedTensorType>(type);
  Value init = empty(dims(like), target.getElementType());
  Value zero = arith::ConstantOp::create(
      builder(), location(), builder().getZeroAttr(target.getElementType()));
  Value zeros =
      linalg::FillOp::create(builder(), location(), zero, init).getResult(0);
  if (zeros.getType() != type)
    zeros = tensor::CastOp::create(builder(), location(), type, zeros);
  return zeros;
}

Value GradientBuilder::concat(Value a, Value bValue, int64_t dim) {
  auto type = cast<RankedTensorType>(a.getType());
  SmallVector<OpFoldResult> sizes = dims(a);
  OpFoldResult aSize = sizes[dim];
  OpFoldResult bSize = this->dim(bValue, dim);
  AffineExpr s0, s1;
  bindSymbols(builder().getContext(), s0, s1);
  sizes[dim] = affine::makeComposedFoldedAffineApply(builder(), location(),
                                                     s0 + s1, {aSize, bSize});
  Value result = empty(sizes, type.getElementType());
  SmallVector<OpFoldResult> offsets(type.getRank(), builder().getIndexAttr(0));
  SmallVector<OpFoldResult> aSizes = dims(a), bSizes = dims(bValue);
  result = insert(a, result, offsets, aSizes);
  offsets[dim] = aSize;
  return insert(bValue, result, offsets, bSizes);
}

Value GradientBuilder::onesColumn(Value like, int64_t dim) {
  SmallVector<OpFoldResult> sizes = dims(like);
  sizes[dim] = builder().getIndexAttr(1);
  return filled(sizes, builder().getF32Type(), 1.0);
}

Value GradientBuilder::lastDimSlice(Value tensor, OpFoldResult offset,
                                    OpFoldResult size) {
  unsigned rank = cast<RankedTensorType>(tensor.getType()).getRank();
  SmallVector<OpFoldResult> offsets(rank, builder().getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = dims(tensor);
  offsets.back() = offset;
  sizes.back() = size;
  return slice(tensor, offsets, sizes, rank);
}

Value GradientBuilder::reverseAlong(Value tensor, unsigned dim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  Value init = empty(dims(tensor), type.getElementType());
  Value length = getValueOrCreateConstantIndexOp(builder(), location(),
                                                 this->dim(tensor, dim));
  unsigned rank = type.getRank();
  // out[.., l, ..] = in[.., N - 1 - l, ..]: a gather (the map is not affine
  // in a way linalg can state for a dynamic N).
  return generic1(
      ValueRange{}, init, {map(rank, allDims(rank))}, parallel(rank),
      [&](OpBuilder &nb, Location nl, ValueRange) {
        SmallVector<Value> indices;
        for (unsigned d = 0; d < rank; ++d)
          indices.push_back(linalg::IndexOp::create(nb, nl, d));
        Value last = arith::SubIOp::create(
            nb, nl, length, arith::ConstantIndexOp::create(nb, nl, 1));
        indices[dim] = arith::SubIOp::create(nb, nl, last, indices[dim]);
        return SmallVector<Value>{
            tensor::ExtractOp::create(nb, nl, tensor, indices)};
      });
}

Value GradientBuilder::reverseOffsets(Value cuSeqlens, OpFoldResult tokens) {
  auto type = cast<RankedTensorType>(cuSeqlens.getType());
  Type element = type.getElementType();
  Value reversed = reverseAlong(cuSeqlens, 0);
  Value total = arith::IndexCastOp::create(
      builder(), location(), element,
      getValueOrCreateConstantIndexOp(builder(), location(), tokens));
  return generic1(ValueRange{reversed}, empty(dims(cuSeqlens), element),
                  {map(1, {0}), map(1, {0})}, parallel(1),
                  [&](OpBuilder &nb, Location nl, ValueRange args) {
                    return SmallVector<Value>{
                        arith::SubIOp::create(nb, nl, total, args[0])};
                  });
}

Value GradientBuilder::regroupState(Value state, OpFoldResult m, OpFoldResult r,
                                    ArrayRef<unsigned> order) {
  assert(order.size() == 3 && "a permutation of (a, f, c)");
  SmallVector<OpFoldResult> sizes = dims(state);
  Type f32 = builder().getF32Type();
  auto staticSizes = [](ArrayRef<OpFoldResult> values) {
    SmallVector<int64_t> shape;
    for (OpFoldResult value : values)
      shape.push_back(
          getConstantIntValue(value).value_or(ShapedType::kDynamic));
    return shape;
  };
  // [B, H, m·r, c] -> [B, H, m, r, c]: the same memory.
  SmallVector<OpFoldResult> split = {sizes[0], sizes[1], m, r, sizes[3]};
  Value expanded = tensor::ExpandShapeOp::create(
      builder(), location(), RankedTensorType::get(staticSizes(split), f32),
      state, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}}, split);
  // Loops over the result [B, H, X, Y, Z]; the input's index k (of a, f, c)
  // is the loop at the position `order` puts it.
  SmallVector<OpFoldResult> permuted = {sizes[0], sizes[1]};
  SmallVector<unsigned> inputDims = {0, 1, 0, 0, 0};
  for (auto [position, index] : llvm::enumerate(order)) {
    permuted.push_back(split[2 + index]);
    inputDims[2 + index] = 2 + position;
  }
  Value transposed =
      generic1(ValueRange{expanded}, empty(permuted, f32),
               {map(5, inputDims), map(5, {0, 1, 2, 3, 4})}, parallel(5),
               [](OpBuilder &, Location, ValueRange args) {
                 return SmallVector<Value>{args[0]};
               });
  return tensor::CollapseShapeOp::create(
      builder(), location(), transposed,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}});
}

GroupedPadding::GroupedPadding(GradientBuilder &gb, Value fq, Value &fk,
                               Value &v, Value &g, bool grouped, Value lengths)
    : gb(gb), grouped(grouped), lengths(lengths), kvHeads(gb.dim(fk, 1)) {
  if (grouped) {
    fk = gb.repeatHeads(fk, gb.dim(fq, 1));
    v = gb.repeatHeads(v, gb.dim(fq, 1));
  }
  if (lengths) {
    fk = gb.zeroRowsFrom(fk, lengths);
    g = gb.zeroRowsFrom(g, lengths);
  }
}

Value GroupedPadding::keyGradient(Value dfk) {
  if (lengths)
    dfk = gb.zeroRowsFrom(dfk, lengths);
  return grouped ? gb.sumHeadGroups(dfk, kvHeads) : dfk;
}

Value GroupedPadding::valueGradient(Value dv) {
  return grouped ? gb.sumHeadGroups(dv, kvHeads) : dv;
}

Value GradientBuilder::sequenceOfTokens(Value cuSeqlens, OpFoldResult length) {
  Type element = cast<RankedTensorType>(cuSeqlens.getType()).getElementType();
  OpFoldResult count = dim(cuSeqlens, 0);
  return generic1(
      ValueRange{cuSeqlens}, filled({length}, element, 0.0),
      {map(2, {1}), map(2, {0})}, parallel(1, 1),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value i = arith::IndexCastOp::create(
            nb, nl, element, linalg::IndexOp::create(nb, nl, 0));
        Value n = linalg::IndexOp::create(nb, nl, 1);
        Value last = arith::SubIOp::create(
            nb, nl, getValueOrCreateConstantIndexOp(nb, nl, count),
            arith::ConstantIndexOp::create(nb, nl, 1));
        // c_0 = 0 and c_N = L start no sequence a token is in.
        Value inner = arith::AndIOp::create(
            nb, nl,
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ugt, n,
                                  arith::ConstantIndexOp::create(nb, nl, 0)),
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, n, last));
        Value started = arith::AndIOp::create(
            nb, nl, inner,
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sle, args[0],
                                  i));
        Value step = arith::ExtUIOp::create(nb, nl, element, started);
        return SmallVector<Value>{arith::AddIOp::create(nb, nl, args[1], step)};
      });
}

Value GradientBuilder::padTokens(Value t, OpFoldResult low,
                                 OpFoldResult high) {
  SmallVector<OpFoldResult> sizes = dims(t);
  AffineExpr s0, s1, s2;
  bindSymbols(builder().getContext(), s0, s1, s2);
  SmallVector<OpFoldResult> paddedSizes = sizes;
  paddedSizes[2] = affine::makeComposedFoldedAffineApply(
      builder(), location(), s0 + s1 + s2, {sizes[2], low, high});
  Value dest = filled(paddedSizes, builder().getF32Type(), 0.0);
  SmallVector<OpFoldResult> offsets(4, builder().getIndexAttr(0));
  offsets[2] = low;
  return insert(t, dest, offsets, sizes);
}

Value GradientBuilder::padTokensToTiles(Value t, int64_t tile,
                                        OpFoldResult &padded) {
  AffineExpr s0, s1;
  bindSymbols(builder().getContext(), s0, s1);
  OpFoldResult tokens = dim(t, 2);
  padded = affine::makeComposedFoldedAffineApply(
      builder(), location(), s0.ceilDiv(tile) * tile, {tokens});
  OpFoldResult extra = affine::makeComposedFoldedAffineApply(
      builder(), location(), s0 - s1, {padded, tokens});
  return padTokens(t, builder().getIndexAttr(0), extra);
}

Value GradientBuilder::addDiagonals(Value row, Value tile, Value offset) {
  OpBuilder &b = builder();
  MLIRContext *context = b.getContext();
  Type f32 = b.getF32Type();
  int64_t size = cast<RankedTensorType>(tile.getType()).getDimSize(0);
  OpFoldResult t = b.getIndexAttr(size), zero = b.getIndexAttr(0);
  // The tile read through size - 1 zero columns on each side, so that every
  // diagonal reads inside it.
  Value wide = insert(tile, filled({t, b.getIndexAttr(3 * size - 2)}, f32, 0.0),
                      {zero, b.getIndexAttr(size - 1)}, {t, t});
  AffineExpr c, i;
  bindDims(context, c, i);
  Value diagonals = generic1(
      ValueRange{wide}, filled({b.getIndexAttr(2 * size - 1)}, f32, 0.0),
      {AffineMap::get(2, 0, {i, i + c}, context), map(2, {0})},
      parallel(1, 1), [](OpBuilder &nb, Location nl, ValueRange x) {
        return one(arith::AddFOp::create(nb, nl, x[1], x[0]));
      });
  OpFoldResult width = b.getIndexAttr(2 * size - 1);
  Value segment = slice(row, {offset}, {width}, 1);
  return insert(add(segment, diagonals), row, {offset}, {width});
}

OpFoldResult GradientBuilder::addSize(OpFoldResult a, int64_t constant) {
  AffineExpr s0;
  bindSymbols(builder().getContext(), s0);
  return affine::makeComposedFoldedAffineApply(builder(), location(),
                                               s0 + constant, {a});
}

Value GradientBuilder::sizePower(OpFoldResult size, double exponent) {
  if (std::optional<int64_t> known = getConstantIntValue(size))
    return f32(std::pow(static_cast<double>(*known), exponent));
  Value index = getValueOrCreateConstantIndexOp(builder(), location(), size);
  Value integer = arith::IndexCastOp::create(builder(), location(),
                                             builder().getI64Type(), index);
  Value real = arith::SIToFPOp::create(builder(), location(),
                                       builder().getF32Type(), integer);
  return math::PowFOp::create(builder(), location(), real, f32(exponent));
}
