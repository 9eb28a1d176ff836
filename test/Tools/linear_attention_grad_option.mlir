// --linear-attention-grad: the fused backward is a CPU lowering; an unknown
// value is one error naming the choices.
// RUN: not flt-compile %s --gradients --target=cuda --linear-attention-grad=fused -o %t.so 2>&1 | FileCheck %s --check-prefix=GPU
// RUN: not flt-compile %s --gradients --linear-attention-grad=sideways -o %t.so 2>&1 | FileCheck %s --check-prefix=VALUE
// RUN: flt-compile %s --gradients --linear-attention-grad=fused -o %t.so && flt-run %t.so --list | FileCheck %s --check-prefix=LIST

// GPU: error: {{.*}}--linear-attention-grad=fused is for --target=cpu
// VALUE: error: unknown linear-attention-grad 'sideways' (supported: auto, fused, decomposed)
// LIST: la_vjp

func.func @la(%fq: tensor<1x2x?x4xf32>, %fk: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x3xf32>) -> tensor<1x2x?x3xf32> {
  %o = flt.linear_attention %fq, %fk, %v : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x3xf32> -> tensor<1x2x?x3xf32>
  return %o : tensor<1x2x?x3xf32>
}
