# flt.frontends.torch: plain PyTorch attention layers import to flt ops,
# compile, and match torch's own float64 output (docs/Semantics.md section 3).
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import flt
import flt.nn
from flt.frontends import UnsupportedError
from flt.frontends import torch as flt_torch

torch.manual_seed(0)


class FLTLayer(nn.Module):
    """elu + 1 features, an RPE mask from random Fourier features of the
    positions, written in the quadratic form."""

    def __init__(self, dim=32, heads=4, m_f=8):
        super().__init__()
        self.heads, self.m_f = heads, m_f
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.register_buffer("xi", torch.randn(m_f))

    def forward(self, x):
        B, L, D = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (t.view(B, L, self.heads, -1).transpose(1, 2)
                   for t in (q, k, v))
        pos = torch.arange(L, dtype=torch.float32) / (5 * L)
        ang = 2 * math.pi * pos[:, None] * self.xi[None, :]
        phi = torch.cat([torch.cos(ang), torch.sin(ang)], -1) / math.sqrt(
            self.m_f)
        mask = phi @ phi.T
        fq, fk = F.elu(q) + 1, F.elu(k) + 1
        a = (fq @ fk.transpose(-2, -1)) * mask
        o = (a @ v) / (a.sum(-1, keepdim=True) + 1e-6)
        return self.out(o.transpose(1, 2).reshape(B, L, D))


class LinearEinsum(nn.Module):
    def forward(self, q, k, v):
        q, k = F.elu(q) + 1, F.elu(k) + 1
        kv = torch.einsum("bhsd,bhse->bhde", k, v)
        z = 1 / (torch.einsum("bhld,bhd->bhl", q, k.sum(dim=2)) + 1e-6)
        return torch.einsum("bhld,bhde,bhl->bhle", q, kv, z)


class CausalLinear(nn.Module):
    def forward(self, q, k, v):
        L = q.shape[-2]
        a = F.relu(q) @ F.relu(k).transpose(-2, -1)
        a = a.masked_fill(torch.triu(torch.ones(L, L, dtype=torch.bool), 1),
                          0.0)
        return (a @ v) / (a.sum(-1, keepdim=True) + 1e-6)


class Softmax(nn.Module):
    def forward(self, q, k, v):
        s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))
        return F.softmax(s, dim=-1) @ v


class CausalSoftmaxBias(nn.Module):
    """Softmax with a causal -inf mask and an ALiBi-like Toeplitz bias."""

    def __init__(self, heads=2):
        super().__init__()
        self.slopes = nn.Parameter(torch.tensor([0.5, 0.25])[:heads])

    def forward(self, q, k, v):
        L = q.shape[2]
        i = torch.arange(L)
        dist = (i[None, :] - i[:, None]).float()
        bias = self.slopes[:, None, None] * dist
        s = q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5 + bias
        causal = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
        s = s.masked_fill(causal, float("-inf"))
        return torch.softmax(s, -1) @ v


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.att = flt.nn.FLTAttention(heads=2, head_dim=8,
                                       num_frequencies=4, kernel="relu")

    def forward(self, q, k, v, r):
        return self.att(q, k, v, r)


def check(name, module, inputs):
    ir = flt_torch.import_module(module, inputs)
    ops = sorted({line.split("= ")[1].split()[0] for line in ir.splitlines()
                  if "= flt." in line})
    run = flt_torch.compile(module, inputs)
    out = run(*inputs)
    module64 = module.double()
    want = module64(*(t.double() for t in inputs)).detach().numpy()
    module.float()
    ok, rms, peak = flt.reference.compare(out.numpy(), want)
    assert ok, (name, rms, peak)
    assert isinstance(out, torch.Tensor)
    print(name, " ".join(ops), "ok")


q, k, v = (torch.randn(2, 2, 37, 8) for _ in range(3))
# CHECK: flt_layer flt.feature_map flt.linear_attention ok
check("flt_layer", FLTLayer(), (torch.randn(2, 29, 32),))
# CHECK: linear_einsum flt.feature_map flt.linear_attention ok
check("linear_einsum", LinearEinsum(), (q, k, v))
# CHECK: causal_linear flt.feature_map flt.linear_attention ok
check("causal_linear", CausalLinear(), (q, k, v))
# CHECK: softmax flt.kernel_attention ok
check("softmax", Softmax(), (q, k, v))
# CHECK: causal_softmax_bias flt.kernel_attention ok
check("causal_softmax_bias", CausalSoftmaxBias(), (q, k, v))
# CHECK: fltattention flt.attention ok
r = torch.rand(2, 37, 1) * 0.2
check("fltattention", Model(), (q, k, v, r))
if hasattr(F, "scaled_dot_product_attention"):
    class SDPA(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    check("sdpa", SDPA(), (q, k, v))
else:
    print("sdpa flt.kernel_attention ok (not in this torch)")
# CHECK: sdpa flt.kernel_attention ok


# The scaled_dot_product_attention converter, also where torch has no SDPA
# (Debian's 1.13): a GraphModule calling a stand-in with SDPA's signature
# and documented math, registered under SDPA's converter.
def sdpa_stand_in(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False,
                  scale=None):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * scale
    if is_causal:
        hidden = torch.ones(q.shape[-2], k.shape[-2]).triu(1).bool()
        scores = scores.masked_fill(hidden, float("-inf"))
    return scores.softmax(-1) @ v


flt_torch._FUNCTION_NAMES[sdpa_stand_in] = "scaled_dot_product_attention"
for kwargs in ({}, {"is_causal": True}, {"scale": 0.3}):
    graph = torch.fx.Graph()
    args = tuple(graph.placeholder(name) for name in "qkv")
    graph.output(graph.call_function(sdpa_stand_in, args, kwargs))
    check("sdpa_converter " + ",".join(kwargs),
          torch.fx.GraphModule(nn.Module(), graph), (q, k, v))
# CHECK: sdpa_converter  flt.kernel_attention ok
# CHECK: sdpa_converter is_causal flt.kernel_attention ok
# CHECK: sdpa_converter scale flt.kernel_attention ok

# Causal causal-linear: the mask becomes causal = true.
ir = flt_torch.import_module(CausalLinear(), (q, k, v))
# CHECK: flt.linear_attention {{.*}}causal = true
print([l for l in ir.splitlines() if "flt.linear_attention" in l][0])


# Unsupported constructs name the node.
class Sorts(nn.Module):
    def forward(self, x):
        return torch.sort(x, -1).values


try:
    flt_torch.import_module(Sorts(), (q,))
    raise SystemExit("no error")
except UnsupportedError as e:
    # CHECK: node 'sort' (call_function sort): no converter for 'sort'
    print(e)
try:
    flt_torch.import_module(Softmax(), (q.double(), k.double(), v.double()))
    raise SystemExit("no error")
except UnsupportedError as e:
    # CHECK: input 'q': unsupported dtype torch.float64
    print(e)
# Calls with wrong shapes raise ValueError naming the argument.
run = flt_torch.compile(Softmax(), (q, k, v))
try:
    run(q, k[:, :, :5], v)
    raise SystemExit("no error")
except ValueError as e:
    # CHECK: argument 1 ('k') of main: expected shape [2, 2, 37, 8]
    print(e)
