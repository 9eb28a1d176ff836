# flt.attention (the whole FLT layer, through flt-decompose): relu,
# elu_plus_one and favor_pos features; Gaussian-mixture and local-window
# spectra; p = 1 and 3; causal; dynamic B and L.
# RUN: %python %s

from flt import reference
from flt_harness import (Library, check, expect, finish, func, mixture_theta,
                         normal, positions, rng, sampled, sensitivity, ttype,
                         window_theta)

H, d, e, m_f, K, m_proj = 2, 16, 8, 8, 3, 24


def layer(name, kernel, spectrum, p, causal, proj):
    width = (p + 2) * K if spectrum == "gaussian_mixture" else 2
    Q = ttype((1, H, 1, d), dynamic=(0, 2))
    V = ttype((1, H, 1, e), dynamic=(0, 2))
    R = ttype((1, 1, p), dynamic=(0, 1))
    XI, TH, W = ttype((H, m_f, p)), ttype((H, width)), ttype((H, m_proj, d))
    args = [("q", Q), ("k", Q), ("v", V), ("r", R), ("xi", XI), ("th", TH)]
    operands = "%q, %k, %v, %r, %xi, %th"
    types = f"{Q}, {Q}, {V}, {R}, {XI}, {TH}"
    if proj:
        args.append(("w", W))
        operands += " proj(%w)"
        types += f", {W}"
    attrs = (f"{{kernel = #flt.kernel<{kernel}>, spectrum = "
             f"#flt.spectrum<{spectrum}>, causal = {str(causal).lower()}}}")
    return func(name, args,
                [f"%o = flt.attention {operands} {attrs} : {types} -> {V}"],
                [("%o", V)])


# Under the sanitizers every other case.
cases = sampled([
    ("relu_gm_p1", "relu", "gaussian_mixture", 1, False, False),
    ("relu_gm_p1_causal", "relu", "gaussian_mixture", 1, True, False),
    ("elu_gm_p3", "elu_plus_one", "gaussian_mixture", 3, False, False),
    ("elu_lw_p1_causal", "elu_plus_one", "local_window", 1, True, False),
    ("relu_lw_p3", "relu", "local_window", 3, False, False),
    ("favor_gm_p1", "favor_pos", "gaussian_mixture", 1, False, True),
    ("favor_lw_p3_causal", "favor_pos", "local_window", 3, True, True),
])
lib = Library([layer(*case) for case in cases])

g = rng(4)
for name, kernel, spectrum, p, causal, proj in cases:
    for B, L in ((1, 1), (2, 7), (1, 129), (1, 1000)):
        q, k, v = (normal(g, (B, H, L, d)), normal(g, (B, H, L, d)),
                   normal(g, (B, H, L, e)))
        # A local window in 3-D has heavy-tailed importance weights
        # (e^{‖ξ‖²/2} against a slowly decaying sinc spectrum): keep its
        # positions close so that the estimated mask stays positive.
        spread = 0.01 if (spectrum, p) == ("local_window", 3) else None
        r, xi = positions(g, B, L, p, spread), normal(g, (H, m_f, p))
        theta = (mixture_theta(g, H, p, K) if spectrum == "gaussian_mixture"
                 else window_theta(g, H))
        w = normal(g, (H, m_proj, d)) if proj else None
        inputs = [q, k, v, r, xi, theta] + ([w] if proj else [])
        def exact(q, k, v, r, xi, theta, w):
            return reference.attention(q, k, v, r, xi, theta, kernel,
                                       spectrum, w, causal=causal)
        # The inputs must be well conditioned for an f32 comparison to mean
        # anything; fail loudly rather than test noise.
        moved = sensitivity(exact, [q, k, v, r, xi, theta, w])
        expect(f"{name} B={B} L={L} is well conditioned", moved < 1e-4,
               f"(1e-6 input noise moves the result by {moved:.1e})")
        out = lib.run(name, inputs)[0]
        check(f"{name} B={B} L={L}", out, exact(q, k, v, r, xi, theta, w))
finish()
