# flt.linear_attention with and without rpe, causal and not, all three
# normalizations; S != L, m != e != r, dynamic B, L and S; lengths 1, 7,
# 129, 1000 (not multiples of the 64-token tile); r = 40 for rpe with many
# positional features. Twice: as compiled by default (the cost model picks
# the quadratic form for the short lengths, at run time) and with the linear
# form forced at every length.
# RUN: %python %s

import itertools

from flt import reference
from flt_harness import (Library, check, finish, func, normal, positive, rng,
                         sampled, ttype)

H, m, r, e = 2, 12, 10, 20


def attention(name, rpe, causal, normalize, width=r):
    FQ = ttype((1, H, 1, m), dynamic=(0, 2))
    V = ttype((1, H, 1, e), dynamic=(0, 2))
    P = ttype((1, H, 1, width), dynamic=(0, 2))
    args = [("fq", FQ), ("fk", FQ), ("v", V)]
    operands, types = "%fq, %fk, %v", f"{FQ}, {FQ}, {V}"
    if rpe:
        args += [("phi", P), ("psi", P)]
        operands += " rpe(%phi, %psi)"
        types += f", {P}, {P}"
    attrs = f"{{causal = {str(causal).lower()}, normalize = " \
            f"#flt.normalize<{normalize}>, eps = 1.0e-3 : f32}}"
    body = [f"%o = flt.linear_attention {operands} {attrs} : {types} -> {V}"]
    return func(name, args, body, [("%o", V)])


# Under the sanitizers every other variant (each rpe/causal pair keeps one).
variants = sampled(list(itertools.product((False, True), (False, True),
                                          ("divide", "guarded", "none"))))
names = {v: "la_{}_{}_{}".format("rpe" if v[0] else "plain",
                                 "causal" if v[1] else "full", v[2])
         for v in variants}
functions = [attention(names[v], *v) for v in variants]
# Many positional features: r = 40 is 4 groups of 10 in the GPU's
# value-block form.
wide_r = 40
wide = sampled([False, True])
functions += [attention(f"la_wide_{'causal' if causal else 'full'}", True,
                        causal, "divide", wide_r) for causal in wide]
libraries = {"auto": Library(functions),
             "linear": Library(functions, ["--linear-attention-form=linear"])}

g = rng(3)
shapes = [(1, 1, 1), (2, 7, 7), (1, 129, 129), (1, 1000, 1000), (2, 7, 70),
          (1, 129, 5)]
for (rpe, causal, normalize), (B, L, S) in itertools.product(variants, shapes):
    if causal and S != L:
        continue
    fq, fk = positive(g, (B, H, L, m)), positive(g, (B, H, S, m))
    v = normal(g, (B, H, S, e))
    phi, psi = positive(g, (B, H, L, r)), positive(g, (B, H, S, r))
    inputs = [fq, fk, v] + ([phi, psi] if rpe else [])
    expected = reference.linear_attention(
        fq, fk, v, phi if rpe else None, psi if rpe else None, causal,
        normalize, eps=1e-3)
    for form, lib in libraries.items():
        out = lib.run(names[(rpe, causal, normalize)], inputs)[0]
        check(f"{names[(rpe, causal, normalize)]} ({form}) B={B} L={L} "
              f"S={S}", out, expected)
for causal, L in itertools.product(wide, (129, 1000)):
    fq, fk = positive(g, (1, H, L, m)), positive(g, (1, H, L, m))
    v = normal(g, (1, H, L, e))
    phi, psi = positive(g, (1, H, L, wide_r)), positive(g, (1, H, L, wide_r))
    expected = reference.linear_attention(fq, fk, v, phi, psi, causal)
    name = f"la_wide_{'causal' if causal else 'full'}"
    for form, lib in libraries.items():
        out = lib.run(name, [fq, fk, v, phi, psi])[0]
        check(f"{name} r={wide_r} ({form}) L={L}", out, expected)
finish()
