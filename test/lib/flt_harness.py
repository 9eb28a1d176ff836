"""Helpers for flt's integration tests: compile IR with flt-compile, run a
function with flt-run on NumPy arrays, compare with the float64 reference
(docs/Semantics.md section 3) and report. Tests exit non-zero when any check fails."""

import hashlib
import os
import subprocess
import sys
import tempfile

import numpy as np

from flt import reference

TOOLS = os.environ.get("FLT_TOOLS_DIR", "")

# Where the kernels run. cpu: flt-cpu-pipeline. gpu-emulation: the GPU
# pipeline's block and thread mapping, run block by block and thread by
# thread on the CPU (checks the mapping without a GPU). cuda: compiled with
# --target=cuda and run on the GPU (test/Integration/gpu, REQUIRES a device).
# cuda-host: compiled with --target=cuda and run with --device=cuda on the
# CUDA driver double (test/lib/RecordingCudaDriver.cpp), without a GPU: the
# kernels do not run, so results are not compared (check and
# expect_on_results say UNCHECKED); what can fail is the host side: a
# library that does not load its cubin, a launch outside a kernel's limits,
# a misused driver call, device memory, streams or events left behind.
TARGET = os.environ.get("FLT_TEST_TARGET", "cpu")
_COMPILE_FLAGS = {"cpu": [], "gpu-emulation": ["--emulate-gpu-mapping"],
                  "cuda": ["--target=cuda"], "cuda-host": ["--target=cuda"]}
_RUN_FLAGS = {"cpu": [], "gpu-emulation": [], "cuda": ["--device=cuda"],
              "cuda-host": ["--device=cuda"]}
RESULTS_CHECKED = TARGET != "cuda-host"
if TARGET not in _COMPILE_FLAGS:
    raise SystemExit(f"FLT_TEST_TARGET={TARGET}: expected one of "
                     f"{', '.join(_COMPILE_FLAGS)}")

# A GPU host has no MLIR, so no flt-compile: scripts/run-gpu-tests.sh runs
# each test twice. Here, FLT_TEST_BUNDLE=DIR with FLT_TEST_BUNDLE_MODE=record
# compiles every library for CUDA into DIR (named by a hash of its IR and
# flags) and runs the CPU build instead, so the test goes on exactly as it
# will there. On the GPU host, FLT_TEST_BUNDLE=DIR alone takes each library
# from DIR and runs it with --device=cuda. With FLT_TEST_TARGET=cuda-host, it
# runs them here on the driver double (how `pack` checks a bundle).
BUNDLE = os.environ.get("FLT_TEST_BUNDLE", "")
RECORD = os.environ.get("FLT_TEST_BUNDLE_MODE", "") == "record"
# Replaying a bundle: only flt-run is at hand (no flt-opt, no flt-compile).
REPLAYING = bool(BUNDLE) and not RECORD
if BUNDLE and TARGET != "cuda" and (TARGET != "cuda-host" or RECORD):
    raise SystemExit("FLT_TEST_BUNDLE needs FLT_TEST_TARGET=cuda (or "
                     "cuda-host, to check a bundle on the driver double)")
_failures = []

# Under the sanitizers (scripts/run-sanitized-tests.sh) flt-compile and the
# kernels it builds are instrumented, and the longest tests take about 20
# times their normal time. There `sampled` keeps every second case: each
# lowering still runs under ASan and UBSan, while the normal run checks every
# case's numerics.
SANITIZED = bool(os.environ.get("FLT_SANITIZED"))


def sampled(cases):
    """`cases` (any iterable) in a normal run; every second one, starting
    with the first, under the sanitizers."""
    cases = list(cases)
    return cases[::2] if SANITIZED else cases


def tool(name):
    return os.path.join(TOOLS, name) if TOOLS else name


def ttype(shape, dtype="f32", dynamic=()):
    """MLIR tensor type; `dynamic` lists the dims to write as '?'."""
    dims = ["?" if i in dynamic else str(s) for i, s in enumerate(shape)]
    return "tensor<" + "x".join(dims + [dtype]) + ">"


def func(name, args, body, results):
    """A func.func: args [(name, type)], body lines, results [(value, type)]."""
    arglist = ", ".join(f"%{n}: {t}" for n, t in args)
    restypes = ", ".join(t for _, t in results)
    lines = [f"func.func @{name}({arglist}) -> ({restypes}) {{"]
    lines += ["  " + line for line in body]
    lines.append("  return " + ", ".join(v for v, _ in results) + " : " +
                 restypes)
    lines.append("}")
    return "\n".join(lines)


class Library:
    """A module compiled by flt-compile into a temporary directory."""

    def __init__(self, functions, flags=()):
        self.dir = tempfile.mkdtemp(prefix="flt-test-")
        self.ir = "\n\n".join(functions)
        source = os.path.join(self.dir, "module.mlir")
        with open(source, "w") as f:
            f.write(self.ir)
        self.path = os.path.join(self.dir, "module.so")
        self.run_flags = _RUN_FLAGS[TARGET]
        target_flags = _COMPILE_FLAGS[TARGET]
        if BUNDLE:
            key = hashlib.sha1(
                (self.ir + "\0" + " ".join(flags)).encode()).hexdigest()
            bundled = os.path.join(BUNDLE, key + ".so")
            if not RECORD:
                if not os.path.exists(bundled):
                    raise SystemExit(f"{bundled} is not in the bundle: "
                                     "record it with the same sources")
                self.path = bundled
                return
            # The GPU host's CPU is not this one: its host code for a
            # baseline x86-64 (SSE4.2, POPCNT), which every such host has,
            # so that the runtime's CPU-feature check lets it run there.
            self._compile(source, bundled,
                          [*flags, *target_flags, "--cpu=x86-64-v2"])
            target_flags, self.run_flags = [], []  # go on with the CPU build
        self._compile(source, self.path, [*flags, *target_flags])

    def _compile(self, source, path, flags):
        done = subprocess.run([tool("flt-compile"), source, "-o", path,
                               *flags], capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(self.ir + "\n" + done.stderr)
            raise SystemExit(f"flt-compile failed (status {done.returncode})")

    def run(self, function, inputs, results=1, extra=()):
        """Runs `function` on NumPy `inputs`; returns the result arrays."""
        args = [tool("flt-run"), self.path, f"--function={function}"]
        for i, array in enumerate(inputs):
            path = os.path.join(self.dir, f"in{i}.npy")
            np.save(path, np.ascontiguousarray(array))
            args.append(f"--input={path}")
        outs = [os.path.join(self.dir, f"out{i}.npy") for i in range(results)]
        args += [f"--output={p}" for p in outs]
        env, trace = None, os.path.join(self.dir, "driver-trace.txt")
        if TARGET == "cuda-host":
            driver = os.environ["FLT_RECORDING_CUDA_DRIVER_DIR"]
            env = dict(os.environ, LD_LIBRARY_PATH=driver,
                       FLT_RECORDING_DRIVER_TRACE=trace)
            if os.path.exists(trace):
                os.remove(trace)
        done = subprocess.run([*args, *self.run_flags, *extra],
                              capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"flt-run {function} failed: {done.stderr}")
        if env:
            _check_driver_trace(f"{function} on the CUDA driver double", trace)
        return [np.load(p) for p in outs]


    def run_failing(self, function, inputs):
        """flt-run on inputs it must refuse: (exit status, stderr). On the
        CUDA host side the driver double is loaded (refusals come first)."""
        args = [tool("flt-run"), self.path, f"--function={function}"]
        for i, array in enumerate(inputs):
            path = os.path.join(self.dir, f"bad{i}.npy")
            np.save(path, np.ascontiguousarray(array))
            args.append(f"--input={path}")
        args.append(f"--output={os.path.join(self.dir, 'bad_out.npy')}")
        env = None
        if TARGET == "cuda-host":
            env = dict(os.environ, LD_LIBRARY_PATH=os.environ[
                "FLT_RECORDING_CUDA_DRIVER_DIR"])
        done = subprocess.run([*args, *self.run_flags], capture_output=True,
                              text=True, env=env)
        return done.returncode, done.stderr


# The driver double's last trace line when nothing was misused or left on
# the device.
CLEAN_DRIVER_EXIT = ("exit: 0 allocations live (0 bytes), 0 streams, "
                     "0 events, 0 host registrations, 0 violations")


def _check_driver_trace(label, path):
    """cuda-host: the driver double saw no violation and nothing was left
    on the device when flt-run exited."""
    with open(path) as f:
        lines = f.read().splitlines()
    bad = [line for line in lines if line.startswith("violation:")]
    ends = [line for line in lines if line.startswith("exit:")]
    clean = ends == [CLEAN_DRIVER_EXIT]
    if bad or not clean:
        print(f"FAIL: {label}: " + "; ".join(bad + ends))
        _failures.append(label)


_UNDER_DRIVER_DOUBLE = "FLT_TEST_UNDER_DRIVER_DOUBLE"


def run_under_driver_double():
    """cuda-host, for tests that load libraries into their own process
    (flt.runtime): runs this script again with the driver double as
    libcuda.so.1 and checks its trace. True in the script that did so,
    which should then finish(); False where the test is to go on (any
    other target, and the rerun itself)."""
    if TARGET != "cuda-host" or os.environ.get(_UNDER_DRIVER_DOUBLE):
        return False
    driver = os.environ["FLT_RECORDING_CUDA_DRIVER_DIR"]
    trace = os.path.join(tempfile.mkdtemp(prefix="flt-test-"),
                         "driver-trace.txt")
    paths = [driver, os.environ.get("LD_LIBRARY_PATH", "")]
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(filter(None, paths)),
               FLT_RECORDING_DRIVER_TRACE=trace, **{_UNDER_DRIVER_DOUBLE: "1"})
    label = f"{os.path.basename(sys.argv[0])} on the CUDA driver double"
    done = subprocess.run([sys.executable, *sys.argv], env=env)
    if done.returncode != 0:
        print(f"FAIL: {label}: exit status {done.returncode}")
        _failures.append(label)
    else:
        _check_driver_trace(label, trace)
    return True


def check(label, out, ref, dtype="f32", gradient=False):
    """Records one comparison against the reference (`gradient`: with
    docs/Semantics.md §4's tolerances); False if it failed."""
    if not RESULTS_CHECKED:
        print(f"UNCHECKED: {label} (kernels do not run on {TARGET})")
        return True
    ok, rel_rms, rel_max = reference.compare(out, ref, dtype, gradient)
    status = "PASS" if ok else "FAIL"
    print(f"{status}: {label}: rel-rms {rel_rms:.2e} rel-max {rel_max:.2e}")
    if not ok:
        _failures.append(label)
    return ok


def expect(label, condition, detail=""):
    print(f"{'PASS' if condition else 'FAIL'}: {label} {detail}".rstrip())
    if not condition:
        _failures.append(label)


def expect_on_results(label, condition, detail=""):
    """expect() of a property of kernels' results."""
    if not RESULTS_CHECKED:
        print(f"UNCHECKED: {label} (kernels do not run on {TARGET})")
        return
    expect(label, condition, detail)


def finish():
    if _failures:
        print(f"{len(_failures)} check(s) failed: {', '.join(_failures)}")
        sys.exit(1)
    print("all checks passed")


def rounded(x, dtype):
    """x as a kernel with `dtype` activations sees it: f32 unchanged, f16,
    or bf16 (round to nearest even, as flt-run does) held in f32 — bf16
    arrays travel as f32 .npy files."""
    if dtype == "f16":
        return x.astype(np.float16)
    if dtype != "bf16":
        return x
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
    return bits.astype(np.uint32).view(np.float32)


# Well-conditioned inputs (docs/Semantics.md section 3).
def rng(seed):
    return np.random.default_rng(seed)


def normal(g, shape, dtype=np.float32):
    return g.standard_normal(shape).astype(dtype)


def positive(g, shape, dtype=np.float32):
    """|N(0, 1)| + 0.1: features whose normalizer is far from 0."""
    return (np.abs(g.standard_normal(shape)) + 0.1).astype(dtype)


def positions(g, B, L, p, spread=None):
    """Positions spread so that |2π ξ·(r_i - r_j)| stays mostly below π/2
    (docs/Semantics.md section 3): uniform in [0, spread) for p = 1 (default 0.2),
    N(0, spread²) per axis for p = 3 (default 0.05: at 0.1 the random-feature
    mask of a causal FAVOR+ layer turns negative often enough that 1e-6
    input noise moves the exact result by 1e-2)."""
    if p == 1:
        return g.uniform(0, spread or 0.2, (B, L, 1)).astype(np.float32)
    return ((spread or 0.05) * g.standard_normal((B, L, p))).astype(
        np.float32)


def sensitivity(fn, inputs, noise=1e-6, seed=0):
    """How far the float64 result of fn moves (relative RMS) when every
    input is perturbed by `noise` relative noise: the conditioning check of
    docs/Semantics.md section 3. Above ~1e-5 no f32 comparison can pass."""
    g = np.random.default_rng(seed)
    base = fn(*inputs)
    noisy = [None if x is None else
             x * (1 + noise * g.standard_normal(np.shape(x))) for x in inputs]
    moved = fn(*noisy)
    scale = np.linalg.norm(base)
    return np.linalg.norm(moved - base) / scale if scale > 0 else 0.0


def mixture_theta(g, H, p, K):
    w = g.uniform(0, 1, (H, K))
    mu = 0.1 * g.standard_normal((H, K * p))
    s = 0.1 * g.standard_normal((H, K))
    return np.concatenate([w, mu, s], axis=1).astype(np.float32)


def window_theta(g, H):
    C = g.uniform(0.5, 1.0, (H, 1))
    v = g.uniform(0.05, 0.15, (H, 1))  # keeps every rho_k positive
    return np.concatenate([C, v], axis=1).astype(np.float32)
