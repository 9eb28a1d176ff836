//===- GenerateVJP.cpp - flt-generate-vjp ---------------------------------===//
//
// Reverse mode over a function's single block: recompute the forward values,
// then visit the ops last to first, asking each for its rule
// (DifferentiableOpInterface) with the cotangents its results have gathered
// so far. A value used several times sums its uses' cotangents. Only float
// tensors carry cotangents; integer and index values are constants for
// differentiation.
//
//===----------------------------------------------------------------------===//

#include "flt/Dialect/FLT/IR/DifferentiableOpInterface.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"
#include "flt/Utils/StructuredBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTGENERATEVJP
#include "flt/Dialect/FLT/Transforms/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using namespace mlir::flt;

namespace {

/// Whether values of `type` carry cotangents.
bool isDifferentiable(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && isa<FloatType>(tensor.getElementType());
}

/// Zeros of `type` with the dynamic sizes of `like`.
Value zerosLike(OpBuilder &b, Location loc, Value like, Type type) {
  StructuredBuilder sb(b, loc);
  auto tensor = cast<RankedTensorType>(type);
  Value init = sb.empty(sb.dims(like), tensor.getElementType());
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(tensor.getElementType()));
  Value zeros = linalg::FillOp::create(b, loc, zero, init).getResult(0);
  if (zeros.getType() != type)
    zeros = tensor::CastOp::create(b, loc, type, zeros);
  return zeros;
}

/// a + b for tensors of one type.
Value sum(OpBuilder &b, Location loc, Value x, Value y) {
  StructuredBuilder sb(b, loc);
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  SmallVector<unsigned> dims = llvm::to_vector(llvm::seq<unsigned>(rank));
  Value init = sb.empty(sb.dims(x), type.getElementType());
  Value result =
      sb.generic1(ValueRange{x, y}, init,
                  {sb.map(rank, dims), sb.map(rank, dims), sb.map(rank, dims)},
                  StructuredBuilder::parallel(rank),
                  [](OpBuilder &nb, Location nl, ValueRange args) {
                    return SmallVector<Value>{
                        arith::AddFOp::create(nb, nl, args[0], args[1])};
                  });
  if (result.getType() != x.getType())
    result = tensor::CastOp::create(b, loc, x.getType(), result);
  return result;
}

struct FLTGenerateVJPPass
    : mlir::flt::impl::FLTGenerateVJPBase<FLTGenerateVJPPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> functions;
    for (auto func : module.getOps<func::FuncOp>())
      if (func.isPublic() && !func.isDeclaration())
        functions.push_back(func);
    for (func::FuncOp func : functions)
      if (failed(generate(func)))
        return signalPassFailure();
  }

  LogicalResult generate(func::FuncOp func) {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    std::string name = (func.getSymName() + "_vjp").str();
    if (SymbolTable::lookupSymbolIn(module, name))
      return func.emitError()
             << "flt-generate-vjp: @" << name << " exists already";
    if (!func.getBody().hasOneBlock())
      return func.emitError()
             << "flt-generate-vjp: @" << func.getSymName()
             << " has several blocks; only straight-line functions are "
                "differentiated";
    FunctionType type = func.getFunctionType();
    for (Type t : llvm::concat<const Type>(type.getInputs(), type.getResults()))
      if (!isa<RankedTensorType>(t))
        return func.emitError() << "flt-generate-vjp: @" << func.getSymName()
                                << " takes or returns " << t
                                << "; only ranked tensors are differentiated";

    // @f_vjp(args..., cotangents...) -> (grads...).
    SmallVector<Type> inputs(type.getInputs());
    llvm::append_range(inputs, type.getResults());
    OpBuilder b(context);
    b.setInsertionPointAfter(func);
    auto vjp = func::FuncOp::create(
        b, func.getLoc(), name,
        FunctionType::get(context, inputs, type.getInputs()));
    Block *block = vjp.addEntryBlock();
    unsigned numArgs = type.getNumInputs();
    IRMapping mapping;
    for (unsigned i = 0; i < numArgs; ++i)
      mapping.map(func.getArgument(i), vjp.getArgument(i));
    b.setInsertionPointToEnd(block);
    for (Operation &op : func.getBody().front())
      b.clone(op, mapping);

    // Composite ops into the primitives the rules are written for.
    RewritePatternSet decompose(context);
    populateDecomposePatterns(decompose);
    if (failed(applyPatternsGreedily(vjp, std::move(decompose))))
      return vjp.emitError("flt-generate-vjp: decomposition failed");

    // Which values depend on a differentiable argument.
    llvm::DenseSet<Value> active;
    for (unsigned i = 0; i < numArgs; ++i)
      if (isDifferentiable(vjp.getArgument(i).getType()))
        active.insert(vjp.getArgument(i));
    Block &body = vjp.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    for (Operation &op : body.without_terminator())
      if (llvm::any_of(op.getOperands(),
                       [&](Value v) { return active.contains(v); }))
        for (Value result : op.getResults())
          if (isDifferentiable(result.getType()))
            active.insert(result);

    // Cotangents, seeded by the results'.
    llvm::DenseMap<Value, Value> cotangent;
    b.setInsertionPoint(ret);
    auto accumulate = [&](Value value, Value grad) {
      auto [it, inserted] = cotangent.try_emplace(value, grad);
      if (!inserted)
        it->second = sum(b, value.getLoc(), it->second, grad);
    };
    for (auto [i, result] : llvm::enumerate(ret.getOperands()))
      if (active.contains(result))
        accumulate(result, vjp.getArgument(numArgs + i));

    SmallVector<Operation *> ops;
    for (Operation &op : body.without_terminator())
      ops.push_back(&op);
    for (Operation *op : llvm::reverse(ops)) {
      SmallVector<Value> resultCotangents;
      bool any = false;
      for (Value result : op->getResults()) {
        Value c = cotangent.lookup(result);
        any |= static_cast<bool>(c);
        resultCotangents.push_back(c);
      }
      SmallVector<bool> needed;
      bool anyNeeded = false;
      for (Value operand : op->getOperands()) {
        needed.push_back(active.contains(operand));
        anyNeeded |= needed.back();
      }
      if (!any || !anyNeeded)
        continue;
      auto rule = dyn_cast<DifferentiableOpInterface>(op);
      if (!rule)
        return op->emitError()
               << "flt-generate-vjp: no gradient rule for '" << op->getName()
               << "' (on the path from the arguments of @" << func.getSymName()
               << " to its results)";
      // A result nobody differentiates has a zero cotangent.
      for (auto [result, c] : llvm::zip(op->getResults(), resultCotangents))
        if (!c && isDifferentiable(result.getType()))
          c = zerosLike(b, op->getLoc(), result, result.getType());
      FailureOr<SmallVector<Value>> grads =
          rule.buildVJP(b, resultCotangents, needed);
      if (failed(grads))
        return failure();
      for (auto [operand, grad, want] :
           llvm::zip(op->getOperands(), *grads, needed))
        if (want && grad)
          accumulate(operand, grad);
    }

    SmallVector<Value> grads;
    for (unsigned i = 0; i < numArgs; ++i) {
      Value arg = vjp.getArgument(i);
      Value grad = cotangent.lookup(arg);
      grads.push_back(grad ? grad
                           : zerosLike(b, vjp.getLoc(), arg, arg.getType()));
    }
    func::ReturnOp::create(b, ret.getLoc(), grads);
    ret.erase();
    return success();
  }
};

} // namespace
