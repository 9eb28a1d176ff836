//===- DifferentiableOpInterface.td - reverse-mode rules -*- tablegen -*-===//
//
// The gradient rule of an op: its vector-Jacobian product, built as IR.
// flt-generate-vjp walks a function backwards and asks every op on the path
// from the arguments to the results for its rule; the rules themselves live
// beside the ops they differentiate (lib/Dialect/FLT/Gradients/, attached as
// external models), as BufferizableOpInterface's do.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_DIALECT_FLT_IR_DIFFERENTIABLEOPINTERFACE_TD
#define FLT_DIALECT_FLT_IR_DIFFERENTIABLEOPINTERFACE_TD

include "mlir/IR/OpBase.td"

def FLT_DifferentiableOpInterface
    : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::flt";
  let description = [{
    An op whose results are differentiable functions of (some of) its
    operands. `buildVJP` builds, at the builder's insertion point (after the
    op), the cotangent of every operand that `needed` asks for, given one
    cotangent per result (a null Value for a result nobody differentiates:
    its cotangent is zero). The returned vector has one entry per operand:
    the cotangent, of the operand's type, or a null Value where the operand
    was not asked for or has no gradient (integer operands). The rule may
    read the op's operands and results (the forward values) and may build
    any IR, flt ops included: those are lowered like any other.

    Conventions (docs/Semantics.md §4): stabilizers and running maxima are
    constants; relu'(0) = 0; a guarded normalizer differentiates as num / den
    where den > 0 and as num / 1 elsewhere. Failure (with a diagnostic on
    the op) for an input the rule does not support.
  }];
  let methods = [
    InterfaceMethod<
      /*desc=*/"Builds the operands' cotangents from the results' ones.",
      /*retTy=*/"::mlir::FailureOr<::llvm::SmallVector<::mlir::Value>>",
      /*methodName=*/"buildVJP",
      /*args=*/(ins "::mlir::OpBuilder &":$builder,
                    "::mlir::ValueRange":$resultCotangents,
                    "::llvm::ArrayRef<bool>":$needed)>,
  ];
}

#endif // FLT_DIALECT_FLT_IR_DIFFERENTIABLEOPINTERFACE_TD
