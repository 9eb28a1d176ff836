# The unfused reference pipeline (--no-fusion materializes fq ⊗ phi and
# fk ⊗ psi) computes the same function as the fused one.
# RUN: %python %s

from flt import reference
from flt_harness import (Library, check, finish, func, normal, positive, rng,
                         ttype)

H, m, r, e = 2, 8, 6, 10
FQ, V, P = (ttype((1, H, 1, n), dynamic=(2,)) for n in (m, e, r))
body = [f"%o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : "
        f"{FQ}, {FQ}, {V}, {P}, {P} -> {V}"]
fn = func("la", [("fq", FQ), ("fk", FQ), ("v", V), ("phi", P), ("psi", P)],
          body, [("%o", V)])
fused, unfused = Library([fn]), Library([fn], flags=["--no-fusion"])
g = rng(6)
for L in (1, 7, 129):
    inputs = [positive(g, (1, H, L, m)), positive(g, (1, H, L, m)),
              normal(g, (1, H, L, e)), positive(g, (1, H, L, r)),
              positive(g, (1, H, L, r))]
    expected = reference.linear_attention(*inputs)
    check(f"fused L={L}", fused.run("la", inputs)[0], expected)
    check(f"unfused L={L}", unfused.run("la", inputs)[0], expected)
finish()
