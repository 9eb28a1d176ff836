#!/usr/bin/env python3
"""GPU benchmark of the FLT layer (docs/Design.md section 4), in one run on the
GPU host: flt's fused kernels vs PyTorch eager (the same FLT math with the
Kronecker features materialized) vs torch.compile of it, vs
torch.nn.functional.scaled_dot_product_attention (softmax, flash), at
L in {1k, 4k, 16k, 64k}, B=1, H=8, d=64, m=64, m_f=16, f32 and bf16, causal
and not. Reports medians of several repetitions, TFLOP/s (FMA = 2 FLOPs)
and the % of the H100 roofline, as a table and a plot.

Two phases, because the GPU host has no MLIR:

  here:      benchmarks/gpu/run_gpu_benchmarks.py build --out DIR
             (flt-compile --target=cuda of the layer, one library per
             dtype and causality, dynamic L)
  GPU host:  python3 DIR/run_gpu_benchmarks.py run --bundle DIR
             (needs DIR/bin/flt-run, DIR/lib/libFLTRuntime.so, torch 2.x)

and, here, `check --bundle DIR --driver D` runs flt's part of `run` on the
CUDA driver double in D (test/lib/RecordingCudaDriver.cpp): no GPU, the
kernels do not run, but every launch at every benchmark length must fit its
kernel's limits and leave nothing on the device.

scripts/run-gpu-tests.sh does both.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

B, H, D, M, MF = 1, 8, 64, 64, 16
R = 2 * MF
LENGTHS = (1024, 4096, 16384, 65536)
PEAK = {"f32": 67e12, "bf16": 989e12}  # H100 SXM dense (docs/Design.md 4)
PEAK_TF32 = 495e12


def layer_ir(dtype, causal):
    q = f"tensor<1x{H}x?x{D}x{dtype}>"
    return f"""
func.func @layer(%q: {q}, %k: {q}, %v: {q}, %r: tensor<1x?x1xf32>,
                 %xi: tensor<{H}x{MF}x1xf32>, %theta: tensor<{H}x75xf32>)
    -> {q} {{
  %o = flt.attention %q, %k, %v, %r, %xi, %theta
         {{kernel = #flt.kernel<relu>,
          spectrum = #flt.spectrum<gaussian_mixture>, causal = {str(causal).lower()}}}
       : {q}, {q}, {q}, tensor<1x?x1xf32>, tensor<{H}x{MF}x1xf32>,
         tensor<{H}x75xf32> -> {q}
  return %o : {q}
}}
"""


def build(args):
    os.makedirs(args.out, exist_ok=True)
    compiler = os.path.join(args.build, "bin", "flt-compile")
    for dtype in ("f32", "bf16"):
        for causal in (False, True):
            name = f"layer_{dtype}_{'causal' if causal else 'full'}"
            source = os.path.join(args.out, name + ".mlir")
            with open(source, "w") as f:
                f.write(layer_ir(dtype, causal))
            subprocess.run([compiler, source, "--target=cuda",
                            "--sanitize-address=false", "-o",
                            os.path.join(args.out, name + ".so")], check=True)
            print(f"built {name}.so")


def flops(L, causal):
    """The linear form: 4 L D' (e + 1) per (b, h), D' = m r; half causal.
    Where flt's cost model runs the quadratic form instead (short L), the
    TFLOP/s derived from this are an effective rate of the same work."""
    total = 4.0 * L * (M * R) * (D + 1) * B * H
    return total / 2 if causal else total


def inputs(np, L, seed=0):
    g = np.random.default_rng(seed)
    q = g.standard_normal((B, H, L, D)).astype(np.float32)
    k = g.standard_normal((B, H, L, D)).astype(np.float32)
    v = g.standard_normal((B, H, L, D)).astype(np.float32)
    r = g.uniform(0, 0.2, (B, L, 1)).astype(np.float32)
    xi = g.standard_normal((H, MF, 1)).astype(np.float32)
    theta = np.concatenate([g.uniform(0, 1, (H, 25)),
                            g.normal(0, 0.1, (H, 25)),
                            g.normal(0, 0.1, (H, 25))], 1).astype(np.float32)
    return q, k, v, r, xi, theta


def causal_chunks(torch, qk, kk, v, chunk):
    """Causal linear attention on materialized features, in O(L m r) memory:
    per chunk of `chunk` tokens its state K'_c^T [V 1], an exclusive prefix
    of those over the chunks, and the masked quadratic form inside each
    chunk. Returns (numerator, denominator). (A cumulative sum of per-token
    states would need L m r e floats: 275 GB at L = 64k.)"""
    B, H, L, F = qk.shape
    e = v.shape[-1]
    pad = (-L) % chunk  # zero tokens at the end change no earlier row
    if pad:
        qk, kk, v = (torch.nn.functional.pad(x, (0, 0, 0, pad))
                     for x in (qk, kk, v))
    n = (L + pad) // chunk
    qc = qk.reshape(B, H, n, chunk, F)
    kc = kk.reshape(B, H, n, chunk, F)
    v1 = v.reshape(B, H, n, chunk, e)
    v1 = torch.cat([v1, torch.ones_like(v1[..., :1])], -1)
    states = kc.transpose(-1, -2) @ v1                     # [B,H,n,F,e+1]
    before = torch.cumsum(states, 2) - states
    mask = torch.ones(chunk, chunk, dtype=torch.bool, device=qk.device)
    scores = (qc @ kc.transpose(-1, -2)).masked_fill(~mask.tril(), 0)
    out = (qc @ before + scores @ v1).reshape(B, H, n * chunk, e + 1)
    return out[:, :, :L, :e], out[:, :, :L, e:]


def torch_layer(torch, q, k, v, r, xi, theta, causal, chunk=256):
    """docs/Semantics.md 2.8 with materialized features: Q' = fq (x) Phi, K' = fk (x) Psi;
    causal in chunks (causal_chunks)."""
    w, mu, s = theta[:, :25], theta[:, 25:50], theta[:, 50:]
    x = xi[..., 0]                                             # [H, m_f]
    g = (w[:, None, :] * torch.exp(-(x[:, :, None] - mu[:, None, :]) ** 2
                                   / torch.exp(s)[:, None, :])).sum(-1)
    rho = g / (torch.exp(-x ** 2 / 2) / (2 * math.pi) ** 0.5)
    a = 2 * math.pi * x[None, :, None, :] * r[:, None, :, :]  # [B,H,L,m_f]
    scale = MF ** -0.5
    phi = scale * torch.cat([rho[None, :, None] * torch.cos(a),
                             rho[None, :, None] * torch.sin(a)], -1)
    psi = scale * torch.cat([torch.cos(a), torch.sin(a)], -1)
    fq, fk = torch.relu(q), torch.relu(k)
    qk = (fq[..., :, None] * phi[..., None, :]).flatten(-2)    # [B,H,L,D']
    kk = (fk[..., :, None] * psi[..., None, :]).flatten(-2)
    if causal:
        num, den = causal_chunks(torch, qk, kk, v, chunk)
    else:
        num = qk @ (kk.transpose(-1, -2) @ v)
        den = qk @ kk.sum(2, keepdim=True).transpose(-1, -2)
    return num / torch.where(den > 0, den, torch.ones_like(den))


def time_cuda(torch, fn, reps):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop))
    return sorted(times)[len(times) // 2]


def run(args):
    import numpy as np
    import torch
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.path.join(args.bundle, "lib") + ":" + \
        env.get("LD_LIBRARY_PATH", "")
    flt_run = os.path.join(args.bundle, "bin", "flt-run")
    rows = []
    work = tempfile.mkdtemp(prefix="flt-gpu-bench-")
    for dtype in ("f32", "bf16"):
        tdtype = torch.float32 if dtype == "f32" else torch.bfloat16
        for causal in (False, True):
            lib = os.path.join(args.bundle,
                               f"layer_{dtype}_{'causal' if causal else 'full'}.so")
            compiled = torch.compile(torch_layer)
            for L in args.lengths:
                arrays = inputs(np, L)
                paths = []
                for i, a in enumerate(arrays):
                    paths.append(os.path.join(work, f"in{i}.npy"))
                    np.save(paths[-1], a)
                done = subprocess.run(
                    [flt_run, lib, "--function=layer", "--device=cuda",
                     f"--benchmark={args.reps}"] +
                    [f"--input={p}" for p in paths],
                    capture_output=True, text=True, env=env)
                row = {"dtype": dtype, "causal": causal, "L": L}
                if done.returncode != 0:
                    row["flt_error"] = done.stderr.strip()
                else:
                    line = [s for s in done.stdout.splitlines()
                            if s.startswith("time:")][0]
                    row["flt_ms"] = float(line.split("median ")[1].split()[0])
                t = [torch.tensor(a, device="cuda") for a in arrays]
                t[:3] = [x.to(tdtype) for x in t[:3]]
                for label, fn in (("eager", torch_layer), ("compile", compiled)):
                    try:
                        row[label + "_ms"] = time_cuda(
                            torch, lambda: fn(torch, *t, causal), args.reps)
                    except Exception as e:  # e.g. out of memory at 64k
                        row[label + "_error"] = type(e).__name__
                    torch.cuda.empty_cache()
                row["sdpa_ms"] = time_cuda(
                    torch, lambda: torch.nn.functional.scaled_dot_product_attention(
                        t[0], t[1], t[2], is_causal=causal), args.reps)
                if "flt_ms" in row:
                    f = flops(L, causal)
                    row["flt_tflops"] = f / row["flt_ms"] / 1e9
                    row["flt_roofline_pct"] = 100 * f / (row["flt_ms"] * 1e-3) / PEAK[dtype]
                for base in ("eager", "compile", "sdpa"):
                    if "flt_ms" in row and base + "_ms" in row:
                        row[f"speedup_vs_{base}"] = row[base + "_ms"] / row["flt_ms"]
                rows.append(row)
                print(json.dumps(row), flush=True)
    with open(os.path.join(args.bundle, "gpu_results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print(f"\n{'dtype':5} {'causal':6} {'L':>6} {'flt ms':>9} {'TFLOP/s':>8} "
          f"{'%roof':>6} {'eager':>8} {'compile':>8} {'sdpa':>8}  flt vs eager")
    for row in rows:
        fmt = lambda k: f"{row[k]:8.3f}" if k in row else f"{'-':>8}"
        print(f"{row['dtype']:5} {str(row['causal']):6} {row['L']:6d} "
              f"{fmt('flt_ms'):>9} {fmt('flt_tflops')} {fmt('flt_roofline_pct'):>6} "
              f"{fmt('eager_ms')} {fmt('compile_ms')} {fmt('sdpa_ms')}  "
              f"{fmt('speedup_vs_eager')}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4))
        for dtype in ("f32", "bf16"):
            for causal in (False, True):
                sel = [r for r in rows if r["dtype"] == dtype and
                       r["causal"] == causal and "flt_ms" in r]
                ax.loglog([r["L"] for r in sel], [r["flt_ms"] for r in sel],
                          "o-", label=f"flt {dtype} {'causal' if causal else ''}")
                ax.loglog([r["L"] for r in sel if "eager_ms" in r],
                          [r["eager_ms"] for r in sel if "eager_ms" in r],
                          "x--", label=f"eager {dtype} {'causal' if causal else ''}")
        ax.set_xlabel("L")
        ax.set_ylabel("ms (median)")
        ax.legend(fontsize=6)
        fig.savefig(os.path.join(args.bundle, "gpu_results.png"), dpi=120)
    except ImportError:
        print("(matplotlib not available: no plot)")


def check(args):
    import numpy as np
    flt_run = os.path.join(args.bundle, "bin", "flt-run")
    work = tempfile.mkdtemp(prefix="flt-gpu-bench-check-")
    trace = os.path.join(work, "trace.txt")
    env = dict(os.environ, FLT_RECORDING_DRIVER_TRACE=trace,
               LD_LIBRARY_PATH=args.driver + ":" +
               os.path.join(args.bundle, "lib"))
    failed = 0
    for dtype in ("f32", "bf16"):
        for causal in (False, True):
            name = f"layer_{dtype}_{'causal' if causal else 'full'}"
            lib = os.path.join(args.bundle, name + ".so")
            for L in args.lengths:
                paths = []
                for i, a in enumerate(inputs(np, L)):
                    paths.append(os.path.join(work, f"in{i}.npy"))
                    np.save(paths[-1], a)
                if os.path.exists(trace):
                    os.remove(trace)
                done = subprocess.run(
                    [flt_run, lib, "--function=layer", "--device=cuda",
                     "--benchmark=1"] + [f"--input={p}" for p in paths],
                    capture_output=True, text=True, env=env)
                lines = open(trace).read().splitlines() \
                    if os.path.exists(trace) else []
                problems = [s for s in lines if s.startswith("violation")]
                clean = any(s.startswith("exit: 0 allocations live") and
                            s.endswith(" 0 violations") for s in lines)
                launches = sum(s.startswith("cuLaunchKernel") for s in lines)
                if done.returncode != 0 or problems or not clean:
                    failed += 1
                    print(f"FAILED: {name} L={L}: {done.stderr.strip()} "
                          f"{'; '.join(problems)}")
                else:
                    print(f"ok: {name} L={L}: {launches} launches")
    return failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="phase", required=True)
    b = sub.add_parser("build")
    b.add_argument("--build", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"))
    b.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bundle", required=True)
    r.add_argument("--reps", type=int, default=10)
    r.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    c = sub.add_parser("check")
    c.add_argument("--bundle", required=True)
    c.add_argument("--driver", required=True)
    c.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    args = parser.parse_args()
    if args.phase == "build":
        build(args)
    elif args.phase == "run":
        run(args)
    elif check(args):
        sys.exit(1)


if __name__ == "__main__":
    main()
