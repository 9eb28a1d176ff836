#!/usr/bin/env python3
"""CPU benchmark of the FLT layer (B=1, H=2, d=m=e=64, m_f=16, relu features,
Gaussian-mixture spectrum, p=1) at L = 1k, 4k, 16k, 64k, in one run:

  flt fused     flt-compile (the default pipeline)
  flt unfused   flt-compile --no-fusion (fq ⊗ phi and fk ⊗ psi materialized)
  numpy         NumPy on OpenBLAS: materialize Q' = fq ⊗ phi, K' = fk ⊗ psi,
                then T = K'ᵀ [v, 1] and Q' T (two GEMMs)

each with 1 and 2 threads. Prints median time, GFLOP/s (linear-form FLOPs,
an FMA counts 2), % of this machine's FMA peak (measured here), peak RSS of
the process, and speed-ups over numpy; writes results.json and a plot.

    benchmarks/cpu/run_benchmarks.py [--build build] [--out DIR]
                                     [--lengths 1024,4096,16384,65536]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
H, D, M_F, K = 2, 64, 16, 25
R = 2 * M_F


def flops(L):
    # Linear form per head: state 2 L m r (e + 1), read-out the same.
    return 4 * H * L * D * R * (D + 1)


def measure_peak(work):
    """Single-core fp32 FMA peak, GFLOP/s (best of 3)."""
    exe = os.path.join(work, "fma_peak")
    subprocess.run(["/usr/lib/llvm-22/bin/clang", "-O3", "-march=native",
                    "-ffp-contract=fast",
                    os.path.join(ROOT, "benchmarks", "cpu", "fma_peak.c"),
                    "-o", exe], check=True)
    return max(float(subprocess.run([exe], capture_output=True, text=True,
                                    check=True).stdout.split()[0])
               for _ in range(3))


def child_peak_rss_mb(command, env=None):
    """Runs command; returns (stdout, peak RSS of that child in MB)."""
    script = ("import resource, subprocess, sys\n"
              "p = subprocess.run(sys.argv[1:], capture_output=True, "
              "text=True)\n"
              "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
              "print('RSS', resource.getrusage(resource.RUSAGE_CHILDREN)"
              ".ru_maxrss)\n"
              "sys.exit(p.returncode)\n")
    done = subprocess.run([sys.executable, "-c", script, *command],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr}")
    lines = done.stdout.strip().splitlines()
    return "\n".join(lines[:-1]), int(lines[-1].split()[1]) / 1024


def make_inputs(work, L):
    g = np.random.default_rng(L)
    arrays = [g.standard_normal((1, H, L, D)).astype(np.float32)
              for _ in range(3)]
    arrays.append(g.uniform(0, 0.2, (1, L, 1)).astype(np.float32))
    arrays.append(g.standard_normal((H, M_F, 1)).astype(np.float32))
    arrays.append(np.concatenate(
        [g.uniform(0, 1, (H, K)), 0.1 * g.standard_normal((H, K)),
         0.1 * g.standard_normal((H, K))], axis=1).astype(np.float32))
    paths = []
    for i, a in enumerate(arrays):
        paths.append(os.path.join(work, f"L{L}_in{i}.npy"))
        np.save(paths[-1], a)
    return paths


BASELINE = r'''
import sys, time, numpy as np
paths, calls = sys.argv[1:7], int(sys.argv[7])
sys.path.insert(0, sys.argv[8])
from flt import reference
q, k, v, r, xi, theta = (np.load(p) for p in paths)
# Features are not timed (the same for every contender); the attention is.
fq = reference.feature_map(q, "relu").astype(np.float32)
fk = reference.feature_map(k, "relu").astype(np.float32)
rho = reference.spectral_density(theta, xi, "gaussian_mixture")
phi, psi = (x.astype(np.float32) for x in
            reference.spectral_features(r, xi, rho))
B, H, L, m = fq.shape
def layer():
    out = np.empty_like(v)
    for h in range(H):
        Qp = (fq[0, h][:, :, None] * phi[0, h][:, None, :]).reshape(L, -1)
        Kp = (fk[0, h][:, :, None] * psi[0, h][:, None, :]).reshape(L, -1)
        T = Kp.T @ np.concatenate([v[0, h], np.ones((L, 1), np.float32)], 1)
        o = Qp @ T
        den = o[:, -1:]
        out[0, h] = o[:, :-1] / np.where(den > 0, den, 1)
    return out
layer()
times = []
for _ in range(calls):
    t = time.perf_counter(); layer(); times.append(time.perf_counter() - t)
print("median", 1e3 * float(np.median(times)))
'''


def run_flt(library, inputs, threads, calls):
    out, rss = child_peak_rss_mb(
        [os.path.join(ROOT, "build", "bin", "flt-run") if not ARGS.build
         else os.path.join(ARGS.build, "bin", "flt-run"), library,
         "--function=layer", *[f"--input={p}" for p in inputs],
         f"--threads={threads}", f"--benchmark={calls}"])
    return float(out.split("median ")[1].split(" ms")[0]), rss


def run_numpy(inputs, threads, calls):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads))
    out, rss = child_peak_rss_mb(
        [sys.executable, "-c", BASELINE, *inputs, str(calls),
         os.path.join(ROOT, "python_bindings")], env)
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
    work = tempfile.mkdtemp(prefix="flt-bench-")

    peak = measure_peak(work)
    print(f"single-core FMA peak (measured): {peak:.1f} GFLOP/s")

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
    for name, flags in (("flt fused", []), ("flt unfused", ["--no-fusion"])):
        libraries[name] = os.path.join(work, name.replace(" ", "_") + ".so")
        subprocess.run([compile_, source, "-o", libraries[name], *flags],
                       check=True)

    rows = []
    header = (f"{'L':>6} {'threads':>7} {'contender':<12} {'ms':>9} "
              f"{'GFLOP/s':>8} {'%peak':>6} {'RSS MB':>7} {'vs numpy':>8}")
    print(header)
    for L in lengths:
        inputs = make_inputs(work, L)
        calls = 5 if L <= 16384 else 3
        for threads in (1, 2):
            results = {}
            results["numpy"] = run_numpy(inputs, threads, calls)
            for name, library in libraries.items():
                results[name] = run_flt(library, inputs, threads, calls)
            for name in ("flt fused", "flt unfused", "numpy"):
                ms, rss = results[name]
                gflops = flops(L) / ms / 1e6
                row = {"L": L, "threads": threads, "contender": name,
                       "ms": ms, "gflops": gflops,
                       "percent_peak": 100 * gflops / (peak * threads),
                       "rss_mb": rss,
                       "speedup_vs_numpy": results["numpy"][0] / ms}
                rows.append(row)
                print(f"{L:>6} {threads:>7} {name:<12} {ms:>9.1f} "
                      f"{gflops:>8.1f} {row['percent_peak']:>6.1f} "
                      f"{rss:>7.0f} {row['speedup_vs_numpy']:>8.2f}",
                      flush=True)

    with open(os.path.join(ARGS.out, "results.json"), "w") as f:
        json.dump({"fma_peak_gflops_per_core": peak, "rows": rows}, f,
                  indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, style in (("flt fused", "-o"), ("flt unfused", "--s"),
                            ("numpy", ":^")):
            for threads, color in ((1, "tab:blue"), (2, "tab:orange")):
                pts = [(r["L"], r["gflops"]) for r in rows
                       if r["contender"] == name and r["threads"] == threads]
                ax.plot(*zip(*pts), style, color=color,
                        label=f"{name}, {threads} thread(s)")
        ax.axhline(peak, color="gray", lw=0.8)
        ax.axhline(2 * peak, color="gray", lw=0.8, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sequence length L")
        ax.set_ylabel("GFLOP/s (linear-form FLOPs)")
        ax.set_title("FLT layer, B=1 H=2 d=m=e=64 m_f=16 (gray: FMA peak)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(ARGS.out, "flt_cpu.png"), dpi=120)
        print(f"plot: {os.path.join(ARGS.out, 'flt_cpu.png')}")
    except ImportError:
        print("matplotlib not available: no plot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
