# Reverse mode of flt.toeplitz_attention (docs/Semantics.md 2.7, §4): dfq,
# dfk, dv and db, methods direct and fft, causal and not, every
# normalization, L = 1, 7 and 130 (and 1000 for one of them), dynamic B and
# L, f16 activations; every gradient against float64 torch autograd
# (flt.reference_autograd: the max(b) shift is a constant there as in §4).
# RUN: %python %s

import itertools

import numpy as np

from flt import reference_autograd as ra
from flt_harness import (Library, finish, func, normal, positive, rng,
                         sampled, ttype)
from gradient_checks import compare

H, m, e = 2, 5, 3


def toeplitz(name, causal, normalize, method, dtype="f32"):
    FQ = ttype((1, H, 1, m), dtype, dynamic=(0, 2))
    V = ttype((1, H, 1, e), dtype, dynamic=(0, 2))
    BT = ttype((H, 1), dynamic=(1,))
    attrs = (f"causal = {str(causal).lower()}, normalize = "
             f"#flt.normalize<{normalize}>, eps = 1.0e-3 : f32, method = "
             f"#flt.toeplitz_method<{method}>")
    return func(name, [("fq", FQ), ("fk", FQ), ("v", V), ("b", BT)],
                [f"%o = flt.toeplitz_attention %fq, %fk, %v, %b {{{attrs}}} : "
                 f"{FQ}, {FQ}, {V}, {BT} -> {V}"], [("%o", V)])


# direct_full_divide runs with f16 activations (the f32 divide rule is
# covered by the other three divide cases).
cases = [(f"{method}_{'causal' if causal else 'full'}_{normalize}", causal,
          normalize, method,
          "f16" if (method, causal, normalize) == ("direct", False, "divide")
          else "f32")
         for method in ("direct", "fft")
         for causal in (False, True)
         for normalize in ("divide", "guarded", "none")]
cases = sampled(cases)
lib = Library([toeplitz(*c) for c in cases], ["--gradients"])
g = rng(23)
long = ("fft_causal_divide",)
for (name, causal, normalize, method, dtype), (B, L) in [
        (c, shape) for c in cases
        for shape in ((1, 1), (2, 7), (1, 130)) + (
            ((1, 1000),) if c[0] in long else ())]:
    # With one key the normalized result is v whatever the score (up to
    # eps): scale the features as gradient_checks.linear_attention_cases
    # does to keep that case well conditioned.
    scale = 0.1 if L == 1 else 1.0
    fq, fk = scale * positive(g, (B, H, L, m)), scale * positive(g, (B, H, L, m))
    v = normal(g, (B, H, L, e))
    b = (0.5 * g.standard_normal((H, 2 * L - 1))).astype(np.float32)
    cot = normal(g, (B, H, L, e))
    if dtype == "f16":
        fq, fk, v, cot = (x.astype(np.float16) for x in (fq, fk, v, cot))

    def fn(fq, fk, v, b, causal=causal, normalize=normalize):
        return ra.toeplitz_attention(fq, fk, v, b, causal, normalize, 1e-3)
    compare(f"{name} B={B} L={L}", lib, name, [fq, fk, v, b], [cot], fn,
            ["fq", "fk", "v", "b"], dtypes=[dtype] * 3 + ["f32"])
finish()
