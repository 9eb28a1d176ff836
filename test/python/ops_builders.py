# flt.ops builds IR for every op of docs/Semantics.md; compiled results match the
# float64 reference.
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s

import numpy as np

import flt
from flt import ops, reference

rng = np.random.default_rng(1)
B, H, L, S, d, e, mf = 2, 2, 9, 7, 8, 4, 3


def normal(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def run(build, inputs, ref, name):
    b = ops.Builder(name)
    args = [b.arg(f"a{i}", x.shape) for i, x in enumerate(inputs)]
    out = build(*args)
    b.ret(*(out if isinstance(out, tuple) else (out,)))
    result = getattr(flt.compile(b.module()), name)(*inputs)
    results = result if isinstance(result, tuple) else (result,)
    refs = ref if isinstance(ref, tuple) else (ref,)
    for got, want in zip(results, refs):
        ok, rms, peak = reference.compare(got, want)
        assert ok, (name, rms, peak)
    print(name, "ok")


fq = np.abs(normal(B, H, L, d)); fk = np.abs(normal(B, H, S, d))
v = normal(B, H, S, e)
# CHECK: feature_map ok
x = normal(B, H, L, d); w = normal(H, 5, d)
run(lambda x, w: ops.feature_map(x, w, kernel="relu"), [x, w],
    reference.feature_map(x, "relu", w), "feature_map")
# CHECK: spectral ok
r = rng.uniform(0, 0.2, (B, L, 1)).astype(np.float32)
xi = normal(H, mf, 1)
theta = np.concatenate([rng.uniform(0, 1, (H, 1)),
                        rng.normal(0, 0.1, (H, 2))], 1).astype(np.float32)
rho = reference.spectral_density(theta, xi, "gaussian_mixture")
run(lambda t, x, r: ops.spectral_features(r, x, ops.spectral_density(t, x)),
    [theta, xi, r], reference.spectral_features(r, xi, rho), "spectral")
# CHECK: linear ok
run(lambda a, b, c: ops.linear_attention(a, b, c), [fq, fk, v],
    reference.linear_attention(fq, fk, v), "linear")
# CHECK: softmax ok
q, k = normal(B, H, L, d), normal(B, H, S, d)
run(lambda a, b, c: ops.kernel_attention(a, b, c, temperature=0.3),
    [q, k, v], reference.kernel_attention(q, k, v, "softmax", temperature=0.3), "softmax")
# CHECK: rotary ok
ang = normal(H, d // 2)
run(lambda x, t: ops.position_transform(x, t, core="rotary"), [x, ang],
    reference.position_transform(x, ang, "rotary"), "rotary")
# CHECK: toeplitz ok
fk2, v2 = np.abs(normal(B, H, L, d)), normal(B, H, L, e)
bias = rng.normal(0, 0.3, (H, 2 * L - 1)).astype(np.float32)
run(lambda a, b, c, t: ops.toeplitz_attention(a, b, c, t, method="fft"),
    [fq, fk2, v2, bias], reference.toeplitz_attention(fq, fk2, v2, bias),
    "toeplitz")
