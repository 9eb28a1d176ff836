# The float64 gradient reference flt.reference_autograd (torch) checked on
# its own: its forward equals the NumPy reference flt.reference for every op
# and option; its autograd gradients agree with central finite differences
# for every differentiable input (directional differences for every
# configuration, full Jacobians by torch.autograd.gradcheck for every
# section 2 configuration and some of section 5), with docs/Semantics.md section 4's
# constants (favor_pos stabilizer, running maxima, the Toeplitz bias shift)
# held fixed in the differences and, where docs/Semantics.md says they cancel, also left
# free; the conventions at the non-smooth points (relu'(0), elu'(0),
# sinc'(0), guarded rows, zero scores, rows without keys) give the stated,
# finite gradients; and docs/Semantics.md section 5's identities hold (state in chunks,
# packed sequences, padding, grouped heads). Needs no build (no native
# extension):
#   PYTHONPATH=python_bindings:test/lib \
#       python3 test/python/reference_autograd.py
# RUN: %python %s | FileCheck %s
# CHECK: reference_autograd: {{[0-9]+}} checks, 0 failures

import contextlib
import math
import sys
import time

import numpy as np
import torch

from flt import reference as ref
from flt import reference_autograd as ra

torch.set_num_threads(1)  # tiny tensors: threads only add overhead

START = time.time()
FD_STEP = 1e-6
FD_TOL = 1e-6      # directional differences (relative to |grad|·|dir|)
FWD_TOL = 1e-12    # torch forward vs NumPy forward (relative to max |ref|)
_checks = 0
_failures = []
_worst_fd = [0.0, ""]


def record(label, ok, detail=""):
    global _checks
    _checks += 1
    if not ok:
        _failures.append(label)
        print(f"FAIL: {label} {detail}".rstrip())


def close(label, got, want, tol=FWD_TOL):
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else got
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else want
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        record(label, False, f"shape {got.shape} != {want.shape}")
        return
    scale = max(np.max(np.abs(want)) if want.size else 0.0, 1e-300)
    err = np.max(np.abs(got - want)) / scale if want.size else 0.0
    record(label, bool(np.all(np.isfinite(got)) and err <= tol),
           f"rel max err {err:.2e}")


# ---- inputs (docs/Semantics.md section 3's conditioning, float64) ----------------------

def rng(seed):
    return np.random.default_rng(seed)


def normal(g, *shape):
    return g.standard_normal(shape)


def positive(g, *shape):
    """Features whose normalizer stays far from 0."""
    return np.abs(g.standard_normal(shape)) + 0.1


def away_from_zero(g, *shape):
    """N(0, 1) pushed off the kinks of relu / elu at 0."""
    x = g.standard_normal(shape)
    return np.sign(x) * (np.abs(x) + 0.1)


def positions(g, B, L, p):
    if p == 1:
        return g.uniform(0, 0.2, (B, L, 1))
    return 0.05 * g.standard_normal((B, L, p))


def mixture_theta(g, H, p, K=2):
    return np.concatenate([g.uniform(0.2, 1, (H, K)),
                           0.1 * g.standard_normal((H, K * p)),
                           0.1 * g.standard_normal((H, K))], axis=1)


def window_theta(g, H):
    return np.stack([g.uniform(0.5, 1, H), g.uniform(0.05, 0.15, H)], 1)


def rpe_features(g, B, H, L, S, p, m_f=3):
    """Phi [B,H,L,2m_f] (queries) and Psi [B,H,S,2m_f] (keys) of a
    well-conditioned mixture spectrum: the mask is mostly positive."""
    xi = normal(g, H, m_f, p)
    rho = ref.spectral_density(mixture_theta(g, H, p), xi, "gaussian_mixture")
    r = positions(g, B, max(L, S), p)
    phi = ref.spectral_features(r[:, :L], xi, rho)[0]
    psi = ref.spectral_features(r[:, :S], xi, rho)[1]
    return phi, psi


# ---- finite differences -----------------------------------------------------

class Frozen:
    """Holds docs/Semantics.md 4's constants fixed across evaluations: the first call
    records what reference_autograd._constant makes, later calls get the
    recorded values back in the same order. Finite differences then
    differentiate the same function autograd does."""

    def __init__(self):
        self.values, self.replaying, self.index = [], False, 0

    def _constant(self, x):
        if not self.replaying:
            self.values.append(x.detach().clone())
            return self.values[-1]
        value = self.values[self.index]
        self.index += 1
        assert value.shape == x.shape, "constants changed order"
        return value

    def __enter__(self):
        self._saved = ra._constant
        ra._constant = self._constant
        return self

    def __exit__(self, *exc):
        ra._constant = self._saved

    def replay(self):
        """The next evaluation reads the recorded constants from the top."""
        self.replaying, self.index = True, 0


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _projection(fn, xs, cots, magnitude=False):
    """<cotangents, fn(xs)>; with magnitude, also sum |result · cotangent|
    (the size of the rounding noise a difference of it carries)."""
    with torch.no_grad():
        outs = _as_tuple(fn(*[torch.from_numpy(x) for x in xs]))
    value = sum(float(np.sum(o.numpy() * c)) for o, c in zip(outs, cots))
    if magnitude:
        return value, sum(float(np.sum(np.abs(o.numpy() * c)))
                          for o, c in zip(outs, cots))
    return value


def grad_check(label, fn, inputs, names, freeze=True, plain=False, seed=0,
               directions=2, full=True):
    """fn(*tensors) -> result(s); inputs: the differentiable float64 arrays.
    Autograd (through ra.vjp) against central differences along random
    directions, one input at a time; plain=True also checks with the
    constants free (where docs/Semantics.md says they cancel). full=True adds
    torch.autograd.gradcheck (every Jacobian entry). Returns the grads."""
    g = rng(1000 + seed)
    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    with torch.no_grad():
        outs = _as_tuple(fn(*[torch.from_numpy(x) for x in inputs]))
    cots = [normal(g, *o.shape) for o in outs]
    # Central differences of <cot, f> carry rounding noise of about
    # 1e-16 · sum|f · cot| / FD_STEP; an input whose gradient is far below
    # that (say out ~ v for one key) is compared against this floor instead.
    _, size = _projection(fn, inputs, cots, magnitude=True)
    floor = 1e-3 * size
    modes = [True] * freeze + [False] * plain
    grads = None
    for frozen in modes:
        tag = "frozen" if frozen else "free"
        with (Frozen() if frozen else contextlib.nullcontext()) as context:
            grads = ra.vjp(fn, inputs, cots)     # records the constants
            record(f"{label}: finite gradients",
                   all(np.all(np.isfinite(gr)) for gr in grads))

            def again(*xs):
                """fn with the recorded constants, when frozen."""
                if context:
                    context.replay()
                return fn(*xs)
            for i, name in enumerate(names):
                for _ in range(directions):
                    delta = normal(g, *inputs[i].shape)
                    xs_p, xs_m = list(inputs), list(inputs)
                    xs_p[i] = inputs[i] + FD_STEP * delta
                    xs_m[i] = inputs[i] - FD_STEP * delta
                    fd = (_projection(again, xs_p, cots) -
                          _projection(again, xs_m, cots)) / (2 * FD_STEP)
                    ad = float(np.sum(grads[i] * delta))
                    scale = np.linalg.norm(grads[i]) * \
                        np.linalg.norm(delta) + floor + 1e-300
                    err = abs(ad - fd) / scale
                    if err > _worst_fd[0]:
                        _worst_fd[:] = [err, f"{label} d/d{name} ({tag})"]
                    record(f"{label}: d/d{name} ({tag})", err <= FD_TOL,
                           f"autograd {ad:.8e} fd {fd:.8e} err {err:.1e}")
            if full and frozen:
                tensors = [torch.tensor(x, requires_grad=True)
                           for x in inputs]
                record(f"{label}: gradcheck", torch.autograd.gradcheck(
                    again, tensors, eps=FD_STEP, atol=1e-5, rtol=1e-5,
                    raise_exception=False))
    return grads


def t(x):
    return torch.from_numpy(np.asarray(x, dtype=np.float64))


# ---- 2.1 feature_map ------------------------------------------------------

def test_feature_map():
    seed = 0
    for kernel, with_w in (("identity", False), ("relu", False),
                           ("relu", True), ("elu_plus_one", False),
                           ("favor_pos", True)):
        for is_query in (True, False):
            for L, eps in ((5, 0.0), (1, 0.1)):
                seed += 1
                g = rng(seed)
                x = away_from_zero(g, 2, 2, L, 3)
                w = normal(g, 2, 4, 3) if with_w else None
                label = f"feature_map {kernel} w={with_w} q={is_query} L={L}"
                close(label + " forward",
                      ra.feature_map(x, kernel, w, eps, is_query),
                      ref.feature_map(x, kernel, w, eps, is_query))
                if with_w:
                    fn = lambda x, w: ra.feature_map(x, kernel, w, eps,
                                                     is_query)
                    grad_check(label, fn, [x, w], ["x", "w"], seed=seed,
                               full=True)
                else:
                    fn = lambda x: ra.feature_map(x, kernel, None, eps,
                                                  is_query)
                    grad_check(label, fn, [x], ["x"], seed=seed,
                               full=True)


# ---- 2.2, 2.3 spectra and features --------------------------------------

def test_spectra():
    for seed, (spectrum, p) in enumerate((("gaussian_mixture", 1),
                                          ("gaussian_mixture", 3),
                                          ("local_window", 1),
                                          ("local_window", 3))):
        g = rng(100 + seed)
        theta = (mixture_theta(g, 2, p) if spectrum == "gaussian_mixture"
                 else window_theta(g, 2))
        xi = normal(g, 2, 4, p)
        label = f"spectral_density {spectrum} p={p}"
        close(label + " forward", ra.spectral_density(theta, xi, spectrum),
              ref.spectral_density(theta, xi, spectrum))
        grad_check(label, lambda th, x: ra.spectral_density(th, x, spectrum),
                   [theta, xi], ["theta", "xi"], seed=seed, full=True)
        for weighting in ("query_side", "both_sides"):
            r = positions(g, 2, 5, p)
            rho = ref.spectral_density(theta, xi, spectrum)
            label = f"spectral_features {weighting} p={p} {spectrum}"
            for i, (a, b) in enumerate(zip(
                    ra.spectral_features(r, xi, rho, weighting),
                    ref.spectral_features(r, xi, rho, weighting))):
                close(f"{label} forward {i}", a, b)
            grad_check(label, lambda r, x, rho: ra.spectral_features(
                r, x, rho, weighting), [r, xi, rho], ["r", "xi", "rho"],
                seed=seed)


# ---- 2.4 linear_attention -------------------------------------------------

def linear_inputs(g, B, H, L, S, m, e, rpe, normalize, p=1):
    feats = normal if normalize == "none" else positive
    fq, fk, v = feats(g, B, H, L, m), feats(g, B, H, S, m), normal(g, B, H,
                                                                     S, e)
    phi, psi = rpe_features(g, B, H, L, S, p) if rpe else (None, None)
    return fq, fk, v, phi, psi


def test_linear_attention():
    seed = 0
    shapes = ((2, 5, 7), (1, 1, 1), (2, 7, 7), (1, 5, 3))
    for rpe in (False, True):
        for causal in (False, True):
            for normalize in ("divide", "guarded", "none"):
                seed += 1
                B, L, S = shapes[seed % len(shapes)]
                if causal:
                    S = L
                g = rng(200 + seed)
                fq, fk, v, phi, psi = linear_inputs(
                    g, B, 2, L, S, 3, 2, rpe, normalize, p=1 + 2 * (seed % 2))
                label = (f"linear_attention rpe={rpe} causal={causal} "
                         f"{normalize} B={B} L={L} S={S}")
                close(label + " forward",
                      ra.linear_attention(fq, fk, v, phi, psi, causal,
                                          normalize),
                      ref.linear_attention(fq, fk, v, phi, psi, causal,
                                           normalize))
                if rpe:
                    fn = lambda a, b, c, d, e_: ra.linear_attention(
                        a, b, c, d, e_, causal, normalize)
                    grad_check(label, fn, [fq, fk, v, phi, psi],
                               ["fq", "fk", "v", "Phi", "Psi"], seed=seed,
                               full=True)
                else:
                    fn = lambda a, b, c: ra.linear_attention(
                        a, b, c, None, None, causal, normalize)
                    grad_check(label, fn, [fq, fk, v], ["fq", "fk", "v"],
                               seed=seed)
    # Guarded with rows whose den is negative (raw features): there the
    # result is num itself, and the derivative is that of num / 1.
    g = rng(250)
    fq, fk, v = normal(g, 1, 2, 6, 3), normal(g, 1, 2, 6, 3), normal(g, 1, 2,
                                                                     6, 2)
    den = np.einsum("bhlm,bhsm->bhl", fq, fk)
    assert np.min(np.abs(den)) > 1e-3 and np.any(den < 0) and np.any(den > 0)
    fn = lambda a, b, c: ra.linear_attention(a, b, c, normalize="guarded")
    close("linear_attention guarded, den of both signs, forward",
          fn(t(fq), t(fk), t(v)),
          ref.linear_attention(fq, fk, v, normalize="guarded"))
    grad_check("linear_attention guarded, den of both signs", fn,
               [fq, fk, v], ["fq", "fk", "v"], seed=251)


# ---- 2.5 kernel_attention -------------------------------------------------

def test_kernel_attention():
    seed = 0
    shapes = ((2, 5, 7), (1, 1, 1), (2, 7, 7), (1, 5, 3))
    cases = []
    for causal in (False, True):
        for bias in (False, True):
            for rpe in (False, True):
                cases.append(("softmax", dict(causal=causal), bias, rpe))
        cases.append(("softmax", dict(causal=causal, temperature=0.3), True,
                      False))
        for normalize in ("divide", "guarded", "none"):
            for rpe in (False, True):
                cases.append(("dot", dict(causal=causal, normalize=normalize),
                              False, rpe))
        for power in (4, 3):
            for bias, rpe in ((False, False), (True, True)):
                cases.append(("fourier_integral",
                              dict(causal=causal, power=power), bias, rpe))
    for kernel, kw, bias, rpe in cases:
        seed += 1
        B, L, S = shapes[seed % len(shapes)]
        if kw["causal"]:
            S = L
        g = rng(300 + seed)
        d = 3
        raw = kernel != "dot" or kw.get("normalize") == "none"
        q = normal(g, B, 2, L, d) if raw else positive(g, B, 2, L, d)
        k = normal(g, B, 2, S, d) if raw else positive(g, B, 2, S, d)
        v = normal(g, B, 2, S, 2)
        phi, psi = (rpe_features(g, B, 2, L, S, 1 + 2 * (seed % 2)) if rpe
                    else (None, None))
        b = 0.5 * normal(g, 2, L + S - 1) if bias else None
        R = g.uniform(0.1, 0.4, (2, d)) if kernel == "fourier_integral" \
            else None
        label = (f"kernel_attention {kernel} {kw} bias={bias} rpe={rpe} "
                 f"B={B} L={L} S={S}")
        close(label + " forward",
              ra.kernel_attention(q, k, v, kernel, R, b, phi, psi, **kw),
              ref.kernel_attention(q, k, v, kernel, R, b, phi, psi, **kw))
        names = ["q", "k", "v"] + ["R"] * (R is not None) + \
            ["b"] * bias + ["Phi", "Psi"] * rpe
        inputs = [q, k, v] + [R] * (R is not None) + [b] * bias + \
            [phi, psi] * rpe

        def fn(*xs, kernel=kernel, kw=kw, names=names):
            a = dict(zip(names, xs))
            return ra.kernel_attention(a["q"], a["k"], a["v"], kernel,
                                       a.get("R"), a.get("b"), a.get("Phi"),
                                       a.get("Psi"), **kw)
        # The row maximum cancels exactly in softmax / fourier_integral.
        grad_check(label, fn, inputs, names, seed=seed,
                   plain=(kernel != "dot"),
                   full=True)


# ---- 2.6 position_transform ----------------------------------------------

def test_position_transform():
    seed = 0
    for core in ("rotary", "complex"):
        for mix in ("identity", "householder", "odd_even"):
            for pairing in ("interleaved", "halves"):
                for explicit in (False, True):
                    seed += 1
                    g = rng(400 + seed)
                    B, L, d = 2, (5, 1)[seed % 2], 4
                    x = normal(g, B, 2, L, d)
                    theta = normal(g, 2, d // 2 if core == "rotary" else d)
                    hv = normal(g, 2, d) if mix == "householder" else None
                    s = g.uniform(-3, 10, (B, L)) if explicit else None
                    label = (f"position_transform {core} {mix} {pairing} "
                             f"explicit={explicit} L={L}")
                    close(label + " forward",
                          ra.position_transform(x, theta, core, mix, pairing,
                                                2, hv, s),
                          ref.position_transform(x, theta, core, mix,
                                                 pairing, 2, hv, s))
                    names = ["x", "theta"] + ["v"] * (hv is not None) + \
                        ["s"] * explicit
                    inputs = [x, theta] + [hv] * (hv is not None) + \
                        [s] * explicit

                    def fn(*xs, core=core, mix=mix, pairing=pairing,
                           names=names):
                        a = dict(zip(names, xs))
                        return ra.position_transform(
                            a["x"], a["theta"], core, mix, pairing, 2,
                            a.get("v"), a.get("s"))
                    grad_check(label, fn, inputs, names, seed=seed,
                               directions=1, full=True)


# ---- 2.7 toeplitz_attention -----------------------------------------------

def test_toeplitz_attention():
    seed = 0
    for causal in (False, True):
        for normalize in ("divide", "guarded", "none"):
            shapes = ((2, 5), (1, 1), (1, 7))
            for B, L in shapes[:2 + (normalize == "guarded")]:
                seed += 1
                g = rng(500 + seed)
                feats = normal if normalize == "none" else positive
                fq, fk = feats(g, B, 2, L, 3), feats(g, B, 2, L, 3)
                v, b = normal(g, B, 2, L, 2), 0.5 * normal(g, 2, 2 * L - 1)
                label = (f"toeplitz_attention causal={causal} {normalize} "
                         f"B={B} L={L}")
                for method in ("auto", "fft", "direct"):
                    close(f"{label} {method} forward",
                          ra.toeplitz_attention(fq, fk, v, b, causal,
                                                normalize, method=method),
                          ref.toeplitz_attention(fq, fk, v, b, causal,
                                                 normalize))
                fn = lambda *xs: ra.toeplitz_attention(*xs, causal,
                                                       normalize)
                # The max(b) shift cancels exactly only when guarded.
                grad_check(label, fn, [fq, fk, v, b], ["fq", "fk", "v", "b"],
                           seed=seed, plain=(normalize == "guarded"),
                           full=True)


# ---- 2.8 attention --------------------------------------------------------

def attention_inputs(g, B, H, L, p, kernel, spectrum, d=3, m=4, m_f=3,
                     H_kv=None):
    H_kv = H_kv or H
    q = away_from_zero(g, B, H, L, d)
    k = away_from_zero(g, B, H_kv, L, d)
    v = normal(g, B, H_kv, L, 2)
    r = positions(g, B, L, p)
    xi = normal(g, H, m_f, p)
    theta = (mixture_theta(g, H, p) if spectrum == "gaussian_mixture"
             else window_theta(g, H))
    w = normal(g, H, m, d) if kernel in ("favor_pos", "relu_w") else None
    return q, k, v, r, xi, theta, w


def test_attention():
    seed = 0
    for kernel in ("relu", "relu_w", "elu_plus_one", "favor_pos"):
        for spectrum in ("gaussian_mixture", "local_window"):
            for causal in (False, True):
                seed += 1
                p = (1, 3)[seed % 2]
                L = (5, 7, 1)[seed % 3]
                g = rng(600 + seed)
                q, k, v, r, xi, theta, w = attention_inputs(
                    g, 1 + seed % 2, 2, L, p, kernel, spectrum)
                name = "relu" if kernel == "relu_w" else kernel
                eps = 0.0 if seed % 4 else 0.05
                label = (f"attention {kernel} {spectrum} causal={causal} "
                         f"p={p} L={L} eps={eps}")
                close(label + " forward",
                      ra.attention(q, k, v, r, xi, theta, name, spectrum, w,
                                   eps, causal=causal),
                      ref.attention(q, k, v, r, xi, theta, name, spectrum, w,
                                    eps, causal=causal))
                names = ["q", "k", "v", "r", "xi", "theta"] + \
                    ["w"] * (w is not None)
                inputs = [q, k, v, r, xi, theta] + [w] * (w is not None)

                def fn(*xs, name=name, spectrum=spectrum, causal=causal,
                       eps=eps):
                    w_ = xs[6] if len(xs) > 6 else None
                    return ra.attention(*xs[:6], name, spectrum, w_, eps,
                                        causal=causal)
                # Guarded (the default) with eps = 0: the favor_pos
                # stabilizers cancel exactly.
                grad_check(label, fn, inputs, names, seed=seed,
                           plain=(kernel == "favor_pos" and eps == 0),
                           directions=1, full=True)


# ---- the compatibility forms (docs/Compatibility.md) ----------------------

def test_compat_forms():
    """Forward equal to flt.reference and finite-difference gradients for
    every compatibility form: rpe_form concat (with the official density
    and the global key stabilizer), fourier_form amplitude_eps, and the
    position_transform forms (rotary_dims, odd_even_inverse, mix_eps,
    permutation)."""
    seed = 0
    for kernel in ("relu", "relu_w", "favor_pos"):
        for causal in (False, True):
            seed += 1
            p = (1, 3)[seed % 2]
            g = rng(1700 + seed)
            q, k, v, r, xi, theta, _ = attention_inputs(
                g, 2, 2, 5, p, kernel, "gaussian_mixture")
            m_f = xi.shape[1]
            w = (normal(g, 2, 4, q.shape[-1] + 2 * m_f)
                 if kernel != "relu" else None)
            name = "relu" if kernel == "relu_w" else kernel
            kw = dict(weighting="both_sides", causal=causal,
                      rpe_form="concat", density="normal_1d_constant",
                      key_stabilizer="global" if name == "favor_pos"
                      else "per_head")
            label = f"attention concat {kernel} causal={causal} p={p}"
            close(label + " forward",
                  ra.attention(q, k, v, r, xi, theta, name,
                               "gaussian_mixture", w, 0.01, **kw),
                  ref.attention(q, k, v, r, xi, theta, name,
                                "gaussian_mixture", w, 0.01, **kw))
            names = ["q", "k", "v", "r", "xi", "theta"] + \
                ["w"] * (w is not None)
            inputs = [q, k, v, r, xi, theta] + [w] * (w is not None)

            def fn(*xs, name=name, kw=kw):
                w_ = xs[6] if len(xs) > 6 else None
                return ra.attention(*xs[:6], name, "gaussian_mixture", w_,
                                    0.01, **kw)
            grad_check(label, fn, inputs, names, seed=seed, directions=1,
                       full=False)

    g = rng(1750)
    for R, scale, causal in ((1.0, 1.0, False), (2.0, 0.05, True),
                             (None, 0.5, False)):
        B, H, L, d = 1, 2, 4, 6
        q, k = scale * normal(g, B, H, L, d), scale * normal(g, B, H, L, d)
        v = normal(g, B, H, L, 3)
        Rv = (np.full((H, d), R) if R is not None else
              0.5 + np.abs(normal(g, H, d)))
        label = f"kernel_attention amplitude_eps R={R} causal={causal}"
        kw = dict(scale=Rv, causal=causal, eps=1e-3,
                  fourier_form="amplitude_eps")
        close(label + " forward",
              ra.kernel_attention(q, k, v, "fourier_integral", **kw),
              ref.kernel_attention(q, k, v, "fourier_integral", **kw))

        def fk(q, k, v, R_, kw=kw):
            return ra.kernel_attention(q, k, v, "fourier_integral",
                                       **dict(kw, scale=R_))
        grad_check(label, fk, [q, k, v, Rv], ["q", "k", "v", "R"],
                   seed=seed, directions=1, full=False)

    B, H, L = 2, 2, 5
    for d, kw in ((7, dict(rotary_dims=6)),
                  (8, dict(rotary_dims=4, pairing="halves")),
                  (7, dict(rotary_dims=6, mix="odd_even_inverse")),
                  (6, dict(mix="householder", mix_eps=0.3))):
        x = normal(g, B, H, L, d)
        theta = normal(g, H, kw.get("rotary_dims", d) // 2)
        if "mix_vector" not in kw and kw.get("mix") == "householder":
            kw = dict(kw, mix_vector=normal(g, H, d))
        label = f"position_transform d={d} {sorted(kw)}"
        close(label + " forward",
              ra.position_transform(x, theta, "rotary", **kw),
              ref.position_transform(x, theta, "rotary", **kw))
        grad_check(label, lambda x_, t_, kw=kw: ra.position_transform(
            x_, t_, "rotary", **kw), [x, theta], ["x", "theta"],
            directions=1, full=False)
    table = np.stack([np.stack([np.roll(np.arange(5), s * (h + 1))
                                for s in range(9)]) for h in range(H)])
    x = normal(g, B, H, L, 5)
    for offset in (0, 3):
        close(f"position_transform permutation offset={offset} forward",
              ra.position_transform(x, table, "permutation", offset=offset,
                                    mix="odd_even_inverse"),
              ref.position_transform(x, table, "permutation", offset=offset,
                                     mix="odd_even_inverse"))


# ---- docs/Semantics.md 4's conventions at the non-smooth points -----------------------

def test_conventions():
    # relu'(0) = 0, with and without w (a zero row of w makes u = 0).
    x = torch.tensor([[[[0.0, 1.0, -1.0]]]], dtype=torch.float64,
                     requires_grad=True)
    gx, = torch.autograd.grad(ra.feature_map(x, "relu").sum(), x)
    record("relu'(0) = 0", gx.tolist() == [[[[0.0, 1.0, 0.0]]]],
           str(gx.tolist()))
    w = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.5, 0.0]]],
                     dtype=torch.float64, requires_grad=True)
    gx, gw = torch.autograd.grad(ra.feature_map(x, "relu", w).sum(), (x, w))
    record("relu'(0) = 0 with w: zero row gets no gradient",
           gw[0, 0].abs().max().item() == 0.0 and
           bool(torch.all(torch.isfinite(gx))), str(gw.tolist()))
    # elu'(x) = exp(x) for x <= 0: 1 at 0.
    x = torch.tensor([0.0, -1.0, 2.0], dtype=torch.float64,
                     requires_grad=True)
    gx, = torch.autograd.grad(ra.feature_map(x.view(1, 1, 1, 3),
                                             "elu_plus_one").sum(), x)
    record("elu'(0) = 1, elu'(-1) = exp(-1)",
           np.allclose(gx.numpy(), [1.0, math.exp(-1), 1.0], rtol=0,
                       atol=1e-15), str(gx.tolist()))
    # sinc'(0) = 0: fourier_integral with q_ik = k_jk for many (i, j, k).
    g = rng(700)
    q = normal(g, 1, 2, 4, 3)
    k = q.copy()
    k[..., 1] += 0.3          # one coordinate differs, the others coincide
    v = normal(g, 1, 2, 4, 2)
    R = g.uniform(0.1, 0.4, (2, 3))
    fn = lambda q, k, v, R: ra.kernel_attention(q, k, v, "fourier_integral",
                                                R)
    with np.errstate(invalid="ignore"):   # NumPy's -inf - -inf, masked
        want = ref.kernel_attention(q, k, v, "fourier_integral", R)
    close("fourier_integral with zero differences forward",
          fn(t(q), t(k), t(v), t(R)), want)
    grad_check("fourier_integral with zero differences (sinc'(0) = 0)", fn,
               [q, k, v, R], ["q", "k", "v", "R"], seed=700)
    x = torch.tensor([0.0, 1e-9, -1e-9, 0.05, 0.1, 2.0], dtype=torch.float64,
                     requires_grad=True)
    log_sinc, zero = ra._log_abs_sinc(x)
    gx, = torch.autograd.grad(log_sinc.sum(), x)
    xn = x.detach().numpy()
    want = np.where(xn == 0, 0.0, 1 / np.tan(np.where(xn == 0, 1, xn)) -
                    1 / np.where(xn == 0, 1, xn))
    want[1:3] = -xn[1:3] / 3
    record("d/dx log|sinc x| (0 exactly at 0, series near 0)",
           gx[0].item() == 0.0 and np.allclose(gx.numpy(), want, rtol=1e-12,
                                               atol=1e-18) and
           not zero.any(), str(gx.tolist()))
    record("log|sinc x| near 0", np.allclose(
        log_sinc.detach().numpy(),
        np.log(np.abs(np.sin(np.where(xn == 0, 1, xn)) /
                      np.where(xn == 0, 1, xn))) * (xn != 0),
        rtol=1e-12, atol=1e-17))
    # local_window at xi = 0 (each factor 2v): finite, correct gradients.
    theta = window_theta(g, 2)
    xi = normal(g, 2, 4, 3)
    xi[0, 0, :] = 0.0
    xi[1, 2, 1] = 0.0
    close("local_window with xi = 0 forward",
          ra.spectral_density(theta, xi, "local_window"),
          ref.spectral_density(theta, xi, "local_window"))
    grads = grad_check("local_window with xi = 0",
                       lambda th, x: ra.spectral_density(th, x,
                                                         "local_window"),
                       [theta, xi], ["theta", "xi"], seed=701)
    th = t(theta).requires_grad_(True)
    xi_t = t(np.zeros((2, 1, 1))).requires_grad_(True)
    gth, gxi = torch.autograd.grad(
        ra.spectral_density(th, xi_t, "local_window").sum(), (th, xi_t))
    # rho = C 2v / P(0) with P(0) = (2 pi)^-1/2: d/dC = 2v sqrt(2 pi),
    # d/dv = 2 C sqrt(2 pi), d/dxi = 0.
    root = math.sqrt(2 * math.pi)
    record("local_window gradient at xi = 0",
           np.allclose(gth.numpy(), np.stack([2 * theta[:, 1] * root,
                                              2 * theta[:, 0] * root], 1),
                       rtol=1e-14) and gxi.abs().max().item() == 0.0,
           f"{gth.tolist()} {gxi.tolist()}")
    # Rows whose every score is 0 (fourier_integral with a zero mask row):
    # zeros, and zero (finite) gradients for that row's inputs.
    B, H, L, d = 1, 2, 4, 3
    q, k, v = normal(g, B, H, L, d), normal(g, B, H, L, d), normal(g, B, H,
                                                                    L, 2)
    phi, psi = rpe_features(g, B, H, L, L, 1)
    phi[:, :, 2] = 0.0
    out_want = ref.kernel_attention(q, k, v, "fourier_integral", R, None,
                                    phi, psi)
    args = [q, k, v, R, phi, psi]
    fn = lambda q, k, v, R, phi, psi: ra.kernel_attention(
        q, k, v, "fourier_integral", R, None, phi, psi)
    out = fn(*map(t, args))
    close("fourier_integral zero-score row forward", out, out_want)
    grads = ra.vjp(fn, args, normal(g, *out.shape))
    record("fourier_integral zero-score row: zeros, finite zero gradients",
           out[:, :, 2].abs().max().item() == 0.0 and
           all(np.all(np.isfinite(x)) for x in grads) and
           np.abs(grads[0][:, :, 2]).max() == 0.0 and
           np.abs(grads[4][:, :, 2]).max() == 0.0)
    # A sinc factor exactly 0 needs sin(x) == 0 at x != 0, which no float64
    # x reaches; to exercise that path, declare every factor with |x| > 0.6
    # zero (as if it were): those scores drop out, a row of them (query 0,
    # moved far off) is 0 with zero gradient, and the rest stays smooth.
    real = ra._log_abs_sinc

    def pretend(x):
        log_sinc, zero = real(x)
        return log_sinc, zero | (x.abs() > 0.6)
    q, k, v = normal(g, 1, 2, 5, 3), normal(g, 1, 2, 5, 3), normal(
        g, 1, 2, 5, 2)
    q[:, :, 0] += 20.0
    R = g.uniform(0.2, 0.4, (2, 3))
    x_all = R[None, :, None, None, :] * (q[:, :, :, None] - k[:, :, None])
    dropped = np.any(np.abs(x_all) > 0.6, axis=-1)
    assert dropped[:, :, 0].all() and 0 < dropped[:, :, 1:].sum() < 32
    assert np.min(np.abs(np.abs(x_all) - 0.6)) > 1e-3
    ra._log_abs_sinc = pretend
    try:
        fn = lambda q, k, v, R: ra.kernel_attention(q, k, v,
                                                    "fourier_integral", R)
        out = fn(*map(t, (q, k, v, R)))
        grads = grad_check("fourier_integral with zero sinc factors", fn,
                           [q, k, v, R], ["q", "k", "v", "R"], seed=702)
    finally:
        ra._log_abs_sinc = real
    # The kept scores, from the NumPy reference's formula with the dropped
    # ones zeroed: weights exp(log s) / sum.
    lg = np.log(np.abs(np.sin(x_all) / x_all)).sum(-1) * 4
    wgt = np.where(dropped, 0.0, np.exp(lg))
    tot = wgt.sum(-1, keepdims=True)
    want = np.where(tot > 0, wgt @ v / np.where(tot > 0, tot, 1), 0.0)
    close("zero sinc factors: forward", out, want)
    record("zero sinc factors: row of zero scores is 0, zero gradient",
           out[:, :, 0].abs().max().item() == 0.0 and
           np.all(grads[0][:, :, 0] == 0))
    # softmax, fourier and dot with lengths 0: every row 0, gradients 0.
    for kernel in ("softmax", "fourier_integral", "dot"):
        Rk = R if kernel == "fourier_integral" else None
        fn = lambda q, k, v: ra.kernel_attention(q, k, v, kernel, Rk,
                                                 lengths=[0])
        out = fn(t(q), t(k), t(v))
        grads = ra.vjp(fn, [q, k, v], normal(g, *out.shape))
        record(f"{kernel} with lengths 0: zeros, zero gradients",
               out.abs().max().item() == 0.0 and
               all(np.all(x == 0) for x in grads))
    # Guarded rows with den = 0 exactly (fq_i = 0): the derivative of
    # num / 1, i.e. d out_i / d fq_i = (fk v) contracted with the cotangent.
    fq, fk, v = positive(g, 1, 1, 3, 2), positive(g, 1, 1, 3, 2), normal(
        g, 1, 1, 3, 2)
    fq[0, 0, 1] = 0.0
    fqt = t(fq).requires_grad_(True)
    cot = normal(g, 1, 1, 3, 2)
    out = ra.linear_attention(fqt, t(fk), t(v), normalize="guarded")
    gq, = torch.autograd.grad(out, fqt, t(cot))
    want = fk[0, 0].T @ (v[0, 0] @ cot[0, 0, 1])   # d/dfq_1 <num_1, cot_1>
    record("guarded den = 0: gradient of num / 1",
           np.allclose(gq[0, 0, 1].numpy(), want, rtol=1e-13),
           f"{gq[0, 0, 1].tolist()} vs {want.tolist()}")
    # The favor_pos constant: autograd's gradient differs from the free
    # derivative of feature_map alone (the query's own max moves with it).
    x, w = normal(g, 1, 1, 3, 2), normal(g, 1, 3, 2)
    xt = t(x).requires_grad_(True)
    out = ra.feature_map(xt, "favor_pos", t(w), is_query=True)
    gx, = torch.autograd.grad(out.sum(), xt)
    with torch.no_grad():
        h = 1e-6
        e = np.zeros_like(x)
        e[0, 0, 0, 0] = h
        free = (ra.feature_map(x + e, "favor_pos", w, is_query=True).sum() -
                ra.feature_map(x - e, "favor_pos", w, is_query=True).sum()
                ).item() / (2 * h)
    record("favor_pos stabilizer is a constant (free derivative differs)",
           abs(free - gx[0, 0, 0, 0].item()) > 1e-3)
    # The constants, written out with plain numbers for c and max(b): the
    # same gradients as the reference's (where they do not cancel, a
    # differentiated max would give other ones).
    x, w = normal(g, 2, 2, 4, 3), normal(g, 2, 5, 3)
    cot = normal(g, 2, 2, 4, 5)
    for is_query in (True, False):
        xt, wt = t(x).requires_grad_(True), t(w).requires_grad_(True)
        got = torch.autograd.grad(ra.feature_map(xt, "favor_pos", wt, 0.1,
                                                 is_query), (xt, wt), t(cot))
        xs = xt * 3 ** -0.25
        u = torch.einsum("hkd,bhld->bhlk", wt, xs)
        un = u.detach().numpy()
        c = t(un.max(-1, keepdims=True) if is_query else
              un.max((2, 3), keepdims=True))
        phi = 5 ** -0.5 * (torch.exp(
            u - 0.5 * (xs * xs).sum(-1, keepdim=True) - c) + 0.1)
        want = torch.autograd.grad(phi, (xt, wt), t(cot))
        record(f"favor_pos is_query={is_query}: c a constant in the gradient",
               all(np.allclose(a.numpy(), b.numpy(), rtol=1e-13, atol=0)
                   for a, b in zip(got, want)))
    fq, fk, v = normal(g, 1, 2, 4, 3), normal(g, 1, 2, 4, 3), normal(g, 1, 2,
                                                                     4, 2)
    b = normal(g, 2, 7)
    cot = normal(g, 1, 2, 4, 2)
    for normalize in ("none", "divide"):
        bt = t(b).requires_grad_(True)
        got, = torch.autograd.grad(ra.toeplitz_attention(
            t(fq), t(fk), t(v), bt, normalize=normalize), bt, t(cot))
        shifted = bt - t(b.max(1, keepdims=True))
        idx = np.arange(4)[None, :] - np.arange(4)[:, None] + 3
        scores = (t(fq) @ t(fk).transpose(-1, -2)) * torch.exp(
            shifted[:, idx])[None]
        num = scores @ t(v)
        out = num if normalize == "none" else \
            num / (scores.sum(-1, keepdim=True) + 1e-6)
        want, = torch.autograd.grad(out, bt, t(cot))
        record(f"toeplitz {normalize}: max(b) a constant in the gradient",
               np.allclose(got.numpy(), want.numpy(), rtol=1e-13, atol=0))


# ---- docs/Semantics.md section 5 --------------------------------------------------------

def test_state():
    g = rng(800)
    B, H, m, e = 2, 2, 2, 2
    for rpe in (False, True):
        for causal in (False, True):
            L = 10
            fq, fk, v = positive(g, B, H, L, m), positive(g, B, H, L, m), \
                normal(g, B, H, L, e)
            phi, psi = rpe_features(g, B, H, L, L, 3) if rpe else (None, None)
            r = phi.shape[-1] if rpe else 1
            label = f"state rpe={rpe} causal={causal}"

            def run(a, b, state, causal=causal, phi=phi, psi=psi):
                ph = None if phi is None else phi[:, :, a:b]
                ps = None if psi is None else psi[:, :, a:b]
                return ra.linear_attention(fq[:, :, a:b], fk[:, :, a:b],
                                           v[:, :, a:b], ph, ps, causal,
                                           state=state)
            zero = (np.zeros((B, H, m * r, e)), np.zeros((B, H, m * r)))
            full, T, z = run(0, L, zero)
            close(f"{label}: zero state = no state", full,
                  ra.linear_attention(fq, fk, v, phi, psi, causal))
            # T, z in the layout a·r + b, summed here term by term.
            T_want = np.array(zero[0])
            z_want = np.array(zero[1])
            for bb in range(B):
                for hh in range(H):
                    for j in range(L):
                        for a in range(m):
                            for c in range(r):
                                kf = fk[bb, hh, j, a] * (
                                    psi[bb, hh, j, c] if rpe else 1.0)
                                T_want[bb, hh, a * r + c] += kf * v[bb, hh, j]
                                z_want[bb, hh, a * r + c] += kf
            close(f"{label}: T layout a*r+b", T, T_want)
            close(f"{label}: z layout a*r+b", z, z_want)
            # Two chunks (3 + 7), and for causal one token at a time.
            out1, T1, z1 = run(0, 3, zero)
            out2, T2, z2 = run(3, L, (T1, z1))
            close(f"{label}: two chunks T", T2, T)
            close(f"{label}: two chunks z", z2, z)
            if causal:
                close(f"{label}: two chunks out", torch.cat([out1, out2], 2),
                      full)
                state, outs = zero, []
                for i in range(L):
                    o, *state = run(i, i + 1, tuple(state))
                    outs.append(o)
                close(f"{label}: token by token", torch.cat(outs, 2), full)
            else:
                # The last chunk's queries see every key, as in one run.
                close(f"{label}: last chunk out", out2, full[:, :, 3:])
            # Gradients through the state and the features.
            T0 = normal(g, B, H, m * r, e)
            z0 = np.abs(normal(g, B, H, m * r)) + 1.0
            names = ["fq", "fk", "v"] + ["Phi", "Psi"] * rpe + ["T0", "z0"]
            inputs = [fq[:, :, :5], fk[:, :, :5], v[:, :, :5]] + \
                ([phi[:, :, :5], psi[:, :, :5]] if rpe else []) + [T0, z0]

            def fn(*xs, rpe=rpe, causal=causal):
                ph, ps = (xs[3], xs[4]) if rpe else (None, None)
                return ra.linear_attention(xs[0], xs[1], xs[2], ph, ps,
                                           causal, state=(xs[-2], xs[-1]))
            grad_check(label, fn, inputs, names, seed=800 + 2 * rpe + causal,
                       full=True)


CU = [0, 3, 4, 8]     # three packed sequences, one of length 1


def test_packed():
    g = rng(900)
    H, L, m, e, d = 2, CU[-1], 3, 2, 3
    seqs = list(zip(CU, CU[1:]))

    def each(fn):
        """fn(start, end) of every sequence alone, concatenated."""
        return torch.cat([fn(a, b) for a, b in seqs], dim=2)

    def bias_of(b, n):
        return b[:, L - n:L + n - 1]    # offsets -(n-1) .. n-1

    for causal in (False, True):
        # linear_attention with rpe and per-sequence states
        fq, fk, v = positive(g, 1, H, L, m), positive(g, 1, H, L, m), normal(
            g, 1, H, L, e)
        phi, psi = rpe_features(g, 1, H, L, L, 1)
        r = phi.shape[-1]
        N = len(seqs)
        T0, z0 = normal(g, N, H, m * r, e), np.abs(normal(g, N, H, m * r)) + 1
        label = f"packed linear_attention causal={causal}"
        out, T, z = ra.linear_attention(fq, fk, v, phi, psi, causal,
                                        state=(T0, z0), cu_seqlens=CU)
        alone = [ra.linear_attention(
            fq[:, :, a:b], fk[:, :, a:b], v[:, :, a:b], phi[:, :, a:b],
            psi[:, :, a:b], causal, state=(T0[n:n + 1], z0[n:n + 1]))
            for n, (a, b) in enumerate(seqs)]
        close(label + " = each alone", out, torch.cat([x[0] for x in alone],
                                                       2))
        close(label + " states", T, torch.cat([x[1] for x in alone], 0))
        close(label + " z", z, torch.cat([x[2] for x in alone], 0))
        grad_check(label, lambda *xs: ra.linear_attention(
            *xs[:5], causal, state=(xs[5], xs[6]), cu_seqlens=CU),
            [fq, fk, v, phi, psi, T0, z0],
            ["fq", "fk", "v", "Phi", "Psi", "T0", "z0"], seed=900 + causal,
            directions=1, full=causal)
        # kernel_attention: softmax with bias, dot with rpe, fourier
        q, k, vv = normal(g, 1, H, L, d), normal(g, 1, H, L, d), normal(
            g, 1, H, L, e)
        b = 0.5 * normal(g, H, 2 * L - 1)
        R = g.uniform(0.1, 0.4, (H, d))
        for kernel, kw in (("softmax", dict(bias=b)),
                           ("dot", dict(phi=phi, psi=psi)),
                           ("fourier_integral", dict(scale=R, bias=b))):
            label = f"packed kernel_attention {kernel} causal={causal}"
            # q, k are raw N(0, 1): dot is checked unnormalized (docs/Semantics.md 3).
            out = ra.kernel_attention(q, k, vv, kernel, causal=causal,
                                      normalize="none", cu_seqlens=CU, **kw)

            def one(a, bb_, kw=kw, kernel=kernel):
                kw2 = dict(kw)
                if "bias" in kw2:
                    kw2["bias"] = bias_of(kw["bias"], bb_ - a)
                if "phi" in kw2:
                    kw2["phi"] = kw["phi"][:, :, a:bb_]
                    kw2["psi"] = kw["psi"][:, :, a:bb_]
                return ra.kernel_attention(q[:, :, a:bb_], k[:, :, a:bb_],
                                           vv[:, :, a:bb_], kernel,
                                           causal=causal, normalize="none",
                                           **kw2)
            close(label + " = each alone", out, each(one))
            names = ["q", "k", "v"] + sorted(kw)
            inputs = [q, k, vv] + [kw[n] for n in sorted(kw)]
            grad_check(label, lambda *xs, kernel=kernel, names=names:
                       ra.kernel_attention(*xs[:3], kernel, causal=causal,
                                           normalize="none", cu_seqlens=CU,
                                           **dict(zip(names[3:], xs[3:]))),
                       inputs, names, seed=910 + causal, directions=1,
                       full=causal)
        # toeplitz_attention (guarded: the max(b) shift cancels)
        label = f"packed toeplitz_attention causal={causal}"
        out = ra.toeplitz_attention(fq, fk, v, b, causal, "guarded",
                                    cu_seqlens=CU)
        close(label + " = each alone", out, each(
            lambda a, bb_: ra.toeplitz_attention(
                fq[:, :, a:bb_], fk[:, :, a:bb_], v[:, :, a:bb_],
                bias_of(b, bb_ - a), causal, "guarded")))
        grad_check(label, lambda *xs: ra.toeplitz_attention(
            *xs, causal, "guarded", cu_seqlens=CU), [fq, fk, v, b],
            ["fq", "fk", "v", "b"], seed=920 + causal, directions=1,
            plain=True, full=causal)
    # position_transform: positions restart at each sequence (plus offset)
    x = normal(g, 1, H, L, 4)
    for core, theta in (("rotary", normal(g, H, 2)),
                        ("complex", normal(g, H, 4))):
        out = ra.position_transform(x, theta, core, offset=3, cu_seqlens=CU)
        close(f"packed position_transform {core} = each alone", out,
              each(lambda a, b_: ra.position_transform(
                  x[:, :, a:b_], theta, core, offset=3)))
        grad_check(f"packed position_transform {core}",
                   lambda x_, th: ra.position_transform(
                       x_, th, core, offset=3, cu_seqlens=CU),
                   [x, theta], ["x", "theta"], seed=930, directions=1,
                   full=False)


def test_lengths():
    g = rng(1000)
    H, m, e, d = 2, 3, 2, 3
    for L, S, n, causal in ((6, 6, [4, 6], True), (6, 6, [0, 3], False),
                            (5, 7, [3, 7], False)):
        B = len(n)
        fq, fk, v = positive(g, B, H, L, m), positive(g, B, H, S, m), normal(
            g, B, H, S, e)
        phi, psi = rpe_features(g, B, H, L, S, 1)
        q, k = normal(g, B, H, L, d), normal(g, B, H, S, d)
        b = 0.5 * normal(g, H, L + S - 1)
        R = g.uniform(0.1, 0.4, (H, d))
        T0 = normal(g, B, H, m * phi.shape[-1], e)
        z0 = np.abs(normal(g, B, H, m * phi.shape[-1])) + 1
        tag = f"L={L} S={S} n={n} causal={causal}"

        def check_padded(label, fn, inputs, names, row_inputs, key_inputs,
                         alone):
            """fn(*inputs, lengths=n) vs alone(b, nb) per batch; zero rows;
            zero gradients for padded query rows and padded keys."""
            out = _as_tuple(fn(*map(t, inputs), lengths=n))
            for bb, nb in enumerate(n):
                rows = min(nb, L)
                if rows:
                    want = _as_tuple(alone(bb, nb))
                    close(f"{label} batch {bb} = shorter alone",
                          out[0][bb:bb + 1, :, :rows], want[0])
                    for i, (o, w) in enumerate(zip(out[1:], want[1:])):
                        close(f"{label} batch {bb} state {i}", o[bb:bb + 1],
                              w)
                record(f"{label} batch {bb} padded rows are 0",
                       out[0][bb, :, rows:].abs().max().item() == 0.0
                       if rows < L else True)
            grads = grad_check(label, lambda *xs: fn(*xs, lengths=n), inputs,
                               names, seed=1000 + L + S + sum(n),
                               directions=1, full=causal)
            for bb, nb in enumerate(n):
                for i in row_inputs:
                    record(f"{label} d/d{names[i]} padded rows 0",
                           np.all(grads[i][bb, :, nb:] == 0))
                for i in key_inputs:
                    record(f"{label} d/d{names[i]} padded keys 0",
                           np.all(grads[i][bb, :, nb:] == 0))

        check_padded(
            f"lengths linear_attention {tag}",
            lambda *xs, lengths: ra.linear_attention(
                *xs[:5], causal, state=(xs[5], xs[6]), lengths=lengths),
            [fq, fk, v, phi, psi, T0, z0],
            ["fq", "fk", "v", "Phi", "Psi", "T0", "z0"], [0, 3], [1, 2, 4],
            lambda bb, nb: ra.linear_attention(
                fq[bb:bb + 1, :, :nb], fk[bb:bb + 1, :, :nb],
                v[bb:bb + 1, :, :nb], phi[bb:bb + 1, :, :nb],
                psi[bb:bb + 1, :, :nb], causal,
                state=(T0[bb:bb + 1], z0[bb:bb + 1])))

        def bias_alone(nb):
            """Offsets j - i of min(nb, L) queries and nb keys."""
            return b[:, L - min(nb, L):L + nb - 1]
        for kernel, kw in (("softmax", dict(bias=b)),
                           ("dot", dict(phi=phi, psi=psi)),
                           ("fourier_integral", dict(scale=R, bias=b))):
            names = ["q", "k", "v"] + sorted(kw)

            def alone(bb, nb, kernel=kernel, kw=kw):
                kw2 = {}
                for key, val in kw.items():
                    if key == "bias":
                        val = bias_alone(nb)
                    elif key in ("phi", "psi"):
                        val = val[bb:bb + 1, :, :nb]
                    kw2[key] = val
                return ra.kernel_attention(
                    q[bb:bb + 1, :, :nb], k[bb:bb + 1, :, :nb],
                    v[bb:bb + 1, :, :nb], kernel, causal=causal,
                    normalize="none", **kw2)
            check_padded(
                f"lengths kernel_attention {kernel} {tag}",
                lambda *xs, lengths, kernel=kernel, names=names:
                ra.kernel_attention(*xs[:3], kernel, causal=causal,
                                    normalize="none", lengths=lengths,
                                    **dict(zip(names[3:], xs[3:]))),
                [q, k, v] + [kw[x] for x in sorted(kw)], names,
                [0] + ([names.index("phi")] if "phi" in kw else []),
                [1, 2] + ([names.index("psi")] if "psi" in kw else []),
                alone)
        if L == S:
            check_padded(
                f"lengths toeplitz_attention {tag}",
                lambda *xs, lengths: ra.toeplitz_attention(
                    *xs, causal, "guarded", lengths=lengths),
                [fq, fk, v, b], ["fq", "fk", "v", "b"], [0], [1, 2],
                lambda bb, nb: ra.toeplitz_attention(
                    fq[bb:bb + 1, :, :nb], fk[bb:bb + 1, :, :nb],
                    v[bb:bb + 1, :, :nb], bias_alone(nb), causal,
                    "guarded"))
            qa, ka, va, r, xi, theta, w = attention_inputs(
                g, B, H, L, 3, "favor_pos", "gaussian_mixture")
            # favor_pos key stabilizer spans padding too; it cancels in
            # guarded normalization (eps = 0), so the identity holds.
            check_padded(
                f"lengths attention favor_pos {tag}",
                lambda *xs, lengths: ra.attention(
                    *xs[:6], "favor_pos", "gaussian_mixture", xs[6],
                    causal=causal, lengths=lengths),
                [qa, ka, va, r, xi, theta, w],
                ["q", "k", "v", "r", "xi", "theta", "w"], [0], [1, 2],
                lambda bb, nb: ra.attention(
                    qa[bb:bb + 1, :, :nb], ka[bb:bb + 1, :, :nb],
                    va[bb:bb + 1, :, :nb], r[bb:bb + 1, :nb], xi, theta,
                    "favor_pos", "gaussian_mixture", w, causal=causal))


def test_grouped_heads():
    g = rng(1100)
    B, H, L, S, m, e, d = 2, 4, 5, 5, 3, 2, 3
    for H_kv in (2, 1):
        for causal in (False, True):
            rep = lambda x: np.repeat(x, H // H_kv, axis=1)
            tag = f"H={H} H_kv={H_kv} causal={causal}"

            def check_gqa(label, fn, args, kv_idx):
                """fn on H_kv-head args equals fn on repeated ones; the
                gradient of a kv input is the sum over its group."""
                repeated = [rep(a) if i in kv_idx else a
                            for i, a in enumerate(args)]
                out = fn(*map(t, args))
                close(f"{label} = repeated heads", out, fn(*map(t, repeated)))
                cot = normal(g, *out.shape)
                g_kv = ra.vjp(fn, args, cot)
                g_rep = ra.vjp(fn, repeated, cot)
                for i in kv_idx:
                    summed = g_rep[i].reshape(
                        g_rep[i].shape[0], H_kv, H // H_kv,
                        *g_rep[i].shape[2:]).sum(2)
                    close(f"{label} gradient {i} = group sum", g_kv[i],
                          summed)
                grad_check(label, fn, args, [str(i) for i in range(len(args))],
                           seed=1100 + H_kv + causal, directions=1,
                           full=(H_kv == 1 and not causal))

            fq, fk, v = positive(g, B, H, L, m), positive(g, B, H_kv, S, m), \
                normal(g, B, H_kv, S, e)
            phi, psi = rpe_features(g, B, H, L, S, 1)
            check_gqa(f"gqa linear_attention {tag}",
                      lambda *xs: ra.linear_attention(*xs, causal),
                      [fq, fk, v, phi, psi], [1, 2])
            q, k = normal(g, B, H, L, d), normal(g, B, H_kv, S, d)
            b = 0.5 * normal(g, H, L + S - 1)
            R = g.uniform(0.1, 0.4, (H, d))
            check_gqa(f"gqa kernel_attention softmax {tag}",
                      lambda q_, k_, v_, b_: ra.kernel_attention(
                          q_, k_, v_, bias=b_, causal=causal),
                      [q, k, v, b], [1, 2])
            check_gqa(f"gqa kernel_attention dot {tag}",
                      lambda q_, k_, v_, ph, ps: ra.kernel_attention(
                          q_, k_, v_, "dot", phi=ph, psi=ps, causal=causal,
                          normalize="none"),
                      [q, k, v, phi, psi], [1, 2])
            check_gqa(f"gqa kernel_attention fourier_integral {tag}",
                      lambda q_, k_, v_, R_: ra.kernel_attention(
                          q_, k_, v_, "fourier_integral", R_, causal=causal),
                      [q, k, v, R], [1, 2])
            check_gqa(f"gqa toeplitz_attention {tag}",
                      lambda *xs: ra.toeplitz_attention(*xs, causal,
                                                        "guarded"),
                      [fq, fk, v, b[:, :2 * L - 1]], [1, 2])
            qa, ka, va, r, xi, theta, w = attention_inputs(
                g, B, H, L, 1, "favor_pos", "local_window", H_kv=H_kv)
            check_gqa(f"gqa attention favor_pos {tag}",
                      lambda *xs: ra.attention(
                          *xs[:6], "favor_pos", "local_window", xs[6],
                          causal=causal),
                      [qa, ka, va, r, xi, theta, w], [1, 2])


# ---- vjp and errors --------------------------------------------------------

def test_vjp_and_errors():
    g = rng(1200)
    fq, fk, v = positive(g, 1, 2, 4, 2), positive(g, 1, 2, 4, 2), normal(
        g, 1, 2, 4, 3)
    T0, z0 = normal(g, 1, 2, 2, 3), np.abs(normal(g, 1, 2, 2)) + 1
    cots = [normal(g, 1, 2, 4, 3), normal(g, 1, 2, 2, 3), normal(g, 1, 2, 2)]
    tensors = [t(x).requires_grad_(True) for x in (fq, fk, v)]
    st = [t(x).requires_grad_(True) for x in (T0, z0)]
    # two packed sequences: the states are [N = 2, H, ...]
    record("vjp: packed state shape check raises",
           _raises(lambda: ra.linear_attention(
               *tensors, causal=True, cu_seqlens=[0, 1, 4], state=st)))
    st = [t(np.concatenate([x, x])).requires_grad_(True) for x in (T0, z0)]
    grads = ra.vjp(lambda a, b, c, cu, st: ra.linear_attention(
        a, b, c, causal=True, cu_seqlens=cu, state=st),
        [fq, fk, v, np.array([0, 1, 4], np.int32),
         tuple(np.concatenate([x, x]) for x in (T0, z0))],
        [cots[0], np.concatenate([cots[1]] * 2),
         np.concatenate([cots[2]] * 2)])
    outs = ra.linear_attention(*tensors, causal=True, cu_seqlens=[0, 1, 4],
                               state=st)
    want = torch.autograd.grad(outs, tensors + st, [
        t(cots[0]), t(np.concatenate([cots[1]] * 2)),
        t(np.concatenate([cots[2]] * 2))])
    ok = (grads[3] is None and isinstance(grads[4], tuple) and
          all(isinstance(x, np.ndarray) and x.dtype == np.float64
              for x in grads[:3] + list(grads[4])))
    ok = ok and all(np.array_equal(a, b.numpy()) for a, b in
                    zip(grads[:3] + list(grads[4]), want))
    record("vjp: argument order, None for cu_seqlens, tuple for state", ok)
    grads = ra.vjp(ra.feature_map, [fq, "relu", None, 0.0], fq)
    record("vjp: None for strings / None / scalars",
           grads[1:] == [None, None, None] and grads[0].shape == fq.shape)
    bad = [
        lambda: ra.feature_map(fq, "gelu"),
        lambda: ra.feature_map(fq, "favor_pos"),
        lambda: ra.spectral_density(np.ones((2, 3)), np.ones((2, 4, 1)),
                                    "cauchy"),
        lambda: ra.spectral_density(np.ones((2, 5)), np.ones((2, 4, 1)),
                                    "gaussian_mixture"),
        lambda: ra.spectral_features(np.ones((1, 4, 1)), np.ones((2, 3, 1)),
                                     np.ones((2, 3)), "key_side"),
        lambda: ra.linear_attention(fq, fk, v, normalize="clamp"),
        lambda: ra.linear_attention(fq, fk[:, :, :3], v[:, :, :3],
                                    causal=True),
        lambda: ra.linear_attention(fq, fk, v, cu_seqlens=[0, 3, 2, 4]),
        lambda: ra.linear_attention(fq, fk, v, lengths=[5]),
        lambda: ra.linear_attention(fq, np.ones((1, 3, 4, 2)), v),
        lambda: ra.kernel_attention(fq, fk, v, "cosine"),
        lambda: ra.kernel_attention(fq, fk, v, "fourier_integral"),
        lambda: ra.position_transform(fq, np.ones((2, 1)), "quaternion"),
        lambda: ra.position_transform(fq, np.ones((2, 1)), "rotary",
                                      mix="shuffle"),
        lambda: ra.position_transform(fq, np.ones((2, 1)), "rotary",
                                      pairing="blocks"),
        lambda: ra.toeplitz_attention(fq, fk, v, np.ones((2, 7)),
                                      method="fast"),
    ]
    for i, fn in enumerate(bad):
        record(f"ValueError {i}", _raises(fn))


def _raises(fn):
    try:
        fn()
    except ValueError:
        return True
    return False


def main():
    for test in (test_feature_map, test_spectra, test_linear_attention,
                 test_kernel_attention, test_position_transform,
                 test_toeplitz_attention, test_attention,
                 test_compat_forms, test_conventions,
                 test_state, test_packed, test_lengths, test_grouped_heads,
                 test_vjp_and_errors):
        before = time.time()
        test()
        print(f"{test.__name__}: {time.time() - before:.1f} s")
    print(f"max finite-difference discrepancy {_worst_fd[0]:.1e} "
          f"({_worst_fd[1]})")
    print(f"time {time.time() - START:.1f} s")
    print(f"reference_autograd: {_checks} checks, {len(_failures)} failures")
    if _failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
