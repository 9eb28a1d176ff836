#!/usr/bin/env python3
"""CPU benchmark of serving (docs/Semantics.md section 5), one FLT layer (H=8,
d=e=64, m_f=16, relu features, Gaussian-mixture spectrum, p=1, causal), in
one run:

  decode     one generated token from the state (L = 1, state [1, 8, 2048,
             64]) against recomputing the causal layer over the whole
             prefix, at prefixes of 1k, 16k and 64k tokens (1 thread);
  packed     a batch of one 4096-token sequence and 64 sequences of 32
             tokens: packed (B = 1, L = 6144, packed(cu_seqlens)) against
             the same batch padded to B = 65, L = 4096, as a dense batch
             (every padded token computed, as a framework's mask does) and
             with lengths(n) (flt skips keys and rows past n_b; the feature
             maps still see every padded token); flt.attention (linear) and
             softmax flt.kernel_attention (quadratic), 1 and 2 threads.

Median of several calls of flt-run --benchmark each; prints the times and
ratios and writes serving.json.

    OPENBLAS_CORETYPE= OPENBLAS_L2_SIZE= benchmarks/cpu/run_serving.py \\
        [--build build] [--out DIR] [--prefixes 1024,16384,65536]
"""

import argparse
import json
import os
import subprocess
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
H, D, M_F, K = 8, 64, 16, 1
FEATURES = D * 2 * M_F
LONG, SHORT, SHORT_COUNT = 4096, 32, 64


def layer(name, length, batch=1, state=False, table=None):
    L = "?" if length is None else str(length)
    B = str(batch) if batch else "?"
    q = f"tensor<{B}x{H}x{L}x{D}xf32>"
    r = f"tensor<{B}x{L}x1xf32>"
    xi, th = f"tensor<{H}x{M_F}x1xf32>", f"tensor<{H}x{3 * K}xf32>"
    t, z = (f"tensor<{B}x{H}x{FEATURES}x{D}xf32>",
            f"tensor<{B}x{H}x{FEATURES}xf32>")
    attrs = ("{kernel = #flt.kernel<relu>, spectrum = "
             "#flt.spectrum<gaussian_mixture>, causal = true}")
    args = [f"%q: {q}", f"%k: {q}", f"%v: {q}", f"%r: {r}", f"%xi: {xi}",
            f"%th: {th}"]
    types = [q, q, q, r, xi, th]
    groups, results = "", [q]
    if state:
        args += [f"%t0: {t}", f"%z0: {z}"]
        types += [t, z]
        groups += " state(%t0, %z0)"
        results += [t, z]
    if table:
        args.append("%n: tensor<?xi32>")
        types.append("tensor<?xi32>")
        groups += f" {table}(%n)"
    names = ["%o", "%t", "%z"][:len(results)]
    return (f"func.func @{name}({', '.join(args)}) -> ({', '.join(results)}) "
            f"{{\n  {', '.join(names)} = flt.attention %q, %k, %v, %r, %xi, "
            f"%th{groups} {attrs} : {', '.join(types)} -> "
            f"{', '.join(results)}\n  return {', '.join(names)} : "
            f"{', '.join(results)}\n}}\n")


def softmax(name, table=None):
    q = f"tensor<?x{H}x?x{D}xf32>"
    args, types, groups = [f"%q: {q}", f"%k: {q}", f"%v: {q}"], [q, q, q], ""
    if table:
        args.append("%n: tensor<?xi32>")
        types.append("tensor<?xi32>")
        groups = f" {table}(%n)"
    return (f"func.func @{name}({', '.join(args)}) -> {q} {{\n"
            f"  %o = flt.kernel_attention %q, %k, %v{groups} {{causal = true, "
            f"temperature = 0.125 : f32}} : {', '.join(types)} -> {q}\n"
            f"  return %o : {q}\n}}\n")


def save(work, name, arrays):
    paths = []
    for i, a in enumerate(arrays):
        paths.append(os.path.join(work, f"{name}_{i}.npy"))
        np.save(paths[-1], a)
    return paths


def layer_inputs(g, B, L):
    qkv = [g.standard_normal((B, H, L, D)).astype(np.float32)
           for _ in range(3)]
    r = (np.arange(L, dtype=np.float32) / 64.0)[None, :, None].repeat(B, 0)
    xi = g.standard_normal((H, M_F, 1)).astype(np.float32)
    theta = np.stack([np.ones(H), np.zeros(H), np.full(H, -1.0)],
                     axis=1).astype(np.float32)
    return qkv + [r, xi, theta]


def run(library, function, inputs, threads, calls):
    out = subprocess.run(
        [os.path.join(ARGS.build, "bin", "flt-run"), library,
         f"--function={function}", *[f"--input={p}" for p in inputs],
         f"--threads={threads}", f"--benchmark={calls}"],
        check=True, capture_output=True, text=True).stdout
    return float(out.split("median ")[1].split(" ms")[0])


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks",
                                                      "cpu", "results"))
    parser.add_argument("--prefixes", default="1024,16384,65536")
    parser.add_argument("--parts", default="decode,packed",
                        help="which parts to run (the others' results in "
                             "serving.json are kept)")
    ARGS = parser.parse_args()
    parts = ARGS.parts.split(",")
    os.makedirs(ARGS.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="flt-serving-bench-")
    source = os.path.join(work, "serving.mlir")
    with open(source, "w") as f:
        f.write(layer("step", 1, state=True) + layer("prefix", None) +
                layer("packed", None, table="packed") +
                layer("padded", None, batch=None) +
                layer("padded_lengths", None, batch=None, table="lengths") +
                softmax("softmax_packed", "packed") +
                softmax("softmax_padded") +
                softmax("softmax_padded_lengths", "lengths"))
    library = os.path.join(work, "serving.so")
    subprocess.run([os.path.join(ARGS.build, "bin", "flt-compile"), source,
                    "-o", library], check=True)
    g = np.random.default_rng(0)
    path = os.path.join(ARGS.out, "serving.json")
    results = {"decode": [], "packed": []}
    if os.path.exists(path):
        with open(path) as f:
            results.update(json.load(f))
    for part in parts:
        results[part] = []

    # Decoding: one token from the state vs the whole prefix again.
    if "decode" in parts:
        decode(library, work, g, results)
    if "packed" in parts:
        packed_vs_padded(library, work, g, results)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(f"wrote {path}")


def decode(library, work, g, results):
    step = save(work, "step", layer_inputs(g, 1, 1) + [
        (0.01 * g.standard_normal((1, H, FEATURES, D))).astype(np.float32),
        np.abs(g.standard_normal((1, H, FEATURES))).astype(np.float32)])
    step_ms = run(library, "step", step, 1, 200)
    for prefix in [int(x) for x in ARGS.prefixes.split(",")]:
        inputs = save(work, f"prefix{prefix}", layer_inputs(g, 1, prefix))
        prefix_ms = run(library, "prefix", inputs, 1,
                        3 if prefix > 16384 else 5)
        results["decode"].append({"prefix": prefix, "step_ms": step_ms,
                                  "recompute_ms": prefix_ms,
                                  "ratio": step_ms / prefix_ms})
        print(f"decode, prefix {prefix:6d}: one step {step_ms:.3f} ms, "
              f"recomputing the prefix {prefix_ms:.1f} ms: the step costs "
              f"{100 * step_ms / prefix_ms:.3f} % (1 thread)", flush=True)



def packed_vs_padded(library, work, g, results):
    """1 × 4096 + 64 × 32 tokens, packed against padded."""
    lengths = [LONG] + [SHORT] * SHORT_COUNT
    cu = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    total = int(cu[-1])
    packed = layer_inputs(g, 1, total)
    padded = layer_inputs(g, len(lengths), LONG)
    packed_layer = save(work, "packed", packed + [cu])
    padded_layer = save(work, "padded", padded)
    padded_lengths = save(work, "padded_lengths",
                          padded + [np.array(lengths, np.int32)])
    packed_soft = save(work, "sp", packed[:3] + [cu])
    padded_soft = save(work, "sd", padded[:3])
    padded_soft_lengths = save(work, "sdl", padded[:3] +
                               [np.array(lengths, np.int32)])
    for threads in (1, 2):
        for op, packed_fn, padded_fn, lengths_fn, inputs in [
                ("flt.attention (linear)", "packed", "padded",
                 "padded_lengths",
                 (packed_layer, padded_layer, padded_lengths)),
                ("softmax kernel_attention", "softmax_packed",
                 "softmax_padded", "softmax_padded_lengths",
                 (packed_soft, padded_soft, padded_soft_lengths))]:
            t_packed = run(library, packed_fn, inputs[0], threads, 5)
            t_padded = run(library, padded_fn, inputs[1], threads, 3)
            t_lengths = run(library, lengths_fn, inputs[2], threads, 3)
            results["packed"].append({
                "op": op, "threads": threads, "packed_ms": t_packed,
                "padded_dense_ms": t_padded, "padded_lengths_ms": t_lengths})
            print(f"{op}, {threads} thread(s): packed {t_packed:.1f} ms, "
                  f"padded dense {t_padded:.1f} ms "
                  f"({t_padded / t_packed:.1f}x), padded with lengths "
                  f"{t_lengths:.1f} ms ({t_lengths / t_packed:.1f}x)",
                  flush=True)


if __name__ == "__main__":
    main()
