//===- PipelineStages.cpp - stages both flt pipelines share ---------------===//
//
// The target-independent front of flt-cpu-pipeline and flt-gpu-pipeline:
// flt ops -> fused linalg loop nests on tensors, and tensors -> buffers.
// The targets differ only in the TargetConfig they pass in.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/Common/Passes.h"

#include "flt/Conversion/Passes.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::flt;

void mlir::flt::addFLTToLinalgStage(OpPassManager &pm,
                                    const TargetConfig &config) {
  if (config.raiseAttention)
    pm.addNestedPass<func::FuncOp>(createFLTRaiseAttention());
  pm.addPass(createFLTDecompose());
  // The unfused reference pipeline always runs the linear form: it is what
  // benchmarks compare the fused one with.
  FLTSelectAlgorithmOptions algorithms;
  algorithms.linearAttentionForm =
      config.tiles.fuseKronecker ? config.costs.linearAttentionForm : "linear";
  algorithms.linearAttentionGrad = config.costs.linearAttentionGrad;
  algorithms.quadraticFlopCost = config.costs.quadraticFlopCost;
  algorithms.causalWalkFlopCost = config.costs.causalWalkFlopCost;
  algorithms.toeplitzDirectCost = config.costs.toeplitzDirectCost;
  algorithms.toeplitzFFTCost = config.costs.toeplitzFFTCost;
  pm.addPass(createFLTSelectAlgorithm(algorithms));

  const LoweringTiles &tiles = config.tiles;
  FLTConvertToLinalgOptions lowering;
  lowering.fuseKronecker = tiles.fuseKronecker;
  lowering.tokenTile = tiles.tokenTile;
  lowering.valueSlice = tiles.valueSlice;
  lowering.rowMultiple = tiles.rowMultiple;
  lowering.columnMultiple = tiles.columnMultiple;
  lowering.keyBlocks = tiles.keyBlocks;
  lowering.featureGroup = tiles.featureGroup;
  lowering.positionalGroup = tiles.positionalGroup;
  lowering.fftLanes = tiles.fftLanes;
  pm.addPass(createFLTConvertToLinalg(lowering));
  // Before any canonicalization: a block loop of one iteration must stay.
  if (config.mapToBlocks)
    pm.addPass(createFLTMapForallToBlocks());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (tiles.fuseKronecker) {
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
