# flt.runtime, the Python runtime that needs no MLIR, on compiled libraries
# (RPE-masked linear attention in f32 and bf16, a dynamic length): numpy
# arrays in and out; with a CUDA library also DeviceArrays (module.to_device,
# results that are the kernels' own buffers) and, where torch has CUDA,
# torch CUDA tensors in and out, without a copy through the host. Every
# result against the float64 reference.
# REQUIRES: python-bindings
# RUN: %python %s

import numpy as np

import flt_harness as harness
from flt import reference
from flt_harness import (Library, check, expect, finish, func, normal,
                         positive, rng, rounded, ttype)

if harness.run_under_driver_double():
    finish()
    raise SystemExit(0)

import flt.runtime  # noqa: E402 (after the rerun: it loads libcuda)

H, m, r, e = 2, 12, 10, 20


def linear_attention(name, dtype):
    FQ, V = ttype((1, H, 1, m), dtype, (2,)), ttype((1, H, 1, e), dtype, (2,))
    P = ttype((1, H, 1, r), dynamic=(2,))
    types = f"{FQ}, {FQ}, {V}, {P}, {P}"
    body = [f"%o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : "
            f"{types} -> {V}"]
    return func(name, [("fq", FQ), ("fk", FQ), ("v", V), ("phi", P),
                       ("psi", P)], body, [("%o", V)])



library = Library([linear_attention("la_f32", "f32"),
                   linear_attention("la_bf16", "bf16")])
module = flt.runtime.load(library.path)
g = rng(11)
L = 300
inputs = [positive(g, (1, H, L, m)), positive(g, (1, H, L, m)),
          normal(g, (1, H, L, e)), positive(g, (1, H, L, r)),
          positive(g, (1, H, L, r))]
halves = [rounded(x, "bf16") for x in inputs[:3]] + inputs[3:]
expected = {"f32": reference.linear_attention(*inputs),
            "bf16": reference.linear_attention(*halves)}
arguments = {"f32": inputs, "bf16": halves}

for dtype in ("f32", "bf16"):
    out = module[f"la_{dtype}"](*arguments[dtype])
    check(f"{dtype} numpy arrays ({module.target} library)", out,
          expected[dtype], dtype)

if module.target == "cuda":
    for dtype in ("f32", "bf16"):
        device = [module.to_device(a, dtype if i < 3 else "f32")
                  for i, a in enumerate(arguments[dtype])]
        out = module[f"la_{dtype}"](*device)
        expect(f"{dtype} DeviceArrays give a DeviceArray",
               isinstance(out, flt.runtime.DeviceArray) and
               out.shape == expected[dtype].shape and out.dtype == dtype)
        check(f"{dtype} DeviceArrays", out.numpy(), expected[dtype], dtype)
    try:
        import torch
        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if not cuda:
        print("SKIPPED: torch CUDA tensors (no torch with CUDA here)")
    else:
        for dtype, torch_type in (("f32", torch.float32),
                                  ("bf16", torch.bfloat16)):
            tensors = [torch.from_numpy(a).cuda() for a in arguments[dtype]]
            tensors[:3] = [t.to(torch_type) for t in tensors[:3]]
            out = module[f"la_{dtype}"](*tensors)
            expect(f"{dtype} torch CUDA tensors give one",
                   isinstance(out, torch.Tensor) and out.is_cuda and
                   out.dtype == torch_type)
            check(f"{dtype} torch CUDA tensors",
                  out.float().cpu().numpy(), expected[dtype], dtype)
finish()
