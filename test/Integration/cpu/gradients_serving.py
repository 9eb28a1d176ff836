# Reverse mode of flt.linear_attention with grouped key/value heads and
# padding (docs/Semantics.md §4, §5): H = 4 query heads over H_kv = 2 (and
# MQA's 1), lengths with n_b = S, a short one and 0, S != L, causal or
# not, with and without rpe; every gradient against float64 torch autograd
# of the formulas (flt.reference_autograd), padded rows' and missing keys'
# gradients included; state(T0, z0) with the cotangents of T and z, and
# the gradients of T0 and z0. Packed sequences (no rule yet) are one clean
# diagnostic.
# RUN: %python %s
# The gradient rules reuse the kernels the serving tests run under the
# sanitizers; instrumented, this test alone would take ten minutes.
# UNSUPPORTED: sanitizer

import itertools
import subprocess

import numpy as np

from flt import reference_autograd as ra
from flt_harness import (Library, expect, finish, func, normal, positive, rng,
                         tool, ttype)
from gradient_checks import compare

H, m, e, r = 4, 6, 5, 3
g = rng(37)


def function(name, rpe, causal, normalize, kv, lengths):
    FQ = ttype((1, H, 1, m), dynamic=(0, 2))
    FK = ttype((1, kv, 1, m), dynamic=(0, 2))
    V = ttype((1, kv, 1, e), dynamic=(0, 2))
    O = ttype((1, H, 1, e), dynamic=(0, 2))
    P = ttype((1, H, 1, r), dynamic=(0, 2))
    args = [("fq", FQ), ("fk", FK), ("v", V)]
    operands = "%fq, %fk, %v"
    if rpe:
        args += [("phi", P), ("psi", P)]
        operands += " rpe(%phi, %psi)"
    if lengths:
        args.append(("n", ttype((1,), "i32", dynamic=(0,))))
        operands += " lengths(%n)"
    body = [f"%o = flt.linear_attention {operands} {{causal = "
            f"{str(causal).lower()}, normalize = #flt.normalize<{normalize}>, "
            f"eps = 1.0e-3 : f32}} : {', '.join(t for _, t in args)} -> {O}"]
    return func(name, args, body, [("%o", O)])


# Every combination with H_kv = 2 (divide without rpe, guarded with it,
# whose RPE can be negative), and MQA twice.
cases = []
for rpe, causal, lengths in itertools.product((False, True), (False, True),
                                              (False, True)):
    cases.append((rpe, causal, "guarded" if rpe else "divide", 2, lengths))
cases += [(True, True, "guarded", 1, True), (False, False, "divide", 1, True)]
cases = [(f"la_{'rpe' if rpe else 'plain'}_{int(causal)}_{normalize}_"
          f"kv{kv}_{'n' if lengths else 'full'}", rpe, causal, normalize, kv,
          lengths) for rpe, causal, normalize, kv, lengths in cases]
lib = Library([function(*c) for c in cases], ["--gradients"])

for name, rpe, causal, normalize, kv, lengths in cases:
    for L, S, n in [(9, 9, [9, 4, 0]), (7, 12, [12, 3, 5])]:
        if causal and L != S:
            continue
        B = len(n)
        inputs = [positive(g, (B, H, L, m)), positive(g, (B, kv, S, m)),
                  normal(g, (B, kv, S, e))]
        names = ["fq", "fk", "v"]
        if rpe:
            inputs += [positive(g, (B, H, L, r)), positive(g, (B, H, S, r))]
            names += ["phi", "psi"]
        if lengths:
            inputs.append(np.array(n, np.int32))
            names.append(None)

        def la(fq, fk, v, *rest, causal=causal, normalize=normalize,
               rpe=rpe, lengths=lengths):
            phi, psi = (rest[0], rest[1]) if rpe else (None, None)
            n = rest[-1] if lengths else None
            return ra.linear_attention(fq, fk, v, phi, psi, causal,
                                       normalize, 1e-3, lengths=n)
        label = f"{name} L={L} S={S}" + (f" lengths={n}" if lengths else "")
        compare(label, lib, name, inputs, [normal(g, (B, H, L, e))], la,
                names)



# state(T0, z0): cotangents of all three results (out, T, z) in, gradients
# of T0 and z0 out too; grouped heads and lengths with it, S != L, and the
# one-token decoding step.
def stateful(name, rpe, causal, normalize, kv, lengths):
    D = m * (r if rpe else 1)
    FQ = ttype((1, H, 1, m), dynamic=(0, 2))
    FK = ttype((1, kv, 1, m), dynamic=(0, 2))
    V = ttype((1, kv, 1, e), dynamic=(0, 2))
    O = ttype((1, H, 1, e), dynamic=(0, 2))
    P = ttype((1, H, 1, r), dynamic=(0, 2))
    T, Z = ttype((1, H, D, e), dynamic=(0,)), ttype((1, H, D), dynamic=(0,))
    args = [("fq", FQ), ("fk", FK), ("v", V)]
    operands = "%fq, %fk, %v"
    if rpe:
        args += [("phi", P), ("psi", P)]
        operands += " rpe(%phi, %psi)"
    args += [("t0", T), ("z0", Z)]
    operands += " state(%t0, %z0)"
    if lengths:
        args.append(("n", ttype((1,), "i32", dynamic=(0,))))
        operands += " lengths(%n)"
    body = [f"%o, %t, %z = flt.linear_attention {operands} {{causal = "
            f"{str(causal).lower()}, normalize = #flt.normalize<{normalize}>, "
            f"eps = 1.0e-3 : f32}} : {', '.join(t for _, t in args)} -> {O}, "
            f"{T}, {Z}"]
    return func(name, args, body, [("%o", O), ("%t", T), ("%z", Z)])


state_cases = [(False, True, "divide", 2, False),
               (True, False, "guarded", 4, False),
               (True, True, "none", 2, True),
               (False, False, "divide", 1, True),
               (True, True, "divide", 4, False)]
state_cases = [(f"state_{'rpe' if rpe else 'plain'}_{int(causal)}_"
                f"{normalize}_kv{kv}_{'n' if lengths else 'full'}", rpe,
                causal, normalize, kv, lengths)
               for rpe, causal, normalize, kv, lengths in state_cases]
lib = Library([stateful(*c) for c in state_cases], ["--gradients"])
for name, rpe, causal, normalize, kv, lengths in state_cases:
    D = m * (r if rpe else 1)
    for L, S, n in [(9, 9, [9, 4]), (1, 1, [1, 0]), (7, 12, [12, 5])]:
        if causal and L != S:
            continue
        B = len(n)
        inputs = [positive(g, (B, H, L, m)), positive(g, (B, kv, S, m)),
                  normal(g, (B, kv, S, e))]
        names = ["fq", "fk", "v"]
        if rpe:
            inputs += [positive(g, (B, H, L, r)), positive(g, (B, H, S, r))]
            names += ["phi", "psi"]
        # A prefix's state: positive normalizer, as the keys' features are.
        inputs += [normal(g, (B, H, D, e)), positive(g, (B, H, D))]
        names += ["T0", "z0"]
        if lengths:
            inputs.append(np.array(n, np.int32))
            names.append(None)

        def la(fq, fk, v, *rest, causal=causal, normalize=normalize,
               rpe=rpe, lengths=lengths):
            phi, psi = (rest[0], rest[1]) if rpe else (None, None)
            t0, z0 = rest[2:4] if rpe else rest[0:2]
            n = rest[-1] if lengths else None
            return ra.linear_attention(fq, fk, v, phi, psi, causal,
                                       normalize, 1e-3, state=(t0, z0),
                                       lengths=n)
        label = f"{name} L={L} S={S}" + (f" lengths={n}" if lengths else "")
        cots = [normal(g, (B, H, L, e)), normal(g, (B, H, D, e)),
                normal(g, (B, H, D))]
        compare(label, lib, name, inputs, cots, la, names)

# No rule yet: packed sequences.
for operands, types in [
        ("%x, %x, %x packed(%cu)",
         "tensor<1x2x4x3xf32>, tensor<1x2x4x3xf32>, tensor<1x2x4x3xf32>, "
         "tensor<2xi32>")]:
    results, lhs, extra = "tensor<1x2x4x3xf32>", "%o", ", %cu: tensor<2xi32>"
    source = f"{lib.dir}/no_rule.mlir"
    with open(source, "w") as f:
        f.write(f"func.func @f(%x: tensor<1x2x4x3xf32>{extra}) -> "
                f"tensor<1x2x4x3xf32> {{\n  {lhs} = flt.linear_attention "
                f"{operands} : {types} -> {results}\n"
                f"  return %o : tensor<1x2x4x3xf32>\n}}\n")
    done = subprocess.run([tool("flt-opt"), source, "--flt-generate-vjp"],
                          capture_output=True, text=True)
    expect("reverse mode of packed sequences is refused",
           done.returncode != 0 and "no gradient rule yet" in done.stderr,
           done.stderr.strip()[:200])
finish()
