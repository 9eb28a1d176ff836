"""Gradient checks shared by the integration tests of reverse mode: run a
compiled @f_vjp with flt-run and compare every argument's gradient with
float64 torch autograd of the semantics (flt.reference_autograd), within
docs/Semantics.md §4's tolerances."""

import itertools

import numpy as np

from flt import reference_autograd as ra
from flt_harness import (Library, check, expect_on_results, func, normal,
                         positive, sampled, ttype)


def grads_of(lib, name, inputs, cotangents):
    return lib.run(name + "_vjp", [*inputs, *cotangents], results=len(inputs))


def compare(label, lib, name, inputs, cotangents, fn, arg_names,
            dtypes=None, **kwargs):
    """`dtypes`: per argument, the element type whose §4 tolerances its
    gradient gets (f32 for all by default; f16/bf16 for a gradient returned
    in that type)."""
    got = grads_of(lib, name, inputs, cotangents)
    want = ra.vjp(fn, inputs, cotangents if len(cotangents) > 1
                  else cotangents[0], **kwargs)
    dtypes = dtypes or ["f32"] * len(arg_names)
    for arg, out, ref, dtype in zip(arg_names, got, want, dtypes):
        if arg is None:
            continue
        if np.linalg.norm(ref) < 1e-12:
            # Zero in exact arithmetic (guarded attention over one key:
            # out = v whatever the scores): no relative error is defined;
            # f32 must leave only rounding noise.
            peak = float(np.max(np.abs(out), initial=0.0))
            expect_on_results(
                f"{label}: d{arg} (zero in exact arithmetic)", peak <= 1e-5,
                f"max |d{arg}| {peak:.1e}")
            continue
        check(f"{label}: d{arg}", out, ref, dtype, gradient=True)


def linear_attention_cases(g, rpe, H=2, m=6, e=5, r=4, flags=(),
                           causal_values=(False, True)):
    """flt.linear_attention with or without rpe, causal or not, every
    normalization, at L = 1, 7, 129 and S != L, dynamic B and L; flags are
    added to flt-compile's (--linear-attention-grad=... picks the backward
    form instead of the cost model)."""
    functions, cases = [], []
    for causal, normalize in sampled(itertools.product(
            causal_values, ("divide", "guarded", "none"))):
        FQ = ttype((1, H, 1, m), dynamic=(0, 2))
        V = ttype((1, H, 1, e), dynamic=(0, 2))
        PP = ttype((1, H, 1, r), dynamic=(0, 2))
        args = [("fq", FQ), ("fk", FQ), ("v", V)]
        operands, types = "%fq, %fk, %v", f"{FQ}, {FQ}, {V}"
        if rpe:
            args += [("phi", PP), ("psi", PP)]
            operands += " rpe(%phi, %psi)"
            types += f", {PP}, {PP}"
        name = "la_{}_{}_{}".format("rpe" if rpe else "plain",
                                    "causal" if causal else "full", normalize)
        body = [f"%o = flt.linear_attention {operands} {{causal = "
                f"{str(causal).lower()}, normalize = "
                f"#flt.normalize<{normalize}>, eps = 1.0e-3 : f32}} : "
                f"{types} -> {V}"]
        functions.append(func(name, args, body, [("%o", V)]))
        cases.append((name, causal, normalize))
    lib = Library(functions, ["--gradients", *flags])
    for (name, causal, normalize), (L, S) in itertools.product(
            cases, [(1, 1), (7, 7), (129, 129), (7, 12)]):
        if causal and L != S:
            continue
        B = 2 if L == 7 else 1
        # Conditioning (§3): with one key, out = s v / (s + eps) and the
        # gradient through the score is v eps / (s + eps)², a difference
        # of two terms (v / den and out / den) that cancel to a relative
        # eps / s: at s ~ 30 that is 3e-5, and f32's rounding of either term
        # is then 3e-3 of the result, in any linear-time form. Scores near
        # eps (features scaled by 0.1) keep the one-key case well
        # conditioned.
        scale = 0.1 if S == 1 else 1.0
        inputs = [scale * positive(g, (B, H, L, m)),
                  scale * positive(g, (B, H, S, m)), normal(g, (B, H, S, e))]
        names = ["fq", "fk", "v"]
        if rpe:
            # A positive mask keeps the normalizer away from 0 (§3).
            inputs += [scale * positive(g, (B, H, L, r)),
                       scale * positive(g, (B, H, S, r))]
            names += ["phi", "psi"]

        def la(fq, fk, v, phi=None, psi=None, causal=causal,
               normalize=normalize):
            return ra.linear_attention(fq, fk, v, phi, psi, causal,
                                       normalize, 1e-3)
        compare(f"{name} L={L} S={S}", lib, name, inputs,
                [normal(g, (B, H, L, e))], la, names)
