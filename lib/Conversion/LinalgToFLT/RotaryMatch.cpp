//===- RotaryMatch.cpp - rotary embeddings -> flt.position_transform ------===//
//
// A rotary embedding is y = x * C + R(x) * S where R permutes and negates
// the lanes of the last dim (rotate_half: cat(-x[d/2:], x[:d/2]);
// rotate_every_two: stack(-x[1::2], x[::2], -1).flatten(-2)) and C, S are
// constant tables over (position, lane). Written as docs/Semantics.md 2.6 pairs
// (a, b),
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

/// The pieces of a concatenation along `dim`, in order: the inputs of a
/// tensor.concat, or the sources of a chain of tensor.insert_slice that
/// fills a tensor.empty along `dim` (each slice whole in the other dims,
/// unit strides, the slices tiling the dim without overlap).
std::optional<SmallVector<Value>> concatParts(Value value, int64_t dim) {
  if (auto concat = value.getDefiningOp<tensor::ConcatOp>()) {
    if (static_cast<int64_t>(concat.getDim()) != dim)
      return std::nullopt;
    return SmallVector<Value>(concat.getInputs());
  }
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.hasStaticShape())
    return std::nullopt;
  SmallVector<std::pair<int64_t, Value>> pieces;
  while (auto insert = value.getDefiningOp<tensor::InsertSliceOp>()) {
    ArrayRef<int64_t> offsets = insert.getStaticOffsets();
    ArrayRef<int64_t> sizes = insert.getStaticSizes();
    ArrayRef<int64_t> strides = insert.getStaticStrides();
    if (insert.getSourceType().getRank() != type.getRank())
      return std::nullopt;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (strides[d] != 1 ||
          (d != dim && (offsets[d] != 0 || sizes[d] != type.getDimSize(d))))
        return std::nullopt;
    if (ShapedType::isDynamic(offsets[dim]) ||
        ShapedType::isDynamic(sizes[dim]))
      return std::nullopt;
    pieces.push_back({offsets[dim], insert.getSource()});
    value = insert.getDest();
  }
  if (pieces.empty() || !value.getDefiningOp<tensor::EmptyOp>())
    return std::nullopt;
  llvm::sort(pieces, [](auto &a, auto &b) { return a.first < b.first; });
  SmallVector<Value> parts;
  int64_t next = 0;
  for (auto [offset, piece] : pieces) {
    if (offset != next)
      return std::nullopt;
    next += cast<RankedTensorType>(piece.getType()).getDimSize(dim);
    parts.push_back(piece);
  }
  if (next != type.getDimSize(dim))
    return std::nullopt;
  return parts;
}

/// Whether `generic` copies its one input with the last two dims swapped
/// (a transpose(-1, -2) of torch).
bool isLastTwoSwapped(linalg::GenericOp generic) {
  if (!isElementwise(generic) || generic.getNumDpsInputs() != 1 ||
      generic.getNumLoops() < 2 ||
      generic.getBlock()->getTerminator()->getOperand(0) !=
          generic.getBlock()->getArgument(0))
    return false;
  unsigned rank = generic.getNumLoops();
  SmallVector<unsigned> swapped = llvm::to_vector(llvm::seq(0u, rank));
  std::swap(swapped[rank - 1], swapped[rank - 2]);
  return generic.getMatchingIndexingMap(generic.getDpsInputOperand(0)) ==
         AffineMap::getPermutationMap(swapped, generic.getContext());
}

/// stack((a, b, ...), -1).flatten(-2): the collapse of [..., n, m] into
/// [..., n * m] of a concat along the new unit dim of expanded [..., n]
/// values interleaves their lanes; so does stack((a, b, ...), -2)
/// .transpose(-1, -2).flatten(-2), the concat of [..., 1, n] expands along
/// dim -2, then swapped.
std::optional<Lanes> interleavedLanes(tensor::CollapseShapeOp collapse, Value x,
                                      int depth) {
  int64_t rank = collapse.getResultType().getRank();
  SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
  if (static_cast<int64_t>(groups.size()) != rank ||
      groups.back() != ReassociationIndices{rank - 1, rank})
    return std::nullopt;
  Value stacked = collapse.getSrc();
  int64_t newDim = rank; // the dim the parts are concatenated along
  if (auto swap = stacked.getDefiningOp<linalg::GenericOp>();
      swap && isLastTwoSwapped(swap)) {
    stacked = swap.getDpsInputOperand(0)->get();
    newDim = rank - 1;
  }
  std::optional<SmallVector<Value>> inputs = concatParts(stacked, newDim);
  if (!inputs)
    return std::nullopt;
  SmallVector<Lanes> parts;
  for (Value input : *inputs) {
    auto expand = input.getDefiningOp<tensor::ExpandShapeOp>();
    if (!expand || expand.getSrcType().getRank() != rank ||
        expand.getResultType().getDimSize(newDim) != 1 ||
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

/// The signs an elementwise generic applies to the lanes of its input `in`
/// (`lanes` of them along the last loop): -x, 0 - x, x * c with c = +-1 a
/// constant, or a constant vector of +-1 per lane (cat(x2, x1) * [-1, .., 1,
/// ..]), and chains of those; nullopt for anything else.
std::optional<SmallVector<double>> laneSigns(linalg::GenericOp generic,
                                             Value in, int64_t lanes) {
  PayloadView view(generic);
  int64_t rank = generic.getNumLoops();
  SmallVector<double> signs(lanes, 1.0);
  auto isConstant = [&](Value v, double c) {
    std::optional<double> k = view.constant(v);
    return k && *k == c;
  };
  // The +-1 per lane of a constant operand, read along the last loop only.
  auto perLane = [&](Value v) -> std::optional<SmallVector<double>> {
    if (std::optional<double> k = view.constant(v)) {
      if (*k != 1.0 && *k != -1.0)
        return std::nullopt;
      return SmallVector<double>(lanes, *k);
    }
    std::optional<ElementRead> read = view.readShallow(v);
    if (!read)
      return std::nullopt;
    std::optional<ConstantRead> table =
        ConstantRead::get(read->tensor, read->map, Indicator::None);
    if (!table)
      return std::nullopt;
    for (int64_t dim = 0; dim + 1 < rank; ++dim)
      if (read->map.isFunctionOfDim(dim))
        return std::nullopt;
    SmallVector<double> values;
    SmallVector<int64_t> point(rank, 0);
    for (int64_t lane = 0; lane < lanes; ++lane) {
      point.back() = lane;
      double x = table->at(point);
      if (x != 1.0 && x != -1.0)
        return std::nullopt;
      values.push_back(x);
    }
    return values;
  };
  Value y = generic.getBlock()->getTerminator()->getOperand(0);
  while (y != in) {
    Operation *op = y.getDefiningOp();
    if (!op || op->getBlock() != generic.getBlock())
      return std::nullopt;
    std::optional<SmallVector<double>> factor;
    if (auto neg = dyn_cast<arith::NegFOp>(op)) {
      factor = SmallVector<double>(lanes, -1.0);
      y = neg.getOperand();
    } else if (auto sub = dyn_cast<arith::SubFOp>(op);
               sub && isConstant(sub.getLhs(), 0.0)) {
      factor = SmallVector<double>(lanes, -1.0);
      y = sub.getRhs();
    } else if (sub && isConstant(sub.getRhs(), 0.0)) {
      factor = SmallVector<double>(lanes, 1.0);
      y = sub.getLhs();
    } else if (auto mul = dyn_cast<arith::MulFOp>(op)) {
      if ((factor = perLane(mul.getRhs())))
        y = mul.getLhs();
      else if ((factor = perLane(mul.getLhs())))
        y = mul.getRhs();
    }
    if (!factor)
      return std::nullopt;
    for (auto [sign, f] : llvm::zip_equal(signs, *factor))
      sign *= f;
  }
  return signs;
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
  if (std::optional<SmallVector<Value>> inputs = concatParts(value, last)) {
    Lanes result;
    for (Value input : *inputs) {
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
    // One input read by the identity; the others constants (signs).
    OpOperand *input = nullptr;
    for (OpOperand *operand : generic.getDpsInputOperands()) {
      if (matchPattern(operand->get(), m_Constant()) ||
          constantScalar(operand->get()))
        continue;
      if (input || !generic.getMatchingIndexingMap(operand).isIdentity())
        return std::nullopt;
      input = operand;
    }
    if (!isElementwise(generic) || !input)
      return std::nullopt;
    std::optional<SmallVector<double>> signs =
        laneSigns(generic, generic.getMatchingBlockArgument(input),
                  type.getDimSize(last));
    if (!signs)
      return std::nullopt;
    std::optional<Lanes> source = lanesOf(input->get(), x, depth + 1);
    if (!source || source->sign.size() != signs->size())
      return std::nullopt;
    for (auto [sign, factor] : llvm::zip_equal(source->sign, *signs))
      sign *= factor;
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
/// of the root (other loops at 0: the table does not change along them).
class TableReader {
public:
  TableReader(const ConstantRead &table, int64_t rank, int64_t token)
      : table(table), point(rank, 0), token(token) {}

  double at(int64_t position, int64_t lane) {
    point[token] = position;
    point.back() = lane;
    return table.at(point);
  }

private:
  const ConstantRead &table;
  SmallVector<int64_t> point;
  int64_t token;
};

/// The one loop (besides the last) along which the tables change: the
/// token dim. The tables may repeat along other loops (a table broadcast
/// over the batch before it was folded into a constant).
std::optional<int64_t> tokenDimOf(ArrayRef<ConstantRead> tables, int64_t rank) {
  std::optional<int64_t> token;
  for (int64_t dim = 0; dim + 1 < rank; ++dim)
    if (llvm::any_of(tables, [&](const ConstantRead &table) {
          return !table.invariantAlong(dim);
        })) {
      if (token)
        return std::nullopt;
      token = dim;
    }
  return token;
}

/// The pairing of docs/Semantics.md 2.6 whose partner lanes `lanes` are.
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

/// x [batch..., L (at `token`), d] -> [B, H, L, d] and back: the token dim
/// moved next to the last, then the batch dims either all folded into H
/// (`foldBatch`: [1, N, L, d], N their product) or, as for the attention
/// ops, the last one H and the leading ones folded into B.
class RotaryLayout {
public:
  RotaryLayout(OpBuilder &b, Location loc, RankedTensorType type, int64_t token,
               bool foldBatch)
      : b(b), loc(loc), type(type) {
    int64_t rank = type.getRank();
    for (int64_t dim = 0; dim + 1 < rank; ++dim)
      if (dim != token)
        perm.push_back(dim);
    perm.append({token, rank - 1});
    for (int64_t dim : perm)
      moved.push_back(type.getDimSize(dim));
    // Batch dims 0 .. n-1: collapse those that share a folded dim, then
    // prepend the missing unit dims.
    int64_t n = rank - 2;
    int64_t kept =
        foldBatch ? std::min<int64_t>(n, 1) : std::min<int64_t>(n, 2);
    if (n > kept) {
      collapseGroups.emplace_back();
      for (int64_t dim = 0; dim <= n - kept; ++dim)
        collapseGroups.back().push_back(dim);
      for (int64_t dim = n - kept + 1; dim < rank; ++dim)
        collapseGroups.push_back({dim});
    }
    int64_t collapsedRank = kept + 2;
    if (collapsedRank < 4) {
      expandGroups.emplace_back();
      for (int64_t dim = 0; dim <= 4 - collapsedRank; ++dim)
        expandGroups.back().push_back(dim);
      for (int64_t dim = 5 - collapsedRank; dim < 4; ++dim)
        expandGroups.push_back({dim});
    }
    int64_t batch = 1;
    for (int64_t dim = 0; dim < n; ++dim)
      batch *= moved[dim];
    int64_t heads = n == 0 ? 1 : foldBatch ? batch : moved[n - 1];
    folded = {batch / heads, heads, moved[n], moved[n + 1]};
  }

  int64_t numHeads() const { return folded[1]; }

  RankedTensorType foldedType() const {
    return RankedTensorType::get(folded, type.getElementType());
  }

  Value fold(Value x) {
    if (!isIdentity()) {
      Value init =
          tensor::EmptyOp::create(b, loc, moved, type.getElementType());
      x = linalg::TransposeOp::create(b, loc, x, init, perm).getResult()[0];
    }
    if (!collapseGroups.empty())
      x = tensor::CollapseShapeOp::create(b, loc, x, collapseGroups);
    if (!expandGroups.empty())
      x = tensor::ExpandShapeOp::create(b, loc, foldedType(), x, expandGroups);
    return x;
  }

  Value unfold(Value y) {
    Value x = y;
    if (!expandGroups.empty())
      x = tensor::CollapseShapeOp::create(b, loc, x, expandGroups);
    if (!collapseGroups.empty()) {
      auto movedType = RankedTensorType::get(moved, type.getElementType());
      x = tensor::ExpandShapeOp::create(b, loc, movedType, x, collapseGroups);
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

  OpBuilder &b;
  Location loc;
  RankedTensorType type;
  SmallVector<int64_t> perm, moved, folded;
  SmallVector<ReassociationIndices> collapseGroups, expandGroups;
};

} // namespace

std::optional<Value>
mlir::flt::raiseRotary(OpBuilder &b, linalg::GenericOp root, bool foldBatch) {
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
    std::optional<ConstantRead> cosValues = ConstantRead::get(
        plain->table.tensor, plain->table.map, Indicator::None);
    std::optional<ConstantRead> sinValues = ConstantRead::get(
        turned->table.tensor, turned->table.map, Indicator::None);
    if (!pairing || !cosValues || !sinValues)
      continue;
    std::optional<int64_t> token = tokenDimOf({*cosValues, *sinValues}, rank);
    if (!token || type.getDimSize(*token) < 2)
      continue;
    TableReader cosTable(*cosValues, rank, *token);
    TableReader sinTable(*sinValues, rank, *token);
    std::optional<SmallVector<double>> theta =
        rotaryAngles(cosTable, plain->sign, sinTable, turned->sign, *rotated,
                     *pairing, type.getDimSize(*token));
    if (!theta)
      continue;

    Location loc = root.getLoc();
    b.setInsertionPoint(root);
    RotaryLayout layout(b, loc, type, *token, foldBatch);
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
        b, loc, layout.foldedType(), folded, thetaValue, /*mix_vector=*/Value(),
        /*positions=*/Value(), /*cu_seqlens=*/Value(), LrpeCore::Rotary,
        LrpeMix::Identity, *pairing, /*offset=*/0,
        /*mix_eps=*/llvm::APFloat(0.0f));
    return layout.unfold(transformed);
  }
  return std::nullopt;
}
