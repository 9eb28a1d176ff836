#!/usr/bin/env python3
"""CPU benchmark of training the quadratic attention ops with a learned RPE
bias b [H, 2L-1] (B=1, H=2, d=m=e=64, causal and not, one thread), forward
and backward, in one run:

--op toeplitz (Luo et al.'s Toeplitz RPE on relu features):
  flt fft       flt.toeplitz_attention method = fft: the forward, the
                backward's Toeplitz products and db's correlation by FFT
                (O(L log L) each; the correlation one transform per two of
                its m (e + 1) channel products)
  flt direct    method = direct: every product O(L² (m + e)), db from two
                matrix products per 64 x 64 tile of the L x L plane
  flt auto      method = auto: each product and the correlation chosen by
                the cost model (flt-select-algorithm)
--op softmax (softmax attention with the bias, the papers' baseline):
  flt           flt.kernel_attention bias(b): FlashAttention-style forward
                and backward (scores recomputed tile by tile, no L x L
                buffer)
--op fourier (FourierFormer's Fourier-integral attention with the bias and
a learned R [H, d], the official amplitude_eps form, no rpe):
  flt           flt.kernel_attention scale(R) bias(b) {fourier_integral}:
                the same tiles in the log domain (L = 1k and 4k: each pair
                costs d sines and logarithms)
and for all
  torch dense   torch autograd (float32) of the formula with the L x L
                scores materialized (flt.reference_autograd at float32), up
                to L = 8192 (fourier: L = 256; its [L, L, d] differences take
                gigabytes and minutes per step at 1024)

Every contender computes the gradient of every operand for one random
cotangent (`@t_vjp` recomputes the forward it needs). Prints median times,
the backward's cost relative to the forward, fft / direct for Toeplitz
(below 1 where fft wins) and auto / the faster of the two, torch / flt for
the others, and each process's
peak RSS; writes <op>_training.json.

    benchmarks/cpu/run_quadratic_training.py [--op toeplitz|softmax|fourier]
        [--build build] [--out DIR] [--lengths 1024,4096,16384]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_benchmarks import child_peak_rss_mb  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
H, M = 2, 64
TORCH_MAX_L = {"toeplitz": 8192, "softmax": 8192, "fourier": 256}

TORCH = r'''
import sys, time, numpy as np, torch
op, causal, calls = sys.argv[1], sys.argv[2] == "causal", int(sys.argv[3])
paths, cot = sys.argv[4:-2], sys.argv[-2]
sys.path.insert(0, sys.argv[-1])
torch.set_num_threads(1)
from flt import reference_autograd as ra
ra._F64 = torch.float32
leaves = [torch.tensor(np.load(p), requires_grad=True) for p in paths]
g = torch.tensor(np.load(cot))
def layer(q, k, v, b, R=None):
    if op == "toeplitz":
        return ra.toeplitz_attention(q, k, v, b, causal=causal)
    if op == "fourier":
        return ra.kernel_attention(q, k, v, "fourier_integral", scale=R,
                                   bias=b, causal=causal,
                                   fourier_form="amplitude_eps")
    return ra.kernel_attention(q, k, v, "softmax", bias=b, causal=causal)
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


def module_text(op, causal, method):
    F = "tensor<1x2x?x64xf32>"
    extra, extra_type = "", ""
    if op == "toeplitz":
        attrs = [f"method = #flt.toeplitz_method<{method}>"]
        call = "flt.toeplitz_attention %q, %k, %v, %b"
    elif op == "fourier":
        attrs = ["kernel = #flt.pair_kernel<fourier_integral>",
                 "fourier_form = #flt.fourier_form<amplitude_eps>"]
        call = "flt.kernel_attention %q, %k, %v scale(%R) bias(%b)"
        extra, extra_type = ", %R: tensor<2x64xf32>", ", tensor<2x64xf32>"
    else:
        attrs = []
        call = "flt.kernel_attention %q, %k, %v bias(%b)"
    if causal:
        attrs.insert(0, "causal = true")
    types = f"{F}, {F}, {F}" + (extra_type + ", tensor<2x?xf32>"
                                if op == "fourier" else ", tensor<2x?xf32>")
    return f"""func.func @t(%q: {F}, %k: {F}, %v: {F},
    %b: tensor<2x?xf32>{extra}) -> {F} {{
  %o = {call} {{{', '.join(attrs)}}}
       : {types} -> {F}
  return %o : {F}
}}
"""


def make_inputs(work, L, op):
    g = np.random.default_rng(L)
    # Toeplitz takes features (relu: non-negative), softmax q and k.
    arrays = [g.standard_normal((1, H, L, M)).astype(np.float32)
              for _ in range(2)]
    if op == "toeplitz":
        arrays = [np.abs(a) for a in arrays]
    arrays.append(g.standard_normal((1, H, L, M)).astype(np.float32))
    arrays.append((0.1 * g.standard_normal((H, 2 * L - 1))).astype(
        np.float32))
    if op == "fourier":
        # FourierFormer's regime: q, k ~ 0.4 N(0, 1), R = 2.
        arrays[0] *= 0.4
        arrays[1] *= 0.4
        arrays.append(np.full((H, M), 2.0, np.float32))
    arrays.append(g.standard_normal((1, H, L, M)).astype(np.float32))
    paths = []
    for i, a in enumerate(arrays):
        paths.append(os.path.join(work, f"L{L}_in{i}.npy"))
        np.save(paths[-1], a)
    return paths[:-1], paths[-1]


def run_flt(library, function, inputs, calls):
    out, rss = child_peak_rss_mb(
        [os.path.join(ARGS.build, "bin", "flt-run"), library,
         f"--function={function}", *[f"--input={p}" for p in inputs],
         "--threads=1", f"--benchmark={calls}"])
    return float(out.split("median ")[1].split(" ms")[0]), rss


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks",
                                                      "cpu", "results"))
    parser.add_argument("--lengths", default="1024,4096,16384")
    parser.add_argument("--op", choices=("toeplitz", "softmax", "fourier"),
                        default="toeplitz")
    ARGS = parser.parse_args()
    op = ARGS.op
    methods = ("fft", "direct", "auto") if op == "toeplitz" else ("",)
    lengths = [int(x) for x in ARGS.lengths.split(",")]
    os.makedirs(ARGS.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f"flt-{op}-bench-")
    libraries = {}
    for causal in (False, True):
        for method in methods:
            source = os.path.join(work, f"{op}{method}{int(causal)}.mlir")
            with open(source, "w") as f:
                f.write(module_text(op, causal, method))
            libraries[causal, method] = source[:-5] + ".so"
            subprocess.run([os.path.join(ARGS.build, "bin", "flt-compile"),
                            source, "--gradients", "-o",
                            libraries[causal, method]], check=True)

    rows = []
    print(f"{'L':>6} {'causal':>6} {'contender':<12} {'fwd ms':>9} "
          f"{'bwd ms':>9} {'bwd/fwd':>7} {'RSS MB':>7}")
    for L in lengths:
        inputs, cotangent = make_inputs(work, L, op)
        # FourierFormer's pairs cost d sines and logarithms each: one call
        # at L >= 4096 (minutes).
        if op == "fourier":
            calls = 3 if L <= 1024 else 1
        else:
            calls = 5 if L <= 4096 else 3
        for causal in (False, True):
            results = {}
            for method in methods:
                library = libraries[causal, method]
                fwd, fwd_rss = run_flt(library, "t", inputs, calls)
                bwd, bwd_rss = run_flt(library, "t_vjp", inputs + [cotangent],
                                       calls)
                results[("flt " + method).strip()] = (fwd, bwd,
                                                      max(fwd_rss, bwd_rss))
            if L <= TORCH_MAX_L[op]:
                out, rss = child_peak_rss_mb(
                    [sys.executable, "-c", TORCH, op,
                     "causal" if causal else "plain", str(calls), *inputs,
                     cotangent, os.path.join(ROOT, "python_bindings")],
                    dict(os.environ, OMP_NUM_THREADS="1"))
                results["torch dense"] = (None, float(out.split("median")[1]),
                                          rss)
            for name, (fwd, bwd, rss) in results.items():
                row = {"L": L, "causal": causal, "contender": name,
                       "forward_ms": fwd, "backward_ms": bwd, "rss_mb": rss,
                       "backward_over_forward": bwd / fwd if fwd else None}
                rows.append(row)
                ratio = f"{bwd / fwd:7.2f}" if fwd else "      -"
                fwd_text = f"{fwd:9.1f}" if fwd else "        -"
                print(f"{L:>6} {str(causal):>6} {name:<12} {fwd_text} "
                      f"{bwd:>9.1f} {ratio} {rss:>7.0f}", flush=True)
            if op == "toeplitz":
                fft, direct = results["flt fft"][1], results["flt direct"][1]
                auto = results["flt auto"][1]
                print(f"{L:>6} {str(causal):>6} backward fft / direct = "
                      f"{fft / direct:.3f}, auto / best = "
                      f"{auto / min(fft, direct):.3f}", flush=True)
                rows.append({"L": L, "causal": causal,
                             "backward_fft_over_direct": fft / direct,
                             "backward_auto_over_best":
                                 auto / min(fft, direct)})
            elif "torch dense" in results:
                # @t_vjp includes its forward: it is a whole training step.
                ratio = results["torch dense"][1] / results["flt"][1]
                print(f"{L:>6} {str(causal):>6} forward+backward torch / flt "
                      f"= {ratio:.2f}", flush=True)
                rows.append({"L": L, "causal": causal,
                             "torch_over_flt": ratio})
    with open(os.path.join(ARGS.out, f"{op}_training.json"), "w") as f:
        json.dump({"rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
