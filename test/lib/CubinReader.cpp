//===- CubinReader.cpp - what a cubin says about its kernels --------------===//

#include "CubinReader.h"

namespace flt_recording_driver {

/// The .nv.info attributes used here (EIATTR_*).
enum : uint8_t {
  kAttrMaxThreads = 0x05,
  kAttrParamInfo = 0x17,
  kAttrMinStackSize = 0x12,
  kAttrRegisterCount = 0x2f,
};

/// Calls `visit(attribute, data, size)` for each attribute of a .nv.info
/// section: 4-byte entries (format, attribute, 16-bit value) except format
/// 4, whose 16-bit field is the size of the data that follows.
template <typename F>
void forEachInfo(const uint8_t *section, uint64_t size, F visit) {
  uint64_t at = 0;
  while (at + 4 <= size) {
    uint8_t format = section[at], attribute = section[at + 1];
    uint16_t value = readAt<uint16_t>(section, at + 2);
    if (format == 4) {
      if (at + 4 + value > size)
        return;
      visit(attribute, section + at + 4, value);
      at += 4 + value;
    } else if (format >= 1 && format <= 3) {
      at += 4;
    } else {
      return;
    }
  }
}

/// Reads the kernels of an sm_XX cubin (ELF64); false if `image` is not one.
bool parseCubin(const uint8_t *image, Module &module) {
  static const uint8_t magic[] = {0x7f, 'E', 'L', 'F', 2, 1};
  constexpr uint16_t kMachineCuda = 190;
  if (std::memcmp(image, magic, sizeof(magic)) != 0 ||
      readAt<uint16_t>(image, 18) != kMachineCuda)
    return false;
  // The architecture is in e_flags: bits 8-15 from ELF ABI version 8 (CUDA
  // 12 on), bits 0-7 before.
  uint32_t flags = readAt<uint32_t>(image, 48);
  module.arch = image[8] >= 8 ? (flags >> 8) & 0xff : flags & 0xff;

  uint64_t sectionTable = readAt<uint64_t>(image, 0x28);
  uint16_t sectionCount = readAt<uint16_t>(image, 0x3c);
  uint16_t namesIndex = readAt<uint16_t>(image, 0x3e);
  struct Section {
    std::string name;
    uint32_t type, link;
    uint64_t offset, size;
  };
  std::vector<Section> sections(sectionCount);
  for (uint16_t i = 0; i < sectionCount; ++i) {
    const uint8_t *header = image + sectionTable + 64 * size_t(i);
    sections[i] = {"", readAt<uint32_t>(header, 4),
                   readAt<uint32_t>(header, 40), readAt<uint64_t>(header, 24),
                   readAt<uint64_t>(header, 32)};
  }
  if (namesIndex >= sectionCount)
    return false;
  for (uint16_t i = 0; i < sectionCount; ++i) {
    const uint8_t *header = image + sectionTable + 64 * size_t(i);
    sections[i].name = reinterpret_cast<const char *>(
        image + sections[namesIndex].offset + readAt<uint32_t>(header, 0));
  }

  // Kernels: function symbols marked as entries (STO_CUDA_ENTRY).
  constexpr uint32_t kSymbolTable = 2;
  std::map<uint32_t, std::string> symbolNames;
  for (const Section &section : sections) {
    if (section.type != kSymbolTable || section.link >= sectionCount)
      continue;
    const uint8_t *symbols = image + section.offset;
    const char *names =
        reinterpret_cast<const char *>(image + sections[section.link].offset);
    for (uint64_t i = 0; i < section.size / 24; ++i) {
      const uint8_t *symbol = symbols + 24 * i;
      std::string name = names + readAt<uint32_t>(symbol, 0);
      symbolNames[i] = name;
      bool function = (symbol[4] & 0xf) == 2, entry = symbol[5] & 0x10;
      if (function && entry)
        module.kernels[name].name = name;
    }
  }

  bool reservedSharedMemory = false;
  for (const Section &section : sections)
    reservedSharedMemory |= section.name.rfind(".nv.shared.reserved", 0) == 0;
  for (const Section &section : sections) {
    const uint8_t *data = image + section.offset;
    if (section.name == ".nv.info") {
      forEachInfo(data, section.size,
                  [&](uint8_t attribute, const uint8_t *value, uint16_t size) {
                    if ((attribute != kAttrRegisterCount &&
                         attribute != kAttrMinStackSize) ||
                        size < 8)
                      return;
                    auto kernel = module.kernels.find(
                        symbolNames[readAt<uint32_t>(value, 0)]);
                    if (kernel == module.kernels.end())
                      return;
                    int count = readAt<uint32_t>(value, 4);
                    if (attribute == kAttrRegisterCount)
                      kernel->second.registers = count;
                    else
                      kernel->second.stackBytes = count;
                  });
      continue;
    }
    auto kernelOf = [&](const char *prefix) -> Kernel * {
      if (section.name.rfind(prefix, 0) != 0)
        return nullptr;
      auto kernel = module.kernels.find(section.name.substr(strlen(prefix)));
      return kernel == module.kernels.end() ? nullptr : &kernel->second;
    };
    if (Kernel *kernel = kernelOf(".nv.info.")) {
      forEachInfo(data, section.size,
                  [&](uint8_t attribute, const uint8_t *value, uint16_t size) {
                    if (attribute == kAttrMaxThreads && size >= 12) {
                      kernel->maxThreads = readAt<uint32_t>(value, 0) *
                                           readAt<uint32_t>(value, 4) *
                                           readAt<uint32_t>(value, 8);
                    } else if (attribute == kAttrParamInfo && size >= 12) {
                      uint16_t ordinal = readAt<uint16_t>(value, 4);
                      if (kernel->params.size() <= ordinal)
                        kernel->params.resize(ordinal + 1);
                      kernel->params[ordinal] = {readAt<uint16_t>(value, 6),
                                                 readAt<uint32_t>(value, 8) >>
                                                     18};
                    }
                  });
    } else if (Kernel *kernel = kernelOf(".nv.shared.")) {
      int reserved = reservedSharedMemory ? kReservedSharedMemory : 0;
      kernel->staticSharedMemory =
          std::max<int64_t>(0, int64_t(section.size) - reserved);
    }
  }
  return true;
}

} // namespace flt_recording_driver
