//===- PipelineStages.cpp - stages both flt pipelines share ---------------===//
//
// The target-independent front of flt-cpu-pipeline and flt-gpu-pipeline:
// flt ops -> fused linalg loop nests on tensors, and tensors -> buffers.
// The targets differ only in the tile sizes they pass in.
//
//===----------------------------------------------------------------------===//

#include "flt/Pipelines/Pipelines.h"

#include "flt/Conversion/Passes.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::flt;

void mlir::flt::addFLTToLinalgStage(OpPassManager &pm, bool raiseAttention,
                                    bool fuseKronecker,
                                    const LinalgTiles &tiles) {
  if (raiseAttention)
    pm.addNestedPass<func::FuncOp>(createFLTRaiseAttention());
  pm.addPass(createFLTDecompose());
  FLTConvertToLinalgOptions lowering;
  lowering.fuseKronecker = fuseKronecker;
  lowering.tokenTile = tiles.tokenTile;
  lowering.valueSlice = tiles.valueSlice;
  lowering.rowMultiple = tiles.rowMultiple;
  lowering.columnMultiple = tiles.columnMultiple;
  lowering.keyBlocks = tiles.keyBlocks;
  lowering.featureGroup = tiles.featureGroup;
  lowering.positionalGroup = tiles.positionalGroup;
  lowering.fftLanes = tiles.fftLanes;
  lowering.mapToBlocks = tiles.mapToBlocks;
  lowering.linearAttentionForm = tiles.linearAttentionForm;
  lowering.quadraticFlopCost = tiles.quadraticFlopCost;
  lowering.causalWalkFlopCost = tiles.causalWalkFlopCost;
  pm.addPass(createFLTConvertToLinalg(lowering));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (fuseKronecker) {
    // Feature maps and spectral features are formed per tile of tokens.
    pm.addPass(createFLTFuseIntoTiles());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }
}

void mlir::flt::addBufferizationStage(OpPassManager &pm) {
  // Function arguments are read-only: a kernel never writes into its
  // caller's inputs.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  // Tile buffers are loop invariant: allocate them once per parallel
  // iteration (CPU thread, GPU block), not per tile.
  pm.addNestedPass<func::FuncOp>(bufferization::createBufferLoopHoistingPass());
  bufferization::BufferDeallocationPipelineOptions deallocation;
  bufferization::buildBufferDeallocationPipeline(pm, deallocation);
  // A result that aliases an argument was cloned (results are owned by the
  // caller); clones become alloc + copy.
  pm.addPass(createConvertBufferizationToMemRefPass());
}
