# The option table (include/flt/Codegen/Options.def) is the only place an
# option is declared: flt-compile's flags, the pipelines' options, Python's
# flt.compile keywords and docs/Options.md must all say what it says. This
# test reads the .def itself and fails when any of them drifts.
# RUN: %python %s

import os
import re
import subprocess
import sys

root = os.path.join(os.path.dirname(__file__), "..", "..")
tools = os.environ["FLT_TOOLS_DIR"]
failures = []


def expect(what, ok, detail=""):
    if not ok:
        failures.append(f"{what}: {detail}")


def rows():
    """(kind, scopes, field, cli, pipeline, python) of every row."""
    text = open(os.path.join(root, "include", "flt", "Codegen",
                             "Options.def")).read()
    text = text[text.index("//--- What is compiled"):]
    found = []
    for m in re.finditer(r"FLT_(BOOL|INT|STRING)_OPTION\(\s*([A-Za-z |]+),\s*"
                         r"(\w+),\s*\"([^\"]*)\",\s*\"([^\"]*)\",\s*"
                         r"\"([^\"]*)\"", text):
        kind, scopes, field, cli, pipeline, python = m.groups()
        found.append((kind, {s.strip() for s in scopes.split("|")}, field,
                      cli, pipeline, python))
    return found


table = rows()
expect("the table has rows", len(table) >= 15, str(len(table)))


def run(*args):
    done = subprocess.run([os.path.join(tools, args[0]), *args[1:]],
                          capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


# docs/Options.md is the generated table, verbatim.
status, generated = run("flt-compile", "--print-option-table")
docs = open(os.path.join(root, "docs", "Options.md")).read()
expect("docs/Options.md == flt-compile --print-option-table", status == 0 and
       generated == docs, "regenerate docs/Options.md with "
       "`flt-compile --print-option-table > docs/Options.md`")

# flt-compile offers exactly the rows with a CLI spelling.
status, help_text = run("flt-compile", "--help")
flags = set(re.findall(r"^  --([a-z0-9-]+)", help_text, re.M)) - {
    "help", "help-list", "version", "print-option-table"}
expect("flt-compile flags", flags == {r[3] for r in table if r[3]},
       f"{sorted(flags)} vs the table")

# Each pipeline offers exactly the rows of its scope with a pipeline
# spelling.
status, opt_help = run("flt-opt", "--help")
for pipeline, scope in (("flt-cpu-pipeline", "CPU"),
                        ("flt-gpu-pipeline", "GPU")):
    block = opt_help[opt_help.index(f"--{pipeline} "):]
    options = []
    for line in block.splitlines()[1:]:
        m = re.match(r"^ {8}--([a-z0-9-]+)", line)
        if not m:
            break
        options.append(m.group(1))
    want = {r[4] for r in table if r[4] and scope in r[1]}
    expect(f"{pipeline} options", set(options) == want,
           f"{sorted(options)} vs {sorted(want)}")

# A value out of its range is one error naming the flag and the range.
status, out = run("flt-compile", "-", "-o", "/dev/null", "--value-slice=513")
expect("--value-slice=513 refused", status == 1 and
       "--value-slice in [0, 512] required, got 513" in out, out)
status, out = run("flt-opt", "--pass-pipeline=builtin.module("
                  "flt-cpu-pipeline{register-rows=17})", os.devnull)
expect("register-rows=17 refused by flt-cpu-pipeline", status == 1 and
       "register-rows in [0, 16] required, got 17" in out, out)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"option table: {len(table)} options agree everywhere")
