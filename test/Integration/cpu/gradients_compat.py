# Reverse mode of the compatibility forms (docs/Semantics.md §4,
# docs/Compatibility.md): @f_vjp from flt-compile --gradients against
# float64 torch autograd of the formulas (flt.reference_autograd), per
# argument, within §4's tolerances: flt.attention with rpe_form concat
# (differentiated through its decomposition: tensor.concat and linalg.mul
# have rules) for FAVOR+ with the global key stabilizer and relu, p = 1 and
# 3, causal and not, the official density; flt.feature_map's global key
# stabilizer; flt.spectral_density's density. Dynamic B and L.
# RUN: %python %s

import numpy as np

from flt import reference_autograd as ra
from flt_harness import (Library, finish, func, mixture_theta, normal,
                         positions, rng, sampled, ttype)
from gradient_checks import compare

g = rng(26)
H, d, e, mf = 2, 8, 5, 4

# -- flt.attention, rpe_form concat -----------------------------------------
cases = [("favor_p1", "favor_pos", 1, False), ("favor_p3_causal",
                                                 "favor_pos", 3, True),
         ("relu_p1_causal", "relu", 1, True), ("relu_p3", "relu", 3, False)]
functions = []
cases = sampled(cases)
for name, kernel, p, causal in cases:
    Q = ttype((1, H, 1, d), dynamic=(0, 2))
    V = ttype((1, H, 1, e), dynamic=(0, 2))
    R = ttype((1, 1, p), dynamic=(0, 1))
    XI, T, W = ttype((H, mf, p)), ttype((H, 2 * (p + 2))), \
        ttype((H, 6, d + 2 * mf))
    args = [("q", Q), ("k", Q), ("v", V), ("r", R), ("xi", XI), ("theta", T)]
    operands = "%q, %k, %v, %r, %xi, %theta"
    types = f"{Q}, {Q}, {V}, {R}, {XI}, {T}"
    extra = ""
    if kernel == "favor_pos":
        args.append(("w", W))
        operands += " proj(%w)"
        types += f", {W}"
        extra = ", key_stabilizer = #flt.key_stabilizer<global>"
    body = [f"%o = flt.attention {operands} {{kernel = #flt.kernel<{kernel}>,"
            f" spectrum = #flt.spectrum<gaussian_mixture>, rpe_form = "
            f"#flt.rpe_form<concat>, weighting = #flt.weighting<both_sides>, "
            f"density = #flt.density<normal_1d_constant>{extra}, eps = "
            f"1.0e-3 : f32, causal = {str(causal).lower()}}} : {types} -> {V}"]
    functions.append(func(name, args, body, [("%o", V)]))
lib = Library(functions, ["--gradients"])
for name, kernel, p, causal in cases:
    for B, L in ((1, 9), (2, 33)):
        q, k = normal(g, (B, H, L, d)), normal(g, (B, H, L, d))
        v = normal(g, (B, H, L, e))
        r, xi = positions(g, B, L, p), normal(g, (H, mf, p))
        theta = mixture_theta(g, H, p, 2)
        inputs = [q, k, v, r, xi, theta]
        names = ["q", "k", "v", "r", "xi", "theta"]
        if kernel == "favor_pos":
            inputs.append(normal(g, (H, 6, d + 2 * mf)))
            names.append("w")
        cot = [normal(g, (B, H, L, e))]

        def layer(q, k, v, r, xi, theta, w=None):
            return ra.attention(
                q, k, v, r, xi, theta, kernel, "gaussian_mixture", w=w,
                eps=1e-3, weighting="both_sides", causal=causal,
                rpe_form="concat", density="normal_1d_constant",
                key_stabilizer="global" if kernel == "favor_pos"
                else "per_head")
        compare(f"{name} B={B} L={L}", lib, name, inputs, cot, layer, names)

# -- feature_map key_stabilizer global; spectral_density density -------------
B, L, m = 2, 7, 6
X, W, F = ttype((B, H, L, d), dynamic=(0, 2)), ttype((H, m, d)), \
    ttype((B, H, L, m), dynamic=(0, 2))
T, XI, RHO = ttype((H, 5 * 2)), ttype((H, mf, 3)), ttype((H, mf))
lib = Library([
    func("keys_global", [("x", X), ("w", W)], [
        f"%f = flt.feature_map %x, %w {{kernel = #flt.kernel<favor_pos>, "
        f"eps = 1.0e-2 : f32, key_stabilizer = #flt.key_stabilizer<global>}}"
        f" : {X}, {W} -> {F}"], [("%f", F)]),
    func("density", [("t", T), ("xi", XI)], [
        f"%rho = flt.spectral_density %t, %xi {{spectrum = "
        f"#flt.spectrum<gaussian_mixture>, density = "
        f"#flt.density<normal_1d_constant>}} : {T}, {XI} -> {RHO}"],
        [("%rho", RHO)]),
], ["--gradients"])
x = normal(g, (B, H, L, d)) * np.array([1.0, 2.0], np.float32)[None, :, None,
                                                              None]
compare("feature_map key_stabilizer global", lib, "keys_global",
        [x, normal(g, (H, m, d))], [normal(g, (B, H, L, m))],
        lambda x, w: ra.feature_map(x, "favor_pos", w, 1e-2,
                                    key_stabilizer="global"), ["x", "w"])
compare("spectral_density normal_1d_constant", lib, "density",
        [mixture_theta(g, H, 3, 2), normal(g, (H, mf, 3))],
        [normal(g, (H, mf))],
        lambda t, x: ra.spectral_density(t, x, "gaussian_mixture",
                                         "normal_1d_constant"),
        ["theta", "xi"])
finish()
