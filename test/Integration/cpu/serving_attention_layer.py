# docs/Semantics.md section 5 through flt.attention (the FLT layer passes
# state, packed and lengths to its linear attention), against the float64
# reference of the composition (flt.reference_autograd.attention):
#   * grouped key/value heads: relu features (k's features stay grouped)
#     and favor_pos with a projection per query head (k repeated first);
#   * chunked causal prefill and one-token steps with the state = one run;
#   * packed sequences with per-sequence states; padded batches;
#   * favor_pos with state(...) is refused by the verifier (its key
#     stabilizer is a maximum over one call's keys).
# RUN: %python %s

import subprocess

import numpy as np

from flt import reference_autograd as ref
from flt_harness import (REPLAYING, Library, check, expect, finish,
                         func, mixture_theta, normal, rng, tool, ttype)

H, HKV, d, e, mf, p, K, m = 4, 2, 8, 6, 16, 1, 2, 12
g = rng(29)


def f64(x):
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x)


def layer(name, *, kernel, causal, proj=False, state=False, packed=False,
          lengths=False, seqs=1):
    """A function around one flt.attention; B and L dynamic."""
    Q = ttype((1, H, 1, d), dynamic=(0, 2))
    KV = ttype((1, HKV, 1, d), dynamic=(0, 2))
    V = ttype((1, HKV, 1, e), dynamic=(0, 2))
    O = ttype((1, H, 1, e), dynamic=(0, 2))
    R = ttype((1, 1, p), dynamic=(0, 1))
    XI, THETA = ttype((H, mf, p)), ttype((H, (p + 2) * K))
    feats = (m if proj else d) * 2 * mf
    T = ttype((seqs, H, feats, e), dynamic=(0,))
    Z = ttype((seqs, H, feats), dynamic=(0,))
    args = [("q", Q), ("k", KV), ("v", V), ("r", R), ("xi", XI),
            ("theta", THETA)]
    operands = "%q, %k, %v, %r, %xi, %theta"
    if proj:
        args.append(("w", ttype((H, m, d))))
        operands += " proj(%w)"
    if state:
        args += [("t0", T), ("z0", Z)]
        operands += " state(%t0, %z0)"
    if packed:
        args.append(("cu", ttype((1,), "i32", dynamic=(0,))))
        operands += " packed(%cu)"
    if lengths:
        args.append(("n", ttype((1,), "i32", dynamic=(0,))))
        operands += " lengths(%n)"
    attrs = (f"{{kernel = #flt.kernel<{kernel}>, spectrum = "
             f"#flt.spectrum<gaussian_mixture>, causal = "
             f"{str(causal).lower()}}}")
    results = [("%o", O)] + ([("%t", T), ("%z", Z)] if state else [])
    lhs = ", ".join(v for v, _ in results)
    body = [f"{lhs} = flt.attention {operands} {attrs} : "
            f"{', '.join(t for _, t in args)} -> "
            f"{', '.join(t for _, t in results)}"]
    return func(name, args, body, results)


lib = Library([
    layer("gqa_relu", kernel="relu", causal=True),
    layer("gqa_favor", kernel="favor_pos", causal=False, proj=True),
    layer("state_relu", kernel="relu", causal=True, state=True),
    layer("packed_relu", kernel="relu", causal=False, state=True,
          packed=True),
    layer("lengths_relu", kernel="relu", causal=True, lengths=True),
])
xi = normal(g, (H, mf, p))
theta = mixture_theta(g, H, p, K)
w = normal(g, (H, m, d)) * 0.3


def inputs(B, L):
    q = normal(g, (B, H, L, d)) * 0.5
    k = normal(g, (B, HKV, L, d)) * 0.5
    v = normal(g, (B, HKV, L, e))
    r = g.uniform(0, 2, (B, L, p)).astype(np.float32)
    return q, k, v, r


def reference(q, k, v, r, kernel, causal, proj=False, **kw):
    return ref.attention(q, k, v, r, xi, theta, kernel, "gaussian_mixture",
                         w=w if proj else None, causal=causal, **kw)


for name, kernel, causal, proj in [("gqa_relu", "relu", True, False),
                                   ("gqa_favor", "favor_pos", False, True)]:
    q, k, v, r = inputs(2, 77)
    args = [q, k, v, r, xi, theta] + ([w] if proj else [])
    check(f"{name} (H={H}, H_kv={HKV})", lib.run(name, args)[0],
          f64(reference(q, k, v, r, kernel, causal, proj)))

# Chunked causal prefill, then one-token steps, against one run without a
# state. (A random T0, z0 would stand for no real prefix: with signed
# positional features its read-out can cancel to a near-zero denominator,
# an ill-conditioned test.)
B, L, feats = 2, 140, d * 2 * mf
q, k, v, r = inputs(B, L)
t0 = np.zeros((B, H, feats, e), np.float32)
z0 = np.zeros((B, H, feats), np.float32)
full = [f64(x) for x in reference(q, k, v, r, "relu", True,
                                  state=(t0, z0))]
rows, t, z = [], t0, z0
for lo, hi in [(0, 70), (70, 137), (137, 138), (138, 139), (139, 140)]:
    out, t, z = lib.run("state_relu", [q[:, :, lo:hi], k[:, :, lo:hi],
                                       v[:, :, lo:hi], r[:, lo:hi], xi,
                                       theta, t, z], results=3)
    rows.append(out)
check("state_relu chunks = one run (rows)", np.concatenate(rows, axis=2),
      full[0])
check("state_relu chunks = one run (T)", t, full[1])
check("state_relu chunks = one run (z)", z, full[2])

# Packed sequences (positions restart per sequence, as a user gives them).
cu = [0, 3, 50, 51, 96]
q, k, v, r = inputs(1, cu[-1])
N = len(cu) - 1
# Each sequence continues from its own prefix's state (the reference's).
prefix = inputs(N, 20)
_, t0, z0 = (f64(x) for x in reference(*prefix, "relu", True,
                                         state=(np.zeros((N, H, feats, e)),
                                                np.zeros((N, H, feats)))))
t0, z0 = t0.astype(np.float32), z0.astype(np.float32)
want = [f64(x) for x in reference(q, k, v, r, "relu", False, state=(t0, z0),
                                  cu_seqlens=cu)]
got = lib.run("packed_relu", [q, k, v, r, xi, theta, t0, z0,
                              np.array(cu, np.int32)], results=3)
for label, out, expected in zip("oTz", got, want):
    check(f"packed_relu {label} cu_seqlens={cu}", out, expected)

# Padding.
n = [60, 1, 33]
q, k, v, r = inputs(len(n), 60)
check(f"lengths_relu lengths={n}",
      lib.run("lengths_relu", [q, k, v, r, xi, theta,
                               np.array(n, np.int32)])[0],
      f64(reference(q, k, v, r, "relu", True, lengths=n)))

# favor_pos with state: one clean diagnostic (a GPU host replaying the
# bundle has no flt-opt).
if not REPLAYING:
    source = f"{lib.dir}/favor_state.mlir"
    with open(source, "w") as f:
        f.write(layer("favor_state", kernel="favor_pos", causal=True,
                      proj=True, state=True))
    done = subprocess.run([tool("flt-opt"), source], capture_output=True,
                          text=True)
    expect("favor_pos with state is refused",
           done.returncode != 0 and "kernel favor_pos" in done.stderr and
           "share a scale" in done.stderr, done.stderr.strip()[:300])
finish()
