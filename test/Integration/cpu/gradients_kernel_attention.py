# Reverse mode of flt.kernel_attention (docs/Semantics.md 2.5, §4, §5):
# softmax (FlashAttention-style: scores recomputed tile by tile from each
# row's log-sum-exp) with and without a Toeplitz bias b, causal and not,
# S != L, grouped key/value heads, f16 and bf16 activations, an rpe mask,
# lengths and packed sequences; fourier_integral (log domain: R, power,
# bias, rpe, a row of exact-zero scores, d = 64 where every score underflows
# f32, and FourierFormer's amplitude_eps form); dot with rpe
# (flt.linear_attention's rule). L = 1, 7, 130
# and one case at 1000 (several 64-token tiles, a partial last one); every
# gradient (dq, dk, dv, db, dphi, dpsi) against float64 torch autograd of the
# formula (flt.reference_autograd).
# RUN: %python %s

import numpy as np

from flt import reference_autograd as ra
from flt_harness import (Library, finish, func, normal, positive, rng,
                         rounded, sampled, ttype)
from gradient_checks import compare

H, d, e, r = 2, 6, 5, 3


def softmax(name, causal, bias, kv_heads=H, dtype="f32", temperature=None):
    Q = ttype((1, H, 1, d), dtype, dynamic=(0, 2))
    K = ttype((1, kv_heads, 1, d), dtype, dynamic=(0, 2))
    V = ttype((1, kv_heads, 1, e), dtype, dynamic=(0, 2))
    O = ttype((1, H, 1, e), dtype, dynamic=(0, 2))
    BT = ttype((H, 1), dynamic=(1,))
    args = [("q", Q), ("k", K), ("v", V)] + ([("b", BT)] if bias else [])
    attrs = [f"causal = {str(causal).lower()}"]
    if temperature is not None:
        attrs.append(f"temperature = {temperature:.6e} : f32")
    group = " bias(%b)" if bias else ""
    types = f"{Q}, {K}, {V}" + (f", {BT}" if bias else "")
    return func(name, args,
                [f"%o = flt.kernel_attention %q, %k, %v{group} "
                 f"{{{', '.join(attrs)}}} : {types} -> {O}"], [("%o", O)])


def served(name, causal, rpe, table):
    """softmax with a bias and rpe(phi, psi), lengths(%n) or packed(%cu)."""
    Q = ttype((1, H, 1, d), dynamic=(0, 2))
    V = ttype((1, H, 1, e), dynamic=(0, 2))
    P = ttype((1, H, 1, r), dynamic=(0, 2))
    BT = ttype((H, 1), dynamic=(1,))
    N = ttype((1,), "i32", dynamic=(0,))
    args = [("q", Q), ("k", Q), ("v", V), ("b", BT)]
    groups, types = " bias(%b)", [Q, Q, V, BT]
    if rpe:
        args += [("phi", P), ("psi", P)]
        groups += " rpe(%phi, %psi)"
        types += [P, P]
    if table:
        args.append(("n", N))
        groups += " packed(%n)" if table == "packed" else " lengths(%n)"
        types.append(N)
    return func(name, args,
                [f"%o = flt.kernel_attention %q, %k, %v{groups} {{causal = "
                 f"{str(causal).lower()}}} : {', '.join(types)} -> {V}"],
                [("%o", V)])


def fourier(name, dim, causal, bias, power, rpe, amplitude=False):
    """fourier_integral with scale(R) [H, dim]; `amplitude`: FourierFormer's
    code form (fourier_form = amplitude_eps, eps = 1e-3)."""
    Q = ttype((1, H, 1, dim), dynamic=(0, 2))
    V = ttype((1, H, 1, e), dynamic=(0, 2))
    RT = ttype((H, dim))
    BT = ttype((H, 1), dynamic=(1,))
    P = ttype((1, H, 1, r), dynamic=(0, 2))
    args, groups, types = [("q", Q), ("k", Q), ("v", V), ("R", RT)], \
        " scale(%R)", [Q, Q, V, RT]
    if bias:
        args.append(("b", BT))
        groups += " bias(%b)"
        types.append(BT)
    if rpe:
        args += [("phi", P), ("psi", P)]
        groups += " rpe(%phi, %psi)"
        types += [P, P]
    return func(name, args,
                [f"%o = flt.kernel_attention %q, %k, %v{groups} {{kernel = "
                 f"#flt.pair_kernel<fourier_integral>, power = {power} : i64, "
                 + ("fourier_form = #flt.fourier_form<amplitude_eps>, eps = "
                    "1.0e-03 : f32, " if amplitude else "") +
                 f"causal = {str(causal).lower()}}} : {', '.join(types)} -> "
                 f"{V}"], [("%o", V)])


def dot(name, causal):
    Q = ttype((1, H, 1, d), dynamic=(0, 2))
    V = ttype((1, H, 1, e), dynamic=(0, 2))
    P = ttype((1, H, 1, r), dynamic=(0, 2))
    return func(name, [("q", Q), ("k", Q), ("v", V), ("phi", P), ("psi", P)],
                [f"%o = flt.kernel_attention %q, %k, %v rpe(%phi, %psi) "
                 f"{{kernel = #flt.pair_kernel<dot>, eps = 1.0e-3 : f32, "
                 f"causal = {str(causal).lower()}}} : {Q}, {Q}, {V}, {P}, "
                 f"{P} -> {V}"],
                [("%o", V)])


cases = sampled([
    ("plain", False, False, H, "f32", None),
    ("causal", True, False, H, "f32", None),
    ("bias", False, True, H, "f32", 0.7),
    ("causal_bias", True, True, H, "f32", None),
    ("grouped_causal_bias", True, True, 1, "f32", None),
    ("half_bias", False, True, H, "f16", None),
    ("bf16_causal_bias", True, True, H, "bf16", None),
])
dots = sampled([("dot", False), ("dot_causal", True)])
serving = sampled([("rpe", False, True, None), ("rpe_causal", True, True, None),
                   ("lengths", False, False, "lengths"),
                   ("lengths_causal_rpe", True, True, "lengths"),
                   ("packed", False, False, "packed"),
                   ("packed_causal", True, False, "packed")])
fouriers = sampled([("fourier", 6, False, False, 4, False),
                    ("fourier_causal_bias_p2", 6, True, True, 2, False),
                    ("fourier_rpe", 6, False, False, 4, True),
                    ("fourier_d64", 64, False, True, 4, False),
                    ("fourier_amplitude", 6, False, False, 2, False, True),
                    ("fourier_amplitude_causal_bias", 6, True, True, 4, False,
                     True)])
lib = Library([softmax(*c) for c in cases] + [dot(*c) for c in dots] +
              [served(*c) for c in serving] + [fourier(*c) for c in fouriers],
              ["--gradients"])
g = rng(41)
for name, causal, bias, kv, dtype, temperature in cases:
    shapes = [(1, 1, 1), (2, 7, 7), (1, 130, 130)]
    if not causal:
        shapes.append((2, 9, 70))  # S != L
    if name == "causal_bias":
        shapes.append((1, 1000, 1000))
    for B, L, S in shapes:
        q = normal(g, (B, H, L, d))
        k, v = normal(g, (B, kv, S, d)), normal(g, (B, kv, S, e))
        cot = normal(g, (B, H, L, e))
        inputs, names = [q, k, v], ["q", "k", "v"]
        if bias:
            inputs.append((0.5 * g.standard_normal((H, L + S - 1))).astype(
                np.float32))
            names.append("b")
        if dtype in ("f16", "bf16"):
            q, k, v, cot = (rounded(x, dtype) for x in (q, k, v, cot))
            inputs[:3] = [q, k, v]

        def fn(*x, causal=causal, bias=bias, temperature=temperature):
            return ra.kernel_attention(x[0], x[1], x[2], "softmax",
                                       bias=x[3] if bias else None,
                                       causal=causal, temperature=temperature)
        # docs/Semantics.md §4: with f16/bf16 inputs every gradient gets
        # their tolerance (db too: it is f32 but reads the half-precision
        # output).
        compare(f"{name} B={B} L={L} S={S}", lib, name, inputs, [cot], fn,
                names, dtypes=[dtype] * len(inputs))
for name, causal, rpe, table in serving:
    shapes = [(1, 7), (1, 130)] if table == "packed" else \
        [(2, 7), (2, 9), (1, 130)]
    for B, L in shapes:
        q, k = normal(g, (B, H, L, d)), normal(g, (B, H, L, d))
        v, cot = normal(g, (B, H, L, e)), normal(g, (B, H, L, e))
        b = (0.5 * g.standard_normal((H, 2 * L - 1))).astype(np.float32)
        inputs, names = [q, k, v, b], ["q", "k", "v", "b"]
        if rpe:
            # A positive mask (docs/Semantics.md 2.5).
            inputs += [positive(g, (B, H, L, r)), positive(g, (B, H, L, r))]
            names += ["phi", "psi"]
        kw = {}
        if table == "lengths":
            # Full and short sequences, and an empty one (its rows are 0).
            n = np.array({7: [7, 3], 9: [0, 9]}.get(L, [L // 2]), np.int32)
            inputs.append(n)
            names.append(None)
            kw["lengths"] = n
        elif table == "packed":
            n = np.array([0, 3, L] if L > 3 else [0, L], np.int32)
            if L == 130:
                n = np.array([0, 5, 64, 70, 130], np.int32)
            inputs.append(n)
            names.append(None)
            kw["cu_seqlens"] = n

        def fn(*x, causal=causal, rpe=rpe, kw=kw):
            phi, psi = (x[4], x[5]) if rpe else (None, None)
            return ra.kernel_attention(x[0], x[1], x[2], "softmax", bias=x[3],
                                       phi=phi, psi=psi, causal=causal, **kw)
        differentiable = [x for x, name in zip(inputs, names) if name]
        compare(f"{name} B={B} L={L}", lib, name, inputs, [cot],
                lambda *x, fn=fn, n=len(differentiable): fn(*x[:n]), names)
for name, dim, causal, bias, power, rpe, *amplitude in fouriers:
    amplitude = bool(amplitude and amplitude[0])
    # fourier_d64: with R = 1 and d = 64 each score is about exp(-90), far
    # below f32's smallest normal: the log domain keeps forward and backward
    # finite. fourier_rpe: query row 2 has phi = 0, so every score of it is
    # exactly 0 (the row and its gradients are 0).
    shapes = [(1, 300, 300)] if dim == 64 else \
        [(1, 1, 1), (2, 7, 7), (1, 130, 130)] + \
        ([] if causal else [(2, 9, 70)])
    for B, L, S in shapes:
        q, k = normal(g, (B, H, L, dim)), normal(g, (B, H, S, dim))
        v, cot = normal(g, (B, H, S, e)), normal(g, (B, H, L, e))
        R = (np.ones((H, dim)) if dim == 64 else
             g.uniform(0.3, 1.5, (H, dim))).astype(np.float32)
        inputs, names = [q, k, v, R], ["q", "k", "v", "R"]
        if bias:
            inputs.append((0.5 * g.standard_normal((H, L + S - 1))).astype(
                np.float32))
            names.append("b")
        if rpe:
            phi = positive(g, (B, H, L, r))
            if L > 2:
                phi[:, :, 2] = 0.0
            inputs += [phi, positive(g, (B, H, S, r))]
            names += ["phi", "psi"]

        def fn(*x, causal=causal, bias=bias, rpe=rpe, power=power,
               amplitude=amplitude):
            rest = list(x[4:])
            b = rest.pop(0) if bias else None
            phi, psi = (rest[0], rest[1]) if rpe else (None, None)
            form = "amplitude_eps" if amplitude else "normalized"
            return ra.kernel_attention(x[0], x[1], x[2], "fourier_integral",
                                       scale=x[3], bias=b, phi=phi, psi=psi,
                                       causal=causal, power=power,
                                       eps=1e-3 if amplitude else 1e-6,
                                       fourier_form=form)
        compare(f"{name} B={B} L={L} S={S}", lib, name, inputs, [cot], fn,
                names)
for name, causal in dots:
    for B, L in [(1, 1), (2, 7), (1, 130)]:
        q, k = normal(g, (B, H, L, d)), normal(g, (B, H, L, d))
        v = normal(g, (B, H, L, e))
        phi, psi = positive(g, (B, H, L, r)), positive(g, (B, H, L, r))
        # Positive scores keep the normalizer away from zero; with one key
        # the result is v up to eps, and eps = 1e-3 with small features
        # keeps eps's part (all there is of the gradient) well conditioned,
        # as gradient_checks.linear_attention_cases does.
        scale = 0.1 if L == 1 else 1.0
        q, k = scale * np.abs(q), scale * np.abs(k)
        phi, psi = scale * phi, scale * psi
        cot = normal(g, (B, H, L, e))

        def fn(q, k, v, phi, psi, causal=causal):
            return ra.kernel_attention(q, k, v, "dot", phi=phi, psi=psi,
                                       causal=causal, eps=1e-3)
        compare(f"{name} B={B} L={L}", lib, name, [q, k, v, phi, psi], [cot],
                fn, ["q", "k", "v", "phi", "psi"])
finish()
