# Reverse mode of flt.linear_attention with grouped key/value heads and
# padding (docs/Semantics.md §4, §5): H = 4 query heads over H_kv = 2 (and
# MQA's 1), lengths with n_b = S, a short one and 0, S != L, causal or
# not, with and without rpe; every gradient against float64 torch autograd
# of the formulas (flt.reference_autograd), padded rows' and missing keys'
# gradients included; state(T0, z0) with the cotangents of T and z, and
# the gradients of T0 and z0; packed sequences, with and without state.
# flt.toeplitz_attention with grouped heads, lengths and packed sequences;
# flt.position_transform with packed sequences (dx, dθ, dv).
# RUN: %python %s
# The gradient rules reuse the kernels the serving tests run under the
# sanitizers; instrumented, this test alone would take ten minutes.
# UNSUPPORTED: sanitizer

import itertools

import numpy as np

from flt import reference_autograd as ra
from flt_harness import Library, finish, func, normal, positive, rng, ttype
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
# one-token decoding step. packed(cu_seqlens), with per-sequence states or
# without: sequences of 4, 1 and 6 tokens (and a single one).
def serving(name, rpe, causal, normalize, kv, lengths, state=True,
            packed=False):
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
    if state:
        args += [("t0", T), ("z0", Z)]
        operands += " state(%t0, %z0)"
    if packed:
        args.append(("cu", ttype((1,), "i32", dynamic=(0,))))
        operands += " packed(%cu)"
    if lengths:
        args.append(("n", ttype((1,), "i32", dynamic=(0,))))
        operands += " lengths(%n)"
    results = [("%o", O)] + ([("%t", T), ("%z", Z)] if state else [])
    body = [f"{', '.join(v for v, _ in results)} = flt.linear_attention "
            f"{operands} {{causal = {str(causal).lower()}, normalize = "
            f"#flt.normalize<{normalize}>, eps = 1.0e-3 : f32}} : "
            f"{', '.join(t for _, t in args)} -> "
            f"{', '.join(t for _, t in results)}"]
    return func(name, args, body, results)


# (rpe, causal, normalize, H_kv, lengths, state, packed)
serving_cases = [(False, True, "divide", 2, False, True, False),
                 (True, False, "guarded", 4, False, True, False),
                 (True, True, "none", 2, True, True, False),
                 (False, False, "divide", 1, True, True, False),
                 (True, True, "divide", 4, False, True, False),
                 (False, True, "divide", 2, False, False, True),
                 (True, True, "guarded", 4, False, True, True),
                 (True, False, "none", 2, False, False, True),
                 (False, False, "divide", 1, False, True, True)]
serving_cases = [(f"{'packed' if packed else 'state'}_"
                  f"{'rpe' if rpe else 'plain'}_{int(causal)}_{normalize}_"
                  f"kv{kv}_{'n' if lengths else 'full'}"
                  f"{'_state' if packed and state else ''}", rpe, causal,
                  normalize, kv, lengths, state, packed)
                 for rpe, causal, normalize, kv, lengths, state, packed
                 in serving_cases]
lib = Library([serving(*c) for c in serving_cases], ["--gradients"])
for name, rpe, causal, normalize, kv, lengths, state, packed in serving_cases:
    D = m * (r if rpe else 1)
    shapes = ([(11, 11, [0, 4, 5, 11]), (3, 3, [0, 3])] if packed else
              [(9, 9, [9, 4]), (1, 1, [1, 0]), (7, 12, [12, 5])])
    for L, S, n in shapes:
        if causal and L != S:
            continue
        B = 1 if packed else len(n)
        states = len(n) - 1 if packed else B
        inputs = [positive(g, (B, H, L, m)), positive(g, (B, kv, S, m)),
                  normal(g, (B, kv, S, e))]
        names = ["fq", "fk", "v"]
        if rpe:
            inputs += [positive(g, (B, H, L, r)), positive(g, (B, H, S, r))]
            names += ["phi", "psi"]
        if state:
            # A prefix's state: positive normalizer, as the keys' features.
            inputs += [normal(g, (states, H, D, e)),
                       positive(g, (states, H, D))]
            names += ["T0", "z0"]
        if packed:
            inputs.append(np.array(n, np.int32))
            names.append(None)
        if lengths:
            inputs.append(np.array(n, np.int32))
            names.append(None)

        def la(fq, fk, v, *rest, causal=causal, normalize=normalize,
               rpe=rpe, lengths=lengths, state=state, packed=packed):
            rest = list(rest)
            phi, psi = (rest.pop(0), rest.pop(0)) if rpe else (None, None)
            initial = (rest.pop(0), rest.pop(0)) if state else None
            cu = rest.pop(0) if packed else None
            n = rest.pop(0) if lengths else None
            return ra.linear_attention(fq, fk, v, phi, psi, causal,
                                       normalize, 1e-3, state=initial,
                                       cu_seqlens=cu, lengths=n)
        label = f"{name} L={L} S={S}" + (
            f" cu_seqlens={n}" if packed else
            f" lengths={n}" if lengths else "")
        cots = [normal(g, (B, H, L, e))]
        if state:
            cots += [normal(g, (states, H, D, e)), normal(g, (states, H, D))]
        compare(label, lib, name, inputs, cots, la, names)


# flt.toeplitz_attention with grouped heads, lengths and packed sequences:
# dfq, dfk, dv and db (db's correlation counts pairs of one sequence only).
def toeplitz(name, causal, normalize, method, kv, lengths, packed):
    FQ = ttype((1, H, 1, m), dynamic=(0, 2))
    FK = ttype((1, kv, 1, m), dynamic=(0, 2))
    V = ttype((1, kv, 1, e), dynamic=(0, 2))
    O = ttype((1, H, 1, e), dynamic=(0, 2))
    BT = ttype((H, 1), dynamic=(1,))
    args = [("fq", FQ), ("fk", FK), ("v", V), ("b", BT)]
    operands = "%fq, %fk, %v, %b"
    if packed:
        args.append(("cu", ttype((1,), "i32", dynamic=(0,))))
        operands += " packed(%cu)"
    if lengths:
        args.append(("n", ttype((1,), "i32", dynamic=(0,))))
        operands += " lengths(%n)"
    return func(name, args, [
        f"%o = flt.toeplitz_attention {operands} {{causal = "
        f"{str(causal).lower()}, normalize = #flt.normalize<{normalize}>, "
        f"eps = 1.0e-3 : f32, method = #flt.toeplitz_method<{method}>}} : "
        f"{', '.join(t for _, t in args)} -> {O}"], [("%o", O)])


# (causal, normalize, method, H_kv, lengths, packed)
toeplitz_cases = [(True, "divide", "direct", 2, True, False),
                  (False, "guarded", "direct", 4, False, True),
                  (True, "none", "direct", 1, False, True),
                  (False, "divide", "fft", 2, False, False)]
toeplitz_cases = [(f"toeplitz_{method}_{int(causal)}_{normalize}_kv{kv}_"
                   f"{'n' if lengths else 'packed' if packed else 'full'}",
                   causal, normalize, method, kv, lengths, packed)
                  for causal, normalize, method, kv, lengths, packed
                  in toeplitz_cases]
lib = Library([toeplitz(*c) for c in toeplitz_cases], ["--gradients"])
for name, causal, normalize, method, kv, lengths, packed in toeplitz_cases:
    shapes = ([(11, [0, 4, 5, 11]), (3, [0, 3])] if packed else
              [(9, [9, 4, 0]), (1, [1, 0])] if lengths else [(9, None)])
    for L, n in shapes:
        B = 1 if packed or n is None else len(n)
        inputs = [positive(g, (B, H, L, m)), positive(g, (B, kv, L, m)),
                  normal(g, (B, kv, L, e)),
                  (0.5 * g.standard_normal((H, 2 * L - 1))).astype(np.float32)]
        names = ["fq", "fk", "v", "b"]
        if n is not None:
            inputs.append(np.array(n, np.int32))
            names.append(None)

        def tp(fq, fk, v, b, *rest, causal=causal, normalize=normalize,
               method=method, lengths=lengths, packed=packed):
            return ra.toeplitz_attention(
                fq, fk, v, b, causal, normalize, 1e-3, method,
                cu_seqlens=rest[0] if packed else None,
                lengths=rest[0] if lengths else None)
        label = f"{name} L={L}" + (f" {n}" if n is not None else "")
        compare(label, lib, name, inputs, [normal(g, (B, H, L, e))], tp,
                names)


# flt.position_transform packed(cu_seqlens): positions count from each
# sequence's start, in dx and in dθ (and dv of the Householder mix).
def packed_transform(name, core, mix, pairing, d, offset):
    T = d // 2 if core == "rotary" else d
    width = d if core == "rotary" else 2 * d
    X = ttype((1, 2, 1, d), dynamic=(2,))
    OUT = ttype((1, 2, 1, width), dynamic=(2,))
    TH, MIX = ttype((2, T)), ttype((2, d))
    args = [("x", X), ("th", TH)]
    operands = "%x, %th"
    if mix == "householder":
        args.append(("hv", MIX))
        operands += " mix(%hv)"
    args.append(("cu", ttype((1,), "i64", dynamic=(0,))))
    operands += " packed(%cu)"
    attrs = (f"core = #flt.lrpe_core<{core}>, mix = #flt.lrpe_mix<{mix}>, "
             f"offset = {offset}")
    if core == "rotary":
        attrs += f", pairing = #flt.pairing<{pairing}>"
    return func(name, args, [
        f"%o = flt.position_transform {operands} {{{attrs}}} : "
        f"{', '.join(t for _, t in args)} -> {OUT}"], [("%o", OUT)])


transform_cases = [("pt_rotary_householder", "rotary", "householder",
                    "halves", 6, 3),
                   ("pt_complex_identity", "complex", "identity",
                    "interleaved", 5, 0)]
lib = Library([packed_transform(*c) for c in transform_cases],
              ["--gradients"])
for name, core, mix, pairing, d, offset in transform_cases:
    T = d // 2 if core == "rotary" else d
    width = d if core == "rotary" else 2 * d
    for n in ([0, 4, 5, 11], [0, 9]):
        L = n[-1]
        inputs = [normal(g, (1, 2, L, d)), normal(g, (2, T))]
        names = ["x", "theta"]
        if mix == "householder":
            inputs.append(normal(g, (2, d)))
            names.append("v")
        inputs.append(np.array(n, np.int64))
        names.append(None)

        def pt(x, theta, *rest, core=core, mix=mix, pairing=pairing,
               offset=offset):
            rest = list(rest)
            v = rest.pop(0) if mix == "householder" else None
            return ra.position_transform(x, theta, core, mix, pairing, offset,
                                         v, cu_seqlens=rest[0])
        compare(f"{name} cu_seqlens={n}", lib, name, inputs,
                [normal(g, (1, 2, L, width))], pt, names)
finish()
