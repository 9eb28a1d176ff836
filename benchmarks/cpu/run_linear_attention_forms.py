#!/usr/bin/env python3
"""CPU benchmark of the two forms of RPE-masked linear attention and of the
compiler's choice between them, in one run (B=1, H=8, m=64, r=32, e=64,
dynamic L, non-causal and causal, 2 threads by default):

  linear     --linear-attention-form=linear (the state, O(L m r e))
  quadratic  --linear-attention-form=quadratic (tile by tile, O(L^2))
  auto       the default: the cost model of LinearAttentionForm.cpp picks
             one at run time (L is dynamic)

Reports medians, and auto's time over the faster form's (1.00: the model
picked the faster one). Writes linear_attention_forms.json to --out.

    benchmarks/cpu/run_linear_attention_forms.py [--build build] [--out DIR]
"""

import argparse
import json
import os
import subprocess
import tempfile

import numpy as np

from run_attention_variants import flt_time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
H, M, R, E = 8, 64, 32, 64
FORMS = ("linear", "quadratic", "auto")


def module_text():
    FQ, V, P = (f"tensor<1x{H}x?x{w}xf32>" for w in (M, E, R))
    functions = []
    for causal in (False, True):
        name = "causal" if causal else "full"
        functions.append(f"""
func.func @{name}(%fq: {FQ}, %fk: {FQ}, %v: {V}, %phi: {P}, %psi: {P}) -> {V} {{
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi)
         {{causal = {str(causal).lower()}}} : {FQ}, {FQ}, {V}, {P}, {P} -> {V}
  return %o : {V}
}}""")
    return "\n".join(functions)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks",
                                                      "cpu", "results"))
    parser.add_argument("--lengths", default="256,512,1024,2048,4096")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="flt-bench-forms-")
    source = os.path.join(work, "forms.mlir")
    with open(source, "w") as f:
        f.write(module_text())
    libraries = {}
    for form in FORMS:
        libraries[form] = os.path.join(work, form + ".so")
        subprocess.run([os.path.join(args.build, "bin", "flt-compile"),
                        source, "-o", libraries[form],
                        f"--linear-attention-form={form}"], check=True)

    g = np.random.default_rng(0)
    rows = []
    print(f"{'':8}{'L':>6}" + "".join(f"{f + ' ms':>14}" for f in FORMS) +
          f"{'auto/best':>11}")
    for L in (int(x) for x in args.lengths.split(",")):
        inputs = []
        for name, width in (("fq", M), ("fk", M), ("v", E), ("phi", R),
                            ("psi", R)):
            array = (g.standard_normal if name == "v" else g.random)(
                (1, H, L, width), dtype=np.float32)
            inputs.append(os.path.join(work, f"{name}.npy"))
            np.save(inputs[-1], array)
        for function in ("full", "causal"):
            times = {form: flt_time(args, libraries[form], function, inputs,
                                    args.threads, args.calls)
                     for form in FORMS}
            best = min(times["linear"], times["quadratic"])
            rows.append({"function": function, "L": L, **times,
                         "auto_over_best": times["auto"] / best})
            print(f"{function:8}{L:6}" +
                  "".join(f"{times[f]:14.2f}" for f in FORMS) +
                  f"{times['auto'] / best:11.2f}")
    with open(os.path.join(args.out, "linear_attention_forms.json"),
              "w") as f:
        json.dump({"B": 1, "H": H, "m": M, "r": R, "e": E,
                   "threads": args.threads, "calls": args.calls,
                   "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
