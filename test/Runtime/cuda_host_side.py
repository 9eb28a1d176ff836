# The host side of a --target=cuda library, run without a GPU against the
# CUDA driver double (test/lib/RecordingCudaDriver.cpp, a libcuda.so.1 that
# checks every call as the driver would and records it; kernels do not
# run): the library loads its sm_90 cubin when it is loaded, launches each
# kernel within the limits ptxas gave it (threads, registers, shared memory
# after the opt-in), frees every buffer, stream and event, and a failure at
# any driver call is one error line and exit 1, with nothing left on the
# device. For a chip whose blocks get less shared memory (sm_86: 99 KiB),
# the kernels are built within its limit, and a budget above it is refused.
# RUN: %python %s

import os
import subprocess

import numpy as np

os.environ["FLT_TEST_TARGET"] = "cpu"  # the flags below say what to build
from flt_harness import (CLEAN_DRIVER_EXIT, Library, expect, finish,  # noqa
                         func, tool, ttype)

DRIVER_DIR = os.environ["FLT_RECORDING_CUDA_DRIVER_DIR"]

B, H, L, m, r, e = 1, 2, 96, 64, 32, 64
F, V, P = (ttype((B, H, L, n)) for n in (m, e, r))
args = [("fq", F), ("fk", F), ("v", V), ("phi", P), ("psi", P)]
types = ": " + ", ".join([F, F, V, P, P]) + f" -> {V}"
rpe = "rpe(%phi, %psi) " + types
rpe_causal = "rpe(%phi, %psi) {causal = true} " + types
lib = Library([
    func("la", args, [f"%o = flt.linear_attention %fq, %fk, %v {rpe}"],
         [("%o", V)]),
    func("lac", args,
         [f"%o = flt.linear_attention %fq, %fk, %v {rpe_causal}"],
         [("%o", V)]),
], flags=["--target=cuda", "--linear-attention-form=linear"])

g = np.random.default_rng(0)
inputs = []
for i, (name, t) in enumerate(args):
    path = os.path.join(lib.dir, f"{name}.npy")
    np.save(path, g.random((B, H, L, r if name in ("phi", "psi") else
                            (e if name == "v" else m)), np.float32))
    inputs.append(f"--input={path}")
out = os.path.join(lib.dir, "out.npy")


def run(function, extra=(), env=(), library=lib):
    """flt-run on the driver double; (exit status, stderr lines, trace)."""
    trace = os.path.join(lib.dir, "trace.txt")
    if os.path.exists(trace):
        os.remove(trace)
    environment = dict(os.environ, LD_LIBRARY_PATH=DRIVER_DIR,
                       FLT_RECORDING_DRIVER_TRACE=trace, **dict(env))
    done = subprocess.run([tool("flt-run"), library.path,
                           f"--function={function}",
                           *inputs, f"--output={out}", "--device=cuda",
                           *extra], capture_output=True, text=True,
                          env=environment)
    with open(trace) as f:
        lines = f.read().splitlines()
    return done.returncode, done.stderr.strip().splitlines(), lines


def launches(trace):
    return [line.split()[1] for line in trace
            if line.startswith("cuLaunchKernel")]


def clean_exit(trace):
    return [line for line in trace if line.startswith("exit:")] == [
        CLEAN_DRIVER_EXIT]


# Both functions: the module is loaded once, when the library is, with all
# kernels; the state kernel opts into its shared memory before launching.
for function, count in (("la", 3), ("lac", 3)):
    status, errors, trace = run(function)
    expect(f"{function}: exit 0", status == 0, "\n".join(errors))
    loads = [line for line in trace if line.startswith("cuModuleLoadData")]
    expect(f"{function}: one sm_90 cubin loaded", len(loads) == 1 and
           loads[0].startswith("cuModuleLoadData sm_90 cubin:"), str(loads))
    expect(f"{function}: {count} kernels launched",
           len(launches(trace)) >= count, str(launches(trace)))
    expect(f"{function}: no violations, nothing left on the device",
           clean_exit(trace), "\n".join(trace))
    opted = [line for line in trace if line.startswith("cuFuncSetAttribute")]
    expect(f"{function}: shared memory above 48 KiB is opted into",
           any(int(line.split()[-1]) > 48 * 1024 for line in opted),
           str(opted))
    copies = [line for line in trace if line.startswith("cuMemcpyAsync")]
    expect(f"{function}: 5 inputs in, 1 result out",
           sum("host to device" in line for line in copies) == 5 and
           sum("device to host" in line for line in copies) == 1,
           str(copies))

# An sm_86 build: every kernel within the 99 KiB a block may use there.
ampere = Library([lib.ir], flags=["--target=cuda", "--cuda-chip=sm_86",
                                  "--linear-attention-form=linear"])
for function in ("la", "lac"):
    status, errors, trace = run(function, env=[("FLT_RECORDING_DRIVER_ARCH",
                                                "86")], library=ampere)
    shared = [int(line.split()[line.split().index("shared") + 1])
              for line in trace if line.startswith("cuLaunchKernel")]
    expect(f"sm_86 {function}: exit 0, nothing left on the device",
           status == 0 and clean_exit(trace), "\n".join(errors + trace))
    expect(f"sm_86 {function}: at most 99 KiB of shared memory per block",
           shared and max(shared) <= 99 * 1024, str(shared))
source = os.path.join(lib.dir, "module.mlir")
done = subprocess.run([tool("flt-compile"), source, "--target=cuda",
                       "--cuda-chip=sm_86", "--shared-memory=110000", "-o",
                       os.path.join(lib.dir, "too_much.so")],
                      capture_output=True, text=True)
expect("--shared-memory above sm_86's maximum: refused at compile time",
       done.returncode == 1 and "a block can use at most 101360 bytes of "
       "shared memory on sm_86, not 110000" in done.stderr, done.stderr)

# --benchmark: kernels only, timed with events, then everything released.
status, errors, trace = run("la", ["--benchmark=3"])
expect("--benchmark=3: exit 0", status == 0, "\n".join(errors))
expect("--benchmark=3: 5 calls (checked, warm-up, 3 timed)",
       launches(trace).count("__flt_fn_la_kernel") == 5, str(launches(trace)))
expect("--benchmark=3: nothing left on the device", clean_exit(trace),
       "\n".join(trace))

# A failure at any driver call: one line naming it, exit 1, nothing leaked.
FAILURES = [
    ({"FLT_RECORDING_DRIVER_FAIL": "cuInit"},
     "cuInit failed: no CUDA-capable device is detected"),
    ({"FLT_RECORDING_DRIVER_DEVICES": "0"}, "no CUDA-capable device"),
    ({"FLT_RECORDING_DRIVER_ARCH": "80"},
     "the library's kernels are not for this GPU (device 0, sm_80): compile "
     "it with flt-compile --target=cuda --cuda-chip=sm_80"),
    ({"FLT_RECORDING_DRIVER_FAIL": "cuMemAllocAsync@2"},
     "copying f32 [1, 2, 96, 64] to the GPU: cuMemAllocAsync failed: out of "
     "memory"),
    ({"FLT_RECORDING_DRIVER_FAIL": "cuMemAllocAsync@6"},
     "running 'la' on the GPU: cuMemAllocAsync failed: out of memory"),
    ({"FLT_RECORDING_DRIVER_FAIL": "cuStreamCreate"},
     "running 'la' on the GPU: cuStreamCreate failed"),
    ({"FLT_RECORDING_DRIVER_FAIL": "cuLaunchKernel@2"},
     "running 'la' on the GPU: cuLaunchKernel failed: unspecified launch "
     "failure"),
    ({"FLT_RECORDING_DRIVER_FAIL": "cuMemcpyAsync@6"},
     "copying f32 [1, 2, 96, 64] from the GPU: cuMemcpyAsync failed"),
]
# With --benchmark=3: the checked call allocates 10 buffers (5 inputs) and
# launches 3 kernels, the warm-up 3 more, the timed calls the rest; event
# calls only time them.
BENCHMARK_FAILURES = [
    ({"FLT_RECORDING_DRIVER_FAIL": "cuMemAllocAsync@11"},
     "copying f32 [1, 2, 96, 64] to the GPU: cuMemAllocAsync failed: out of "
     "memory"),
    ({"FLT_RECORDING_DRIVER_FAIL": "cuLaunchKernel@5"},
     "running 'la' on the GPU: cuLaunchKernel failed: unspecified launch "
     "failure"),
    ({"FLT_RECORDING_DRIVER_FAIL": "cuLaunchKernel@11"},
     "running 'la' on the GPU: cuLaunchKernel failed: unspecified launch "
     "failure"),
    ({"FLT_RECORDING_DRIVER_FAIL": "cuEventRecord@3"},
     "timing 'la' on the GPU: cuEventRecord failed"),
    ({"FLT_RECORDING_DRIVER_FAIL": "cuEventRecord@4"},
     "timing 'la' on the GPU: cuEventRecord failed"),
    ({"FLT_RECORDING_DRIVER_FAIL": "cuEventElapsedTime_v2@2"},
     "timing 'la' on the GPU: cuEventElapsedTime failed"),
]
for env, message, extra in ([(e, m, []) for e, m in FAILURES] +
                            [(e, m, ["--benchmark=3"])
                             for e, m in BENCHMARK_FAILURES]):
    label = ", ".join(f"{k.split('_')[-1].lower()}={v}" for k, v in env.items())
    label += "".join(f" {x}" for x in extra)
    status, errors, trace = run("la", extra, env=env.items())
    expect(f"{label}: exit 1 with one line", status == 1 and len(errors) == 1,
           "\n".join(errors))
    expect(f"{label}: the line says what failed",
           len(errors) == 1 and message in errors[0], "\n".join(errors))
    expect(f"{label}: nothing left on the device", clean_exit(trace),
           "\n".join(trace))
finish()
