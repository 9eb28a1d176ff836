# flt-opt and flt-compile read only regular files (or stdin, or /dev/null),
# at most 256 MiB, with brackets (and unary minus signs) nested at most 256
# deep (flt/Support/SourceInput.h): a device, a FIFO, an endless stdin or a
# deeply nested module is one error line and exit status 1, never an endless
# read or a stack overflow. 256 levels pass, 257 do not.
# RUN: %python %s %t

import os
import subprocess
import sys

tools = os.environ["FLT_TOOLS_DIR"]
work = sys.argv[1]
os.makedirs(work, exist_ok=True)
failures = []


def run(tool, args, stdin=None, timeout=60):
    return subprocess.run([os.path.join(tools, tool), *args], stdin=stdin,
                          capture_output=True, text=True, timeout=timeout)


def expect(label, done, status, message=""):
    lines = done.stderr.strip().splitlines()
    ok = done.returncode == status and message in done.stderr
    if status != 0:  # one line, the message
        ok = ok and len(lines) == 1 and "Stack dump" not in done.stderr
    print(f"{'PASS' if ok else 'FAIL'}: {label}")
    if not ok:
        print(f"  status {done.returncode}, stderr: {done.stderr[:500]}")
        failures.append(label)


def write(name, text):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def types(n):  # n levels: the argument list's ( and n - 1 tuples
    return "func.func private @f(" + "tuple<" * (n - 1) + "f32" + \
        ">" * (n - 1) + ")\n"


def regions(n):  # n levels: the function's { and n - 1 regions
    inner = n - 1
    return ("func.func @f() {\n" + "scf.execute_region {\n" * inner +
            "scf.yield\n" + "}\nscf.yield\n" * (inner - 1) + "}\n"
            "return\n}\n")


def minus(n):  # a parenthesis and n - 1 unary minus signs
    return ("#m = affine_map<(d0) -> (" + "- " * (n - 2) + "d0)>\n"
            "func.func private @f() attributes {a = #m}\n")


LIMIT = "nest deeper than 256 levels"
for name, make in (("types", types), ("regions", regions),
                   ("minus", minus)):
    for tool in ("flt-opt", "flt-compile"):
        args = ["-o", os.path.join(work, "out")] if tool == "flt-compile" \
            else []
        deep = write(f"{name}_30000.mlir", make(30000))
        expect(f"{tool}: {name} nested 30000 deep", run(tool, [deep, *args]),
               1, LIMIT)
        over = write(f"{name}_257.mlir", make(257))
        expect(f"{tool}: {name} nested 257 deep", run(tool, [over, *args]),
               1, LIMIT)
    # At the limit: parsed, verified and printed.
    at = write(f"{name}_256.mlir", make(256))
    expect(f"flt-opt: {name} nested 256 deep", run("flt-opt", [at]), 0)
# Brackets in comments and strings do not count.
quiet = write("quiet.mlir", "// " + "(" * 1000 + "\nfunc.func private @f() "
              "attributes {s = \"" + "[" * 1000 + "\"}\n")
expect("flt-opt: brackets in comments and strings", run("flt-opt", [quiet]),
       0)

for tool in ("flt-opt", "flt-compile"):
    args = ["-o", os.path.join(work, "out")] if tool == "flt-compile" else []
    for device in ("/dev/zero", "/dev/urandom"):
        expect(f"{tool} {device}", run(tool, [device, *args], timeout=20), 1,
               "not a regular file")
    expect(f"{tool} a directory", run(tool, [work, *args]), 1,
           "not a regular file")
    fifo = os.path.join(work, f"{tool}.fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    expect(f"{tool} a FIFO", run(tool, [fifo, *args], timeout=20), 1,
           "not a regular file")
    # An endless stdin stops at the limit.
    with open("/dev/zero") as zero:
        expect(f"{tool} - < /dev/zero", run(tool, ["-", *args], stdin=zero),
               1, "larger than 256 MiB")
# /dev/null is an empty module.
expect("flt-opt /dev/null", run("flt-opt", ["/dev/null"]), 0)

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all checks passed")
