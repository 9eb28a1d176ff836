//===- RotaryMatch.cpp - rotary embeddings -> flt.position_transform ------===//
//
// A rotary embedding is y = x * C + R(x) * S where R permutes and negates
// the lanes of the last dim (rotate_half: cat(-x[d/2:], x[:d/2]);
// rotate_every_two: stack(-x[1::2], x[::2], -1).flatten(-2)) and C, S are
// constant tables over (position, lane). Written as SPEC 2.6 pairs (a, b),
//
//   a' = a cos(phi) - b sin(phi),   b' = b cos(phi) + a sin(phi),
//
// so C_a = C_b = cos(phi) and the signed coefficients of the partner lanes
// are -sin(phi) and +sin(phi). The angles must be phi[l, t] = l * theta_t
// (positions 0..L-1): theta is read back from the tables and checked
// against every entry, so only true rotary tables are raised.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/LinalgToFLT/RotaryMatch.h"
#include "flt/Conversion/LinalgToFLT/PayloadView.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flt;

namespace {

/// A tensor's last dim as lanes of x's last dim: value[..., t] =
/// sign[t] * x[..., lane[t]], the same at every index of the other dims.
struct Lanes {
  SmallVector<int64_t> lane;
  SmallVector<double> sign;

  void append(const Lanes &other) {
    lane.append(other.lane);
    sign.append(other.sign);
  }
};

/// Whether `a` and `b` agree on every dim but `a`'s last (static shapes).
bool sameLeadingDims(RankedTensorType a, RankedTensorType b) {
  if (!a.hasStaticShape() || !b.hasStaticShape() || a.getRank() < 1)
    return false;
  for (int64_t dim = 0; dim + 1 < a.getRank(); ++dim)
    if (dim >= b.getRank() || a.getDimSize(dim) != b.getDimSize(dim))
      return false;
  return true;
}

std::optional<Lanes> lanesOf(Value value, Value x, int depth);

/// stack((a, b, ...), -1).flatten(-2): the collapse of [..., n, m] into
/// [..., n * m] of a concat along the new unit dim of expanded [..., n]
/// values interleaves their lanes.
std::optional<Lanes> interleavedLanes(tensor::CollapseShapeOp collapse, Value x,
                                      int depth) {
  int64_t rank = collapse.getResultType().getRank();
  SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
  if (static_cast<int64_t>(groups.size()) != rank ||
      groups.back() != ReassociationIndices{rank - 1, rank})
    return std::nullopt;
  auto concat = collapse.getSrc().getDefiningOp<tensor::ConcatOp>();
  if (!concat || static_cast<int64_t>(concat.getDim()) != rank)
    return std::nullopt;
  SmallVector<Lanes> parts;
  for (Value input : concat.getInputs()) {
    auto expand = input.getDefiningOp<tensor::ExpandShapeOp>();
    if (!expand || expand.getSrcType().getRank() != rank ||
        expand.getResultType().getDimSize(rank) != 1 ||
        expand.getReassociationIndices().back() !=
            ReassociationIndices{rank - 1, rank})
      return std::nullopt;
    std::optional<Lanes> part = lanesOf(expand.getSrc(), x, depth + 1);
    if (!part ||
        (!parts.empty() && part->lane.size() != parts.front().lane.size()))
      return std::nullopt;
    parts.push_back(std::move(*part));
  }
  Lanes result;
  for (size_t index = 0; index < parts.front().lane.size(); ++index)
    for (const Lanes &part : parts) {
      result.lane.push_back(part.lane[index]);
      result.sign.push_back(part.sign[index]);
    }
  return result;
}

/// The sign an elementwise generic of one input applies (-x, x * -1, x),
/// or nullopt for anything else.
std::optional<double> signApplied(linalg::GenericOp generic) {
  Block &body = *generic.getBlock();
  Value in = body.getArgument(0);
  Value yielded = body.getTerminator()->getOperand(0);
  if (yielded == in)
    return 1.0;
  if (auto neg = yielded.getDefiningOp<arith::NegFOp>())
    return neg.getOperand() == in ? std::optional(-1.0) : std::nullopt;
  if (auto mul = yielded.getDefiningOp<arith::MulFOp>()) {
    Value other = mul.getLhs() == in ? mul.getRhs() : mul.getLhs();
    if (mul.getLhs() != in && mul.getRhs() != in)
      return std::nullopt;
    std::optional<double> c = constantScalar(other);
    if (c && (*c == 1.0 || *c == -1.0))
      return *c;
  }
  return std::nullopt;
}

/// `value` as lanes of `x` when it is built from x by lane slices, concats
/// along the last dim, interleaving and negation; nullopt otherwise.
std::optional<Lanes> lanesOf(Value value, Value x, int depth) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  auto xType = cast<RankedTensorType>(x.getType());
  if (depth > 16 || !type || type.getRank() != xType.getRank() ||
      !sameLeadingDims(type, xType))
    return std::nullopt;
  int64_t last = type.getRank() - 1;
  if (value == x) {
    Lanes identity;
    for (int64_t lane = 0; lane < type.getDimSize(last); ++lane) {
      identity.lane.push_back(lane);
      identity.sign.push_back(1.0);
    }
    return identity;
  }
  if (auto slice = value.getDefiningOp<tensor::ExtractSliceOp>()) {
    if (slice.getSourceType().getRank() != type.getRank() ||
        ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
        ShapedType::isDynamicShape(slice.getStaticStrides()))
      return std::nullopt;
    ArrayRef<int64_t> offsets = slice.getStaticOffsets();
    ArrayRef<int64_t> strides = slice.getStaticStrides();
    for (int64_t dim = 0; dim < last; ++dim)
      if (offsets[dim] != 0 || strides[dim] != 1)
        return std::nullopt;
    std::optional<Lanes> source = lanesOf(slice.getSource(), x, depth + 1);
    if (!source)
      return std::nullopt;
    Lanes result;
    for (int64_t index = 0; index < type.getDimSize(last); ++index) {
      int64_t from = offsets[last] + index * strides[last];
      if (from < 0 || from >= static_cast<int64_t>(source->lane.size()))
        return std::nullopt;
      result.lane.push_back(source->lane[from]);
      result.sign.push_back(source->sign[from]);
    }
    return result;
  }
  if (auto concat = value.getDefiningOp<tensor::ConcatOp>()) {
    if (static_cast<int64_t>(concat.getDim()) != last)
      return std::nullopt;
    Lanes result;
    for (Value input : concat.getInputs()) {
      std::optional<Lanes> part = lanesOf(input, x, depth + 1);
      if (!part)
        return std::nullopt;
      result.append(*part);
    }
    return result;
  }
  if (auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>())
    return interleavedLanes(collapse, x, depth);
  if (auto generic = value.getDefiningOp<linalg::GenericOp>()) {
    if (!isElementwise(generic) || generic.getNumDpsInputs() != 1 ||
        !generic.getMatchingIndexingMap(generic.getDpsInputOperand(0))
             .isIdentity())
      return std::nullopt;
    std::optional<double> sign = signApplied(generic);
    if (!sign)
      return std::nullopt;
    std::optional<Lanes> source =
        lanesOf(generic.getDpsInputOperand(0)->get(), x, depth + 1);
    if (!source)
      return std::nullopt;
    for (double &s : source->sign)
      s *= *sign;
    return source;
  }
  return std::nullopt;
}

/// One product of the sum: sign * tensor[...] * table[...], table constant.
struct ScaledByTable {
  ElementRead tensor;
  ElementRead table;
  DenseFPElementsAttr values;
  double sign = 1.0;
};

std::optional<ScaledByTable> matchScaledByTable(PayloadView &view,
                                                Value scalar) {
  double sign = 1.0;
  Operation *op = view.def(scalar);
  if (auto neg = dyn_cast_or_null<arith::NegFOp>(op)) {
    sign = -1.0;
    op = view.def(neg.getOperand());
  }
  auto mul = dyn_cast_or_null<arith::MulFOp>(op);
  if (!mul)
    return std::nullopt;
  // The operands of the product, not what produced them (x itself may be
  // an elementwise result, say relu features).
  auto readOf = [&](Value operand) {
    std::optional<ElementRead> read = view.readShallow(operand);
    return read ? read : view.read(operand);
  };
  for (auto [tableSide, tensorSide] : {std::pair(mul.getLhs(), mul.getRhs()),
                                       std::pair(mul.getRhs(), mul.getLhs())}) {
    std::optional<ElementRead> table = readOf(tableSide);
    std::optional<ElementRead> tensor = readOf(tensorSide);
    DenseFPElementsAttr values;
    if (table && tensor && matchPattern(table->tensor, m_Constant(&values)) &&
        values.getElementType().isF32() &&
        !matchPattern(tensor->tensor, m_Constant()))
      return ScaledByTable{*tensor, *table, values, sign};
  }
  return std::nullopt;
}

/// Reads a constant table at (position along `token`, lane) in the loops
/// of the root (other loops at 0; the table must not depend on them).
class TableReader {
public:
  TableReader(const ScaledByTable &product, int64_t rank, int64_t token)
      : map(product.table.map),
        values(llvm::to_vector(product.values.getValues<float>())),
        strides(computeStrides(
            cast<RankedTensorType>(product.table.tensor.getType()).getShape())),
        point(rank, 0), token(token) {}

  double at(int64_t position, int64_t lane) {
    point[token] = position;
    point.back() = lane;
    int64_t flat = 0;
    for (auto [dim, index] : llvm::enumerate(map.compose(point)))
      flat += index * strides[dim];
    return values[flat];
  }

private:
  AffineMap map;
  SmallVector<float> values;
  SmallVector<int64_t> strides;
  SmallVector<int64_t> point;
  int64_t token;
};

/// The one loop (besides the last) a table reads along: the token dim.
std::optional<int64_t> tokenDimOf(AffineMap map, int64_t rank) {
  std::optional<int64_t> token;
  for (int64_t dim = 0; dim + 1 < rank; ++dim)
    if (map.isFunctionOfDim(dim)) {
      if (token)
        return std::nullopt;
      token = dim;
    }
  return token;
}

/// The pairing of SPEC 2.6 whose partner lanes `lanes` are.
std::optional<Pairing> pairingOf(const Lanes &lanes) {
  int64_t d = lanes.lane.size();
  if (d % 2 != 0 || d == 0)
    return std::nullopt;
  bool halves = true, interleaved = true;
  for (int64_t t = 0; t < d / 2; ++t) {
    halves &= lanes.lane[t] == t + d / 2 && lanes.lane[t + d / 2] == t;
    interleaved &=
        lanes.lane[2 * t] == 2 * t + 1 && lanes.lane[2 * t + 1] == 2 * t;
  }
  if (halves)
    return Pairing::Halves;
  if (interleaved)
    return Pairing::Interleaved;
  return std::nullopt;
}

/// theta [d/2] of rotary tables (cos and the signed partner coefficients
/// over [L, d]), or nullopt when they are not cos / sin of l * theta_t.
std::optional<SmallVector<double>>
rotaryAngles(TableReader &cosTable, double cosSign, TableReader &sinTable,
             double sinSign, const Lanes &rotated, Pairing pairing,
             int64_t tokens) {
  int64_t d = rotated.lane.size();
  constexpr double kTolerance = 1e-5;
  SmallVector<double> theta;
  for (int64_t t = 0; t < d / 2; ++t) {
    int64_t a = pairing == Pairing::Halves ? t : 2 * t;
    int64_t b = pairing == Pairing::Halves ? t + d / 2 : 2 * t + 1;
    // The phase per position, unwrapped; a rotary table starts at 0.
    SmallVector<double> phase;
    for (int64_t l = 0; l < tokens; ++l) {
      double ca = cosSign * cosTable.at(l, a), cb = cosSign * cosTable.at(l, b);
      double sa = sinSign * rotated.sign[a] * sinTable.at(l, a);
      double sb = sinSign * rotated.sign[b] * sinTable.at(l, b);
      if (std::abs(ca - cb) > kTolerance || std::abs(sa + sb) > kTolerance ||
          std::abs(ca * ca + sb * sb - 1.0) > 4 * kTolerance)
        return std::nullopt;
      double angle = std::atan2(sb, ca);
      if (l == 0) {
        if (std::abs(angle) > kTolerance)
          return std::nullopt;
        phase.push_back(0.0);
      } else {
        phase.push_back(phase.back() +
                        std::remainder(angle - phase.back(), 2 * M_PI));
      }
    }
    // Least squares through the origin, then every entry checked: the
    // table was computed in f32 from l * theta, so its rounding grows with
    // the phase.
    double num = 0.0, den = 0.0;
    for (int64_t l = 0; l < tokens; ++l) {
      num += l * phase[l];
      den += static_cast<double>(l) * l;
    }
    double th = num / den;
    double tolerance = 2e-6 * (4.0 + std::abs(th) * (tokens - 1));
    for (int64_t l = 0; l < tokens; ++l)
      if (2 * std::abs(std::sin((l * th - phase[l]) / 2)) > tolerance)
        return std::nullopt;
    theta.push_back(th);
  }
  return theta;
}

/// x [batch..., L (at `token`), d] -> [1, N, L, d] (N the batch dims'
/// product) and back.
class RotaryLayout {
public:
  RotaryLayout(OpBuilder &b, Location loc, RankedTensorType type, int64_t token)
      : b(b), loc(loc), type(type) {
    int64_t rank = type.getRank();
    for (int64_t dim = 0; dim + 1 < rank; ++dim)
      if (dim != token)
        perm.push_back(dim);
    perm.append({token, rank - 1});
    for (int64_t dim : perm)
      moved.push_back(type.getDimSize(dim));
    heads = 1;
    for (int64_t dim = 0; dim + 2 < rank; ++dim)
      heads *= moved[dim];
  }

  int64_t numHeads() const { return heads; }

  RankedTensorType foldedType() const {
    int64_t rank = type.getRank();
    return RankedTensorType::get({1, heads, moved[rank - 2], moved[rank - 1]},
                                 type.getElementType());
  }

  Value fold(Value x) {
    if (!isIdentity()) {
      Value init =
          tensor::EmptyOp::create(b, loc, moved, type.getElementType());
      x = linalg::TransposeOp::create(b, loc, x, init, perm).getResult()[0];
    }
    return tensor::ExpandShapeOp::create(b, loc, foldedType(), collapseBatch(x),
                                         fourDGroups());
  }

  Value unfold(Value y) {
    int64_t rank = type.getRank();
    Value x = tensor::CollapseShapeOp::create(b, loc, y, fourDGroups());
    if (rank > 3) {
      auto movedType = RankedTensorType::get(moved, type.getElementType());
      x = tensor::ExpandShapeOp::create(b, loc, movedType, x, batchGroups());
    }
    if (isIdentity())
      return x;
    Value init =
        tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
    SmallVector<int64_t> inverse = invertPermutationVector(perm);
    return linalg::TransposeOp::create(b, loc, x, init, inverse).getResult()[0];
  }

private:
  bool isIdentity() const {
    for (auto [index, dim] : llvm::enumerate(perm))
      if (static_cast<int64_t>(index) != dim)
        return false;
    return true;
  }

  /// [batch..., L, d] <-> [N, L, d] ([L, d] stays: no batch dims).
  SmallVector<ReassociationIndices> batchGroups() const {
    int64_t rank = type.getRank();
    SmallVector<ReassociationIndices> groups(1);
    for (int64_t dim = 0; dim + 2 < rank; ++dim)
      groups[0].push_back(dim);
    groups.push_back({rank - 2});
    groups.push_back({rank - 1});
    return groups;
  }

  Value collapseBatch(Value x) {
    if (type.getRank() == 3 || type.getRank() == 2)
      return x;
    return tensor::CollapseShapeOp::create(b, loc, x, batchGroups());
  }

  /// [N, L, d] <-> [1, N, L, d], or [L, d] <-> [1, 1, L, d].
  SmallVector<ReassociationIndices> fourDGroups() const {
    if (type.getRank() == 2)
      return {{0, 1, 2}, {3}};
    return {{0, 1}, {2}, {3}};
  }

  OpBuilder &b;
  Location loc;
  RankedTensorType type;
  SmallVector<int64_t> perm, moved;
  int64_t heads;
};

} // namespace

std::optional<Value> mlir::flt::raiseRotary(OpBuilder &b,
                                            linalg::GenericOp root) {
  if (!isElementwise(root))
    return std::nullopt;
  auto type = cast<RankedTensorType>(root->getResultTypes()[0]);
  int64_t rank = type.getRank();
  if (rank < 2 || !type.hasStaticShape() || !type.getElementType().isF32())
    return std::nullopt;
  PayloadView view(root);
  Operation *sum = view.def(view.yielded());
  if (!isa_and_nonnull<arith::AddFOp, arith::SubFOp>(sum))
    return std::nullopt;
  double secondSign = isa<arith::SubFOp>(sum) ? -1.0 : 1.0;
  std::optional<ScaledByTable> first =
      matchScaledByTable(view, sum->getOperand(0));
  std::optional<ScaledByTable> second =
      matchScaledByTable(view, sum->getOperand(1));
  if (!first || !second)
    return std::nullopt;
  second->sign *= secondSign;
  for (auto [plain, turned] :
       {std::pair(&*first, &*second), std::pair(&*second, &*first)}) {
    Value x = plain->tensor.tensor;
    if (x.getType() != type || !plain->tensor.map.isIdentity() ||
        !turned->tensor.map.isIdentity())
      continue;
    std::optional<Lanes> rotated = lanesOf(turned->tensor.tensor, x, 0);
    if (!rotated)
      continue;
    std::optional<Pairing> pairing = pairingOf(*rotated);
    std::optional<int64_t> token = tokenDimOf(plain->table.map, rank);
    if (!pairing || !token || tokenDimOf(turned->table.map, rank) != token ||
        type.getDimSize(*token) < 2)
      continue;
    TableReader cosTable(*plain, rank, *token);
    TableReader sinTable(*turned, rank, *token);
    std::optional<SmallVector<double>> theta =
        rotaryAngles(cosTable, plain->sign, sinTable, turned->sign, *rotated,
                     *pairing, type.getDimSize(*token));
    if (!theta)
      continue;

    Location loc = root.getLoc();
    b.setInsertionPoint(root);
    RotaryLayout layout(b, loc, type, *token);
    int64_t pairs = theta->size();
    SmallVector<float> table;
    for (int64_t head = 0; head < layout.numHeads(); ++head)
      for (double angle : *theta)
        table.push_back(static_cast<float>(angle));
    auto thetaType =
        RankedTensorType::get({layout.numHeads(), pairs}, b.getF32Type());
    Value thetaValue = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(thetaType, ArrayRef(table)));
    Value folded = layout.fold(x);
    Value transformed = PositionTransformOp::create(
        b, loc, layout.foldedType(), folded, thetaValue, Value(), Value(),
        LrpeCore::Rotary, LrpeMix::Identity, *pairing, 0);
    return layout.unfold(transformed);
  }
  return std::nullopt;
}
