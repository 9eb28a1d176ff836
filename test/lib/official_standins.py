"""Stand-ins for the papers' official code: plain-torch forwards of the
official modules that flt.compat converts, written for these tests from the
math of the official sources (each function names the source and states
what it computes). They do what the official code does — its layouts,
constants, stabilizers and numerical accidents included (evaluated in the
dtype asked for, so float32 reproduces the official code's overflow) — so
that the tests that compare flt with them stand in for runs of the official
code itself (JAX, the fairseq-evo tree and the FourierFormer C++ extension
are not installed here).
"""

import math

import torch


def _t(x, dtype):
    if isinstance(x, torch.Tensor):
        return x.to(dtype)
    return torch.as_tensor(x).to(dtype)


# --------------------------------------------------------------------------
# FLT: google-research imp/max/modeling/scalable_attention.py
# general_favor_attention(..., flt=True) and embeddings.create_flt_snippet;
# scenic/projects/performer/performer.py sharp_masked_favor_attention.
# --------------------------------------------------------------------------


def flt_snippet(flt_params, coords, points, coeff, dtype=torch.float64):
    """create_flt_snippet: [B?, L, H, m_f] complex. rho = g(points) /
    ((2 pi)^-1/2 exp(-|points|^2 / 2)) with g the weighted Gaussians of
    flt_params ([w_1..w_K, mu (K x p), log sigma^2 (K)] per head); the
    snippet is m_f^-1/2 rho exp(2 pi i coeff points . coords)."""
    params, xi = _t(flt_params, dtype), _t(points, dtype)
    coords = _t(coords, dtype)
    H, m_f, p = xi.shape
    K = params.shape[1] // (p + 2)
    w = params[:, :K]
    mu = params[:, K:(1 + p) * K].reshape(H, K, p)
    sq_sigma = torch.exp(params[:, (1 + p) * K:])
    dist = ((xi[:, :, None, :] - mu[:, None, :, :]) ** 2).sum(-1)
    g = (w[:, None, :] * torch.exp(-dist / sq_sigma[:, None, :])).sum(-1)
    density = (1.0 / math.sqrt(2 * math.pi)) * torch.exp(
        -(xi * xi / 2.0).sum(-1))
    ratios = g / density                                      # [H, m_f]
    phase = torch.einsum("...ld,hmd->...lhm", coords, xi)
    angle = 2.0 * math.pi * coeff * phase
    snippet = torch.complex(torch.cos(angle), torch.sin(angle))
    snippet = snippet * ratios.to(snippet.dtype)
    return snippet / math.sqrt(m_f)


def favor_features(data, is_query, projection, eps=1e-6,
                   constant_stabilizer=False):
    """exp_softmax_kernel_transformation with normalize_data and the
    numerator/denominator stabilizer: data [B, L, H, D], projection
    [M, D]; queries take the max over their own features, keys the max
    over the whole tensor. The official code differentiates through the
    max; constant_stabilizer=True holds it constant in autograd (flt's
    convention, docs/Semantics.md section 4) without changing the value."""
    D = data.shape[-1]
    normalizer = 1.0 / math.sqrt(math.sqrt(D))
    ratio = 1.0 / math.sqrt(projection.shape[0])
    dash = torch.einsum("blhd,md->blhm", normalizer * data, projection)
    diag = (data * data).sum(-1, keepdim=True) / 2.0 * normalizer * normalizer
    if is_query:
        stab = dash.amax(dim=-1, keepdim=True)
    else:
        stab = dash.max()
    if constant_stabilizer:
        stab = stab.detach()
    return ratio * (torch.exp(dash - stab - diag) + eps)


def relu_features(data, projection=None, eps=1e-6):
    """imp/max relu_kernel_transformation (relu(x) + 1e-6, projection
    ignored) and scenic generic_kernel_transformation (relu(x W^T / sqrt(M))
    + 1e-3 with a projection, relu(x) + 1e-3 without): eps picks."""
    if projection is None:
        return torch.relu(data) + eps
    dash = torch.einsum("blhd,md->blhm", data, projection) / math.sqrt(
        projection.shape[0])
    return torch.relu(dash) + eps


def favor_attention(query_prime, key_prime, value, causal=False,
                    guarded=True, eps=0.0):
    """noncausal_numerator / noncausal_denominator (and their causal prefix
    counterparts), then the normalizer guarded (<= 0 -> 1, imp/max and
    sharp_masked) or divided with eps."""
    if causal:
        kv = torch.einsum("blhm,blhd->blhmd", key_prime, value).cumsum(1)
        num = torch.einsum("blhm,blhmd->blhd", query_prime, kv)
        den = torch.einsum("blhm,blhm->blh", query_prime,
                           key_prime.cumsum(1))
    else:
        kv = torch.einsum("...lhm,...lhd->...hmd", key_prime, value)
        num = torch.einsum("...lhm,...hmd->...lhd", query_prime, kv)
        den = torch.einsum("...lhm,...hm->...lh", query_prime,
                           key_prime.sum(-3))
    den = den[..., None]
    if guarded:
        den = torch.where(den <= 0.0, torch.ones_like(den), den)
    else:
        den = den + eps
    return num / den


def flt_attention(query, key, value, coords, flt_params, points,
                  kernel="favor_pos", projection=None, eps=None,
                  causal=False, dtype=torch.float64,
                  constant_stabilizer=False):
    """The official FLT layer: query/key [B, L, H, d], value [B, L, H, e],
    coords [L, p] or [B, L, p]; the snippet of coefficient +1 (queries)
    and -1 (keys) scaled by d^1/4 and concatenated as [q, Re, Im] and
    [k, Re, -Im]; the kernel features of the longer vectors; guarded
    normalization. kernel: "favor_pos", "relu" (imp/max: eps 1e-6, no
    projection) or "generic_relu" (scenic: eps 1e-3, optional
    projection). constant_stabilizer: see favor_features. Returns
    [B, L, H, e]."""
    q, k, v = (_t(x, dtype) for x in (query, key, value))
    B, L, H, d = q.shape
    coe = math.sqrt(math.sqrt(d))
    q_snip = flt_snippet(flt_params, coords, points, 1.0, dtype)
    k_snip = flt_snippet(flt_params, coords, points, -1.0, dtype)
    shape = (B, L, H, q_snip.shape[-1])
    q_real = coe * torch.broadcast_to(q_snip.real, shape)
    q_imag = coe * torch.broadcast_to(q_snip.imag, shape)
    k_real = coe * torch.broadcast_to(k_snip.real, shape)
    k_imag = coe * torch.broadcast_to(k_snip.imag, shape)
    q = torch.cat([q, q_real, q_imag], dim=-1)
    k = torch.cat([k, k_real, -k_imag], dim=-1)
    proj = None if projection is None else _t(projection, dtype)
    if kernel == "favor_pos":
        fq = favor_features(q, True, proj, 1e-6 if eps is None else eps,
                            constant_stabilizer)
        fk = favor_features(k, False, proj, 1e-6 if eps is None else eps,
                            constant_stabilizer)
    elif kernel == "relu":
        fq = relu_features(q, None, 1e-6 if eps is None else eps)
        fk = relu_features(k, None, 1e-6 if eps is None else eps)
    elif kernel == "generic_relu":
        fq = relu_features(q, proj, 1e-3 if eps is None else eps)
        fk = relu_features(k, proj, 1e-3 if eps is None else eps)
    else:
        raise ValueError(kernel)
    return favor_attention(fq, fk, v, causal=causal, guarded=True)


# --------------------------------------------------------------------------
# LRPE: OpenNLPLab fairseq-evo fairseq/modules/urpe.py, class Urpe.
# --------------------------------------------------------------------------


def urpe_permutation_table(permutation, max_positions):
    """The 'permutation' buffer [1, max_positions, e]: row 0 the identity,
    row s the previous row gathered by the random permutation (pi^s)."""
    rows = [torch.arange(len(permutation))]
    perm = torch.as_tensor(permutation)
    for _ in range(max_positions - 1):
        rows.append(rows[-1][perm])
    return torch.stack(rows)[None]


def urpe_forward(x, core_matrix, p_matrix, theta_type="a", theta=None,
                 householder_learned=False, v=None, table=None,
                 dtype=torch.float32):
    """Urpe.forward on x [b, l, e]: P (1 identity, 2 Householder with v /
    (|v| + 1e-6) when learned, v as is otherwise, 4 odd-even
    y[2t] = x[t], y[2t+1] = x[ceil(e/2) + t]), then the core (1 rotary on
    the first e - e % 2 features, 2 rotary on the first e // 2 rounded up to
    even, 3 the table's permutation at position l). theta: the learned
    parameter (core 1) or None for theta_type a / b / c."""
    x = _t(x, dtype)
    b, l, e = x.shape
    if p_matrix == 2:
        v = _t(v, dtype).reshape(1, e, 1)
        if householder_learned:
            v = v / (torch.norm(v) + 1e-6)
        y = torch.matmul(torch.matmul(x, v), v.transpose(1, 2))
        x = x - 2 * y
    elif p_matrix == 4:
        half = e - e // 2
        index = torch.arange(e)
        order = torch.empty(e, dtype=torch.long)
        order[::2] = index[::2] // 2
        order[1::2] = (index[1::2] - 1) // 2 + half
        x = x.gather(-1, order.expand_as(x))
    elif p_matrix != 1:
        raise ValueError(p_matrix)
    if core_matrix == 3:
        rows = torch.as_tensor(table)[:, :l, :].to(torch.long)
        return x.gather(-1, rows.expand_as(x))
    if core_matrix == 1:
        rot = e - 1 if e % 2 else e
    elif core_matrix == 2:
        rot = e // 2
        rot += rot % 2
    else:
        raise ValueError(core_matrix)
    rest, x = x[:, :, rot:], x[:, :, :rot]
    if theta is not None:
        th = _t(theta, dtype).reshape(-1)
    elif theta_type == "a":
        th = 10000 ** (-2 / rot * torch.arange(rot // 2))
    elif theta_type == "b":
        th = math.pi / 2 / l / (rot // 2) * torch.arange(1, rot // 2 + 1)
    elif theta_type == "c":
        th = math.pi / 2 / l / torch.arange(1, rot // 2 + 1)
    else:
        raise ValueError(theta_type)
    th = th.to(torch.float32).to(dtype)
    th = torch.stack([th, th], dim=-1).reshape(1, 1, rot)
    th = th * torch.arange(l).reshape(1, -1, 1).to(dtype)
    # (x0, x1, x2, x3) -> (-x1, x0, -x3, x2)
    x_half = torch.stack([-x[..., 1::2], x[..., ::2]], dim=-1).reshape_as(x)
    out = x * torch.cos(th) + x_half * torch.sin(th)
    return torch.cat([out, rest], dim=-1) if rot != e else out


# --------------------------------------------------------------------------
# FourierFormer: FourierFormer_NeurIPS mem_transformer.FourierAttn and its
# fourier_layer extension (fourier_layer.cpp / the CUDA kernel).
# --------------------------------------------------------------------------


def fourier_scores(head_q, head_k, paramR, dtype=torch.float32):
    """fourier_layer forward: [qlen, klen, bsz, n_head] scores
    R^d prod_k sinc(R (q_k - k_k)) with sinc(x) = sin(x) / x (1 where
    |x| < 1e-31), in `dtype` (the extension's float32 overflows for
    R^d^4 > 3.4e38)."""
    q, k = _t(head_q, dtype), _t(head_k, dtype)
    R = _t(paramR, dtype).reshape(-1)[0]
    d = q.shape[-1]
    diff = (q[:, None] - k[None, :]) * R               # [q, k, b, n, d]
    tiny = diff.abs() < 1e-31
    safe = torch.where(tiny, torch.ones_like(diff), diff)
    sinc = torch.where(tiny, torch.ones_like(diff), torch.sin(safe) / safe)
    return sinc.prod(-1) * R ** d


def fourier_attn(head_q, head_k, head_v, paramR, attn_mask=None,
                 dtype=torch.float32):
    """FourierAttn.forward's attention: prob = score^4, masked to 0,
    prob / (sum_j prob + 1e-6), then sum_j prob v_j: [qlen, bsz, H, d]."""
    prob = fourier_scores(head_q, head_k, paramR, dtype) ** 4
    if attn_mask is not None:
        prob = prob.masked_fill(torch.as_tensor(attn_mask)[:, :, None, None],
                                0.0)
    prob = prob / (prob.sum(dim=1)[:, None, :, :] + 1e-6)
    return torch.einsum("ijbn,jbnd->ibnd", prob, _t(head_v, dtype))


def fourier_attn_log_domain(head_q, head_k, head_v, paramR, attn_mask=None,
                            eps=1e-6, power=4):
    """The same formula evaluated exactly in float64: log s = power (d log R
    + sum_k log|sinc|), then sum_j s v / (sum_j s + eps) with every term
    scaled by exp(-max_j log s) (eps included)."""
    q, k, v = (_t(x, torch.float64) for x in (head_q, head_k, head_v))
    R = _t(paramR, torch.float64).reshape(-1)[0]
    d = q.shape[-1]
    x = (q[:, None] - k[None, :]) * R
    zero = torch.sin(x) == 0
    safe = torch.where(x == 0, torch.ones_like(x), x)
    log_sinc = torch.where(x == 0, torch.zeros_like(x),
                           torch.log(torch.abs(torch.sin(safe))) -
                           torch.log(torch.abs(safe)))
    log_s = power * (d * torch.log(torch.abs(R)) + log_sinc.sum(-1))
    gone = (zero & (x != 0)).any(-1)
    if attn_mask is not None:
        gone = gone | torch.as_tensor(attn_mask)[:, :, None, None]
    log_s = torch.where(gone, torch.full_like(log_s, -math.inf), log_s)
    top = log_s.amax(dim=1, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    w = torch.exp(log_s - top)
    den = w.sum(dim=1, keepdim=True) + torch.exp(math.log(eps) - top)
    return torch.einsum("ijbn,jbnd->ibnd", w / den, v)


# --------------------------------------------------------------------------
# Toeplitz RPE: imp/max embeddings.RPEMask / scenic performer.RPEMask with
# masked_numerator / masked_denominator.
# --------------------------------------------------------------------------


def rpe_toeplitz(first, second, dtype=torch.float64):
    """RPEMask._act_einsum's matrices [H, L, L]: the rows of
    concat(first, second) rolled, M[j, l] = x[(j - l) mod (2L - 1)]."""
    x = torch.cat([_t(first, dtype), _t(second, dtype)], dim=1)[..., None]
    while True:
        rows, cols = x.shape[-2], x.shape[-1]
        need = rows // 2 + 1
        if cols >= need:
            return x[:, :need, :need]
        x = torch.cat([x, torch.roll(x, cols, dims=-2)], dim=-1)


def rpe_act(mask, tensor, dtype=torch.float64):
    """RPEMask.act: exp of both arrays, then sum_j M[j, l] tensor_j."""
    first, second = mask
    M = rpe_toeplitz(torch.exp(_t(first, dtype)), torch.exp(_t(second,
                                                                 dtype)))
    return torch.einsum("...jhf,hjl->...lhf", _t(tensor, dtype), M)


def rpe_act_fft(mask, tensor, dtype=torch.float64):
    """RPEMask._act_fft: the circulant embedding [e^first, 0, e^second]."""
    first, second = (torch.exp(_t(a, dtype)) for a in mask)
    c = torch.cat([first, torch.zeros(first.shape[0], 1, dtype=dtype),
                   second], dim=1)
    n = c.shape[-1]
    diag = torch.fft.fft(c)
    inv = torch.fft.ifft(_t(tensor, dtype), n=n, dim=-3)
    had = torch.einsum("...lhf,hl->...lhf", inv, diag)
    return torch.fft.fft(had, n=n, dim=-3)[..., :n // 2, :, :].real


def masked_favor_attention(query_prime, key_prime, value, mask,
                           guarded=True, act=rpe_act):
    """masked_numerator / masked_denominator then guarded (imp/max) or
    plain (scenic, eps 0) division: features [B, L, H, m]."""
    qp, kp, v = (_t(x, torch.float64) for x in (query_prime, key_prime,
                                                 value))
    f1 = torch.einsum("...m,...d->...md", kp, v).flatten(-2)
    d1 = act(mask, f1).unflatten(-1, (kp.shape[-1], v.shape[-1]))
    num = torch.einsum("...m,...md->...d", qp, d1)
    den = torch.einsum("...m,...m->...", qp, act(mask, kp))[..., None]
    if guarded:
        den = torch.where(den <= 0.0, torch.ones_like(den), den)
    return num / den
