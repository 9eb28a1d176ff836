//===- ShapeChecks.cpp - run-time size checks of compiled functions -------===//
//
// A function with dynamic sizes can be called with arrays whose sizes
// disagree (keys of length 5, values of length 7). The op verifiers know
// every such relation (ShapeRules.h); here they become a companion function
// that the runtime calls first, so no kernel ever runs on sizes it was not
// written for.
//
//===----------------------------------------------------------------------===//

#include "flt/Compiler/ShapeChecks.h"

#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "flt/Dialect/FLT/IR/ShapeRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
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

/// i1: whether `rule` is violated.
Value violated(OpBuilder &b, Location loc, const ShapeRule &rule) {
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

/// Whether only size arithmetic is left (the flt ops and their operands'
/// producers were all resolved away).
bool onlySizeArithmetic(func::FuncOp func) {
  WalkResult result = func.walk([](Operation *op) {
    if (isa<func::FuncOp, func::ReturnOp, tensor::DimOp>(op) ||
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
  for (func::FuncOp func : functions) {
    OpBuilder b(func);
    b.setInsertionPointAfter(func);
    auto check = cast<func::FuncOp>(b.clone(*func));
    check.setSymName((kShapeCheckPrefix + func.getSymName()).str());
    check.setFunctionType(
        FunctionType::get(context, func.getArgumentTypes(), {b.getI64Type()}));
    check->removeAttr("res_attrs");
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
      messages.push_back(rule.message);
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
