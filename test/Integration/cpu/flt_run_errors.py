# flt-run on bad input: one clear error line on stderr, exit status 1, never
# a crash, and no kernel runs (no output file appears).
# RUN: %python %s

import os
import subprocess

import numpy as np
from flt_harness import Library, expect, finish, func, tool, ttype

FQ = ttype((1, 2, 1, 4), dynamic=(0, 2))
V = ttype((1, 2, 1, 3), dynamic=(0, 2))
lib = Library([func(
    "la", [("fq", FQ), ("fk", FQ), ("v", V)],
    [f"%o = flt.linear_attention %fq, %fk, %v {{causal = true}} : "
     f"{FQ}, {FQ}, {V} -> {V}"],
    [("%o", V)])])
d = lib.dir


def save(name, array):
    path = os.path.join(d, name)
    np.save(path, array)
    return path


good = [save("fq.npy", np.ones((1, 2, 5, 4), np.float32)),
        save("fk.npy", np.ones((1, 2, 5, 4), np.float32)),
        save("v.npy", np.ones((1, 2, 5, 3), np.float32))]
out = os.path.join(d, "out.npy")


def run_bad(label, args, needle):
    if os.path.exists(out):
        os.remove(out)
    done = subprocess.run([tool("flt-run"), *args], capture_output=True,
                          text=True)
    lines = done.stderr.strip().splitlines()
    ok = (done.returncode == 1 and len(lines) == 1 and
          lines[0].startswith("flt-run: error: ") and needle in lines[0] and
          not os.path.exists(out))
    expect(label, ok, f"(status {done.returncode}: {done.stderr.strip()!r})")


def inputs(*paths):
    return [f"--input={p}" for p in paths]


call = [lib.path, "--function=la"]
run_bad("missing input file", call + inputs(good[0], good[1], d + "/none.npy") +
        [f"--output={out}"], "cannot open")
corrupt = os.path.join(d, "corrupt.npy")
with open(corrupt, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'fortran_")
run_bad("corrupt file", call + inputs(good[0], good[1], corrupt) +
        [f"--output={out}"], "not a valid .npy")
short = os.path.join(d, "short.npy")
with open(good[2], "rb") as f:
    data = f.read()
with open(short, "wb") as f:
    f.write(data[:-8])
run_bad("truncated data", call + inputs(good[0], good[1], short) +
        [f"--output={out}"], "shorter than")
run_bad("wrong dtype", call + inputs(
    good[0], good[1], save("v64.npy", np.ones((1, 2, 5, 3)))) +
    [f"--output={out}"], "element type f32")
run_bad("wrong rank", call + inputs(
    good[0], good[1], save("v3.npy", np.ones((2, 5, 3), np.float32))) +
    [f"--output={out}"], "rank 4")
run_bad("wrong static size", call + inputs(
    good[0], good[1], save("v4.npy", np.ones((1, 2, 5, 4), np.float32))) +
    [f"--output={out}"], "must have shape")
run_bad("disagreeing dynamic sizes", call + inputs(
    good[0], good[1], save("v7.npy", np.ones((1, 2, 7, 3), np.float32))) +
    [f"--output={out}"], "'v' S must equal 'fk' S")
run_bad("causal with S != L", call + inputs(
    good[0], save("fk7.npy", np.ones((1, 2, 7, 4), np.float32)),
    save("v7b.npy", np.ones((1, 2, 7, 3), np.float32))) + [f"--output={out}"],
    "causal attention needs S = L")
run_bad("disagreeing batch", call + inputs(
    good[0], save("fk2.npy", np.ones((2, 2, 5, 4), np.float32)), good[2]) +
    [f"--output={out}"], "B must equal")
run_bad("unknown function", [lib.path, "--function=nope"] + inputs(*good),
        "no function 'nope'")
run_bad("too few inputs", call + inputs(*good[:2]), "takes 3 inputs, got 2")
run_bad("too many inputs", call + inputs(*good, good[0]),
        "takes 3 inputs, got 4")
run_bad("too many outputs", call + inputs(*good) +
        [f"--output={out}", f"--output={out}2"], "has 1 results")
run_bad("missing library", [d + "/none.so", "--function=la"] + inputs(*good),
        "cannot open library")
run_bad("not an flt library", [good[0], "--function=la"] + inputs(*good),
        "cannot load library")
run_bad("bad thread count", call + inputs(*good) + ["--threads=0"],
        "--threads needs a positive integer")
run_bad("unknown option", call + inputs(*good) + ["--fast"],
        "unknown option")
if not os.path.exists("/usr/lib/x86_64-linux-gnu/libcuda.so.1"):
    run_bad("--device=cuda without a GPU", call + inputs(*good) +
            ["--device=cuda", f"--output={out}"], "no CUDA driver")

# A library from another flt version is refused (the description is patched
# in a copy: same length, other version).
with open(lib.path, "rb") as f:
    image = f.read()
marker = b"flt-version 0.1.0"
expect("library records its flt version", marker in image)
other = os.path.join(d, "other_version.so")
with open(other, "wb") as f:
    f.write(image.replace(marker, b"flt-version 9.9.9"))
run_bad("library from another version", [other, "--function=la"] +
        inputs(*good), "compiled by flt 9.9.9 but this runtime is flt 0.1.0")

# A failed run leaves an existing output untouched; an unwritable output is
# an error with no partial file anywhere.
with open(out, "wb") as f:
    f.write(b"previous contents")
done = subprocess.run([tool("flt-run"), *call, *inputs(
    good[0], good[1], save("vbad.npy", np.ones((1, 2, 9, 3), np.float32))),
    f"--output={out}"], capture_output=True, text=True)
with open(out, "rb") as f:
    kept = f.read() == b"previous contents"
expect("failed run keeps the existing output", done.returncode == 1 and kept)
os.remove(out)
missing_dir = os.path.join(d, "no-such-dir", "out.npy")
run_bad("unwritable output", call + inputs(*good) +
        [f"--output={missing_dir}"], "cannot write")
expect("no temporary files left behind",
       not [n for n in os.listdir(d) if ".tmp" in n])

# And the good call works, with 1 thread, and writes its output.
done = subprocess.run([tool("flt-run"), *call, *inputs(*good),
                       f"--output={out}", "--threads=1", "--benchmark=3"],
                      capture_output=True, text=True)
expect("good call", done.returncode == 0 and os.path.exists(out) and
       "time: min" in done.stdout and "median" in done.stdout, done.stdout)
finish()
