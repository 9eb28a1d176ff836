//===- GPUMapping.h - scf.forall mappings of the GPU lowering ---*- C++ -*-===//
//
// The mapping attributes that mark an scf.forall as a loop over thread
// blocks. flt-map-forall-to-blocks and flt-distribute-to-threads both set
// them; a mapped forall is kept by
// canonicalization even when it has one iteration, so the body of a
// per-(batch, head) loop stays one kernel at B = H = 1.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CODEGEN_COMMON_GPUMAPPING_H
#define FLT_CODEGEN_COMMON_GPUMAPPING_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::flt {

/// Maps dimension i of `forall` to the linearized block id
/// #gpu.block<linear_dim_i>.
inline void mapToLinearBlocks(scf::ForallOp forall) {
  MLIRContext *context = forall.getContext();
  SmallVector<Attribute> mapping;
  for (unsigned i = 0, e = forall.getRank(); i < e; ++i)
    mapping.push_back(gpu::GPUBlockMappingAttr::get(
        context, static_cast<gpu::MappingId>(
                     static_cast<unsigned>(gpu::MappingId::LinearDim0) + i)));
  forall.setMappingAttr(ArrayAttr::get(context, mapping));
}

/// Whether `forall` is a loop over thread blocks.
inline bool isBlockLoop(scf::ForallOp forall) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  return mapping && !mapping->empty() &&
         isa<gpu::GPUBlockMappingAttr>((*mapping)[0]);
}

} // namespace mlir::flt

#endif // FLT_CODEGEN_COMMON_GPUMAPPING_H
