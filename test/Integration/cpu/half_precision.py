# f16 and bf16 activations (computed in f32): linear attention with rpe
# (causal and not) and the full layer, against the float64 reference with
# docs/Semantics.md's f16/bf16 tolerances. bf16 arrays travel as f32 .npy files (rounded
# on input). m = 16, r = 32 keep every product of linear attention a
# multiple of the tensor cores' 16 x 8 x 16 tiles, so that the GPU mapping
# (and its emulation, with the same operand rounding) runs them on tensor
# cores, with the state in two groups of 16 positional features.
# Linear attention runs in both of its forms (at these lengths the cost
# model picks the quadratic one; the linear one is forced in a second
# library).
# RUN: %python %s

import numpy as np
from flt import reference
from flt_harness import (Library, check, finish, func, mixture_theta, normal,
                         positions, positive, rng, rounded, ttype)

H, m, r, e, m_f = 2, 16, 32, 16, 4
functions = []
for dtype in ("f16", "bf16"):
    FQ, V = ttype((1, H, 1, m), dtype, (2,)), ttype((1, H, 1, e), dtype, (2,))
    P = ttype((1, H, 1, r), dynamic=(2,))
    for causal in (True, False):
        functions.append(func(
            f"la_{dtype}_{'causal' if causal else 'full'}",
            [("fq", FQ), ("fk", FQ), ("v", V), ("phi", P), ("psi", P)],
            [f"%o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) "
             f"{{causal = {str(causal).lower()}}} : {FQ}, {FQ}, {V}, {P}, "
             f"{P} -> {V}"],
            [("%o", V)]))
    R, XI, TH = ttype((1, 1, 1), dynamic=(1,)), ttype((H, 4, 1)), ttype((H, 9))
    functions.append(func(
        f"layer_{dtype}", [("q", FQ), ("k", FQ), ("v", V), ("r", R),
                           ("xi", XI), ("th", TH)],
        [f"%o = flt.attention %q, %k, %v, %r, %xi, %th {{kernel = "
         f"#flt.kernel<elu_plus_one>, spectrum = "
         f"#flt.spectrum<gaussian_mixture>}} : {FQ}, {FQ}, {V}, {R}, {XI}, "
         f"{TH} -> {V}"],
        [("%o", V)]))
libraries = {"auto": Library(functions),
             "linear": Library(functions, ["--linear-attention-form=linear"])}
lib = libraries["auto"]

g = rng(5)
for dtype in ("f16", "bf16"):
    for L in (7, 129):
        fq, fk = positive(g, (1, H, L, m)), positive(g, (1, H, L, m))
        v = normal(g, (1, H, L, e))
        phi, psi = positive(g, (1, H, L, r)), positive(g, (1, H, L, r))
        fq, fk, v = (rounded(x, dtype) for x in (fq, fk, v))
        for causal in (True, False):
            kind = "causal" if causal else "full"
            expected = reference.linear_attention(fq, fk, v, phi, psi, causal)
            for form, library in libraries.items():
                out = library.run(f"la_{dtype}_{kind}",
                                  [fq, fk, v, phi, psi])[0]
                check(f"linear_attention {kind} {dtype} ({form}) L={L}", out,
                      expected, dtype)
        q, k = rounded(normal(g, (1, H, L, m)), dtype), rounded(
            normal(g, (1, H, L, m)), dtype)
        r_, xi, th = positions(g, 1, L, 1), normal(g, (H, 4, 1)), \
            mixture_theta(g, H, 1, 3)
        out = lib.run(f"layer_{dtype}", [q, k, v, r_, xi, th])[0]
        check(f"attention layer {dtype} L={L}", out,
              reference.attention(q, k, v, r_, xi, th, "elu_plus_one",
                                  "gaussian_mixture"), dtype)
finish()
