// flt-compile --target=cuda on RPE-masked linear attention: three kernels
// (the states of blocks of keys, their sum, then the queries), operands
// staged in shared memory, no register spills; the library embeds an sm_90
// cubin.
// RUN: flt-compile %s --target=cuda --linear-attention-form=linear --emit=ptx -o %t.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90 -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: flt-compile %s --target=cuda --linear-attention-form=linear --emit=mlir -o %t.mlir
// RUN: FileCheck %s --check-prefix=BINARY < %t.mlir
// RUN: flt-compile %s --target=cuda --linear-attention-form=linear -o %t.so
// RUN: flt-opt %s --flt-gpu-pipeline=linear-attention-form=linear --mlir-print-ir-after=flt-map-to-gpu -o /dev/null 2>&1 | FileCheck %s --check-prefix=MAP
// RUN: %python %S/Inputs/embedded_cubins.py %t.so | FileCheck %s --check-prefix=SO

// PTX: .target sm_90
// PTX: .shared .align 16 .b8 __dynamic_shmem__0
// The key, feature and value tiles (then the query tiles) are written to
// and read from shared memory inside the kernels.
// PTX-LABEL: .visible .entry __flt_fn_la_kernel(
// PTX: st.shared.b32
// PTX: ld.shared.b32
// PTX-LABEL: .visible .entry __flt_fn_la_kernel_0(
// PTX-LABEL: .visible .entry __flt_fn_la_kernel_1(
// PTX: st.shared.b32
// PTX: ld.shared.b32
// PTX-NOT: .visible .entry

// The state kernel keeps everything a block touches in shared memory (no
// global scratch): the state slice in groups of 16 positional features
// ([64, 32 / 16, 16 · 8 columns], 64 KiB), the value block of a group
// ([32 tokens, 16, 8 columns], 16 KiB) and the staged tiles, 101 KiB in
// all, so that two blocks share an SM. Its positional loop has 32 / 16
// steps.
// MAP-NOT:   gpu.alloc{{.*}}xi8>
// MAP:       gpu.launch {{.*}} dynamic_shared_memory_size %c103424_i32
// MAP:         memref.view {{.*}} to memref<64x2x128xf32, #gpu.address_space<workgroup>>
// MAP:         memref.view {{.*}} to memref<32x16x8xf32, #gpu.address_space<workgroup>>
// MAP:         scf.for %{{.+}} = %c0 to %c2 step %c1
// MAP:       gpu.launch
// MAP-NOT:   gpu.alloc{{.*}}xi8>

// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill
// PTXAS-COUNT-3: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// BINARY: llvm.func @__flt_fn_la(
// BINARY: gpu.binary @__flt_fn_la_kernel {{ *}}[#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{.*}}bin = "\7FELF
// BINARY-NOT: gpu.binary

// SO: cubin sm_90
// SO-NOT: cubin

func.func @la(%fq: tensor<1x8x?x64xf32>, %fk: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>, %phi: tensor<1x8x?x32xf32>, %psi: tensor<1x8x?x32xf32>) -> tensor<1x8x?x64xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}
