// Tensor cores in flt-compile --target=cuda: the matrix products of a bf16
// layer (linear attention's state and query products, softmax attention's
// QKᵀ and PV) are mma.sync m16n8k16 on bf16 with f32 accumulation; an f16
// layer gets the f16 form; f32 layers keep f32 SIMT arithmetic unless
// --allow-tf32 asks for TF32 (m16n8k8); chips before sm_80 have no mma.
// RUN: flt-compile %s --target=cuda --linear-attention-form=linear --emit=ptx -o %t.bf16.ptx
// RUN: FileCheck %s --check-prefix=BF16 < %t.bf16.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90 -v %t.bf16.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: sed 's/bf16/f16/g' %s > %t.f16.mlir
// RUN: flt-compile %t.f16.mlir --target=cuda --linear-attention-form=linear --emit=ptx -o %t.f16.ptx
// RUN: FileCheck %s --check-prefix=F16 < %t.f16.ptx
// RUN: sed 's/bf16/f32/g' %s > %t.f32.mlir
// RUN: flt-compile %t.f32.mlir --target=cuda --linear-attention-form=linear --emit=ptx -o %t.f32.ptx
// RUN: FileCheck %s --check-prefix=F32 < %t.f32.ptx
// RUN: flt-compile %t.f32.mlir --target=cuda --linear-attention-form=linear --emit=ptx --allow-tf32 -o %t.tf32.ptx
// RUN: FileCheck %s --check-prefix=TF32 < %t.tf32.ptx
// RUN: flt-compile %s --target=cuda --linear-attention-form=linear --cuda-chip=sm_75 --emit=ptx -o %t.sm75.ptx
// RUN: FileCheck %s --check-prefix=SM75 < %t.sm75.ptx

// Linear attention: the per-key-block states (the key-feature state m x r
// and the state fkᵀ (psi ⊗ v) per group of positional features), their sum
// over blocks (additions only), the query normalizer and output products;
// then softmax attention's two products below the diagonal and the scores
// of the diagonal tile (its product with v skips the masked pairs, which a
// tensor core cannot: it runs on threads).
// BF16-LABEL: .visible .entry __flt_fn_la_kernel(
// BF16-COUNT-2: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// BF16-LABEL: .visible .entry __flt_fn_la_kernel_0(
// BF16-NOT: mma.sync
// BF16-LABEL: .visible .entry __flt_fn_la_kernel_1(
// BF16-COUNT-2: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// BF16-LABEL: .visible .entry __flt_fn_ka_kernel(
// BF16-COUNT-3: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// Causal linear attention in blocks: the per-block states (2 products),
// the prefix over blocks (additions only), the chunk walks (read-out 2,
// the scores of the quadratic form inside a chunk 2, the state update 2;
// the masked product with v runs on threads).
// BF16-LABEL: .visible .entry __flt_fn_lac_kernel(
// BF16-COUNT-2: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// BF16-LABEL: .visible .entry __flt_fn_lac_kernel_2(
// BF16-NOT: mma.sync
// BF16-LABEL: .visible .entry __flt_fn_lac_kernel_3(
// BF16-COUNT-6: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// BF16-NOT: mma.sync

// No local-memory spills or stack in any kernel (flt-set-kernel-occupancy
// gives ptxas a budget of 128 registers: without it, .maxntid 256 alone
// makes ptxas cap the causal walk at 80 and spill).
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill
// PTXAS-COUNT-7: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// F16-COUNT-15: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// F16-NOT: mma.sync

// F32-NOT: mma.sync

// TF32-COUNT-15: mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
// TF32-NOT: mma.sync

// SM75: .target sm_75
// SM75-NOT: mma.sync

func.func @la(%fq: tensor<1x8x?x64xbf16>, %fk: tensor<1x8x?x64xbf16>, %v: tensor<1x8x?x64xbf16>, %phi: tensor<1x8x?x32xf32>, %psi: tensor<1x8x?x32xf32>) -> tensor<1x8x?x64xbf16> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xbf16>
  return %o : tensor<1x8x?x64xbf16>
}

func.func @ka(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x8x?x64xbf16>, %v: tensor<1x8x?x64xbf16>) -> tensor<1x8x?x64xbf16> {
  %o = flt.kernel_attention %q, %k, %v {kernel = #flt.pair_kernel<softmax>, causal = true} : tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16> -> tensor<1x8x?x64xbf16>
  return %o : tensor<1x8x?x64xbf16>
}

func.func @lac(%fq: tensor<1x8x?x64xbf16>, %fk: tensor<1x8x?x64xbf16>, %v: tensor<1x8x?x64xbf16>, %phi: tensor<1x8x?x32xf32>, %psi: tensor<1x8x?x32xf32>) -> tensor<1x8x?x64xbf16> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {causal = true} : tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xbf16>
  return %o : tensor<1x8x?x64xbf16>
}
