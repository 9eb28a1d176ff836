# flt.toeplitz_attention, methods direct (the tiled quadratic form), fft
# (our FFT, lengths padded to powers of two) and auto, causal and not, all
# normalizations, lengths 1 to 1000 (the causal FFT at L = 1000 included),
# more value columns than one FFT batch holds (e = 40 > 31); one batch and
# one head with static sizes (on the GPU: one block per loop of one
# iteration).
# RUN: %python %s

from flt import reference
from flt_harness import (Library, check, finish, func, normal, positive, rng,
                         ttype)

H, m, e = 2, 8, 40


def toeplitz(name, causal, normalize, method):
    FQ = ttype((1, H, 1, m), dynamic=(0, 2))
    V = ttype((1, H, 1, e), dynamic=(0, 2))
    BT = ttype((H, 1), dynamic=(1,))
    attrs = (f"causal = {str(causal).lower()}, normalize = "
             f"#flt.normalize<{normalize}>, method = "
             f"#flt.toeplitz_method<{method}>")
    return func(name, [("fq", FQ), ("fk", FQ), ("v", V), ("b", BT)],
                [f"%o = flt.toeplitz_attention %fq, %fk, %v, %b {{{attrs}}} : "
                 f"{FQ}, {FQ}, {V}, {BT} -> {V}"], [("%o", V)])


cases = [(f"{method}_{'causal' if causal else 'full'}_{normalize}", causal,
          normalize, method)
         for method in ("direct", "fft", "auto")
         for causal in (False, True)
         for normalize in ("divide", "guarded", "none")]
lib = Library([toeplitz(*c) for c in cases])
g = rng(11)
for name, causal, normalize, _ in cases:
    for B, L in ((1, 1), (2, 7), (1, 129), (1, 1000)):
        fq, fk = positive(g, (B, H, L, m)), positive(g, (B, H, L, m))
        v = normal(g, (B, H, L, e))
        b = (2.0 * g.standard_normal((H, 2 * L - 1))).astype("float32")
        out = lib.run(name, [fq, fk, v, b])[0]
        check(f"{name} B={B} L={L}", out,
              reference.toeplitz_attention(fq, fk, v, b, causal, normalize))

# B = H = 1, static: the FFT method's loop over (batch, head) has one
# iteration.
FQ1, V1, B1 = ttype((1, 1, 37, m)), ttype((1, 1, 37, e)), ttype((1, 73))
single = Library([func(
    f"fft_single_{'causal' if causal else 'full'}",
    [("fq", FQ1), ("fk", FQ1), ("v", V1), ("b", B1)],
    [f"%o = flt.toeplitz_attention %fq, %fk, %v, %b {{causal = "
     f"{str(causal).lower()}, method = #flt.toeplitz_method<fft>}} : "
     f"{FQ1}, {FQ1}, {V1}, {B1} -> {V1}"], [("%o", V1)])
    for causal in (False, True)])
for causal in (False, True):
    fq, fk = positive(g, (1, 1, 37, m)), positive(g, (1, 1, 37, m))
    v = normal(g, (1, 1, 37, e))
    b = (2.0 * g.standard_normal((1, 73))).astype("float32")
    kind = "causal" if causal else "full"
    out = single.run(f"fft_single_{kind}", [fq, fk, v, b])[0]
    check(f"fft {kind} B=H=1 static L=37", out,
          reference.toeplitz_attention(fq, fk, v, b, causal))
finish()
