#!/usr/bin/env python3
"""CPU benchmark of the quadratic kernels against their baselines, in one
run (B=1, H=2, d=m=e=64, 1 and 2 threads):

  softmax   flt.kernel_attention (softmax, tiled, online normalization) vs
            NumPy/OpenBLAS materializing the L x L scores, and vs the linear
            FLT layer (flt.attention, relu, m_f=16) at the same L: where the
            linear form overtakes the quadratic one on this machine.
  toeplitz  flt.toeplitz_attention, method fft vs direct, vs L.

Writes results.json / a plot next to the layer benchmark's.

    benchmarks/cpu/run_attention_variants.py [--build build] [--out DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
H, D = 2, 64

SOFTMAX_BASELINE = r'''
import sys, time, numpy as np
q, k, v = (np.load(p) for p in sys.argv[1:4]); calls = int(sys.argv[4])
def layer():
    out = np.empty_like(v)
    for h in range(q.shape[1]):
        s = (q[0, h] @ k[0, h].T) * np.float32(1 / np.sqrt(q.shape[-1]))
        s -= s.max(axis=1, keepdims=True)
        np.exp(s, out=s)
        out[0, h] = (s @ v[0, h]) / s.sum(axis=1, keepdims=True)
    return out
layer(); t = []
for _ in range(calls):
    s = time.perf_counter(); layer(); t.append(time.perf_counter() - s)
print("median", 1e3 * float(np.median(t)))
'''


def flt_time(args, library, function, inputs, threads, calls):
    done = subprocess.run(
        [os.path.join(args.build, "bin", "flt-run"), library,
         f"--function={function}", *[f"--input={p}" for p in inputs],
         f"--threads={threads}", f"--benchmark={calls}"],
        capture_output=True, text=True, check=True)
    return float(done.stdout.split("median ")[1].split(" ms")[0])


def compile_module(args, work, name, text):
    source = os.path.join(work, name + ".mlir")
    with open(source, "w") as f:
        f.write(text)
    library = os.path.join(work, name + ".so")
    subprocess.run([os.path.join(args.build, "bin", "flt-compile"), source,
                    "-o", library], check=True)
    return library


def save(work, name, array):
    path = os.path.join(work, name + ".npy")
    np.save(path, array)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks",
                                                      "cpu", "results"))
    parser.add_argument("--softmax-lengths", default="1024,4096,16384")
    parser.add_argument("--toeplitz-lengths", default="1024,4096,16384")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="flt-bench-variants-")
    T = "tensor<1x2x?x64xf32>"
    softmax = compile_module(args, work, "softmax", f"""
func.func @softmax(%q: {T}, %k: {T}, %v: {T}) -> {T} {{
  %o = flt.kernel_attention %q, %k, %v : {T}, {T}, {T} -> {T}
  return %o : {T}
}}
func.func @flt_layer(%q: {T}, %k: {T}, %v: {T}, %r: tensor<1x?x1xf32>,
                     %xi: tensor<2x16x1xf32>, %th: tensor<2x75xf32>) -> {T} {{
  %o = flt.attention %q, %k, %v, %r, %xi, %th {{kernel = #flt.kernel<relu>,
         spectrum = #flt.spectrum<gaussian_mixture>}}
       : {T}, {T}, {T}, tensor<1x?x1xf32>, tensor<2x16x1xf32>,
         tensor<2x75xf32> -> {T}
  return %o : {T}
}}
""")
    B = "tensor<2x?xf32>"
    toeplitz = compile_module(args, work, "toeplitz", "\n".join(f"""
func.func @{method}(%q: {T}, %k: {T}, %v: {T}, %b: {B}) -> {T} {{
  %o = flt.toeplitz_attention %q, %k, %v, %b
         {{method = #flt.toeplitz_method<{method}>}} : {T}, {T}, {T}, {B} -> {T}
  return %o : {T}
}}""" for method in ("direct", "fft", "auto")))

    rows = []
    g = np.random.default_rng(0)
    print(f"{'kernel':<22} {'L':>6} {'thr':>3} {'ms':>9} {'ratio':>18}")
    for L in [int(x) for x in args.softmax_lengths.split(",")]:
        q, k, v = (g.standard_normal((1, H, L, D)).astype(np.float32)
                   for _ in range(3))
        qkv = [save(work, f"{n}{L}", a) for n, a in zip("qkv", (q, k, v))]
        layer_inputs = qkv + [
            save(work, f"r{L}", g.uniform(0, .2, (1, L, 1)).astype(np.float32)),
            save(work, "xi", g.standard_normal((H, 16, 1)).astype(np.float32)),
            save(work, "th", np.concatenate(
                [g.uniform(0, 1, (H, 25)), 0.1 * g.standard_normal((H, 50))],
                1).astype(np.float32))]
        calls = 3 if L >= 16384 else 5
        for threads in (1, 2):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
            base = subprocess.run(
                [sys.executable, "-c", SOFTMAX_BASELINE, *qkv, str(calls)],
                capture_output=True, text=True, check=True, env=env)
            numpy_ms = float(base.stdout.split("median")[1])
            flt_ms = flt_time(args, softmax, "softmax", qkv, threads, calls)
            layer_ms = flt_time(args, softmax, "flt_layer", layer_inputs,
                                threads, calls)
            rows.append(dict(kernel="softmax", L=L, threads=threads,
                             flt_ms=flt_ms, numpy_ms=numpy_ms,
                             flt_layer_ms=layer_ms))
            print(f"{'softmax flt':<22} {L:>6} {threads:>3} {flt_ms:>9.1f} "
                  f"{numpy_ms / flt_ms:>8.2f}x numpy")
            print(f"{'softmax numpy':<22} {L:>6} {threads:>3} "
                  f"{numpy_ms:>9.1f}")
            print(f"{'FLT layer (linear)':<22} {L:>6} {threads:>3} "
                  f"{layer_ms:>9.1f} {flt_ms / layer_ms:>8.2f}x softmax",
                  flush=True)
    for L in [int(x) for x in args.toeplitz_lengths.split(",")]:
        fq, fk = (np.abs(g.standard_normal((1, H, L, D))).astype(np.float32)
                  for _ in range(2))
        v = g.standard_normal((1, H, L, D)).astype(np.float32)
        b = g.standard_normal((H, 2 * L - 1)).astype(np.float32)
        inputs = [save(work, f"t{n}{L}", a)
                  for n, a in zip(("fq", "fk", "v", "b"), (fq, fk, v, b))]
        calls = 2 if L >= 16384 else 3
        for threads in (1, 2):
            times = {m: flt_time(args, toeplitz, m, inputs, threads, calls)
                     for m in ("direct", "fft", "auto")}
            rows.append(dict(kernel="toeplitz", L=L, threads=threads,
                             **{f"{m}_ms": t for m, t in times.items()}))
            for method, ms in times.items():
                print(f"{'toeplitz ' + method:<22} {L:>6} {threads:>3} "
                      f"{ms:>9.1f} {times['direct'] / ms:>8.2f}x direct",
                      flush=True)
    with open(os.path.join(args.out, "attention_variants.json"), "w") as f:
        json.dump(rows, f, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for threads, style in ((1, "-o"), (2, "--s")):
            sm = [r for r in rows if r["kernel"] == "softmax" and
                  r["threads"] == threads]
            for key, label in (("flt_ms", "softmax flt"),
                               ("numpy_ms", "softmax numpy"),
                               ("flt_layer_ms", "FLT layer (linear)")):
                axes[0].plot([r["L"] for r in sm], [r[key] for r in sm], style,
                             label=f"{label}, {threads} thr")
            tp = [r for r in rows if r["kernel"] == "toeplitz" and
                  r["threads"] == threads]
            for key in ("direct_ms", "fft_ms"):
                axes[1].plot([r["L"] for r in tp], [r[key] for r in tp], style,
                             label=f"{key[:-3]}, {threads} thr")
        for ax, title in zip(axes, ("softmax vs linear", "Toeplitz RPE")):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("L")
            ax.set_ylabel("ms per call (B=1, H=2, d=64)")
            ax.set_title(title)
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, "attention_variants.png"), dpi=110)
    except ImportError:
        print("matplotlib not available: no plot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
