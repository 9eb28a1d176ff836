# What the torch frontend (torch.fx -> linalg -> flt-raise-attention) makes
# of the official modules' spellings (docs/Compatibility.md, "The torch
# frontend"): attention layers written the way the official code writes
# them, in plain torch, imported and, where they import, compiled and
# compared with their own float64 forward. Each case states what is raised
# to flt ops today, so that a change in the raiser shows up here (and in
# the docs).
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s
# CHECK: compat_frontend: {{[0-9]+}} checks, 0 failures

import math
import re

import numpy as np
import torch
import torch.nn as nn

from flt import reference
from flt.frontends import UnsupportedError
from flt.frontends import torch as flt_torch
import official_standins as off

torch.manual_seed(0)
failures, checks = [], [0]


def expect(label, ok, detail=""):
    checks[0] += 1
    print(f"{'PASS' if ok else 'FAIL'}: {label} {detail}".rstrip())
    if not ok:
        failures.append(label)


def flt_ops(ir):
    return sorted(set(re.findall(r"flt\.(\w+)", ir)))


def linear_attention(fq, fk, v):
    """The quadratic spelling of normalized linear attention."""
    scores = fq @ fk.transpose(-1, -2)
    return (scores @ v) / (scores.sum(-1, keepdim=True) + 1e-6)


class UrpeLinear(nn.Module):
    """fairseq-evo style: relu features, then Urpe on [B*H, L, d] for q and
    k, then linear attention (one fixed Urpe configuration)."""

    def __init__(self, core, p, d, table=None, v=None):
        super().__init__()
        self.core, self.p, self.table, self.v = core, p, table, v

    def urpe(self, x):
        B, H, L, d = x.shape
        y = off.urpe_forward(x.reshape(B * H, L, d), self.core, self.p,
                             v=self.v, table=self.table, dtype=x.dtype)
        return y.reshape(B, H, L, d)

    def forward(self, q, k, v):
        return linear_attention(self.urpe(torch.relu(q)),
                                self.urpe(torch.relu(k)), v)


class FLTConcat(nn.Module):
    """The official FLT layer with relu features (imp/max), positions fixed:
    the snippet is a constant concatenated to q and k."""

    def __init__(self, coords, theta, xi):
        super().__init__()
        self.coords, self.theta, self.xi = coords, theta, xi

    def forward(self, q, k, v):
        # q, k, v: [B, L, H, d] as in the official code.
        return off.flt_attention(q, k, v, self.coords, self.theta, self.xi,
                                 kernel="relu", dtype=q.dtype)


class FourierCore(nn.Module):
    """FourierAttn's formula in plain torch (the official layer calls a C++
    extension, which torch.fx cannot trace)."""

    def forward(self, q, k, v):
        return off.fourier_attn(q, k, v, [2.0], dtype=q.dtype)


class RPEMaskLayer(nn.Module):
    """Masked relu attention with the official RPEMask (rolled Toeplitz)."""

    def __init__(self, first, second):
        super().__init__()
        self.mask = (first, second)

    def forward(self, q, k, v):
        fq, fk = torch.relu(q) + 1e-6, torch.relu(k) + 1e-6
        return off.masked_favor_attention(fq, fk, v, self.mask).to(q.dtype)


B, H, L, d = 1, 2, 12, 8
g = np.random.default_rng(3)
cases = [
    ("Urpe core 1 P 1 (rotary)", UrpeLinear(1, 1, d), "bhld"),
    ("Urpe core 1 P 4 (odd-even)", UrpeLinear(1, 4, d), "bhld"),
    ("Urpe core 2 P 1 (mixed)", UrpeLinear(2, 1, d), "bhld"),
    ("Urpe core 3 P 1 (permutation)", UrpeLinear(
        3, 1, d, table=off.urpe_permutation_table(torch.randperm(d), L)),
     "bhld"),
    ("FLT concat (relu, imp/max)", FLTConcat(
        np.float32(g.uniform(0, 0.2, (L, 1))),
        np.float32(np.concatenate([g.uniform(0, 1, (H, 2)),
                                   0.1 * g.standard_normal((H, 4))], 1)),
        np.float32(g.standard_normal((H, 4, 1)))), "blhd"),
    ("FourierAttn formula", FourierCore(), "lbhd"),
    ("RPEMask (rolled Toeplitz)", RPEMaskLayer(
        torch.randn(H, L, dtype=torch.float64),
        torch.randn(H, L - 1, dtype=torch.float64)), "blhd"),
]
outcome = {}
for label, module, layout in cases:
    shape = {"bhld": (B, H, L, d), "blhd": (B, L, H, d),
             "lbhd": (L, B, H, d)}[layout]
    q, k, v = (torch.randn(shape) for _ in range(3))
    try:
        ir = flt_torch.import_module(module, (q, k, v))
    except UnsupportedError as error:
        outcome[label] = "unsupported"
        print(f"{label}: not imported: {str(error).splitlines()[0][:100]}")
        continue
    ops = flt_ops(ir)
    outcome[label] = ",".join(ops) if ops else "linalg"
    print(f"{label}: imported; flt ops: {ops or 'none (linalg only)'}")
    run = flt_torch.compile(module, (q, k, v))
    want = module.double()(q.double(), k.double(), v.double()) \
        if hasattr(module, "double") else None
    with torch.no_grad():
        want = module(q.double(), k.double(), v.double()).numpy()
    ok, rms, peak = reference.compare(run(q, k, v).numpy(), want)
    expect(f"{label}: compiled result", ok, f"rel-rms {rms:.1e}")

# What the frontend does today (docs/Compatibility.md).
expected = {
    "Urpe core 1 P 1 (rotary)": None,
    "Urpe core 1 P 4 (odd-even)": None,
    "Urpe core 2 P 1 (mixed)": None,
    "Urpe core 3 P 1 (permutation)": None,
    "FLT concat (relu, imp/max)": None,
    "FourierAttn formula": None,
    "RPEMask (rolled Toeplitz)": None,
}
for label, got in outcome.items():
    print(f"  {label}: {got}")
    if expected.get(label) is not None:
        expect(f"{label}: {expected[label]}", got == expected[label],
               f"(got {got})")
print(f"compat_frontend: {checks[0]} checks, {len(failures)} failures")
