# Rotary position embeddings as people write them (LLaMA's rotate_half,
# GPT-J's rotate_every_two, a [B, L, H, d] layout with the signs the other
# way round) import to flt.position_transform with the right pairing and
# angles, and match torch's float64 output; tables that are not a rotation
# stay elementwise (and still match). The same through ONNX.
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s

import io
import math
import warnings

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

import flt
from flt.frontends import onnx as flt_onnx
from flt.frontends import torch as flt_torch

torch.manual_seed(0)
warnings.filterwarnings("ignore")


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rotate_every_two(x):
    x1 = x[..., ::2]
    x2 = x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


class LlamaRotarySoftmax(nn.Module):
    """Cached cos/sin buffers, rotate_half, softmax attention."""

    def __init__(self, length, dim, base=10000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        freqs = torch.outer(torch.arange(length).float(), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos())
        self.register_buffer("sin", emb.sin())

    def forward(self, q, k, v):
        q = q * self.cos + rotate_half(q) * self.sin
        k = k * self.cos + rotate_half(k) * self.sin
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        return scores.softmax(-1) @ v


class GPTJRotaryLinear(nn.Module):
    """Tables made in forward from arange, interleaved pairs, rotary on
    relu features, einsum linear attention."""

    def __init__(self, dim):
        super().__init__()
        self.inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() /
                                         dim))

    def forward(self, q, k, v):
        angles = torch.arange(q.shape[2]).float()[:, None] * self.inv_freq
        cos = angles.cos().repeat_interleave(2, -1)
        sin = angles.sin().repeat_interleave(2, -1)
        q, k = F.relu(q), F.relu(k)
        q = q * cos + rotate_every_two(q) * sin
        k = k * cos + rotate_every_two(k) * sin
        kv = torch.einsum("bhsd,bhse->bhde", k, v)
        z = 1 / (torch.einsum("bhld,bhd->bhl", q, k.sum(2)) + 1e-6)
        return torch.einsum("bhld,bhde,bhl->bhle", q, kv, z)


class TokenMajorMinusForm(nn.Module):
    """[B, L, H, d] input, x cos - cat(x2, -x1) sin."""

    def __init__(self, length, dim):
        super().__init__()
        inv = 1.0 / (100 ** (torch.arange(0, dim, 2).float() / dim))
        f = torch.arange(length).float()[:, None] * inv
        emb = torch.cat((f, f), -1)
        self.register_buffer("c", emb.cos()[:, None, :])
        self.register_buffer("s", emb.sin()[:, None, :])

    def forward(self, x):
        h = x.shape[-1] // 2
        turned = torch.cat((x[..., h:], -x[..., :h]), -1)
        return x * self.c - turned * self.s


class NotARotation(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("c", torch.randn(40, 16))
        self.register_buffer("s", torch.randn(40, 16))

    def forward(self, x):
        return x * self.c + rotate_half(x) * self.s


def flt_ops(ir):
    return " ".join(sorted({line.split("= ")[1].split()[0]
                            for line in ir.splitlines() if "= flt." in line}))


def transform_line(ir):
    lines = [l.strip() for l in ir.splitlines() if "position_transform" in l]
    return lines[0] if lines else "none"


def check(name, module, inputs):
    ir = flt_torch.import_module(module, inputs)
    out = flt_torch.compile(module, inputs)(*inputs)
    want = module.double()(*(t.double() for t in inputs)).detach().numpy()
    module.float()
    ok, rms, peak = flt.reference.compare(out.numpy(), want)
    assert ok, (name, rms, peak)
    print(name, flt_ops(ir), "ok")
    print(transform_line(ir))


q, k, v = (torch.randn(2, 3, 40, 16) for _ in range(3))
# CHECK: llama flt.kernel_attention flt.position_transform ok
# CHECK-NEXT: flt.position_transform %arg0, %{{.+}} {core = #flt.lrpe_core<rotary>, pairing = #flt.pairing<halves>} : tensor<2x3x40x16xf32>, tensor<3x8xf32>
check("llama", LlamaRotarySoftmax(40, 16), (q, k, v))
# Interleaved is the default pairing (not printed).
# CHECK: gptj flt.linear_attention flt.position_transform ok
# CHECK-NEXT: flt.position_transform %{{.+}} {core = #flt.lrpe_core<rotary>} : tensor<2x3x40x16xf32>, tensor<3x8xf32>
check("gptj", GPTJRotaryLinear(16), (q, k, v))
# [2, 40, 3, 16] is transposed to flt's [B, H, L, d] and back.
# CHECK: token_major flt.position_transform ok
# CHECK-NEXT: pairing = #flt.pairing<halves>} : tensor<2x3x40x16xf32>
check("token_major", TokenMajorMinusForm(40, 16), (torch.randn(2, 40, 3, 16),))
# CHECK: not_a_rotation  ok
# CHECK-NEXT: none
check("not_a_rotation", NotARotation(), (torch.randn(2, 3, 40, 16),))

# The angles are the model's: theta_t = base^(-2t/d) for every head.
ir = flt_torch.import_module(LlamaRotarySoftmax(40, 16), (q, k, v))
graph = flt_torch.import_graph(LlamaRotarySoftmax(40, 16), (q, k, v))
tables = [n for n in graph.topological() if n.kind == "flt"][0].inputs[1]
want = 1.0 / (10000.0 ** (torch.arange(0, 16, 2).double() / 16))
error = (torch.from_numpy(tables.value).double() - want).abs().max().item()
# CHECK: theta error ok
print("theta error", "ok" if error < 1e-6 else error)

# ONNX: the LLaMA layer exported by torch.onnx.export.
module = LlamaRotarySoftmax(40, 16)
buffer = io.BytesIO()
torch.onnx.export(module, (q, k, v), buffer, opset_version=14)
model = onnx.load_from_string(buffer.getvalue())
run = flt_onnx.compile(model)
out = run(q.numpy(), k.numpy(), v.numpy())[0]
want = module.double()(q.double(), k.double(), v.double()).numpy()
ok, rms, peak = flt.reference.compare(out, want)
assert ok, (rms, peak)
# CHECK: onnx llama flt.kernel_attention flt.position_transform ok
print("onnx llama", flt_ops(str(run.ir)), "ok")
