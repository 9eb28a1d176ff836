# A library whose embedded description (flt/Runtime/ModuleInfo.h) was
# edited is refused — by flt-run with one error line and exit status 1, by
# flt.runtime with a RuntimeError — never half-read: a size that is not a
# number (once an abort in std::stoll), a changed rank or element type
# (once a crash or a run on garbage), a dropped argument even with the seal
# recomputed to match (the entry points' own arities disagree), an unknown
# CPU feature, an older format, a missing seal. The untouched library runs.
# RUN: %python %s

import os
import struct
import subprocess
import sys

import numpy as np

os.environ["FLT_TEST_TARGET"] = "cpu"
from flt_harness import Library, expect, finish, func, tool, ttype  # noqa

F = ttype((1, 2, 1, 4), dynamic=(2,))
V = ttype((1, 2, 1, 3), dynamic=(2,))
lib = Library([func(
    "la", [("fq", F), ("fk", F), ("v", V)],
    [f"%o = flt.linear_attention %fq, %fk, %v : {F}, {F}, {V} -> {V}"],
    [("%o", V)])])
d = lib.dir
with open(lib.path, "rb") as f:
    image = f.read()
g = np.random.default_rng(0)
inputs = []
for name, width in (("fq", 4), ("fk", 4), ("v", 3)):
    inputs.append(os.path.join(d, name + ".npy"))
    np.save(inputs[-1], g.random((1, 2, 5, width), np.float32))

start = image.index(b"flt-module 2\n")
end = image.index(b"\0", start)
description = image[start:end]
expect("the description has the three arguments",
       description.count(b"\narg f32 4 1 2 ? ") == 3)
SEAL = struct.pack("<Q", 0x326c616573746c66)
seal_at = image.index(SEAL)


# __flt_arity_la: __flt_call_la reads the result's pointer and three
# arguments', __flt_check_la the three arguments'.
ARITIES = [4, 3]


def fnv(data, words):
    h = 0xcbf29ce484222325
    for b in data + b"".join(struct.pack("<q", w) for w in words):
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


expect("the seal is FNV-1a over the description and the arities",
       struct.unpack_from("<QQ", image, seal_at + 8) ==
       (len(description), fnv(description, ARITIES)))


def variant(name, old, new, reseal=False):
    """A copy of the library with `old` replaced by `new` in its
    description (no longer: a shorter text is followed by NULs); `reseal`
    writes a seal that matches the new text."""
    assert len(old) >= len(new) and description.count(old) >= 1, old
    text = description.replace(old, new, 1)
    edited = (image[:start] + text + b"\0" * (len(old) - len(new)) +
              image[end:])
    if reseal:
        edited = (edited[:seal_at + 8] +
                  struct.pack("<QQ", len(text), fnv(text, ARITIES)) +
                  edited[seal_at + 24:])
    path = os.path.join(d, name + ".so")
    with open(path, "wb") as f:
        f.write(edited)
    return path


def refused(label, path, needle):
    out = os.path.join(d, "out.npy")
    if os.path.exists(out):
        os.remove(out)
    done = subprocess.run([tool("flt-run"), path, "--function=la",
                           *[f"--input={p}" for p in inputs],
                           f"--output={out}"], capture_output=True, text=True)
    lines = done.stderr.strip().splitlines()
    expect(f"flt-run: {label}", done.returncode == 1 and len(lines) == 1 and
           needle in lines[0] and not os.path.exists(out),
           f"(status {done.returncode}: {done.stderr.strip()!r})")
    # The same through Python, in a child (a crash there would be a signal;
    # sanitizer builds have no flt.runtime: their libFLTRuntime needs the
    # ASan runtime loaded first).
    if os.environ.get("FLT_SANITIZED"):
        return
    script = ("import sys, flt.runtime\n"
              "try:\n"
              "    flt.runtime.load(sys.argv[1])\n"
              "    print('loaded')\n"
              "except RuntimeError as e:\n"
              "    print('RuntimeError:', e)\n")
    done = subprocess.run([sys.executable, "-c", script,
                           path], capture_output=True, text=True)
    expect(f"flt.runtime: {label}", done.returncode == 0 and
           done.stdout.startswith("RuntimeError:") and needle in done.stdout,
           f"(status {done.returncode}: {done.stdout.strip()!r} "
           f"{done.stderr.strip()[-300:]!r})")


arg_v = b"\narg f32 4 1 2 ? 3\n"
refused("a size that is not a number",
        variant("nan_size", arg_v, b"\narg f32 4 1 2 ? x\n"),
        "line 8: bad size 'x'")
refused("a changed rank",
        variant("rank", arg_v, b"\narg f32 3 1 2 ? 3\n"),
        "rank 3 but 4 size(s)")
refused("a changed rank that parses",
        variant("rank_parses", arg_v, b"\narg f32 3 12 ? 33\n"),
        "does not match its seal")
refused("a changed element type",
        variant("dtype", arg_v, b"\narg f16 4 1 2 ? 3\n"),
        "does not match its seal")
refused("an unknown element type",
        variant("dtype_unknown", arg_v, b"\narg f33 4 1 2 ? 3\n"),
        "unknown element type 'f33'")
# Without its third argument the text parses and the seal is rewritten to
# match: only the entry points' own arities tell.
refused("a dropped argument, resealed",
        variant("dropped", arg_v, b"\n", reseal=True),
        "described with 2 argument(s) and 1 result(s), but its entry points "
        "read 4 and 3")
refused("an unknown CPU feature",
        variant("feature", b" avx2", b" avx3", reseal=True),
        "unknown CPU feature 'avx3'")
refused("an older format",
        variant("format", b"flt-module 2\n", b"flt-module 1\n"),
        "format 1, but this runtime reads format 2")
refused("a stray space", variant("space", b"\ntarget cpu\n",
                                 b"\ntarget  cpu"), "exactly one space")
refused("a control byte", variant("control", b"\ntarget cpu\n",
                                  b"\ntarget\tcpu\n"), "byte 0x09")
no_seal = os.path.join(d, "no_seal.so")
with open(no_seal, "wb") as f:
    f.write(image.replace(b"__flt_module_seal\0", b"__flt_module_sea_\0"))
refused("no seal", no_seal, "it has no __flt_module_seal")
bad_magic = os.path.join(d, "bad_magic.so")
with open(bad_magic, "wb") as f:
    f.write(image[:seal_at] + b"fltseal3" + image[seal_at + 8:])
refused("a seal of another format", bad_magic, "is not a seal of this format")
no_arity = os.path.join(d, "no_arity.so")
with open(no_arity, "wb") as f:
    f.write(image.replace(b"__flt_arity_la\0", b"__flt_arity_lb\0"))
refused("no arity symbol", no_arity, "lacks the entry points of function 'la'")

# The library as compiled still loads and runs.
done = subprocess.run([tool("flt-run"), lib.path, "--function=la",
                       *[f"--input={p}" for p in inputs]],
                      capture_output=True, text=True)
expect("the untouched library runs", done.returncode == 0, done.stderr)
finish()
