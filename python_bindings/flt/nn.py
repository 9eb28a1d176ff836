"""`flt.nn.FLTAttention`: docs/Semantics.md section 2.8 (one FLT attention
layer) as a PyTorch module.

    layer = flt.nn.FLTAttention(heads=8, head_dim=64, num_frequencies=16,
                                backend="flt")
    out = layer(q, k, v, r)          # q, k, v [B,H,L,d]; positions r [B,L,p]
    out.sum().backward()             # dq, dk, dv, dr and d theta

The learned parameter is the spectrum `theta` [H, P] (docs/Semantics.md
2.2); the frequencies `xi` [H, m_f, p] are a fixed random draw (a buffer).

With process_group= (a torch.distributed group; backend="flt") each rank
passes its contiguous shard of the sequence (q, k, v and positions r) and
gets its rows: flt.distributed.attention, sequence-parallel with one state
exchange per layer. theta's gradient is then each rank's part: all-reduce
it as for any data-parallel parameter.

backend="flt" runs forward and backward through flt's compiled kernels in
linear time (the layer's @main and @main_vjp, flt.autograd): compiled once
per configuration (heads, widths, kernel, spectrum, causal, ...) and
element type, with B and L dynamic, and cached for every layer that shares
them; theta, xi and the positions are run-time arguments, never frozen into
the kernels. backend="torch" (the default) is the quadratic form in plain
torch (the scores times the estimated RPE mask, normalized): the reference
the flt backend is tested against, and what `flt.frontends.torch` imports
as one `flt.attention` op.
"""

import math

import torch
import torch.nn.functional as F

_KERNELS = ("relu", "elu_plus_one")
_SPECTRA = ("gaussian_mixture", "local_window")


class FLTAttention(torch.nn.Module):
    def __init__(self, heads: int, head_dim: int, num_frequencies: int = 16,
                 position_dim: int = 1, kernel: str = "relu",
                 spectrum: str = "gaussian_mixture", blobs: int = 1,
                 causal: bool = False, normalize: str = "guarded",
                 eps: float = 0.0, seed: int = 0, backend: str = "torch",
                 process_group=None):
        super().__init__()
        if backend not in ("torch", "flt"):
            raise ValueError("backend must be 'torch' or 'flt'")
        if process_group is not None and backend != "flt":
            raise ValueError("process_group needs backend='flt'")
        self.backend = backend
        self.process_group = process_group
        if kernel not in _KERNELS:
            raise ValueError(f"kernel must be one of {_KERNELS}")
        if spectrum not in _SPECTRA:
            raise ValueError(f"spectrum must be one of {_SPECTRA}")
        if normalize not in ("divide", "guarded", "none"):
            raise ValueError("normalize must be divide, guarded or none")
        self.heads, self.head_dim = heads, head_dim
        self.num_frequencies, self.position_dim = num_frequencies, position_dim
        self.kernel, self.spectrum, self.causal = kernel, spectrum, causal
        self.normalize, self.eps = normalize, eps
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("xi", torch.randn(heads, num_frequencies,
                                               position_dim, generator=g))
        p = position_dim
        if spectrum == "gaussian_mixture":
            w = torch.rand(heads, blobs, generator=g)
            mu = 0.1 * torch.randn(heads, blobs * p, generator=g)
            s = 0.1 * torch.randn(heads, blobs, generator=g)
            theta = torch.cat([w, mu, s], dim=1)
        else:
            theta = torch.tensor([[1.0, 0.5]]).repeat(heads, 1)
        self.theta = torch.nn.Parameter(theta)
        self.blobs = blobs

    def features(self, x):
        if self.kernel == "relu":
            return F.relu(x) + self.eps
        return F.elu(x) + 1 + self.eps

    def density(self):
        """rho [H, m_f] = g(xi) / N(xi; 0, I) (docs/Semantics.md 2.2)."""
        xi, theta, p = self.xi.to(self.theta.dtype), self.theta, \
            self.position_dim
        if self.spectrum == "gaussian_mixture":
            K = self.blobs
            w = theta[:, :K]
            mu = theta[:, K:K + K * p].reshape(-1, K, p)
            s = theta[:, K + K * p:]
            d2 = ((xi[:, :, None, :] - mu[:, None, :, :]) ** 2).sum(-1)
            g = (w[:, None, :] * torch.exp(-d2 / torch.exp(s)[:, None, :])
                 ).sum(-1)
        else:
            C, v = theta[:, 0:1], theta[:, 1:2]
            g = C.clone()
            for a in range(p):
                x = xi[:, :, a]
                safe = torch.where(x == 0, torch.ones_like(x), x)
                factor = torch.where(
                    x == 0, 2 * v.expand_as(x),
                    torch.sin(2 * math.pi * v * safe) / (math.pi * safe))
                g = g * factor
        density = (2 * math.pi) ** (-p / 2) * torch.exp(
            -0.5 * (xi ** 2).sum(-1))
        return g / density

    # (configuration, element type) -> flt.autograd function of the layer.
    _compiled = {}

    def _flt_function(self, q, v):
        import flt
        from . import autograd, ops
        elements = {torch.float32: "f32", torch.float16: "f16",
                    torch.bfloat16: "bf16"}
        if q.dtype not in elements:
            raise ValueError(f"FLTAttention(backend='flt'): q, k, v must be "
                             f"float32, float16 or bfloat16, got {q.dtype}")
        key = (self.heads, self.head_dim, v.shape[-1], self.num_frequencies,
               self.position_dim, self.blobs, self.kernel, self.spectrum,
               self.causal, self.normalize, self.eps, elements[q.dtype],
               q.device.type)
        compiled = FLTAttention._compiled.get(key)
        if compiled is None:
            module = ops.attention_layer(
                batch=None, heads=self.heads, length=None,
                head_dim=self.head_dim, value_dim=v.shape[-1],
                num_frequencies=self.num_frequencies,
                position_dim=self.position_dim, blobs=self.blobs,
                kernel=self.kernel, spectrum=self.spectrum,
                element=elements[q.dtype], causal=self.causal,
                normalize=self.normalize, eps=self.eps)
            target = "cuda" if q.device.type == "cuda" else "cpu"
            kernels = flt.compile(module, target, gradients=True)
            compiled = autograd.function(kernels, "main")
            FLTAttention._compiled[key] = compiled
        return compiled

    def forward(self, q, k, v, r):
        if self.process_group is not None:
            from . import distributed
            return distributed.attention(
                q, k, v, r.to(torch.float32), self.xi.to(torch.float32),
                self.theta.to(torch.float32), kernel=self.kernel,
                spectrum=self.spectrum, causal=self.causal,
                normalize=self.normalize, eps=self.eps,
                group=self.process_group)
        if self.backend == "flt":
            f = self._flt_function(q, v)
            return f(q, k, v, r.to(torch.float32),
                     self.xi.to(torch.float32), self.theta.to(torch.float32))
        rho = self.density()                                  # [H, m]
        angles = 2 * math.pi * torch.einsum("blp,hmp->bhlm",
                                            r.to(rho.dtype),
                                            self.xi.to(rho.dtype))
        scale = self.num_frequencies ** -0.5
        cos, sin = torch.cos(angles), torch.sin(angles)
        rho = rho[None, :, None, :]
        phi = torch.cat([rho * cos, rho * sin], -1) * scale
        psi = torch.cat([cos, sin], -1) * scale
        mask = phi @ psi.transpose(-2, -1)
        scores = (self.features(q) @ self.features(k).transpose(-2, -1)) \
            * mask
        if self.causal:
            L = scores.shape[-1]
            scores = scores * torch.tril(torch.ones(L, L, dtype=scores.dtype))
        num = scores @ v
        den = scores.sum(-1, keepdim=True)
        if self.normalize == "divide":
            return num / (den + 1e-6)
        if self.normalize == "guarded":
            return num / torch.where(den > 0, den, torch.ones_like(den))
        return num
