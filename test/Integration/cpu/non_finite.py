# Non-finite inputs never cross the causal mask (docs/Semantics.md 6): for
# every causal op and form, a NaN or infinity in v_j (or in k_j / fk_j, or in
# psi_j) leaves every row i < j bit-identical to the run without it, and a
# NaN in a Toeplitz or softmax bias at an offset j - i > 0 (which causal
# attention never reads) changes nothing. Where the formula reaches the
# non-finite value, the result is non-finite, and the quadratic forms give
# the formula's +inf for +inf in v. L = 150 spans several tiles (64 on the
# CPU, 32 in the GPU mapping) and ends in a partial one; batch b carries the
# non-finite value at token POSITIONS[b] (the first token of a tile, one
# inside a tile, the last token, in the partial tile).
# RUN: %python %s

import numpy as np
from flt_harness import (Library, expect_on_results, finish, func, normal,
                         positive, rng, ttype)

H, d, m, r, e = 2, 8, 8, 4, 8
L = 150
POSITIONS = (64, 100, 149)
B = len(POSITIONS)
column = 3  # the value column that gets the non-finite entry

X = ttype((1, H, 1, d), dynamic=(0, 2))
F = ttype((1, H, 1, m), dynamic=(0, 2))
P = ttype((1, H, 1, r), dynamic=(0, 2))
V = ttype((1, H, 1, e), dynamic=(0, 2))
BIAS = ttype((H, 1), dynamic=(1,))
R = ttype((H, d))


def op_func(name, args, op):
    types = ", ".join(t for _, t in args)
    operands = ", ".join(f"%{n}" for n, _ in args[:3])
    return func(name, args, [f"%o = {op.format(ops=operands)} : {types} -> {V}"],
                [("%o", V)])


# name: (arguments, op text). Scores are positive where the formula gives
# +inf for +inf in v (positive features and masks; softmax and FourierFormer
# weights are positive anyway).
CASES = {
    "la_plain": ([("fq", F), ("fk", F), ("v", V)],
                 "flt.linear_attention {ops} {{causal = true}}"),
    "la_rpe": ([("fq", F), ("fk", F), ("v", V), ("phi", P), ("psi", P)],
               "flt.linear_attention {ops} rpe(%phi, %psi) {{causal = true}}"),
    "softmax": ([("q", X), ("k", X), ("v", V)],
                "flt.kernel_attention {ops} {{causal = true}}"),
    "softmax_bias_rpe": (
        [("q", X), ("k", X), ("v", V), ("b", BIAS), ("phi", P), ("psi", P)],
        "flt.kernel_attention {ops} bias(%b) rpe(%phi, %psi) "
        "{{causal = true}}"),
    "dot_rpe": ([("fq", F), ("fk", F), ("v", V), ("phi", P), ("psi", P)],
                "flt.kernel_attention {ops} rpe(%phi, %psi) "
                "{{kernel = #flt.pair_kernel<dot>, causal = true}}"),
    "fourier": ([("q", X), ("k", X), ("v", V), ("R", R)],
                "flt.kernel_attention {ops} scale(%R) "
                "{{kernel = #flt.pair_kernel<fourier_integral>, "
                "causal = true}}"),
    "toeplitz_direct": ([("fq", F), ("fk", F), ("v", V), ("b", BIAS)],
                        "flt.toeplitz_attention {ops}, %b {{causal = true, "
                        "method = #flt.toeplitz_method<direct>}}"),
}
functions = [op_func(name, args, op) for name, (args, op) in CASES.items()]
linear_attention = [f for f in functions if "linear_attention" in f]
# Linear attention in both of its forms: the chunk walk (linear) and the
# tiled quadratic form (kernel_attention kernel = dot).
libraries = {
    "linear": Library(functions, ["--linear-attention-form=linear"]),
    "quadratic": Library(linear_attention,
                         ["--linear-attention-form=quadratic"]),
}
QUADRATIC = {"softmax", "softmax_bias_rpe", "dot_rpe", "fourier",
             "toeplitz_direct"}

g = rng(5)
clean = {
    "fq": positive(g, (B, H, L, m)), "fk": positive(g, (B, H, L, m)),
    "q": normal(g, (B, H, L, d)), "k": normal(g, (B, H, L, d)),
    "v": normal(g, (B, H, L, e)),
    "phi": positive(g, (B, H, L, r)), "psi": positive(g, (B, H, L, r)),
    "b": (0.1 * normal(g, (H, 2 * L - 1))),
    "R": np.abs(normal(g, (H, d))) + 0.5,
}
KEY_SIDE = {"fk", "k", "psi"}


def dirty(name, value):
    """`clean[name]` with `value` at token POSITIONS[b] of batch b (all
    features; for v only `column`)."""
    x = clean[name].copy()
    for b, j in enumerate(POSITIONS):
        if name == "v":
            x[b, :, j, column] = value
        else:
            x[b, :, j, :] = value
    return x


def run(lib, fname, overrides=()):
    args = CASES[fname][0]
    inputs = [dict(overrides).get(n, clean[n]) for n, _ in args]
    return lib.run(fname, inputs)[0]


for form, lib in libraries.items():
    for fname, (args, _) in CASES.items():
        if form == "quadratic" and not fname.startswith("la_"):
            continue
        label = f"{fname} ({form})"
        base = run(lib, fname)
        expect_on_results(f"{label}: clean run finite",
                          bool(np.all(np.isfinite(base))))
        names = [n for n, _ in args]
        injections = [("v", np.nan), ("v", np.inf), ("v", -np.inf)]
        injections += [(n, np.nan) for n in names if n in KEY_SIDE]
        for name, value in injections:
            out = run(lib, fname, [(name, dirty(name, value))])
            for b, j in enumerate(POSITIONS):
                before = out[b, :, :j]
                same = np.array_equal(before, base[b, :, :j]) and \
                    bool(np.all(np.isfinite(before)))
                expect_on_results(
                    f"{label}: {name}_{j} = {value}: rows < {j} unchanged",
                    same)
                reached = out[b, :, j:, column] if name == "v" else \
                    out[b, :, j:]
                expect_on_results(
                    f"{label}: {name}_{j} = {value}: rows >= {j} non-finite",
                    not np.any(np.isfinite(reached)))
                if name == "v" and value == np.inf and \
                        (fname in QUADRATIC or form == "quadratic"):
                    expect_on_results(
                        f"{label}: v_{j} = inf: rows >= {j} are +inf",
                        bool(np.all(reached == np.inf)))
                if name == "v":
                    # The other value columns never see it.
                    others = np.delete(out[b], column, axis=-1)
                    expect_on_results(
                        f"{label}: {name}_{j} = {value}: other columns "
                        f"unchanged",
                        np.array_equal(others,
                                       np.delete(base[b], column, axis=-1)))
        if "b" in names:
            # Offsets j - i > 0 (columns L .. 2L - 2) are masked: a NaN or
            # +inf there must not move the per-head shift either.
            for value in (np.nan, np.inf):
                bias = clean["b"].copy()
                bias[:, L + 5] = value
                out = run(lib, fname, [("b", bias)])
                expect_on_results(
                    f"{label}: b at offset 6 = {value}: nothing changes",
                    np.array_equal(out, base))
finish()
