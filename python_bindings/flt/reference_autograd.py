"""float64 PyTorch reference of the flt ops, differentiable: the gradient
reference (docs/Semantics.md sections 2, 4 and 5).

Every function evaluates docs/Semantics.md section 2's formula directly, quadratically
and with the mask materialized, in torch float64, with the same names and
arguments as the NumPy reference `flt.reference` (so a test can call either),
plus docs/Semantics.md section 5's keyword arguments (`state`, `cu_seqlens`, `lengths`,
grouped heads). Torch autograd of these functions is the gradient that
`flt-compile --gradients` must reproduce, so the non-smooth points follow
docs/Semantics.md section 4's conventions exactly: the favor_pos stabilizer and every
running maximum or log-domain shift is a constant (all of them go through
`_constant`), relu'(0) = 0, elu'(x) = exp(x) for x <= 0, guarded
normalization differentiates num / 1 where den <= 0, sinc'(0) = 0, and a
score that is exactly 0 (or a row of them) gets a zero gradient. Branches
that a torch.where discards are always fed safe inputs, so that no inf or NaN
reaches the backward pass (0 * inf would poison the gradient). Inputs may be
NumPy arrays or torch tensors (kept in the autograd graph); results are
float64 torch tensors. `vjp` returns the gradients of a call as NumPy arrays.
Nothing here depends on the compiler or its native extension.
"""

import math

import numpy as np
import torch

__all__ = [
    "feature_map", "spectral_density", "spectral_features",
    "linear_attention", "attention", "kernel_attention",
    "position_transform", "toeplitz_attention", "vjp",
]

_F64 = torch.float64


def _t(x):
    """float64 tensor of x; a tensor stays in its autograd graph."""
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        return x.to(_F64)
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def _constant(x):
    """docs/Semantics.md section 4: stabilizers, running maxima and log-domain shifts are
    constants. Every one of them is made here and nowhere else, so a test
    can hold them fixed while it takes finite differences."""
    return x.detach()


def _ints(x, name):
    """cu_seqlens / lengths as a list of Python ints."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape "
                         f"{a.shape}")
    if a.size and not np.all(a == np.round(a)):
        raise ValueError(f"{name} must hold integers")
    return [int(n) for n in a]


def _zeros_like(x):
    return torch.zeros((), dtype=x.dtype).expand_as(x)


# Small-argument series. Near 0 the direct formulas (sin x / x and
# log|sin x| - log|x|) are ratios or differences of nearly equal numbers
# whose autograd derivatives cancel catastrophically; the series give the
# value and the derivative to full precision and make sinc'(0) = 0 exact.
_SERIES_BOUND = 0.1


def _sinc(x):
    """sin(x) / x with sinc(0) = 1."""
    small = x.abs() < _SERIES_BOUND
    xs = torch.where(small, x, _zeros_like(x))
    x2 = xs * xs
    series = 1 + x2 * (-1 / 6 + x2 * (1 / 120 + x2 * (
        -1 / 5040 + x2 * (1 / 362880 + x2 * (-1 / 39916800)))))
    xl = torch.where(small, torch.ones_like(x), x)
    return torch.where(small, series, torch.sin(xl) / xl)


def _log_abs_sinc(x):
    """(log|sinc x|, zero): zero marks factors that are exactly 0 (there
    the log is -inf; the value returned is 0 and the caller drops the
    score, so that neither -inf nor its infinite derivative enters the
    graph)."""
    small = x.abs() < _SERIES_BOUND
    xs = torch.where(small, x, _zeros_like(x))
    x2 = xs * xs
    # log(sin x / x) = sum_n (-1)^n 2^(2n-1) B_2n x^2n / (n (2n)!)
    series = x2 * (-1 / 6 + x2 * (-1 / 180 + x2 * (
        -1 / 2835 + x2 * (-1 / 37800 + x2 * (-1 / 467775)))))
    zero = ~small & (torch.sin(x) == 0)
    direct_ok = ~small & ~zero
    xl = torch.where(direct_ok, x, torch.ones_like(x))
    direct = torch.log(torch.abs(torch.sin(xl))) - torch.log(torch.abs(xl))
    return torch.where(small, series,
                       torch.where(direct_ok, direct, _zeros_like(x))), zero


# --------------------------------------------------------------------------
# 2.1 - 2.3: feature maps and random Fourier features


def feature_map(x, kernel, w=None, eps=0.0, is_query=False,
                key_stabilizer="per_head"):
    """phi(x) for x [B, H, L, d], optional w [H, m, d] (docs/Semantics.md 2.1;
    key_stabilizer="global": the keys' favor_pos stabilizer is the max over
    the whole tensor)."""
    if key_stabilizer not in ("per_head", "global"):
        raise ValueError(f"unknown key_stabilizer {key_stabilizer!r}")
    x, w = _t(x), _t(w)
    if kernel == "identity":
        if w is not None:
            raise ValueError("kernel identity takes no projection w")
        return x.clone()
    if kernel == "elu_plus_one":
        if w is not None:
            raise ValueError("kernel elu_plus_one takes no projection w")
        positive = x > 0
        # exp only ever sees x <= 0 (no overflow in the discarded branch);
        # at x = 0 the exp branch is taken, so elu'(0) = exp(0) = 1.
        negative_part = torch.exp(torch.where(positive, _zeros_like(x), x))
        return torch.where(positive, x + 1.0, negative_part) + eps
    if kernel == "relu":
        if w is not None:
            _check_projection(x, w)
            x = torch.einsum("hkd,bhld->bhlk", w, x) / math.sqrt(w.shape[1])
        # where(x > 0, x, 0): the derivative at exactly 0 is 0 (relu'(0) = 0).
        return torch.where(x > 0, x, _zeros_like(x)) + eps
    if kernel == "favor_pos":
        if w is None:
            raise ValueError("kernel favor_pos requires a projection w")
        _check_projection(x, w)
        d, m = x.shape[-1], w.shape[1]
        xs = x * d ** -0.25
        u = torch.einsum("hkd,bhld->bhlk", w, xs)
        half_norm = 0.5 * torch.sum(xs * xs, dim=-1, keepdim=True)
        if u.numel() == 0:
            c = torch.zeros((), dtype=_F64)
        elif is_query:
            c = _constant(torch.amax(u, dim=-1, keepdim=True))
        elif key_stabilizer == "global":
            c = _constant(torch.amax(u))
        else:
            c = _constant(torch.amax(u, dim=(2, 3), keepdim=True))
        return m ** -0.5 * (torch.exp(u - half_norm - c) + eps)
    raise ValueError(f"unknown kernel {kernel!r}")


def _check_projection(x, w):
    if w.dim() != 3 or w.shape[0] != x.shape[1] or w.shape[2] != x.shape[3]:
        raise ValueError(f"projection w {tuple(w.shape)} does not match x "
                         f"{tuple(x.shape)} (expected [H, m, d])")


def spectral_density(theta, xi, spectrum, density="normal"):
    """rho = g(xi) / P(xi) for theta [H, P], xi [H, m_f, p] (docs/Semantics.md 2.2;
    density="normal_1d_constant": P's constant is (2 pi)^(-1/2) for every p)."""
    if density not in ("normal", "normal_1d_constant"):
        raise ValueError(f"unknown density {density!r}")
    theta, xi = _t(theta), _t(xi)
    H, P = theta.shape
    p = xi.shape[-1]
    if spectrum == "gaussian_mixture":
        if P % (p + 2):
            raise ValueError(f"gaussian_mixture needs P = (p + 2) K; got "
                             f"P = {P} with p = {p}")
        K = P // (p + 2)
        w = theta[:, :K]
        mu = theta[:, K:K + K * p].reshape(H, K, p)
        s = theta[:, K + K * p:]
        diff = xi[:, :, None, :] - mu[:, None, :, :]          # [H, m_f, K, p]
        dist = torch.sum(diff * diff, dim=-1)                  # [H, m_f, K]
        spread = torch.exp(s)[:, None, :]                      # sigma^2
        g = torch.sum(w[:, None, :] * torch.exp(-dist / spread), dim=-1)
    elif spectrum == "local_window":
        if P != 2:
            raise ValueError(f"local_window needs P = 2; got P = {P}")
        C = theta[:, 0][:, None]
        v = theta[:, 1][:, None, None]
        # sin(2 pi v xi) / (pi xi) = 2 v sinc(2 pi v xi): the same number,
        # but defined (2 v) and smooth at xi = 0.
        factors = 2 * v * _sinc(2 * math.pi * v * xi)
        g = C * torch.prod(factors, dim=-1)
    else:
        raise ValueError(f"unknown spectrum {spectrum!r}")
    exponent = p if density == "normal" else 1
    P = (2 * math.pi) ** (-exponent / 2) * torch.exp(
        -0.5 * torch.sum(xi * xi, -1))
    return g / P


def spectral_features(r, xi, rho, weighting="query_side"):
    """Phi, Psi [B, H, L, 2 m_f] for r [B, L, p] (docs/Semantics.md 2.3)."""
    if weighting not in ("query_side", "both_sides"):
        raise ValueError(f"unknown weighting {weighting!r}")
    r, xi, rho = _t(r), _t(xi), _t(rho)
    m_f = xi.shape[1]
    a = 2 * math.pi * torch.einsum("hkp,blp->bhlk", xi, r)
    plain = m_f ** -0.5 * torch.cat([torch.cos(a), torch.sin(a)], dim=-1)
    weights = torch.cat([rho, rho], dim=-1)[None, :, None, :]
    phi = plain * weights
    psi = phi if weighting == "both_sides" else plain
    return phi, psi


# --------------------------------------------------------------------------
# docs/Semantics.md section 5 plumbing: which keys each query sees, which rows exist.


def _expand_heads(x, H, name):
    """Grouped heads: query head h reads head h // (H / H_kv) of x."""
    if x is None or x.shape[1] == H:
        return x
    H_kv = x.shape[1]
    if H_kv == 0 or H % H_kv:
        raise ValueError(f"{name} has {H_kv} heads, which does not divide "
                         f"the {H} query heads")
    return torch.repeat_interleave(x, H // H_kv, dim=1)


class _Layout:
    """Visibility and ownership for docs/Semantics.md section 5: `visible` [B, 1, L, S]
    (key j exists for query i), `rows` [B, 1, L, 1] (query row i exists),
    `seq_of_query` / `seq_of_key` (the state index, -1 for none), and for
    packed sequences the start of each token's sequence."""

    def __init__(self, B, L, S, causal, cu_seqlens, lengths):
        if causal and S != L:
            raise ValueError(f"causal needs S = L; got L = {L}, S = {S}")
        visible = torch.ones((B, 1, L, S), dtype=torch.bool)
        if causal:
            visible &= torch.ones((L, S), dtype=torch.bool).tril()
        self.rows = torch.ones((B, 1, L, 1), dtype=torch.bool)
        seq_q = torch.arange(B)[:, None].expand(B, L)
        seq_k = torch.arange(B)[:, None].expand(B, S).clone()
        self.cu = None
        if cu_seqlens is not None:
            cu = _ints(cu_seqlens, "cu_seqlens")
            if B != 1 or S != L:
                raise ValueError(f"packed sequences need B = 1 and S = L; got "
                                 f"B = {B}, L = {L}, S = {S}")
            if (len(cu) < 2 or cu[0] != 0 or cu[-1] != L or
                    any(a >= b for a, b in zip(cu, cu[1:]))):
                raise ValueError(f"cu_seqlens {cu} must rise strictly from 0 "
                                 f"to L = {L}")
            ids = torch.repeat_interleave(
                torch.arange(len(cu) - 1), torch.tensor(np.diff(cu)))
            visible &= (ids[:, None] == ids[None, :])
            seq_q, seq_k = ids[None, :], ids[None, :].clone()
            self.cu = cu
        if lengths is not None:
            n = _ints(lengths, "lengths")
            if len(n) != B or any(not 0 <= x <= S for x in n):
                raise ValueError(f"lengths {n} must hold B = {B} values in "
                                 f"[0, S = {S}]")
            n = torch.tensor(n)
            keys = torch.arange(S)[None, :] < n[:, None]            # [B, S]
            visible &= keys[:, None, None, :]
            rows = torch.arange(L)[None, :] < n[:, None]           # [B, L]
            self.rows = rows[:, None, :, None]
            seq_k = torch.where(keys, seq_k, torch.full_like(seq_k, -1))
        self.visible = visible
        self.seq_of_query, self.seq_of_key = seq_q, seq_k
        self.states = len(self.cu) - 1 if self.cu is not None else B

    def owners(self, seq):
        """[N, B, n] one-hot of each token's state (zero where it has none)."""
        return (seq[None, :, :] ==
                torch.arange(self.states)[:, None, None]).to(_F64)

    def sequence_starts(self, L):
        """[L] start of each token's sequence (0 without packing)."""
        if self.cu is None:
            return torch.zeros(L, dtype=torch.long)
        return torch.tensor(self.cu[:-1])[self.seq_of_query[0]]

    def drop_rows(self, x):
        """Rows i >= n_b of the result are 0, with zero gradient."""
        return torch.where(self.rows, x, _zeros_like(x))


def _normalize(num, den, normalize, eps):
    if normalize == "divide":
        return num / (den + eps)[..., None]
    if normalize == "guarded":
        # Where den <= 0 the divisor is the constant 1: d(num / 1). The
        # discarded branch holds den itself, never a division, so no NaN.
        positive = den > 0
        divisor = torch.where(positive, den, torch.ones_like(den))
        return num / divisor[..., None]
    if normalize == "none":
        return num
    raise ValueError(f"unknown normalization {normalize!r}")


def _kron(f, g):
    """Row-wise Kronecker product, feature index a * r + b (docs/Semantics.md 5)."""
    if g is None:
        return f
    return (f[..., :, None] * g[..., None, :]).flatten(-2)


def _pair(phi, psi):
    if (phi is None) != (psi is None):
        raise ValueError("rpe needs both Phi and Psi")


def _relative_bias(b, L, S):
    """[H, L, S] with b_{j-i} from column j - i + L - 1 of b [H, L+S-1]."""
    if b.shape[1] != L + S - 1:
        raise ValueError(f"bias has {b.shape[1]} columns; L + S - 1 = "
                         f"{L + S - 1}")
    i = torch.arange(L)[:, None]
    j = torch.arange(S)[None, :]
    return b[:, j - i + L - 1]


# --------------------------------------------------------------------------
# 2.4, 2.8: linear attention and the FLT layer


def linear_attention(fq, fk, v, phi=None, psi=None, causal=False,
                     normalize="divide", eps=1e-6, *, state=None,
                     cu_seqlens=None, lengths=None):
    """docs/Semantics.md 2.4 in its quadratic form, the L x S mask materialized, with
    docs/Semantics.md 5: state=(T0, z0) ([N, H, m r, e], [N, H, m r]; N = B, or the
    number of packed sequences) makes the result (out, T, z); cu_seqlens
    packs sequences (B = 1); lengths [B] pads; fk and v may have fewer
    (grouped) heads."""
    _pair(phi, psi)
    fq, fk, v, phi, psi = _t(fq), _t(fk), _t(v), _t(phi), _t(psi)
    B, H, L, _ = fq.shape
    fk, v = _expand_heads(fk, H, "fk"), _expand_heads(v, H, "v")
    S = fk.shape[2]
    layout = _Layout(B, L, S, causal, cu_seqlens, lengths)
    scores = fq @ fk.transpose(-1, -2)
    if phi is not None:
        scores = scores * (phi @ psi.transpose(-1, -2))
    scores = torch.where(layout.visible, scores, _zeros_like(scores))
    num = scores @ v
    den = scores.sum(-1)
    if state is not None:
        # The state enters every query row of its sequence (causal or not):
        # it stands for keys that came before this call.
        T0, z0 = (_t(s) for s in state)
        q_feat, k_feat = _kron(fq, phi), _kron(fk, psi)
        want = (layout.states, H, q_feat.shape[-1], v.shape[-1])
        if tuple(T0.shape) != want or tuple(z0.shape) != want[:3]:
            raise ValueError(f"state T0 {tuple(T0.shape)}, z0 "
                             f"{tuple(z0.shape)}: expected {want} and "
                             f"{want[:3]}")
        own_q = layout.owners(layout.seq_of_query)
        own_k = layout.owners(layout.seq_of_key)
        num = num + torch.einsum("nbl,bhlf,nhfe->bhle", own_q, q_feat, T0)
        den = den + torch.einsum("nbl,bhlf,nhf->bhl", own_q, q_feat, z0)
        T = T0 + torch.einsum("nbs,bhsf,bhse->nhfe", own_k, k_feat, v)
        z = z0 + torch.einsum("nbs,bhsf->nhf", own_k, k_feat)
    # Padded rows: normalize 0 / 1 there, so that no 0 / 0 is formed even
    # in a branch that is then dropped.
    rows = layout.rows[..., 0]
    den = torch.where(rows, den, torch.ones_like(den))
    out = layout.drop_rows(_normalize(num, den, normalize, eps))
    return (out, T, z) if state is not None else out


def attention(q, k, v, r, xi, theta, kernel, spectrum, w=None, eps=0.0,
              weighting="query_side", causal=False, normalize="guarded",
              rpe_form="mask", density="normal", key_stabilizer="per_head",
              *, state=None, cu_seqlens=None, lengths=None):
    """One FLT layer, docs/Semantics.md 2.8, exactly its composition. docs/Semantics.md 5's
    arguments go to linear_attention only (the feature maps see every
    token, as 2.8 says). With grouped heads, k (and so fk) is repeated to
    the query heads before the feature map, because w is per query head."""
    q, k = _t(q), _t(k)
    k = _expand_heads(k, q.shape[1], "k")
    rho = spectral_density(theta, xi, spectrum, density)
    phi, psi = spectral_features(r, xi, rho, weighting)
    if rpe_form == "concat":
        # The official FLT code's form: [q, d^1/4 Phi], [k, d^1/4 Psi].
        c = q.shape[-1] ** 0.25
        B = q.shape[0]
        q = torch.cat([q, c * phi.expand(B, *phi.shape[1:])], dim=-1)
        k = torch.cat([k, c * psi.expand(B, *psi.shape[1:])], dim=-1)
        phi = psi = None
    elif rpe_form != "mask":
        raise ValueError(f"unknown rpe_form {rpe_form!r}")
    fq = feature_map(q, kernel, w, eps, is_query=True)
    fk = feature_map(k, kernel, w, eps, is_query=False,
                     key_stabilizer=key_stabilizer)
    return linear_attention(fq, fk, v, phi, psi, causal, normalize,
                            state=state, cu_seqlens=cu_seqlens,
                            lengths=lengths)


# --------------------------------------------------------------------------
# 2.5: exact quadratic attention with a pairwise kernel


def kernel_attention(q, k, v, kernel="softmax", scale=None, bias=None,
                     phi=None, psi=None, causal=False, temperature=None,
                     power=4, normalize="divide", eps=1e-6,
                     fourier_form="normalized", *,
                     cu_seqlens=None, lengths=None):
    """docs/Semantics.md 2.5 with docs/Semantics.md 5 (cu_seqlens, lengths, grouped k and v);
    fourier_form="amplitude_eps": the FourierFormer code's form."""
    if fourier_form not in ("normalized", "amplitude_eps"):
        raise ValueError(f"unknown fourier_form {fourier_form!r}")
    amplitude_eps = (kernel == "fourier_integral" and
                     fourier_form == "amplitude_eps")
    if kernel not in ("softmax", "dot", "fourier_integral"):
        raise ValueError(f"unknown kernel {kernel!r}")
    if (scale is not None) != (kernel == "fourier_integral"):
        raise ValueError("scale(R) is required by fourier_integral and "
                         "allowed with no other kernel")
    if bias is not None and kernel == "dot":
        raise ValueError("kernel dot takes no bias")
    _pair(phi, psi)
    q, k, v = _t(q), _t(k), _t(v)
    scale, bias, phi, psi = _t(scale), _t(bias), _t(phi), _t(psi)
    B, H, L, d = q.shape
    k, v = _expand_heads(k, H, "k"), _expand_heads(v, H, "v")
    S = k.shape[2]
    layout = _Layout(B, L, S, causal, cu_seqlens, lengths)
    visible = layout.visible
    mask = phi @ psi.transpose(-1, -2) if phi is not None else None
    if kernel == "dot":
        scores = q @ k.transpose(-1, -2)
        if mask is not None:
            scores = scores * mask
        scores = torch.where(visible, scores, _zeros_like(scores))
        den = torch.where(layout.rows[..., 0], scores.sum(-1),
                          torch.ones(B, H, L, dtype=_F64))
        return layout.drop_rows(_normalize(scores @ v, den, normalize, eps))
    if kernel == "softmax":
        if temperature is None:
            temperature = 1.0 / math.sqrt(d)
        log_s = temperature * (q @ k.transpose(-1, -2))
    else:
        x = scale[None, :, None, None, :] * (q[:, :, :, None, :] -
                                             k[:, :, None, :, :])
        log_sinc, zero = _log_abs_sinc(x)
        if amplitude_eps:
            log_sinc = log_sinc + torch.log(torch.abs(scale))[
                None, :, None, None, :]
        log_s = power * log_sinc.sum(-1)
        # A score with a factor exactly 0 is 0: it leaves the row like a
        # masked key (zero weight, zero gradient).
        visible = visible & ~zero.any(-1)
    if bias is not None:
        log_s = log_s + _relative_bias(bias, L, S)[None]
    # Max over the visible keys of each row: a constant shift (docs/Semantics.md 4).
    # Rows without visible keys shift by 0, and exp only sees visible
    # entries (masked ones read 0, whose exp is finite and then dropped).
    top = torch.amax(torch.where(visible, log_s,
                                 torch.full_like(log_s, -math.inf)),
                     dim=-1, keepdim=True)
    top = _constant(torch.where(torch.isfinite(top), top, _zeros_like(top)))
    shifted = torch.where(visible, log_s - top, _zeros_like(log_s))
    weights = torch.where(visible, torch.exp(shifted), _zeros_like(log_s))
    if mask is not None:
        weights = weights * mask
    total = weights.sum(-1, keepdim=True)
    divisor = total
    if amplitude_eps and eps > 0:
        # sum s + eps in the shifted domain: eps exp(-top), a constant.
        divisor = total + torch.exp(math.log(eps) - top)
    # A row whose every score is exactly 0 yields zeros (zero gradient).
    nonzero = total != 0
    out = torch.where(nonzero,
                      (weights @ v) / torch.where(nonzero, divisor,
                                                  torch.ones_like(total)),
                      torch.zeros((), dtype=_F64))
    return layout.drop_rows(out)


# --------------------------------------------------------------------------
# 2.6: LRPE position transforms


def position_transform(x, theta, core, mix="identity", pairing="interleaved",
                       offset=0, mix_vector=None, positions=None,
                       mix_eps=0.0, rotary_dims=0, *, cu_seqlens=None):
    """docs/Semantics.md 2.6; with cu_seqlens (B = 1) the default positions count from
    each packed sequence's start (explicit positions are used as given).
    core "permutation" reads theta as the integer table [H, P, d];
    rotary_dims n: the rotary core turns the first n features only."""
    if core not in ("rotary", "complex", "permutation"):
        raise ValueError(f"unknown core {core!r}")
    if pairing not in ("interleaved", "halves"):
        raise ValueError(f"unknown pairing {pairing!r}")
    x = _t(x)
    B, H, L, d = x.shape
    if core == "permutation":
        table = torch.as_tensor(np.asarray(
            theta.detach().cpu().numpy() if isinstance(theta, torch.Tensor)
            else theta)).to(torch.long)
    else:
        theta = _t(theta)
        T = (rotary_dims or d) // 2 if core == "rotary" else d
        if core == "rotary" and (rotary_dims or d) % 2:
            raise ValueError(f"rotary needs an even feature size (or "
                             f"rotary_dims); got d = {d}")
        if tuple(theta.shape) != (H, T):
            raise ValueError(f"theta {tuple(theta.shape)}: expected "
                             f"{(H, T)} for core {core}")
    if mix == "identity":
        y = x
    elif mix == "householder":
        if mix_vector is None:
            raise ValueError("mix householder requires mix_vector")
        u = _t(mix_vector)
        u = u / (torch.linalg.norm(u, dim=-1, keepdim=True) + mix_eps)
        y = x - 2 * u[None, :, None, :] * torch.einsum(
            "bhld,hd->bhl", x, u)[..., None]
    elif mix == "odd_even":
        y = torch.cat([x[..., 0::2], x[..., 1::2]], dim=-1)
    elif mix == "odd_even_inverse":
        half = (d + 1) // 2
        order = torch.empty(d, dtype=torch.long)
        order[0::2] = torch.arange(half)
        order[1::2] = half + torch.arange(d - half)
        y = x[..., order]
    else:
        raise ValueError(f"unknown mix {mix!r}")
    if core == "permutation":
        if positions is not None:
            raise ValueError("core permutation takes no explicit positions")
        # Rows count from each packed sequence's start, as the default
        # positions do (docs/Semantics.md 5).
        starts = _Layout(B, L, L, False, cu_seqlens, None).sequence_starts(L)
        rows = table[:, offset + torch.arange(L) - starts, :]  # [H, L, d]
        return torch.gather(y, -1, rows[None].expand(B, H, L, d))
    if positions is not None:
        s = _t(positions)
    else:
        layout = _Layout(B, L, L, False, cu_seqlens, None)
        index = torch.arange(L) - layout.sequence_starts(L)
        s = (index.to(_F64) + offset).expand(B, L)
    angle = s[:, None, :, None] * theta[None, :, None, :]   # [B, H, L, T]
    cos, sin = torch.cos(angle), torch.sin(angle)
    if core == "complex":
        return torch.cat([y * cos, y * sin], dim=-1)
    # rotary_dims n: the first n features pair up, the rest pass through.
    n = (rotary_dims or d) // 2
    rest = y[..., 2 * n:]
    if pairing == "interleaved":
        a, b = y[..., 0:2 * n:2], y[..., 1:2 * n:2]
    else:
        a, b = y[..., :n], y[..., n:2 * n]
    a2, b2 = a * cos - b * sin, b * cos + a * sin
    if pairing == "interleaved":
        return torch.cat([torch.stack([a2, b2], dim=-1).flatten(-2), rest],
                         dim=-1)
    return torch.cat([a2, b2, rest], dim=-1)


# --------------------------------------------------------------------------
# 2.7: Toeplitz-masked kernelized attention


def toeplitz_attention(fq, fk, v, b, causal=False, normalize="divide",
                       eps=1e-6, method="auto", *, cu_seqlens=None,
                       lengths=None):
    """docs/Semantics.md 2.7, quadratic (the reference for every method), with docs/Semantics.md 5.
    As docs/Semantics.md and flt.reference do, max(b) per head is subtracted before exp;
    it is a constant (docs/Semantics.md 4), exact for guarded normalization and for
    divide up to eps, but it scales `none` results by exp(-max b)."""
    if method not in ("auto", "fft", "direct"):
        raise ValueError(f"unknown method {method!r}")
    fq, fk, v, b = _t(fq), _t(fk), _t(v), _t(b)
    B, H, L, _ = fq.shape
    fk, v = _expand_heads(fk, H, "fk"), _expand_heads(v, H, "v")
    if fk.shape[2] != L:
        raise ValueError(f"toeplitz_attention needs S = L; got L = {L}, "
                         f"S = {fk.shape[2]}")
    layout = _Layout(B, L, L, causal, cu_seqlens, lengths)
    shift = _constant(torch.amax(b, dim=1, keepdim=True))
    rel = _relative_bias(b - shift, L, L)
    scores = (fq @ fk.transpose(-1, -2)) * torch.exp(rel)[None]
    scores = torch.where(layout.visible, scores, _zeros_like(scores))
    den = torch.where(layout.rows[..., 0], scores.sum(-1),
                      torch.ones(B, H, L, dtype=_F64))
    return layout.drop_rows(_normalize(scores @ v, den, normalize, eps))


# --------------------------------------------------------------------------
# Gradients


def _leaf(x):
    """A fresh float64 leaf for a floating-point array or tensor, else
    None (integers such as cu_seqlens, Python scalars, strings)."""
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            return None
        return x.detach().to(_F64).clone().requires_grad_(True)
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
        return torch.tensor(x, dtype=_F64, requires_grad=True)
    return None


def vjp(fn, args, cotangents, **kwargs):
    """Gradients of fn(*args, **kwargs): Σ over results of <cotangent,
    ∂result/∂arg>, one entry per argument in order, as float64 NumPy
    arrays; None for arguments that are not floating-point arrays or
    tensors (cu_seqlens, lengths, flags). An argument that is a tuple or
    list (such as state=(T0, z0) passed positionally) gets a tuple.
    `cotangents`: one array per result (a single array for one result)."""
    leaves, call_args = [], []
    for a in args:
        if isinstance(a, (tuple, list)):
            inner = [_leaf(x) for x in a]
            call_args.append(tuple(x if l is None else l
                                   for x, l in zip(a, inner)))
            leaves.append(tuple(inner))
        else:
            leaf = _leaf(a)
            call_args.append(a if leaf is None else leaf)
            leaves.append(leaf)
    results = fn(*call_args, **kwargs)
    if isinstance(results, torch.Tensor):
        results = (results,)
    if isinstance(cotangents, (np.ndarray, torch.Tensor)):
        cotangents = (cotangents,)
    if len(cotangents) != len(results):
        raise ValueError(f"{len(cotangents)} cotangents for {len(results)} "
                         f"results")
    for c, r in zip(cotangents, results):
        if tuple(np.shape(c)) != tuple(r.shape):
            raise ValueError(f"cotangent of shape {tuple(np.shape(c))} for a "
                             f"result of shape {tuple(r.shape)}")
    flat = [l for entry in leaves
            for l in (entry if isinstance(entry, tuple) else (entry,))
            if l is not None]
    grads = torch.autograd.grad(
        results, flat, [_t(c) for c in cotangents], allow_unused=True) \
        if flat else ()
    # An argument the results do not depend on has gradient 0.
    by_leaf = {id(l): (np.zeros(tuple(l.shape)) if g is None
                       else g.detach().numpy())
               for l, g in zip(flat, grads)}

    def grad_of(leaf):
        return None if leaf is None else by_leaf[id(leaf)]

    return [tuple(grad_of(l) for l in entry) if isinstance(entry, tuple)
            else grad_of(entry) for entry in leaves]
