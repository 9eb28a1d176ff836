//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
//
// The subset of the .npy format (versions 1-3) that flt's tensors need:
// little-endian, C-order arrays of f32, f16, f64, i32 and i64. Everything
// else is rejected with a message that says what was found.
//
//===----------------------------------------------------------------------===//

#include "flt/Runtime/Npy.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace flt {
namespace {

/// The .npy dtype descriptor of an element type ("" for bf16: NumPy has
/// no bf16, such tensors are stored as f32).
const char *descriptor(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "<f4";
  case ElementType::F16:
    return "<f2";
  case ElementType::F64:
    return "<f8";
  case ElementType::I32:
    return "<i4";
  case ElementType::I64:
    return "<i8";
  case ElementType::BF16:
    return "";
  }
  return "";
}

/// The value of `key` in the header dict ("'descr': '<f4', ...").
bool headerField(const std::string &header, const std::string &key,
                 std::string &value) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    return false;
  size_t colon = header.find(':', at);
  if (colon == std::string::npos)
    return false;
  size_t start = header.find_first_not_of(" ", colon + 1);
  if (start == std::string::npos)
    return false;
  size_t end;
  if (header[start] == '(') {
    end = header.find(')', start);
    if (end == std::string::npos)
      return false;
    value = header.substr(start + 1, end - start - 1);
  } else if (header[start] == '\'') {
    end = header.find('\'', start + 1);
    if (end == std::string::npos)
      return false;
    value = header.substr(start + 1, end - start - 1);
  } else {
    end = header.find_first_of(",}", start);
    value = header.substr(start, end - start);
  }
  return true;
}

uint16_t floatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  uint32_t sign = (bits >> 16) & 0x8000;
  int32_t exponent = static_cast<int32_t>((bits >> 23) & 0xff) - 127 + 15;
  uint32_t mantissa = bits & 0x7fffff;
  if (((bits >> 23) & 0xff) == 0xff) // inf / nan
    return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 31)
    return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10)
      return sign;
    mantissa |= 0x800000;
    uint32_t shift = 14 - exponent;
    uint32_t half = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1);
    uint32_t midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1)))
      ++half;
    return sign | half;
  }
  uint32_t half = sign | (exponent << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    ++half;
  return half;
}

float halfToFloat(uint16_t half) {
  uint32_t sign = (half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1f, mantissa = half & 0x3ff;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else { // subnormal
      exponent = 127 - 15 + 1;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
    }
  } else if (exponent == 31) {
    bits = sign | 0x7f800000 | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

uint16_t floatToBF16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if (std::isnan(value))
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  uint32_t rounding = 0x7fff + ((bits >> 16) & 1); // to nearest even
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float bf16ToFloat(uint16_t value) {
  uint32_t bits = static_cast<uint32_t>(value) << 16;
  float result;
  std::memcpy(&result, &bits, 4);
  return result;
}

double loadAsDouble(ElementType type, const uint8_t *p) {
  switch (type) {
  case ElementType::F32: {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case ElementType::F64: {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  case ElementType::F16: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return halfToFloat(v);
  }
  case ElementType::BF16: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return bf16ToFloat(v);
  }
  default:
    return 0;
  }
}

void storeFromDouble(ElementType type, double value, uint8_t *p) {
  switch (type) {
  case ElementType::F32: {
    float v = static_cast<float>(value);
    std::memcpy(p, &v, 4);
    break;
  }
  case ElementType::F64:
    std::memcpy(p, &value, 8);
    break;
  case ElementType::F16: {
    uint16_t v = floatToHalf(static_cast<float>(value));
    std::memcpy(p, &v, 2);
    break;
  }
  case ElementType::BF16: {
    uint16_t v = floatToBF16(static_cast<float>(value));
    std::memcpy(p, &v, 2);
    break;
  }
  default:
    break;
  }
}

bool isFloat(ElementType type) {
  return type == ElementType::F32 || type == ElementType::F16 ||
         type == ElementType::BF16 || type == ElementType::F64;
}

} // namespace

bool convertTensor(const HostTensor &tensor, ElementType element,
                   HostTensor &converted, std::string &error) {
  if (!isFloat(tensor.element()) || !isFloat(element)) {
    error = std::string("cannot convert ") + elementName(tensor.element()) +
            " to " + elementName(element);
    return false;
  }
  converted = HostTensor(element, tensor.shape());
  auto *in = static_cast<const uint8_t *>(tensor.data());
  auto *out = static_cast<uint8_t *>(converted.data());
  size_t inBytes = elementSize(tensor.element()),
         outBytes = elementSize(element);
  for (int64_t i = 0, n = tensor.numElements(); i < n; ++i)
    storeFromDouble(element, loadAsDouble(tensor.element(), in + i * inBytes),
                    out + i * outBytes);
  return true;
}

bool readNpy(const std::string &path, HostTensor &tensor, std::string &error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  auto corrupt = [&](const std::string &why) {
    error = "'" + path + "' is not a valid .npy file (" + why + ")";
    return false;
  };
  char magic[8];
  if (!file.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return corrupt("bad magic");
  uint8_t major = static_cast<uint8_t>(magic[6]);
  uint32_t headerLength = 0;
  if (major == 1) {
    uint8_t bytes[2];
    if (!file.read(reinterpret_cast<char *>(bytes), 2))
      return corrupt("truncated header");
    headerLength = bytes[0] | (bytes[1] << 8);
  } else if (major == 2 || major == 3) {
    uint8_t bytes[4];
    if (!file.read(reinterpret_cast<char *>(bytes), 4))
      return corrupt("truncated header");
    headerLength = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) |
                   (static_cast<uint32_t>(bytes[3]) << 24);
  } else {
    return corrupt("unknown version " + std::to_string(major));
  }
  if (headerLength > (1u << 20))
    return corrupt("header too long");
  std::string header(headerLength, '\0');
  if (!file.read(header.data(), headerLength))
    return corrupt("truncated header");

  std::string descr, fortran, shapeText;
  if (!headerField(header, "descr", descr) ||
      !headerField(header, "fortran_order", fortran) ||
      !headerField(header, "shape", shapeText))
    return corrupt("header lacks descr, fortran_order or shape");
  if (fortran.find("False") == std::string::npos) {
    error = "'" + path +
            "' is in Fortran order; save a C-order array "
            "(numpy.ascontiguousarray)";
    return false;
  }
  std::optional<ElementType> element;
  for (ElementType type : {ElementType::F32, ElementType::F16, ElementType::F64,
                           ElementType::I32, ElementType::I64})
    if (descr == descriptor(type))
      element = type;
  if (!element) {
    error = "'" + path + "' has dtype '" + descr +
            "'; flt reads little-endian f4, f2, f8, i4 and i8 arrays";
    return false;
  }
  std::vector<int64_t> shape;
  std::stringstream sizes(shapeText);
  std::string item;
  while (std::getline(sizes, item, ',')) {
    size_t first = item.find_first_not_of(" ");
    if (first == std::string::npos)
      continue;
    char *end = nullptr;
    long long size = std::strtoll(item.c_str() + first, &end, 10);
    if (end == item.c_str() + first || size < 0)
      return corrupt("bad shape '(" + shapeText + ")'");
    shape.push_back(size);
  }
  HostTensor result(*element, shape);
  if (result.byteSize() > 0 &&
      !file.read(static_cast<char *>(result.data()),
                 static_cast<std::streamsize>(result.byteSize())))
    return corrupt("the data is shorter than shape " + result.str() + " needs");
  char extra;
  if (file.read(&extra, 1))
    return corrupt("trailing bytes after the data");
  tensor = std::move(result);
  return true;
}

bool writeNpy(const std::string &path, const HostTensor &input,
              std::string &error) {
  const HostTensor *tensor = &input;
  HostTensor widened;
  if (input.element() == ElementType::BF16) {
    if (!convertTensor(input, ElementType::F32, widened, error))
      return false;
    tensor = &widened;
  }
  // NumPy's tuple spelling: "()", "(3,)", "(1, 2)".
  std::string shape;
  for (int64_t size : tensor->shape())
    shape += (shape.empty() ? "" : ", ") + std::to_string(size);
  if (tensor->shape().size() == 1)
    shape += ",";
  std::string header = "{'descr': '" +
                       std::string(descriptor(tensor->element())) +
                       "', 'fortran_order': False, 'shape': (" + shape + "), }";
  // Pad with spaces so that the data starts at a multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  std::random_device random;
  std::string temporary =
      path + ".tmp" + std::to_string(getpid()) + "." + std::to_string(random());
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    if (!file) {
      error = "cannot write '" + path + "': " + std::strerror(errno);
      return false;
    }
    uint16_t length = static_cast<uint16_t>(header.size());
    file.write("\x93NUMPY\x01\x00", 8);
    char lengthBytes[2] = {static_cast<char>(length & 0xff),
                           static_cast<char>(length >> 8)};
    file.write(lengthBytes, 2);
    file.write(header.data(), static_cast<std::streamsize>(header.size()));
    file.write(static_cast<const char *>(tensor->data()),
               static_cast<std::streamsize>(tensor->byteSize()));
    file.close();
    if (!file) {
      std::remove(temporary.c_str());
      error = "error writing '" + path + "'";
      return false;
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    std::remove(temporary.c_str());
    return false;
  }
  return true;
}

} // namespace flt
