//===- SetKernelOccupancy.cpp - flt-set-kernel-occupancy ------------------===//
//
// Tells ptxas how many blocks of each kernel must fit on an SM, so that it
// budgets registers for that and not for more. See Passes.td for the
// contract and an example.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTSETKERNELOCCUPANCY
#include "flt/Codegen/GPU/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;

namespace {

/// 32-bit registers of one SM (sm_70 .. sm_90).
constexpr int64_t kRegistersPerSM = 64 * 1024;

struct FLTSetKernelOccupancyPass
    : mlir::flt::impl::FLTSetKernelOccupancyBase<FLTSetKernelOccupancyPass> {
  using FLTSetKernelOccupancyBase::FLTSetKernelOccupancyBase;

  void runOnOperation() override {
    if (registersPerThread < 1 || registersPerThread > 255) {
      getOperation().emitError("flt-set-kernel-occupancy: "
                               "registers-per-thread must be in [1, 255], "
                               "got ")
          << static_cast<int64_t>(registersPerThread);
      return signalPassFailure();
    }
    getOperation().walk([&](gpu::GPUFuncOp kernel) {
      std::optional<ArrayRef<int32_t>> blockSize = kernel.getKnownBlockSize();
      if (!kernel.isKernel() || !blockSize)
        return;
      int64_t threads = 1;
      for (int32_t size : *blockSize)
        threads *= size;
      int64_t blocks = std::max<int64_t>(1, kRegistersPerSM /
                                                (threads * registersPerThread));
      kernel->setAttr(
          NVVM::NVVMDialect::getMinctasmAttrName(),
          IntegerAttr::get(IntegerType::get(&getContext(), 32), blocks));
    });
  }
};

} // namespace
