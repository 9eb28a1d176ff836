# Reverse mode of flt.linear_attention without rpe (docs/Semantics.md
# 2.4, §4): causal or not, every normalization, L = 1, 7, 129 and S != L,
# dynamic B and L; every gradient against float64 torch autograd.
# RUN: %python %s

from flt_harness import finish, rng
from gradient_checks import linear_attention_cases

linear_attention_cases(rng(11), rpe=False)
finish()
