# docs/Semantics.md section 5 on flt.linear_attention, through flt-compile
# and flt-run, against the float64 reference of those formulas
# (flt.reference_autograd.linear_attention: the masked quadratic form):
#   * grouped heads (H = 4 query heads over H_kv = 2, and MQA's H_kv = 1),
#     in every linear form (two-phase, causal walk, key blocks);
#   * state(T0, z0): a sequence run in chunks (chunked prefill, then
#     one-token decoding steps) gives the rows of one run, and T, z equal the
#     reference's; causal and not, with and without rpe, all normalizations;
#   * packed(cu_seqlens) with per-sequence states, causal and not;
#   * lengths(n): padded batches, S != L, n_b = 0 and n_b = S included;
#   * bad cu_seqlens and lengths: one clean error from flt-run, no kernel.
# RUN: %python %s

import itertools
import os

import numpy as np

from flt import reference_autograd as ref
from flt_harness import (TARGET, Library, check, expect, expect_on_results,
                         finish, func, normal, positive, rng, ttype)

H, HKV, m, r, e = 4, 2, 6, 3, 5
g = rng(23)


def f64(x):
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x)


def op(name, *, rpe, causal, normalize="divide", kv_heads=HKV, state=False,
       packed=False, lengths=False, index="i32", seqs=1):
    """A function around one flt.linear_attention; B and L dynamic."""
    FQ = ttype((1, H, 1, m), dynamic=(0, 2))
    FK = ttype((1, kv_heads, 1, m), dynamic=(0, 2))
    V = ttype((1, kv_heads, 1, e), dynamic=(0, 2))
    O = ttype((1, H, 1, e), dynamic=(0, 2))
    P = ttype((1, H, 1, r), dynamic=(0, 2))
    f = m * r if rpe else m
    T = ttype((seqs, H, f, e), dynamic=(0,))
    Z = ttype((seqs, H, f), dynamic=(0,))
    args = [("fq", FQ), ("fk", FK), ("v", V)]
    operands, types = "%fq, %fk, %v", [FQ, FK, V]
    if rpe:
        args += [("phi", P), ("psi", P)]
        operands += " rpe(%phi, %psi)"
        types += [P, P]
    if state:
        args += [("t0", T), ("z0", Z)]
        operands += " state(%t0, %z0)"
        types += [T, Z]
    if packed:
        args += [("cu", ttype((1,), index, dynamic=(0,)))]
        operands += " packed(%cu)"
        types += [args[-1][1]]
    if lengths:
        args += [("n", ttype((1,), index, dynamic=(0,)))]
        operands += " lengths(%n)"
        types += [args[-1][1]]
    attrs = (f"{{causal = {str(causal).lower()}, normalize = "
             f"#flt.normalize<{normalize}>, eps = 1.0e-3 : f32}}")
    results = [("%o", O)] + ([("%t", T), ("%z", Z)] if state else [])
    lhs = ", ".join(v for v, _ in results)
    body = [f"{lhs} = flt.linear_attention {operands} {attrs} : "
            f"{', '.join(types)} -> {', '.join(t for _, t in results)}"]
    return func(name, args, body, results)


def inputs(B, L, S, rpe, kv_heads=HKV):
    fq, fk = positive(g, (B, H, L, m)), positive(g, (B, kv_heads, S, m))
    v = normal(g, (B, kv_heads, S, e))
    phi, psi = positive(g, (B, H, L, r)), positive(g, (B, H, S, r))
    return [fq, fk, v] + ([phi, psi] if rpe else [])


def reference(xs, rpe, causal, normalize="divide", **kw):
    phi, psi = (xs[3], xs[4]) if rpe else (None, None)
    return ref.linear_attention(xs[0], xs[1], xs[2], phi, psi, causal,
                                normalize, 1e-3, **kw)


functions = {}
# Grouped heads alone, in the default forms and with key blocks.
for rpe, causal, kv in itertools.product((False, True), (False, True),
                                         (HKV, 1)):
    name = f"gqa_{'rpe' if rpe else 'plain'}_{int(causal)}_{kv}"
    functions[name] = op(name, rpe=rpe, causal=causal, kv_heads=kv)
# State, every normalization.
for rpe, causal, normalize in itertools.product(
        (False, True), (False, True), ("divide", "guarded", "none")):
    name = f"state_{'rpe' if rpe else 'plain'}_{int(causal)}_{normalize}"
    functions[name] = op(name, rpe=rpe, causal=causal, normalize=normalize,
                         state=True)
for causal, index in itertools.product((False, True), ("i32", "i64")):
    name = f"packed_{int(causal)}_{index}"
    functions[name] = op(name, rpe=True, causal=causal, packed=True,
                         state=True, index=index)
    name = f"lengths_{int(causal)}_{index}"
    functions[name] = op(name, rpe=True, causal=causal, lengths=True,
                         index=index)
lib = Library(list(functions.values()))
forms = [("default", lib)]
# (Not in sanitizer builds: the instrumented compiler makes the second
# library of the same functions the slowest part of the sanitized suite.)
if TARGET == "cpu" and not os.environ.get("FLT_SANITIZED"):
    # The GPU's forms (value blocks, keys in parallel blocks) emulated, with
    # a smaller tile so that sequences span several (../gpu runs the whole
    # test on the GPU pipeline).
    forms.append(("GPU mapping", Library(
        list(functions.values()), ["--emulate-gpu-mapping",
                                   "--token-tile=16"])))

# Grouped heads.
for name in (n for n in functions if n.startswith("gqa")):
    _, kind, causal, kv = name.split("_")
    rpe, causal, kv = kind == "rpe", causal == "1", int(kv)
    for B, L, S in [(2, 9, 9), (1, 150, 150), (1, 40, 70)]:
        if causal and S != L:
            continue
        xs = inputs(B, L, S, rpe, kv)
        expected = f64(reference(xs, rpe, causal))
        for form, library in forms:
            check(f"{name} ({form}) B={B} L={L} S={S}",
                  library.run(name, xs)[0], expected)


def check_chunks(label, library, name, xs, t0, z0, full, rpe, causal,
                 normalize):
    pieces, t, z = [], t0, z0
    for lo, hi in [(0, 64), (64, 130), (130, 147), (147, 148), (148, 149),
                   (149, 150)]:
        chunk = [x[:, :, lo:hi] for x in xs]
        out, t, z = library.run(name, chunk + [t, z], results=3)
        if not causal:
            # Non-causal chunks see their own keys and the state only.
            want = [f64(x) for x in reference(
                [x[:, :, lo:hi] for x in xs], rpe, causal, normalize,
                state=(pieces[-1][1] if pieces else t0,
                       pieces[-1][2] if pieces else z0))]
            check(f"{label} chunk [{lo}, {hi})", out, want[0])
        pieces.append((out, t, z))
    if causal:
        check(f"{label} chunks = one run (rows)",
              np.concatenate([p[0] for p in pieces], axis=2), full[0])
    check(f"{label} chunks = one run (T)", t, full[1])
    check(f"{label} chunks = one run (z)", z, full[2])


# State: prefill in chunks, then one-token steps, against one run.
for name in (n for n in functions if n.startswith("state")):
    _, kind, causal, normalize = name.split("_")
    rpe, causal = kind == "rpe", causal == "1"
    B, L = 2, 150
    xs = inputs(B, L, L, rpe)
    f = m * r if rpe else m
    # A state from "earlier keys" (positive, as theirs would be).
    t0 = normal(g, (B, H, f, e)) * 0.1
    z0 = positive(g, (B, H, f))
    full = [f64(x) for x in reference(xs, rpe, causal, normalize,
                                      state=(t0, z0))]
    for form, library in forms:
        check_chunks(f"{name} ({form})", library, name, xs, t0, z0, full, rpe,
                     causal, normalize)


# Packed sequences with per-sequence states.
cu = [0, 1, 17, 90, 93, 160]
N, L = len(cu) - 1, cu[-1]
for causal, index in itertools.product((False, True), ("i32", "i64")):
    name = f"packed_{int(causal)}_{index}"
    xs = inputs(1, L, L, True)
    t0 = normal(g, (N, H, m * r, e)) * 0.1
    z0 = positive(g, (N, H, m * r))
    want = [f64(x) for x in reference(xs, True, causal, state=(t0, z0),
                                      cu_seqlens=cu)]
    for form, library in forms:
        got = library.run(name, xs + [t0, z0, np.array(cu, dtype=index.replace(
            "i", "int"))], results=3)
        for label, out, expected in zip("oTz", got, want):
            check(f"{name} ({form}) {label} cu_seqlens={cu}", out, expected)

# Padding.
for causal, index in itertools.product((False, True), ("i32", "i64")):
    name = f"lengths_{int(causal)}_{index}"
    for L, S, n in [(70, 70, [70, 3, 0]), (20, 90, [90, 41, 1])]:
        if causal and L != S:
            continue
        xs = inputs(len(n), L, S, True)
        want = f64(reference(xs, True, causal, lengths=n))
        for form, library in forms:
            got = library.run(name, xs + [np.array(n, dtype=index.replace(
                "i", "int"))])[0]
            check(f"{name} ({form}) L={L} S={S} lengths={n}", got, want)
            expect_on_results(f"{name} ({form}) padded rows are zero", not np.any(
                got[1, :, n[1]:]) and not np.any(got[2, :, n[2]:]))


xs = inputs(1, 10, 10, True)
t0, z0 = np.zeros((2, H, m * r, e), np.float32), np.zeros((2, H, m * r),
                                                           np.float32)
for bad in ([0, 4, 4], [1, 4, 10], [0, 7, 4], [0, 4, 11],
            [0, -1, 10]):
    status, err = lib.run_failing("packed_1_i32",
                            xs + [t0, z0, np.array(bad, np.int32)])
    expect(f"cu_seqlens={bad} is one clean error",
           status == 1 and "input contents of 'packed_1_i32' are invalid" in err
           and "cu_seqlens" in err and err.count("\n") == 1,
           repr(err))
xs = inputs(2, 10, 10, True)
for bad in ([3, 11], [-1, 2]):
    status, err = lib.run_failing("lengths_0_i32",
                                  xs + [np.array(bad, np.int32)])
    expect(f"lengths={bad} is one clean error",
           status == 1 and "lengths" in err and err.count("\n") == 1,
           repr(err))
finish()
