# Reverse mode of flt.linear_attention without rpe (docs/Semantics.md
# 2.4, §4): causal or not, every normalization, L = 1, 7, 129 and S != L,
# dynamic B and L; every gradient against float64 torch autograd; on the
# CPU both the fused backward and its decomposition.
# RUN: %python %s

from flt_harness import TARGET, finish, rng
from gradient_checks import linear_attention_cases

# Both backward forms on the CPU (the GPU targets decompose).
for form in (("fused", "decomposed") if TARGET == "cpu" else (None,)):
    flags = [f"--linear-attention-grad={form}"] if form else []
    linear_attention_cases(rng(11), rpe=False, flags=flags)
finish()
