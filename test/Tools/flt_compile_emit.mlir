// flt-compile's --emit modes: the lowered MLIR, optimized LLVM IR with the
// runtime entry points, the embedded description, its seal and the entry
// points' arities, an object, a library.
// RUN: flt-compile %s --emit=mlir -o - | FileCheck %s --check-prefix=MLIR
// RUN: flt-compile %s --emit=llvm -o - | FileCheck %s --check-prefix=LLVM
// RUN: flt-compile %s --emit=obj -o %t.o && llvm-nm %t.o | FileCheck %s --check-prefix=OBJ
// RUN: flt-compile %s -o %t.so && flt-run %t.so --list | FileCheck %s --check-prefix=LIST

// The module's functions get flt's prefix (so that no name of theirs is
// taken for a symbol the kernels import, e.g. malloc or expf); the ABI
// entry points keep the user's names.
// MLIR: llvm.func @_mlir_ciface___flt_fn_relu
// MLIR: llvm.func @_mlir_ciface___flt_shape_check_relu
// MLIR-NOT: flt.

// LLVM-DAG: @__flt_module_info = {{.*}}constant
// LLVM-DAG: define void @__flt_call_relu(ptr
// LLVM-DAG: define {{.*}}i64 @__flt_check_relu(ptr
// LLVM-DAG: flt-module 2
// LLVM-DAG: @__flt_module_seal = {{.*}}constant [3 x i64]
// LLVM-DAG: @__flt_arity_relu = {{.*}}constant [2 x i64] [i64 2, i64 1]

// OBJ-DAG: T __flt_call_relu
// OBJ-DAG: T __flt_check_relu
// OBJ-DAG: R __flt_module_info
// OBJ-DAG: R __flt_module_seal
// OBJ-DAG: R __flt_arity_relu

// LIST: relu(f32 [?, 2, ?, 4]) -> f32 [?, 2, ?, 4]

func.func @relu(%x: tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32> {
  %f = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %f : tensor<?x2x?x4xf32>
}
