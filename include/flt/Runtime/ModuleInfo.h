//===- ModuleInfo.h - what a compiled library says of itself --*- C++ -*-===//
//
// The contract between flt-compile and libFLTRuntime (no MLIR or LLVM here:
// the runtime includes it too). A compiled library exports:
//
//   const char __flt_module_info[];      the description below, NUL-ended
//   const uint64_t __flt_module_seal[3]; {kSealMagic, the description's
//                                        length, checksum()} (see below)
//   void __flt_call_<fn>(void **args);   args[0] -> result descriptor(s)
//                                        (absent without results), then one
//                                        pointer per argument descriptor
//   int64_t __flt_check_<fn>(void **args);  same argument pointers; 0 when the
//                                        runtime sizes agree, else the 1-based
//                                        index of the first violated constraint
//   const int64_t __flt_arity_<fn>[2];   how many pointers __flt_call_<fn>
//                                        and __flt_check_<fn> read, counted
//                                        by flt-compile on the functions it
//                                        emitted (not on the description)
//
// Descriptors are MLIR's strided memref descriptors
// {T *allocated, T *aligned, int64_t offset, sizes[rank], strides[rank]};
// several results are laid out back to back. Result buffers are malloc'ed by
// the kernel and freed by the runtime (`allocated`).
//
// Description, one item per line, each ended by '\n', words separated by
// one space, in this order (lib/Runtime/ModuleDescription.cpp is its one
// parser, and it accepts nothing else):
//
//   flt-module 2                 format version
//   flt-version 0.1.0            the compiler's version (must match)
//   target cpu | cuda
//   cpu <name> <feature>...      the host CPU the code was compiled for and
//                                the instruction-set extensions of
//                                FLT_X86_FEATURES it may use
//   function <name>              one block per function, at least one
//   arg <element> <rank> <size>...      '?' for a dynamic size
//   result <element> <rank> <size>...
//   constraint <message>                 in __flt_check_<fn>'s order
//   end
//
// The seal lets the runtime refuse a library whose description was edited
// or damaged (a wrong rank or a dropped argument would make the runtime
// build descriptors the kernel misreads): its checksum covers the
// description and every function's arity, and the arities are checked
// against the description's argument and result counts.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_RUNTIME_MODULEINFO_H
#define FLT_RUNTIME_MODULEINFO_H

#include <cstddef>
#include <cstdint>

namespace flt::abi {

constexpr const char *kModuleInfoSymbol = "__flt_module_info";
constexpr const char *kSealSymbol = "__flt_module_seal";
constexpr const char *kCallPrefix = "__flt_call_";
constexpr const char *kCheckPrefix = "__flt_check_";
constexpr const char *kArityPrefix = "__flt_arity_";
constexpr int kFormatVersion = 2;
/// "fltseal2" in little-endian bytes: a seal from another format version or
/// random bytes do not pass for one.
constexpr uint64_t kSealMagic = 0x326c616573746c66ull;

/// Bounds that keep a description (and the descriptors built from it)
/// small; compiled modules are far below them.
constexpr size_t kMaxDescriptionBytes = size_t(1) << 22;
constexpr int64_t kMaxRank = 64;
constexpr int64_t kMaxTensorsPerFunction = 4096;

/// FNV-1a, 64 bits: a checksum against accidental edits and damage (not a
/// signature against someone who means harm; such a person controls the
/// code that dlopen runs anyway).
constexpr uint64_t kChecksumBasis = 0xcbf29ce484222325ull;
inline uint64_t checksum(uint64_t hash, const void *data, size_t size) {
  const auto *bytes = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}
/// The seal's checksum: the description's bytes, then each function's two
/// arities (in description order) as little-endian 8-byte words.
inline uint64_t sealChecksum(const char *description, size_t size,
                             const int64_t *arities, size_t numArities) {
  uint64_t hash = checksum(kChecksumBasis, description, size);
  for (size_t i = 0; i < numArities; ++i) {
    unsigned char word[8];
    for (int b = 0; b < 8; ++b)
      word[b] = static_cast<unsigned char>(static_cast<uint64_t>(arities[i]) >>
                                           (8 * b));
    hash = checksum(hash, word, 8);
  }
  return hash;
}

} // namespace flt::abi

/// The x86 instruction-set extensions that LLVM's code generator uses on its
/// own (auto-vectorization, instruction selection), which the runtime checks
/// with cpuid before it calls a kernel: X(LLVM feature name, cpuid leaf,
/// subleaf, register (0 EAX, 1 EBX, 2 ECX, 3 EDX), bit, OS state needed
/// (XCR0 bits: 0x6 AVX, 0xe6 AVX-512)); a negative bit -v reads "AVX10
/// version (leaf 0x24, EBX bits 0-7) at least v". Extensions that only
/// intrinsics reach (AES, VAES, VPCLMULQDQ, SHA, ADX, VP2INTERSECT, AMX, ...)
/// are not recorded: flt's kernels use none, so a library for a CPU with
/// them still runs where they are missing (one built on a Zen 5 runs on a
/// Sapphire Rapids, which lacks only VP2INTERSECT of Zen 5's AVX-512).
#define FLT_X86_FEATURES(X)                                                    \
  X("sse3", 1, 0, 2, 0, 0)                                                     \
  X("ssse3", 1, 0, 2, 9, 0)                                                    \
  X("fma", 1, 0, 2, 12, 0x6)                                                   \
  X("cx16", 1, 0, 2, 13, 0)                                                    \
  X("sse4.1", 1, 0, 2, 19, 0)                                                  \
  X("sse4.2", 1, 0, 2, 20, 0)                                                  \
  X("movbe", 1, 0, 2, 22, 0)                                                   \
  X("popcnt", 1, 0, 2, 23, 0)                                                  \
  X("avx", 1, 0, 2, 28, 0x6)                                                   \
  X("f16c", 1, 0, 2, 29, 0x6)                                                  \
  X("bmi", 7, 0, 1, 3, 0)                                                      \
  X("avx2", 7, 0, 1, 5, 0x6)                                                   \
  X("bmi2", 7, 0, 1, 8, 0)                                                     \
  X("avx512f", 7, 0, 1, 16, 0xe6)                                              \
  X("avx512dq", 7, 0, 1, 17, 0xe6)                                             \
  X("avx512ifma", 7, 0, 1, 21, 0xe6)                                           \
  X("avx512cd", 7, 0, 1, 28, 0xe6)                                             \
  X("avx512bw", 7, 0, 1, 30, 0xe6)                                             \
  X("avx512vl", 7, 0, 1, 31, 0xe6)                                             \
  X("avx512vbmi", 7, 0, 2, 1, 0xe6)                                            \
  X("avx512vbmi2", 7, 0, 2, 6, 0xe6)                                           \
  X("gfni", 7, 0, 2, 8, 0)                                                     \
  X("avx512vnni", 7, 0, 2, 11, 0xe6)                                           \
  X("avx512bitalg", 7, 0, 2, 12, 0xe6)                                         \
  X("avx512vpopcntdq", 7, 0, 2, 14, 0xe6)                                      \
  X("avx512fp16", 7, 0, 3, 23, 0xe6)                                           \
  X("avxvnni", 7, 1, 0, 4, 0x6)                                                \
  X("avx512bf16", 7, 1, 0, 5, 0xe6)                                            \
  X("avxifma", 7, 1, 0, 23, 0x6)                                               \
  X("avxvnniint8", 7, 1, 3, 4, 0x6)                                            \
  X("avxneconvert", 7, 1, 3, 5, 0x6)                                           \
  X("avxvnniint16", 7, 1, 3, 10, 0x6)                                          \
  X("avx10.1", 7, 1, 3, 19, 0xe6)                                              \
  X("avx10.1-512", 7, 1, 3, 19, 0xe6)                                          \
  X("avx10.2", 0x24, 0, 1, -2, 0xe6)                                           \
  X("avx10.2-512", 0x24, 0, 1, -2, 0xe6)                                       \
  X("sahf", 0x80000001, 0, 2, 0, 0)                                            \
  X("lzcnt", 0x80000001, 0, 2, 5, 0)                                           \
  X("sse4a", 0x80000001, 0, 2, 6, 0)                                           \
  X("prfchw", 0x80000001, 0, 2, 8, 0)                                          \
  X("xop", 0x80000001, 0, 2, 11, 0x6)                                          \
  X("fma4", 0x80000001, 0, 2, 16, 0x6)                                         \
  X("tbm", 0x80000001, 0, 2, 21, 0)

#endif // FLT_RUNTIME_MODULEINFO_H
