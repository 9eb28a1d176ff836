// Token and batch sizes may be 0: statically empty results lower to an
// empty tensor, and zero keys give rows of zeros (docs/Semantics.md: a row whose every
// score is zero yields zeros; 0 / (0 + eps) = 0).
// RUN: split-file %s %t
// RUN: flt-compile %t/empty.mlir -o %t/empty.so
// RUN: %python %t/run.py %t/empty.so %t | FileCheck %s
// CHECK: empty_length 0 (1, 1, 0, 3)
// CHECK: empty_batch 0 (0, 0, 5, 2)
// CHECK: no_keys 0 (1, 1, 3, 2) 0.0 (1, 1, 3, 2) 0.0

//--- empty.mlir
func.func @empty_length(%q: tensor<1x1x0x4xf32>, %v: tensor<1x1x0x3xf32>) -> tensor<1x1x0x3xf32> {
  %o = flt.linear_attention %q, %q, %v {causal = true} : tensor<1x1x0x4xf32>, tensor<1x1x0x4xf32>, tensor<1x1x0x3xf32> -> tensor<1x1x0x3xf32>
  return %o : tensor<1x1x0x3xf32>
}
func.func @empty_batch(%q: tensor<0x0x5x2xf32>) -> tensor<0x0x5x2xf32> {
  %o = flt.kernel_attention %q, %q, %q : tensor<0x0x5x2xf32>, tensor<0x0x5x2xf32>, tensor<0x0x5x2xf32> -> tensor<0x0x5x2xf32>
  return %o : tensor<0x0x5x2xf32>
}
func.func @no_keys(%q: tensor<1x1x3x2xf32>, %k: tensor<1x1x0x2xf32>) -> (tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) {
  %o = flt.kernel_attention %q, %k, %k : tensor<1x1x3x2xf32>, tensor<1x1x0x2xf32>, tensor<1x1x0x2xf32> -> tensor<1x1x3x2xf32>
  %l = flt.linear_attention %q, %k, %k : tensor<1x1x3x2xf32>, tensor<1x1x0x2xf32>, tensor<1x1x0x2xf32> -> tensor<1x1x3x2xf32>
  return %o, %l : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>
}
//--- run.py
import os
import subprocess
import sys

import numpy as np

library, work = sys.argv[1], sys.argv[2]


def run(function, arrays, outputs=1):
    args = [os.path.join(os.environ["FLT_TOOLS_DIR"], "flt-run"), library,
            f"--function={function}"]
    for i, a in enumerate(arrays):
        np.save(f"{work}/in{i}.npy", a)
        args.append(f"--input={work}/in{i}.npy")
    args += [f"--output={work}/out{i}.npy" for i in range(outputs)]
    done = subprocess.run(args, capture_output=True, text=True)
    results = [np.load(f"{work}/out{i}.npy") for i in range(outputs)]
    print(function, done.returncode,
          " ".join(f"{r.shape} {float(np.abs(r).max()) if r.size else 0}"
                   if outputs > 1 else str(r.shape) for r in results))


ones = lambda *shape: np.ones(shape, np.float32)
run("empty_length", [ones(1, 1, 0, 4), ones(1, 1, 0, 3)])
run("empty_batch", [ones(0, 0, 5, 2)])
run("no_keys", [ones(1, 1, 3, 2), ones(1, 1, 0, 2)], 2)
