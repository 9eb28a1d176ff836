"""float64 reference implementations of the flt ops (docs/Semantics.md section 2).

Every function evaluates docs/Semantics.md's formula directly — quadratic forms with the
mask materialized, no tiling, no stabilization beyond what docs/Semantics.md prescribes —
in float64 NumPy, so that compiled kernels are checked against the
definition, never against themselves.
"""

import numpy as np

__all__ = [
    "feature_map", "spectral_density", "spectral_features",
    "linear_attention", "attention", "kernel_attention",
    "position_transform", "toeplitz_attention", "compare", "TOLERANCES",
    "GRADIENT_TOLERANCES",
]


def _f64(x):
    return None if x is None else np.asarray(x, dtype=np.float64)


def feature_map(x, kernel, w=None, eps=0.0, is_query=False,
                key_stabilizer="per_head"):
    """phi(x) for x [B, H, L, d], optional w [H, m, d] (docs/Semantics.md 2.1;
    key_stabilizer="global": the keys' favor_pos stabilizer is the max over
    the whole tensor)."""
    x, w = _f64(x), _f64(w)
    if kernel == "identity":
        return x.copy()
    if kernel == "elu_plus_one":
        return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0))) + eps
    if kernel == "relu":
        if w is None:
            return np.maximum(x, 0.0) + eps
        m = w.shape[1]
        u = np.einsum("hkd,bhld->bhlk", w, x)
        return np.maximum(u / np.sqrt(m), 0.0) + eps
    if kernel == "favor_pos":
        d, m = x.shape[-1], w.shape[1]
        xs = x * d ** -0.25
        u = np.einsum("hkd,bhld->bhlk", w, xs)
        half_norm = 0.5 * np.sum(xs * xs, axis=-1, keepdims=True)
        if is_query:
            c = np.max(u, axis=-1, keepdims=True)
        elif key_stabilizer == "global":
            c = np.max(u) if u.size else 0.0
        else:
            c = np.max(u, axis=(2, 3), keepdims=True) if u.size else 0.0
        return m ** -0.5 * (np.exp(u - half_norm - c) + eps)
    raise ValueError(f"unknown kernel {kernel!r}")


def spectral_density(theta, xi, spectrum, density="normal"):
    """rho = g(xi) / P(xi) for theta [H, P], xi [H, m_f, p] (docs/Semantics.md 2.2;
    density="normal_1d_constant": P's constant is (2 pi)^(-1/2) for every p)."""
    theta, xi = _f64(theta), _f64(xi)
    p = xi.shape[-1]
    if spectrum == "gaussian_mixture":
        K = theta.shape[1] // (p + 2)
        w = theta[:, :K]
        mu = theta[:, K:K + K * p].reshape(theta.shape[0], K, p)
        s = theta[:, K + K * p:K + K * p + K]
        diff = xi[:, :, None, :] - mu[:, None, :, :]          # [H, m_f, K, p]
        dist = np.sum(diff * diff, axis=-1)                    # [H, m_f, K]
        g = np.sum(w[:, None, :] * np.exp(-dist / np.exp(s)[:, None, :]), -1)
    elif spectrum == "local_window":
        C, v = theta[:, 0][:, None, None], theta[:, 1][:, None, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.sin(2 * np.pi * v * xi) / (np.pi * xi)
        factors = np.where(xi == 0, 2 * v, ratio)
        g = C[:, :, 0] * np.prod(factors, axis=-1)
    else:
        raise ValueError(f"unknown spectrum {spectrum!r}")
    if density not in ("normal", "normal_1d_constant"):
        raise ValueError(f"unknown density {density!r}")
    exponent = p if density == "normal" else 1
    P = (2 * np.pi) ** (-exponent / 2) * np.exp(-0.5 * np.sum(xi * xi, -1))
    return g / P


def spectral_features(r, xi, rho, weighting="query_side"):
    """Phi, Psi [B, H, L, 2 m_f] for r [B, L, p] (docs/Semantics.md 2.3)."""
    r, xi, rho = _f64(r), _f64(xi), _f64(rho)
    m_f = xi.shape[1]
    a = 2 * np.pi * np.einsum("hkp,blp->bhlk", xi, r)
    scale = m_f ** -0.5
    plain = scale * np.concatenate([np.cos(a), np.sin(a)], axis=-1)
    weights = np.concatenate([rho, rho], axis=-1)[None, :, None, :]
    phi = plain * weights
    psi = phi.copy() if weighting == "both_sides" else plain
    return phi, psi


def _normalize(num, den, normalize, eps):
    if normalize == "divide":
        return num / (den + eps)[..., None]
    if normalize == "guarded":
        return num / np.where(den > 0, den, 1.0)[..., None]
    if normalize == "none":
        return num
    raise ValueError(f"unknown normalization {normalize!r}")


def linear_attention(fq, fk, v, phi=None, psi=None, causal=False,
                     normalize="divide", eps=1e-6):
    """docs/Semantics.md 2.4 in its quadratic form, the L x S mask materialized (one
    (batch, head) at a time, so that long sequences fit in memory)."""
    fq, fk, v = _f64(fq), _f64(fk), _f64(v)
    phi, psi = _f64(phi), _f64(psi)
    B, H, L = fq.shape[:3]
    S = fk.shape[2]
    out = np.empty((B, H, L, v.shape[-1]))
    mask = np.tril(np.ones((L, S))) if causal else None
    for b in range(B):
        for h in range(H):
            scores = fq[b, h] @ fk[b, h].T
            if phi is not None:
                scores *= phi[b, h] @ psi[b, h].T
            if causal:
                scores *= mask
            out[b, h] = _normalize(scores @ v[b, h], scores.sum(-1),
                                   normalize, eps)
    return out


def attention(q, k, v, r, xi, theta, kernel, spectrum, w=None, eps=0.0,
              weighting="query_side", causal=False, normalize="guarded",
              rpe_form="mask", density="normal", key_stabilizer="per_head"):
    """One FLT layer, docs/Semantics.md 2.8 (rpe_form="concat": the official
    FLT code's form, [q, d^1/4 Phi] and [k, d^1/4 Psi] into the feature
    maps and no mask)."""
    rho = spectral_density(theta, xi, spectrum, density)
    phi, psi = spectral_features(r, xi, rho, weighting)
    if rpe_form == "concat":
        q, k = _f64(q), _f64(k)
        c = q.shape[-1] ** 0.25
        q = np.concatenate([q, c * phi], axis=-1)
        k = np.concatenate([k, c * psi], axis=-1)
        phi = psi = None
    elif rpe_form != "mask":
        raise ValueError(f"unknown rpe_form {rpe_form!r}")
    fq = feature_map(q, kernel, w, eps, is_query=True)
    fk = feature_map(k, kernel, w, eps, is_query=False,
                     key_stabilizer=key_stabilizer)
    return linear_attention(fq, fk, v, phi, psi, causal, normalize)


def _relative_bias(b, L, S):
    """[H, L, S] with b_{j-i} from column j - i + L - 1 of b [H, L+S-1]."""
    i = np.arange(L)[:, None]
    j = np.arange(S)[None, :]
    return b[:, j - i + L - 1]


def kernel_attention(q, k, v, kernel="softmax", scale=None, bias=None,
                     phi=None, psi=None, causal=False, temperature=None,
                     power=4, normalize="divide", eps=1e-6,
                     fourier_form="normalized"):
    """docs/Semantics.md 2.5: exact quadratic attention, one (batch, head) at a time
    (fourier_form="amplitude_eps": the FourierFormer code's
    sum s v / (sum s + eps) with s = prod_k (R sinc(R delta))^power, in the
    log domain with eps rescaled by the row max)."""
    amplitude_eps = (kernel == "fourier_integral" and
                     fourier_form == "amplitude_eps")
    q, k, v = _f64(q), _f64(k), _f64(v)
    scale, bias, phi, psi = _f64(scale), _f64(bias), _f64(phi), _f64(psi)
    B, H, L, d = q.shape
    S = k.shape[2]
    if temperature is None:
        temperature = 1.0 / np.sqrt(d)
    visible = np.tril(np.ones((L, S), dtype=bool)) if causal else \
        np.ones((L, S), dtype=bool)
    rel = _relative_bias(bias, L, S) if bias is not None else None
    out = np.zeros((B, H, L, v.shape[-1]))
    for b in range(B):
        for h in range(H):
            mask = phi[b, h] @ psi[b, h].T if phi is not None else None
            if kernel == "dot":
                scores = q[b, h] @ k[b, h].T
                if mask is not None:
                    scores = scores * mask
                scores = np.where(visible, scores, 0.0)
                out[b, h] = _normalize(scores @ v[b, h], scores.sum(-1),
                                       normalize, eps)
                continue
            if kernel == "softmax":
                log_s = temperature * (q[b, h] @ k[b, h].T)
            elif kernel == "fourier_integral":
                delta = q[b, h][:, None, :] - k[b, h][None, :, :]
                x = scale[h][None, None, :] * delta
                with np.errstate(divide="ignore"):
                    log_sinc = np.where(
                        x == 0, 0.0,
                        np.log(np.abs(np.sin(x))) - np.log(np.abs(x)))
                if amplitude_eps:
                    log_sinc = log_sinc + np.log(np.abs(scale[h]))[None, None]
                log_s = power * log_sinc.sum(-1)
            else:
                raise ValueError(f"unknown kernel {kernel!r}")
            if rel is not None:
                log_s = log_s + rel[h]
            log_s = np.where(visible, log_s, -np.inf)
            top = np.max(log_s, axis=-1, keepdims=True)
            finite = np.isfinite(top)
            weights = np.exp(log_s - np.where(finite, top, 0.0))
            if mask is not None:
                weights = weights * mask
            total = weights.sum(-1, keepdims=True)
            divisor = total
            if amplitude_eps and eps > 0:
                # eps / exp(top), formed in the log domain.
                with np.errstate(over="ignore"):
                    divisor = total + np.exp(
                        np.log(eps) - np.where(finite, top, 0.0))
            # A row whose every score is exactly zero yields zeros.
            out[b, h] = np.where(total != 0, (weights @ v[b, h]) /
                                 np.where(total != 0, divisor, 1.0), 0.0)
    return out


def position_transform(x, theta, core, mix="identity", pairing="interleaved",
                       offset=0, mix_vector=None, positions=None, mix_eps=0.0,
                       rotary_dims=0):
    """docs/Semantics.md 2.6: LRPE unitary transforms (core "permutation":
    theta is the integer table [H, P, d]; rotary_dims n: the rotary core
    turns the first n features only)."""
    x = _f64(x)
    B, H, L, d = x.shape
    if mix == "identity":
        y = x
    elif mix == "householder":
        u = _f64(mix_vector)
        u = u / (np.linalg.norm(u, axis=-1, keepdims=True) + mix_eps)
        y = x - 2 * u[None, :, None, :] * np.einsum("bhld,hd->bhl", x,
                                                     u)[..., None]
    elif mix == "odd_even":
        y = np.concatenate([x[..., 0::2], x[..., 1::2]], axis=-1)
    elif mix == "odd_even_inverse":
        half = (d + 1) // 2
        y = np.empty_like(x)
        y[..., 0::2], y[..., 1::2] = x[..., :half], x[..., half:]
    else:
        raise ValueError(f"unknown mix {mix!r}")
    if core == "permutation":
        table = np.asarray(theta).astype(np.int64)
        rows = table[:, offset + np.arange(L), :]             # [H, L, d]
        index = np.broadcast_to(rows[None], (B, H, L, d))
        return np.take_along_axis(y, index, axis=-1)
    theta = _f64(theta)
    if positions is None:
        s = np.broadcast_to(np.arange(L, dtype=np.float64) + offset, (B, L))
    else:
        s = _f64(positions)
    angle = s[:, None, :, None] * theta[None, :, None, :]   # [B, H, L, T]
    cos, sin = np.cos(angle), np.sin(angle)
    if core == "complex":
        return np.concatenate([y * cos, y * sin], axis=-1)
    # rotary_dims n: the first n features pair up, the rest pass through.
    n = (rotary_dims or d) // 2
    if pairing == "interleaved":
        a, b = y[..., 0:2 * n:2], y[..., 1:2 * n:2]
    else:
        a, b = y[..., :n], y[..., n:2 * n]
    a2, b2 = a * cos - b * sin, b * cos + a * sin
    out = y.copy()
    if pairing == "interleaved":
        out[..., 0:2 * n:2], out[..., 1:2 * n:2] = a2, b2
    else:
        out[..., :n], out[..., n:2 * n] = a2, b2
    return out


def toeplitz_attention(fq, fk, v, b, causal=False, normalize="divide",
                       eps=1e-6):
    """docs/Semantics.md 2.7: score_ij = exp(b_{j-i}) (fq_i . fk_j), quadratic,
    with b shifted by its largest finite entry per head (0 if none)."""
    fq, fk, v, b = _f64(fq), _f64(fk), _f64(v), _f64(b)
    B, H, L, _ = fq.shape
    shift = np.where(np.isfinite(b), b, -np.inf).max(axis=1, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    rel = _relative_bias(b - shift, L, L)
    visible = np.tril(np.ones((L, L))) if causal else np.ones((L, L))
    out = np.empty((B, H, L, v.shape[-1]))
    for bb in range(B):
        for h in range(H):
            scores = (fq[bb, h] @ fk[bb, h].T) * np.exp(rel[h]) * visible
            out[bb, h] = _normalize(scores @ v[bb, h], scores.sum(-1),
                                    normalize, eps)
    return out


# docs/Semantics.md section 3: (relative RMS error, max error relative to max |ref|).
TOLERANCES = {
    "f32": (1e-4, 1e-3),
    "f16": (1e-2, 2e-2),
    "bf16": (1e-2, 2e-2),
}


# Gradients (docs/Semantics.md §4): per argument, against float64 autograd.
GRADIENT_TOLERANCES = {
    "f32": (1e-3, 1e-2),
    "f16": (3e-2, 5e-2),
    "bf16": (3e-2, 5e-2),
}


def compare(out, ref, dtype="f32", gradient=False):
    """(ok, relative RMS error, max error / max |ref|) per docs/Semantics.md
    section 3 (`gradient`: §4's tolerances)."""
    out, ref = _f64(out), _f64(ref)
    if out.shape != ref.shape:
        raise ValueError(f"shape {out.shape} != reference {ref.shape}")
    if not np.all(np.isfinite(out)):
        return False, float("inf"), float("inf")
    scale = np.linalg.norm(ref)
    peak = np.max(np.abs(ref)) if ref.size else 0.0
    err = out - ref
    rel_rms = np.linalg.norm(err) / scale if scale > 0 else np.linalg.norm(err)
    rel_max = np.max(np.abs(err)) / peak if peak > 0 else (
        np.max(np.abs(err)) if err.size else 0.0)
    rms_tol, max_tol = (GRADIENT_TOLERANCES if gradient else TOLERANCES)[dtype]
    return bool(rel_rms <= rms_tol and rel_max <= max_tol), rel_rms, rel_max
