//===- ContractionsToMMA.cpp - flt-contractions-to-mma --------------------===//
//
// Warp tiles marked by flt-tile-contractions-to-warps -> per-lane fragment
// loads, `nvvm.mma.sync` over the reduction and per-lane stores. The
// fragment layouts are the PTX ISA's for mma.m16n8k16 (f16, bf16) and
// mma.m16n8k8 (tf32), A row-major and B column-major ("row.col"), with
// f32 accumulators. See Passes.td for the contract and an example.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/GPU/Passes.h"

#include "WarpContraction.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTCONTRACTIONSTOMMA
#include "flt/Codegen/GPU/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using namespace mlir::flt;

namespace {

/// Emits the fragments of one marked warp tile. Lane l of the warp is in
/// group g = l / 4 at position t = l % 4 of its group; the PTX fragment
/// layouts are written in terms of (g, t).
class FragmentEmitter {
public:
  FragmentEmitter(RewriterBase &rewriter, linalg::LinalgOp op,
                  const Contraction &contraction, MMAType type)
      : rewriter(rewriter), op(op), contraction(contraction), type(type),
        loc(op.getLoc()) {}

  void emit() {
    rewriter.setInsertionPoint(op);
    Value lane = gpu::LaneIdOp::create(rewriter, loc, IntegerAttr());
    group = arith::DivUIOp::create(rewriter, loc, lane, constant(4));
    inGroup = arith::RemUIOp::create(rewriter, loc, lane, constant(4));

    // Accumulators c0..c3: rows g, g, g+8, g+8; columns 2t, 2t+1, ...
    Value column = times(inGroup, 2);
    SmallVector<std::pair<Value, Value>> accumulatorPoints = {
        {group, column},
        {group, plus(column, 1)},
        {plus(group, 8), column},
        {plus(group, 8), plus(column, 1)}};
    SmallVector<Value> accumulators;
    for (auto [row, col] : accumulatorPoints)
      accumulators.push_back(loadOutput(row, col));

    int64_t depth = op.getStaticLoopRanges()[contraction.k];
    auto steps = scf::ForOp::create(rewriter, loc, constant(0), constant(depth),
                                    constant(mmaDepth(type)), accumulators);
    rewriter.setInsertionPointToStart(steps.getBody());
    Value k0 = steps.getInductionVar();
    SmallVector<Value> a =
        type == MMAType::TF32 ? tf32OperandA(k0) : halfOperandA(k0);
    SmallVector<Value> b =
        type == MMAType::TF32 ? tf32OperandB(k0) : halfOperandB(k0);
    Value product = mma(a, b, steps.getRegionIterArgs());
    SmallVector<Value> updated;
    for (int64_t i = 0; i < 4; ++i)
      updated.push_back(LLVM::ExtractValueOp::create(rewriter, loc, product,
                                                     ArrayRef<int64_t>{i}));
    scf::YieldOp::create(rewriter, loc, updated);

    rewriter.setInsertionPointAfter(steps);
    for (auto [point, value] : llvm::zip(accumulatorPoints, steps.getResults()))
      storeOutput(point.first, point.second, value);
    rewriter.eraseOp(op);
  }

private:
  Value constant(int64_t value) {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  }
  Value plus(Value value, int64_t offset) {
    return offset == 0
               ? value
               : arith::AddIOp::create(rewriter, loc, value, constant(offset))
                     .getResult();
  }
  Value times(Value value, int64_t factor) {
    return arith::MulIOp::create(rewriter, loc, value, constant(factor));
  }

  /// Indices into operand `operand` of the point (m, n, k) of the loops.
  SmallVector<Value> indices(OpOperand &operand, Value m, Value n, Value k) {
    SmallVector<Value> byDim(3);
    byDim[contraction.m] = m;
    byDim[contraction.n] = n;
    byDim[contraction.k] = k;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    return {byDim[map.getDimPosition(0)], byDim[map.getDimPosition(1)]};
  }
  Value load(OpOperand &operand, Value m, Value n, Value k) {
    return memref::LoadOp::create(rewriter, loc, operand.get(),
                                  indices(operand, m, n, k));
  }
  Value loadOutput(Value m, Value n) {
    return load(*op.getDpsInitOperand(0), m, n, Value());
  }
  void storeOutput(Value m, Value n, Value value) {
    OpOperand &output = *op.getDpsInitOperand(0);
    memref::StoreOp::create(rewriter, loc, value, output.get(),
                            indices(output, m, n, Value()));
  }
  Value loadA(Value m, Value k) {
    return load(*op.getDpsInputOperand(0), m, Value(), k);
  }
  Value loadB(Value k, Value n) {
    return load(*op.getDpsInputOperand(1), Value(), n, k);
  }

  /// `value` rounded to `target` (f32 in between when both are halves).
  Value convert(Value value, FloatType target) {
    auto source = cast<FloatType>(value.getType());
    if (source == target)
      return value;
    if (source.getWidth() < target.getWidth())
      return arith::ExtFOp::create(rewriter, loc, target, value);
    if (source.getWidth() == target.getWidth())
      value =
          arith::ExtFOp::create(rewriter, loc, rewriter.getF32Type(), value);
    return arith::TruncFOp::create(rewriter, loc, target, value);
  }

  /// One 32-bit register of two f16/bf16 elements, the first in the low
  /// half: vector<2xf16> for f16, i32 for bf16 (what nvvm.mma.sync takes).
  Value halfPair(Value first, Value second) {
    FloatType element = type == MMAType::BF16
                            ? FloatType(rewriter.getBF16Type())
                            : FloatType(rewriter.getF16Type());
    auto pairType = VectorType::get({2}, element);
    Value pair = vector::FromElementsOp::create(
        rewriter, loc, pairType,
        ValueRange{convert(first, element), convert(second, element)});
    if (type == MMAType::F16)
      return pair;
    Value word = vector::BitCastOp::create(
        rewriter, loc, VectorType::get({1}, rewriter.getI32Type()), pair);
    return vector::ExtractOp::create(rewriter, loc, word, ArrayRef<int64_t>{0});
  }

  /// A (16 x 16) of m16n8k16: registers (g, 2t), (g+8, 2t), (g, 2t+8),
  /// (g+8, 2t+8), each with the next column.
  SmallVector<Value> halfOperandA(Value k0) {
    Value column = arith::AddIOp::create(rewriter, loc, times(inGroup, 2), k0);
    SmallVector<Value> registers;
    for (int64_t r = 0; r < 4; ++r) {
      Value row = plus(group, (r & 1) ? 8 : 0);
      Value col = plus(column, (r & 2) ? 8 : 0);
      registers.push_back(halfPair(loadA(row, col), loadA(row, plus(col, 1))));
    }
    return registers;
  }

  /// B (16 x 8) of m16n8k16: registers (2t, g) and (2t+8, g), each with the
  /// next row.
  SmallVector<Value> halfOperandB(Value k0) {
    Value row = arith::AddIOp::create(rewriter, loc, times(inGroup, 2), k0);
    SmallVector<Value> registers;
    for (int64_t r = 0; r < 2; ++r) {
      Value k = plus(row, r ? 8 : 0);
      registers.push_back(halfPair(loadB(k, group), loadB(plus(k, 1), group)));
    }
    return registers;
  }

  /// An f32 as the 32-bit register of a tf32 operand (the tensor core
  /// reads its top 19 bits).
  Value tf32Register(Value value) {
    return arith::BitcastOp::create(rewriter, loc, rewriter.getI32Type(),
                                    convert(value, rewriter.getF32Type()));
  }

  /// A (16 x 8) of m16n8k8 tf32: (g, t), (g+8, t), (g, t+4), (g+8, t+4).
  SmallVector<Value> tf32OperandA(Value k0) {
    Value column = arith::AddIOp::create(rewriter, loc, inGroup, k0);
    SmallVector<Value> registers;
    for (int64_t r = 0; r < 4; ++r)
      registers.push_back(tf32Register(
          loadA(plus(group, (r & 1) ? 8 : 0), plus(column, (r & 2) ? 4 : 0))));
    return registers;
  }

  /// B (8 x 8) of m16n8k8 tf32: (t, g) and (t+4, g).
  SmallVector<Value> tf32OperandB(Value k0) {
    Value row = arith::AddIOp::create(rewriter, loc, inGroup, k0);
    return {tf32Register(loadB(row, group)),
            tf32Register(loadB(plus(row, 4), group))};
  }

  Value mma(ValueRange a, ValueRange b, ValueRange c) {
    Type f32 = rewriter.getF32Type();
    auto resultType = LLVM::LLVMStructType::getLiteral(rewriter.getContext(),
                                                       {f32, f32, f32, f32});
    NVVM::MMATypes operandType = type == MMAType::BF16  ? NVVM::MMATypes::bf16
                                 : type == MMAType::F16 ? NVVM::MMATypes::f16
                                                        : NVVM::MMATypes::tf32;
    return NVVM::MmaOp::create(
        rewriter, loc, resultType, a, b, c,
        ArrayRef<int64_t>{kMMARows, kMMAColumns, mmaDepth(type)},
        /*b1Op=*/std::nullopt, /*intOverflow=*/std::nullopt,
        std::array<NVVM::MMATypes, 2>{operandType, operandType},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
  }

  RewriterBase &rewriter;
  linalg::LinalgOp op;
  Contraction contraction;
  MMAType type;
  Location loc;
  Value group, inGroup;
};

struct FLTContractionsToMMAPass
    : mlir::flt::impl::FLTContractionsToMMABase<FLTContractionsToMMAPass> {
  using FLTContractionsToMMABase::FLTContractionsToMMABase;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> tiles;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op->hasAttr(kMMAAttrName))
        tiles.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : tiles) {
      auto name = op->getAttrOfType<StringAttr>(kMMAAttrName);
      std::optional<MMAType> type =
          name ? parseMMAType(name.getValue()) : std::nullopt;
      if (!type) {
        op.emitError("flt-contractions-to-mma: '")
            << kMMAAttrName << "' must be \"bf16\", \"f16\" or \"tf32\"";
        return signalPassFailure();
      }
      std::optional<Contraction> contraction = matchContraction(op);
      SmallVector<int64_t> sizes = op.getStaticLoopRanges();
      if (!contraction || sizes[contraction->m] != kMMARows ||
          sizes[contraction->n] != kMMAColumns ||
          ShapedType::isDynamic(sizes[contraction->k]) ||
          sizes[contraction->k] % mmaDepth(*type) != 0) {
        op.emitError("flt-contractions-to-mma: expects a ")
            << kMMARows << " x " << kMMAColumns << " x (multiple of "
            << mmaDepth(*type)
            << ") warp tile of a contraction (flt-tile-contractions-to-warps)";
        return signalPassFailure();
      }
      if (!op->getParentOfType<gpu::LaunchOp>() &&
          !op->getParentOfType<gpu::GPUFuncOp>()) {
        op.emitError("flt-contractions-to-mma: warp tiles must be inside a "
                     "GPU kernel (run flt-map-to-gpu first)");
        return signalPassFailure();
      }
      FragmentEmitter(rewriter, op, *contraction, *type).emit();
    }
  }
};

} // namespace
