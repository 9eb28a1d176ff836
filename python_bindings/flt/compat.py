"""flt.compat: run what the papers' official code trained (docs/Compatibility.md).

flt's default spellings compute the papers' formulas (docs/Semantics.md).
The official code of each paper computes some things differently, so a
model trained with it needs flt's compatibility forms. Each class here
takes the official module's configuration and parameters (its attributes,
or its checkpoint: a state_dict or a parameter dict), builds the flt IR that
computes exactly what the official forward computes (`module()`, with
flt.ops), converts the official call's arrays to the function's arguments
(`arguments(...)`, in the function's order) and its result back to the
official layout (`output(...)`); `compile(**options)` does all three and
returns a function of the official arrays. Where the reverse makes sense
(flt parameters into the official layout) there is a `to_...` method.

    layer = flt.compat.FLTLayer.imp_max(heads=8, head_dim=64, blobs=3,
                                        num_rand_features=16,
                                        kernel="favor_pos",
                                        projection_dim=128)
    run = layer.compile()
    out = run(query, key, value, coords, flt_params, points, projection)

    FLTLayer     google-research imp/max scalable_attention.
                 general_favor_attention(flt=True) and scenic
                 performer.sharp_masked_favor_attention: the RPE snippet
                 concatenated to q and k (flt.attention rpe_form concat).
    Urpe         OpenNLPLab fairseq-evo urpe.Urpe: flt.position_transform.
    FourierAttn  FourierFormer_NeurIPS mem_transformer.FourierAttn (and the
                 ImageNet FourierAttention): flt.kernel_attention
                 fourier_integral, fourier_form amplitude_eps.
    RPEMask      imp/max and scenic RPEMask with masked FAVOR attention:
                 flt.toeplitz_attention with the bias in flt's layout.

Arrays may be NumPy arrays or CPU torch tensors. Official layouts:
q/k/v [B, L, H, d] for the JAX Performer code, [B*H, L, d] for Urpe,
[L, B, H, d] for FourierAttn; flt's are [B, H, L, d].
"""

import math
from typing import Mapping, Optional

import numpy as np

__all__ = ["FLTLayer", "Urpe", "FourierAttn", "RPEMask", "UnsupportedError"]


class UnsupportedError(ValueError):
    """An official configuration that flt does not express (the message
    says why)."""


def _np(x, dtype=None):
    """A NumPy array of `x` (torch tensors are detached and copied)."""
    if x is None:
        return None
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    return a.astype(dtype) if dtype is not None else a


def _f32(x):
    return np.ascontiguousarray(_np(x, np.float32))


def _lookup(params: Mapping, keys, what):
    for key in keys:
        if key in params:
            return params[key]
    raise KeyError(f"{what}: none of {', '.join(repr(k) for k in keys)} in "
                   f"the checkpoint (keys: {', '.join(map(str, params))})")


def _compile(module, options):
    from . import compiler
    return compiler.compile(module, **options)


# --------------------------------------------------------------------------
# FLT: the RPE snippet concatenated to q and k before the kernel features.
# --------------------------------------------------------------------------


class FLTLayer:
    """The official FourierLearner-Transformer attention.

    Official computation (google-research imp/max/modeling/
    scalable_attention.py `general_favor_attention(..., flt=True)`, scenic
    projects/performer/performer.py `sharp_masked_favor_attention`): with
    the random points xi [H, m_f, p] (N(0, I) samples) and rho = g(xi) /
    ((2 pi)^-1/2 exp(-|xi|^2 / 2)) for every p, the snippet
    s_l = m_f^-1/2 rho exp(2 pi i xi . r_l); query' = [q, d^1/4 Re s,
    d^1/4 Im s], key' = [k, d^1/4 Re s, d^1/4 Im s] (the key snippet is
    conjugated and negated back); the kernel features of query' and key'
    (FAVOR+ with D = d + 2 m_f and the global key stabilizer, or relu);
    out = (q' (k'^T v)) / guarded(q' . sum k'). In flt: flt.attention with
    rpe_form = concat, weighting = both_sides, density = normal_1d_constant,
    key_stabilizer = global (favor_pos), normalize = guarded.

    kernel: "favor_pos" (exp_softmax_kernel_transformation: projection
    [M, d + 2 m_f] required, eps 1e-6) or "relu" (imp/max's
    relu_kernel_transformation: relu(x) + 1e-6, no projection; scenic's
    generic_kernel_transformation: relu(W x / sqrt(M)) + 1e-3 with or
    without a projection: use `FLTLayer.scenic`). The official code is
    bidirectional; causal=True gives the causal prefix form of the same
    scores (j <= i).
    """

    def __init__(self, heads, head_dim, num_rand_features, blobs,
                 position_dim=1, kernel="favor_pos", eps=1e-6,
                 projection_dim=None, value_dim=None, causal=False,
                 batch=None, length=None, element="f32"):
        if kernel not in ("favor_pos", "relu"):
            raise UnsupportedError(
                f"kernel {kernel!r}: flt expresses the official "
                "exp_softmax (favor_pos) and relu kernel transformations")
        if kernel == "favor_pos" and projection_dim is None:
            raise ValueError("kernel favor_pos needs projection_dim (the "
                             "official projection matrix is [M, d + 2 m_f])")
        self.heads, self.head_dim = heads, head_dim
        self.num_rand_features, self.blobs = num_rand_features, blobs
        self.position_dim, self.kernel, self.eps = position_dim, kernel, eps
        self.projection_dim, self.causal = projection_dim, causal
        self.value_dim = head_dim if value_dim is None else value_dim
        self.batch, self.length, self.element = batch, length, element

    @classmethod
    def imp_max(cls, heads, head_dim, num_rand_features, blobs, **kwargs):
        """imp/max general_favor_attention: relu is relu(x) + 1e-6 without a
        projection; favor_pos as in the class description."""
        if kwargs.get("kernel") == "relu" and kwargs.get("projection_dim"):
            raise UnsupportedError("imp/max's relu_kernel_transformation "
                                   "takes no projection")
        return cls(heads, head_dim, num_rand_features, blobs, **kwargs)

    @classmethod
    def scenic(cls, heads, head_dim, num_rand_features=64, blobs=25,
               kernel="favor_pos", eps=None, **kwargs):
        """scenic sharp_masked_favor_attention (NUM_FT_RAND_FEATURES = 64,
        NUM_FT_PARAMS_PER_HEAD = 25 blobs): relu is the generic kernel
        transformation, relu(W x / sqrt(M)) + 1e-3 (W optional)."""
        if eps is None:
            eps = 1e-3 if kernel == "relu" else 1e-6
        return cls(heads, head_dim, num_rand_features, blobs, kernel=kernel,
                   eps=eps, **kwargs)

    @staticmethod
    def params_from_checkpoint(params: Mapping):
        """flt_params [H, (p + 2) K] from a parameter dict: imp/max's
        'flt_params' or scenic's 'toeplitz_params' (the same layout as flt's
        theta: K weights, K means of p values, K log-variances)."""
        return _f32(_lookup(params, ("flt_params", "toeplitz_params"),
                            "FLT parameters"))

    @staticmethod
    def to_checkpoint(theta, key="flt_params"):
        """The reverse: flt's theta under the official key."""
        return {key: _f32(theta)}

    @property
    def snippet_dim(self):
        return 2 * self.num_rand_features

    def module(self, name="main"):
        """One function (q, k, v, r, xi, theta[, w]) -> out, flt layouts."""
        from . import ops
        b = ops.Builder(name)
        B, L, H, d = self.batch, self.length, self.heads, self.head_dim
        q = b.arg("q", [B, H, L, d], self.element)
        k = b.arg("k", [B, H, L, d], self.element)
        v = b.arg("v", [B, H, L, self.value_dim], self.element)
        r = b.arg("r", [B, L, self.position_dim])
        xi = b.arg("xi", [H, self.num_rand_features, self.position_dim])
        theta = b.arg("theta", [H, (self.position_dim + 2) * self.blobs])
        w = None
        if self.projection_dim is not None:
            w = b.arg("w", [H, self.projection_dim, d + self.snippet_dim])
        b.ret(ops.attention(
            q, k, v, r, xi, theta, proj=w, kernel=self.kernel,
            eps=float(self.eps), spectrum="gaussian_mixture",
            weighting="both_sides", causal=self.causal or None,
            normalize="guarded", rpe_form="concat",
            density="normal_1d_constant",
            key_stabilizer="global" if self.kernel == "favor_pos" else None))
        return b.module()

    def arguments(self, query, key, value, coords, flt_params, points,
                  projection=None):
        """The official call's arrays -> the function's arguments: query,
        key [B, L, H, d], value [B, L, H, e], coords [L, p] (imp/max) or
        [B, L, p] (scenic), flt_params [H, (p + 2) K], points [H, m_f, p],
        projection [M, d + 2 m_f] (shared by the heads) or None."""
        q, k, v = (np.ascontiguousarray(_f32(x).transpose(0, 2, 1, 3))
                   for x in (query, key, value))
        B, H, L, d = q.shape
        coords = _f32(coords)
        if coords.ndim == 2:
            coords = np.broadcast_to(coords, (B,) + coords.shape)
        args = [q, k, v, np.ascontiguousarray(coords), _f32(points),
                _f32(flt_params)]
        if self.projection_dim is not None:
            if projection is None:
                raise ValueError("this layer has a projection: pass the "
                                 "official projection matrix [M, d + 2 m_f]")
            w = _f32(projection)
            if w.ndim == 2:
                w = np.broadcast_to(w, (H,) + w.shape)
            args.append(np.ascontiguousarray(w))
        elif projection is not None:
            raise ValueError("this layer has no projection (projection_dim "
                             "is None)")
        return args

    @staticmethod
    def output(out):
        """flt's [B, H, L, e] -> the official [B, L, H, e]."""
        return np.ascontiguousarray(_np(out).transpose(0, 2, 1, 3))

    def compile(self, **options):
        """A function of the official arrays (see `arguments`) returning
        the official output, through flt's compiled kernels."""
        kernels = _compile(self.module("flt_layer"), options)

        def run(query, key, value, coords, flt_params, points,
                projection=None):
            args = self.arguments(query, key, value, coords, flt_params,
                                  points, projection)
            return self.output(kernels.flt_layer(*args))
        run.kernels = kernels
        return run


# --------------------------------------------------------------------------
# LRPE: fairseq-evo's Urpe.
# --------------------------------------------------------------------------


class Urpe:
    """fairseq-evo `Urpe(core_matrix, p_matrix, ...)` as
    flt.position_transform.

    Official forward on x [b, l, e] (b = batch * heads): x <- P x, then the
    core. P: 1 identity, 2 Householder (v / (|v| + 1e-6) when learned, v
    as stored otherwise; flt mix householder with mix_eps 1e-6 or 0), 3
    the unitary DFT (complex: not expressible), 4 odd-even (y_2t = x_t,
    y_2t+1 = x_{ceil(e/2)+t}: flt mix odd_even_inverse). Core: 1 rotary on
    interleaved pairs of the first e = d - d % 2 features (an odd d's last
    passes: flt rotary_dims = d - 1), 2 "mixed": rotary on the first
    e = d // 2 (rounded up to even) features only (flt rotary_dims = e), 3
    the position-dependent permutation (flt core permutation with the official table),
    4 complex exp (needs a complex x: not expressible). theta: learned, or
    type "a" 10000^(-2t/e), "b" pi/2/l/(e/2) (t+1), "c" pi/2/l/(t+1) (l:
    the call's length), formed in f32 as the official code forms them.
    Positions are 0..l-1. One set of parameters serves every head.
    """

    def __init__(self, core_matrix, p_matrix, embedding_dim=None, heads=1,
                 theta_type="a", theta_learned=False,
                 householder_learned=False, theta=None, v=None,
                 permutation=None):
        if core_matrix not in (1, 2, 3, 4):
            raise ValueError(f"core_matrix {core_matrix}: expected 1..4")
        if p_matrix not in (1, 2, 3, 4):
            raise ValueError(f"p_matrix {p_matrix}: expected 1..4")
        if p_matrix == 3:
            raise UnsupportedError(
                "p_matrix 3 (torch.fft.fft, norm='ortho') makes x complex; "
                "flt's position transforms are real")
        if core_matrix == 4:
            raise UnsupportedError(
                "core_matrix 4 (complex exp) needs a complex x (the official "
                "code reads x.imag); flt's complex core is the real "
                "[y cos, y sin] form (docs/Semantics.md 2.6)")
        if core_matrix == 2 and theta_learned:
            raise UnsupportedError(
                "core_matrix 2 with theta_learned: the official module has "
                "no learned theta for the mixed core (its forward fails)")
        if core_matrix == 1 and theta_learned and theta is None:
            raise ValueError("a learned theta: pass theta (state_dict "
                             "'theta')")
        if p_matrix == 2 and v is None:
            raise ValueError("Householder P: pass v (state_dict 'v')")
        if core_matrix == 3 and permutation is None:
            raise ValueError("the permutation core: pass the table "
                             "(state_dict 'permutation')")
        self.core_matrix, self.p_matrix = core_matrix, p_matrix
        self.heads, self.theta_type = heads, theta_type
        self.theta_learned = theta_learned
        self.householder_learned = householder_learned
        self.theta = None if theta is None else _f32(theta).reshape(-1)
        self.v = None if v is None else _f32(v).reshape(-1)
        self.permutation = (None if permutation is None else
                            _np(permutation).reshape(
                                -1, _np(permutation).shape[-1]))
        if self.permutation is not None:
            # flt.position_transform clamps entries outside [0, d): refuse a
            # table whose rows are not permutations here, with a message.
            rows = np.sort(self.permutation, axis=-1)
            if not np.array_equal(rows, np.broadcast_to(
                    np.arange(rows.shape[-1]), rows.shape)):
                raise ValueError("the permutation table's rows must each be a "
                                 "permutation of 0..d-1 (the official buffer "
                                 "'permutation' [1, max_positions, d])")
        if embedding_dim is None:
            for known in (self.v, self.permutation):
                if known is not None:
                    embedding_dim = known.shape[-1]
        self.embedding_dim = embedding_dim

    @classmethod
    def from_module(cls, module, heads=1):
        """From a constructed (and loaded) official Urpe module."""
        get = getattr
        return cls(get(module, "core_matrix"), get(module, "p_matrix"),
                   heads=heads, theta_type=get(module, "theta_type", "a"),
                   theta_learned=get(module, "theta_learned", False),
                   householder_learned=get(module, "householder_learned",
                                           False),
                   theta=get(module, "theta", None)
                   if get(module, "theta_learned", False) else None,
                   v=get(module, "v", None),
                   permutation=get(module, "permutation", None))

    @classmethod
    def from_state_dict(cls, state_dict: Mapping, core_matrix, p_matrix,
                        embedding_dim=None, heads=1, theta_type="a",
                        theta_learned=False, householder_learned=False,
                        prefix=""):
        """From a checkpoint: keys prefix + 'theta' (learned, [1, 1, d/2]),
        'v' ([1, d, 1]) and 'permutation' ([1, max_positions, d])."""
        def get(key):
            return state_dict.get(prefix + key)
        return cls(core_matrix, p_matrix, embedding_dim, heads, theta_type,
                   theta_learned, householder_learned,
                   theta=get("theta") if theta_learned else None,
                   v=get("v"), permutation=get("permutation"))

    def to_state_dict(self, prefix=""):
        """The reverse: the official parameters and buffers."""
        import torch
        out = {}
        if self.theta_learned and self.theta is not None:
            out[prefix + "theta"] = torch.tensor(self.theta).reshape(1, 1, -1)
        if self.v is not None:
            out[prefix + "v"] = torch.tensor(self.v).reshape(1, -1, 1)
        if self.permutation is not None:
            out[prefix + "permutation"] = torch.tensor(
                self.permutation, dtype=torch.long)[None]
        return out

    def _d(self, d):
        d = d if d is not None else self.embedding_dim
        if d is None:
            raise ValueError("the feature size d is not known: pass "
                             "embedding_dim or call with x")
        return d

    def _rotated(self, d):
        """e: how many leading features the rotary core turns."""
        if self.core_matrix == 1:
            return d - d % 2
        e = d // 2
        if d < 3:
            raise UnsupportedError("the mixed core needs d >= 3")
        return e + (e % 2)

    def angles(self, length, d=None):
        """theta [H, e/2] (rotary cores, e = rotated features) or the
        permutation table [H, P, d] (i32) for a call of `length` tokens."""
        import torch
        d = self._d(d)
        H = self.heads
        if self.core_matrix == 3:
            table = self.permutation.astype(np.int32)
            if length > table.shape[0]:
                raise ValueError(f"length {length} exceeds the permutation "
                                 f"table's {table.shape[0]} positions "
                                 "(max_positions)")
            return np.ascontiguousarray(np.broadcast_to(table,
                                                        (H,) + table.shape))
        e = self._rotated(d)
        if self.theta_learned:
            theta = torch.tensor(self.theta, dtype=torch.float32)
        elif self.theta_type == "a":
            theta = 10000 ** (-2 / e * torch.arange(e // 2))
        elif self.theta_type == "b":
            theta = np.pi / 2 / length / (e // 2) * torch.arange(1, e // 2 + 1)
        elif self.theta_type == "c":
            theta = np.pi / 2 / length / torch.arange(1, e // 2 + 1)
        else:
            raise ValueError(f"theta_type {self.theta_type!r}")
        theta = theta.to(torch.float32).numpy().reshape(-1)
        if theta.shape[0] != e // 2:
            raise ValueError(f"theta has {theta.shape[0]} angles; the core "
                             f"turns {e} features ({e // 2} angles)")
        return np.ascontiguousarray(np.broadcast_to(theta, (H, e // 2)))

    def attributes(self, d=None):
        """flt.position_transform's attributes for this configuration."""
        attrs = {"core": "permutation" if self.core_matrix == 3
                 else "rotary"}
        if self.core_matrix != 3:
            d = self._d(d)
            if self._rotated(d) != d:
                attrs["rotary_dims"] = self._rotated(d)
        if self.p_matrix == 2:
            attrs["mix"] = "householder"
            if self.householder_learned:
                attrs["mix_eps"] = 1e-6
        elif self.p_matrix == 4:
            attrs["mix"] = "odd_even_inverse"
        return attrs

    def module(self, batch=None, length=None, d=None, name="main",
               element="f32"):
        """One function (x [B, H, L, d], theta[, v]) -> the transformed x."""
        from . import ops
        d = self._d(d)
        b = ops.Builder(name)
        x = b.arg("x", [batch, self.heads, length, d], element)
        if self.core_matrix == 3:
            theta = b.arg("table", [self.heads, len(self.permutation), d],
                          "i32")
        else:
            theta = b.arg("theta", [self.heads, self._rotated(d) // 2])
        mix_vector = (b.arg("v", [self.heads, d]) if self.p_matrix == 2
                      else None)
        b.ret(ops.position_transform(x, theta, mix_vector=mix_vector,
                                     **self.attributes(d)))
        return b.module()

    def arguments(self, x):
        """The official input x [B*H, L, d] (or [B, H, L, d]) -> the
        function's arguments."""
        x = _f32(x)
        if x.ndim == 3:
            if x.shape[0] % self.heads:
                raise ValueError(f"x has {x.shape[0]} rows, not a multiple "
                                 f"of heads = {self.heads}")
            x = x.reshape(-1, self.heads, *x.shape[1:])
        L, d = x.shape[2], x.shape[3]
        args = [np.ascontiguousarray(x), self.angles(L, d)]
        if self.p_matrix == 2:
            args.append(np.ascontiguousarray(
                np.broadcast_to(self.v, (self.heads, d))))
        return args

    @staticmethod
    def output(out):
        """[B, H, L, d] -> the official [B*H, L, d]."""
        out = _np(out)
        return np.ascontiguousarray(out.reshape(-1, *out.shape[2:]))

    def compile(self, d=None, **options):
        kernels = _compile(self.module(d=d, name="urpe"), options)

        def run(x):
            return self.output(kernels.urpe(*self.arguments(x)))
        run.kernels = kernels
        return run


# --------------------------------------------------------------------------
# FourierFormer
# --------------------------------------------------------------------------


class FourierAttn:
    """FourierFormer_NeurIPS `FourierAttn` (wikitext103 mem_transformer.py;
    also the ImageNet `FourierAttention`) as flt.kernel_attention.

    Official computation (fourier_layer extension, CPU and CUDA): with R =
    paramR[0], s_ij = (R^d prod_k sinc(R (q_ik - k_jk)))^4, sinc(x) =
    sin(x) / x; masked keys (causal) get s = 0; out_i = sum_j s_ij v_j /
    (sum_j s_ij + 1e-6). In flt: kernel fourier_integral, scale(R) with
    R_hk = paramR[0], power 4, fourier_form amplitude_eps, eps 1e-6,
    evaluated in the log domain: finite where the f32 extension underflows
    (d = 64, R = 1: the official output is ~0, as the formula says) or
    overflows (R = 2: R^d^4 = 2^256, all NaN in the official code; flt gives
    the formula's value). Keys longer than queries (memory) with the
    official causal mask (key j visible to query i when j <= i + mlen) use
    a bias of 0 / -inf.
    """

    def __init__(self, n_head, d_head, paramR, causal=False, eps=1e-6,
                 power=4):
        R = _np(paramR, np.float32).reshape(-1)
        if R.size < 1:
            raise ValueError("paramR is empty")
        # The extension reads paramR[0] only (also for a per-feature paramR).
        self.R = float(R[0])
        self.n_head, self.d_head = n_head, d_head
        self.causal, self.eps, self.power = causal, eps, power

    @classmethod
    def from_module(cls, module, causal=False):
        heads = getattr(module, "n_head", None) or getattr(module,
                                                           "num_heads")
        d_head = getattr(module, "d_head", None)
        if d_head is None:  # ImageNet FourierAttention: dim // num_heads.
            d_head = module.qkv.in_features // heads
        return cls(heads, d_head, module.paramR, causal)

    @classmethod
    def from_state_dict(cls, state_dict: Mapping, n_head, d_head,
                        causal=False, prefix=""):
        """From a checkpoint: key prefix + 'paramR'."""
        return cls(n_head, d_head, state_dict[prefix + "paramR"], causal)

    def to_state_dict(self, prefix=""):
        import torch
        return {prefix + "paramR": torch.tensor([self.R])}

    def scale(self):
        """R [H, d] for flt's scale operand."""
        return np.full((self.n_head, self.d_head), self.R, np.float32)

    def memory_bias(self, qlen, klen):
        """b [H, qlen + klen - 1]: 0 where the official mask lets key j
        reach query i (j <= i + klen - qlen), -inf elsewhere."""
        mlen = klen - qlen
        rel = np.arange(qlen + klen - 1) - (qlen - 1)   # j - i per column
        row = np.where(rel <= mlen, 0.0, -np.inf).astype(np.float32)
        return np.ascontiguousarray(np.broadcast_to(row, (self.n_head,
                                                          row.size)))

    def module(self, batch=None, length=None, key_length=None,
               memory=False, name="main", element="f32"):
        """One function (q, k, v, R[, bias]) -> out, flt layouts. memory:
        keys longer than queries with the official causal mask (bias)."""
        from . import ops
        b = ops.Builder(name)
        H, d = self.n_head, self.d_head
        S = length if key_length is None else key_length
        q = b.arg("q", [batch, H, length, d], element)
        k = b.arg("k", [batch, H, S, d], element)
        v = b.arg("v", [batch, H, S, d], element)
        R = b.arg("R", [H, d])
        bias = None
        if memory:
            Lb = (None if length is None or S is None else length + S - 1)
            bias = b.arg("bias", [H, Lb])
        b.ret(ops.kernel_attention(
            q, k, v, scale=R, bias=bias, kernel="fourier_integral",
            causal=(self.causal and not memory) or None,
            power=self.power if self.power != 4 else None,
            eps=float(self.eps), fourier_form="amplitude_eps"))
        return b.module()

    def arguments(self, head_q, head_k, head_v, memory=False):
        """The official [len, bsz, H, d] tensors -> (q, k, v, R[, bias])."""
        q, k, v = (np.ascontiguousarray(_f32(x).transpose(1, 2, 0, 3))
                   for x in (head_q, head_k, head_v))
        args = [q, k, v, self.scale()]
        if memory:
            args.append(self.memory_bias(q.shape[2], k.shape[2]))
        return args

    @staticmethod
    def output(out):
        """[B, H, L, d] -> the official attn_vec [L, B, H, d]."""
        return np.ascontiguousarray(_np(out).transpose(2, 0, 1, 3))

    def compile(self, memory=False, **options):
        kernels = _compile(self.module(memory=memory, name="fourier_attn"),
                           options)

        def run(head_q, head_k, head_v):
            args = self.arguments(head_q, head_k, head_v, memory)
            return self.output(kernels.fourier_attn(*args))
        run.kernels = kernels
        return run

    def layer_forward(self, run, state_dict: Mapping, h, mems=None,
                      pre_lnorm=False, prefix=""):
        """The whole official FourierAttn layer in eval mode (no dropout),
        its projections and layer norm in torch float32 from the state_dict
        (q_net, k_net, v_net, o_net, layer_norm) and its attention through
        `run` (this object's compiled function, with memory=True when
        `mems` is given). h [qlen, bsz, d_model] -> [qlen, bsz, d_model]."""
        import torch
        import torch.nn.functional as F
        sd = {k[len(prefix):]: v for k, v in state_dict.items()
              if k.startswith(prefix)}
        h = torch.as_tensor(h, dtype=torch.float32)
        c = h if mems is None else torch.cat(
            [torch.as_tensor(mems, dtype=torch.float32), h], 0)
        norm = (lambda x: F.layer_norm(x, x.shape[-1:],
                                       sd["layer_norm.weight"],
                                       sd["layer_norm.bias"]))
        if pre_lnorm:
            c = norm(c)
        H, d = self.n_head, self.d_head
        head_q = F.linear(h, sd["q_net.weight"]).view(*h.shape[:2], H, d)
        head_k = F.linear(c, sd["k_net.weight"]).view(*c.shape[:2], H, d)
        head_v = F.linear(c, sd["v_net.weight"]).view(*c.shape[:2], H, d)
        vec = torch.as_tensor(run(head_q, head_k, head_v))
        out = F.linear(vec.reshape(*vec.shape[:2], H * d), sd["o_net.weight"])
        return h + out if pre_lnorm else norm(h + out)


# --------------------------------------------------------------------------
# Toeplitz RPE: RPEMask with masked FAVOR attention.
# --------------------------------------------------------------------------


class RPEMask:
    """imp/max and scenic `RPEMask` (embeddings.py / performer.py) with
    masked FAVOR attention (`masked_numerator` / `masked_denominator`) as
    flt.toeplitz_attention.

    Official computation: the mask is (first [H, L], second [H, L - 1])
    with first = [b(0), ..., b(L-1)] and second = [b(-(L-1)), ..., b(-1)]
    (b(j - i) for query i, key j; imp/max slices them from grpe_params
    [H, 2L - 1] = [first | second]); out_i = sum_j exp(b(j-i)) (q'_i . k'_j)
    v_j / normalizer with imp/max's guarded normalizer (<= 0 -> 1) or
    scenic's plain division (eps 0). Kernel features: relu(x) + 1e-6
    (imp/max's relu_kernel_transformation), relu(W x / sqrt(M)) + 1e-3
    (scenic's generic transformation, W optional) or FAVOR+ (the global key
    stabilizer). flt's bias b [H, 2L - 1] holds b(j - i) at column
    j - i + L - 1, i.e. [second | first].
    """

    def __init__(self, heads, head_dim, value_dim=None, kernel="relu",
                 eps=1e-6, projection_dim=None, normalize="guarded",
                 normalize_eps=None, causal=False, batch=None, length=None,
                 element="f32"):
        if kernel not in ("relu", "favor_pos"):
            raise UnsupportedError(f"kernel {kernel!r}")
        if kernel == "favor_pos" and projection_dim is None:
            raise ValueError("kernel favor_pos needs projection_dim")
        self.heads, self.head_dim = heads, head_dim
        self.value_dim = head_dim if value_dim is None else value_dim
        self.kernel, self.eps, self.projection_dim = kernel, eps, \
            projection_dim
        self.normalize, self.normalize_eps = normalize, normalize_eps
        self.causal, self.batch, self.length = causal, batch, length
        self.element = element

    @classmethod
    def imp_max(cls, heads, head_dim, kernel="relu", **kwargs):
        """general_favor_attention(grpe=True): guarded normalization."""
        return cls(heads, head_dim, kernel=kernel, normalize="guarded",
                   **kwargs)

    @classmethod
    def scenic(cls, heads, head_dim, kernel="relu", eps=None, **kwargs):
        """masked_favor_attention: division with eps 0; relu is the generic
        transformation (eps 1e-3)."""
        if eps is None:
            eps = 1e-3 if kernel == "relu" else 1e-6
        return cls(heads, head_dim, kernel=kernel, eps=eps,
                   normalize="divide", normalize_eps=0.0, **kwargs)

    # Layouts.
    @staticmethod
    def bias_from_official(first, second):
        """(first [H, L], second [H, L - 1]) -> flt's b [H, 2L - 1]."""
        first, second = _f32(first), _f32(second)
        if second.shape[1] != first.shape[1] - 1:
            raise ValueError(f"second has {second.shape[1]} columns; first "
                             f"has L = {first.shape[1]}, so L - 1 expected")
        return np.ascontiguousarray(np.concatenate([second, first], axis=1))

    @staticmethod
    def bias_from_grpe_params(params, length=None):
        """imp/max's grpe_params [H, 2L - 1] = [first | second] -> b."""
        params = _f32(params)
        L = (params.shape[1] + 1) // 2 if length is None else length
        if params.shape[1] != 2 * L - 1:
            raise ValueError(f"grpe_params has {params.shape[1]} columns; "
                             f"2L - 1 = {2 * L - 1} expected")
        return RPEMask.bias_from_official(params[:, :L], params[:, L:])

    @staticmethod
    def to_official(b):
        """The reverse: flt's b [H, 2L - 1] -> (first, second)."""
        b = _f32(b)
        L = (b.shape[1] + 1) // 2
        return (np.ascontiguousarray(b[:, L - 1:]),
                np.ascontiguousarray(b[:, :L - 1]))

    @staticmethod
    def to_grpe_params(b):
        first, second = RPEMask.to_official(b)
        return np.ascontiguousarray(np.concatenate([first, second], axis=1))

    def module(self, name="main"):
        """One function (q, k, v, b[, w]) -> out, flt layouts."""
        from . import ops
        bld = ops.Builder(name)
        B, L, H, d = self.batch, self.length, self.heads, self.head_dim
        q = bld.arg("q", [B, H, L, d], self.element)
        k = bld.arg("k", [B, H, L, d], self.element)
        v = bld.arg("v", [B, H, L, self.value_dim], self.element)
        bias = bld.arg("b", [H, None if L is None else 2 * L - 1])
        w = (bld.arg("w", [H, self.projection_dim, d])
             if self.projection_dim is not None else None)
        favor = self.kernel == "favor_pos"
        fq = ops.feature_map(q, w, kernel=self.kernel, eps=float(self.eps),
                             is_query=True if favor else None)
        fk = ops.feature_map(k, w, kernel=self.kernel, eps=float(self.eps),
                             key_stabilizer="global" if favor else None)
        eps = (None if self.normalize_eps is None
               else float(self.normalize_eps))
        bld.ret(ops.toeplitz_attention(fq, fk, v, bias,
                                       causal=self.causal or None,
                                       normalize=self.normalize, eps=eps))
        return bld.module()

    def arguments(self, query, key, value, mask=None, grpe_params=None,
                  projection=None):
        """Official query/key [B, L, H, d], value [B, L, H, e], the mask
        (first, second) or grpe_params, projection [M, d] -> arguments."""
        q, k, v = (np.ascontiguousarray(_f32(x).transpose(0, 2, 1, 3))
                   for x in (query, key, value))
        if (mask is None) == (grpe_params is None):
            raise ValueError("pass the mask (first, second) or grpe_params")
        b = (self.bias_from_official(*mask) if mask is not None else
             self.bias_from_grpe_params(grpe_params, q.shape[2]))
        args = [q, k, v, b]
        if self.projection_dim is not None:
            w = _f32(projection)
            if w.ndim == 2:
                w = np.broadcast_to(w, (q.shape[1],) + w.shape)
            args.append(np.ascontiguousarray(w))
        return args

    output = staticmethod(FLTLayer.output)

    def compile(self, **options):
        kernels = _compile(self.module("rpe_mask"), options)

        def run(query, key, value, mask=None, grpe_params=None,
                projection=None):
            args = self.arguments(query, key, value, mask, grpe_params,
                                  projection)
            return self.output(kernels.rpe_mask(*args))
        run.kernels = kernels
        return run
