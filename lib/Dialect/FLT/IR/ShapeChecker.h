//===- ShapeChecker.h - docs/Semantics.md's shape relations, for verifiers -*-
// C++ -*-===//
//
// Internal to the flt dialect library. ShapeChecker checks an op's operands
// against the layouts of the op semantics (docs/Semantics.md section 2) and
// reports the first violation naming the operand and both sizes; the same
// checks, run with a rule list, report the relations that involve dynamic
// sizes for the run-time checks (ShapeRules.h). The helpers below hold the
// rules several ops share.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_LIB_DIALECT_FLT_IR_SHAPECHECKER_H
#define FLT_LIB_DIALECT_FLT_IR_SHAPECHECKER_H

#include "flt/Dialect/FLT/IR/FLTOps.h"
#include "flt/Dialect/FLT/IR/ShapeRules.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir::flt::detail {

/// The names of a tensor's dimensions, used in diagnostics.
using Layout = ArrayRef<StringLiteral>;

// The layouts of docs/Semantics.md (per-token tensors are [B, H, L, F]).
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
constexpr StringLiteral kPermutationTable[] = {"H", "P", "d"};
// docs/Semantics.md section 5: grouped key/value heads, recurrent state,
// packed sequences and padding.
constexpr StringLiteral kFkGrouped[] = {"B", "H_kv", "S", "m"};
constexpr StringLiteral kKGrouped[] = {"B", "H_kv", "S", "d"};
constexpr StringLiteral kVGrouped[] = {"B", "H_kv", "S", "e"};
constexpr StringLiteral kState[] = {"B", "H", "m r", "e"};
constexpr StringLiteral kNormalizerState[] = {"B", "H", "m r"};
constexpr StringLiteral kCuSeqlens[] = {"N+1"};
constexpr StringLiteral kLengths[] = {"B"};

/// Which element types an operand may have (docs/Semantics.md section 1).
enum class ElementKind {
  /// q/k/v/out and the per-token features computed from them.
  Activation,
  /// Positions and spectral parameters.
  F32,
  /// Integer tables (i32 or i64), checked by the op.
  Index,
};

inline bool isActivationElementType(Type type) {
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

  /// Dimension `dim` of `a` must be at least Σ coefficient · size(term) +
  /// constant; `expression` spells the sum, `reason` where it comes from.
  ShapeChecker &
  dimAtLeast(StringRef a, int64_t dim,
             ArrayRef<std::tuple<StringRef, int64_t, int64_t>> terms,
             int64_t constant, StringRef expression, const Twine &reason) {
    if (!ok)
      return *this;
    const Entry &ea = lookup(a);
    SmallVector<std::tuple<const Entry *, int64_t, int64_t>> entries;
    int64_t bound = constant;
    bool dynamic = ShapedType::isDynamic(ea.type.getDimSize(dim));
    for (auto [name, termDim, coefficient] : terms) {
      const Entry &term = lookup(name);
      int64_t size = term.type.getDimSize(termDim);
      dynamic |= ShapedType::isDynamic(size);
      bound += coefficient * (ShapedType::isDynamic(size) ? 0 : size);
      entries.push_back({&term, termDim, coefficient});
    }
    if (!dynamic) {
      int64_t size = ea.type.getDimSize(dim);
      if (size < bound)
        fail() << "'" << a << "' has " << ea.layout[dim] << " = " << size
               << " but " << reason << " needs at least " << bound << " ("
               << expression << ")";
      return *this;
    }
    addRule(ShapeRule::Kind::AtLeast, ea, dim, entries, constant,
            "'" + a.str() + "' " + ea.layout[dim].str() + " must be at least " +
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

  /// Dimension `dim` of `a` must equal the product of the `factors`'
  /// sizes; `expression` spells it, `reason` where it comes from.
  ShapeChecker &dimIsProduct(StringRef a, int64_t dim,
                             ArrayRef<std::pair<StringRef, int64_t>> factors,
                             StringRef expression, const Twine &reason,
                             int64_t scale = 1) {
    if (!ok)
      return *this;
    const Entry &ea = lookup(a);
    SmallVector<std::tuple<const Entry *, int64_t, int64_t>> entries;
    int64_t expected = scale;
    bool dynamic = ShapedType::isDynamic(ea.type.getDimSize(dim));
    for (auto [name, factorDim] : factors) {
      const Entry &factor = lookup(name);
      int64_t size = factor.type.getDimSize(factorDim);
      dynamic |= ShapedType::isDynamic(size);
      if (ShapedType::isStatic(size))
        expected *= size;
      entries.push_back({&factor, factorDim, 1});
    }
    if (!dynamic) {
      int64_t size = ea.type.getDimSize(dim);
      if (size != expected)
        fail() << "'" << a << "' has " << ea.layout[dim] << " = " << size
               << " but " << reason << " needs " << expression << " = "
               << expected;
      return *this;
    }
    addRule(ShapeRule::Kind::Product, ea, dim, entries, scale,
            "'" + a.str() + "' " + ea.layout[dim].str() + " must be " +
                expression.str() + " (" + reason.str() + ")");
    return *this;
  }

  /// The contents of `a` (rank 1, integer), checked at run time against
  /// size(b, bDim): strictly rising offsets from 0 to it (Offsets) or values
  /// in [0, it] (Lengths). `message` says what must hold.
  ShapeChecker &contents(ShapeRule::Kind kind, StringRef a, StringRef b,
                         int64_t bDim, StringRef message) {
    if (!ok || !rules)
      return *this;
    addRule(kind, lookup(a), 0, {{&lookup(b), bDim, 1}}, 0, message.str());
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
int64_t twice(int64_t size);

/// One size that agrees with both (the static one if either is static).
int64_t mergeDims(int64_t a, int64_t b);

/// The kernel/projection rules shared by feature_map and attention: identity
/// and elu_plus_one take no projection, favor_pos needs one, relu may have
/// one. `input` is x or q, `w` the registered projection (may be null).
void checkProjection(ShapeChecker &check, Kernel kernel, StringRef input,
                     Value w);

/// The width P of theta each spectrum needs for positions of dimension p:
/// (p + 2) K for a mixture of K Gaussians, 2 for a local window.
void checkSpectrumWidth(ShapeChecker &check, Spectrum spectrum, StringRef theta,
                        StringRef xi);

/// Both rpe operands or neither (the generic form could give one alone).
void checkRpePair(ShapeChecker &check, Value phi, Value psi);

/// phi [B, H, L, r] aligned with `queries`, psi [B, H, S, r] with `keys`.
void checkRpe(ShapeChecker &check, Value phi, Value psi, StringRef queries,
              StringRef keys);

/// Attention output [B, H, L, e]: B, H, L of the queries, e of the values,
/// and the queries' element type.
void checkAttentionResult(ShapeChecker &check, Value result, StringRef queries,
                          StringRef values);

/// q/k/v of an attention op: shared B, H, feature size d (or m) between
/// queries and keys, S between keys and values, one element type.
void checkQueriesKeysValues(ShapeChecker &check, StringRef q, Value qv,
                            Layout qLayout, StringRef k, Value kv,
                            Layout kLayout, Value v, bool groupedHeads = false);

/// `causal` needs S = L.
void checkCausal(ShapeChecker &check, bool causal, StringRef q, StringRef k);

} // namespace mlir::flt::detail

#endif // FLT_LIB_DIALECT_FLT_IR_SHAPECHECKER_H
