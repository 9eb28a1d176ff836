"""`flt.distributed`: sequence-parallel FLT attention over torch.distributed.

    # every rank: its contiguous shard of the sequence axis (any lengths)
    dist.init_process_group("gloo")          # or "nccl" on GPUs
    out = flt.distributed.linear_attention(fq, fk, v, causal=True)
    out = flt.distributed.attention(q, k, v, r, xi, theta, causal=True)
    out.sum().backward()                     # the single-device gradients

Linear attention's state (T, z) = (Σ_j K'_j v_jᵀ, Σ_j K'_j) is additive and
its size does not depend on L (docs/Semantics.md §5), so each rank runs flt's
kernels on its own tokens and the ranks exchange one state per layer
(LASP-2's scheme):

Each rank first computes its own state (T_r, z_r) from its keys (a pass with
one query row), then:

* non-causal: the ranks' states are all-reduced; the rank's query
  pass then starts from the other ranks' sum, `state(T - T_r, z - z_r)`;
* causal: the states are all-gathered; rank r's causal pass starts from the
  exclusive prefix Σ_{q < r} (T_q, z_q).

The message is H (m r) (e + 1) floats per batch row whatever L is. The
backward is the mirror: the collectives' adjoints (an all-reduce of the
state cotangents) and flt's `@f_vjp` of the state form, which returns dT0
and dz0 (docs/Semantics.md §5); the gradients are those of one device for
the sum of the ranks' losses. Positions travel with their tokens: each rank
passes the positions r of its own shard.

Any process group works (`dist.init_process_group` from MASTER_ADDR,
MASTER_PORT, RANK and WORLD_SIZE; `python3 -m flt.distributed.run -n 2
script.py` sets them). Before its exchange, every call compares the ranks'
shapes and options (one small all-gather): a disagreement is a ValueError on
every rank, never a hang. A rank that dies leaves the others in a collective
until the group's timeout (`init_process_group(timeout=...)`); the launcher
stops every rank when one fails.
"""

from typing import Optional

import torch
import torch.distributed as dist

from .. import autograd, ops

__all__ = ["linear_attention", "attention", "state_bytes"]

_NORMALIZE = ("divide", "guarded", "none")


def _group_rank(group):
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError("flt.distributed: no process group; call "
                           "torch.distributed.init_process_group first (or "
                           "launch with python3 -m flt.distributed.run)")
    return dist.get_rank(group), dist.get_world_size(group)


class _AllReduce(torch.autograd.Function):
    """Σ over the ranks; its adjoint is Σ over the ranks too (every rank's
    loss reads the same sum)."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        y = x.detach().clone().contiguous()
        dist.all_reduce(y, group=group)
        return y

    @staticmethod
    def backward(ctx, g):
        g = g.detach().clone().contiguous()
        dist.all_reduce(g, group=ctx.group)
        return g, None


class _AllGather(torch.autograd.Function):
    """[P, ...]: every rank's x. The adjoint of rank r's x is Σ over the
    ranks of their cotangent's slot r: an all-reduce (gloo has no
    reduce-scatter; the states are small)."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        ctx.rank, size = _group_rank(group)
        x = x.detach().contiguous()
        parts = [torch.empty_like(x) for _ in range(size)]
        dist.all_gather(parts, x, group=group)
        return torch.stack(parts)

    @staticmethod
    def backward(ctx, g):
        g = g.detach().clone().contiguous()
        dist.all_reduce(g, group=ctx.group)
        return g[ctx.rank], None


def _agree(what: str, description, group, device):
    """Raises ValueError on every rank unless all ranks pass the same
    `description` (a tuple of ints). On `device`: NCCL moves CUDA tensors
    only."""
    rank, size = _group_rank(group)
    width = 24
    values = list(description)
    if len(values) > width - 1:
        raise ValueError("flt.distributed: description too long")
    mine = torch.full((width,), -1, dtype=torch.int64)
    mine[0] = len(values)
    mine[1:1 + len(values)] = torch.tensor(values, dtype=torch.int64)
    mine = mine.to(device)
    parts = [torch.empty_like(mine) for _ in range(size)]
    dist.all_gather(parts, mine, group=group)
    if any(not torch.equal(p, parts[0]) for p in parts):
        seen = "; ".join(
            f"rank {i}: {tuple(p[1:1 + int(p[0])].tolist())}"
            for i, p in enumerate(parts))
        raise ValueError(f"flt.distributed.{what}: the ranks disagree on "
                         f"their shapes or options ({seen})")


# (kind, configuration) -> {"main": f, "keys": f} of flt.autograd functions.
_compiled = {}


def _element(x: torch.Tensor) -> str:
    elements = {torch.float32: "f32", torch.float16: "f16",
                torch.bfloat16: "bf16"}
    if x.dtype not in elements:
        raise ValueError(f"flt.distributed: activations must be float32, "
                         f"float16 or bfloat16, got {x.dtype}")
    return elements[x.dtype]


def _target(x: torch.Tensor) -> str:
    """The kernels run where the activations are: CUDA tensors (NCCL
    groups) get a library compiled with target="cuda"."""
    return "cuda" if x.is_cuda else "cpu"


def _functions(key, build):
    """Compiles (once per configuration; B and L dynamic) the module that
    `build()` returns with gradients, as flt.autograd functions."""
    functions = _compiled.get(key)
    if functions is None:
        import flt
        module, names, target = build()
        kernels = flt.compile(module, target, gradients=True)
        functions = {name: autograd.function(kernels, name) for name in names}
        _compiled[key] = functions
    return functions


def _pack(t, z):
    return torch.cat([t.reshape(t.shape[0], -1), z.reshape(z.shape[0], -1)],
                     dim=1)


def _unpack(packed, t_shape, z_shape):
    count = 1
    for size in t_shape[1:]:
        count *= size
    return (packed[:, :count].reshape(t_shape),
            packed[:, count:].reshape(z_shape))


def _sequence_parallel(main, keys, local_inputs, key_inputs, t_shape,
                       z_shape, causal, group):
    """The LASP-2 step shared by both entry points. `keys(*key_inputs, T0,
    z0)` gives this rank's own state (its results 1 and 2), `main(
    *local_inputs, T0, z0)` its output from a state."""
    rank, size = _group_rank(group)
    device = local_inputs[0].device
    zeros_t = torch.zeros(t_shape, dtype=torch.float32, device=device)
    zeros_z = torch.zeros(z_shape, dtype=torch.float32, device=device)
    if key_inputs is None:
        # An empty shard: no keys, no rows. Its zero state still requires a
        # gradient, so that this rank's backward takes part in the
        # collectives' adjoints as every other rank's does.
        mine = _pack(zeros_t, zeros_z).requires_grad_(
            torch.is_grad_enabled())
    else:
        _, t_r, z_r = keys(*key_inputs, zeros_t, zeros_z)
        mine = _pack(t_r, z_r)
    if causal:
        states = _AllGather.apply(mine, group)          # [P, B, D]
        start = states[:rank].sum(0) if rank > 0 else states[0] * 0
    else:
        start = _AllReduce.apply(mine, group) - mine
    t0, z0 = _unpack(start, t_shape, z_shape)
    if key_inputs is None:
        # Keep the collectives' adjoints in this rank's backward (every
        # rank must take part in them), through an empty output.
        fq = local_inputs[0]
        out = fq.new_zeros(fq.shape[:3] + (t_shape[-1],))
        return out + (start.sum() * 0).to(out.dtype)
    return main(*local_inputs, t0, z0)[0]


def linear_attention(fq: torch.Tensor, fk: torch.Tensor, v: torch.Tensor,
                     phi: Optional[torch.Tensor] = None,
                     psi: Optional[torch.Tensor] = None, *,
                     causal: bool = False, normalize: str = "divide",
                     eps: float = 1e-6, group=None) -> torch.Tensor:
    """docs/Semantics.md 2.4 over the sequence sharded across `group`: each
    rank passes fq [B, H, L_r, m], fk and v [B, H_kv, L_r, ·] (and phi, psi
    [B, H, L_r, r]) of its contiguous shard (ranks in order; L_r may differ,
    0 included) and gets its rows of the output. Differentiable."""
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {_NORMALIZE}")
    if (phi is None) != (psi is None):
        raise ValueError("phi and psi come together (rpe)")
    for name, x in (("fq", fq), ("fk", fk), ("v", v), ("phi", phi),
                    ("psi", psi)):
        if x is not None and x.dim() != 4:
            raise ValueError(f"{name} must be [B, H, L, ·], got shape "
                             f"{tuple(x.shape)}")
    B, H, L, m = fq.shape
    Hkv, e = fk.shape[1], v.shape[-1]
    r = phi.shape[-1] if phi is not None else 0
    element = _element(fq)
    _agree("linear_attention",
           (B, H, Hkv, m, e, r, int(causal), _NORMALIZE.index(normalize),
            int(round(eps * 1e12)), ["f32", "f16", "bf16"].index(element)),
           group, fq.device)
    if fk.shape[2] != L or v.shape[2] != L or (
            phi is not None and (phi.shape[2] != L or psi.shape[2] != L)):
        raise ValueError("flt.distributed.linear_attention: a rank's shard "
                         "has the same tokens for queries and keys")
    D = m * max(r, 1)

    def build():
        def function(name, is_causal):
            b = ops.Builder(name)
            q_ = b.arg("fq", [None, H, None, m], element)
            k_ = b.arg("fk", [None, Hkv, None, m], element)
            v_ = b.arg("v", [None, Hkv, None, e], element)
            rpe = None
            if r:
                rpe = (b.arg("phi", [None, H, None, r], element),
                       b.arg("psi", [None, H, None, r], element))
            t0 = b.arg("t0", [None, H, D, e])
            z0 = b.arg("z0", [None, H, D])
            b.ret(*ops.linear_attention(q_, k_, v_, rpe, causal=is_causal,
                                        normalize=normalize, eps=eps,
                                        state=(t0, z0)))
            return b
        builders = [function("main", causal)]
        if causal:
            builders.append(function("keys", False))
        return (ops.module_of(*builders), [b.name for b in builders],
                _target(fq))

    functions = _functions(("linear_attention", H, Hkv, m, e, r, causal,
                            normalize, eps, element, _target(fq)), build)
    main = functions["main"]
    keys = functions.get("keys", main)
    rpe = (phi, psi) if r else ()
    # The state alone: one query row (a non-causal pass with S != L).
    key_inputs = None
    if L > 0:
        key_inputs = (fq[:, :, :1], fk, v) + (
            (phi[:, :, :1], psi) if r else ())
    return _sequence_parallel(main, keys, (fq, fk, v) + rpe, key_inputs,
                              (B, H, D, e), (B, H, D), causal, group)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              r: torch.Tensor, xi: torch.Tensor, theta: torch.Tensor, *,
              kernel: str = "relu", spectrum: str = "gaussian_mixture",
              causal: bool = False, normalize: str = "guarded",
              eps: float = 0.0, group=None) -> torch.Tensor:
    """docs/Semantics.md 2.8 (one FLT layer) over the sequence sharded
    across `group`: q, k, v [B, H, L_r, d] and the positions r [B, L_r, p]
    of this rank's contiguous shard; xi [H, m_f, p] and theta [H, P] the
    same on every rank (theta's width says how many mixture blobs).
    Differentiable in q, k, v, r and theta (xi too); theta's gradient on a
    rank is its shard's part (all-reduce it, as any data-parallel
    parameter's)."""
    if kernel not in ("relu", "elu_plus_one"):
        raise ValueError("flt.distributed.attention: kernel must be relu or "
                         "elu_plus_one (favor_pos's key stabilizer is a "
                         "maximum over one call's keys)")
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {_NORMALIZE}")
    for name, x, rank in (("q", q, 4), ("k", k, 4), ("v", v, 4), ("r", r, 3),
                          ("xi", xi, 3), ("theta", theta, 2)):
        if x.dim() != rank:
            raise ValueError(f"{name} must have rank {rank}, got shape "
                             f"{tuple(x.shape)}")
    B, H, L, d = q.shape
    Hkv, e = k.shape[1], v.shape[-1]
    mf, p = xi.shape[1], xi.shape[2]
    P = theta.shape[1]
    element = _element(q)
    _agree("attention",
           (B, H, Hkv, d, e, mf, p, P, int(causal),
            _NORMALIZE.index(normalize), int(round(eps * 1e12)),
            ("relu", "elu_plus_one").index(kernel),
            ("gaussian_mixture", "local_window").index(spectrum),
            ["f32", "f16", "bf16"].index(element)), group, q.device)
    if k.shape[2] != L or v.shape[2] != L or r.shape[1] != L:
        raise ValueError("flt.distributed.attention: q, k, v and r of a "
                         "rank hold the same tokens")
    D = d * 2 * mf

    def build():
        def function(name, is_causal):
            b = ops.Builder(name)
            q_ = b.arg("q", [None, H, None, d], element)
            k_ = b.arg("k", [None, Hkv, None, d], element)
            v_ = b.arg("v", [None, Hkv, None, e], element)
            r_ = b.arg("r", [None, None, p])
            xi_ = b.arg("xi", [H, mf, p])
            theta_ = b.arg("theta", [H, P])
            t0 = b.arg("t0", [None, H, D, e])
            z0 = b.arg("z0", [None, H, D])
            b.ret(*ops.attention(q_, k_, v_, r_, xi_, theta_, kernel=kernel,
                                 spectrum=spectrum, causal=is_causal,
                                 normalize=normalize, eps=eps,
                                 state=(t0, z0)))
            return b

        def keys():
            # The layer's own state, as flt.attention's decomposition
            # (docs/Semantics.md 2.8) computes it, with one query row: its
            # key side costs one pass over the shard, not two.
            b = ops.Builder("keys")
            q1 = b.arg("q1", [None, H, 1, d], element)
            k_ = b.arg("k", [None, Hkv, None, d], element)
            v_ = b.arg("v", [None, Hkv, None, e], element)
            r1 = b.arg("r1", [None, 1, p])
            r_ = b.arg("r", [None, None, p])
            xi_ = b.arg("xi", [H, mf, p])
            theta_ = b.arg("theta", [H, P])
            t0 = b.arg("t0", [None, H, D, e])
            z0 = b.arg("z0", [None, H, D])
            fq = ops.feature_map(q1, kernel=kernel, eps=eps, is_query=True)
            fk = ops.feature_map(k_, kernel=kernel, eps=eps)
            rho = ops.spectral_density(theta_, xi_, spectrum=spectrum)
            phi, _ = ops.spectral_features(r1, xi_, rho)
            _, psi = ops.spectral_features(r_, xi_, rho)
            b.ret(*ops.linear_attention(fq, fk, v_, (phi, psi),
                                        normalize="none", state=(t0, z0)))
            return b
        builders = [function("main", causal), keys()]
        return (ops.module_of(*builders), [b.name for b in builders],
                _target(q))

    functions = _functions(("attention", H, Hkv, d, e, mf, p, P, kernel,
                            spectrum, causal, normalize, eps, element,
                            _target(q)), build)
    r, xi, theta = (x.to(torch.float32) for x in (r, xi, theta))
    inputs = (q, k, v, r, xi, theta)
    key_inputs = None
    if L > 0:
        key_inputs = (q[:, :, :1], k, v, r[:, :1], r, xi, theta)
    return _sequence_parallel(functions["main"], functions["keys"], inputs,
                              key_inputs, (B, H, D, e), (B, H, D), causal,
                              group)


def state_bytes(heads: int, state_features: int, value_dim: int,
                batch: int = 1) -> int:
    """Bytes each rank sends per layer: one f32 state (T, z), H (m r)
    (e + 1) floats per batch row, independent of the sequence length."""
    return 4 * batch * heads * state_features * (value_dim + 1)
