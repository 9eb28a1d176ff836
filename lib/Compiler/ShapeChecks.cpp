//===- ShapeChecks.cpp - run-time size checks of compiled functions -------===//
//
// A function with dynamic sizes can be called with arrays whose sizes
// disagree (keys of length 5, values of length 7). The op verifiers know
// every such relation (ShapeRules.h); here they become a companion function
// that the runtime calls first, so no kernel ever runs on sizes it was not
// written for.
//
// Two rules read contents instead of sizes: the offsets of packed sequences
// and the lengths of padded ones (ShapeRule::Kind::Offsets / Lengths). Those
// loops run only when the runtime hands the check the table's data (a null
// data pointer, validation from sizes alone, skips them); the kernels clamp
// both tables anyway, so unchecked contents cannot make them read outside a
// tensor.
//
//===----------------------------------------------------------------------===//

#include "flt/Compiler/ShapeChecks.h"

#include "flt/Codegen/GPU/Passes.h"
#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "flt/Dialect/FLT/IR/ShapeRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

/// An i64 value for dim(value, dim).
Value sizeOf(OpBuilder &b, Location loc, Value value, int64_t dim) {
  Value size = tensor::DimOp::create(b, loc, value, dim);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), size);
}

Value i64(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, b.getI64Type(), value);
}

/// i1: whether the contents of the rank-1 integer table `rule.value` break
/// an Offsets or Lengths rule (false when its data pointer is null).
Value contentsViolated(OpBuilder &b, Location loc, const ShapeRule &rule) {
  Value table = rule.value;
  auto type = cast<RankedTensorType>(table.getType());
  Value bound =
      sizeOf(b, loc, rule.terms.front().value, rule.terms.front().dim);
  Value count = tensor::DimOp::create(b, loc, table, 0);
  MLIRContext *context = b.getContext();
  auto bufferType =
      MemRefType::get(type.getShape(), type.getElementType(),
                      StridedLayoutAttr::get(context, ShapedType::kDynamic,
                                             {ShapedType::kDynamic}));
  Value buffer = bufferization::ToBufferOp::create(b, loc, bufferType, table,
                                                   /*read_only=*/true);
  Value pointer =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  Value zeroIndex = arith::ConstantIndexOp::create(b, loc, 0);
  Value present = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                        pointer, zeroIndex);
  bool offsets = rule.kind == ShapeRule::Kind::Offsets;
  auto check = scf::IfOp::create(
      b, loc, present,
      [&](OpBuilder &tb, Location) {
        Value last = arith::SubIOp::create(
            tb, loc, count, arith::ConstantIndexOp::create(tb, loc, 1));
        Value clean = arith::ConstantIntOp::create(tb, loc, tb.getI1Type(), 0);
        // Offsets also need at least one entry (the size rule says so; an
        // empty table gives no loop iteration to fail in).
        Value initial = clean;
        if (offsets)
          initial = arith::CmpIOp::create(tb, loc, arith::CmpIPredicate::eq,
                                          count, zeroIndex);
        auto walk = scf::ForOp::create(
            tb, loc, zeroIndex, count,
            arith::ConstantIndexOp::create(tb, loc, 1), ValueRange{initial},
            [&](OpBuilder &lb, Location, Value i, ValueRange iter) {
              auto entryAt = [&](Value index) {
                Value entry = tensor::ExtractOp::create(lb, loc, table,
                                                        ValueRange{index});
                return entry.getType().isInteger(64)
                           ? entry
                           : arith::ExtSIOp::create(lb, loc, lb.getI64Type(),
                                                    entry)
                                 .getResult();
              };
              Value x = entryAt(i);
              Value zero = i64(lb, loc, 0);
              Value bad;
              if (offsets) {
                // x_0 = 0, x_i > x_{i-1}, x_last = bound. The previous
                // entry is read at max(i - 1, 0) and used only for i > 0.
                Value first = arith::CmpIOp::create(
                    lb, loc, arith::CmpIPredicate::eq, i, zeroIndex);
                Value previousIndex = arith::SelectOp::create(
                    lb, loc, first, zeroIndex,
                    arith::SubIOp::create(
                        lb, loc, i,
                        arith::ConstantIndexOp::create(lb, loc, 1)));
                Value previous = entryAt(previousIndex);
                Value notRising = arith::CmpIOp::create(
                    lb, loc, arith::CmpIPredicate::sle, x, previous);
                Value notZero = arith::CmpIOp::create(
                    lb, loc, arith::CmpIPredicate::ne, x, zero);
                bad =
                    arith::SelectOp::create(lb, loc, first, notZero, notRising);
                Value isLast = arith::CmpIOp::create(
                    lb, loc, arith::CmpIPredicate::eq, i, last);
                Value notEnd = arith::CmpIOp::create(
                    lb, loc, arith::CmpIPredicate::ne, x, bound);
                bad = arith::OrIOp::create(
                    lb, loc, bad,
                    arith::AndIOp::create(lb, loc, isLast, notEnd));
              } else {
                bad = arith::OrIOp::create(
                    lb, loc,
                    arith::CmpIOp::create(lb, loc, arith::CmpIPredicate::slt, x,
                                          zero),
                    arith::CmpIOp::create(lb, loc, arith::CmpIPredicate::sgt, x,
                                          bound));
              }
              scf::YieldOp::create(
                  lb, loc,
                  ValueRange{arith::OrIOp::create(lb, loc, iter[0], bad)});
            });
        scf::YieldOp::create(tb, loc, walk.getResult(0));
      },
      [&](OpBuilder &eb, Location) {
        scf::YieldOp::create(eb, loc,
                             ValueRange{arith::ConstantIntOp::create(
                                 eb, loc, eb.getI1Type(), 0)});
      });
  return check.getResult(0);
}

/// i1: whether `rule` is violated.
Value violated(OpBuilder &b, Location loc, const ShapeRule &rule) {
  if (rule.kind == ShapeRule::Kind::Offsets ||
      rule.kind == ShapeRule::Kind::Lengths)
    return contentsViolated(b, loc, rule);
  if (rule.kind == ShapeRule::Kind::Product) {
    Value lhs = sizeOf(b, loc, rule.value, rule.dim);
    Value product = i64(b, loc, rule.constant);
    for (const ShapeRule::Term &term : rule.terms)
      product = arith::MulIOp::create(b, loc, product,
                                      sizeOf(b, loc, term.value, term.dim));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, lhs,
                                 product);
  }
  Value lhs = sizeOf(b, loc, rule.value, rule.dim);
  Value rhs = i64(b, loc, rule.constant);
  for (const ShapeRule::Term &term : rule.terms) {
    Value size = sizeOf(b, loc, term.value, term.dim);
    Value scaled =
        arith::MulIOp::create(b, loc, size, i64(b, loc, term.coefficient));
    rhs = arith::AddIOp::create(b, loc, rhs, scaled);
  }
  if (rule.kind == ShapeRule::Kind::Equal)
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, lhs, rhs);
  if (rule.kind == ShapeRule::Kind::AtLeast)
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, lhs, rhs);
  // MultipleOf: lhs > 0, rhs > 0 and lhs % rhs == 0 (never divide by 0).
  Value zero = i64(b, loc, 0);
  Value rhsPositive =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, rhs, zero);
  Value lhsPositive =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, lhs, zero);
  Value divisor =
      arith::SelectOp::create(b, loc, rhsPositive, rhs, i64(b, loc, 1));
  Value remainder = arith::RemSIOp::create(b, loc, lhs, divisor);
  Value divides =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, remainder, zero);
  Value holds = arith::AndIOp::create(
      b, loc, arith::AndIOp::create(b, loc, rhsPositive, lhsPositive), divides);
  return arith::XOrIOp::create(
      b, loc, holds, arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1));
}

/// Whether only size arithmetic (and the reads of argument tables) is left
/// (the flt ops and their operands' producers were all resolved away).
bool onlySizeArithmetic(func::FuncOp func) {
  WalkResult result = func.walk([](Operation *op) {
    if (isa<func::FuncOp, func::ReturnOp, tensor::DimOp, tensor::ExtractOp,
            bufferization::ToBufferOp, memref::ExtractAlignedPointerAsIndexOp,
            scf::IfOp, scf::ForOp, scf::YieldOp>(op) ||
        isa<arith::ArithDialect>(op->getDialect()))
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  return !result.wasInterrupted();
}

} // namespace

FailureOr<ShapeCheckTable> mlir::flt::addShapeCheckFunctions(ModuleOp module) {
  ShapeCheckTable table;
  SmallVector<func::FuncOp> functions;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isDeclaration())
      functions.push_back(func);

  MLIRContext *context = module.getContext();
  // The content checks build ops of these (loaded before any op is made).
  context->loadDialect<bufferization::BufferizationDialect,
                       memref::MemRefDialect, scf::SCFDialect>();
  for (func::FuncOp func : functions) {
    OpBuilder b(func);
    b.setInsertionPointAfter(func);
    auto check = cast<func::FuncOp>(b.clone(*func));
    check.setSymName((kShapeCheckPrefix + func.getSymName()).str());
    check.setFunctionType(
        FunctionType::get(context, func.getArgumentTypes(), {b.getI64Type()}));
    check->removeAttr("res_attrs");
    // The runtime calls it on the host with host arrays (CUDA libraries
    // too): its table reads are host reads.
    check->setAttr(kHostFunctionAttrName, b.getUnitAttr());
    std::vector<std::string> &messages = table[func.getSymName()];

    Location loc = check.getLoc();
    auto returnZero = [&](func::FuncOp target) {
      target.getBody().getBlocks().clear();
      Block *block = target.addEntryBlock();
      OpBuilder rb = OpBuilder::atBlockEnd(block);
      func::ReturnOp::create(rb, loc, i64(rb, loc, 0));
    };
    if (!check.getBody().hasOneBlock()) {
      func.emitWarning() << "flt-compile: no run-time size checks for @"
                         << func.getSymName()
                         << " (its body has several blocks)";
      returnZero(check);
      messages.clear();
      continue;
    }

    Block &body = check.getBody().front();
    Operation *terminator = body.getTerminator();
    SmallVector<ShapeRule> rules;
    for (Operation &op : body.without_terminator())
      if (isa<FLTDialect>(op.getDialect()))
        collectRuntimeShapeRules(&op, rules);
    // Contents are checked for the function's own arguments only (a table
    // computed in the body has no data before the kernel runs).
    llvm::erase_if(rules, [](const ShapeRule &rule) {
      return (rule.kind == ShapeRule::Kind::Offsets ||
              rule.kind == ShapeRule::Kind::Lengths) &&
             !isa<BlockArgument>(rule.value);
    });

    b.setInsertionPoint(terminator);
    Value code = i64(b, loc, 0);
    for (auto [index, rule] : llvm::enumerate(rules)) {
      Value bad = violated(b, loc, rule);
      Value first = arith::AndIOp::create(
          b, loc, bad,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, code,
                                i64(b, loc, 0)));
      code =
          arith::SelectOp::create(b, loc, first, i64(b, loc, index + 1), code);
      // The runtime words a broken content rule as such (ShapeChecks.h).
      bool contents = rule.kind == ShapeRule::Kind::Offsets ||
                      rule.kind == ShapeRule::Kind::Lengths;
      messages.push_back((contents ? kContentRulePrefix : "") + rule.message);
    }
    func::ReturnOp::create(b, loc, code);
    terminator->erase();

    // Sizes of op results -> sizes of the arguments; the ops die.
    RewritePatternSet patterns(context);
    memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
    memref::populateResolveShapedTypeResultDimsPatterns(patterns);
    tensor::DimOp::getCanonicalizationPatterns(patterns, context);
    if (failed(applyPatternsGreedily(check, std::move(patterns))) ||
        !onlySizeArithmetic(check)) {
      func.emitWarning() << "flt-compile: no run-time size checks for @"
                         << func.getSymName()
                         << " (its sizes do not reduce to argument sizes)";
      returnZero(check);
      messages.clear();
    }
  }
  return table;
}
