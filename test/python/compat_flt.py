# flt.compat (docs/Compatibility.md): the official FLT layer (imp/max and
# scenic; FAVOR+ and relu; p = 1 and 3; causal and not; checkpoint keys;
# one gradient against torch autograd of the official forward),
# converted to flt IR and arguments, compiled, and run against the float64
# evaluation of the official forward (test/lib/official_standins.py,
# written from the official sources' math; they stand in for the official
# code, which is not installed here), within docs/Semantics.md section 3's
# tolerances. Prints the largest relative RMS error per form.
# This file runs the FAVOR+ layers and the gradient; compat_flt_relu.py
# runs it with the argument "relu" for the relu layers (each within ~30 s).
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s
# CHECK: compat_flt favor_pos: {{[0-9]+}} checks, 0 failures

import sys

import numpy as np
import torch

import flt
from flt import compat, reference
from compat_checks import close, expect, finish, gap
import official_standins as off

torch.manual_seed(0)
g = np.random.default_rng(2025)
part = sys.argv[1] if len(sys.argv) > 1 else "favor_pos"


def mixture(H, p, K):
    return np.concatenate([g.uniform(0, 1, (H, K)),
                           0.1 * g.standard_normal((H, K * p)),
                           0.1 * g.standard_normal((H, K))], 1)


# -- FLT -----------------------------------------------------------------
H, d, e, m_f, K, M = 2, 16, 8, 8, 2, 24
flt_cases = [
    # label, constructor, kernel for the stand-in, p, causal, projection:
    # imp/max FAVOR+ and relu for p = 1 and 3, causal and not; scenic's
    # generic relu (with a projection) and FAVOR+.
    (f"imp/max {kernel} p={p}{' causal' if causal else ''}",
     compat.FLTLayer.imp_max, kernel, p, causal, kernel == "favor_pos")
    for kernel in ("favor_pos", "relu") for p in (1, 3)
    for causal in (False, True)
] + [
    ("scenic relu(W x) p=1", compat.FLTLayer.scenic, "generic_relu", 1,
     False, True),
    ("scenic favor_pos p=3 causal", compat.FLTLayer.scenic, "favor_pos", 3,
     True, True),
]
flt_cases = [case for case in flt_cases
             if (case[2] == "favor_pos") == (part == "favor_pos")]
for label, make, kernel, p, causal, proj in flt_cases:
    layer = make(H, d, num_rand_features=m_f, blobs=K, position_dim=p,
                 kernel="favor_pos" if kernel == "favor_pos" else "relu",
                 projection_dim=M if proj else None, value_dim=e,
                 causal=causal)
    run = layer.compile()
    for B, L, coords_kind in ((1, 1, "shared"), (2, 7, "batched"),
                              (1, 129, "shared"), (1, 300, "integer")):
        q, k = g.standard_normal((B, L, H, d)), g.standard_normal((B, L, H, d))
        v = g.standard_normal((B, L, H, e))
        if coords_kind == "integer":   # imp/max's attention: arange(L)
            coords = np.arange(L, dtype=np.float64)[:, None] * np.ones(p)
        elif coords_kind == "batched":   # scenic: [B, L, p]
            coords = g.uniform(0, 0.2, (B, L, p))
        else:
            coords = g.uniform(0, 0.2, (L, p))
        theta, xi = mixture(H, p, K), g.standard_normal((H, m_f, p))
        projection = g.standard_normal((M, d + 2 * m_f)) if proj else None
        args32 = [np.float32(a) for a in (q, k, v, coords, theta, xi)]
        proj32 = None if projection is None else np.float32(projection)
        want = off.flt_attention(*args32, kernel=kernel, projection=proj32,
                                 causal=causal).numpy()
        close("FLT", f"{label} B={B} L={L} ({coords_kind} coords)",
              run(*args32, projection=proj32), want)
        if L == 129:
            # The paper's form (rpe_form mask, the spec's density) on the
            # same inputs is not what the official code computes.
            a = layer.arguments(*args32, projection=proj32)
            paper = reference.attention(
                *a[:6], "favor_pos" if kernel == "favor_pos" else "relu",
                "gaussian_mixture", w=a[6][:, :, :d] if proj else None,
                eps=layer.eps, causal=causal)
            expect(f"FLT: {label}: the paper's form differs",
                   gap(layer.output(paper), want) > 0.05,
                   f"(relative RMS {gap(layer.output(paper), want):.2f})")

if part == "favor_pos":
    # Checkpoint keys and the reverse.
    theta = mixture(H, 1, K)
    expect("FLT: flt_params from a checkpoint",
           np.array_equal(compat.FLTLayer.params_from_checkpoint(
               {"toeplitz_params": theta}), np.float32(theta)))
    expect("FLT: to_checkpoint", np.array_equal(
        compat.FLTLayer.to_checkpoint(theta)["flt_params"],
        np.float32(theta)))

    # One gradient of the concat form against torch autograd of the official
    # forward. flt holds the FAVOR+ stabilizers constant (docs/Semantics.md
    # section 4); the official code differentiates through its maxima, which
    # with eps = 1e-6 changes the gradient by ~1e-3 relative here, so the
    # reference holds them constant too (the forward value is the same); the
    # gap to the fully differentiated official gradient is printed.
    layer = compat.FLTLayer.imp_max(H, d, m_f, K, position_dim=1,
                                    kernel="favor_pos", projection_dim=M,
                                    value_dim=e)
    kernels = flt.compile(layer.module("layer"), gradients=True)
    B, L = 2, 17
    q, k = g.standard_normal((B, L, H, d)), g.standard_normal((B, L, H, d))
    v = g.standard_normal((B, L, H, e))
    coords, theta = g.uniform(0, 0.2, (L, 1)), mixture(H, 1, K)
    xi, projection = g.standard_normal((H, m_f, 1)), g.standard_normal(
        (M, d + 2 * m_f))
    cot = g.standard_normal((B, L, H, e))
    args = layer.arguments(q, k, v, coords, theta, xi, projection)
    grads = kernels.layer_vjp(*args, np.float32(cot.transpose(0, 2, 1, 3)))
    got = {"query": grads[0].transpose(0, 2, 1, 3),
           "key": grads[1].transpose(0, 2, 1, 3),
           "value": grads[2].transpose(0, 2, 1, 3), "flt_params": grads[5],
           "projection": grads[6].sum(0)}   # one matrix shared by the heads
    official_grads = {}
    for constant in (True, False):
        leaves = [torch.tensor(np.float32(a), dtype=torch.float64,
                               requires_grad=True)
                  for a in (q, k, v, theta, projection)]
        out = off.flt_attention(leaves[0], leaves[1], leaves[2],
                                np.float32(coords), leaves[3], np.float32(xi),
                                "favor_pos", leaves[4],
                                constant_stabilizer=constant)
        out.backward(torch.tensor(np.float32(cot), dtype=torch.float64))
        official_grads[constant] = [leaf.grad.numpy() for leaf in leaves]
    for (name, value), want, full in zip(got.items(), official_grads[True],
                                         official_grads[False]):
        close("FLT gradient", f"d{name} against torch autograd of the "
              "official forward (constant stabilizers)", value, want,
              gradient=True)
        print(f"  d{name}: the official gradient through the maxima "
              f"differs by relative RMS {gap(full, want):.1e}")

finish(f"compat_flt {part}")
