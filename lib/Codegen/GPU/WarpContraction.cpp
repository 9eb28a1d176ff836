//===- WarpContraction.cpp - Contractions that tensor cores run -----------===//

#include "WarpContraction.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

llvm::StringRef mlir::flt::stringifyMMAType(MMAType type) {
  switch (type) {
  case MMAType::BF16:
    return "bf16";
  case MMAType::F16:
    return "f16";
  case MMAType::TF32:
    return "tf32";
  }
  llvm_unreachable("unknown MMAType");
}

std::optional<mlir::flt::MMAType>
mlir::flt::parseMMAType(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<MMAType>>(name)
      .Case("bf16", MMAType::BF16)
      .Case("f16", MMAType::F16)
      .Case("tf32", MMAType::TF32)
      .Default(std::nullopt);
}

int64_t mlir::flt::mmaDepth(MMAType type) {
  return type == MMAType::TF32 ? 8 : 16;
}

/// Whether `value` is the block argument `index` of the body.
static bool isArgument(Value value, unsigned index) {
  auto argument = dyn_cast<BlockArgument>(value);
  return argument && argument.getArgNumber() == index;
}

/// `value` without an arith.extf in front (half inputs widened to f32).
static Value stripExtension(Value value) {
  if (auto extension = value.getDefiningOp<arith::ExtFOp>())
    return extension.getIn();
  return value;
}

/// The body `out + in0 * in1` (either operand order of both ops; inputs
/// possibly widened by arith.extf first).
static bool isMultiplyAccumulate(Block &body) {
  if (body.getNumArguments() != 3 ||
      llvm::range_size(body.without_terminator()) > 4 ||
      llvm::any_of(body.without_terminator(), [](Operation &op) {
        return !isa<arith::MulFOp, arith::AddFOp, arith::ExtFOp>(op);
      }))
    return false;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues().size() == 1
                 ? yield.getValues()[0].getDefiningOp<arith::AddFOp>()
                 : nullptr;
  if (!add)
    return false;
  Value product = isArgument(add.getLhs(), 2)   ? add.getRhs()
                  : isArgument(add.getRhs(), 2) ? add.getLhs()
                                                : Value();
  auto multiply = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!multiply || multiply->getBlock() != &body)
    return false;
  Value lhs = stripExtension(multiply.getLhs());
  Value rhs = stripExtension(multiply.getRhs());
  return (isArgument(lhs, 0) && isArgument(rhs, 1)) ||
         (isArgument(lhs, 1) && isArgument(rhs, 0));
}

std::optional<mlir::flt::Contraction>
mlir::flt::matchContraction(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3 ||
      op.getNumReductionLoops() != 1)
    return std::nullopt;
  auto elementType = [&](Value operand) {
    return cast<MemRefType>(operand.getType()).getElementType();
  };
  Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1];
  Value c = op.getDpsInits()[0];
  for (Value operand : {a, b})
    if (!isa<Float16Type, BFloat16Type, Float32Type>(elementType(operand)))
      return std::nullopt;
  if (!elementType(c).isF32())
    return std::nullopt;

  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (AffineMap map : maps)
    if (map.getNumResults() != 2 || !map.isProjectedPermutation())
      return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  auto reduction = llvm::find(iterators, utils::IteratorType::reduction);
  unsigned k = std::distance(iterators.begin(), reduction);

  // m is the parallel dim A has, n the one B has; C has both.
  auto otherDim = [&](AffineMap map) -> std::optional<unsigned> {
    unsigned first = map.getDimPosition(0), second = map.getDimPosition(1);
    if (first == k)
      return second;
    if (second == k)
      return first;
    return std::nullopt;
  };
  std::optional<unsigned> m = otherDim(maps[0]), n = otherDim(maps[1]);
  if (!m || !n || *m == *n)
    return std::nullopt;
  llvm::SmallDenseSet<unsigned, 2> outputDims = {maps[2].getDimPosition(0),
                                                 maps[2].getDimPosition(1)};
  if (!outputDims.contains(*m) || !outputDims.contains(*n))
    return std::nullopt;
  if (!isMultiplyAccumulate(op->getRegion(0).front()))
    return std::nullopt;
  return Contraction{*m, *n, k};
}
