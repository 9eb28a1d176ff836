# flt.feature_map, every kernel, compiled and run against the float64
# reference; dynamic B and L, m != d, f16 input.
# RUN: %python %s

import numpy as np
from flt import reference
from flt_harness import Library, check, finish, func, normal, rng, ttype

H, d, m = 2, 8, 12
X = ttype((1, H, 1, d), dynamic=(0, 2))
XH = ttype((1, H, 1, d), "f16", dynamic=(0, 2))
W = ttype((H, m, d))
F = ttype((1, H, 1, m), dynamic=(0, 2))


def feature(name, kernel, attrs="", proj=False, xt=X, rt=None):
    rt = rt or (F if proj else xt)
    args = [("x", xt)] + ([("w", W)] if proj else [])
    operands = "%x, %w" if proj else "%x"
    types = f"{xt}, {W}" if proj else xt
    body = [f"%f = flt.feature_map {operands} {{kernel = #flt.kernel<{kernel}>"
            f"{attrs}}} : {types} -> {rt}"]
    return func(name, args, body, [("%f", rt)])


lib = Library([
    feature("identity", "identity"),
    feature("relu", "relu", ", eps = 1.0e-2 : f32"),
    feature("relu_proj", "relu", proj=True),
    feature("elu", "elu_plus_one", ", eps = 1.0e-3 : f32"),
    feature("favor_query", "favor_pos", ", is_query = true", proj=True),
    feature("favor_key", "favor_pos", ", eps = 1.0e-4 : f32", proj=True),
    feature("relu_f16", "relu", xt=XH),
])

g = rng(1)
w = normal(g, (H, m, d))
for B, L in [(1, 1), (2, 7), (1, 129), (1, 1000)]:
    x = normal(g, (B, H, L, d))
    shape = f"B={B} L={L}"
    check(f"identity {shape}", lib.run("identity", [x])[0],
          reference.feature_map(x, "identity"))
    check(f"relu {shape}", lib.run("relu", [x])[0],
          reference.feature_map(x, "relu", eps=1e-2))
    check(f"relu+w {shape}", lib.run("relu_proj", [x, w])[0],
          reference.feature_map(x, "relu", w))
    check(f"elu+1 {shape}", lib.run("elu", [x])[0],
          reference.feature_map(x, "elu_plus_one", eps=1e-3))
    check(f"favor+ query {shape}", lib.run("favor_query", [x, w])[0],
          reference.feature_map(x, "favor_pos", w, is_query=True))
    check(f"favor+ key {shape}", lib.run("favor_key", [x, w])[0],
          reference.feature_map(x, "favor_pos", w, eps=1e-4))
    xh = x.astype(np.float16)
    check(f"relu f16 {shape}", lib.run("relu_f16", [xh])[0],
          reference.feature_map(xh, "relu"), "f16")
finish()
