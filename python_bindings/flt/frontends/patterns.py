"""Raising the attention patterns people write into flt ops.

The matchers look at *what* a subgraph computes, not at how it is spelled:
every chain of matmuls, einsums, transposes, broadcasting products and sums
is first brought into one canonical form, a `Term`: a coefficient times a
product of leaf tensors, each indexed by labels, summed over the labels not
in the output. Then

    (phi(q) @ phi(k).T) @ v / (phi(q) @ phi(k).T).sum(-1)               and
    einsum('bhld,bhde->bhle', fq, einsum('bhsd,bhse->bhde', fk, v)) / ...

both read  N[b,h,l,e] = sum_{s,x} fq[b,h,l,x] fk[b,h,s,x] v[b,h,s,e]  over
D = the same without v, and become one `flt.linear_attention`. A further
pair of factors Phi[l,y] Psi[s,y] is the FLT RPE mask (`rpe(Phi, Psi)`); a
constant lower-triangular factor makes it causal. Softmax attention is
softmax(c * q k^T + bias) @ v with an optional constant bias that is a
causal -inf mask and/or a per-head Toeplitz bias b[h, j - i]; it becomes
`flt.kernel_attention`. Rotary embeddings, x * cos + R(x) * sin with R a
signed permutation of the feature dim (rotate_half, rotate_every_two, found
by evaluating R on probes) and constant tables whose angles are l * theta_t,
become `flt.position_transform` (rotary).
"""

import itertools
from typing import Dict, List, Optional

import numpy as np

from .. import ops
from .graph import (Graph, Node, UnsupportedError, const, evaluate,
                    make)

_labels = itertools.count(1)


class Term:
    """coefficient * prod(factors), summed over labels not in `out`.
    factors: [(node, labels)] with one label per node dim (None for a size-1
    dim); out: one label per result dim (None for size 1)."""

    def __init__(self, factors, out, coefficient=1.0):
        self.factors = factors
        self.out = out
        self.coefficient = coefficient

    def rename(self, old, new):
        def r(labels):
            return tuple(new if l == old else l for l in labels)
        self.factors = [(n, r(ls)) for n, ls in self.factors]
        self.out = r(self.out)

    def summed(self):
        used = {l for _, ls in self.factors for l in ls if l is not None}
        return used - set(self.out)


def _leaf(node: Node) -> Term:
    labels = tuple(None if s == 1 else next(_labels) for s in node.shape)
    return Term([(node, labels)], labels)


def _unify(a: Term, a_labels, b: Term, b_labels):
    """Renames b's labels to a's where the two are aligned (right-aligned
    broadcasting). Returns the combined output labels."""
    n = max(len(a_labels), len(b_labels))
    a_labels = (None,) * (n - len(a_labels)) + tuple(a_labels)
    b_labels = (None,) * (n - len(b_labels)) + tuple(b_labels)
    out = []
    for x, y in zip(a_labels, b_labels):
        if x is not None and y is not None and x != y:
            b.rename(y, x)
        out.append(x if x is not None else y)
    return tuple(out)


def canon(node: Node, depth=0) -> Term:
    """The canonical Term of `node` (a leaf when it is not multilinear)."""
    if depth > 64:
        return _leaf(node)
    k = node.kind
    if k == "const" and node.value.size == 1:
        return Term([], (None,) * len(node.shape),
                    float(node.value.reshape(())))
    if k == "contract":
        lhs, out = node.attrs["equation"].split("->")
        names: Dict[str, int] = {}
        factors, coefficient = [], 1.0
        for chars, inp in zip(lhs.split(","), node.inputs):
            sub = canon(inp, depth + 1)
            for c, label in zip(chars, sub.out):
                if label is None:
                    continue
                if c in names:
                    sub.rename(label, names[c])
                else:
                    names[c] = label
            factors += sub.factors
            coefficient *= sub.coefficient
        result = tuple(names.get(c) for c in out)
        result = tuple(None if s == 1 else l
                       for l, s in zip(result, node.shape))
        if any(l is None and s != 1 for l, s in zip(result, node.shape)):
            return _leaf(node)
        return Term(factors, result, coefficient)
    if k == "permute":
        sub = canon(node.inputs[0], depth + 1)
        return Term(sub.factors, tuple(sub.out[p] for p in node.attrs["perm"]),
                    sub.coefficient)
    if k == "reshape":
        src = node.inputs[0]
        if [s for s in src.shape if s != 1] == [s for s in node.shape
                                                 if s != 1]:
            sub = canon(src, depth + 1)
            labels = iter([l for l, s in zip(sub.out, src.shape) if s != 1])
            out = tuple(None if s == 1 else next(labels) for s in node.shape)
            return Term(sub.factors, out, sub.coefficient)
        return _leaf(node)
    if k == "reduce" and node.attrs["fn"] in ("sum", "mean"):
        src = node.inputs[0]
        sub = canon(src, depth + 1)
        rank = len(src.shape)
        dims = {d % rank for d in node.attrs["dims"]}
        coefficient = sub.coefficient
        if node.attrs["fn"] == "mean":
            coefficient /= float(np.prod([src.shape[d] for d in dims]))
        if node.attrs["keepdim"]:
            out = tuple(None if d in dims else l
                        for d, l in enumerate(sub.out))
        else:
            out = tuple(l for d, l in enumerate(sub.out) if d not in dims)
        return Term(sub.factors, out, coefficient)
    if k == "binary" and node.attrs["fn"] in ("mul", "div"):
        a, b = node.inputs
        if node.attrs["fn"] == "div":
            if b.kind == "const" and b.value.size == 1:
                sub = canon(a, depth + 1)
                return Term(sub.factors, _pad(sub.out, len(node.shape)),
                            sub.coefficient / float(b.value.reshape(())))
            return _leaf(node)
        ta, tb = canon(a, depth + 1), canon(b, depth + 1)
        out = _unify(ta, ta.out, tb, tb.out)
        return Term(ta.factors + tb.factors, out,
                    ta.coefficient * tb.coefficient)
    if k == "where":
        cond, x, y = node.inputs
        # masked_fill(mask, 0): a product with the constant 0/1 mask.
        if cond.kind == "const":
            # One product node per `where`, so that N and D share it.
            product = node.attrs.get("as_product")
            if product is None:
                if y.kind == "const" and np.all(y.value == 0):
                    mask = const(cond.value.astype(np.float32))
                    product = make("binary", [x, mask], fold=False, fn="mul")
                elif x.kind == "const" and np.all(x.value == 0):
                    mask = const((~cond.value.astype(bool)).astype(
                        np.float32))
                    product = make("binary", [y, mask], fold=False, fn="mul")
                node.attrs["as_product"] = product
            if product is not None:
                return canon(product, depth + 1)
    return _leaf(node)


def _pad(labels, rank):
    return (None,) * (rank - len(labels)) + tuple(labels)


# --------------------------------------------------------------------------
# Layout: bring a factor into flt's [B, H, token, feature] layout
# --------------------------------------------------------------------------

def _to_layout(node: Node, labels, target, sizes) -> Node:
    """`node` (dims labelled `labels`) as a tensor over `target` labels
    (None entries are size-1 dims), broadcast to `sizes`."""
    present = [l for l in target if l is not None and l in labels]
    if set(l for l in labels if l is not None) - set(present):
        raise UnsupportedError("factor has labels outside the target")
    # Drop size-1 dims, put the rest in target order.
    squeezed_shape = [s for s, l in zip(node.shape, labels) if l is not None]
    squeezed_labels = [l for l in labels if l is not None]
    x = node
    if len(squeezed_shape) != len(node.shape):
        x = make("reshape", [x], shape=tuple(squeezed_shape))
    perm = [squeezed_labels.index(l) for l in present]
    if perm != list(range(len(perm))):
        x = make("permute", [x], perm=perm)
    shape = tuple(sizes[i] if l in present else 1
                  for i, l in enumerate(target))
    if x.shape != shape:
        x = make("reshape", [x], shape=shape)
    if x.shape != tuple(sizes):
        x = make("broadcast", [x], shape=tuple(sizes))
    return x


def _label_sizes(term: Term) -> Dict[int, int]:
    sizes = {}
    for node, labels in term.factors:
        for l, s in zip(labels, node.shape):
            if l is not None:
                sizes[l] = s
    return sizes


def _feature_map(node: Node):
    """(kernel, eps, x) when `node` is a feature map flt knows, else None."""
    if node.kind == "unary" and node.attrs["fn"] == "relu":
        return "relu", 0.0, node.inputs[0]
    if node.kind == "binary" and node.attrs["fn"] == "add":
        a, b = node.inputs
        if a.kind == "const":
            a, b = b, a
        if b.kind == "const" and b.value.size == 1:
            c = float(b.value.reshape(()))
            if a.kind == "unary" and a.attrs["fn"] == "elu" and \
                    a.attrs.get("alpha", 1.0) == 1.0:
                return "elu_plus_one", c - 1.0, a.inputs[0]
            if a.kind == "unary" and a.attrs["fn"] == "relu":
                return "relu", c, a.inputs[0]
    return None


def _is_causal_mask(value: np.ndarray, l_axis_first=True) -> bool:
    value = np.asarray(value)
    if value.ndim != 2 or value.shape[0] != value.shape[1]:
        return False
    tril = np.tril(np.ones(value.shape, dtype=value.dtype))
    return bool(np.array_equal(value if l_axis_first else value.T, tril))


def _low_rank(mask: np.ndarray, max_fraction=0.5):
    """(Phi [L, r], Psi [S, r]) with Phi Psi^T = mask when the constant mask
    has a low numerical rank (as an RPE mask made from r/2 random Fourier
    features does), else None. Singular values below 1e-5 of the largest
    are the mask's own f32 rounding and are dropped."""
    L, S = mask.shape
    if min(L, S) < 2 or L * S > 4096 * 4096:
        return None
    u, sigma, vt = np.linalg.svd(mask.astype(np.float64),
                                 full_matrices=False)
    if sigma[0] == 0:
        return None
    rank = int(np.sum(sigma > 1e-5 * sigma[0]))
    if rank > max_fraction * min(L, S):
        return None
    root = np.sqrt(sigma[:rank])
    return ((u[:, :rank] * root).astype(np.float32),
            (vt[:rank].T * root).astype(np.float32))


class _Batch:
    """How N's batch labels map onto flt's B and H."""

    def __init__(self, labels, sizes):
        self.labels = list(labels)
        self.sizes = [sizes[l] for l in labels]

    def target(self, token, feature):
        """Target labels and sizes before folding batch dims into B, H."""
        return self.labels + [token, feature]

    def fold(self, node: Node) -> Node:
        """[*batch, T, F] -> [B, H, T, F]."""
        *batch, t, f = node.shape
        if len(batch) == 2:
            return node
        if len(batch) < 2:
            shape = (1,) * (2 - len(batch)) + tuple(batch) + (t, f)
        else:
            shape = (int(np.prod(batch[:-1])), batch[-1], t, f)
        return make("reshape", [node], shape=shape)


def _flt_node(build, inputs, shape, origin, dtype=np.float32):
    return Node("flt", inputs, shape, dtype, origin, build=build)


# --------------------------------------------------------------------------
# Linear attention
# --------------------------------------------------------------------------

def _split_denominator(node: Node):
    """D and eps of `D + eps` (eps 0.0 without one)."""
    if node.kind == "binary" and node.attrs["fn"] == "add":
        a, b = node.inputs
        if a.kind == "const" and a.value.size == 1:
            a, b = b, a
        if b.kind == "const" and b.value.size == 1:
            return a, float(b.value.reshape(()))
    return node, 0.0


def _reciprocal(node: Node):
    """(c, X) when `node` computes c / X, else None."""
    if node.kind == "unary" and node.attrs["fn"] == "reciprocal":
        return 1.0, node.inputs[0]
    if node.kind == "binary" and node.attrs["fn"] == "div":
        a, b = node.inputs
        if a.kind == "const" and a.value.size == 1:
            return float(a.value.reshape(())), b
    return None


def _numerator_denominator(node: Node):
    """(N term, denominator node, the denominator's labels in N's terms) of
    `N / X` or of a product with a factor c / X."""
    rank = len(node.shape)
    if node.kind == "binary" and node.attrs["fn"] == "div":
        numerator, den = node.inputs
        n = canon(numerator)
        out = _pad(n.out, rank)
        den_labels = out[rank - len(den.shape):]
        return Term(n.factors, out, n.coefficient), den, den_labels
    term = canon(node)
    found = [(i, f) for i, f in enumerate(term.factors)
             if _reciprocal(f[0]) is not None]
    if len(found) != 1:
        return None
    index, (fnode, flabels) = found[0]
    c, den = _reciprocal(fnode)
    factors = term.factors[:index] + term.factors[index + 1:]
    return Term(factors, term.out, term.coefficient * c), den, flabels


def match_linear_attention(node: Node) -> Optional[Node]:
    if node.kind not in ("binary", "contract"):
        return None
    split = _numerator_denominator(node)
    if split is None:
        return None
    n, den_node, den_labels = split
    den_node, eps = _split_denominator(den_node)
    d = canon(den_node)
    if len(d.out) != len(den_labels):
        return None
    for mine, theirs in zip(d.out, den_labels):
        if mine is not None and theirs is not None and mine != theirs:
            d.rename(mine, theirs)
    if len(n.out) < 2 or n.out[-1] is None or n.out[-2] is None:
        return None
    out = n.out
    # The denominator must not depend on the value feature.
    if n.out[-1] in d.out:
        return None
    l_label, e_label = n.out[-2], n.out[-1]
    batch_labels = [l for l in n.out[:-2] if l is not None]
    # v: the one factor of N carrying e.
    with_e = [f for f in n.factors if e_label in f[1]]
    if len(with_e) != 1:
        return None
    v_node, v_labels = with_e[0]
    summed_v = [l for l in v_labels if l is not None and l in n.summed()]
    if len(summed_v) != 1:
        return None
    s_label = summed_v[0]
    rest = [f for f in n.factors if f is not with_e[0]]
    # D must be the same product as N without v.
    if sorted(f[0].id for f in rest) != sorted(f[0].id for f in d.factors):
        return None
    mapping = {l: l for l in out if l is not None}
    for (dn, dl) in d.factors:
        candidates = [f for f in rest if f[0] is dn]
        ok = False
        for (rn, rl) in candidates:
            trial = dict(mapping)
            good = True
            for a, b in zip(dl, rl):
                if (a is None) != (b is None):
                    good = False
                    break
                if a is not None:
                    if trial.setdefault(a, b) != b:
                        good = False
                        break
            if good:
                mapping = trial
                ok = True
                break
        if not ok:
            return None
    if len(set(mapping.values())) != len(mapping):
        return None
    # Classify the factors.
    query, key, masks = [], [], []
    for f in rest:
        labels = set(l for l in f[1] if l is not None)
        if not labels <= set(batch_labels) | {l_label, s_label} | n.summed():
            return None
        if l_label in labels and s_label in labels:
            masks.append(f)
        elif l_label in labels:
            query.append(f)
        elif s_label in labels:
            key.append(f)
        else:
            return None
    causal = False
    for mask_node, mask_labels in masks:
        if mask_node.kind != "const":
            return None
        squeezed = [l for l in mask_labels if l is not None]
        if sorted(squeezed) != sorted([l_label, s_label]):
            return None
        value = mask_node.value.reshape(
            [s for s, l in zip(mask_node.shape, mask_labels) if l is not None])
        if squeezed[0] != l_label:
            value = value.T
        if _is_causal_mask(value):
            causal = True
            continue
        factors = _low_rank(value)
        if factors is None:
            return None
        phi, psi = factors
        y_label = next(_labels)
        query.append((const(phi), (l_label, y_label)))
        key.append((const(psi), (s_label, y_label)))
        n.factors.append(query[-1])
        n.factors.append(key[-1])
    # Pair query and key factors through their feature label.
    pairs = []
    for qn, ql in query:
        feats = [l for l in ql if l is not None and l in n.summed()]
        if len(feats) != 1:
            return None
        partners = [f for f in key if feats[0] in f[1]]
        if len(partners) != 1:
            return None
        pairs.append(((qn, ql), partners[0], feats[0]))
    if len(pairs) not in (1, 2) or len(pairs) != len(key):
        return None
    # The pair whose query side is a feature map (or not constant) carries
    # the features; the other is the RPE.
    pairs.sort(key=lambda p: (_feature_map(p[0][0]) is None,
                              p[0][0].kind == "const"))
    sizes = _label_sizes(n)
    batch = _Batch(batch_labels, sizes)
    tokens_l, tokens_s = sizes[l_label], sizes[s_label]
    if causal and tokens_l != tokens_s:
        return None

    def operand(factor, token, feature, token_size):
        fnode, flabels = factor
        target = batch.target(token, feature)
        shape = batch.sizes + [token_size, sizes[feature]]
        return batch.fold(_to_layout(fnode, flabels, target, shape))

    inputs, kinds = [], []
    (q_f, k_f, x_label) = pairs[0]
    for factor, token, token_size in ((q_f, l_label, tokens_l),
                                      (k_f, s_label, tokens_s)):
        fm = _feature_map(factor[0])
        if fm is not None and factor[0].kind != "const":
            kernel, fm_eps, src = fm
            inputs.append(operand((src, factor[1]), token, x_label,
                                  token_size))
            kinds.append((kernel, fm_eps))
        else:
            inputs.append(operand(factor, token, x_label, token_size))
            kinds.append(None)
    inputs.append(operand((v_node, v_labels), s_label, e_label, tokens_s))
    if len(pairs) == 2:
        (p_f, s_f, y_label) = pairs[1]
        inputs.append(operand(p_f, l_label, y_label, tokens_l))
        inputs.append(operand(s_f, s_label, y_label, tokens_s))
    scale = n.coefficient / d.coefficient
    eps_attr = eps / d.coefficient
    fq_shape = inputs[0].shape
    result_shape = fq_shape[:3] + (inputs[2].shape[3],)

    def build(fq, fk, v, *rpe):
        features = []
        for value, kind, is_query in ((fq, kinds[0], True),
                                      (fk, kinds[1], False)):
            if kind is not None:
                value = ops.feature_map(value, kernel=kind[0],
                                        eps=kind[1] or None)
            features.append(value)
        return ops.linear_attention(
            features[0], features[1], v, tuple(rpe) if rpe else None,
            causal=causal or None, eps=eps_attr)

    result = _flt_node(build, inputs, result_shape, node.origin)
    return _from_layout(result, batch, [l_label, e_label], n.out, node.shape,
                        sizes, scale)


def _from_layout(result: Node, batch: _Batch, tail, out_labels, shape, sizes,
                 scale) -> Node:
    """[B, H, T, F] back to the matched node's shape and label order."""
    x = result
    unfolded = tuple(batch.sizes) + tuple(sizes[l] for l in tail)
    if x.shape != unfolded:
        x = make("reshape", [x], shape=unfolded)
    labels = batch.labels + list(tail)
    wanted = [l for l in out_labels if l is not None]
    perm = [labels.index(l) for l in wanted]
    if perm != list(range(len(perm))):
        x = make("permute", [x], perm=perm)
    if x.shape != tuple(shape):
        x = make("reshape", [x], shape=tuple(shape))
    if scale != 1.0:
        x = make("binary", [x, const(np.float32(scale))], fn="mul")
    return x


# --------------------------------------------------------------------------
# Softmax attention
# --------------------------------------------------------------------------

def _toeplitz_bias(bias: np.ndarray, causal: bool):
    """bias [H or 1, L, S] -> b [H, L+S-1] with bias[h,i,j] = b[h, j-i+L-1],
    or None when it is not Toeplitz."""
    h, L, S = bias.shape
    out = np.zeros((h, L + S - 1), np.float32)
    seen = np.zeros((h, L + S - 1), bool)
    for i in range(L):
        for j in range(S):
            if causal and j > i:
                continue
            c = j - i + L - 1
            if seen[0, c]:
                if not np.allclose(out[:, c], bias[:, i, j], rtol=1e-6,
                                   atol=1e-6):
                    return None
            else:
                out[:, c] = bias[:, i, j]
                seen[:, c] = True
    return out


def attention_node(q, k, v, origin, *, causal=False, temperature=None,
                   bias=None) -> Node:
    """flt.kernel_attention(softmax) over [B,H,L,d] nodes."""
    inputs = [q, k, v] + ([bias] if bias is not None else [])

    def build(qv, kv, vv, *b):
        return ops.kernel_attention(qv, kv, vv, bias=b[0] if b else None,
                                    causal=causal or None,
                                    temperature=temperature)

    return _flt_node(build, inputs, q.shape[:3] + (v.shape[3],), origin)


def match_softmax_attention(node: Node) -> Optional[Node]:
    if node.kind != "contract":
        return None
    term = canon(node)
    if len(term.factors) != 2 or term.coefficient != 1.0:
        return None
    (pn, pl), (vn, vl) = term.factors
    if pn.kind != "softmax":
        (pn, pl), (vn, vl) = (vn, vl), (pn, pl)
    if pn.kind != "softmax" or pn.attrs["dim"] % len(pn.shape) != \
            len(pn.shape) - 1:
        return None
    s_label = pl[-1]
    if s_label is None or s_label in term.out or len(term.out) < 2:
        return None
    l_label, e_label = term.out[-2], term.out[-1]
    if pl[-2] != l_label or l_label is None or e_label is None:
        return None
    batch_labels = [l for l in term.out[:-2] if l is not None]
    # The scores: c * q k^T, plus an optional constant bias / -inf mask.
    scores = pn.inputs[0]
    bias = None
    if scores.kind == "where" and scores.inputs[0].kind == "const" and \
            scores.inputs[1].kind == "const" and \
            np.all(np.isneginf(scores.inputs[1].value)):
        mask = np.broadcast_to(scores.inputs[0].value, scores.shape)
        bias = np.where(mask, -np.inf, 0.0).astype(np.float32)
        scores = scores.inputs[2]
    if scores.kind == "binary" and scores.attrs["fn"] == "add":
        a, b = scores.inputs
        if a.kind == "const":
            a, b = b, a
        if b.kind == "const":
            added = np.broadcast_to(b.value, scores.shape).astype(np.float32)
            bias = added if bias is None else bias + added
            scores = a
    st = canon(scores)
    if len(st.factors) != 2 or len(st.summed()) != 1:
        return None
    out = _unify(Term([], pl), pl, st, st.out)
    if tuple(out) != tuple(pl):
        return None
    x_label = next(iter(st.summed()))
    q_f = [f for f in st.factors if l_label in f[1]]
    k_f = [f for f in st.factors if s_label in f[1]]
    if len(q_f) != 1 or len(k_f) != 1 or q_f[0] is k_f[0]:
        return None
    sizes = _label_sizes(st)
    sizes.update(_label_sizes(term))
    batch = _Batch(batch_labels, sizes)
    L, S = sizes[l_label], sizes[s_label]

    def operand(factor, token, feature):
        target = batch.target(token, feature)
        shape = batch.sizes + [sizes[token], sizes[feature]]
        return batch.fold(_to_layout(factor[0], factor[1], target, shape))

    q = operand(q_f[0], l_label, x_label)
    k = operand(k_f[0], s_label, x_label)
    v = operand((vn, vl), s_label, e_label)
    causal, bias_node = False, None
    if bias is not None:
        # bias over (*batch, L, S): per head, the same for every batch.
        b = bias.reshape((-1,) + bias.shape[-2:])
        heads = q.shape[1]
        if b.shape[0] not in (1, heads * q.shape[0], heads):
            return None
        b = b.reshape((-1, heads if b.shape[0] != 1 else 1, L, S))
        if not np.all(b == b[:1]):
            return None
        b = b[0]
        neginf = np.isneginf(b)
        if neginf.any():
            if L != S or not np.array_equal(
                    neginf, np.broadcast_to(np.triu(np.ones((L, S), bool), 1),
                                            neginf.shape)):
                return None
            causal = True
        finite = np.where(neginf, 0.0, b).astype(np.float32)
        if np.any(finite != 0):
            toeplitz = _toeplitz_bias(finite, causal)
            if toeplitz is None:
                return None
            bias_node = const(np.broadcast_to(toeplitz, (heads,) +
                                              toeplitz.shape[1:]).copy())
    result = attention_node(q, k, v, node.origin, causal=causal,
                            temperature=st.coefficient, bias=bias_node)
    return _from_layout(result, batch, [l_label, e_label], term.out,
                        node.shape, sizes, 1.0)


# --------------------------------------------------------------------------
# Rotary position transforms
# --------------------------------------------------------------------------

def _value_of(node: Node, leaf: Node, leaf_value: np.ndarray):
    """numpy value of `node` as a function of `leaf` (given `leaf_value`);
    None when it depends on anything but `leaf` and constants."""
    memo = {leaf.id: leaf_value}

    def visit(n, depth=0):
        if n.id in memo:
            return memo[n.id]
        if n.kind == "const":
            return n.value
        if n.kind in ("input", "flt") or depth > 32:
            return None
        values = [visit(i, depth + 1) for i in n.inputs]
        if any(v is None for v in values):
            return None
        try:
            with np.errstate(all="ignore"):
                value = evaluate(n.kind, values, n.attrs)
        except (UnsupportedError, ValueError, KeyError):
            return None
        memo[n.id] = value
        return value

    return visit(node)


def _signed_permutation(rotated: Node, x: Node):
    """(perm, sign) when `rotated` computes x[..., perm] * sign (a signed
    permutation of the last dim, the same at every position, as rotate_half
    and rotate_every_two are), else None."""
    if rotated is x or rotated.shape != x.shape:
        return None
    d = x.shape[-1]
    probe = np.broadcast_to(np.arange(1, d + 1, dtype=np.float64),
                            x.shape).copy()
    image = _value_of(rotated, x, probe)
    if image is None or image.shape != x.shape:
        return None
    row = image.reshape(-1, d)
    if not np.all(row == row[:1]):
        return None
    row = row[0]
    perm = np.abs(row).astype(np.int64) - 1
    if not np.array_equal(np.abs(row), np.round(np.abs(row))) or \
            sorted(perm.tolist()) != list(range(d)):
        return None
    sign = np.sign(row)
    # A second, random probe rules out maps that only look like a signed
    # permutation on the arange probe.
    rng = np.random.default_rng(0)
    sample = rng.standard_normal(x.shape)
    image = _value_of(rotated, x, sample)
    if image is None or not np.allclose(image, sample[..., perm] * sign,
                                        rtol=0, atol=1e-12):
        return None
    return perm, sign


def _scaled_by_constant(node: Node):
    """(x, c) when `node` is x * c (either order) with a constant c."""
    if node.kind == "binary" and node.attrs["fn"] == "mul":
        a, b = node.inputs
        if a.kind == "const" and b.kind != "const":
            a, b = b, a
        if b.kind == "const" and a.kind != "const":
            return a, b.value
    return None


def _rotary_angles(cos_table, sin_table, perm):
    """(pairing, phase [*, d/2]) when the tables hold a rotary rotation over
    the pairs of `perm` (a' = a cos - b sin, b' = b cos + a sin), else
    None. sin_table is the signed coefficient of x[perm]."""
    d = perm.shape[0]
    if d % 2:
        return None
    t = np.arange(d // 2)
    if np.array_equal(perm[t], t + d // 2) and \
            np.array_equal(perm[t + d // 2], t):
        pairing, first, second = "halves", t, t + d // 2
    elif np.array_equal(perm[2 * t], 2 * t + 1) and \
            np.array_equal(perm[2 * t + 1], 2 * t):
        pairing, first, second = "interleaved", 2 * t, 2 * t + 1
    else:
        return None
    c_a, c_b = cos_table[..., first], cos_table[..., second]
    s_a, s_b = sin_table[..., first], sin_table[..., second]
    tol = 1e-5
    if not (np.allclose(c_a, c_b, rtol=0, atol=tol) and
            np.allclose(s_a, -s_b, rtol=0, atol=tol) and
            np.allclose(c_a ** 2 + s_b ** 2, 1.0, rtol=0, atol=4 * tol)):
        return None
    return pairing, np.arctan2(s_b, c_a)


def _rotary_frequencies(phase: np.ndarray):
    """theta [d/2] with phase[l] = l * theta (mod 2 pi) for every position
    l, as a rotary table with positions 0..L-1 has; None otherwise."""
    L = phase.shape[0]
    if L < 2 or np.any(np.abs(np.angle(np.exp(1j * phase[0]))) > 1e-5):
        return None
    unwrapped = np.unwrap(phase, axis=0)
    unwrapped -= unwrapped[0]
    positions = np.arange(L, dtype=np.float64)[:, None]
    theta = (positions * unwrapped).sum(0) / (positions ** 2).sum()
    # The table was computed in f32 from s * theta: allow its rounding,
    # which grows with the phase.
    tol = 2e-6 * (4.0 + np.abs(positions * theta).max())
    error = np.abs(np.exp(1j * positions * theta) - np.exp(1j * phase))
    if error.max() > tol:
        return None
    return theta


def match_rotary(node: Node) -> Optional[Node]:
    """x * cos + rotate(x) * sin (rotate_half or rotate_every_two, any
    signs, constant tables) -> flt.position_transform(rotary)."""
    if node.kind != "binary" or node.attrs["fn"] not in ("add", "sub"):
        return None
    parts = [_scaled_by_constant(i) for i in node.inputs]
    if parts[0] is None or parts[1] is None:
        return None
    signs = (1.0, -1.0 if node.attrs["fn"] == "sub" else 1.0)
    for plain, turned in ((0, 1), (1, 0)):
        x, cos_value = parts[plain]
        rotated, sin_value = parts[turned]
        if x.shape != node.shape or len(x.shape) < 2:
            continue
        found = _signed_permutation(rotated, x)
        if found is None:
            continue
        perm, sign = found
        shape = node.shape
        cos_table = signs[plain] * np.broadcast_to(
            cos_value.astype(np.float64), shape)
        sin_table = signs[turned] * np.broadcast_to(
            sin_value.astype(np.float64), shape) * sign
        angles = _rotary_angles(cos_table, sin_table, perm)
        if angles is None:
            continue
        pairing, phase = angles
        # The token dim: the one (besides the last) the phase varies over.
        varying = [a for a in range(len(shape) - 1)
                   if not np.allclose(phase, np.take(phase, [0], axis=a),
                                      rtol=0, atol=1e-6)]
        if len(varying) != 1:
            continue
        token = varying[0]
        index = [0] * (len(shape) - 1)
        index[token] = slice(None)
        theta = _rotary_frequencies(phase[tuple(index)])
        if theta is None:
            continue
        return _position_transform_node(node, x, token, theta, pairing)
    return None


def _position_transform_node(node, x, token, theta, pairing) -> Node:
    """flt.position_transform of x (token dim `token`, features last) in
    flt's [B, H, L, d] layout, put back into x's layout."""
    rank = len(x.shape)
    batch_dims = [a for a in range(rank - 1) if a != token]
    perm = batch_dims + [token, rank - 1]
    moved = make("permute", [x], perm=perm) if perm != list(range(rank)) \
        else x
    batch = [x.shape[a] for a in batch_dims]
    if len(batch) <= 2:
        folded = (1,) * (2 - len(batch)) + tuple(batch)
    else:
        folded = (int(np.prod(batch[:-1])), batch[-1])
    folded += (x.shape[token], x.shape[-1])
    operand = make("reshape", [moved], shape=folded) \
        if moved.shape != folded else moved
    heads = folded[1]
    table = const(np.broadcast_to(theta.astype(np.float32),
                                  (heads, theta.shape[0])).copy())

    def build(xv, thetav):
        return ops.position_transform(
            xv, thetav, core="rotary",
            pairing=None if pairing == "interleaved" else pairing)

    result = _flt_node(build, [operand, table], folded, node.origin)
    if moved.shape != folded:
        result = make("reshape", [result], shape=moved.shape)
    if perm != list(range(rank)):
        result = make("permute", [result], perm=list(np.argsort(perm)))
    return result


def raise_attention(graph: Graph) -> List[str]:
    """Rewrites every matched pattern in place; returns what was raised."""
    raised = []
    changed = True
    while changed:
        changed = False
        for node in graph.topological():
            for name, matcher in (("rotary", match_rotary),
                                  ("linear_attention", match_linear_attention),
                                  ("softmax_attention",
                                   match_softmax_attention)):
                try:
                    replacement = matcher(node)
                except UnsupportedError:
                    replacement = None
                if replacement is not None:
                    graph.replace(node, replacement)
                    raised.append(f"{name} at {node.origin}")
                    changed = True
                    break
            if changed:
                break
    return raised
