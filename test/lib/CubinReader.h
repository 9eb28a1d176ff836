//===- CubinReader.h - what a cubin says about its kernels ----*- C++ -*-===//
//
// Part of the CUDA driver double (RecordingCudaDriver.cpp): reads the
// kernels of a cubin (ELF) - names, registers, local and static shared
// memory, parameter layout, thread limits - so that launches can be
// checked against them as the driver would.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_TEST_LIB_CUBINREADER_H
#define FLT_TEST_LIB_CUBINREADER_H

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace flt_recording_driver {

/// The driver's default per-block thread limit.
constexpr int kMaxThreadsPerBlock = 1024;
/// Shared memory the hardware reserves per block, counted in the cubin's
/// .nv.shared.* sizes.
constexpr int kReservedSharedMemory = 1024;

/// A T read from `data + offset` (cubins are not aligned for us).
template <typename T> T readAt(const uint8_t *data, size_t offset) {
  T value;
  std::memcpy(&value, data + offset, sizeof(T));
  return value;
}

struct KernelParam {
  unsigned offset = 0, size = 0;
};

struct Kernel {
  std::string name;
  int registers = 0;
  int stackBytes = 0; // local memory: register spills, local arrays
  int maxThreads = kMaxThreadsPerBlock; // .nv.info EIATTR_MAX_THREADS
  int staticSharedMemory = 0;
  std::vector<KernelParam> params; // by ordinal
  int maxDynamicSharedMemory = -1; // -1: not set (48 KiB minus static)
};

struct Module {
  int arch = 0;
  std::map<std::string, Kernel> kernels;
};

/// Reads `image` (a cubin) into `module`; false if it is not one.
bool parseCubin(const uint8_t *image, Module &module);

} // namespace flt_recording_driver

#endif // FLT_TEST_LIB_CUBINREADER_H
