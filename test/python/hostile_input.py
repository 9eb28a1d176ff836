# The Python compiler API on hostile input: every case is one
# flt.CompileError (or ValueError), and the interpreter lives on. Deeply
# nested text (which overflowed the parser's stack and killed the
# interpreter), devices and FIFOs as files, an unknown CPU or CUDA chip
# (LLVM ended the process), a reserved symbol name, a function nothing
# defines; errors carry the diagnostic without the IR dump unless
# FLT_PRINT_IR_ON_ERROR is set.
# REQUIRES: python-bindings
# RUN: %python %s %t

import os
import sys

import flt

work = sys.argv[1]
os.makedirs(work, exist_ok=True)


def fails(label, call, error=flt.CompileError, text=""):
    try:
        call()
    except error as e:
        assert text in str(e), f"{label}: {e}"
        print(f"PASS: {label}")
        return str(e)
    raise AssertionError(f"{label}: no {error.__name__}")


deep = "func.func private @f(" + "tuple<" * 30000 + "f32" + ">" * 30000 + ")"
fails("parse: 30000 nested types", lambda: flt.ir.parse(deep),
      text="nest deeper than 256 levels")
region = ("func.func @f() {\n" + "scf.execute_region {\n" * 30000 + "}\n" *
          30000 + "return\n}\n")
fails("parse: 30000 nested regions", lambda: flt.ir.parse(region),
      text="nest deeper than 256 levels")
fails("result types: a deeply nested type",
      lambda: flt._native.result_types(
          "flt.feature_map", {"x": "tensor<" * 5000 + "f32" + ">" * 5000},
          ""), flt._native.CompileFailure, "nest deeper than 256 levels")
fails("parse_file: /dev/zero", lambda: flt.ir.parse_file("/dev/zero"),
      text="not a regular file")
fifo = os.path.join(work, "fifo")
if not os.path.exists(fifo):
    os.mkfifo(fifo)
fails("parse_file: a FIFO", lambda: flt.ir.parse_file(fifo),
      text="not a regular file")
fails("parse_file: a missing file",
      lambda: flt.ir.parse_file(os.path.join(work, "missing.mlir")),
      text="cannot open input file")

relu = """func.func @relu(%x: tensor<1x1x4x2xf32>) -> tensor<1x1x4x2xf32> {
  %f = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<1x1x4x2xf32> -> tensor<1x1x4x2xf32>
  return %f : tensor<1x1x4x2xf32>
}"""
message = fails("compile: cpu='bogus'", lambda: flt.compile(relu, cpu="bogus"),
                text="unknown CPU 'bogus'")
assert "see current operation" not in message, message
fails("compile: cuda_chip='bogus'",
      lambda: flt.compile(relu, "cuda", cuda_chip="bogus"),
      text="unknown cuda_chip 'bogus'")
fails("compile: threads_per_block=48",
      lambda: flt.compile(relu, emulate_gpu_mapping=True,
                          threads_per_block=48),
      text="threads_per_block must be a multiple of 32")
fails("compile: threads_per_block=1", lambda: flt.compile(
    relu, threads_per_block=1), ValueError, "threads_per_block in [32, 1024]")
fails("compile: a reserved name",
      lambda: flt.compile(relu.replace("@relu", "@__flt_module_info")),
      text="reserved")
external = """func.func private @foo(%x: tensor<4xf32>) -> tensor<4xf32>
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = func.call @foo(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}"""
fails("compile: a function nothing defines", lambda: flt.compile(external),
      text="the kernels call 'foo'")

# The IR only when asked for.
os.environ["FLT_PRINT_IR_ON_ERROR"] = "1"
message = fails("compile: cpu='bogus', FLT_PRINT_IR_ON_ERROR=1",
                lambda: flt.compile(relu, cpu="bogus"), text="unknown CPU")
assert "see current operation" in message and "flt.feature_map" in message, \
    message
del os.environ["FLT_PRINT_IR_ON_ERROR"]

# Still alive, and still compiling.
kernels = flt.compile(relu)
print("PASS: the interpreter lives on")
