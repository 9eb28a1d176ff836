# The compatibility forms (docs/Compatibility.md, docs/Semantics.md 2.1,
# 2.2, 2.5, 2.6, 2.8), compiled and run, each against the float64 reference
# of its formula (flt.reference): flt.attention with rpe_form concat (FAVOR+
# with the global key stabilizer, relu with and without a projection; p = 1
# and 3; causal and not; the official density), flt.feature_map's global
# key stabilizer, flt.spectral_density's density, flt.kernel_attention's
# fourier_form amplitude_eps (d = 64 with R = 1, where eps dominates, and
# R = 2, where s itself is ~2^256), flt.position_transform's rotary_dims,
# odd_even_inverse, mix_eps and permutation core (with its run-time table
# check). Each case also checks that the form is not the default one on
# its inputs (so that the comparison could fail). Dynamic B and L.
# RUN: %python %s

import numpy as np

from flt import reference
from flt_harness import (RESULTS_CHECKED, Library, check, expect, finish,
                         func, mixture_theta, normal, positions, rng,
                         sampled, sensitivity, ttype)

g = rng(25)
H = 2


def differs(label, a, b, at_least=1e-2):
    """The compatibility form is not the default spelling on these inputs."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    gap = np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)
    expect(f"{label} differs from the default form", gap >= at_least,
           f"(relative gap {gap:.1e})")


# -- flt.attention, rpe_form concat -----------------------------------------
d, e, m_f, K, m = 16, 8, 8, 2, 24
layer_cases = [
    # name, kernel, p, causal, projection, eps
    ("concat_favor_p1", "favor_pos", 1, False, True, 1e-6),
    ("concat_favor_p1_causal", "favor_pos", 1, True, True, 1e-6),
    ("concat_favor_p3", "favor_pos", 3, False, True, 1e-6),
    ("concat_favor_p3_causal", "favor_pos", 3, True, True, 1e-6),
    ("concat_relu_p1", "relu", 1, False, False, 1e-6),
    ("concat_relu_p3_causal", "relu", 3, True, False, 1e-6),
    ("concat_relu_proj_p3", "relu", 3, False, True, 1e-3),
    ("concat_relu_proj_p1_causal", "relu", 1, True, True, 1e-3),
]
layer_cases = sampled(layer_cases)
functions = []
for name, kernel, p, causal, proj, eps in layer_cases:
    Q = ttype((1, H, 1, d), dynamic=(0, 2))
    V = ttype((1, H, 1, e), dynamic=(0, 2))
    R = ttype((1, 1, p), dynamic=(0, 1))
    XI, TH = ttype((H, m_f, p)), ttype((H, (p + 2) * K))
    W = ttype((H, m, d + 2 * m_f))
    args = [("q", Q), ("k", Q), ("v", V), ("r", R), ("xi", XI), ("th", TH)]
    operands = "%q, %k, %v, %r, %xi, %th"
    types = f"{Q}, {Q}, {V}, {R}, {XI}, {TH}"
    if proj:
        args.append(("w", W))
        operands += " proj(%w)"
        types += f", {W}"
    stabilizer = (", key_stabilizer = #flt.key_stabilizer<global>"
                  if kernel == "favor_pos" else "")
    attrs = (f"{{kernel = #flt.kernel<{kernel}>, spectrum = "
             f"#flt.spectrum<gaussian_mixture>, rpe_form = "
             f"#flt.rpe_form<concat>, weighting = #flt.weighting<both_sides>,"
             f" density = #flt.density<normal_1d_constant>{stabilizer}, "
             f"eps = {eps:e} : f32, causal = {str(causal).lower()}}}")
    functions.append(func(
        name, args, [f"%o = flt.attention {operands} {attrs} : {types} -> {V}"],
        [("%o", V)]))
lib = Library(functions)
for name, kernel, p, causal, proj, eps in layer_cases:
    for B, L in ((1, 1), (2, 7), (1, 129), (1, 1000)):
        q, k = normal(g, (B, H, L, d)), normal(g, (B, H, L, d))
        v = normal(g, (B, H, L, e))
        r, xi = positions(g, B, L, p), normal(g, (H, m_f, p))
        theta = mixture_theta(g, H, p, K)
        w = normal(g, (H, m, d + 2 * m_f)) if proj else None
        kw = dict(eps=eps, weighting="both_sides", causal=causal,
                  rpe_form="concat", density="normal_1d_constant",
                  key_stabilizer="global" if kernel == "favor_pos"
                  else "per_head")

        def exact(q, k, v, r, xi, theta, w):
            return reference.attention(q, k, v, r, xi, theta, kernel,
                                       "gaussian_mixture", w, **kw)
        moved = sensitivity(exact, [q, k, v, r, xi, theta, w])
        expect(f"{name} B={B} L={L} is well conditioned", moved < 1e-4,
               f"(1e-6 input noise moves the result by {moved:.1e})")
        want = exact(q, k, v, r, xi, theta, w)
        inputs = [q, k, v, r, xi, theta] + ([w] if proj else [])
        check(f"{name} B={B} L={L}", lib.run(name, inputs)[0], want)
        if L == 129 and B == 1:
            mask_w = w[:, :, :d] if proj else None
            differs(name, want, reference.attention(
                q, k, v, r, xi, theta, kernel, "gaussian_mixture", mask_w,
                eps=eps, causal=causal))

# -- feature_map: the global key stabilizer; spectral_density: the density ---
B, L, mw = 2, 37, 12
X, W = ttype((B, H, L, d), dynamic=(0, 2)), ttype((H, mw, d))
FX = ttype((B, H, L, mw), dynamic=(0, 2))
functions = [func("keys_global", [("x", X), ("w", W)], [
    f"%f = flt.feature_map %x, %w {{kernel = #flt.kernel<favor_pos>, eps = "
    f"1.0e-3 : f32, key_stabilizer = #flt.key_stabilizer<global>}} : {X}, "
    f"{W} -> {FX}"], [("%f", FX)])]
for p in (1, 3):
    T, XI, RHO = ttype((H, (p + 2) * K)), ttype((H, m_f, p)), ttype((H, m_f))
    functions.append(func(f"density_{p}", [("t", T), ("xi", XI)], [
        f"%rho = flt.spectral_density %t, %xi {{spectrum = "
        f"#flt.spectrum<gaussian_mixture>, density = "
        f"#flt.density<normal_1d_constant>}} : {T}, {XI} -> {RHO}"],
        [("%rho", RHO)]))
lib = Library(functions)
# Heads with different scales, so that the per-head and global maxima differ.
x = normal(g, (B, H, L, d)) * np.array([1.0, 3.0], np.float32)[None, :, None,
                                                              None]
w = normal(g, (H, mw, d))
want = reference.feature_map(x, "favor_pos", w, 1e-3, key_stabilizer="global")
check("feature_map key_stabilizer global", lib.run("keys_global", [x, w])[0],
      want)
differs("feature_map key_stabilizer global", want,
        reference.feature_map(x, "favor_pos", w, 1e-3))
for p in (1, 3):
    theta, xi = mixture_theta(g, H, p, K), normal(g, (H, m_f, p))
    want = reference.spectral_density(theta, xi, "gaussian_mixture",
                                      "normal_1d_constant")
    check(f"spectral_density normal_1d_constant p={p}",
          lib.run(f"density_{p}", [theta, xi])[0], want)
    if p == 3:
        differs("spectral_density normal_1d_constant p=3", want,
                reference.spectral_density(theta, xi, "gaussian_mixture"))

# -- kernel_attention, fourier_form amplitude_eps ----------------------------
dq, ev = 64, 16
fourier_cases = [
    # name, causal, eps, with a bias
    ("fourier_code", False, 1e-6, False),
    ("fourier_code_causal", True, 1e-6, False),
    ("fourier_code_bias", False, 1e-6, True),
    ("fourier_code_eps0", True, 0.0, False),
]
fourier_cases = sampled(fourier_cases)
functions = []
for name, causal, eps, bias in fourier_cases:
    Q = ttype((1, H, 1, dq), dynamic=(0, 2))
    V = ttype((1, H, 1, ev), dynamic=(0, 2))
    RR, BB = ttype((H, dq)), ttype((H, 1), dynamic=(1,))
    args = [("q", Q), ("k", Q), ("v", V), ("R", RR)]
    groups, types = " scale(%R)", f"{Q}, {Q}, {V}, {RR}"
    if bias:
        args.append(("b", BB))
        groups += " bias(%b)"
        types += f", {BB}"
    body = [f"%o = flt.kernel_attention %q, %k, %v{groups} {{kernel = "
            f"#flt.pair_kernel<fourier_integral>, fourier_form = "
            f"#flt.fourier_form<amplitude_eps>, eps = {eps:e} : f32, "
            f"causal = {str(causal).lower()}}} : {types} -> {V}"]
    functions.append(func(name, args, body, [("%o", V)]))
lib = Library(functions)
regimes = [
    # R, q/k scale. R = 1 at 0.7 N(0, 1): the 1e-6 dominates the row sums
    # (|out| ~1e-17..1e-3, where the normalized form gives O(1));
    # R = 2 near (0.05 N(0, 1)): s itself ~2^256 (the official f32 code's
    # NaN), eps negligible; R per head. (At N(0, 1) inputs a single key's
    # s falls below f32's range, 1e-45, and one ulp of q - k moves the
    # result by up to 4e-4: no f32 result can match there, so those
    # inputs are not used; the conditioning is checked for each case.)
    ("R=1", 1.0, 0.7), ("R=2 near", 2.0, 0.05), ("R per head", None, 0.3),
]
for name, causal, eps, bias in fourier_cases:
    for label, Rv, scale in regimes:
        for B, L in ((1, 1), (2, 7), (1, 129)):
            q = normal(g, (B, H, L, dq)) * scale
            k = normal(g, (B, H, L, dq)) * scale
            v = normal(g, (B, H, L, ev))
            R = (np.full((H, dq), Rv, np.float32) if Rv is not None else
                 np.array([[0.8], [2.5]], np.float32) * np.ones((1, dq),
                                                                np.float32))
            b = (0.5 * normal(g, (H, 2 * L - 1))).astype(np.float32)
            inputs = [q, k, v, R] + ([b] if bias else [])
            def exact(q, k, v, R):
                return reference.kernel_attention(
                    q, k, v, "fourier_integral", scale=R,
                    bias=b if bias else None, causal=causal, eps=eps,
                    fourier_form="amplitude_eps")
            moved = sensitivity(exact, [q, k, v, R], noise=6e-8)
            expect(f"{name} {label} B={B} L={L} is well conditioned",
                   moved < 2e-5,
                   f"(one f32 ulp of input noise moves it by {moved:.1e})")
            want = exact(q, k, v, R)
            out = lib.run(name, inputs)[0]
            check(f"{name} {label} B={B} L={L}", out, want)
            if eps > 0 and L == 129 and label == "R=1":
                differs(f"{name} {label}", want, reference.kernel_attention(
                    q, k, v, "fourier_integral", scale=R,
                    bias=b if bias else None, causal=causal),
                    at_least=1e-3)

# -- position_transform: rotary_dims, odd_even_inverse, mix_eps, permutation --
P_rows = 300
pt_cases = [
    # name, d, attrs, theta kind
    ("odd_d", 9, "core = #flt.lrpe_core<rotary>, rotary_dims = 8", "angles"),
    ("mixed", 16, "core = #flt.lrpe_core<rotary>, rotary_dims = 8", "angles"),
    ("mixed_halves", 16, "core = #flt.lrpe_core<rotary>, rotary_dims = 8, "
     "pairing = #flt.pairing<halves>", "angles"),
    ("odd_even_inverse_odd", 9, "core = #flt.lrpe_core<rotary>, rotary_dims "
     "= 8, mix = #flt.lrpe_mix<odd_even_inverse>", "angles"),
    ("odd_even_inverse", 8, "core = #flt.lrpe_core<complex>, mix = "
     "#flt.lrpe_mix<odd_even_inverse>", "complex"),
    ("householder_eps", 9, "core = #flt.lrpe_core<rotary>, rotary_dims = 8, "
     "mix = #flt.lrpe_mix<householder>, mix_eps = 1.0e-1 : f32", "angles"),
    ("permutation", 8, "core = #flt.lrpe_core<permutation>", "i32"),
    ("permutation_offset", 9, "core = #flt.lrpe_core<permutation>, offset = "
     "3, mix = #flt.lrpe_mix<odd_even_inverse>", "i64"),
]
pt_cases = sampled(pt_cases)
functions = []
for name, dd, attrs, kind in pt_cases:
    X = ttype((1, H, 1, dd), dynamic=(0, 2))
    out_d = 2 * dd if kind == "complex" else dd
    Y = ttype((1, H, 1, out_d), dynamic=(0, 2))
    if kind in ("i32", "i64"):
        T = ttype((H, P_rows, dd), kind, dynamic=(1,))
    elif kind == "complex":
        T = ttype((H, dd))
    else:
        T = ttype((H, 4))
    args, groups, types = [("x", X), ("t", T)], "", f"{X}, {T}"
    if "householder" in attrs:
        HV = ttype((H, dd))
        args.append(("hv", HV))
        groups, types = " mix(%hv)", f"{X}, {T}, {HV}"
    functions.append(func(name, args, [
        f"%y = flt.position_transform %x, %t{groups} {{{attrs}}} : {types} "
        f"-> {Y}"], [("%y", Y)]))
lib = Library(functions)


def permutation_table(dd, rows):
    """[H, rows, dd]: row s is pi^s for a random pi per head (the official
    buffer's construction)."""
    out = np.empty((H, rows, dd), np.int64)
    for h in range(H):
        pi = g.permutation(dd)
        row = np.arange(dd)
        for s in range(rows):
            out[h, s] = row
            row = row[pi]
    return out


for name, dd, attrs, kind in pt_cases:
    for B, L in ((1, 1), (2, 7), (1, 129)):
        x = normal(g, (B, H, L, dd))
        kw = {}
        if kind in ("i32", "i64"):
            theta = permutation_table(dd, P_rows).astype(
                np.int32 if kind == "i32" else np.int64)
            core = "permutation"
        else:
            theta = (g.uniform(0, 1, (H, dd if kind == "complex" else 4))
                     .astype(np.float32))
            core = "complex" if kind == "complex" else "rotary"
        inputs = [x, theta]
        if "rotary_dims" in attrs:
            kw["rotary_dims"] = 8
        if "halves" in attrs:
            kw["pairing"] = "halves"
        if "odd_even_inverse" in attrs:
            kw["mix"] = "odd_even_inverse"
        if "offset" in attrs:
            kw["offset"] = 3
        if "householder" in attrs:
            hv = normal(g, (H, dd)) * 0.5
            inputs.append(hv)
            kw.update(mix="householder", mix_vector=hv, mix_eps=0.1)
        want = reference.position_transform(x, theta, core, **kw)
        check(f"position_transform {name} B={B} L={L}",
              lib.run(name, inputs)[0], want)
        if L == 129 and kind not in ("i32", "i64"):
            if "rotary_dims" in kw:   # the spec's form on all d features
                plain = dict(kw, rotary_dims=0)
                if dd % 2 == 0:
                    differs(f"position_transform {name}", want,
                            reference.position_transform(
                                x, np.concatenate([theta, theta], 1), core,
                                **plain))
            if kw.get("mix") == "odd_even_inverse":
                differs(f"position_transform {name} mix", want,
                        reference.position_transform(
                            x, theta, core, **dict(kw, mix="odd_even")))
            if "mix_eps" in kw:
                differs(f"position_transform {name} mix_eps", want,
                        reference.position_transform(
                            x, theta, core, **dict(kw, mix_eps=0.0)))

# The table needs a row for every position: checked before the kernel runs.
x = normal(g, (1, H, 8, 8))
short = permutation_table(8, 5).astype(np.int32)
try:
    lib.run("permutation", [x, short])
    expect_failed = False
except RuntimeError as error:
    expect_failed = "at least" in str(error)
    print(str(error).strip().splitlines()[-1])
expect("permutation table shorter than L is refused at run time",
       expect_failed)
finish()
