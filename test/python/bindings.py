# The flt Python package: parse / verify / print, pipelines, diagnostics as
# CompileError, compile and call with argument checks.
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s

import numpy as np

import flt

# CHECK: func.func @f(%arg0: tensor<4xf32>) -> tensor<4xf32>
m = flt.ir.parse("func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> "
                 "{ return %a : tensor<4xf32> }")
print(m)
# CHECK: "func.func"
print(m.generic().splitlines()[1].strip()[:11])

# Verifier errors carry the location and the op's message.
bad = """func.func @f(%x: tensor<1x8x?x64xf32>, %w: tensor<4x128x64xf32>) -> tensor<1x8x?x128xf32> {
  %0 = flt.feature_map %x, %w {kernel = #flt.kernel<relu>} : tensor<1x8x?x64xf32>, tensor<4x128x64xf32> -> tensor<1x8x?x128xf32>
  return %0 : tensor<1x8x?x128xf32>
}"""
try:
    flt.ir.parse(bad, "bad.mlir")
    raise SystemExit("no error")
except flt.CompileError as e:
    d = e.diagnostics[0]
    # CHECK: bad.mlir 2 8 'flt.feature_map' op
    print(d.file, d.line, d.column, d.message.split(" op ")[0], "op")
for text in ["func.func @f(", "not ir at all", ""]:
    try:
        flt.compile(text)
        raise SystemExit("no error for " + repr(text))
    except flt.CompileError as e:
        # CHECK-COUNT-3: error:
        print(str(e.diagnostics[0]).split("\n")[0])

# A bad pipeline is a CompileError too.
try:
    m.run_pipeline("no-such-pass")
    raise SystemExit("no error")
except flt.CompileError as e:
    # CHECK: invalid pass pipeline 'no-such-pass'
    print(e.summary.split(":")[0])

# Pipelines return new modules.
layer = flt.ops.attention_layer(batch=1, heads=2, length=None, head_dim=8,
                                num_frequencies=4)
decomposed = layer.run_pipeline("flt-decompose")
# CHECK: flt.linear_attention
print([n for n in decomposed.operation_names() if n == "flt.linear_attention"][0])

# Compile and call; errors name the argument.
kernels = flt.compile(layer, arg_names={"main": ["q", "k", "v", "r", "xi",
                                                  "theta"]})
rng = np.random.default_rng(0)
L = 13
q, k, v = (rng.standard_normal((1, 2, L, 8)).astype(np.float32)
           for _ in range(3))
r = rng.uniform(0, 0.2, (1, L, 1)).astype(np.float32)
xi = rng.standard_normal((2, 4, 1)).astype(np.float32)
theta = np.concatenate([rng.uniform(0, 1, (2, 1)), rng.normal(0, 0.1, (2, 2))],
                       1).astype(np.float32)
out = kernels.main(q, k, v, r, xi, theta)
ok, rms, peak = flt.reference.compare(
    out, flt.reference.attention(q, k, v, r, xi, theta, "relu",
                                 "gaussian_mixture"))
assert ok, (rms, peak)
# CHECK: attention ok (1, 2, 13, 8)
print("attention ok", out.shape)

for args, expected in [
        ((q.astype(np.float64), k, v, r, xi, theta), "argument 0 ('q')"),
        ((q, k[:, :1], v, r, xi, theta), "argument 1 ('k')"),
        ((q, k, v[:, :, :5], r, xi, theta), None),
        ((q, k, v, r), "takes 6 arguments"),
        ((q, k, v, r, xi, [1.0]), "argument 5 ('theta')")]:
    try:
        kernels.main(*args)
        raise SystemExit("no error")
    except ValueError as e:
        assert expected is None or expected in str(e), str(e)
        # CHECK-COUNT-5: ValueError
        print("ValueError:", str(e).splitlines()[0][:60])
try:
    kernels.nothing
except AttributeError as e:
    # CHECK: has no function 'nothing'
    print(e)
# CHECK: unknown option
try:
    flt.compile(layer, tile=3)
except TypeError as e:
    print(e)
