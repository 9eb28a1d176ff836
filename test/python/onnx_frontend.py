# flt.frontends.onnx: attention exported with torch.onnx.export imports to
# flt ops and matches torch's float64 output.
# REQUIRES: python-bindings
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s

import io
import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

import flt
from flt.frontends import UnsupportedError
from flt.frontends import onnx as flt_onnx

torch.manual_seed(0)


class Softmax(nn.Module):
    def forward(self, q, k, v):
        s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        return torch.softmax(s, dim=-1) @ v


class Linear(nn.Module):
    def forward(self, q, k, v):
        a = (F.elu(q) + 1) @ (F.elu(k) + 1).transpose(-2, -1)
        return (a @ v) / (a.sum(-1, keepdim=True) + 1e-6)


q, k, v = (torch.randn(1, 4, 33, 16) for _ in range(3))
for name, module in (("softmax", Softmax()), ("linear", Linear())):
    path = os.path.join(sys.argv[1], name + ".onnx")
    torch.onnx.export(module, (q, k, v), path, input_names=["q", "k", "v"],
                      opset_version=14)
    run = flt_onnx.compile(path)
    ops = sorted({l.split("= ")[1].split()[0]
                  for l in str(run.ir).splitlines() if "= flt." in l})
    (out,) = run(q.numpy(), k.numpy(), v.numpy())
    want = module(q.double(), k.double(), v.double()).numpy()
    ok, rms, peak = flt.reference.compare(out, want)
    assert ok, (name, rms, peak)
    # CHECK: softmax flt.kernel_attention ok
    # CHECK: linear flt.feature_map flt.linear_attention ok
    print(name, " ".join(ops), "ok")

for bad in [os.path.join(sys.argv[1], "missing.onnx"), __file__]:
    try:
        flt_onnx.import_model(bad)
        raise SystemExit("no error")
    except UnsupportedError as e:
        # CHECK: cannot read ONNX model
        # CHECK: is not an ONNX model
        print(str(e).split(":")[0].rsplit(" ", 1)[0] if "cannot" in str(e)
              else "is not an ONNX model")
