# Every attention op with all sizes static, at the edges the lowerings
# special-case: one batch and one head (B = H = 1: loops over them have one
# iteration and fold away on the CPU; on the GPU they stay one block), one
# token, lengths just past a tile (65, 130), S != L, one feature, value
# column or positional feature, f16/bf16 activations. Linear attention runs
# in both forms (static lengths fix the auto form at compile time; the
# linear one is forced in a second library).
# RUN: %python %s

import numpy as np
from flt import reference
from flt_harness import (Library, check, finish, func, mixture_theta, normal,
                         positions, positive, rng, rounded, ttype)



# (name, B, H, L, S, m, e, r, causal, dtype); r = 0: no rpe.
linear = [
    ("la_one", 1, 1, 1, 1, 4, 3, 2, True, "f32"),
    ("la_single_head", 1, 1, 130, 130, 16, 8, 4, False, "f32"),
    ("la_single_head_causal", 1, 1, 130, 130, 16, 8, 4, True, "f32"),
    ("la_cross", 1, 2, 65, 7, 5, 1, 0, False, "f32"),
    ("la_narrow", 2, 1, 33, 33, 1, 17, 1, True, "f32"),
    ("la_bf16", 1, 1, 65, 65, 16, 16, 32, True, "bf16"),
    ("la_f16", 1, 1, 100, 100, 33, 9, 3, False, "f16"),
]
# (name, B, H, L, S, d, e, kernel, bias, causal, dtype)
quadratic = [
    ("softmax_one", 1, 1, 1, 1, 8, 4, "softmax", False, True, "f32"),
    ("softmax_single_head", 1, 1, 7, 7, 16, 8, "softmax", True, True, "f32"),
    ("softmax_cross", 1, 1, 65, 130, 3, 65, "softmax", False, False, "f16"),
    ("dot_single_head", 1, 1, 130, 130, 5, 3, "dot", False, False, "bf16"),
    ("fourier_single_head", 1, 1, 33, 33, 16, 8, "fourier_integral", True,
     True, "f32"),
]
# (name, B, H, L, m, e, method, causal)
toeplitz = [
    ("tz_fft_one", 1, 1, 1, 2, 1, "fft", True),
    ("tz_fft_single_head", 1, 1, 65, 8, 4, "fft", False),
    ("tz_direct_single_head", 1, 1, 130, 3, 5, "direct", True),
    ("tz_auto", 2, 1, 33, 4, 40, "auto", True),
]
# (name, B, H, L, d, e, m_f, p, causal)
layers = [
    ("layer_single_head", 1, 1, 65, 16, 8, 4, 1, True),
    ("layer_p3", 1, 2, 7, 5, 3, 8, 3, False),
]

functions = []
for name, B, H, L, S, m, e, r, causal, dt in linear:
    FQ, FK = ttype((B, H, L, m), dt), ttype((B, H, S, m), dt)
    V, O = ttype((B, H, S, e), dt), ttype((B, H, L, e), dt)
    args, ops, types = [("fq", FQ), ("fk", FK), ("v", V)], "%fq, %fk, %v", \
        f"{FQ}, {FK}, {V}"
    if r:
        PQ, PK = ttype((B, H, L, r)), ttype((B, H, S, r))
        args += [("phi", PQ), ("psi", PK)]
        ops += " rpe(%phi, %psi)"
        types += f", {PQ}, {PK}"
    functions.append(func(name, args, [
        f"%o = flt.linear_attention {ops} {{causal = {str(causal).lower()}}}"
        f" : {types} -> {O}"], [("%o", O)]))
for name, B, H, L, S, d, e, kernel, bias, causal, dt in quadratic:
    Q, K = ttype((B, H, L, d), dt), ttype((B, H, S, d), dt)
    V, O = ttype((B, H, S, e), dt), ttype((B, H, L, e), dt)
    args, ops, types = [("q", Q), ("k", K), ("v", V)], "%q, %k, %v", \
        f"{Q}, {K}, {V}"
    if kernel == "fourier_integral":
        args.append(("R", ttype((H, d))))
        ops += " scale(%R)"
        types += f", {ttype((H, d))}"
    if bias:
        BT = ttype((H, L + S - 1))
        args.append(("b", BT))
        ops += " bias(%b)"
        types += f", {BT}"
    functions.append(func(name, args, [
        f"%o = flt.kernel_attention {ops} {{kernel = #flt.pair_kernel<"
        f"{kernel}>, causal = {str(causal).lower()}}} : {types} -> {O}"],
        [("%o", O)]))
for name, B, H, L, m, e, method, causal in toeplitz:
    FQ, V, BT = ttype((B, H, L, m)), ttype((B, H, L, e)), ttype((H, 2 * L - 1))
    functions.append(func(
        name, [("fq", FQ), ("fk", FQ), ("v", V), ("b", BT)],
        [f"%o = flt.toeplitz_attention %fq, %fk, %v, %b {{causal = "
         f"{str(causal).lower()}, method = #flt.toeplitz_method<{method}>}}"
         f" : {FQ}, {FQ}, {V}, {BT} -> {V}"], [("%o", V)]))
for name, B, H, L, d, e, m_f, p, causal in layers:
    Q, V, R = ttype((B, H, L, d)), ttype((B, H, L, e)), ttype((B, L, p))
    XI, TH = ttype((H, m_f, p)), ttype((H, (p + 2) * 3))
    functions.append(func(
        name, [("q", Q), ("k", Q), ("v", V), ("r", R), ("xi", XI),
               ("th", TH)],
        [f"%o = flt.attention %q, %k, %v, %r, %xi, %th {{kernel = "
         f"#flt.kernel<elu_plus_one>, spectrum = "
         f"#flt.spectrum<gaussian_mixture>, causal = {str(causal).lower()}}}"
         f" : {Q}, {Q}, {V}, {R}, {XI}, {TH} -> {V}"], [("%o", V)]))

libraries = {"auto": Library(functions),
             "linear": Library(functions[:len(linear)],
                               ["--linear-attention-form=linear"])}
g = rng(21)
for name, B, H, L, S, m, e, r, causal, dt in linear:
    fq = rounded(positive(g, (B, H, L, m)), dt)
    fk = rounded(positive(g, (B, H, S, m)), dt)
    v = rounded(normal(g, (B, H, S, e)), dt)
    rpe = [positive(g, (B, H, L, r)), positive(g, (B, H, S, r))] if r else []
    expected = reference.linear_attention(fq, fk, v, *(rpe or [None, None]),
                                          causal)
    for form, library in libraries.items():
        out = library.run(name, [fq, fk, v, *rpe])[0]
        check(f"{name} ({form})", out, expected, dt)
for name, B, H, L, S, d, e, kernel, bias, causal, dt in quadratic:
    make = positive if kernel == "dot" else normal
    q = make(g, (B, H, L, d)) * (0.3 if kernel == "softmax" else 1.0)
    q, k = rounded(q, dt), rounded(make(g, (B, H, S, d)), dt)
    v = rounded(normal(g, (B, H, S, e)), dt)
    R = g.uniform(0.5, 1.5, (H, d)).astype(np.float32) \
        if kernel == "fourier_integral" else None
    b = (0.5 * g.standard_normal((H, L + S - 1))).astype(np.float32) \
        if bias else None
    out = libraries["auto"].run(name, [q, k, v, *(x for x in (R, b)
                                                  if x is not None)])[0]
    check(name, out, reference.kernel_attention(
        q, k, v, kernel, scale=R, bias=b, causal=causal), dt)
for name, B, H, L, m, e, method, causal in toeplitz:
    fq, fk = positive(g, (B, H, L, m)), positive(g, (B, H, L, m))
    v = normal(g, (B, H, L, e))
    b = (2.0 * g.standard_normal((H, 2 * L - 1))).astype(np.float32)
    out = libraries["auto"].run(name, [fq, fk, v, b])[0]
    check(name, out, reference.toeplitz_attention(fq, fk, v, b, causal))
for name, B, H, L, d, e, m_f, p, causal in layers:
    inputs = [normal(g, (B, H, L, d)), normal(g, (B, H, L, d)),
              normal(g, (B, H, L, e)), positions(g, B, L, p),
              normal(g, (H, m_f, p)), mixture_theta(g, H, p, 3)]
    out = libraries["auto"].run(name, inputs)[0]
    check(name, out, reference.attention(*inputs, "elu_plus_one",
                                         "gaussian_mixture", causal=causal))
finish()
