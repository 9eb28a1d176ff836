//===- Vectorize.cpp - flt-vectorize --------------------------------------===//
//
// The hot loops of the fused linear attention are small static contractions
// (a [64 × 32] Kronecker block times a [64 × 32] value tile, a query block
// times a state block, read transposed in the fused backward) and the
// elementwise products that form the blocks.
// Contractions are register-tiled: accumulators stay in vector registers for
// the whole reduction, B's row is one vector load and each A element one
// broadcast feeding `rows` FMAs. Elementwise generics are cut into rows of
// `columns` lanes and vectorized by upstream linalg vectorization.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTVECTORIZE
#include "flt/Codegen/CPU/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;

namespace {

/// C += A B on static f32 tensors, A [M, K] or [K, M], B [K, N] or [N, K];
/// causal: over k <= m only (StructuredBuilder::causalMatmulAccumulate).
struct Contraction {
  Value a, b, c;
  bool transposedA;
  int64_t m, n, k;
  bool causal = false;
  bool transposedB = false;
};

/// Whether `value` is acc + a * b (either operand order) of the block's
/// arguments.
bool isMultiplyAdd(Value value, Block &body) {
  auto add = value.getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  if (add.getLhs() != acc && add.getRhs() != acc)
    return false;
  Value other = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  auto mul = other.getDefiningOp<arith::MulFOp>();
  return mul &&
         llvm::is_contained(ValueRange{mul.getLhs(), mul.getRhs()},
                            body.getArgument(0)) &&
         llvm::is_contained(ValueRange{mul.getLhs(), mul.getRhs()},
                            body.getArgument(1));
}

/// Whether `value` is `index(reduced) ule index(row)` in the body.
bool isCausalCondition(Value value, unsigned row, unsigned reduced) {
  auto cmp = value.getDefiningOp<arith::CmpIOp>();
  if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::ule)
    return false;
  auto lhs = cmp.getLhs().getDefiningOp<linalg::IndexOp>();
  auto rhs = cmp.getRhs().getDefiningOp<linalg::IndexOp>();
  return lhs && rhs && lhs.getDim() == reduced && rhs.getDim() == row;
}

/// Recognizes C[m, n] += A[m, k] * B[k, n] (or A[k, m], or B[n, k]) in
/// `op`, and its causal form C[m, n] = k <= m ? C[m, n] + A[m, k] B[k, n] :
/// C[m, n].
std::optional<Contraction> matchContraction(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3)
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::parallel ||
      iterators[2] != utils::IteratorType::reduction)
    return std::nullopt;
  // The body must be acc + a * b exactly (isaContraction also admits other
  // combiners and operand orders), or that under the causal select: index
  // k, index m, the comparison, the product, the sum, the select, yield.
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  Value yielded = yield.getOperand(0);
  bool causal = false;
  if (auto select = yielded.getDefiningOp<arith::SelectOp>()) {
    if (body.getOperations().size() != 7 ||
        select.getFalseValue() != body.getArgument(2) ||
        !isCausalCondition(select.getCondition(), 0, 2) ||
        !isMultiplyAdd(select.getTrueValue(), body))
      return std::nullopt;
    causal = true;
  } else if (body.getOperations().size() != 3 ||
             !linalg::isaContractionOpInterface(op) ||
             !isMultiplyAdd(yielded, body)) {
    return std::nullopt;
  }

  MLIRContext *ctx = op.getContext();
  AffineExpr d0, d1, d2;
  bindDims(ctx, d0, d1, d2);
  auto mapOf = [&](ArrayRef<AffineExpr> exprs) {
    return AffineMap::get(3, 0, exprs, ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[2] != mapOf({d0, d1}))
    return std::nullopt;
  bool transposedB;
  if (maps[1] == mapOf({d2, d1}))
    transposedB = false;
  else if (maps[1] == mapOf({d1, d2}) && !causal)
    transposedB = true;
  else
    return std::nullopt;
  bool transposedA;
  if (maps[0] == mapOf({d0, d2}))
    transposedA = false;
  else if (maps[0] == mapOf({d2, d0}) && !causal)
    transposedA = true;
  else
    return std::nullopt;

  Contraction contraction{op.getDpsInputs()[0],
                          op.getDpsInputs()[1],
                          op.getDpsInits()[0],
                          transposedA,
                          0,
                          0,
                          0,
                          causal,
                          transposedB};
  for (Value v : {contraction.a, contraction.b, contraction.c}) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
      return std::nullopt;
  }
  auto cType = cast<RankedTensorType>(contraction.c.getType());
  auto bType = cast<RankedTensorType>(contraction.b.getType());
  contraction.m = cType.getDimSize(0);
  contraction.n = cType.getDimSize(1);
  contraction.k = bType.getDimSize(transposedB ? 1 : 0);
  return contraction;
}

struct VectorizeContraction : OpRewritePattern<linalg::GenericOp> {
  VectorizeContraction(MLIRContext *ctx, int64_t rows, int64_t columns,
                       int64_t columnVectors)
      : OpRewritePattern(ctx), rows(rows), columns(columns),
        columnVectors(columnVectors) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<Contraction> match = matchContraction(op);
    if (!match)
      return rewriter.notifyMatchFailure(op, "not a static f32 contraction");
    Contraction cn = *match;
    if (cn.m % rows != 0 || cn.n % columns != 0 || cn.k == 0)
      return rewriter.notifyMatchFailure(op, "not a multiple of the tile");

    Location loc = op.getLoc();
    auto vectorType = VectorType::get({columns}, rewriter.getF32Type());
    auto index = [&](OpBuilder &b, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value zero = index(rewriter, 0), one = index(rewriter, 1);
    Value padding =
        arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
    SmallVector<bool> inBounds = {true};
    // B [N, K]: transposed once into [K, N] (N K moves against M N K FMAs),
    // so that each k reads one contiguous row of it as below.
    if (cn.transposedB) {
      Value init = tensor::EmptyOp::create(
          rewriter, loc, ArrayRef<int64_t>{cn.k, cn.n}, rewriter.getF32Type());
      cn.b = linalg::TransposeOp::create(rewriter, loc, cn.b, init,
                                         ArrayRef<int64_t>{1, 0})
                 .getResult()[0];
    }
    auto read = [&](OpBuilder &b, Value source, Value row, Value col) {
      return vector::TransferReadOp::create(b, loc, vectorType, source,
                                            ValueRange{row, col}, padding,
                                            ArrayRef<bool>(inBounds))
          .getResult();
    };
    // C = fill(x) (a product from zero): the accumulators start at x and
    // the loops write into the fill's destination, so that C is never read
    // (a zero tile hoisted out of a loop would otherwise be copied into a
    // fresh buffer every iteration).
    Value filledWith;
    if (auto fill = cn.c.getDefiningOp<linalg::FillOp>()) {
      if (fill.hasPureTensorSemantics() &&
          fill.value().getType() == rewriter.getF32Type() &&
          matchPattern(fill.value(), m_Constant())) {
        filledWith = vector::BroadcastOp::create(rewriter, loc, vectorType,
                                                 fill.value());
        cn.c = fill.getOutputs()[0];
      }
    }

    // Up to `columnVectors` vectors of columns per accumulator row (more
    // independent chains, and each broadcast A element feeds that many
    // FMAs), as many as divide N.
    int64_t vectors = columnVectors;
    while (cn.n % (vectors * columns) != 0)
      --vectors;
    auto rowLoop = scf::ForOp::create(
        rewriter, loc, zero, index(rewriter, cn.m), index(rewriter, rows),
        ValueRange{cn.c},
        [&](OpBuilder &b, Location, Value m0, ValueRange rowIter) {
          auto colLoop = scf::ForOp::create(
              b, loc, zero, index(b, cn.n), index(b, vectors * columns),
              rowIter,
              [&](OpBuilder &b2, Location, Value n0, ValueRange colIter) {
                Value tile = colIter[0];
                SmallVector<Value> rowIndices, columnIndices, accumulators;
                for (int64_t v = 0; v < vectors; ++v)
                  columnIndices.push_back(
                      v == 0 ? n0
                             : arith::AddIOp::create(b2, loc, n0,
                                                     index(b2, v * columns))
                                   .getResult());
                for (int64_t r = 0; r < rows; ++r) {
                  Value row =
                      r == 0 ? m0
                             : arith::AddIOp::create(b2, loc, m0, index(b2, r))
                                   .getResult();
                  rowIndices.push_back(row);
                  for (Value column : columnIndices)
                    accumulators.push_back(
                        filledWith ? filledWith : read(b2, tile, row, column));
                }
                // Causal: keys after the tile's last row add nothing.
                Value kEnd = index(b2, cn.k);
                if (cn.causal)
                  kEnd = arith::MinUIOp::create(
                      b2, loc, kEnd,
                      arith::AddIOp::create(b2, loc, m0, index(b2, rows)));
                auto kLoop = scf::ForOp::create(
                    b2, loc, zero, kEnd, one, accumulators,
                    [&](OpBuilder &b3, Location, Value k, ValueRange accs) {
                      SmallVector<Value> bRow;
                      for (Value column : columnIndices)
                        bRow.push_back(read(b3, cn.b, k, column));
                      SmallVector<Value> updated;
                      for (int64_t r = 0; r < rows; ++r) {
                        SmallVector<Value> at =
                            cn.transposedA
                                ? SmallVector<Value>{k, rowIndices[r]}
                                : SmallVector<Value>{rowIndices[r], k};
                        Value scalar =
                            tensor::ExtractOp::create(b3, loc, cn.a, at);
                        Value splat = vector::BroadcastOp::create(
                            b3, loc, vectorType, scalar);
                        for (int64_t v = 0; v < vectors; ++v) {
                          Value acc = accs[r * vectors + v];
                          Value sum = vector::FMAOp::create(b3, loc, splat,
                                                            bRow[v], acc);
                          // Skipped, not multiplied by 0 (see
                          // causalMatmulAccumulate).
                          if (cn.causal)
                            sum = arith::SelectOp::create(
                                b3, loc,
                                arith::CmpIOp::create(b3, loc,
                                                      arith::CmpIPredicate::ule,
                                                      k, rowIndices[r]),
                                sum, acc);
                          updated.push_back(sum);
                        }
                      }
                      scf::YieldOp::create(b3, loc, updated);
                    });
                for (int64_t r = 0; r < rows; ++r)
                  for (int64_t v = 0; v < vectors; ++v)
                    tile = vector::TransferWriteOp::create(
                               b2, loc, kLoop.getResult(r * vectors + v), tile,
                               ValueRange{rowIndices[r], columnIndices[v]},
                               ArrayRef<bool>(inBounds))
                               .getResult();
                scf::YieldOp::create(b2, loc, tile);
              });
          scf::YieldOp::create(b, loc, colLoop.getResult(0));
        });
    rewriter.replaceOp(op, rowLoop.getResult(0));
    return success();
  }

  int64_t rows, columns, columnVectors;
};

/// Static float generics whose innermost loop is parallel and runs along
/// the last dim of the result: elementwise ops, and sums over outer loops
/// (acc[t] += Σ_c x[c, t] y[c, t], the fused backward's per-token dot
/// products of transposed tiles). Tiled to [1, ..., 1, columns] and each
/// tile vectorized: contiguous loads and stores along the last dim, outer
/// reductions as vector adds lane by lane (each lane sums in the scalar
/// loops' order).
struct VectorizeElementwise : OpRewritePattern<linalg::GenericOp> {
  VectorizeElementwise(MLIRContext *ctx, int64_t columns)
      : OpRewritePattern(ctx, /*benefit=*/0), columns(columns) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumLoops() == 0 ||
        op.getNumLoops() > 3 || op.getNumDpsInits() != 1 ||
        op.getIteratorTypesArray().back() != utils::IteratorType::parallel)
      return rewriter.notifyMatchFailure(op, "not elementwise");
    // The result is written along the innermost loop, one row per tile.
    AffineMap resultMap = op.getIndexingMapsArray().back();
    unsigned innermost = op.getNumLoops() - 1;
    if (!resultMap.isProjectedPermutation() || resultMap.getNumResults() == 0 ||
        resultMap.getResults().back() !=
            getAffineDimExpr(innermost, op.getContext()) ||
        (op.getNumReductionLoops() == 0 && !resultMap.isIdentity()))
      return rewriter.notifyMatchFailure(op, "result not along the last loop");
    // Rows of `columns` lanes: the innermost extent must be static; the
    // others may be dynamic (they become the tile loops).
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (ShapedType::isDynamic(ranges.back()) || ranges.back() % columns != 0)
      return rewriter.notifyMatchFailure(op, "not static rows of columns");
    for (Value operand : op->getOperands()) {
      auto type = dyn_cast<RankedTensorType>(operand.getType());
      if (!type || !isa<FloatType>(type.getElementType()))
        return rewriter.notifyMatchFailure(op, "not float tensors");
    }
    // Body ops that vectorize as lanes: arith and math (no index math, no
    // tensor.extract).
    for (Operation &inner : op.getRegion().front().without_terminator())
      if (!isa<arith::ArithDialect, math::MathDialect>(inner.getDialect()) ||
          isa<arith::IndexCastOp>(inner))
        return rewriter.notifyMatchFailure(op, "body is not lane-wise");
    if (failed(linalg::vectorizeOpPrecondition(op)))
      return rewriter.notifyMatchFailure(op, "linalg cannot vectorize it");

    // Tiles of one row of up to four vectors (independent lanes for the
    // sums' dependency chains; fewer loop trips), with every static
    // reduction loop whole: its sum then stays in registers instead of
    // being stored and reloaded at every step.
    // (Up to 64 summed rows: the tile is unrolled into that many steps.)
    SmallVector<int64_t> tileShape(ranges.size(), 1);
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    int64_t summedRows = 1;
    for (size_t d = 0; d + 1 < ranges.size(); ++d)
      if (iterators[d] == utils::IteratorType::reduction &&
          ShapedType::isStatic(ranges[d]) && summedRows * ranges[d] <= 64) {
        tileShape[d] = ranges[d];
        summedRows *= ranges[d];
      }
    for (int64_t lanes : {4 * columns, 2 * columns, columns})
      if (ranges.back() % lanes == 0) {
        tileShape.back() = lanes;
        break;
      }
    SmallVector<Operation *> tiles = {op};
    if (ArrayRef<int64_t>(tileShape) != ArrayRef<int64_t>(ranges)) {
      SmallVector<OpFoldResult> tileSizes;
      for (int64_t size : tileShape)
        tileSizes.push_back(rewriter.getIndexAttr(size));
      scf::SCFTilingOptions options;
      options.setTileSizes(tileSizes);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled))
        return rewriter.notifyMatchFailure(op, "tiling failed");
      rewriter.replaceOp(op, tiled->replacements);
      tiles = tiled->tiledOps;
    }
    for (Operation *tile : tiles) {
      FailureOr<linalg::VectorizationResult> vectorized =
          linalg::vectorize(rewriter, tile);
      if (failed(vectorized))
        return failure();
      rewriter.replaceOp(tile, vectorized->replacements);
    }
    return success();
  }

  int64_t columns;
};

/// A transfer_read that broadcasts one tensor element (permutation map
/// results all constant 0) is tensor.extract + vector.broadcast: one scalar
/// load instead of a 0-d vector transfer.
struct BroadcastReadToExtract : OpRewritePattern<vector::TransferReadOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(vector::TransferReadOp op,
                                PatternRewriter &rewriter) const override {
    if (!isa<RankedTensorType>(op.getBase().getType()) || op.getMask() ||
        !llvm::all_of(op.getPermutationMap().getResults(), [](AffineExpr e) {
          auto constant = dyn_cast<AffineConstantExpr>(e);
          return constant && constant.getValue() == 0;
        }))
      return rewriter.notifyMatchFailure(op, "not a broadcast tensor read");
    Value scalar = tensor::ExtractOp::create(rewriter, op.getLoc(),
                                             op.getBase(), op.getIndices());
    rewriter.replaceOpWithNewOp<vector::BroadcastOp>(op, op.getVectorType(),
                                                     scalar);
    return success();
  }
};

struct FLTVectorizePass : mlir::flt::impl::FLTVectorizeBase<FLTVectorizePass> {
  using FLTVectorizeBase::FLTVectorizeBase;

  void runOnOperation() override {
    if (rows <= 0 || columns <= 0 || columnVectors <= 0) {
      getOperation()->emitError()
          << "flt-vectorize: rows, columns and column-vectors must be positive";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<VectorizeContraction>(&getContext(), rows, columns,
                                       columnVectors);
    patterns.add<VectorizeElementwise>(&getContext(), columns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();

    // Row tiles vectorize to vector<1x...x16xf32>: drop the unit dims so
    // that every transfer is a plain 1-D load or store, or a scalar.
    RewritePatternSet unitDims(&getContext());
    vector::populateCastAwayVectorLeadingOneDimPatterns(unitDims);
    vector::populateVectorTransferDropUnitDimsPatterns(unitDims);
    unitDims.add<BroadcastReadToExtract>(&getContext());
    // The vectorized tiles are [rows summed, up to four vectors]: unrolled
    // into single vectors of `columns` lanes, the sums become chains of
    // vector adds (one per lane group) that stay in registers.
    int64_t lanes = columns;
    vector::populateVectorUnrollPatterns(
        unitDims,
        vector::UnrollVectorOptions().setNativeShapeFn(
            [lanes](Operation *op) -> std::optional<SmallVector<int64_t>> {
              auto unrollable = dyn_cast<VectorUnrollOpInterface>(op);
              if (!unrollable)
                return std::nullopt;
              std::optional<SmallVector<int64_t>> shape =
                  unrollable.getShapeForUnroll();
              if (!shape || shape->empty() || shape->back() % lanes != 0 ||
                  (shape->size() == 1 && shape->back() == lanes))
                return std::nullopt;
              SmallVector<int64_t> native(shape->size(), 1);
              native.back() = lanes;
              return native;
            }));
    // A row tile's sums over outer loops are reductions over unit dims:
    // plain vector adds.
    vector::MultiDimReductionOp::getCanonicalizationPatterns(unitDims,
                                                             &getContext());
    vector::populateVectorMultiReductionLoweringPatterns(
        unitDims, vector::VectorMultiReductionLowering::InnerParallel);
    // exp on f32 (scalars and vectors) as a polynomial: the softmax and
    // FAVOR+ weights are L² and L·m exps that libm would compute one by one.
    populateMathPolynomialApproximationPatterns(
        unitDims, [](StringRef name) { return name == "math.exp"; });
    if (failed(applyPatternsGreedily(getOperation(), std::move(unitDims))))
      signalPassFailure();
  }
};

} // namespace
