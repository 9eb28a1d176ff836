# Every value inside the documented range of each numeric option works
# (docs/Options.md): a small layer of every attention op, compiled at each
# end of each range, gives the float64 reference's answer on the CPU and,
# where the option applies to it, in the emulated GPU mapping; with
# --target=cuda, at each end of threads-per-block and shared-memory, the
# library's host side runs on the CUDA driver double (cubin loaded, every
# launch within its kernel's limits). Shapes stay small: the point is that
# no value crashes, hangs or computes something else.
# RUN: %python %s

import os
import time

import numpy as np
from flt import reference
from flt_harness import (SANITIZED, Library, check, expect, finish, func,
                         normal, positive, rng, sampled, ttype)

B, H, L, m, r, e, d = 1, 2, 70, 8, 4, 6, 8
F = ttype((B, H, L, m), dynamic=(2,))
P = ttype((B, H, L, r), dynamic=(2,))
V = ttype((B, H, L, e), dynamic=(2,))
X = ttype((B, H, L, d), dynamic=(2,))
BIAS = ttype((H, 2 * L - 1), dynamic=(1,))
R = ttype((H, d))


def op(name, args, text):
    types = ", ".join(t for _, t in args)
    operands = ", ".join(f"%{n}" for n, _ in args[:3])
    return func(name, args, [f"%o = {text.format(ops=operands)} : {types} -> "
                             f"{V}"], [("%o", V)])


CASES = [
    ("la", [("fq", F), ("fk", F), ("v", V), ("phi", P), ("psi", P)],
     "flt.linear_attention {ops} rpe(%phi, %psi)"),
    ("la_causal", [("fq", F), ("fk", F), ("v", V), ("phi", P), ("psi", P)],
     "flt.linear_attention {ops} rpe(%phi, %psi) {{causal = true}}"),
    ("softmax_causal", [("q", X), ("k", X), ("v", V), ("b", BIAS)],
     "flt.kernel_attention {ops} bias(%b) {{causal = true}}"),
    ("fourier", [("q", X), ("k", X), ("v", V), ("R", R)],
     "flt.kernel_attention {ops} scale(%R) "
     "{{kernel = #flt.pair_kernel<fourier_integral>}}"),
    ("tz_fft", [("fq", F), ("fk", F), ("v", V), ("b", BIAS)],
     "flt.toeplitz_attention {ops}, %b {{causal = true, "
     "method = #flt.toeplitz_method<fft>}}"),
    ("tz_direct", [("fq", F), ("fk", F), ("v", V), ("b", BIAS)],
     "flt.toeplitz_attention {ops}, %b {{method = "
     "#flt.toeplitz_method<direct>}}"),
]
functions = [op(name, args, text) for name, args, text in CASES]

g = rng(11)
data = {
    "fq": positive(g, (B, H, L, m)), "fk": positive(g, (B, H, L, m)),
    "phi": positive(g, (B, H, L, r)), "psi": positive(g, (B, H, L, r)),
    "q": normal(g, (B, H, L, d)), "k": normal(g, (B, H, L, d)),
    "v": normal(g, (B, H, L, e)), "b": 0.3 * normal(g, (H, 2 * L - 1)),
    "R": (np.abs(normal(g, (H, d))) + 0.5).astype(np.float32),
}
ref = {
    "la": reference.linear_attention(data["fq"], data["fk"], data["v"],
                                     data["phi"], data["psi"]),
    "la_causal": reference.linear_attention(data["fq"], data["fk"],
                                            data["v"], data["phi"],
                                            data["psi"], causal=True),
    "softmax_causal": reference.kernel_attention(
        data["q"], data["k"], data["v"], bias=data["b"], causal=True),
    "fourier": reference.kernel_attention(
        data["q"], data["k"], data["v"], "fourier_integral",
        scale=data["R"]),
    "tz_fft": reference.toeplitz_attention(data["fq"], data["fk"], data["v"],
                                           data["b"], causal=True),
    "tz_direct": reference.toeplitz_attention(data["fq"], data["fk"],
                                              data["v"], data["b"]),
}
ARGS = {name: [n for n, _ in args] for name, args, _ in CASES}

# (flags, where): cpu runs on flt-cpu-pipeline, emulated on the emulated GPU
# mapping. The low ends of all ranges in one library and the high ends in
# another (their combinations must work too), linear attention in both of
# its forms.
LOW = ["--token-tile=1", "--value-slice=1"]
HIGH = ["--token-tile=512", "--value-slice=512"]
# Under the sanitizers `sampled` keeps every second run; the order makes
# that each end of every range once (high on the CPU and low emulated for
# the linear form, the other way round for the quadratic one).
runs = []
for form in ("linear", "quadratic"):
    flag = f"--linear-attention-form={form}"
    low_cpu = (LOW + ["--register-rows=1", "--kernel-threads=1", flag],
               ("cpu",))
    high_cpu = (HIGH + ["--register-rows=16", "--kernel-threads=1024", flag],
                ("cpu",))
    low_emulated = (LOW + ["--threads-per-block=32", flag], ("emulated",))
    high_emulated = (HIGH + ["--threads-per-block=1024", flag],
                     ("emulated",))
    runs += ([high_cpu, low_cpu, low_emulated, high_emulated]
             if form == "linear" else
             [low_cpu, high_cpu, high_emulated, low_emulated])

# A bound that catches a compilation that runs away, not a slow machine:
# under the sanitizers flt-compile is instrumented and instruments the
# kernels with ASan too (about 20 times slower).
LIMIT = 900 if SANITIZED else 180
for flags, where in sampled(runs):
    for target in where:
        extra = ["--emulate-gpu-mapping"] if target == "emulated" else []
        label = " ".join(flags + extra)
        start = time.monotonic()
        lib = Library(functions, flags + extra)
        compiled = time.monotonic() - start
        expect(f"{label}: compiles in reasonable time", compiled < LIMIT,
               f"({compiled:.1f} s)")
        for name, _, _ in CASES:
            out = lib.run(name, [data[n] for n in ARGS[name]])[0]
            check(f"{name} {label}", out, ref[name])

# --target=cuda at the ends of threads-per-block and shared-memory (sm_90:
# at most 227 KiB less the 16 static bytes), with the largest tiles: the
# host side on the driver double (kernels do not run there).
if os.environ.get("FLT_TEST_TARGET", "cpu") == "cpu":
    import subprocess
    from flt_harness import _check_driver_trace, tool
    driver = os.environ["FLT_RECORDING_CUDA_DRIVER_DIR"]
    for flags in (["--threads-per-block=32", "--shared-memory=0"],
                  ["--threads-per-block=1024", "--shared-memory=232432",
                   "--token-tile=512", "--value-slice=512"],
                  ["--threads-per-block=32", "--token-tile=1",
                   "--value-slice=1"]):
        lib = Library(functions, flags + ["--target=cuda"])
        trace = os.path.join(lib.dir, "trace.txt")
        env = dict(os.environ, LD_LIBRARY_PATH=driver,
                   FLT_RECORDING_DRIVER_TRACE=trace)
        for name, _, _ in CASES:
            if os.path.exists(trace):
                os.remove(trace)
            inputs = []
            for i, n in enumerate(ARGS[name]):
                path = os.path.join(lib.dir, f"in{i}.npy")
                np.save(path, data[n])
                inputs.append(f"--input={path}")
            done = subprocess.run(
                [tool("flt-run"), lib.path, f"--function={name}",
                 "--device=cuda", *inputs], capture_output=True, text=True,
                env=env)
            expect(f"{name} --target=cuda {' '.join(flags)}: runs on the "
                   f"driver double", done.returncode == 0, done.stderr)
            _check_driver_trace(f"{name} --target=cuda {' '.join(flags)}",
                                trace)
finish()
