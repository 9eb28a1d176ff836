"""Builders of flt IR for given shapes, so that nobody writes IR by hand.

    b = flt.ops.Builder("main")
    q = b.arg("q", [1, 8, None, 64])          # None: a dynamic size
    k = b.arg("k", [1, 8, None, 64]); v = b.arg("v", [1, 8, None, 64])
    r = b.arg("r", [1, None, 1]); xi = b.arg("xi", [8, 16, 1])
    theta = b.arg("theta", [8, 75])
    b.ret(flt.ops.attention(q, k, v, r, xi, theta, kernel="relu"))
    module = b.module()                       # a verified flt.ir.Module
    kernels = flt.compile(module)             # kernels.main(q, k, v, r, xi, theta)

Every op of docs/Semantics.md has a function here taking Values and the op's
attributes under their docs/Semantics.md spellings; result types come from the
dialect's own rules (the C++ builders' inferResultType, through
flt._native.result_types), and the verifier checks the rest when the
module is made. `flt.ops.attention_layer(...)` builds the common one-op
module directly.
"""

from typing import List, Optional, Sequence, Tuple

from . import _native
from .ir import Module, _call

_ELEMENTS = ("f32", "f16", "bf16", "f64", "i32", "i64", "i1")


class Value:
    """An SSA value of tensor type in a Builder's function."""

    def __init__(self, builder, name, shape, element):
        self.builder = builder
        self.name = name
        self.shape = tuple(shape)
        self.element = element

    @property
    def type(self) -> str:
        return tensor_type(self.shape, self.element)

    @property
    def rank(self):
        return len(self.shape)

    def __repr__(self):
        return f"<flt.ops.Value {self.name}: {self.type}>"


def tensor_type(shape, element="f32") -> str:
    dims = "".join(("?" if s is None else str(int(s))) + "x" for s in shape)
    return f"tensor<{dims}{element}>"


def parse_tensor_type(text: str) -> Tuple[tuple, str]:
    """(shape, element) of `tensor<1x?x8xf32>` (None for `?`)."""
    if not (text.startswith("tensor<") and text.endswith(">")):
        raise ValueError(f"not a ranked tensor type: {text}")
    *dims, element = text[len("tensor<"):-1].split("x")
    return tuple(None if d == "?" else int(d) for d in dims), element


class Builder:
    """Collects the body of one function; `module()` returns it verified.
    Several builders' functions can go in one module with `module_of`."""

    def __init__(self, name: str = "main"):
        self.name = name
        self.args: List[Value] = []
        self.arg_names: List[str] = []
        self.lines: List[str] = []
        self.results: List[Value] = []
        self._counter = 0

    def fresh(self, hint="v"):
        self._counter += 1
        return f"%{hint}{self._counter}"

    def arg(self, name: str, shape: Sequence[Optional[int]],
            element: str = "f32") -> Value:
        if element not in _ELEMENTS:
            raise ValueError(f"unknown element type {element!r}")
        value = Value(self, f"%arg{len(self.args)}", shape, element)
        self.args.append(value)
        self.arg_names.append(name)
        return value

    def emit(self, line: str):
        self.lines.append("    " + line)

    def op(self, text: str, result_types: Sequence[Tuple[tuple, str]],
           hint="v") -> List[Value]:
        """Emits `%r... = <text>` and returns the results."""
        results = [Value(self, self.fresh(hint), s, e)
                   for s, e in result_types]
        self.emit(", ".join(r.name for r in results) + " = " + text)
        return results

    def ret(self, *values: Value):
        self.results = list(values)

    def function_text(self) -> str:
        if not self.results:
            raise ValueError(f"function {self.name}: no results (call ret)")
        args = ", ".join(f"{a.name}: {a.type}" for a in self.args)
        results = ", ".join(r.type for r in self.results)
        lines = [f"  func.func @{self.name}({args}) -> ({results}) {{"]
        lines += self.lines
        lines.append(f"    return {', '.join(r.name for r in self.results)}"
                     f" : {results}")
        lines.append("  }")
        return "\n".join(lines)

    def module(self) -> Module:
        return module_of(self)


def module_of(*builders: Builder) -> Module:
    text = "module {\n" + "\n".join(b.function_text() for b in builders) \
        + "\n}\n"
    return Module(text, f"<flt.ops {', '.join(b.name for b in builders)}>")


# --------------------------------------------------------------------------
# Attribute spelling
# --------------------------------------------------------------------------

def _f32(x: float) -> str:
    return f"{float(x):.9e} : f32"


def _attrs(**attrs) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool):
            parts.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            parts.append(f"{key} = {value}")
        elif isinstance(value, float):
            parts.append(f"{key} = {_f32(value)}")
        else:  # an enum, already spelled
            parts.append(f"{key} = {value}")
    return " {" + ", ".join(parts) + "}" if parts else ""


def _enum(mnemonic, case, cases):
    if case is None:
        return None
    if case not in cases:
        raise ValueError(f"{mnemonic}: expected one of {', '.join(cases)}, "
                         f"got {case!r}")
    return f"#flt.{mnemonic}<{case}>"


_KERNELS = ("identity", "relu", "elu_plus_one", "favor_pos")
_PAIR_KERNELS = ("softmax", "dot", "fourier_integral")
_SPECTRA = ("gaussian_mixture", "local_window")
_WEIGHTINGS = ("query_side", "both_sides")
_NORMALIZE = ("divide", "guarded", "none")
_CORES = ("rotary", "complex", "permutation")
_MIXES = ("identity", "householder", "odd_even", "odd_even_inverse")
_PAIRINGS = ("interleaved", "halves")
_TOEPLITZ = ("auto", "fft", "direct")
# Compatibility forms (docs/Compatibility.md).
_DENSITIES = ("normal", "normal_1d_constant")
_KEY_STABILIZERS = ("per_head", "global")
_RPE_FORMS = ("mask", "concat")
_FOURIER_FORMS = ("normalized", "amplitude_eps")


def _same_builder(*values):
    builders = {id(v.builder) for v in values if v is not None}
    if len(builders) != 1:
        raise ValueError("flt.ops: values from different builders")
    return next(v for v in values if v is not None).builder


def _emit(op_name, operands, groups, attrs):
    """`flt.<op> %a, %b group(%c) {attrs} : types -> types`. `operands`
    and each group's values are (name, Value) pairs, named as in the op's
    definition (FLTOps.td); the result types are the dialect's."""
    named = [(n, v) for n, v in operands] + \
        [(n, v) for _, vs in groups for n, v in vs if v is not None]
    all_values = [v for _, v in named]
    b = _same_builder(*all_values)
    text = f"flt.{op_name} " + ", ".join(v.name for _, v in operands)
    for group, values in groups:
        text += f" {group}(" + ", ".join(v.name for _, v in values) + ")"
    text += attrs
    types = _call(_native.result_types, f"flt.{op_name}",
                  {n: v.type for n, v in named}, attrs.strip())
    result_types = [parse_tensor_type(t) for t in types]
    text += " : " + ", ".join(v.type for v in all_values)
    text += " -> " + ", ".join(types)
    results = b.op(text, result_types)
    return results[0] if len(results) == 1 else tuple(results)


# --------------------------------------------------------------------------
# The ops of docs/Semantics.md section 2
# --------------------------------------------------------------------------

def feature_map(x: Value, w: Optional[Value] = None, *, kernel="relu",
                eps: Optional[float] = None, is_query: Optional[bool] = None,
                key_stabilizer=None):
    """docs/Semantics.md 2.1: phi(x), [B,H,L,d] (with w [H,m,d]: [B,H,L,m])."""
    return _emit("feature_map", [("x", x)] + ([("w", w)] if w is not None
                                             else []), [],
                 _attrs(kernel=_enum("kernel", kernel, _KERNELS), eps=eps,
                        is_query=is_query,
                        key_stabilizer=_enum("key_stabilizer", key_stabilizer,
                                             _KEY_STABILIZERS)))


def spectral_density(theta: Value, xi: Value, *, spectrum="gaussian_mixture",
                     density=None):
    """docs/Semantics.md 2.2: rho [H, m_f]."""
    return _emit("spectral_density", [("theta", theta), ("xi", xi)], [],
                 _attrs(spectrum=_enum("spectrum", spectrum, _SPECTRA),
                        density=_enum("density", density, _DENSITIES)))


def spectral_features(r: Value, xi: Value, rho: Value, *, weighting=None):
    """docs/Semantics.md 2.3: (Phi, Psi), each [B,H,L,2 m_f]."""
    return _emit("spectral_features", [("r", r), ("xi", xi), ("rho", rho)],
                 [],
                 _attrs(weighting=_enum("weighting", weighting, _WEIGHTINGS)))


def _serving_groups(state, cu_seqlens, lengths):
    """docs/Semantics.md section 5's operand groups, in their textual order."""
    groups = []
    if state:
        groups.append(("state", list(zip(("initial_state",
                                           "initial_normalizer"), state))))
    if cu_seqlens is not None:
        groups.append(("packed", [("cu_seqlens", cu_seqlens)]))
    if lengths is not None:
        groups.append(("lengths", [("lengths", lengths)]))
    return groups


def linear_attention(fq: Value, fk: Value, v: Value,
                     rpe: Optional[Tuple[Value, Value]] = None, *,
                     causal=None, normalize=None, eps=None,
                     state: Optional[Tuple[Value, Value]] = None,
                     cu_seqlens: Optional[Value] = None,
                     lengths: Optional[Value] = None):
    """docs/Semantics.md 2.4: [B,H,L,e]; fk and v may have fewer (grouped)
    heads. Section 5: with state=(T0, z0) the result is (out, T, z);
    cu_seqlens packs sequences, lengths pads them."""
    groups = [("rpe", list(zip(("phi", "psi"), rpe)))] if rpe else []
    groups += _serving_groups(state, cu_seqlens, lengths)
    return _emit("linear_attention", [("fq", fq), ("fk", fk), ("v", v)],
                 groups,
                 _attrs(causal=causal,
                        normalize=_enum("normalize", normalize, _NORMALIZE),
                        eps=eps))


def kernel_attention(q: Value, k: Value, v: Value, *,
                     scale: Optional[Value] = None,
                     bias: Optional[Value] = None,
                     rpe: Optional[Tuple[Value, Value]] = None,
                     kernel=None, causal=None, temperature=None, power=None,
                     normalize=None, eps=None, fourier_form=None):
    """docs/Semantics.md 2.5: [B,H,L,e]."""
    groups = []
    if scale is not None:
        groups.append(("scale", [("scale", scale)]))
    if bias is not None:
        groups.append(("bias", [("bias", bias)]))
    if rpe is not None:
        groups.append(("rpe", list(zip(("phi", "psi"), rpe))))
    return _emit("kernel_attention", [("q", q), ("k", k), ("v", v)], groups,
                 _attrs(kernel=_enum("pair_kernel", kernel, _PAIR_KERNELS),
                        causal=causal, temperature=temperature, power=power,
                        normalize=_enum("normalize", normalize, _NORMALIZE),
                        eps=eps,
                        fourier_form=_enum("fourier_form", fourier_form,
                                           _FOURIER_FORMS)))


def position_transform(x: Value, theta: Value, *, mix_vector=None,
                       positions=None, core="rotary", mix=None, pairing=None,
                       offset=None, mix_eps=None, rotary_dims=None):
    """docs/Semantics.md 2.6: [B,H,L,d] (rotary, permutation: theta is then
    the integer table [H,P,d]) or [B,H,L,2d] (complex)."""
    groups = []
    if mix_vector is not None:
        groups.append(("mix", [("mix_vector", mix_vector)]))
    if positions is not None:
        groups.append(("positions", [("positions", positions)]))
    return _emit("position_transform", [("x", x), ("theta", theta)], groups,
                 _attrs(core=_enum("lrpe_core", core, _CORES),
                        mix=_enum("lrpe_mix", mix, _MIXES),
                        pairing=_enum("pairing", pairing, _PAIRINGS),
                        offset=offset, mix_eps=mix_eps,
                        rotary_dims=rotary_dims))


def toeplitz_attention(fq: Value, fk: Value, v: Value, b: Value, *,
                       causal=None, normalize=None, eps=None, method=None):
    """docs/Semantics.md 2.7: [B,H,L,e]."""
    return _emit("toeplitz_attention",
                 [("fq", fq), ("fk", fk), ("v", v), ("b", b)], [],
                 _attrs(causal=causal,
                        normalize=_enum("normalize", normalize, _NORMALIZE),
                        eps=eps,
                        method=_enum("toeplitz_method", method, _TOEPLITZ)))


def attention(q: Value, k: Value, v: Value, r: Value, xi: Value,
              theta: Value, *, proj: Optional[Value] = None, kernel="relu",
              eps=None, spectrum="gaussian_mixture", weighting=None,
              causal=None, normalize=None, rpe_form=None, density=None,
              key_stabilizer=None,
              state: Optional[Tuple[Value, Value]] = None,
              cu_seqlens: Optional[Value] = None,
              lengths: Optional[Value] = None):
    """docs/Semantics.md 2.8: one FLT layer, [B,H,L,e] (rpe_form="concat":
    the official FLT code's form, w then [H,m,d+2 m_f]); section 5's
    state (the result is then (out, T, z)), cu_seqlens and lengths as for
    linear_attention."""
    groups = [("proj", [("w", proj)])] if proj is not None else []
    groups += _serving_groups(state, cu_seqlens, lengths)
    return _emit("attention", [("q", q), ("k", k), ("v", v), ("r", r),
                               ("xi", xi), ("theta", theta)], groups,
                 _attrs(kernel=_enum("kernel", kernel, _KERNELS), eps=eps,
                        spectrum=_enum("spectrum", spectrum, _SPECTRA),
                        weighting=_enum("weighting", weighting, _WEIGHTINGS),
                        causal=causal,
                        normalize=_enum("normalize", normalize, _NORMALIZE),
                        rpe_form=_enum("rpe_form", rpe_form, _RPE_FORMS),
                        density=_enum("density", density, _DENSITIES),
                        key_stabilizer=_enum("key_stabilizer", key_stabilizer,
                                             _KEY_STABILIZERS)))


def spectrum_parameters(spectrum: str, p: int, blobs: int = 1) -> int:
    """P, the length of a head's theta row (docs/Semantics.md 2.2), as the verifier
    requires it."""
    return _native.spectrum_parameters(spectrum, p, blobs)


def attention_layer(batch=1, heads=8, length=None, head_dim=64, value_dim=None,
                    num_frequencies=16, position_dim=1, blobs=1,
                    kernel="relu", projection_dim=None,
                    spectrum="gaussian_mixture", element="f32",
                    name="main", **attrs) -> Module:
    """A module with one function computing `flt.attention` over
    (q, k, v, r, xi, theta[, w]) of the given sizes (None: dynamic)."""
    b = Builder(name)
    e = head_dim if value_dim is None else value_dim
    q = b.arg("q", [batch, heads, length, head_dim], element)
    k = b.arg("k", [batch, heads, length, head_dim], element)
    v = b.arg("v", [batch, heads, length, e], element)
    r = b.arg("r", [batch, length, position_dim])
    xi = b.arg("xi", [heads, num_frequencies, position_dim])
    theta = b.arg("theta", [heads, spectrum_parameters(spectrum, position_dim,
                                                        blobs)])
    # rpe_form concat: the projection reads [q, d^1/4 phi].
    w_dim = head_dim + (2 * num_frequencies
                        if attrs.get("rpe_form") == "concat" else 0)
    w = (b.arg("w", [heads, projection_dim, w_dim])
         if projection_dim is not None else None)
    b.ret(attention(q, k, v, r, xi, theta, proj=w, kernel=kernel,
                    spectrum=spectrum, **attrs))
    return b.module()
