# Reverse mode (docs/Semantics.md §4): every @f_vjp that flt-compile
# --gradients builds, run with flt-run, against float64 torch autograd of
# the semantics' formulas (flt.reference_autograd, itself checked by finite
# differences in test/python/reference_autograd.py), per argument, within
# §4's tolerances. feature_map (every kernel, w too), spectral_density
# (both spectra, p = 1 and 3), spectral_features (both weightings, both
# cotangents) and the whole layer flt.attention; dynamic B and L.
# linear_attention: gradients_linear_attention_{plain,rpe}.py;
# position_transform and toeplitz_attention: gradients_position_transform.py
# and gradients_toeplitz_attention.py.
# RUN: %python %s

import itertools

import numpy as np

from flt import reference_autograd as ra
from flt_harness import (Library, finish, func, mixture_theta, normal,
                         positions, positive, rng, sampled, ttype,
                         window_theta)
from gradient_checks import compare

g = rng(7)
H = 2

# -- feature_map ---------------------------------------------------------
B, L, d, m = 2, 7, 8, 6
X = ttype((B, H, L, d), dynamic=(0, 2))
W = ttype((H, m, d))
fm_functions, fm_cases = [], []
for kernel, projected, is_query in sampled([
        ("identity", False, False), ("relu", False, False),
        ("elu_plus_one", False, False), ("relu", True, False),
        ("favor_pos", True, True), ("favor_pos", True, False)]):
    name = f"fm_{kernel}_{'w' if projected else 'x'}_{int(is_query)}"
    out = ttype((B, H, L, m if projected else d), dynamic=(0, 2))
    args = [("x", X)] + ([("w", W)] if projected else [])
    operands = "%x, %w" if projected else "%x"
    types = f"{X}, {W}" if projected else X
    eps = "0.0" if kernel in ("identity",) else "0.01"
    body = [f"%y = flt.feature_map {operands} {{kernel = #flt.kernel<{kernel}>"
            f", eps = {eps} : f32, is_query = {str(is_query).lower()}}} : "
            f"{types} -> {out}"]
    fm_functions.append(func(name, args, body, [("%y", out)]))
    fm_cases.append((name, kernel, projected, is_query, float(eps)))
lib = Library(fm_functions, ["--gradients"])
for name, kernel, projected, is_query, eps in fm_cases:
    x = normal(g, (B, H, L, d))
    # Away from relu's kink: the rule and autograd agree on relu'(0) = 0
    # anyway, but a value within rounding of 0 flips between f32 and f64.
    x = np.where(np.abs(x) < 1e-3, 0.5, x).astype(np.float32)
    inputs = [x] + ([normal(g, (H, m, d))] if projected else [])
    y_shape = (B, H, L, m if projected else d)
    cot = [normal(g, y_shape)]
    compare(name, lib, name, inputs, cot,
            lambda x, w=None: ra.feature_map(x, kernel, w, eps, is_query),
            ["x", "w"][:len(inputs)])

# -- spectral_density and spectral_features --------------------------------
mf = 5
sp_functions, sp_cases = [], []
for spectrum, p in sampled(itertools.product(
        ("gaussian_mixture", "local_window"), (1, 3))):
    P = (p + 2) * 2 if spectrum == "gaussian_mixture" else 2
    T, XI, RHO = ttype((H, P)), ttype((H, mf, p)), ttype((H, mf))
    name = f"density_{spectrum}_{p}"
    sp_functions.append(func(
        name, [("theta", T), ("xi", XI)],
        [f"%rho = flt.spectral_density %theta, %xi {{spectrum = "
         f"#flt.spectrum<{spectrum}>}} : {T}, {XI} -> {RHO}"],
        [("%rho", RHO)]))
    sp_cases.append(("density", name, spectrum, p, P))
for weighting, p in sampled(itertools.product(("query_side", "both_sides"),
                                             (1, 3))):
    R, XI, RHO = ttype((B, L, p), dynamic=(0, 1)), ttype((H, mf, p)), \
        ttype((H, mf))
    PHI = ttype((B, H, L, 2 * mf), dynamic=(0, 2))
    name = f"features_{weighting}_{p}"
    sp_functions.append(func(
        name, [("r", R), ("xi", XI), ("rho", RHO)],
        [f"%phi, %psi = flt.spectral_features %r, %xi, %rho {{weighting = "
         f"#flt.weighting<{weighting}>}} : {R}, {XI}, {RHO} -> {PHI}, {PHI}"],
        [("%phi", PHI), ("%psi", PHI)]))
    sp_cases.append(("features", name, weighting, p, None))
lib = Library(sp_functions, ["--gradients"])
for kind, name, variant, p, P in sp_cases:
    xi = normal(g, (H, mf, p))
    if kind == "density":
        K = 2
        theta = mixture_theta(g, H, p, K) if variant == "gaussian_mixture" \
            else window_theta(g, H)
        compare(name, lib, name, [theta, xi], [normal(g, (H, mf))],
                lambda t, x: ra.spectral_density(t, x, variant),
                ["theta", "xi"])
    else:
        r = positions(g, B, L, p)
        rho = positive(g, (H, mf))
        cots = [normal(g, (B, H, L, 2 * mf)), normal(g, (B, H, L, 2 * mf))]
        compare(name, lib, name, [r, xi, rho], cots,
                lambda r_, x_, rho_: ra.spectral_features(r_, x_, rho_,
                                                          variant),
                ["r", "xi", "rho"])

# -- flt.attention: the whole layer, through its parts -----------------------
layer_functions, layer_cases = [], []
for kernel, spectrum, p, causal in sampled([
        ("relu", "gaussian_mixture", 1, False),
        ("favor_pos", "gaussian_mixture", 3, True),
        ("elu_plus_one", "local_window", 1, True)]):
    d, mfl = 8, 4
    P = (p + 2) if spectrum == "gaussian_mixture" else 2
    Q = ttype((1, H, 1, d), dynamic=(0, 2))
    R = ttype((1, 1, p), dynamic=(0, 1))
    XI, T, W = ttype((H, mfl, p)), ttype((H, P)), ttype((H, 6, d))
    args = [("q", Q), ("k", Q), ("v", Q), ("r", R), ("xi", XI), ("theta", T)]
    operands, types = "%q, %k, %v, %r, %xi, %theta", \
        f"{Q}, {Q}, {Q}, {R}, {XI}, {T}"
    if kernel == "favor_pos":
        args.append(("w", W))
        operands += " proj(%w)"
        types += f", {W}"
    name = f"layer_{kernel}_{p}_{int(causal)}"
    body = [f"%o = flt.attention {operands} {{kernel = #flt.kernel<{kernel}>,"
            f" spectrum = #flt.spectrum<{spectrum}>, causal = "
            f"{str(causal).lower()}}} : {types} -> {Q}"]
    layer_functions.append(func(name, args, body, [("%o", Q)]))
    layer_cases.append((name, kernel, spectrum, p, causal, d, mfl, P))
lib = Library(layer_functions, ["--gradients"])
for name, kernel, spectrum, p, causal, d, mfl, P in layer_cases:
    Bq, Lq = 1, 33
    q, k, v = (normal(g, (Bq, H, Lq, d)) for _ in range(3))
    r = positions(g, Bq, Lq, p)
    xi = normal(g, (H, mfl, p))
    theta = mixture_theta(g, H, p, 1) if spectrum == "gaussian_mixture" \
        else window_theta(g, H)
    inputs = [q, k, v, r, xi, theta]
    names = ["q", "k", "v", "r", "xi", "theta"]
    if kernel == "favor_pos":
        inputs.append(normal(g, (H, 6, d)))
        names.append("w")
    cot = [normal(g, (Bq, H, Lq, d))]

    def layer(q, k, v, r, xi, theta, w=None):
        return ra.attention(q, k, v, r, xi, theta, kernel, spectrum, w=w,
                            causal=causal)
    compare(name, lib, name, inputs, cot, layer, names)

finish()
