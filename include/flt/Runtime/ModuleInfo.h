//===- ModuleInfo.h - what a compiled library says of itself --*- C++ -*-===//
//
// The contract between flt-compile and libFLTRuntime (no MLIR or LLVM here:
// the runtime includes it too). A compiled library exports:
//
//   const char __flt_module_info[];      the description below, NUL-ended
//   void __flt_call_<fn>(void **args);   args[0] -> result descriptor(s)
//                                        (absent without results), then one
//                                        pointer per argument descriptor
//   int64_t __flt_check_<fn>(void **args);  same argument pointers; 0 when the
//                                        runtime sizes agree, else the 1-based
//                                        index of the first violated constraint
//
// Descriptors are MLIR's strided memref descriptors
// {T *allocated, T *aligned, int64_t offset, sizes[rank], strides[rank]};
// several results are laid out back to back. Result buffers are malloc'ed by
// the kernel and freed by the runtime (`allocated`).
//
// Description, one item per line:
//
//   flt-module 1                 format version
//   flt-version 0.1.0            the compiler's version (must match)
//   target cpu | cuda
//   function <name>
//   arg <element> <rank> <size>...      '?' for a dynamic size
//   result <element> <rank> <size>...
//   constraint <message>                 in __flt_check_<fn>'s order
//   end
//
//===----------------------------------------------------------------------===//

#ifndef FLT_RUNTIME_MODULEINFO_H
#define FLT_RUNTIME_MODULEINFO_H

namespace flt::abi {

constexpr const char *kModuleInfoSymbol = "__flt_module_info";
constexpr const char *kCallPrefix = "__flt_call_";
constexpr const char *kCheckPrefix = "__flt_check_";
constexpr int kFormatVersion = 1;

} // namespace flt::abi

#endif // FLT_RUNTIME_MODULEINFO_H
