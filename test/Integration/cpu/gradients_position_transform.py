# Reverse mode of flt.position_transform (docs/Semantics.md 2.6, §4): dx,
# dθ, dv (householder) and ds (explicit positions) of every core, mix and
# pairing, with offsets (positive, negative) and explicit positions, odd and
# even d and d/2, L = 1, 7, 130 and 1000, dynamic B and L (and d) and static
# ones, f16 and bf16 activations; and an LRPE layer (the same angles and
# positions transform q and k, then linear attention), where θ and s gather
# the cotangents of both uses. Every gradient against float64 torch autograd of
# the semantics (flt.reference_autograd).
# RUN: %python %s

import itertools

import numpy as np

from flt import reference_autograd as ra
from flt_harness import (Library, finish, func, normal, rng, rounded,
                         sampled, ttype)
from gradient_checks import compare

H = 2


def transform(name, core, mix, pairing, d, offset, positions, dtype="f32",
              dynamic_d=False, static=None):
    T = d // 2 if core == "rotary" else d
    width = d if core == "rotary" else 2 * d
    B, L = static or (1, 1)
    dyn = () if static else (0, 2, 3) if dynamic_d else (0, 2)
    X = ttype((B, H, L, d), dtype, dyn)
    OUT = ttype((B, H, L, width), dtype, dyn)
    TH = ttype((H, T), dynamic=(1,) if dynamic_d else ())
    MIX = ttype((H, d), dynamic=(1,) if dynamic_d else ())
    S = ttype((B, L), dynamic=() if static else (0, 1))
    args = [("x", X), ("th", TH)]
    operands, types = "%x, %th", f"{X}, {TH}"
    if mix == "householder":
        args.append(("hv", MIX))
        operands += " mix(%hv)"
        types += f", {MIX}"
    if positions:
        args.append(("s", S))
        operands += " positions(%s)"
        types += f", {S}"
    attrs = (f"core = #flt.lrpe_core<{core}>, mix = #flt.lrpe_mix<{mix}>, "
             f"offset = {offset}")
    if core == "rotary":
        attrs += f", pairing = #flt.pairing<{pairing}>"
    return func(name, args,
                [f"%o = flt.position_transform {operands} {{{attrs}}} : "
                 f"{types} -> {OUT}"], [("%o", OUT)])


cases = []
combos = [(core, mix, pairing) for core, mix in itertools.product(
    ("rotary", "complex"), ("identity", "householder", "odd_even"))
    for pairing in (("interleaved", "halves") if core == "rotary"
                    else ("interleaved",))]
for i, (core, mix, pairing) in enumerate(sampled(combos)):
    # d/2 = 3 (rotary) and d = 5 (complex): odd sizes.
    d = 6 if core == "rotary" else 5
    cases.append(dict(name=f"{core}_{mix}_{pairing}_offset", core=core,
                      mix=mix, pairing=pairing, d=d,
                      offset=(5, -3, 0)[i % 3], positions=False))
    cases.append(dict(name=f"{core}_{mix}_{pairing}_positions", core=core,
                      mix=mix, pairing=pairing, d=d, offset=0,
                      positions=True))
# Even sizes, static and dynamic d, static B and L, and half-precision
# activations.
cases += [
    dict(name="rotary_static", core="rotary", mix="householder",
         pairing="interleaved", d=6, offset=0, positions=True,
         static=(2, 7)),
    dict(name="complex_static", core="complex", mix="odd_even",
         pairing="interleaved", d=5, offset=-1, positions=False,
         static=(1, 9)),
    dict(name="rotary_even_pairs", core="rotary", mix="odd_even",
         pairing="interleaved", d=8, offset=2, positions=False),
    dict(name="complex_even", core="complex", mix="householder",
         pairing="interleaved", d=4, offset=0, positions=True),
    dict(name="rotary_dynamic_d", core="rotary", mix="householder",
         pairing="halves", d=6, offset=1, positions=False, dynamic_d=True),
    dict(name="complex_dynamic_d", core="complex", mix="odd_even",
         pairing="interleaved", d=5, offset=0, positions=True,
         dynamic_d=True),
    dict(name="rotary_f16", core="rotary", mix="odd_even", pairing="halves",
         d=6, offset=4, positions=False, dtype="f16"),
    dict(name="complex_bf16", core="complex", mix="householder",
         pairing="interleaved", d=5, offset=0, positions=True,
         dtype="bf16"),
]
lib = Library([transform(**c) for c in cases], ["--gradients"])

g = rng(22)
for case, (B, L) in [(c, shape) for c in cases for shape in (
        [c["static"]] if "static" in c
        else ((1, 1), (2, 7), (2, 130), (1, 1000)))]:
    core, mix, d = case["core"], case["mix"], case["d"]
    dtype = case.get("dtype", "f32")
    T = d // 2 if core == "rotary" else d
    width = d if core == "rotary" else 2 * d

    def activation(shape):
        x = normal(g, shape)
        return x.astype(np.float16) if dtype == "f16" else rounded(x, dtype)
    inputs = [activation((B, H, L, d)), normal(g, (H, T))]
    names = ["x", "theta"]
    if mix == "householder":
        inputs.append(normal(g, (H, d)))
        names.append("v")
    if case["positions"]:
        inputs.append(g.uniform(-20, 150, (B, L)).astype(np.float32))
        names.append("s")
    cot = [activation((B, H, L, width))]

    def fn(x, theta, *rest, case=case):
        rest = list(rest)
        v = rest.pop(0) if case["mix"] == "householder" else None
        s = rest.pop(0) if case["positions"] else None
        return ra.position_transform(x, theta, case["core"], case["mix"],
                                     case["pairing"], case["offset"], v, s)
    compare(f"{case['name']} B={B} L={L}", lib, case["name"], inputs, cot,
            fn, names, dtypes=[dtype] + ["f32"] * (len(names) - 1))

# An LRPE layer: rotary q and k with shared angles and positions, then
# linear attention (normalize none: rotated features are not positive).
d, T, e = 6, 3, 4
Q, V = ttype((1, H, 1, d), dynamic=(0, 2)), ttype((1, H, 1, e), dynamic=(0, 2))
TH, S = ttype((H, T)), ttype((1, 1), dynamic=(0, 1))
layers = []
for causal in (False, True):
    name = f"lrpe_layer_{int(causal)}"
    pt = (f"{{core = #flt.lrpe_core<rotary>, pairing = "
          f"#flt.pairing<halves>}} : {Q}, {TH}, {S} -> {Q}")
    layers.append(func(
        name, [("q", Q), ("k", Q), ("v", V), ("th", TH), ("s", S)],
        [f"%qr = flt.position_transform %q, %th positions(%s) {pt}",
         f"%kr = flt.position_transform %k, %th positions(%s) {pt}",
         f"%o = flt.linear_attention %qr, %kr, %v {{causal = "
         f"{str(causal).lower()}, normalize = #flt.normalize<none>}} : "
         f"{Q}, {Q}, {V} -> {V}"], [("%o", V)]))
lib = Library(layers, ["--gradients"])
for causal, (B, L) in itertools.product((False, True), ((1, 8), (2, 33))):
    inputs = [normal(g, (B, H, L, d)), normal(g, (B, H, L, d)),
              normal(g, (B, H, L, e)), normal(g, (H, T)),
              g.uniform(0, 40, (B, L)).astype(np.float32)]

    def layer(q, k, v, theta, s, causal=causal):
        qr = ra.position_transform(q, theta, "rotary", pairing="halves",
                                   positions=s)
        kr = ra.position_transform(k, theta, "rotary", pairing="halves",
                                   positions=s)
        return ra.linear_attention(qr, kr, v, None, None, causal, "none",
                                   1e-6)
    compare(f"lrpe_layer causal={causal} B={B} L={L}", lib,
            f"lrpe_layer_{int(causal)}", inputs, [normal(g, (B, H, L, e))],
            layer, ["q", "k", "v", "theta", "s"])
finish()
