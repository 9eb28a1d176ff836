//===- FLTOps.cpp - flt dialect operations --------------------------------===//
//
// Verifiers, builders and result-shape reification of the flt ops. Every
// verifier checks the shape relations of SPEC.md section 2 and names the
// operands and sizes involved; a dynamic size matches anything.
//
//===----------------------------------------------------------------------===//

#include "flt/Dialect/FLT/IR/FLTOps.h"
#include "flt/Dialect/FLT/IR/ShapeRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flt;

//===----------------------------------------------------------------------===//
// Verification helpers
//===----------------------------------------------------------------------===//

namespace {

/// The names of a tensor's dimensions, used in diagnostics.
using Layout = ArrayRef<StringLiteral>;

// The layouts of SPEC.md (per-token tensors are [B, H, L, F]).
constexpr StringLiteral kQ[] = {"B", "H", "L", "d"};
constexpr StringLiteral kK[] = {"B", "H", "S", "d"};
constexpr StringLiteral kV[] = {"B", "H", "S", "e"};
constexpr StringLiteral kOut[] = {"B", "H", "L", "e"};
constexpr StringLiteral kFq[] = {"B", "H", "L", "m"};
constexpr StringLiteral kFk[] = {"B", "H", "S", "m"};
constexpr StringLiteral kPhi[] = {"B", "H", "L", "r"};
constexpr StringLiteral kPsi[] = {"B", "H", "S", "r"};
constexpr StringLiteral kProj[] = {"H", "m", "d"};
constexpr StringLiteral kTheta[] = {"H", "P"};
constexpr StringLiteral kXi[] = {"H", "m_f", "p"};
constexpr StringLiteral kRho[] = {"H", "m_f"};
constexpr StringLiteral kPositions[] = {"B", "L", "p"};
constexpr StringLiteral kSpectralFeatures[] = {"B", "H", "L", "2m_f"};
constexpr StringLiteral kScale[] = {"H", "d"};
constexpr StringLiteral kPairBias[] = {"H", "L+S-1"};
constexpr StringLiteral kToeplitzBias[] = {"H", "2L-1"};
constexpr StringLiteral kAngles[] = {"H", "angles"};
constexpr StringLiteral kMixVector[] = {"H", "d"};
constexpr StringLiteral kTokenPositions[] = {"B", "L"};
constexpr StringLiteral kTransformed[] = {"B", "H", "L", "d'"};

/// Which element types an operand may have (SPEC.md section 1).
enum class ElementKind {
  /// q/k/v/out and the per-token features computed from them.
  Activation,
  /// Positions and spectral parameters.
  F32,
};

bool isActivationElementType(Type type) {
  return type.isF32() || type.isF16() || type.isBF16();
}

/// Checks one op's operands and reports the first violation only: once a
/// check failed, the later ones are skipped, so each may assume that the
/// tensors it reads passed their rank checks.
class ShapeChecker {
public:
  /// With `rules`, relations that involve a dynamic size are appended there
  /// (for the run-time check) instead of being skipped.
  explicit ShapeChecker(Operation *op,
                        SmallVectorImpl<ShapeRule> *rules = nullptr)
      : op(op), rules(rules) {}

  /// `value`, called `name`, must have one dimension per entry of `layout`
  /// and an element type of `kind`. Registers it for the checks below.
  ShapeChecker &tensor(StringRef name, Value value, Layout layout,
                       ElementKind kind) {
    if (!ok)
      return *this;
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getRank() != static_cast<int64_t>(layout.size())) {
      InFlightDiagnostic diag = fail();
      diag << "'" << name << "' must be a rank-" << layout.size()
           << " tensor [";
      llvm::interleaveComma(layout, diag,
                            [&](StringLiteral dim) { diag << dim; });
      diag << "], got " << type;
      return *this;
    }
    Type element = type.getElementType();
    if (kind == ElementKind::F32 && !element.isF32()) {
      fail() << "'" << name << "' must have element type f32, got " << element;
      return *this;
    }
    if (kind == ElementKind::Activation && !isActivationElementType(element)) {
      fail() << "'" << name << "' must have element type f32, f16 or bf16, got "
             << element;
      return *this;
    }
    // Feature sizes must be positive (a zero-width feature, frequency or
    // value axis has no meaning); token and batch sizes may be 0.
    for (auto [dim, label] : llvm::enumerate(layout)) {
      bool feature =
          llvm::is_contained(ArrayRef<StringRef>{"d", "m", "e", "r", "p", "m_f",
                                                 "P", "angles", "2m_f", "d'"},
                             label.str());
      if (feature && type.getDimSize(dim) == 0) {
        fail() << "'" << name << "' has " << label
               << " = 0; feature sizes must be positive";
        return *this;
      }
    }
    tensors.push_back({name, value, type, layout});
    return *this;
  }

  /// Dimension `aDim` of `a` must equal dimension `bDim` of `b`; `reason`
  /// (optional) replaces the default diagnostic's wording.
  ShapeChecker &sameDim(StringRef a, int64_t aDim, StringRef b, int64_t bDim,
                        const Twine &reason = Twine()) {
    if (!ok)
      return *this;
    const Entry &ea = lookup(a), &eb = lookup(b);
    int64_t sa = ea.type.getDimSize(aDim), sb = eb.type.getDimSize(bDim);
    std::string what = "'" + a.str() + "' " + ea.layout[aDim].str() +
                       " must equal '" + b.str() + "' " + eb.layout[bDim].str();
    if (!reason.isTriviallyEmpty())
      what += " (" + reason.str() + ")";
    if (ShapedType::isStatic(sa) && ShapedType::isStatic(sb)) {
      if (sa == sb)
        return *this;
      if (reason.isTriviallyEmpty())
        fail() << "'" << a << "' has " << ea.layout[aDim] << " = " << sa
               << " but '" << b << "' has " << eb.layout[bDim] << " = " << sb;
      else
        fail() << reason << ", but '" << a << "' has " << ea.layout[aDim]
               << " = " << sa << " and '" << b << "' has " << eb.layout[bDim]
               << " = " << sb;
      return *this;
    }
    addRule(ShapeRule::Kind::Equal, ea, aDim, {{&eb, bDim, 1}}, 0, what);
    return *this;
  }

  /// Dimension `dim` of `a` must be Σ coefficient · size(term) + constant;
  /// `expression` spells the sum, `reason` where it comes from.
  ShapeChecker &
  dimIsSum(StringRef a, int64_t dim,
           ArrayRef<std::tuple<StringRef, int64_t, int64_t>> terms,
           int64_t constant, StringRef expression, const Twine &reason) {
    if (!ok)
      return *this;
    const Entry &ea = lookup(a);
    SmallVector<std::tuple<const Entry *, int64_t, int64_t>> entries;
    int64_t expected = constant;
    bool dynamic = ShapedType::isDynamic(ea.type.getDimSize(dim));
    for (auto [name, termDim, coefficient] : terms) {
      const Entry &term = lookup(name);
      int64_t size = term.type.getDimSize(termDim);
      dynamic |= ShapedType::isDynamic(size);
      expected += coefficient * (ShapedType::isDynamic(size) ? 0 : size);
      entries.push_back({&term, termDim, coefficient});
    }
    if (!dynamic) {
      int64_t size = ea.type.getDimSize(dim);
      if (size != expected)
        fail() << "'" << a << "' has " << ea.layout[dim] << " = " << size
               << " but " << reason << " needs " << expected;
      return *this;
    }
    addRule(ShapeRule::Kind::Equal, ea, dim, entries, constant,
            "'" + a.str() + "' " + ea.layout[dim].str() + " must be " +
                expression.str() + " (" + reason.str() + ")");
    return *this;
  }

  /// Dimension `dim` of `a` must be a positive multiple of size(b, bDim) +
  /// `offset`; `message` is the static diagnostic, `rule` the run-time one.
  ShapeChecker &multipleOf(
      StringRef a, int64_t dim, StringRef b, int64_t bDim, int64_t offset,
      llvm::function_ref<void(InFlightDiagnostic &, int64_t, int64_t)> message,
      StringRef rule) {
    if (!ok)
      return *this;
    const Entry &ea = lookup(a), &eb = lookup(b);
    int64_t size = ea.type.getDimSize(dim), base = eb.type.getDimSize(bDim);
    if (ShapedType::isStatic(size) && ShapedType::isStatic(base)) {
      if (size <= 0 || size % (base + offset) != 0) {
        InFlightDiagnostic diag = fail();
        message(diag, size, base);
      }
      return *this;
    }
    addRule(ShapeRule::Kind::MultipleOf, ea, dim, {{&eb, bDim, 1}}, offset,
            rule.str());
    return *this;
  }

  /// `a` and `b` must have the same element type.
  ShapeChecker &sameElementType(StringRef a, StringRef b) {
    if (!ok)
      return *this;
    Type ta = lookup(a).type.getElementType();
    Type tb = lookup(b).type.getElementType();
    if (ta != tb)
      fail() << "'" << a << "' has element type " << ta << " but '" << b
             << "' has " << tb;
    return *this;
  }

  /// Any other rule: `holds` or the diagnostic `message`.
  ShapeChecker &require(bool holds, const Twine &message) {
    if (ok && !holds)
      fail() << message;
    return *this;
  }

  /// A registered tensor's static size (or ShapedType::kDynamic).
  int64_t size(StringRef name, int64_t dim) {
    return lookup(name).type.getDimSize(dim);
  }

  bool succeeded() const { return ok; }
  LogicalResult result() const { return success(ok); }

private:
  struct Entry {
    StringRef name;
    Value value;
    RankedTensorType type;
    Layout layout;
  };

  InFlightDiagnostic fail() {
    ok = false;
    return op->emitOpError();
  }

  const Entry &lookup(StringRef name) const {
    const Entry *entry =
        llvm::find_if(tensors, [&](const Entry &e) { return e.name == name; });
    assert(entry != tensors.end() && "tensor checked before registration");
    return *entry;
  }

  void addRule(ShapeRule::Kind kind, const Entry &a, int64_t dim,
               ArrayRef<std::tuple<const Entry *, int64_t, int64_t>> terms,
               int64_t constant, const std::string &message) {
    if (!rules)
      return;
    ShapeRule rule;
    rule.kind = kind;
    rule.value = a.value;
    rule.dim = dim;
    for (auto [entry, termDim, coefficient] : terms)
      rule.terms.push_back({entry->value, termDim, coefficient});
    rule.constant = constant;
    rule.message = op->getName().getStringRef().str() + ": " + message;
    rules->push_back(std::move(rule));
  }

  Operation *op;
  SmallVectorImpl<ShapeRule> *rules;
  bool ok = true;
  SmallVector<Entry, 8> tensors;
};

/// Twice a size, keeping it dynamic when unknown.
int64_t twice(int64_t size) {
  return ShapedType::isDynamic(size) ? ShapedType::kDynamic : 2 * size;
}

/// One size that agrees with both (the static one if either is static).
int64_t mergeDims(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) ? b : a;
}

/// The kernel/projection rules shared by feature_map and attention: identity
/// and elu_plus_one take no projection, favor_pos needs one, relu may have
/// one. `input` is x or q, `w` the registered projection (may be null).
void checkProjection(ShapeChecker &check, Kernel kernel, StringRef input,
                     Value w) {
  if (!w) {
    check.require(kernel != Kernel::FavorPos,
                  "kernel favor_pos needs a projection 'w' [H, m, d]");
    return;
  }
  check.require(kernel == Kernel::Relu || kernel == Kernel::FavorPos,
                "kernel " + stringifyKernel(kernel) +
                    " takes no projection 'w'");
  check.tensor("w", w, kProj, ElementKind::F32)
      .sameDim("w", 0, input, 1)
      .sameDim("w", 2, input, 3);
}

/// The width P of theta each spectrum needs for positions of dimension p:
/// (p + 2) K for a mixture of K Gaussians, 2 for a local window.
void checkSpectrumWidth(ShapeChecker &check, Spectrum spectrum, StringRef theta,
                        StringRef xi) {
  if (spectrum == Spectrum::LocalWindow) {
    check.dimIsSum(theta, 1, {}, 2, "2", "spectrum local_window ([C, v])");
    return;
  }
  check.multipleOf(
      theta, 1, xi, 2, 2,
      [&](InFlightDiagnostic &diag, int64_t width, int64_t p) {
        diag << "'" << theta << "' has P = " << width
             << " but spectrum gaussian_mixture with p = " << p
             << " needs a positive multiple of p + 2 = " << p + 2
             << " (K weights, K means of p values, K log-variances)";
      },
      "'theta' P must be a positive multiple of p + 2 (spectrum "
      "gaussian_mixture)");
}

/// Both rpe operands or neither (the generic form could give one alone).
void checkRpePair(ShapeChecker &check, Value phi, Value psi) {
  check.require(static_cast<bool>(phi) == static_cast<bool>(psi),
                "rpe needs both 'phi' and 'psi'");
}

/// phi [B, H, L, r] aligned with `queries`, psi [B, H, S, r] with `keys`.
void checkRpe(ShapeChecker &check, Value phi, Value psi, StringRef queries,
              StringRef keys) {
  checkRpePair(check, phi, psi);
  if (!phi || !psi)
    return;
  check.tensor("phi", phi, kPhi, ElementKind::F32)
      .tensor("psi", psi, kPsi, ElementKind::F32)
      .sameDim("phi", 0, queries, 0)
      .sameDim("phi", 1, queries, 1)
      .sameDim("phi", 2, queries, 2)
      .sameDim("psi", 0, keys, 0)
      .sameDim("psi", 1, keys, 1)
      .sameDim("psi", 2, keys, 2)
      .sameDim("psi", 3, "phi", 3);
}

/// Attention output [B, H, L, e]: B, H, L of the queries, e of the values,
/// and the queries' element type.
void checkAttentionResult(ShapeChecker &check, Value result, StringRef queries,
                          StringRef values) {
  check.tensor("result", result, kOut, ElementKind::Activation)
      .sameElementType("result", queries)
      .sameDim("result", 0, queries, 0)
      .sameDim("result", 1, queries, 1)
      .sameDim("result", 2, queries, 2)
      .sameDim("result", 3, values, 3);
}

/// q/k/v of an attention op: shared B, H, feature size d (or m) between
/// queries and keys, S between keys and values, one element type.
void checkQueriesKeysValues(ShapeChecker &check, StringRef q, Value qv,
                            Layout qLayout, StringRef k, Value kv,
                            Layout kLayout, Value v) {
  check.tensor(q, qv, qLayout, ElementKind::Activation)
      .tensor(k, kv, kLayout, ElementKind::Activation)
      .tensor("v", v, kV, ElementKind::Activation)
      .sameElementType(k, q)
      .sameElementType("v", q)
      .sameDim(k, 0, q, 0)
      .sameDim(k, 1, q, 1)
      .sameDim(k, 3, q, 3)
      .sameDim("v", 0, q, 0)
      .sameDim("v", 1, q, 1)
      .sameDim("v", 2, k, 2);
}

/// `causal` needs S = L.
void checkCausal(ShapeChecker &check, bool causal, StringRef q, StringRef k) {
  if (causal)
    check.sameDim(k, 2, q, 2, "causal attention needs S = L");
}

/// The size of dimension `dim` of `value` as an OpFoldResult.
OpFoldResult dimOf(OpBuilder &builder, Location loc, Value value, int64_t dim) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.isDynamicDim(dim))
    return builder.getIndexAttr(type.getDimSize(dim));
  return tensor::DimOp::create(builder, loc, value, dim).getResult();
}

/// 2 * size, folded when static.
OpFoldResult twice(OpBuilder &builder, Location loc, OpFoldResult size) {
  if (std::optional<int64_t> constant = getConstantIntValue(size))
    return builder.getIndexAttr(2 * *constant);
  Value two = arith::ConstantIndexOp::create(builder, loc, 2);
  return arith::MulIOp::create(builder, loc, cast<Value>(size), two)
      .getResult();
}

/// The [B, H, L, e] shape of an attention output.
SmallVector<OpFoldResult> attentionResultShape(OpBuilder &builder, Location loc,
                                               Value queries, Value values) {
  return {dimOf(builder, loc, queries, 0), dimOf(builder, loc, queries, 1),
          dimOf(builder, loc, queries, 2), dimOf(builder, loc, values, 3)};
}

RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

// Result types. The builders (and flt.ops in Python, through
// inferResultTypes) take them from here; the verifiers check the same
// relations. A tensor without the dim an op reads gives a dynamic size:
// the verifier then reports that operand.

/// Dim `dim` of `value`, or dynamic.
int64_t sizeOf(Value value, int64_t dim) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type && dim < type.getRank() ? type.getDimSize(dim)
                                      : ShapedType::kDynamic;
}

Type elementTypeOf(Value value) {
  return cast<ShapedType>(value.getType()).getElementType();
}

/// [B, H, L, e] of an attention op: B, H, L of the queries (B and H of the
/// values where the queries' are dynamic), e of the values, the queries'
/// element type.
RankedTensorType attentionResultType(Value queries, Value values) {
  return RankedTensorType::get(
      {mergeDims(sizeOf(queries, 0), sizeOf(values, 0)),
       mergeDims(sizeOf(queries, 1), sizeOf(values, 1)), sizeOf(queries, 2),
       sizeOf(values, 3)},
      elementTypeOf(queries));
}

} // namespace

//===----------------------------------------------------------------------===//
// FeatureMapOp
//===----------------------------------------------------------------------===//

RankedTensorType FeatureMapOp::inferResultType(Value x, Value w) {
  return RankedTensorType::get({sizeOf(x, 0), sizeOf(x, 1), sizeOf(x, 2),
                                w ? sizeOf(w, 1) : sizeOf(x, 3)},
                               elementTypeOf(x));
}

void FeatureMapOp::build(OpBuilder &builder, OperationState &state, Value x,
                         Value w, Kernel kernel, float eps, bool isQuery) {
  build(builder, state, inferResultType(x, w), x, w,
        KernelAttr::get(builder.getContext(), kernel),
        builder.getF32FloatAttr(eps), builder.getBoolAttr(isQuery));
}

static void checkShapes(FeatureMapOp op, ShapeChecker &check) {
  check.tensor("x", op.getX(), kQ, ElementKind::Activation);
  checkProjection(check, op.getKernel(), "x", op.getW());
  check.tensor("result", op.getResult(), kFq, ElementKind::Activation)
      .sameElementType("result", "x")
      .sameDim("result", 0, "x", 0)
      .sameDim("result", 1, "x", 1)
      .sameDim("result", 2, "x", 2);
  if (op.getW())
    check.sameDim("result", 3, "w", 1);
  else
    check.sameDim("result", 3, "x", 3);
}

LogicalResult FeatureMapOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

LogicalResult
FeatureMapOp::reifyResultShapes(OpBuilder &builder,
                                ReifiedRankedShapedTypeDims &shapes) {
  Location loc = getLoc();
  Value x = getX();
  shapes.push_back(
      {dimOf(builder, loc, x, 0), dimOf(builder, loc, x, 1),
       dimOf(builder, loc, x, 2),
       getW() ? dimOf(builder, loc, getW(), 1) : dimOf(builder, loc, x, 3)});
  return success();
}

//===----------------------------------------------------------------------===//
// SpectralDensityOp
//===----------------------------------------------------------------------===//

RankedTensorType SpectralDensityOp::inferResultType(Value theta, Value xi) {
  return RankedTensorType::get(
      {mergeDims(sizeOf(xi, 0), sizeOf(theta, 0)), sizeOf(xi, 1)},
      elementTypeOf(xi));
}

void SpectralDensityOp::build(OpBuilder &builder, OperationState &state,
                              Value theta, Value xi, Spectrum spectrum) {
  build(builder, state, inferResultType(theta, xi), theta, xi,
        SpectrumAttr::get(builder.getContext(), spectrum));
}

static void checkShapes(SpectralDensityOp op, ShapeChecker &check) {
  check.tensor("theta", op.getTheta(), kTheta, ElementKind::F32)
      .tensor("xi", op.getXi(), kXi, ElementKind::F32)
      .sameDim("xi", 0, "theta", 0);
  checkSpectrumWidth(check, op.getSpectrum(), "theta", "xi");
  check.tensor("rho", op.getRho(), kRho, ElementKind::F32)
      .sameDim("rho", 0, "xi", 0)
      .sameDim("rho", 1, "xi", 1);
}

LogicalResult SpectralDensityOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

LogicalResult
SpectralDensityOp::reifyResultShapes(OpBuilder &builder,
                                     ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back({dimOf(builder, getLoc(), getXi(), 0),
                    dimOf(builder, getLoc(), getXi(), 1)});
  return success();
}

//===----------------------------------------------------------------------===//
// SpectralFeaturesOp
//===----------------------------------------------------------------------===//

RankedTensorType SpectralFeaturesOp::inferResultType(Value r, Value xi) {
  return RankedTensorType::get(
      {sizeOf(r, 0), sizeOf(xi, 0), sizeOf(r, 1), twice(sizeOf(xi, 1))},
      elementTypeOf(xi));
}

void SpectralFeaturesOp::build(OpBuilder &builder, OperationState &state,
                               Value r, Value xi, Value rho,
                               Weighting weighting) {
  RankedTensorType type = inferResultType(r, xi);
  build(builder, state, type, type, r, xi, rho,
        WeightingAttr::get(builder.getContext(), weighting));
}

static void checkShapes(SpectralFeaturesOp op, ShapeChecker &check) {
  check.tensor("r", op.getR(), kPositions, ElementKind::F32)
      .tensor("xi", op.getXi(), kXi, ElementKind::F32)
      .tensor("rho", op.getRho(), kRho, ElementKind::F32)
      .sameDim("xi", 2, "r", 2)
      .sameDim("rho", 0, "xi", 0)
      .sameDim("rho", 1, "xi", 1);
  for (auto [name, result] :
       {std::pair<StringRef, Value>{"phi", op.getPhi()},
        std::pair<StringRef, Value>{"psi", op.getPsi()}}) {
    check.tensor(name, result, kSpectralFeatures, ElementKind::F32)
        .sameDim(name, 0, "r", 0)
        .sameDim(name, 1, "xi", 0)
        .sameDim(name, 2, "r", 1);
    check.dimIsSum(name, 3, {{"xi", 1, 2}}, 0, "2 m_f",
                   "twice m_f of 'xi' (cos and sin columns)");
  }
}

LogicalResult SpectralFeaturesOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

LogicalResult
SpectralFeaturesOp::reifyResultShapes(OpBuilder &builder,
                                      ReifiedRankedShapedTypeDims &shapes) {
  Location loc = getLoc();
  SmallVector<OpFoldResult> shape = {
      dimOf(builder, loc, getR(), 0), dimOf(builder, loc, getXi(), 0),
      dimOf(builder, loc, getR(), 1),
      twice(builder, loc, dimOf(builder, loc, getXi(), 1))};
  shapes.push_back(shape);
  shapes.push_back(shape);
  return success();
}

//===----------------------------------------------------------------------===//
// LinearAttentionOp
//===----------------------------------------------------------------------===//

RankedTensorType LinearAttentionOp::inferResultType(Value fq, Value v) {
  return attentionResultType(fq, v);
}

void LinearAttentionOp::build(OpBuilder &builder, OperationState &state,
                              Value fq, Value fk, Value v, Value phi, Value psi,
                              bool causal, Normalize normalize, float eps) {
  build(builder, state, inferResultType(fq, v), fq, fk, v, phi, psi,
        builder.getBoolAttr(causal),
        NormalizeAttr::get(builder.getContext(), normalize),
        builder.getF32FloatAttr(eps));
}

static void checkShapes(LinearAttentionOp op, ShapeChecker &check) {
  checkQueriesKeysValues(check, "fq", op.getFq(), kFq, "fk", op.getFk(), kFk,
                         op.getV());
  checkRpe(check, op.getPhi(), op.getPsi(), "fq", "fk");
  checkCausal(check, op.getCausal(), "fq", "fk");
  checkAttentionResult(check, op.getResult(), "fq", "v");
}

LogicalResult LinearAttentionOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

LogicalResult
LinearAttentionOp::reifyResultShapes(OpBuilder &builder,
                                     ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(attentionResultShape(builder, getLoc(), getFq(), getV()));
  return success();
}

//===----------------------------------------------------------------------===//
// KernelAttentionOp
//===----------------------------------------------------------------------===//

RankedTensorType KernelAttentionOp::inferResultType(Value q, Value v) {
  return attentionResultType(q, v);
}

float KernelAttentionOp::getEffectiveTemperature() {
  if (std::optional<APFloat> temperature = getTemperature())
    return temperature->convertToFloat();
  // The verifier requires a static d for softmax without a temperature.
  int64_t d = tensorType(getQ()).getDimSize(3);
  return 1.0f / std::sqrt(static_cast<float>(d));
}

static void checkShapes(KernelAttentionOp op, ShapeChecker &check) {
  PairKernel kernel = op.getKernel();
  StringRef kernelName = stringifyPairKernel(kernel);
  checkQueriesKeysValues(check, "q", op.getQ(), kQ, "k", op.getK(), kK,
                         op.getV());

  // scale(R): FourierFormer's per-feature bandwidths, fourier_integral only.
  if (kernel == PairKernel::FourierIntegral)
    check.require(static_cast<bool>(op.getScale()),
                  "kernel fourier_integral needs 'scale' R [H, d]");
  else
    check.require(!op.getScale(), "kernel " + kernelName + " takes no 'scale'");
  if (op.getScale())
    check.tensor("scale", op.getScale(), kScale, ElementKind::F32)
        .sameDim("scale", 0, "q", 1)
        .sameDim("scale", 1, "q", 3);

  // bias(b): b_{j-i} at column j - i + L - 1, so L + S - 1 columns.
  check.require(!op.getBias() || kernel != PairKernel::Dot,
                "kernel dot takes no 'bias'");
  if (op.getBias()) {
    check.tensor("bias", op.getBias(), kPairBias, ElementKind::F32)
        .sameDim("bias", 0, "q", 1);
    check.dimIsSum("bias", 1, {{"q", 2, 1}, {"k", 2, 1}}, -1, "L + S - 1",
                   "L + S - 1 (b_{j-i} at column j - i + L - 1)");
  }

  checkRpe(check, op.getPhi(), op.getPsi(), "q", "k");
  checkCausal(check, op.getCausal(), "q", "k");

  // Attributes that only one kernel reads.
  check.require(!op.getTemperature() || kernel == PairKernel::Softmax,
                "'temperature' applies only to kernel softmax");
  if (kernel == PairKernel::Softmax && !op.getTemperature() &&
      check.succeeded())
    check.require(ShapedType::isStatic(check.size("q", 3)),
                  "kernel softmax with a dynamic d needs an explicit "
                  "'temperature' (the default is 1/sqrt(d))");
  check.require(op.getPower() == 4 || kernel == PairKernel::FourierIntegral,
                "'power' applies only to kernel fourier_integral");
  check.require(op.getPower() > 0,
                "'power' must be positive, got " + Twine(op.getPower()));
  check.require((op.getNormalize() == Normalize::Divide &&
                 op.getEps().convertToFloat() == 1e-6f) ||
                    kernel == PairKernel::Dot,
                "'normalize' and 'eps' apply only to kernel dot");

  checkAttentionResult(check, op.getResult(), "q", "v");
}

LogicalResult KernelAttentionOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

LogicalResult
KernelAttentionOp::reifyResultShapes(OpBuilder &builder,
                                     ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(attentionResultShape(builder, getLoc(), getQ(), getV()));
  return success();
}

//===----------------------------------------------------------------------===//
// PositionTransformOp
//===----------------------------------------------------------------------===//

RankedTensorType PositionTransformOp::inferResultType(Value x, LrpeCore core) {
  int64_t d = sizeOf(x, 3);
  return RankedTensorType::get({sizeOf(x, 0), sizeOf(x, 1), sizeOf(x, 2),
                                core == LrpeCore::Rotary ? d : twice(d)},
                               elementTypeOf(x));
}

static void checkShapes(PositionTransformOp op, ShapeChecker &check) {
  bool rotary = op.getCore() == LrpeCore::Rotary;
  check.tensor("x", op.getX(), kQ, ElementKind::Activation)
      .tensor("theta", op.getTheta(), kAngles, ElementKind::F32)
      .sameDim("theta", 0, "x", 1);
  if (!check.succeeded())
    return;

  int64_t d = check.size("x", 3);
  if (rotary) {
    check.require(ShapedType::isDynamic(d) || d % 2 == 0,
                  "core rotary needs an even d, but 'x' has d = " + Twine(d));
    if (ShapedType::isStatic(d))
      check.dimIsSum("theta", 1, {}, d / 2, "d/2",
                     "core rotary (d/2 angles, d = " + Twine(d) + ")");
    else // d = 2 × angles also makes a dynamic d even at run time.
      check.dimIsSum("x", 3, {{"theta", 1, 2}}, 0, "2 angles",
                     "core rotary (one angle per pair of features)");
  } else {
    check.sameDim("theta", 1, "x", 3);
    check.require(op.getPairing() == Pairing::Interleaved,
                  "'pairing' applies only to core rotary");
  }

  // mix(v): the Householder vector, for mix householder only.
  if (op.getMix() == LrpeMix::Householder)
    check.require(static_cast<bool>(op.getMixVector()),
                  "mix householder needs a vector: mix(v) with v [H, d]");
  else
    check.require(!op.getMixVector(), "mix " + stringifyLrpeMix(op.getMix()) +
                                          " takes no mix(v) operand");
  if (op.getMixVector())
    check.tensor("mix", op.getMixVector(), kMixVector, ElementKind::F32)
        .sameDim("mix", 0, "x", 1)
        .sameDim("mix", 1, "x", 3);

  // positions(s): explicit positions replace l + offset.
  if (op.getPositions()) {
    check
        .tensor("positions", op.getPositions(), kTokenPositions,
                ElementKind::F32)
        .sameDim("positions", 0, "x", 0)
        .sameDim("positions", 1, "x", 2)
        .require(op.getOffset() == 0,
                 "'offset' applies only without explicit positions");
  }

  check.tensor("result", op.getResult(), kTransformed, ElementKind::Activation)
      .sameElementType("result", "x")
      .sameDim("result", 0, "x", 0)
      .sameDim("result", 1, "x", 1)
      .sameDim("result", 2, "x", 2);
  check.dimIsSum("result", 3, {{"x", 3, rotary ? 1 : 2}}, 0,
                 rotary ? "d" : "2 d",
                 rotary ? "core rotary (d of 'x')"
                        : "core complex (2d, cos and sin of each y_t)");
}

LogicalResult PositionTransformOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

LogicalResult
PositionTransformOp::reifyResultShapes(OpBuilder &builder,
                                       ReifiedRankedShapedTypeDims &shapes) {
  Location loc = getLoc();
  Value x = getX();
  OpFoldResult features = dimOf(builder, loc, x, 3);
  if (getCore() == LrpeCore::Complex)
    features = twice(builder, loc, features);
  shapes.push_back({dimOf(builder, loc, x, 0), dimOf(builder, loc, x, 1),
                    dimOf(builder, loc, x, 2), features});
  return success();
}

//===----------------------------------------------------------------------===//
// ToeplitzAttentionOp
//===----------------------------------------------------------------------===//

RankedTensorType ToeplitzAttentionOp::inferResultType(Value fq, Value v) {
  return attentionResultType(fq, v);
}

static void checkShapes(ToeplitzAttentionOp op, ShapeChecker &check) {
  checkQueriesKeysValues(check, "fq", op.getFq(), kFq, "fk", op.getFk(), kFk,
                         op.getV());
  // The Toeplitz mask is square: keys are the queries' positions.
  check.sameDim("fk", 2, "fq", 2)
      .tensor("b", op.getB(), kToeplitzBias, ElementKind::F32)
      .sameDim("b", 0, "fq", 1);
  check.dimIsSum("b", 1, {{"fq", 2, 2}}, -1, "2L - 1",
                 "2L - 1 (b_{j-i} at column j - i + L - 1)");
  checkAttentionResult(check, op.getResult(), "fq", "v");
}

LogicalResult ToeplitzAttentionOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

LogicalResult
ToeplitzAttentionOp::reifyResultShapes(OpBuilder &builder,
                                       ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(attentionResultShape(builder, getLoc(), getFq(), getV()));
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

RankedTensorType AttentionOp::inferResultType(Value q, Value v) {
  return attentionResultType(q, v);
}

static void checkShapes(AttentionOp op, ShapeChecker &check) {
  checkQueriesKeysValues(check, "q", op.getQ(), kQ, "k", op.getK(), kK,
                         op.getV());
  check.sameDim("k", 2, "q", 2,
                "flt.attention is self-attention (one position tensor 'r' "
                "serves queries and keys)");
  check.tensor("r", op.getR(), kPositions, ElementKind::F32)
      .sameDim("r", 0, "q", 0)
      .sameDim("r", 1, "q", 2)
      .tensor("xi", op.getXi(), kXi, ElementKind::F32)
      .sameDim("xi", 0, "q", 1)
      .sameDim("xi", 2, "r", 2)
      .tensor("theta", op.getTheta(), kTheta, ElementKind::F32)
      .sameDim("theta", 0, "q", 1);
  checkSpectrumWidth(check, op.getSpectrum(), "theta", "xi");
  checkProjection(check, op.getKernel(), "q", op.getW());
  checkAttentionResult(check, op.getResult(), "q", "v");
}

LogicalResult AttentionOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

LogicalResult
AttentionOp::reifyResultShapes(OpBuilder &builder,
                               ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(attentionResultShape(builder, getLoc(), getQ(), getV()));
  return success();
}

//===----------------------------------------------------------------------===//
// Result types by op name (for builders that have no op class at hand)
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Type>>
mlir::flt::inferResultTypes(StringRef name,
                            const llvm::StringMap<Value> &operands,
                            DictionaryAttr attributes) {
  auto get = [&](StringRef operand) { return operands.lookup(operand); };
  auto have = [&](std::initializer_list<StringRef> required) {
    return llvm::all_of(required, [&](StringRef operand) {
      return static_cast<bool>(get(operand));
    });
  };
  SmallVector<Type> types;
  if (name == FeatureMapOp::getOperationName() && have({"x"})) {
    types.push_back(FeatureMapOp::inferResultType(get("x"), get("w")));
  } else if (name == SpectralDensityOp::getOperationName() &&
             have({"theta", "xi"})) {
    types.push_back(
        SpectralDensityOp::inferResultType(get("theta"), get("xi")));
  } else if (name == SpectralFeaturesOp::getOperationName() &&
             have({"r", "xi", "rho"})) {
    RankedTensorType type =
        SpectralFeaturesOp::inferResultType(get("r"), get("xi"));
    types.append({type, type});
  } else if (name == LinearAttentionOp::getOperationName() &&
             have({"fq", "fk", "v"})) {
    types.push_back(LinearAttentionOp::inferResultType(get("fq"), get("v")));
  } else if (name == KernelAttentionOp::getOperationName() &&
             have({"q", "k", "v"})) {
    types.push_back(KernelAttentionOp::inferResultType(get("q"), get("v")));
  } else if (name == PositionTransformOp::getOperationName() &&
             have({"x", "theta"})) {
    auto core = attributes ? attributes.getAs<LrpeCoreAttr>("core") : nullptr;
    if (!core)
      return failure();
    types.push_back(
        PositionTransformOp::inferResultType(get("x"), core.getValue()));
  } else if (name == ToeplitzAttentionOp::getOperationName() &&
             have({"fq", "fk", "v", "b"})) {
    types.push_back(ToeplitzAttentionOp::inferResultType(get("fq"), get("v")));
  } else if (name == AttentionOp::getOperationName() &&
             have({"q", "k", "v", "r", "xi", "theta"})) {
    types.push_back(AttentionOp::inferResultType(get("q"), get("v")));
  } else {
    return failure();
  }
  return types;
}

int64_t mlir::flt::spectrumParameterCount(Spectrum spectrum, int64_t p,
                                          int64_t blobs) {
  // checkSpectrumWidth's rules: [C, v], or K weights, K means of p values
  // and K log-variances.
  return spectrum == Spectrum::LocalWindow ? 2 : (p + 2) * blobs;
}

//===----------------------------------------------------------------------===//
// Run-time shape rules
//===----------------------------------------------------------------------===//

void mlir::flt::collectRuntimeShapeRules(Operation *op,
                                         SmallVectorImpl<ShapeRule> &rules) {
  ShapeChecker check(op, &rules);
  llvm::TypeSwitch<Operation *>(op)
      .Case<FeatureMapOp, SpectralDensityOp, SpectralFeaturesOp,
            LinearAttentionOp, KernelAttentionOp, PositionTransformOp,
            ToeplitzAttentionOp, AttentionOp>(
          [&](auto concrete) { checkShapes(concrete, check); });
}

#define GET_OP_CLASSES
#include "flt/Dialect/FLT/IR/FLTOps.cpp.inc"
