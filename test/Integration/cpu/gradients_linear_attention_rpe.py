# Reverse mode of flt.linear_attention with rpe(phi, psi) (docs/Semantics.md
# 2.4, §4): causal or not, every normalization, L = 1, 7, 129 and S != L,
# dynamic B and L; every gradient against float64 torch autograd; on the
# CPU both the fused backward and its decomposition (also at the FLT
# layer's m = e = 64, r = 32).
# RUN: %python %s

from flt_harness import SANITIZED, TARGET, finish, rng
from gradient_checks import linear_attention_cases

# On the CPU both backward forms: the fused one where it applies (not
# causal), the decomposition everywhere (the GPU targets decompose).
for form in (("fused", "decomposed") if TARGET == "cpu" else (None,)):
    flags = [f"--linear-attention-grad={form}"] if form else []
    causal = (False,) if form == "fused" else (False, True)
    linear_attention_cases(rng(12), rpe=True, flags=flags,
                           causal_values=causal)
# The FLT layer's sizes (m = e = 64, r = 32): every tile of the fused
# backward is a whole number of register tiles, none padded. (Not under the
# sanitizers: the padded sizes above run the same code there, and this case
# took the sanitized test from 3.6 to 6.2 minutes.)
if TARGET == "cpu" and not SANITIZED:
    linear_attention_cases(rng(13), rpe=True, m=64, e=64, r=32,
                           flags=["--linear-attention-grad=fused"],
                           causal_values=(False,))
finish()
