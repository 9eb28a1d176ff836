# The AVX2 configuration (--cpu=x86-64-v3: no AVX-512, so 4 x 16 register
# tiles) and the scalar one (--no-vectorize, --no-parallel) compute the same
# FLT layer as the reference, causal and not.
# RUN: %python %s

from flt import reference
from flt_harness import (Library, check, finish, func, mixture_theta, normal,
                         positions, rng, ttype)

H, d, m_f = 2, 16, 8
Q, R = ttype((1, H, 1, d), dynamic=(0, 2)), ttype((1, 1, 1), dynamic=(0, 1))
XI, TH = ttype((H, m_f, 1)), ttype((H, 9))


def layer(name, causal):
    return func(
        name, [("q", Q), ("k", Q), ("v", Q), ("r", R), ("xi", XI), ("th", TH)],
        [f"%o = flt.attention %q, %k, %v, %r, %xi, %th {{kernel = "
         f"#flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>, "
         f"causal = {str(causal).lower()}}} : {Q}, {Q}, {Q}, {R}, {XI}, {TH} "
         f"-> {Q}"],
        [("%o", Q)])


functions = [layer("full", False), layer("causal", True)]
configurations = {
    "avx2": Library(functions, flags=["--cpu=x86-64-v3"]),
    "scalar": Library(functions, flags=["--no-vectorize", "--no-parallel"]),
}
g = rng(8)
for B, L in ((1, 7), (2, 129)):
    q, k, v = (normal(g, (B, H, L, d)) for _ in range(3))
    r, xi, theta = positions(g, B, L, 1), normal(g, (H, m_f, 1)), \
        mixture_theta(g, H, 1, 3)
    for name, library in configurations.items():
        for fn, causal in (("full", False), ("causal", True)):
            out = library.run(fn, [q, k, v, r, xi, theta])[0]
            check(f"{name} {fn} B={B} L={L}", out,
                  reference.attention(q, k, v, r, xi, theta, "relu",
                                      "gaussian_mixture", causal=causal))
finish()
