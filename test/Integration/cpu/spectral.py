# flt.spectral_density and flt.spectral_features: both spectra, both
# weightings, p = 1 and p = 3, dynamic m_f, B and L.
# RUN: %python %s

from flt import reference
from flt_harness import (Library, check, finish, func, mixture_theta, normal,
                         positions, rng, ttype, window_theta)

H, K = 3, 4
functions = []
for p in (1, 3):
    XI = ttype((H, 1, p), dynamic=(1,))
    RHO = ttype((H, 1), dynamic=(1,))
    R = ttype((1, 1, p), dynamic=(0, 1))
    PHI = ttype((1, H, 1, 1), dynamic=(0, 2, 3))
    for spectrum, width in (("gaussian_mixture", (p + 2) * K),
                            ("local_window", 2)):
        TH = ttype((H, width))
        functions.append(func(
            f"density_{spectrum}_p{p}", [("theta", TH), ("xi", XI)],
            [f"%rho = flt.spectral_density %theta, %xi {{spectrum = "
             f"#flt.spectrum<{spectrum}>}} : {TH}, {XI} -> {RHO}"],
            [("%rho", RHO)]))
    for weighting in ("query_side", "both_sides"):
        functions.append(func(
            f"features_{weighting}_p{p}", [("r", R), ("xi", XI), ("rho", RHO)],
            [f"%phi, %psi = flt.spectral_features %r, %xi, %rho {{weighting = "
             f"#flt.weighting<{weighting}>}} : {R}, {XI}, {RHO} -> {PHI}, {PHI}"],
            [("%phi", PHI), ("%psi", PHI)]))
lib = Library(functions)

g = rng(2)
for p in (1, 3):
    for m_f in (1, 16):
        xi = normal(g, (H, m_f, p))
        thetas = {"gaussian_mixture": mixture_theta(g, H, p, K),
                  "local_window": window_theta(g, H)}
        for spectrum, theta in thetas.items():
            out = lib.run(f"density_{spectrum}_p{p}", [theta, xi])[0]
            check(f"density {spectrum} p={p} m_f={m_f}", out,
                  reference.spectral_density(theta, xi, spectrum))
        rho = reference.spectral_density(xi=xi, theta=thetas["gaussian_mixture"],
                                         spectrum="gaussian_mixture")
        rho = rho.astype("float32")
        for B, L in ((1, 1), (2, 7), (1, 1000)):
            r = positions(g, B, L, p)
            for weighting in ("query_side", "both_sides"):
                phi, psi = lib.run(f"features_{weighting}_p{p}", [r, xi, rho],
                                   results=2)
                rphi, rpsi = reference.spectral_features(r, xi, rho, weighting)
                label = f"features {weighting} p={p} m_f={m_f} B={B} L={L}"
                check(label + " phi", phi, rphi)
                check(label + " psi", psi, rpsi)
finish()
