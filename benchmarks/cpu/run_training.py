#!/usr/bin/env python3
"""CPU benchmark of training the FLT layer: forward + backward (B=1, H=2,
d=m=e=64, m_f=16, relu features, Gaussian-mixture spectrum with K=25, p=1)
at L = 1k, 4k, 16k, 64k, 1 and 2 threads, in one run:

  flt               @layer then @layer_vjp (flt-compile --gradients; auto
                    picks the fused backward of linear attention here)
  flt decomposed    the same with --linear-attention-grad=decomposed (the
                    backward as more linear attentions), up to L = 16384
  torch linear      torch autograd (float32) of the materialized linear
                    form: Q' = fq ⊗ Phi, K' = fk ⊗ Psi, T = K'ᵀ [v, 1], Q' T
  torch quadratic   torch autograd (float32) of the FLT layer with the
                    L × L mask (flt.nn.FLTAttention's torch backend), up to
                    L = 4096 (its scores alone take 2 L² · 4 bytes per head)

Every contender computes the gradient of every argument (q, k, v, r, xi,
theta) for one random cotangent. Prints median times, the backward's cost
relative to the forward, speed-ups over the torch baselines and each
process's peak RSS; writes training.json and training.png.

    benchmarks/cpu/run_training.py [--build build] [--out DIR]
                                   [--lengths 1024,4096,16384,65536]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

# The layer benchmark's child-process peak-RSS measurement.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_benchmarks import child_peak_rss_mb  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
H, D, M_F, K = 2, 64, 16, 25
QUADRATIC_MAX_L = 4096
DECOMPOSED_MAX_L = 16384


def make_inputs(work, L):
    g = np.random.default_rng(L)
    arrays = [g.standard_normal((1, H, L, D)).astype(np.float32)
              for _ in range(3)]
    arrays.append(g.uniform(0, 0.2, (1, L, 1)).astype(np.float32))
    arrays.append(g.standard_normal((H, M_F, 1)).astype(np.float32))
    arrays.append(np.concatenate(
        [g.uniform(0, 1, (H, K)), 0.1 * g.standard_normal((H, K)),
         0.1 * g.standard_normal((H, K))], axis=1).astype(np.float32))
    arrays.append(g.standard_normal((1, H, L, D)).astype(np.float32))
    paths = []
    for i, a in enumerate(arrays):
        paths.append(os.path.join(work, f"L{L}_in{i}.npy"))
        np.save(paths[-1], a)
    return paths[:6], paths[6]


# Torch autograd in float32 of docs/Semantics.md's formulas: the reference
# module's functions with its working precision switched to float32.
TORCH = r'''
import sys, time, numpy as np, torch
mode, threads, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
paths, cot = sys.argv[4:10], sys.argv[10]
sys.path.insert(0, sys.argv[11])
torch.set_num_threads(threads)
from flt import reference_autograd as ra
ra._F64 = torch.float32
leaves = [torch.tensor(np.load(p), requires_grad=True) for p in paths]
g = torch.tensor(np.load(cot))

def linear(q, k, v, r, xi, theta):
    fq, fk = ra.feature_map(q, "relu"), ra.feature_map(k, "relu")
    phi, psi = ra.spectral_features(
        r, xi, ra.spectral_density(theta, xi, "gaussian_mixture"))
    Qp, Kp = ra._kron(fq, phi), ra._kron(fk, psi)
    ones = torch.ones(v.shape[:-1] + (1,))
    o = Qp @ (Kp.transpose(-1, -2) @ torch.cat([v, ones], -1))
    den = o[..., -1]
    den = torch.where(den > 0, den, torch.ones_like(den))
    return o[..., :-1] / den[..., None]

def quadratic(q, k, v, r, xi, theta):
    return ra.attention(q, k, v, r, xi, theta, "relu", "gaussian_mixture")

layer = linear if mode == "linear" else quadratic
def step():
    for x in leaves:
        x.grad = None
    layer(*leaves).backward(g)
step()
times = []
for _ in range(calls):
    t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
print("median", 1e3 * float(np.median(times)))
'''


def run_flt(library, function, inputs, threads, calls):
    out, rss = child_peak_rss_mb(
        [os.path.join(ARGS.build, "bin", "flt-run"), library,
         f"--function={function}", *[f"--input={p}" for p in inputs],
         f"--threads={threads}", f"--benchmark={calls}"])
    return float(out.split("median ")[1].split(" ms")[0]), rss


def run_torch(mode, inputs, cotangent, threads, calls):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out, rss = child_peak_rss_mb(
        [sys.executable, "-c", TORCH, mode, str(threads), str(calls),
         *inputs, cotangent, os.path.join(ROOT, "python_bindings")], env)
    return float(out.split("median")[1]), rss


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks",
                                                      "cpu", "results"))
    parser.add_argument("--lengths", default="1024,4096,16384,65536")
    ARGS = parser.parse_args()
    lengths = [int(x) for x in ARGS.lengths.split(",")]
    os.makedirs(ARGS.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="flt-train-bench-")

    source = os.path.join(work, "layer.mlir")
    Q = "tensor<1x2x?x64xf32>"
    with open(source, "w") as f:
        f.write(f"""func.func @layer(%q: {Q}, %k: {Q}, %v: {Q},
    %r: tensor<1x?x1xf32>, %xi: tensor<2x16x1xf32>, %th: tensor<2x75xf32>)
    -> {Q} {{
  %o = flt.attention %q, %k, %v, %r, %xi, %th {{kernel = #flt.kernel<relu>,
         spectrum = #flt.spectrum<gaussian_mixture>}}
       : {Q}, {Q}, {Q}, tensor<1x?x1xf32>, tensor<2x16x1xf32>,
         tensor<2x75xf32> -> {Q}
  return %o : {Q}
}}
""")
    compile_ = os.path.join(ARGS.build, "bin", "flt-compile")
    libraries = {}
    for name, flags in (("flt", []), ("flt decomposed",
                                      ["--linear-attention-grad=decomposed"])):
        libraries[name] = os.path.join(work, name.replace(" ", "_") + ".so")
        subprocess.run([compile_, source, "--gradients", "-o",
                        libraries[name], *flags], check=True)

    rows = []
    print(f"{'L':>6} {'thr':>3} {'contender':<16} {'fwd ms':>9} "
          f"{'bwd ms':>9} {'fwd+bwd ms':>10} {'bwd/fwd':>7} "
          f"{'RSS MB':>7} {'vs torch lin':>12} {'vs torch quad':>13}")
    for L in lengths:
        inputs, cotangent = make_inputs(work, L)
        calls = 5 if L <= 16384 else 3
        for threads in (1, 2):
            results = {}
            for name, library in libraries.items():
                if name == "flt decomposed" and L > DECOMPOSED_MAX_L:
                    continue
                fwd, fwd_rss = run_flt(library, "layer", inputs, threads,
                                       calls)
                vjp, vjp_rss = run_flt(library, "layer_vjp",
                                       inputs + [cotangent], threads, calls)
                # @layer_vjp recomputes the forward it needs; a training step
                # runs @layer (for the loss) and then @layer_vjp.
                results[name] = (fwd, vjp, fwd + vjp, max(fwd_rss, vjp_rss))
            ms, rss = run_torch("linear", inputs, cotangent, threads, calls)
            results["torch linear"] = (None, None, ms, rss)
            if L <= QUADRATIC_MAX_L:
                ms, rss = run_torch("quadratic", inputs, cotangent, threads,
                                    calls)
                results["torch quadratic"] = (None, None, ms, rss)
            for name, (fwd, bwd, total, rss) in results.items():
                lin = results["torch linear"][2] / total
                quad = (results["torch quadratic"][2] / total
                        if "torch quadratic" in results else None)
                row = {"L": L, "threads": threads, "contender": name,
                       "forward_ms": fwd, "backward_ms": bwd,
                       "forward_backward_ms": total, "rss_mb": rss,
                       "speedup_vs_torch_linear": lin,
                       "speedup_vs_torch_quadratic": quad,
                       "backward_over_forward": bwd / fwd if fwd else None}
                rows.append(row)

                def show(x, spec):
                    return format(x, spec) if x is not None else "-"
                print(f"{L:>6} {threads:>3} {name:<16} {show(fwd, '9.1f'):>9} "
                      f"{show(bwd, '9.1f'):>9} {total:>10.1f} "
                      f"{show(row['backward_over_forward'], '7.2f'):>7} "
                      f"{rss:>7.0f} {lin:>12.2f} {show(quad, '13.2f'):>13}",
                      flush=True)

    with open(os.path.join(ARGS.out, "training.json"), "w") as f:
        json.dump({"rows": rows}, f, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not found: no plot")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, threads in zip(axes, (1, 2)):
        for name in ("flt", "flt decomposed", "torch linear",
                     "torch quadratic"):
            points = [(r["L"], r["forward_backward_ms"]) for r in rows
                      if r["contender"] == name and r["threads"] == threads]
            if points:
                ax.loglog(*zip(*points), marker="o", label=name)
        ax.set_title(f"FLT layer forward + backward, {threads} thread(s)")
        ax.set_xlabel("L")
        ax.set_ylabel("ms (median)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(ARGS.out, "training.png"), dpi=110)
    print("wrote", os.path.join(ARGS.out, "training.json"), "and",
          os.path.join(ARGS.out, "training.png"))


if __name__ == "__main__":
    main()
