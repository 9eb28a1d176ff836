# A library records the CPU it was compiled for and the instruction-set
# extensions its code may use (flt/Runtime/ModuleInfo.h); the runtime
# refuses it, naming what is missing, where the CPU lacks one — instead of
# dying with SIGILL inside a kernel. FLT_TEST_CPU_FEATURES plays an older
# CPU: a library for Sapphire Rapids (AVX-512, FP16, BF16) is refused on a
# Haswell (AVX2 + FMA) by flt-run and flt.runtime, a baseline x86-64
# library runs there, and a library for this machine (--cpu=native) runs
# here with the features cpuid reports.
# RUN: %python %s

import os
import subprocess
import sys

import numpy as np

os.environ["FLT_TEST_TARGET"] = "cpu"
from flt_harness import Library, expect, finish, func, tool, ttype  # noqa

X = ttype((1, 2, 1, 4), dynamic=(2,))
body = [f"%o = flt.feature_map %x {{kernel = #flt.kernel<relu>}} : {X} -> {X}"]
relu = func("relu", [("x", X)], body, [("%o", X)])
spr = Library([relu], flags=["--cpu=sapphirerapids"])
baseline = Library([relu], flags=["--cpu=x86-64"])
native = Library([relu])

HASWELL = ("sse3 ssse3 fma cx16 sse4.1 sse4.2 movbe popcnt avx f16c bmi "
           "avx2 bmi2 sahf lzcnt prfchw")
x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4) - 5
path = os.path.join(native.dir, "x.npy")
np.save(path, x)


def description(library):
    with open(library.path, "rb") as f:
        image = f.read()
    start = image.index(b"flt-module 2\n")
    return image[start:image.index(b"\0", start)].decode()


def cpu_line(library):
    return [line for line in description(library).splitlines()
            if line.startswith("cpu ")][0].split()


words = cpu_line(spr)
expect("the Sapphire Rapids library records its CPU and AVX-512 features",
       words[1] == "sapphirerapids" and
       {"avx512f", "avx512bw", "avx512fp16", "avx512bf16"} <= set(words),
       " ".join(words))
expect("a baseline x86-64 library needs no AVX",
       cpu_line(baseline)[1] == "x86-64" and "avx" not in cpu_line(baseline),
       " ".join(cpu_line(baseline)))


def flt_run(library, cpu_features=None):
    env = dict(os.environ)
    env.pop("FLT_TEST_CPU_FEATURES", None)
    if cpu_features is not None:
        env["FLT_TEST_CPU_FEATURES"] = cpu_features
    out = os.path.join(native.dir, "out.npy")
    if os.path.exists(out):
        os.remove(out)
    done = subprocess.run([tool("flt-run"), library.path, "--function=relu",
                           f"--input={path}", f"--output={out}"],
                          capture_output=True, text=True, env=env)
    result = np.load(out) if os.path.exists(out) else None
    return done, result


done, _ = flt_run(spr, HASWELL)
lines = done.stderr.strip().splitlines()
expect("flt-run refuses a Sapphire Rapids library on a Haswell",
       done.returncode == 1 and len(lines) == 1 and
       "compiled for CPU 'sapphirerapids'" in lines[0] and
       "avx512f" in lines[0] and "avx512fp16" in lines[0] and
       "--cpu=native" in lines[0], done.stderr.strip())
expect("a refusal is not a signal", done.returncode >= 0)

# (Sanitizer builds have no flt.runtime: their libFLTRuntime needs the ASan
# runtime loaded first.)
script = ("import sys, flt.runtime\n"
          "try:\n"
          "    flt.runtime.load(sys.argv[1])\n"
          "    print('loaded')\n"
          "except RuntimeError as e:\n"
          "    print('RuntimeError:', e)\n")
if not os.environ.get("FLT_SANITIZED"):
    env = dict(os.environ, FLT_TEST_CPU_FEATURES=HASWELL)
    done = subprocess.run([sys.executable, "-c", script, spr.path],
                          capture_output=True, text=True, env=env)
    expect("flt.runtime refuses it with a RuntimeError",
           done.returncode == 0 and done.stdout.startswith("RuntimeError:") and
           "avx512fp16" in done.stdout, done.stdout + done.stderr[-300:])

for label, library in (("baseline x86-64", baseline),):
    done, result = flt_run(library, HASWELL)
    expect(f"a {label} library runs on the Haswell",
           done.returncode == 0 and result is not None and
           np.array_equal(result, np.maximum(x, 0)), done.stderr.strip())
done, _ = flt_run(baseline, "")
expect("even on a CPU with no recorded extension at all",
       done.returncode == 0, done.stderr.strip())
done, result = flt_run(native)
expect("a library for this machine runs here",
       done.returncode == 0 and result is not None and
       np.array_equal(result, np.maximum(x, 0)), done.stderr.strip())
finish()
