"""A plain-PyTorch FLT layer (elu + 1 features, an RPE mask from random
Fourier features of the positions, written quadratically) compiled by flt.

    PYTHONPATH=build/python_packages /usr/bin/python3 examples/torch_flt_layer.py

The frontend emits the layer as linalg; flt-raise-attention finds the
linear attention in it, factors the constant RPE mask back into its random
features and emits flt.linear_attention with rpe(Phi, Psi): the compiled
layer is linear in L where the torch code is quadratic. The output is checked against torch in float64.
"""

import math
import time

import torch
import torch.nn.functional as F

import flt
from flt.frontends import torch as flt_torch


class FLTLayer(torch.nn.Module):
    def __init__(self, m_f=16):
        super().__init__()
        self.m_f = m_f
        self.register_buffer("xi", torch.randn(m_f))

    def forward(self, q, k, v):
        L = q.shape[2]
        pos = torch.arange(L, dtype=torch.float32) / (5 * L)
        angles = 2 * math.pi * pos[:, None] * self.xi[None, :]
        phi = torch.cat([angles.cos(), angles.sin()], -1) / math.sqrt(self.m_f)
        scores = (F.elu(q) + 1) @ (F.elu(k) + 1).transpose(-2, -1)
        scores = scores * (phi @ phi.T)
        return (scores @ v) / (scores.sum(-1, keepdim=True) + 1e-6)


torch.manual_seed(0)
layer = FLTLayer()
q, k, v = (torch.randn(1, 8, 1024, 64) for _ in range(3))
fast = flt_torch.compile(layer, (q, k, v))
print("\n".join(l.strip()[:110] for l in str(fast.ir).splitlines()
                if "flt." in l))
out = fast(q, k, v)
want = layer.double()(q.double(), k.double(), v.double())
ok, rms, peak = flt.reference.compare(out.numpy(), want.numpy())
print(f"matches torch float64: {ok} (relative RMS {rms:.2e}, max {peak:.2e})")
layer.float()
for name, f in (("torch eager (quadratic)", lambda: layer(q, k, v)),
                ("flt (linear)", lambda: fast(q, k, v))):
    f()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    print(f"{name}: median {sorted(times)[2] * 1e3:.1f} ms")
raise SystemExit(0 if ok else 1)
