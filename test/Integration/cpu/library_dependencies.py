# Compiled libraries reference only libc, libm and the OpenMP runtime: no
# MLIR runtime (memrefCopy, _mlir_*), no soft-float builtins (__truncsfbf2,
# __truncdfbf2, __extend*) — for the native CPU and for an AVX2-only one, on
# a module that uses every op with f16 and bf16 data.
# RUN: %python %s

import subprocess

from flt_harness import Library, expect, finish, func, ttype

Q16, QB = ttype((1, 2, 1, 8), "f16", (2,)), ttype((1, 2, 1, 8), "bf16", (2,))
T = ttype((2, 1), dynamic=(1,))
functions = [
    func("toeplitz_fft_bf16", [("q", QB), ("v", QB), ("b", T)],
         [f"%o = flt.toeplitz_attention %q, %q, %v, %b {{method = "
          f"#flt.toeplitz_method<fft>}} : {QB}, {QB}, {QB}, {T} -> {QB}"],
         [("%o", QB)]),
    func("softmax_f16", [("q", Q16)],
         [f"%o = flt.kernel_attention %q, %q, %q : {Q16}, {Q16}, {Q16} -> {Q16}"],
         [("%o", Q16)]),
    func("rotary_bf16", [("q", QB), ("t", ttype((2, 4)))],
         [f"%o = flt.position_transform %q, %t {{core = #flt.lrpe_core<rotary>}}"
          f" : {QB}, {ttype((2, 4))} -> {QB}"], [("%o", QB)]),
    func("elu_bf16", [("q", QB)],
         [f"%o = flt.feature_map %q {{kernel = #flt.kernel<elu_plus_one>}} : "
          f"{QB} -> {QB}"], [("%o", QB)]),
]
for cpu in ("native", "x86-64-v3"):
    # The shipping configuration (sanitizer builds instrument by default).
    lib = Library(functions, flags=[f"--cpu={cpu}", "--sanitize-address=false"])
    symbols = subprocess.run(
        ["/usr/lib/llvm-22/bin/llvm-nm", "-D", "--undefined-only", lib.path],
        capture_output=True, text=True, check=True).stdout.split()
    bad = [s for s in symbols if s.startswith(("__trunc", "__extend",
                                                "memrefCopy", "_mlir"))]
    expect(f"{cpu}: no runtime builtins", not bad, f"({', '.join(bad)})")
finish()
