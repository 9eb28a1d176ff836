# flt.frontends with dynamic dims (issue: serving real models): a torch
# module with an attention_mask-style padding mask and grouped key/value
# heads imports once with B and L dynamic and runs at several sizes; the
# mask becomes a weight on fk, the repeated heads flt's grouped heads.
# Checked against torch's own float64 output of the module.
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import flt
from flt.frontends import UnsupportedError
from flt.frontends import torch as flt_torch

torch.manual_seed(0)


class GroupedLinear(nn.Module):
    """elu + 1 linear attention, 4 query heads reading 2 key/value heads
    (repeat_interleave or expand), padded keys zeroed by the mask."""

    def __init__(self, dim=32, heads=4, kv_heads=2, head_dim=8,
                 repeat="interleave", softmax=False):
        super().__init__()
        self.h, self.hkv, self.d = heads, kv_heads, head_dim
        self.repeat, self.softmax = repeat, softmax
        self.q = nn.Linear(dim, heads * head_dim)
        self.kv = nn.Linear(dim, 2 * kv_heads * head_dim)
        self.out = nn.Linear(heads * head_dim, dim)

    def heads(self, t):
        B, L, H, d = t.shape
        g = self.h // self.hkv
        if self.repeat == "interleave":
            return t.transpose(1, 2).repeat_interleave(g, dim=1)
        return t.transpose(1, 2)[:, :, None].expand(B, H, g, L, d).reshape(
            B, H * g, L, d)

    def forward(self, x, attention_mask):
        B, L, _ = x.shape
        q = self.q(x).view(B, L, self.h, self.d).transpose(1, 2)
        k, v = self.kv(x).chunk(2, dim=-1)
        k = self.heads(k.reshape(B, L, self.hkv, self.d))
        v = self.heads(v.reshape(B, L, self.hkv, self.d))
        if self.softmax:
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.d)
            scores = scores.masked_fill(attention_mask[:, None, None, :] == 0,
                                        float("-inf"))
            o = scores.softmax(-1) @ v
        else:
            fq = F.elu(q) + 1
            fk = (F.elu(k) + 1) * attention_mask[:, None, :, None]
            kv = torch.einsum("bhsd,bhse->bhde", fk, v)
            z = fk.sum(dim=2)
            o = torch.einsum("bhld,bhde->bhle", fq, kv) / \
                torch.einsum("bhld,bhd->bhl", fq, z)[..., None]
        return self.out(o.transpose(1, 2).reshape(B, L, self.h * self.d))


def padded(B, L, dtype):
    """x and a right-padding mask (one sequence of each batch shorter)."""
    x = torch.randn(B, L, 32)
    mask = torch.ones(B, L, dtype=dtype)
    mask[0, max(1, L // 2):] = 0
    return x, mask


DYNAMIC = {"x": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch",
                                                           1: "seq"}}


def check(name, module, dtype=torch.int64, sizes=((2, 6), (3, 17), (1, 64))):
    example = padded(2, 6, dtype)
    run = flt_torch.compile(module, example, dynamic_dims=DYNAMIC)
    ir = str(run.ir)
    signature = ir[ir.index("func.func @main"):].split("{")[0]
    assert "tensor<?x?x32xf32>" in signature, signature
    ops = [line.split("= ")[1].split()[0] for line in ir.splitlines()
           if "= flt." in line]
    module64 = module.double()
    for B, L in sizes:
        x, mask = padded(B, L, dtype)
        out = run(x, mask)
        want = module64(x.double(), mask).detach().numpy()
        ok, rms, peak = flt.reference.compare(out.numpy(), want)
        assert ok, (name, B, L, rms, peak)
    module.float()
    print(name, " ".join(sorted(set(ops))), "ok at", len(sizes), "sizes")
    return ir


# CHECK: interleave flt.feature_map flt.linear_attention ok at 3 sizes
ir = check("interleave", GroupedLinear())
# The keys and values keep their 2 heads (no copy per query head); the
# mask weighs fk.
# CHECK: flt.linear_attention {{.*}} : tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32> -> tensor<?x4x?x8xf32>
print([line for line in ir.splitlines() if "flt.linear_attention" in line][0])
# CHECK: expand flt.feature_map flt.linear_attention ok at 3 sizes
check("expand", GroupedLinear(repeat="expand"))
# CHECK: bool_mask flt.feature_map flt.linear_attention ok at 3 sizes
check("bool_mask", GroupedLinear(), dtype=torch.bool)
# Multi-query attention: one key/value head.
# CHECK: mqa flt.feature_map flt.linear_attention ok at 3 sizes
check("mqa", GroupedLinear(kv_heads=1))
# Softmax with a run-time key mask: no flt op takes a per-key mask, so it
# stays linalg; dynamic and exact all the same.
# CHECK: softmax_masked  ok at 3 sizes
check("softmax_masked", GroupedLinear(softmax=True))


# scaled_dot_product_attention's converter (enable_gqa, attn_mask), also
# where torch has no SDPA (Debian's 1.13): a stand-in with its signature and
# documented math registered under its converter.
def sdpa_stand_in(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False,
                  scale=None, enable_gqa=False):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    if enable_gqa:
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
        v = v.repeat_interleave(q.shape[1] // v.shape[1], dim=1)
    scores = q @ k.transpose(-2, -1) * scale
    if is_causal:
        hidden = torch.ones(q.shape[-2], k.shape[-2]).triu(1).bool()
        scores = scores.masked_fill(hidden, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    return scores.softmax(-1) @ v


flt_torch._FUNCTION_NAMES[sdpa_stand_in] = "scaled_dot_product_attention"


class SDPA(nn.Module):
    def forward(self, q, k, v, keep):
        return sdpa_stand_in(q, k, v, attn_mask=keep[:, None, None, :],
                             enable_gqa=True)


q, k, v = torch.randn(2, 4, 9, 8), torch.randn(2, 2, 9, 8), \
    torch.randn(2, 2, 9, 8)
keep = torch.ones(2, 9, dtype=torch.bool)
keep[1, 5:] = False
run = flt_torch.compile(SDPA(), (q, k, v, keep), dynamic_dims={
    "q": {2: "L"}, "k": {2: "L"}, "v": {2: "L"}, "keep": {1: "L"}})
for L in (9, 30):
    q, k, v = torch.randn(2, 4, L, 8), torch.randn(2, 2, L, 8), \
        torch.randn(2, 2, L, 8)
    keep = torch.ones(2, L, dtype=torch.bool)
    keep[1, L // 2:] = False
    want = SDPA()(q.double(), k.double(), v.double(), keep).numpy()
    ok, rms, peak = flt.reference.compare(run(q, k, v, keep).numpy(), want)
    assert ok, (L, rms, peak)
# CHECK: sdpa enable_gqa attn_mask ok
print("sdpa enable_gqa attn_mask ok")


# Masks and positions made from the length (tril, triu, arange) are
# computed from their indices at every length; the causal ones still make
# the op causal.
class CausalLinear(nn.Module):
    def forward(self, q, k, v):
        L = q.shape[2]
        a = (F.elu(q) + 1) @ (F.elu(k) + 1).transpose(-1, -2)
        a = a * torch.tril(torch.ones(L, L))
        return (a @ v) / a.sum(-1, keepdim=True)


class CausalSDPA(nn.Module):
    def forward(self, q, k, v):
        return sdpa_stand_in(q, k, v, is_causal=True)


class Positions(nn.Module):
    """A position ramp scaling the output rows (torch.arange at the
    example length): computed from its indices at run time."""

    def forward(self, q, k, v):
        L = q.shape[2]
        ramp = 1 + 0.25 * torch.arange(L, dtype=torch.float32)
        a = (F.elu(q) + 1) @ (F.elu(k) + 1).transpose(-1, -2)
        a = a * torch.tril(torch.ones(L, L))
        return (a @ v) / a.sum(-1, keepdim=True) * ramp[:, None]


THREE = {"q": [2], "k": [2], "v": [2]}
for name, module in (("causal_linear", CausalLinear()),
                     ("causal_sdpa", CausalSDPA()),
                     ("positions", Positions())):
    q, k, v = (torch.randn(1, 2, 8, 4) for _ in range(3))
    run = flt_torch.compile(module, (q, k, v), dynamic_dims=THREE)
    causal = [line for line in str(run.ir).splitlines()
              if "flt." in line and "causal = true" in line]
    for L in (8, 21, 70):
        q, k, v = (torch.randn(1, 2, L, 4) for _ in range(3))
        want = module(q.double(), k.double(), v.double()).numpy()
        ok, rms, peak = flt.reference.compare(run(q, k, v).numpy(), want)
        assert ok, (name, L, rms, peak)
    print(name, "causal" if causal else "", "ok")
# CHECK: causal_linear causal ok
# CHECK: causal_sdpa causal ok
# CHECK: positions causal ok


# Errors name what cannot stay dynamic.
class ScaledPositions(nn.Module):
    def forward(self, q, k, v):
        L = q.shape[2]
        return v * (torch.arange(L, dtype=torch.float32) / L)[:, None]


# A table whose values (not only its size) change with L.
try:
    flt_torch.import_module(ScaledPositions(), (q, k, v), dynamic_dims=THREE)
    raise SystemExit("no error")
except UnsupportedError as e:
    # CHECK: node 'mul' (call_function mul): its operand, a constant of shape [dim2, 1] (a position table or mask made at the example size)
    print(e)
try:
    flt_torch.import_module(GroupedLinear(), padded(2, 6, torch.int64),
                            dynamic_dims={"y": [1]})
    raise SystemExit("no error")
except ValueError as e:
    # CHECK: dynamic_dims: no input 'y' (the inputs are x, attention_mask)
    print(e)
# Dims that must agree need one symbol.
try:
    flt_torch.import_module(GroupedLinear(), padded(2, 6, torch.int64),
                            dynamic_dims={"x": {1: "L"},
                                          "attention_mask": {1: "M"}})
    raise SystemExit("no error")
except UnsupportedError as e:
    # CHECK: with only the dims of 'L' at 12 instead of 6: torch.fx cannot trace the module
    print(e)
# Calls at other sizes of the static dims are refused by the runtime.
run = flt_torch.compile(GroupedLinear(), padded(2, 6, torch.int64),
                        dynamic_dims={"x": {1: "L"},
                                      "attention_mask": {1: "L"}})
x, mask = padded(3, 6, torch.int64)
try:
    run(x, mask)
    raise SystemExit("no error")
except ValueError as e:
    # CHECK: argument 0 ('x') of main: expected shape [2, ?, 32]
    print(e)


# ONNX: the graph's symbolic dims (torch.onnx.export's dynamic_axes) stay
# dynamic.
import io  # noqa: E402

import onnx  # noqa: E402

from flt.frontends import onnx as flt_onnx  # noqa: E402


def exported(module, inputs, names, axes):
    buffer = io.BytesIO()
    torch.onnx.export(module, inputs, buffer, input_names=names,
                      output_names=["y"], dynamic_axes=axes, opset_version=14)
    return onnx.load_from_string(buffer.getvalue())


module = GroupedLinear(repeat="expand")
model = exported(module, padded(2, 6, torch.int64), ["x", "attention_mask"],
                 {"x": {0: "batch", 1: "seq"},
                  "attention_mask": {0: "batch", 1: "seq"}})
run = flt_onnx.compile(model)
ir = str(run.ir)
# CHECK: onnx func.func @main(%arg0: tensor<?x?x32xf32>, %arg1: tensor<?x?xi64>)
print("onnx", ir[ir.index("func.func @main"):].split(" ->")[0])
# CHECK: onnx {{.*}}flt.linear_attention {{.*}} : tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
print("onnx", [line.strip() for line in ir.splitlines()
               if "flt.linear_attention" in line][0])
module64 = module.double()
for B, L in ((2, 6), (3, 19)):
    x, mask = padded(B, L, torch.int64)
    (out,) = run(x.numpy(), mask.numpy())
    want = module64(x.double(), mask).detach().numpy()
    ok, rms, peak = flt.reference.compare(out, want)
    assert ok, ("onnx", B, L, rms, peak)
module.float()
# input_shapes still fixes every size.
ir = flt_onnx.import_model(model, input_shapes={"x": [2, 6, 32],
                                                "attention_mask": [2, 6]})
# CHECK: onnx static func.func @main(%arg0: tensor<2x6x32xf32>, %arg1: tensor<2x6xi64>)
print("onnx static", ir[ir.index("func.func @main"):].split(" ->")[0])

q, k, v = (torch.randn(1, 2, 8, 4) for _ in range(3))
model = exported(CausalLinear(), (q, k, v), ["q", "k", "v"],
                 {name: {2: "seq"} for name in "qkv"})
run = flt_onnx.compile(model)
for L in (5, 33):
    q, k, v = (torch.randn(1, 2, L, 4) for _ in range(3))
    (out,) = run(q.numpy(), k.numpy(), v.numpy())
    want = CausalLinear()(q.double(), k.double(), v.double()).numpy()
    ok, rms, peak = flt.reference.compare(out, want)
    assert ok, ("onnx causal", L, rms, peak)
# CHECK: onnx causal {{.*}}flt.linear_attention {{.*}}causal = true{{.*}} : tensor<1x2x?x4xf32>
print("onnx causal", [line.strip() for line in str(run.ir).splitlines()
                      if "flt.linear_attention" in line][0])
