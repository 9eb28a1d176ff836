//===- FLTOps.cpp - flt dialect operations --------------------------------===//
//
// Verifiers, builders and result-shape reification of the flt ops. Every
// verifier checks the shape relations of docs/Semantics.md section 2 and names
// the operands and sizes involved; a dynamic size matches anything.
//
//===----------------------------------------------------------------------===//

#include "flt/Dialect/FLT/IR/FLTOps.h"
#include "flt/Dialect/FLT/IR/ShapeRules.h"

#include "ShapeChecker.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flt;
using namespace mlir::flt::detail;

//===----------------------------------------------------------------------===//
// Verification helpers
//===----------------------------------------------------------------------===//

namespace {
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
                         Value w, Kernel kernel, float eps, bool isQuery,
                         KeyStabilizer keyStabilizer) {
  build(builder, state, inferResultType(x, w), x, w,
        KernelAttr::get(builder.getContext(), kernel),
        builder.getF32FloatAttr(eps), builder.getBoolAttr(isQuery),
        KeyStabilizerAttr::get(builder.getContext(), keyStabilizer));
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
  // The global key stabilizer (docs/Compatibility.md) is FAVOR+'s, for keys.
  if (op.getKeyStabilizer() != KeyStabilizer::PerHead)
    check
        .require(op.getKernel() == Kernel::FavorPos,
                 "'key_stabilizer' applies only to kernel favor_pos")
        .require(!op.getIsQuery(), "'key_stabilizer' applies only to keys "
                                   "(is_query = false)");
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
                              Value theta, Value xi, Spectrum spectrum,
                              Density density) {
  build(builder, state, inferResultType(theta, xi), theta, xi,
        SpectrumAttr::get(builder.getContext(), spectrum),
        DensityAttr::get(builder.getContext(), density));
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
  build(builder, state, fq, fk, v, phi, psi, /*initialState=*/Value(),
        /*initialNormalizer=*/Value(), /*cuSeqlens=*/Value(),
        /*lengths=*/Value(), causal, normalize, eps);
}

void LinearAttentionOp::build(OpBuilder &builder, OperationState &state,
                              Value fq, Value fk, Value v, Value phi, Value psi,
                              Value initialState, Value initialNormalizer,
                              Value cuSeqlens, Value lengths, bool causal,
                              Normalize normalize, float eps) {
  Type stateType = initialState ? initialState.getType() : Type();
  Type normalizerType =
      initialNormalizer ? initialNormalizer.getType() : Type();
  build(builder, state, inferResultType(fq, v), stateType, normalizerType, fq,
        fk, v, phi, psi, initialState, initialNormalizer, cuSeqlens, lengths,
        builder.getBoolAttr(causal),
        NormalizeAttr::get(builder.getContext(), normalize),
        builder.getF32FloatAttr(eps));
}

/// Whether the keys may have fewer (grouped) heads than the queries.
static bool headsMayDiffer(Type queries, Type keys) {
  int64_t heads = cast<RankedTensorType>(queries).getDimSize(1);
  int64_t kvHeads = cast<RankedTensorType>(keys).getDimSize(1);
  return ShapedType::isDynamic(heads) || ShapedType::isDynamic(kvHeads) ||
         heads != kvHeads;
}

bool LinearAttentionOp::mayGroupHeads() {
  return headsMayDiffer(getFq().getType(), getFk().getType());
}

bool LinearAttentionOp::usesServingOperands() {
  return getInitialState() || getCuSeqlens() || getLengths() || mayGroupHeads();
}

/// An i32 or i64 rank-1 table (cu_seqlens, lengths).
static void checkIntegerTable(ShapeChecker &check, StringRef name, Value value,
                              Layout layout) {
  check.tensor(name, value, layout, ElementKind::Index);
  if (!check.succeeded())
    return;
  Type element = cast<RankedTensorType>(value.getType()).getElementType();
  check.require(element.isSignlessInteger(32) || element.isSignlessInteger(64),
                "'" + name + "' must have element type i32 or i64");
}

/// docs/Semantics.md section 5's operands of an attention op with queries
/// `queries` and keys `keys` (registered; values are "v"): the state T0, z0
/// and its results T, z ([B (N packed), H, rows, e] and [.., rows], f32;
/// `checkRows` checks T0's rows), packed sequences' offsets, lengths.
static void checkServingOperands(ShapeChecker &check, Value state,
                                 Value normalizer, Value finalState,
                                 Value finalNormalizer, Value offsets,
                                 Value lengths, StringRef queries,
                                 StringRef keys,
                                 llvm::function_ref<void()> checkRows) {
  check.require(static_cast<bool>(state) == static_cast<bool>(finalState),
                "state(...) and the two state results go together");
  if (state) {
    check.tensor("T0", state, kState, ElementKind::F32)
        .tensor("z0", normalizer, kNormalizerState, ElementKind::F32)
        .tensor("T", finalState, kState, ElementKind::F32)
        .tensor("z", finalNormalizer, kNormalizerState, ElementKind::F32);
    if (!offsets)
      check.sameDim("T0", 0, queries, 0);
    check.sameDim("T0", 1, queries, 1).sameDim("T0", 3, "v", 3);
    if (check.succeeded())
      checkRows();
    check.sameDim("z0", 0, "T0", 0)
        .sameDim("z0", 1, "T0", 1)
        .sameDim("z0", 2, "T0", 2);
    for (int64_t dim = 0; dim < 4; ++dim)
      check.sameDim("T", dim, "T0", dim);
    for (int64_t dim = 0; dim < 3; ++dim)
      check.sameDim("z", dim, "z0", dim);
  }
  if (offsets) {
    checkIntegerTable(check, "cu_seqlens", offsets, kCuSeqlens);
    check.dimIsSum(queries, 0, {}, 1, "1", "packed sequences")
        .sameDim(keys, 2, queries, 2, "packed sequences need S = L")
        .dimAtLeast("cu_seqlens", 0, {}, 1, "1", "packed sequences");
    if (state)
      check.dimIsSum("T0", 0, {{"cu_seqlens", 0, 1}}, -1, "N",
                     "one state per packed sequence");
    check.contents(ShapeRule::Kind::Offsets, "cu_seqlens", queries, 2,
                   "'cu_seqlens' must rise strictly from 0 to L");
  }
  if (lengths) {
    checkIntegerTable(check, "lengths", lengths, kLengths);
    check.sameDim("lengths", 0, queries, 0)
        .contents(ShapeRule::Kind::Lengths, "lengths", keys, 2,
                  "every 'lengths' entry must lie in [0, S]");
  }
}

static void checkShapes(LinearAttentionOp op, ShapeChecker &check) {
  checkQueriesKeysValues(check, "fq", op.getFq(), kFq, "fk", op.getFk(),
                         kFkGrouped, op.getV(), /*groupedHeads=*/true);
  checkRpe(check, op.getPhi(), op.getPsi(), "fq", "fk");
  checkCausal(check, op.getCausal(), "fq", "fk");
  checkAttentionResult(check, op.getResult(), "fq", "v");

  checkServingOperands(check, op.getInitialState(), op.getInitialNormalizer(),
                       op.getFinalState(), op.getFinalNormalizer(),
                       op.getCuSeqlens(), op.getLengths(), "fq", "fk", [&] {
                         if (op.getPhi())
                           check.dimIsProduct("T0", 2, {{"fk", 3}, {"psi", 3}},
                                              "m r", "fk ⊗ psi features");
                         else
                           check.sameDim("T0", 2, "fk", 3,
                                         "the state has m rows without rpe");
                       });
}

LogicalResult LinearAttentionOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

/// The final state's and normalizer's shapes: those of state(T0, z0), when
/// the op has them (docs/Semantics.md section 5).
static void appendStateShapes(OpBuilder &builder, Location loc, Value state,
                              Value normalizer,
                              ReifiedRankedShapedTypeDims &shapes) {
  for (Value initial : {state, normalizer}) {
    if (!initial)
      continue;
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim = 0,
                 rank = cast<RankedTensorType>(initial.getType()).getRank();
         dim < rank; ++dim)
      sizes.push_back(dimOf(builder, loc, initial, dim));
    shapes.push_back(sizes);
  }
}

LogicalResult
LinearAttentionOp::reifyResultShapes(OpBuilder &builder,
                                     ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(attentionResultShape(builder, getLoc(), getFq(), getV()));
  appendStateShapes(builder, getLoc(), getInitialState(),
                    getInitialNormalizer(), shapes);
  return success();
}

//===----------------------------------------------------------------------===//
// LinearAttentionGradOp
//===----------------------------------------------------------------------===//

/// `value`'s shape with f32 elements.
static RankedTensorType f32Like(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return RankedTensorType::get(type.getShape(),
                               Float32Type::get(value.getContext()));
}

void LinearAttentionGradOp::build(OpBuilder &builder, OperationState &state,
                                  Value fq, Value fk, Value v, Value phi,
                                  Value psi, Value cotangent, bool causal,
                                  Normalize normalize, float eps) {
  SmallVector<Type> types = {f32Like(fq), f32Like(fk), f32Like(v)};
  if (phi)
    types.append({f32Like(phi), f32Like(psi)});
  build(builder, state, types, fq, fk, v, phi, psi, cotangent,
        builder.getBoolAttr(causal),
        NormalizeAttr::get(builder.getContext(), normalize),
        builder.getF32FloatAttr(eps));
}

static void checkShapes(LinearAttentionGradOp op, ShapeChecker &check) {
  checkQueriesKeysValues(check, "fq", op.getFq(), kFq, "fk", op.getFk(), kFk,
                         op.getV());
  checkRpe(check, op.getPhi(), op.getPsi(), "fq", "fk");
  checkCausal(check, op.getCausal(), "fq", "fk");
  check.tensor("cotangent", op.getCotangent(), kOut, ElementKind::Activation)
      .sameDim("cotangent", 0, "fq", 0)
      .sameDim("cotangent", 1, "fq", 1)
      .sameDim("cotangent", 2, "fq", 2)
      .sameDim("cotangent", 3, "v", 3);
  size_t expected = op.getPhi() ? 5 : 3;
  check.require(op.getGrads().size() == expected,
                "expects " + Twine(expected) +
                    " results (one per operand "
                    "other than the cotangent), got " +
                    Twine(op.getGrads().size()));
  if (op.getGrads().size() != expected)
    return;
  static constexpr StringLiteral names[] = {"dfq", "dfk", "dv", "dphi", "dpsi"};
  static constexpr StringLiteral operands[] = {"fq", "fk", "v", "phi", "psi"};
  Layout layouts[] = {kFq, kFk, kV, kPhi, kPsi};
  for (auto [i, grad] : llvm::enumerate(op.getGrads())) {
    check.tensor(names[i], grad, layouts[i], ElementKind::F32);
    for (int64_t d = 0; d < 4; ++d)
      check.sameDim(names[i], d, operands[i], d);
  }
}

LogicalResult LinearAttentionGradOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

LogicalResult
LinearAttentionGradOp::reifyResultShapes(OpBuilder &builder,
                                         ReifiedRankedShapedTypeDims &shapes) {
  Value operands[] = {getFq(), getFk(), getV(), getPhi(), getPsi()};
  for (unsigned i = 0, e = getGrads().size(); i < e; ++i) {
    SmallVector<OpFoldResult> dims;
    for (int64_t d = 0; d < 4; ++d)
      dims.push_back(dimOf(builder, getLoc(), operands[i], d));
    shapes.push_back(dims);
  }
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
  checkQueriesKeysValues(check, "q", op.getQ(), kQ, "k", op.getK(), kKGrouped,
                         op.getV(), /*groupedHeads=*/true);

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
  bool amplitudeEps = op.getFourierForm() == FourierForm::AmplitudeEps;
  check.require(!amplitudeEps || kernel == PairKernel::FourierIntegral,
                "'fourier_form' applies only to kernel fourier_integral");
  if (amplitudeEps) {
    // The FourierFormer code's form reads 'eps' (its 1e-6), not 'normalize'.
    check.require(op.getNormalize() == Normalize::Divide,
                  "'normalize' applies only to kernel dot (fourier_form "
                  "amplitude_eps reads 'eps' only)");
    check.require(op.getEps().convertToFloat() >= 0.0f,
                  "fourier_form amplitude_eps needs eps >= 0, got " +
                      std::to_string(op.getEps().convertToDouble()));
  } else {
    check.require((op.getNormalize() == Normalize::Divide &&
                   op.getEps().convertToFloat() == 1e-6f) ||
                      kernel == PairKernel::Dot,
                  "'normalize' and 'eps' apply only to kernel dot");
  }

  checkAttentionResult(check, op.getResult(), "q", "v");
  checkServingOperands(check, Value(), Value(), Value(), Value(),
                       op.getCuSeqlens(), op.getLengths(), "q", "k", [] {});
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
                                core == LrpeCore::Complex ? twice(d) : d},
                               elementTypeOf(x));
}

static void checkShapes(PositionTransformOp op, ShapeChecker &check) {
  bool rotary = op.getCore() == LrpeCore::Rotary;
  bool permutation = op.getCore() == LrpeCore::Permutation;
  check.tensor("x", op.getX(), kQ, ElementKind::Activation);
  if (permutation) {
    // The table of LRPE's permutation core: row s holds π^s (integers).
    auto table = cast<RankedTensorType>(op.getTheta().getType());
    check.require(table.getRank() == 3 &&
                      (table.getElementType().isInteger(32) ||
                       table.getElementType().isInteger(64)),
                  "core permutation needs 'theta' [H, P, d] of i32 or i64 "
                  "(row s of the table is the permutation at position s)");
    if (!check.succeeded())
      return;
    // I64Attr's accessor is unsigned: read the offset as signed.
    int64_t offset = op.getOffsetAttr().getInt();
    check.tensor("theta", op.getTheta(), kPermutationTable, ElementKind::Index)
        .sameDim("theta", 0, "x", 1)
        .sameDim("theta", 2, "x", 3)
        .require(!op.getPositions(),
                 "core permutation takes no explicit positions (row l + "
                 "offset of the table serves token l)")
        .require(offset >= 0,
                 "core permutation needs offset >= 0, got " + Twine(offset))
        .require(op.getPairing() == Pairing::Interleaved,
                 "'pairing' applies only to core rotary");
    check.dimAtLeast("theta", 1, {{"x", 2, 1}}, offset, "L + offset",
                     "core permutation (one table row per position)");
  } else {
    check.tensor("theta", op.getTheta(), kAngles, ElementKind::F32)
        .sameDim("theta", 0, "x", 1);
  }
  if (!check.succeeded())
    return;

  int64_t d = check.size("x", 3);
  if (permutation) {
    // Checked above.
  } else if (rotary && op.getRotaryDims() != 0) {
    // rotary_dims n: the first n features turn, the rest pass through (an
    // odd d, LRPE's mixed core).
    int64_t n = op.getRotaryDims();
    check.require(n > 0 && n % 2 == 0,
                  "'rotary_dims' must be a positive even number, got " +
                      Twine(n));
    check.dimAtLeast("x", 3, {}, n, "rotary_dims",
                     "'rotary_dims' = " + Twine(n));
    check.dimIsSum("theta", 1, {}, n / 2, "rotary_dims/2",
                   "core rotary with rotary_dims = " + Twine(n) + " (" +
                       Twine(n / 2) + " angles)");
  } else if (rotary) {
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
  check.require(op.getRotaryDims() == 0 || rotary,
                "'rotary_dims' applies only to core rotary");
  check.require(op.getMixEps().convertToFloat() == 0.0f ||
                    op.getMix() == LrpeMix::Householder,
                "'mix_eps' applies only to mix householder");
  check.require(op.getMixEps().convertToFloat() >= 0.0f,
                "'mix_eps' must be >= 0");

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
  bool complex = op.getCore() == LrpeCore::Complex;
  std::string reason =
      complex
          ? std::string("core complex (2d, cos and sin of each y_t)")
          : ("core " + stringifyLrpeCore(op.getCore()) + " (d of 'x')").str();
  check.dimIsSum("result", 3, {{"x", 3, complex ? 2 : 1}}, 0,
                 complex ? "2 d" : "d", reason);
  if (Value offsets = op.getCuSeqlens()) {
    checkIntegerTable(check, "cu_seqlens", offsets, kCuSeqlens);
    check.dimIsSum("x", 0, {}, 1, "1", "packed sequences")
        .dimAtLeast("cu_seqlens", 0, {}, 1, "1", "packed sequences")
        .contents(ShapeRule::Kind::Offsets, "cu_seqlens", "x", 2,
                  "'cu_seqlens' must rise strictly from 0 to L");
  }
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
  checkQueriesKeysValues(check, "fq", op.getFq(), kFq, "fk", op.getFk(),
                         kFkGrouped, op.getV(), /*groupedHeads=*/true);
  // The Toeplitz mask is square: keys are the queries' positions.
  check.sameDim("fk", 2, "fq", 2)
      .tensor("b", op.getB(), kToeplitzBias, ElementKind::F32)
      .sameDim("b", 0, "fq", 1);
  check.dimIsSum("b", 1, {{"fq", 2, 2}}, -1, "2L - 1",
                 "2L - 1 (b_{j-i} at column j - i + L - 1)");
  checkAttentionResult(check, op.getResult(), "fq", "v");
  checkServingOperands(check, Value(), Value(), Value(), Value(),
                       op.getCuSeqlens(), op.getLengths(), "fq", "fk", [] {});
  check.require(op.getMethod() != ToeplitzMethod::Fft || !op.packsOrPads(),
                "method fft takes no packed(...) or lengths(...) (use direct "
                "or auto)");
}

bool ToeplitzAttentionOp::packsOrPads() {
  return getCuSeqlens() || getLengths();
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
// ToeplitzCorrelationOp
//===----------------------------------------------------------------------===//

RankedTensorType ToeplitzCorrelationOp::inferResultType(Value fq) {
  int64_t length = sizeOf(fq, 2);
  return RankedTensorType::get({sizeOf(fq, 1), ShapedType::isDynamic(length)
                                                   ? ShapedType::kDynamic
                                                   : 2 * length - 1},
                               Float32Type::get(fq.getContext()));
}

static void checkShapes(ToeplitzCorrelationOp op, ShapeChecker &check) {
  // Every operand is a token sequence of the same B, H and L (the rule
  // repeats grouped keys to the query heads first).
  static constexpr StringLiteral kFeatures[] = {"B", "H", "L", "m"};
  static constexpr StringLiteral kColumns[] = {"B", "H", "L", "c"};
  check.tensor("fq", op.getFq(), kFeatures, ElementKind::F32)
      .tensor("a", op.getA(), kColumns, ElementKind::F32)
      .tensor("fk", op.getFk(), kFeatures, ElementKind::F32)
      .tensor("keys", op.getKeys(), kColumns, ElementKind::F32);
  for (StringRef name : {"a", "fk", "keys"})
    for (int64_t dim = 0; dim < 3; ++dim)
      check.sameDim(name, dim, "fq", dim);
  check.sameDim("fk", 3, "fq", 3).sameDim("keys", 3, "a", 3);
  check.tensor("result", op.getResult(), kToeplitzBias, ElementKind::F32)
      .sameDim("result", 0, "fq", 1)
      .dimIsSum("result", 1, {{"fq", 2, 2}}, -1, "2L - 1",
                "2L - 1 (offset j - i at column j - i + L - 1)");
  checkServingOperands(check, Value(), Value(), Value(), Value(),
                       op.getCuSeqlens(), Value(), "fq", "fk", [] {});
  check.require(op.getMethod() != ToeplitzMethod::Fft || !op.getCuSeqlens(),
                "method fft takes no packed(...) (use direct or auto)");
}

LogicalResult ToeplitzCorrelationOp::verify() {
  ShapeChecker check(*this);
  checkShapes(*this, check);
  return check.result();
}

LogicalResult
ToeplitzCorrelationOp::reifyResultShapes(OpBuilder &builder,
                                         ReifiedRankedShapedTypeDims &shapes) {
  Location loc = getLoc();
  OpFoldResult doubled = twice(builder, loc, dimOf(builder, loc, getFq(), 2));
  OpFoldResult columns;
  if (std::optional<int64_t> constant = getConstantIntValue(doubled))
    columns = builder.getIndexAttr(*constant - 1);
  else
    columns =
        arith::SubIOp::create(builder, loc, cast<Value>(doubled),
                              arith::ConstantIndexOp::create(builder, loc, 1))
            .getResult();
  shapes.push_back({dimOf(builder, loc, getFq(), 1), columns});
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

RankedTensorType AttentionOp::inferResultType(Value q, Value v) {
  return attentionResultType(q, v);
}

static void checkShapes(AttentionOp op, ShapeChecker &check) {
  checkQueriesKeysValues(check, "q", op.getQ(), kQ, "k", op.getK(), kFkGrouped,
                         op.getV(), /*groupedHeads=*/true);

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
  if (op.getRpeForm() == RpeForm::Concat) {
    // The projection reads [q, d^1/4 phi]: d + 2 m_f features.
    if (!op.getW()) {
      check.require(op.getKernel() != Kernel::FavorPos,
                    "kernel favor_pos needs a projection 'w' [H, m, d + "
                    "2 m_f] (rpe_form concat)");
    } else {
      check
          .require(op.getKernel() == Kernel::Relu ||
                       op.getKernel() == Kernel::FavorPos,
                   "kernel " + stringifyKernel(op.getKernel()) +
                       " takes no projection 'w'")
          .tensor("w", op.getW(), kProj, ElementKind::F32)
          .sameDim("w", 0, "q", 1)
          .dimIsSum("w", 2, {{"q", 3, 1}, {"xi", 1, 2}}, 0, "d + 2 m_f",
                    "rpe_form concat (the projection reads q and the "
                    "positional features)");
    }
  } else {
    checkProjection(check, op.getKernel(), "q", op.getW());
  }
  check.require(op.getKeyStabilizer() == KeyStabilizer::PerHead ||
                    op.getKernel() == Kernel::FavorPos,
                "'key_stabilizer' applies only to kernel favor_pos");
  checkAttentionResult(check, op.getResult(), "q", "v");
  check.require(!op.getInitialState() || op.getKernel() != Kernel::FavorPos,
                "state(...) with kernel favor_pos: its key stabilizer is a "
                "maximum over the keys of one call, so two calls' features "
                "would not share a scale");
  checkServingOperands(
      check, op.getInitialState(), op.getInitialNormalizer(),
      op.getFinalState(), op.getFinalNormalizer(), op.getCuSeqlens(),
      op.getLengths(), "q", "k", [&] {
        // m features per token (w's rows, else d), times 2 m_f positional
        // ones in the mask form.
        StringRef features = op.getW() ? "w" : "q";
        int64_t featureDim = op.getW() ? 1 : 3;
        if (op.getRpeForm() == RpeForm::Concat)
          check.sameDim("T0", 2, features, featureDim,
                        "the state has m rows with rpe_form concat");
        else
          check.dimIsProduct("T0", 2, {{features, featureDim}, {"xi", 1}},
                             "m 2 m_f", "the features fk ⊗ psi", 2);
      });
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
  appendStateShapes(builder, getLoc(), getInitialState(),
                    getInitialNormalizer(), shapes);
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
    if (have({"initial_state", "initial_normalizer"}))
      types.append({get("initial_state").getType(),
                    get("initial_normalizer").getType()});
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
    if (have({"initial_state", "initial_normalizer"}))
      types.append({get("initial_state").getType(),
                    get("initial_normalizer").getType()});
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
            LinearAttentionOp, LinearAttentionGradOp, KernelAttentionOp,
            PositionTransformOp, ToeplitzAttentionOp, AttentionOp>(
          [&](auto concrete) { checkShapes(concrete, check); });
}

#define GET_OP_CLASSES
#include "flt/Dialect/FLT/IR/FLTOps.cpp.inc"
