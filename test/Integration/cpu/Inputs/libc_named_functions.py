"""Runs the functions of symbol_names.mlir's libc.mlir (the library argv[1])
with flt-run and prints "NAME: ok" for each whose result matches the float64
reference (docs/Semantics.md), "NAME: wrong" or "NAME: failed ..." else."""

import os
import sys
import tempfile

import numpy as np
from flt import reference

import subprocess

library = sys.argv[1]
tools = os.environ.get("FLT_TOOLS_DIR", "")
g = np.random.default_rng(0)
x = g.standard_normal((2, 2, 5, 2)).astype(np.float32)
theta = g.uniform(0, 1, (2, 1)).astype(np.float32)
positive = np.abs(x) + 0.1
elu = reference.feature_map(x, "elu_plus_one")
cases = [
    ("malloc", [x], elu),
    ("expf", [x], elu),
    ("sincos", [x, theta], reference.position_transform(x, theta, "rotary")),
    ("__kmpc_fork_call", [positive],
     reference.linear_attention(positive, positive, positive)),
]
with tempfile.TemporaryDirectory() as directory:
    result = os.path.join(directory, "out.npy")
    for name, inputs, expected in cases:
        args = [os.path.join(tools, "flt-run"), library, f"--function={name}",
                f"--output={result}"]
        for i, array in enumerate(inputs):
            path = os.path.join(directory, f"in{i}.npy")
            np.save(path, array)
            args.append(f"--input={path}")
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{name}: failed {done.stderr.strip()}")
        elif np.allclose(np.load(result), expected, rtol=1e-4, atol=1e-5):
            print(f"{name}: ok")
        else:
            print(f"{name}: wrong")
