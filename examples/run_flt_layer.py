#!/usr/bin/env python3
"""The main job: compile examples/flt_layer.mlir (one FLT attention layer:
B = 1, H = 8, dynamic L, d = 64, relu features, m_f = 16 frequencies of a
Gaussian-mixture spectrum, p = 1), run it at L = 4096 on random data, check
it against the float64 reference of docs/Semantics.md and report time and GFLOP/s.

    examples/run_flt_layer.py [--build build] [--length 4096] [--threads N]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python_bindings"))
from flt import reference  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--length", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    bindir = os.path.join(args.build, "bin")
    B, H, L, d, m_f, K = 1, 8, args.length, 64, 16, 25

    work = tempfile.mkdtemp(prefix="flt-example-")
    library = os.path.join(work, "flt_layer.so")
    source = os.path.join(ROOT, "examples", "flt_layer.mlir")
    print(f"flt-compile {os.path.relpath(source, ROOT)} -> {library}")
    subprocess.run([os.path.join(bindir, "flt-compile"), source, "-o",
                    library], check=True)

    # Well-conditioned inputs (docs/Semantics.md section 3).
    g = np.random.default_rng(0)
    q, k, v = (g.standard_normal((B, H, L, d)).astype(np.float32)
               for _ in range(3))
    r = g.uniform(0, 0.2, (B, L, 1)).astype(np.float32)
    xi = g.standard_normal((H, m_f, 1)).astype(np.float32)
    theta = np.concatenate([g.uniform(0, 1, (H, K)),
                            0.1 * g.standard_normal((H, K)),
                            0.1 * g.standard_normal((H, K))],
                           axis=1).astype(np.float32)
    inputs = []
    for name, array in zip(["q", "k", "v", "r", "xi", "theta"],
                           [q, k, v, r, xi, theta]):
        path = os.path.join(work, name + ".npy")
        np.save(path, array)
        inputs.append(f"--input={path}")
    output = os.path.join(work, "out.npy")
    command = [os.path.join(bindir, "flt-run"), library,
               "--function=flt_layer", *inputs, f"--output={output}",
               f"--threads={args.threads}", f"--benchmark={args.calls}"]
    print(f"flt-run --function=flt_layer (B={B}, H={H}, L={L}, d={d}, "
          f"m_f={m_f}, {args.threads} threads)")
    run = subprocess.run(command, check=True, capture_output=True, text=True)
    print(run.stdout.rstrip())

    expected = reference.attention(q, k, v, r, xi, theta, "relu",
                                   "gaussian_mixture")
    ok, rel_rms, rel_max = reference.compare(np.load(output), expected)
    print(f"check against the float64 reference: relative RMS error "
          f"{rel_rms:.2e}, max error {rel_max:.2e} of max |ref| "
          f"(tolerances 1e-4, 1e-3): {'PASS' if ok else 'FAIL'}")

    median_ms = float(run.stdout.split("median ")[1].split(" ms")[0])
    m, features = d, 2 * m_f
    # Linear form: state (2 L m r (e + 1)) plus read-out, per head.
    flops = 4 * B * H * L * m * features * (d + 1)
    print(f"time per call: {median_ms:.2f} ms (median of {args.calls}), "
          f"{flops / median_ms / 1e6:.1f} GFLOP/s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
