# Where flt-run writes, and which option values it takes. An --output that
# is a regular file (or a new path) is replaced atomically; anything else is
# written through and stays what it was: a symbolic link keeps pointing at
# its (rewritten) target, a FIFO stays a FIFO and its reader gets the .npy
# bytes, a character device is never replaced by a file — /dev/full reports
# its write error ("No space left on device") and exit status 1. An empty
# or repeated --output, a repeated single-value option and values outside
# the documented ranges (--threads 1..1024, --benchmark 1..1000000) are one
# error line before anything runs; so are flt-compile's empty or repeated
# -o. (/dev/null is never written here; it is
# checked to still be a character device at the end.)
# RUN: %python %s

import io
import os
import stat
import subprocess
import threading

import numpy as np

os.environ["FLT_TEST_TARGET"] = "cpu"
from flt_harness import Library, expect, finish, func, tool, ttype  # noqa

X = ttype((1, 2, 1, 4), dynamic=(2,))
lib = Library([func("relu", [("x", X)],
                    [f"%o = flt.feature_map %x {{kernel = #flt.kernel<relu>}}"
                     f" : {X} -> {X}"], [("%o", X)])])
d = lib.dir
x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4) - 5
expected = np.maximum(x, 0)
inp = os.path.join(d, "x.npy")
np.save(inp, x)
call = [tool("flt-run"), lib.path, "--function=relu", f"--input={inp}"]


def run(*extra):
    return subprocess.run([*call, *extra], capture_output=True, text=True)


def one_error(label, done, needle):
    lines = done.stderr.strip().splitlines()
    expect(label, done.returncode == 1 and len(lines) == 1 and
           lines[0].startswith("flt-run: error: ") and needle in lines[0],
           f"(status {done.returncode}: {done.stderr.strip()!r})")


# A symbolic link: its target is rewritten, the link stays a link.
target = os.path.join(d, "target.npy")
with open(target, "wb") as f:
    f.write(b"old")
link = os.path.join(d, "link.npy")
os.symlink(target, link)
done = run(f"--output={link}")
expect("through a symlink: exit 0", done.returncode == 0, done.stderr)
expect("the symlink is still a symlink to the same target",
       os.path.islink(link) and os.readlink(link) == target)
expect("its target holds the result",
       np.array_equal(np.load(target), expected))
# A link to a path that does not exist yet: created through the link.
dangling = os.path.join(d, "dangling.npy")
os.symlink(os.path.join(d, "new-target.npy"), dangling)
done = run(f"--output={dangling}")
expect("a dangling symlink's target is created",
       done.returncode == 0 and os.path.islink(dangling) and
       np.array_equal(np.load(os.path.join(d, "new-target.npy")), expected),
       done.stderr)

# A FIFO: written through to its reader, still a FIFO afterwards.
fifo = os.path.join(d, "fifo")
os.mkfifo(fifo)
received = []
reader = threading.Thread(
    target=lambda: received.append(open(fifo, "rb").read()))
reader.start()
done = run(f"--output={fifo}")
reader.join(60)
expect("to a FIFO: exit 0", done.returncode == 0, done.stderr)
expect("the FIFO is still a FIFO", stat.S_ISFIFO(os.lstat(fifo).st_mode))
expect("its reader got the result",
       bool(received) and np.array_equal(np.load(io.BytesIO(received[0])),
                                         expected))

# A character device that refuses the bytes: the error, exit 1.
if os.path.exists("/dev/full"):
    one_error("/dev/full: the write error", run("--output=/dev/full"),
              "No space left on device")
    expect("/dev/full is still a character device",
           stat.S_ISCHR(os.lstat("/dev/full").st_mode))

# A directory is not replaced either.
one_error("a directory as output", run(f"--output={d}"), "is a directory")
expect("the directory is still one", os.path.isdir(d))

# A regular file is replaced (atomically: no temporary left behind), with
# its permissions.
regular = os.path.join(d, "regular.npy")
with open(regular, "wb") as f:
    f.write(b"old")
os.chmod(regular, 0o640)
done = run(f"--output={regular}")
expect("a regular file is replaced by the result",
       done.returncode == 0 and np.array_equal(np.load(regular), expected) and
       stat.S_IMODE(os.stat(regular).st_mode) == 0o640, done.stderr)
expect("no temporary files left behind",
       not [n for n in os.listdir(d) if ".tmp" in n])

# Options: refused before anything runs (no output appears).
out = os.path.join(d, "out.npy")
for label, args, needle in [
        ("--output= empty", ["--output="], "--output= needs a file name"),
        ("--input= empty", ["--output=" + out, "--input="],
         "--input= needs a file name"),
        ("the same --output twice", [f"--output={out}", f"--output={out}"],
         "is given for two results"),
        ("one file by two names", [f"--output={regular}",
                                   f"--output={d}/./regular.npy"],
         "is given for two results"),
        ("--function twice", [f"--output={out}", "--function=relu"],
         "--function is given twice"),
        ("--function= empty", ["--function="], "needs a function name"),
        ("--threads=100000", [f"--output={out}", "--threads=100000"],
         "--threads needs a positive integer up to 1024"),
        ("--threads=0", [f"--output={out}", "--threads=0"],
         "--threads needs a positive integer up to 1024"),
        ("--threads=-1", [f"--output={out}", "--threads=-1"],
         "--threads needs a positive integer"),
        ("--threads=+4", [f"--output={out}", "--threads=+4"],
         "--threads needs a positive integer"),
        ("--threads=4x", [f"--output={out}", "--threads=4x"],
         "--threads needs a positive integer"),
        ("--threads twice", [f"--output={out}", "--threads=2",
                             "--threads=3"], "--threads is given twice"),
        ("--benchmark=0", [f"--output={out}", "--benchmark=0"],
         "--benchmark needs a positive integer up to 1000000"),
        ("--benchmark=10000000", [f"--output={out}", "--benchmark=10000000"],
         "--benchmark needs a positive integer up to 1000000"),
        ("--device twice", [f"--output={out}", "--device=cpu",
                            "--device=cpu"], "--device is given twice"),
        ("-o", ["-o", out], "unknown option '-o'")]:
    if os.path.exists(out):
        os.remove(out)
    one_error(label, run(*args), needle)
    expect(f"{label}: nothing written", not os.path.exists(out))

# The largest thread count runs.
done = run(f"--output={out}", "--threads=1024")
expect("--threads=1024 runs", done.returncode == 0 and
       np.array_equal(np.load(out), expected), done.stderr)

# flt-compile's -o: empty (the linker would write a.out) or twice.
source = os.path.join(d, "module.mlir")
compiled = os.path.join(d, "compiled.so")
for label, args, needle in [("-o ''", ["-o", ""], "-o needs a file name"),
                            ("-o twice", ["-o", compiled, "-o", compiled],
                             "-o is given twice")]:
    done = subprocess.run([os.path.abspath(tool("flt-compile")), source,
                           *args], cwd=d,
                          capture_output=True, text=True)
    one_error = done.returncode == 1 and done.stderr.strip() == \
        f"flt-compile: error: {needle}"
    expect(f"flt-compile {label}", one_error and
           not os.path.exists(os.path.join(d, "a.out")) and
           not os.path.exists(compiled), done.stderr.strip())

expect("/dev/null is still a character device",
       stat.S_ISCHR(os.lstat("/dev/null").st_mode))
finish()
