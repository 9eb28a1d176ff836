#!/usr/bin/env python3
"""GPU benchmark of the FLT layer (docs/Design.md section 4), in one run on the
GPU host: flt's fused kernels vs PyTorch eager (the same FLT math with the
Kronecker features materialized) vs torch.compile of it, vs
torch.nn.functional.scaled_dot_product_attention (softmax, flash), at
L in {1k, 4k, 16k, 64k}, B=1, H=8, d=64, m=64, m_f=16, f32 and bf16, causal
and not. Reports medians of several repetitions, TFLOP/s (FMA = 2 FLOPs)
and the % of the device's measured rate, as a table and a plot.

Two places, because the GPU host has no MLIR:

  here:      benchmarks/gpu/run_gpu_benchmarks.py build --out DIR
             (flt-compile --target=cuda of the layer, one library per
             dtype and causality, dynamic L)
  GPU host:  python3 DIR/run_gpu_benchmarks.py run --bundle DIR --out OUT
             --phase timings|ncu|compile|report
             (needs DIR/lib/libFLTRuntime.so, DIR/python/flt, torch 2.x;
             `ncu` also DIR/bin/flt-run)

`run` is split into phases so that a lease of a few minutes gets the
important numbers first, and every number is on disk as soon as it is
measured (OUT/gpu_results.jsonl, one row per line; `report` merges them
into OUT/gpu_results.json, .txt and .png, and each phase reports at its
end):

  timings   flt (flt.runtime on torch CUDA tensors, GPU time from CUDA
            events around each call), SDPA and eager, per --configs
            (e.g. bf16-full), in rising L;
  ncu       Nsight Compute's SpeedOfLight section of every kernel of one
            bf16 non-causal layer call at L = 16384 (flt-run under
            `ncu --clock-control none`), into OUT/ncu_bf16_full_L16384.txt;
  compile   torch.compile of the same math, which compiles anew for each
            shape, most important rows first, stopping before --deadline
            (seconds since the epoch);
  report    the merge alone.

With --dry-run (scripts/run-gpu-tests.sh's dry mode on the CUDA driver
double) torch runs on the CPU, flt on DeviceArrays the double holds, and
no time is meaningful: it checks the plumbing, not the GPU.

Here, `check --bundle DIR --driver D` runs flt's part of the benchmark on
the CUDA driver double in D (test/lib/RecordingCudaDriver.cpp): no GPU, the
kernels do not run, but every launch at every benchmark length must fit its
kernel's limits and leave nothing on the device.

scripts/run-gpu-tests.sh does all of this.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

B, H, D, M, MF = 1, 8, 64, 64, 16
R = 2 * MF
LENGTHS = (1024, 4096, 16384, 65536)
# The H200's rates (docs/Design.md 4): f32 from the datasheet, bf16 the
# dense GEMM rate measured there (the datasheet's 989 is not reached).
PEAK = {"f32": 67e12, "bf16": 790e12}
CONFIGS = ("bf16-full", "bf16-causal", "f32-full", "f32-causal")


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
            if config_name(dtype, causal) not in args.configs:
                continue
            name = f"layer_{dtype}_{'causal' if causal else 'full'}"
            source = os.path.join(args.out, name + ".mlir")
            with open(source, "w") as f:
                f.write(layer_ir(dtype, causal))
            # Host code for a baseline x86-64: the GPU host's CPU is not
            # this one (the runtime refuses features a CPU lacks).
            subprocess.run([compiler, source, "--target=cuda",
                            "--cpu=x86-64-v2", "--sanitize-address=false",
                            "-o",
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
    # The features in the layer's dtype (bf16 for a bf16 layer, like flt's
    # tensor-core products): matmul does not promote mixed dtypes.
    phi, psi = phi.to(q.dtype), psi.to(q.dtype)
    fq, fk = torch.relu(q), torch.relu(k)
    qk = (fq[..., :, None] * phi[..., None, :]).flatten(-2)    # [B,H,L,D']
    kk = (fk[..., :, None] * psi[..., None, :]).flatten(-2)
    if causal:
        num, den = causal_chunks(torch, qk, kk, v, chunk)
    else:
        num = qk @ (kk.transpose(-1, -2) @ v)
        den = qk @ kk.sum(2, keepdim=True).transpose(-1, -2)
    return num / torch.where(den > 0, den, torch.ones_like(den))


def config_name(dtype, causal):
    return f"{dtype}-{'causal' if causal else 'full'}"


def library_path(bundle, dtype, causal):
    return os.path.join(bundle,
                        f"layer_{dtype}_{'causal' if causal else 'full'}.so")


def timer(torch, device):
    """A function timing `fn` over `reps` calls after one warm-up: the
    median in ms, from CUDA events on a GPU (wall time on the CPU)."""
    def time_cuda(fn, reps):
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

    def time_cpu(fn, reps):
        fn()
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
        return sorted(times)[len(times) // 2]
    return time_cuda if device == "cuda" else time_cpu


def torch_inputs(torch, np, L, dtype, device):
    """The layer's inputs as torch tensors on `device` (q, k, v in the
    layer's dtype), from the same numbers as inputs()."""
    tdtype = torch.float32 if dtype == "f32" else torch.bfloat16
    t = [torch.from_numpy(a).to(device) for a in inputs(np, L)]
    t[:3] = [x.to(tdtype) for x in t[:3]]
    return t


def append_row(out, row, name="gpu_results.jsonl"):
    with open(os.path.join(out, name), "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())
    print(json.dumps(row), flush=True)


def flt_times(module, tensors, dry_run, reps):
    """The median GPU time of flt's layer on device tensors: a warm-up call,
    then `reps` calls timed with CUDA events (time_on_device)."""
    if dry_run:
        # The driver double takes DeviceArrays (there is no torch CUDA).
        tensors = [module.to_device(t.float().numpy(),
                                    dtype=module.layer.arg_types[i][0])
                   for i, t in enumerate(tensors)]
    module.layer.time_on_device(*tensors, calls=1)
    times = sorted(module.layer.time_on_device(*tensors, calls=reps))
    return times[len(times) // 2]


def timings(args):
    """flt, SDPA and eager for each of --configs, rising L."""
    import numpy as np
    import torch
    sys.path.insert(0, os.path.join(args.bundle, "python"))
    import flt.runtime
    device = "cpu" if args.dry_run else "cuda"
    time_fn = timer(torch, device)
    for config in args.configs:
        dtype, kind = config.split("-")
        causal = kind == "causal"
        module = flt.runtime.load(library_path(args.bundle, dtype, causal))
        for L in args.lengths:
            row = {"dtype": dtype, "causal": causal, "L": L,
                   "phase": "timings"}
            t = torch_inputs(torch, np, L, dtype, device)
            try:
                row["flt_ms"] = flt_times(module, t, args.dry_run, args.reps)
            except Exception as e:  # an error in one row ends no phase
                row["flt_error"] = f"{type(e).__name__}: {e}"[:500]
            sdpa = getattr(torch.nn.functional,
                           "scaled_dot_product_attention", None)
            for label, fn in (
                    ("sdpa", (lambda: sdpa(t[0], t[1], t[2],
                                           is_causal=causal))
                     if sdpa else None),
                    ("eager", lambda: torch_layer(torch, *t, causal))):
                try:
                    if fn is None:
                        raise RuntimeError(f"unavailable in torch "
                                           f"{torch.__version__}")
                    row[label + "_ms"] = time_fn(fn, args.reps)
                except Exception as e:  # e.g. out of memory at 64k
                    row[label + "_error"] = f"{type(e).__name__}: {e}"[:300]
                if device == "cuda":
                    torch.cuda.empty_cache()
            append_row(args.out, row)
            report(args, quiet=True)
        del module
    report(args)


def compile_order(configs, lengths):
    """Rows for torch.compile, the ones the acceptance rests on first: bf16
    non-causal at L >= 16k, then the rest by configuration, long L first."""
    rows = [(c, L) for c in configs for L in sorted(lengths, reverse=True)]
    key = {c: i for i, c in enumerate(configs)}
    return sorted(rows, key=lambda r: (not (r[0] == "bf16-full" and
                                            r[1] >= 16384), key[r[0]],
                                       -r[1]))


def compile_phase(args):
    """torch.compile of the same math, row by row, until the deadline: a
    row is started only when the slowest compile so far still fits."""
    import numpy as np
    import torch
    device = "cpu" if args.dry_run else "cuda"
    time_fn = timer(torch, device)
    slowest = 30.0  # a first compile of this graph takes tens of seconds
    for config, L in compile_order(args.configs, args.lengths):
        dtype, kind = config.split("-")
        causal = kind == "causal"
        row = {"dtype": dtype, "causal": causal, "L": L, "phase": "compile"}
        left = args.deadline - time.time()
        if not hasattr(torch, "compile"):
            row["compile_error"] = (f"torch.compile unavailable in torch "
                                    f"{torch.__version__}")
        elif left < slowest * 1.5:
            row["compile_error"] = (f"not run: {left:.0f} s left before the "
                                    f"deadline, a compile took up to "
                                    f"{slowest:.0f} s")
        else:
            t = torch_inputs(torch, np, L, dtype, device)
            begun = time.time()
            try:
                compiled = torch.compile(torch_layer, dynamic=False)
                row["compile_ms"] = time_fn(
                    lambda: compiled(torch, *t, causal), args.reps)
            except Exception as e:
                row["compile_error"] = f"{type(e).__name__}: {e}"[:300]
            row["compile_seconds"] = round(time.time() - begun, 1)
            slowest = max(slowest, time.time() - begun)
            if device == "cuda":
                torch.cuda.empty_cache()
        append_row(args.out, row)
        report(args, quiet=True)
    report(args)


def ncu_phase(args):
    """Nsight Compute's SpeedOfLight of one bf16 non-causal layer call at
    L = 16384 (every kernel of it), through flt-run, into OUT."""
    import numpy as np
    L = 16384
    name = f"ncu_bf16_full_L{L}.txt"
    target = os.path.join(args.out, name)
    ncu = shutil.which("ncu") or (
        "/usr/local/cuda/bin/ncu"
        if os.path.exists("/usr/local/cuda/bin/ncu") else None)
    if not ncu:
        with open(target, "w") as f:
            f.write("ncu not found: the SpeedOfLight table was not made\n")
        print(f"ncu: not found (noted in {name})")
        return
    work = tempfile.mkdtemp(prefix="flt-ncu-")
    paths = []
    for i, a in enumerate(inputs(np, L)):
        paths.append(os.path.join(work, f"in{i}.npy"))
        np.save(paths[-1], a)
    command = [ncu, "--clock-control", "none", "--section", "SpeedOfLight",
               os.path.join(args.bundle, "bin", "flt-run"),
               library_path(args.bundle, "bf16", False), "--function=layer",
               "--device=cuda"] + [f"--input={p}" for p in paths]
    with open(target, "w") as f:
        f.write("$ " + " ".join(command) + "\n")
        f.flush()
        done = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT)
    print(f"ncu: exit {done.returncode}, table in {name}")
    shutil.rmtree(work, ignore_errors=True)


def merged_rows(out):
    """The rows of gpu_results.jsonl merged per (dtype, causal, L), with the
    derived rates and speedups."""
    path = os.path.join(out, "gpu_results.jsonl")
    merged = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a killed phase
                key = (row["dtype"], row["causal"], row["L"])
                merged.setdefault(key, {}).update(
                    {k: v for k, v in row.items() if k != "phase"})
    rows = []
    for key in sorted(merged, key=lambda k: (k[0] != "bf16", k[1], k[2])):
        row = merged[key]
        dtype, causal, L = key
        if "flt_ms" in row and row["flt_ms"] > 0:
            f = flops(L, causal)
            row["flt_tflops"] = f / row["flt_ms"] / 1e9
            row["flt_rate_pct"] = 100 * f / (row["flt_ms"] * 1e-3) / PEAK[dtype]
            for base in ("eager", "compile", "sdpa"):
                if base + "_ms" in row:
                    row[f"speedup_vs_{base}"] = row[base + "_ms"] / row["flt_ms"]
        rows.append(row)
    return rows


def report(args, quiet=False):
    """OUT/gpu_results.json, .txt (the table) and, unless `quiet`, .png
    from the rows so far (each written to a temporary name, then renamed: a
    kill leaves the last complete one)."""
    rows = merged_rows(args.out)

    def write(name, text):
        path = os.path.join(args.out, name)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    write("gpu_results.json", json.dumps(rows, indent=1) + "\n")
    lines = [f"{'dtype':5} {'causal':6} {'L':>6} {'flt ms':>9} {'TFLOP/s':>8} "
             f"{'%rate':>6} {'sdpa':>8} {'eager':>8} {'compile':>8}  "
             f"x eager  x compile  x sdpa"]
    for row in rows:
        def fmt(k, width=8):
            return f"{row[k]:{width}.3f}" if k in row else f"{'-':>{width}}"
        lines.append(
            f"{row['dtype']:5} {str(row['causal']):6} {row['L']:6d} "
            f"{fmt('flt_ms', 9)} {fmt('flt_tflops')} {fmt('flt_rate_pct', 6)} "
            f"{fmt('sdpa_ms')} {fmt('eager_ms')} {fmt('compile_ms')}  "
            f"{fmt('speedup_vs_eager', 7)} {fmt('speedup_vs_compile', 9)} "
            f"{fmt('speedup_vs_sdpa', 7)}")
        errors = [f"{k}: {v}" for k, v in row.items() if k.endswith("_error")]
        lines += ["      " + e for e in errors]
    table = "\n".join(lines) + "\n"
    write("gpu_results.txt", table)
    if quiet:
        return  # the plot at the end of each phase only (it takes seconds)
    print(table)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not available: no plot)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, dtype in zip(axes, ("bf16", "f32")):
        for causal in (False, True):
            sel = [r for r in rows if r["dtype"] == dtype and
                   r["causal"] == causal]
            tag = "causal" if causal else "full"
            for key, style in (("flt_ms", "o-"), ("sdpa_ms", "s:"),
                               ("eager_ms", "x--"), ("compile_ms", "^-.")):
                points = [(r["L"], r[key]) for r in sel if r.get(key)]
                if points:
                    ax.loglog(*zip(*points), style,
                              label=f"{key[:-3]} {tag}")
        ax.set_title(f"FLT layer, {dtype} (B=1, H=8, d=m=64, m_f=16)")
        ax.set_xlabel("L")
        ax.set_ylabel("ms (median)")
        if ax.get_lines():
            ax.legend(fontsize=6)
    fig.tight_layout()
    path = os.path.join(args.out, "gpu_results.png")
    fig.savefig(path + ".tmp.png", dpi=120)
    plt.close(fig)
    os.replace(path + ".tmp.png", path)


def run(args):
    os.makedirs(args.out, exist_ok=True)
    if args.phase == "timings":
        timings(args)
    elif args.phase == "compile":
        compile_phase(args)
    elif args.phase == "ncu":
        ncu_phase(args)
    else:
        report(args)


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
            if not os.path.exists(lib):
                continue  # a bundle packed with some layers only
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
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--build", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"))
    b.add_argument("--out", required=True)
    b.add_argument("--configs", nargs="+", choices=CONFIGS,
                   default=list(CONFIGS))
    r = sub.add_parser("run")
    r.add_argument("--bundle", required=True)
    r.add_argument("--out", help="where the results go (default: "
                   "BUNDLE/results)")
    r.add_argument("--phase", choices=("timings", "ncu", "compile", "report"),
                   default="timings")
    r.add_argument("--configs", nargs="+", choices=CONFIGS,
                   default=list(CONFIGS))
    r.add_argument("--reps", type=int, default=10)
    r.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    r.add_argument("--deadline", type=float, default=float("inf"),
                   help="compile: start no compile that would end after "
                   "this time (seconds since the epoch)")
    r.add_argument("--dry-run", action="store_true",
                   help="on the CUDA driver double: torch on the CPU")
    c = sub.add_parser("check")
    c.add_argument("--bundle", required=True)
    c.add_argument("--driver", required=True)
    c.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    args = parser.parse_args()
    if args.command == "build":
        build(args)
    elif args.command == "run":
        args.out = args.out or os.path.join(args.bundle, "results")
        run(args)
    elif check(args):
        sys.exit(1)


if __name__ == "__main__":
    main()
