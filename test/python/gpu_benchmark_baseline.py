# benchmarks/gpu's PyTorch baseline (the FLT layer with materialized
# Kronecker features, timed against flt on the GPU host) computes docs/Semantics.md 2.8:
# here on the CPU in float64, against flt.reference.attention, causal and
# not, so that the GPU comparison is between the same math.
# RUN: %python %s | FileCheck %s

import os
import sys

import numpy as np
import torch

from flt import reference

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "benchmarks", "gpu"))
import run_gpu_benchmarks as bench  # noqa: E402

# Causal in chunks of 32 (the last one partial) and of 256 (one, partial).
# CHECK: causal=False chunk=32: max rel error {{[0-9.e-]+}} ok
# CHECK: causal=True chunk=32: max rel error {{[0-9.e-]+}} ok
# CHECK: causal=False chunk=256: max rel error {{[0-9.e-]+}} ok
# CHECK: causal=True chunk=256: max rel error {{[0-9.e-]+}} ok
for chunk, causal in ((32, False), (32, True), (256, False), (256, True)):
    arrays = bench.inputs(np, 100, seed=3)
    got = bench.torch_layer(torch, *[torch.tensor(a, dtype=torch.float64)
                                     for a in arrays], causal,
                            chunk=chunk).numpy()
    want = reference.attention(*arrays, kernel="relu",
                               spectrum="gaussian_mixture", causal=causal)
    error = np.max(np.abs(got - want)) / np.max(np.abs(want))
    print(f"causal={causal} chunk={chunk}: max rel error {error:.1e} "
          f"{'ok' if error < 1e-10 else 'WRONG'}")
