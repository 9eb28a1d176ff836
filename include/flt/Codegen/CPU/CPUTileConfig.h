//===- CPUTileConfig.h - the CPU tile configuration -------------*- C++ -*-===//
//
// Every tile size the CPU pipeline uses, in one place, with the reason for
// it. Target: one AVX2 + 2 FMA core (Zen 3: 32 KiB L1d, 512 KiB L2 per core,
// 16 ymm registers of 8 floats).
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CODEGEN_CPU_CPUTILECONFIG_H
#define FLT_CODEGEN_CPU_CPUTILECONFIG_H

#include <cstdint>

namespace mlir::flt::cpu {

/// Tokens per tile of keys or queries (and per causal chunk). A key tile
/// with m = 64 features is 16 KiB, its [64 × r] Kronecker block at
/// r = 32 another 8 KiB: both stay in L1 while the block is contracted with
/// the value tile. Causal chunks do O(C²) quadratic work per chunk against
/// O(C m r e) for the state, so C = 64 keeps the quadratic part small.
constexpr int64_t kTokenTile = 64;

/// Value columns per parallel slice of the linear-attention state. The state
/// for m = 64, r = 32 is m r × slice floats: 256 KiB at 32 columns, half the
/// L2, where it stays while every key tile is folded in (docs/Design.md: split
/// the state by the value dimension, never by m r). Slices are independent, so
/// they are also the unit of thread parallelism next to batch and head.
constexpr int64_t kValueSlice = 32;

/// Register tile of the contractions, rows × 16 columns. An FMA has a
/// latency of 4 cycles and two pipes issue one per cycle each, so at least 8
/// independent accumulator registers are needed to keep them busy:
///  * AVX2 (16 ymm): 16 columns are two ymm, so 4 rows give 8 accumulators,
///    plus 2 for B's row and 1 broadcast: 11 of 16 registers.
///  * AVX-512 (32 zmm, e.g. Zen 4 / Sapphire Rapids): 16 columns are one
///    zmm, so it takes 8 rows for 8 accumulators (9 more registers spare).
/// Padded tile shapes round up to these multiples.
constexpr int64_t kRegisterRowsAVX2 = 4;
constexpr int64_t kRegisterRowsAVX512 = 8;
constexpr int64_t kRegisterColumns = 16;

/// Vectors of kRegisterColumns per accumulator row where a product's N
/// allows. AVX-512 has the registers for two: 8 rows × 2 zmm = 16
/// accumulators, 2 for B's row, 1 broadcast (19 of 32), twice the
/// independent chains and 16 FMAs per 10 loads instead of 8 per 9
/// (measured: the FLT layer's fused backward 10 % faster, its forward 11 %).
/// AVX2's 16 ymm have no room for a second: 4 rows × 2 × 2 ymm would be 16
/// accumulators alone.
constexpr int64_t kRegisterColumnVectorsAVX2 = 1;
constexpr int64_t kRegisterColumnVectorsAVX512 = 2;

/// The cost model that picks linear attention's form (flt-select-algorithm):
/// cost per FLOP, relative to the non-causal linear form, of the quadratic
/// tiled form and of the causal chunk walk. Measured with both forms on
/// 2 threads of the build machine at B = 1, H = 8, m = 64, r = 32, e = 64
/// (flt-run medians; GFLOP/s by each form's FLOP count):
///   L = 1024: linear 25.3 ms (172), quadratic 20.6 ms (131),
///             causal walk 51.1 ms (85), causal quadratic 12.3 ms (110);
///   L = 4096: linear 116 ms (151), quadratic 307 ms (141),
///             causal walk 207 ms (84), causal quadratic 161 ms (134).
/// So the quadratic form costs about 1.2× per FLOP, the causal walk 1.9×
/// (its chunks run one after another per slice), and the model switches
/// to the linear form at L ≈ 1.4k (non-causal) and L ≈ 5.2k (causal).
constexpr double kQuadraticFlopCost = 1.2;
constexpr double kCausalWalkFlopCost = 1.9;

/// The cost model that picks the Toeplitz method (flt-select-algorithm):
///   direct ≈ kToeplitzDirectSecondsPerUnit · L² (m + e)   (tiled quadratic)
///   fft    ≈ kToeplitzFFTSecondsPerUnit · m ⌈e/31⌉ N log2 N
/// (N = 2^⌈log2(2L - 1)⌉; 31 value columns and the normalizer per FFT
/// group). Fitted to both lowerings on one Zen 4 core at m = e = 64
/// (L = 4096: 100 ms direct, 236 ms fft; L = 16384: 1649 ms and 1284 ms);
/// the crossover there is L ≈ 10k. Only their ratio matters.
constexpr double kToeplitzDirectSecondsPerUnit = 4.7e-11;
constexpr double kToeplitzFFTSecondsPerUnit = 1.2e-8;

} // namespace mlir::flt::cpu

#endif // FLT_CODEGEN_CPU_CPUTILECONFIG_H
