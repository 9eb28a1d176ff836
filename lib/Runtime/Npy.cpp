//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
//
// The subset of the .npy format (versions 1-3) that flt's tensors need:
// little-endian, C-order arrays of f32, f16, f64, i32 and i64. The header
// is parsed as the Python literal NumPy reads it as, restricted to what
// NumPy writes: a dict of exactly 'descr' (a string), 'fortran_order'
// (True or False) and 'shape' (a tuple of decimals), in any order, with
// Python's whitespace and an optional trailing comma. Everything else — a
// repeated or unknown key, a value of another kind, junk after the dict, a
// size that overflows, data shorter or longer than the shape — is refused
// with a message that says what was found, before the data is allocated.
//
//===----------------------------------------------------------------------===//

#include "flt/Runtime/Npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>

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
  HostTensor result;
  if (!HostTensor::allocate(element, tensor.shape(), result, error))
    return false;
  converted = std::move(result);
  auto *in = static_cast<const uint8_t *>(tensor.data());
  auto *out = static_cast<uint8_t *>(converted.data());
  size_t inBytes = elementSize(tensor.element()),
         outBytes = elementSize(element);
  for (int64_t i = 0, n = tensor.numElements(); i < n; ++i)
    storeFromDouble(element, loadAsDouble(tensor.element(), in + i * inBytes),
                    out + i * outBytes);
  return true;
}

namespace {

/// The largest header read (NumPy's own default limit is 10000 bytes; a
/// header of 64 dimensions is under 2000).
constexpr size_t kMaxHeaderBytes = size_t(1) << 20;
constexpr size_t kMaxNpyRank = 64;

/// A recursive-descent reader of the header's dict literal.
class HeaderParser {
public:
  HeaderParser(const std::string &text, std::string &error)
      : text(text), error(error) {}

  bool parse(std::string &descr, bool &fortran, std::vector<int64_t> &shape);

private:
  bool fail(const std::string &why) {
    error = why;
    return false;
  }
  /// Python's whitespace between tokens (a header has no comments or line
  /// continuations).
  void skipSpace() {
    while (at < text.size() &&
           (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' ||
            text[at] == '\r' || text[at] == '\f'))
      ++at;
  }
  bool peek(char c) {
    skipSpace();
    return at < text.size() && text[at] == c;
  }
  bool expect(char c, const char *what) {
    if (!peek(c))
      return fail(std::string("expected ") + what + " at " + where());
    ++at;
    return true;
  }
  /// "column N" and what stands there.
  std::string where() const {
    if (at >= text.size())
      return "the end of the header";
    std::string rest = text.substr(at, 12);
    for (char &c : rest)
      if (c == '\n')
        c = ' ';
    return "column " + std::to_string(at + 1) + " ('" + rest +
           (at + 12 < text.size() ? "...'" : "'") + ")";
  }
  bool parseString(std::string &value);
  bool parseWord(std::string &word);
  bool parseShape(std::vector<int64_t> &shape);

  const std::string &text;
  std::string &error;
  size_t at = 0;
};

bool HeaderParser::parseString(std::string &value) {
  skipSpace();
  if (at >= text.size() || (text[at] != '\'' && text[at] != '"'))
    return fail("expected a quoted string at " + where());
  char quote = text[at++];
  size_t start = at;
  while (at < text.size() && text[at] != quote) {
    if (text[at] == '\\' || text[at] == '\n')
      return fail("unsupported character in a string at " + where());
    ++at;
  }
  if (at >= text.size())
    return fail("unterminated string");
  value = text.substr(start, at - start);
  ++at;
  return true;
}

/// An identifier-like word (True, False).
bool HeaderParser::parseWord(std::string &word) {
  skipSpace();
  size_t start = at;
  while (
      at < text.size() &&
      (std::isalnum(static_cast<unsigned char>(text[at])) || text[at] == '_'))
    ++at;
  word = text.substr(start, at - start);
  return !word.empty();
}

bool HeaderParser::parseShape(std::vector<int64_t> &shape) {
  skipSpace();
  if (at >= text.size() || text[at] != '(')
    return fail("'shape' must be a tuple of sizes, such as (2, 3) or (5,), "
                "at " +
                where());
  ++at;
  shape.clear();
  bool comma = false; // after the last size
  while (!peek(')')) {
    if (!shape.empty() && !comma)
      return fail("expected ',' or ')' in 'shape' at " + where());
    skipSpace();
    size_t start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9')
      ++at;
    std::string digits = text.substr(start, at - start);
    if (digits.empty() ||
        (at < text.size() &&
         (std::isalnum(static_cast<unsigned char>(text[at])) ||
          text[at] == '_' || text[at] == '.')))
      return fail("'shape' must hold non-negative decimal sizes; found " +
                  where());
    if (digits.size() > 1 && digits[0] == '0')
      return fail("size '" + digits + "' in 'shape' has a leading zero");
    uint64_t value = 0;
    for (char c : digits) {
      if (value > (static_cast<uint64_t>(INT64_MAX) - (c - '0')) / 10)
        return fail("size " + digits + " in 'shape' does not fit in 64 bits");
      value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    if (shape.size() == kMaxNpyRank)
      return fail("'shape' has more than " + std::to_string(kMaxNpyRank) +
                  " dimensions");
    shape.push_back(static_cast<int64_t>(value));
    comma = peek(',');
    if (comma)
      ++at;
  }
  ++at; // ')'
  // (3) is the number 3 in Python, not a tuple.
  if (shape.size() == 1 && !comma)
    return fail("'shape' must be a tuple: write (" + std::to_string(shape[0]) +
                ",) for one dimension");
  return true;
}

bool HeaderParser::parse(std::string &descr, bool &fortran,
                         std::vector<int64_t> &shape) {
  if (!expect('{', "'{' (the header is a dict literal)"))
    return false;
  bool seenDescr = false, seenFortran = false, seenShape = false;
  while (!peek('}')) {
    std::string key;
    if (!parseString(key))
      return false;
    if (!expect(':', "':' after the key"))
      return false;
    bool *seen = key == "descr"           ? &seenDescr
                 : key == "fortran_order" ? &seenFortran
                 : key == "shape"         ? &seenShape
                                          : nullptr;
    if (!seen)
      return fail("unexpected key '" + key +
                  "' (a header has exactly 'descr', 'fortran_order' and "
                  "'shape')");
    // NumPy would keep the last value; which one was meant is unknowable.
    if (*seen)
      return fail("key '" + key + "' appears twice");
    *seen = true;
    if (key == "descr") {
      if (!parseString(descr))
        return fail("'descr' must be a dtype string such as '<f4' (" + error +
                    ")");
    } else if (key == "fortran_order") {
      std::string word;
      if (!parseWord(word) || (word != "True" && word != "False"))
        return fail("'fortran_order' must be True or False, found " +
                    (word.empty() ? where() : "'" + word + "'"));
      fortran = word == "True";
    } else if (!parseShape(shape)) {
      return false;
    }
    if (peek(','))
      ++at;
    else if (!peek('}'))
      return fail("expected ',' or '}' at " + where());
  }
  ++at; // '}'
  skipSpace();
  if (at != text.size())
    return fail("unexpected text after the header's dict at " + where());
  if (!seenDescr || !seenFortran || !seenShape)
    return fail(std::string("the header lacks '") +
                (!seenDescr     ? "descr"
                 : !seenFortran ? "fortran_order"
                                : "shape") +
                "'");
  return true;
}

std::string tupleString(const std::vector<int64_t> &shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

} // namespace

bool parseNpyHeader(const uint8_t *bytes, size_t size, NpyHeader &header,
                    size_t &needMore, std::string &error) {
  needMore = 0;
  if (size < 8) {
    needMore = 8;
    error = "the file is shorter than the .npy preamble";
    return false;
  }
  if (std::memcmp(bytes, "\x93NUMPY", 6) != 0) {
    error = "bad magic: not a .npy file";
    return false;
  }
  uint8_t major = bytes[6], minor = bytes[7];
  if ((major < 1 || major > 3) || minor != 0) {
    error = "unknown .npy version " + std::to_string(major) + "." +
            std::to_string(minor);
    return false;
  }
  size_t lengthBytes = major == 1 ? 2 : 4;
  if (size < 8 + lengthBytes) {
    needMore = 8 + lengthBytes;
    error = "truncated header";
    return false;
  }
  uint64_t headerLength = 0;
  for (size_t i = 0; i < lengthBytes; ++i)
    headerLength |= static_cast<uint64_t>(bytes[8 + i]) << (8 * i);
  if (headerLength > kMaxHeaderBytes) {
    error = "header of " + std::to_string(headerLength) + " bytes (more than " +
            std::to_string(kMaxHeaderBytes) + ")";
    return false;
  }
  size_t dataOffset = 8 + lengthBytes + static_cast<size_t>(headerLength);
  if (size < dataOffset) {
    needMore = dataOffset;
    error = "truncated header";
    return false;
  }
  std::string text(reinterpret_cast<const char *>(bytes) + 8 + lengthBytes,
                   static_cast<size_t>(headerLength));
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 || c > 0x7e) && c != '\n' && c != '\t' && c != '\r' &&
        c != '\f') {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      error = std::string("byte ") + hex + " at header column " +
              std::to_string(i + 1) + " (a header is ASCII text)";
      return false;
    }
  }
  std::string descr, why;
  bool fortran = false;
  std::vector<int64_t> shape;
  if (!HeaderParser(text, why).parse(descr, fortran, shape)) {
    error = "header: " + why;
    return false;
  }
  std::optional<ElementType> element;
  for (ElementType type : {ElementType::F32, ElementType::F16, ElementType::F64,
                           ElementType::I32, ElementType::I64})
    if (descr == descriptor(type))
      element = type;
  if (!element) {
    error = "dtype '" + descr +
            "'; flt reads little-endian f4, f2, f8, i4 and i8 arrays ('<f4', "
            "'<f2', '<f8', '<i4', '<i8')";
    return false;
  }
  if (fortran) {
    error = "the array is in Fortran order; save a C-order array "
            "(numpy.ascontiguousarray)";
    return false;
  }
  size_t dataBytes = 0;
  if (!denseByteSize(*element, shape, dataBytes, error))
    return false;
  header.element = *element;
  header.shape = std::move(shape);
  header.dataOffset = dataOffset;
  header.dataBytes = dataBytes;
  return true;
}

namespace {

/// The data bytes found against those the header needs, as a message.
std::string sizeMismatch(const NpyHeader &header, uint64_t found) {
  std::string needs = "shape " + tupleString(header.shape) + " of " +
                      elementName(header.element) + " needs " +
                      std::to_string(header.dataBytes) + " bytes of data";
  if (found < header.dataBytes)
    return "the data is shorter than " + needs + ", the file has " +
           std::to_string(found);
  return "the file has " + std::to_string(found) + " bytes of data, but " +
         needs + " (trailing bytes after the data)";
}

/// read() until `size` bytes or the end; the count read, or -1 (errno).
ssize_t readFully(int fd, uint8_t *into, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, into + done, size - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

} // namespace

bool readNpyBuffer(const uint8_t *bytes, size_t size, HostTensor &tensor,
                   std::string &error) {
  NpyHeader header;
  size_t needMore = 0;
  if (!parseNpyHeader(bytes, size, header, needMore, error)) {
    error = "not a valid .npy file (" + error + ")";
    return false;
  }
  if (size - header.dataOffset != header.dataBytes) {
    error = "not a valid .npy file (" +
            sizeMismatch(header, size - header.dataOffset) + ")";
    return false;
  }
  HostTensor result;
  if (!HostTensor::allocate(header.element, header.shape, result, error))
    return false;
  if (header.dataBytes)
    std::memcpy(result.data(), bytes + header.dataOffset, header.dataBytes);
  tensor = std::move(result);
  return true;
}

bool readNpy(const std::string &path, HostTensor &tensor, std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  auto corrupt = [&](const std::string &why) {
    error = "'" + path + "' is not a valid .npy file (" + why + ")";
    return false;
  };
  auto readError = [&] {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return false;
  };
  struct stat info;
  if (fstat(fd, &info) != 0)
    return readError();
  if (S_ISDIR(info.st_mode)) {
    error = "cannot read '" + path + "': it is a directory";
    return false;
  }

  // The preamble, then the header it announces (at most kMaxHeaderBytes).
  std::vector<uint8_t> head(12);
  NpyHeader header;
  size_t have = 0, needMore = 0;
  while (true) {
    ssize_t n = readFully(fd, head.data() + have, head.size() - have);
    if (n < 0)
      return readError();
    have += static_cast<size_t>(n);
    if (parseNpyHeader(head.data(), have, header, needMore, error))
      break;
    // A complete header that is wrong, or a file that ends inside it.
    if (needMore == 0 || have < head.size())
      return corrupt(error);
    head.resize(needMore);
  }
  // Bytes read past the header belong to the data.
  size_t early = have - header.dataOffset;

  // The data: checked against the file's size before it is allocated, so
  // that a header claiming terabytes costs nothing.
  if (S_ISREG(info.st_mode)) {
    uint64_t fileSize = static_cast<uint64_t>(info.st_size);
    uint64_t found =
        fileSize >= header.dataOffset ? fileSize - header.dataOffset : 0;
    if (found != header.dataBytes)
      return corrupt(sizeMismatch(header, found));
  }
  HostTensor result;
  if (!HostTensor::allocate(header.element, header.shape, result, error)) {
    error = "'" + path + "': " + error;
    return false;
  }
  auto *data = static_cast<uint8_t *>(result.data());
  if (early > header.dataBytes)
    return corrupt(sizeMismatch(header, early));
  if (early)
    std::memcpy(data, head.data() + header.dataOffset, early);
  ssize_t n = readFully(fd, data + early, header.dataBytes - early);
  if (n < 0)
    return readError();
  uint64_t found = early + static_cast<uint64_t>(n);
  // Anything after the data (a pipe or a file that grew) is an error too.
  uint8_t extra;
  ssize_t more = found == header.dataBytes ? readFully(fd, &extra, 1) : 0;
  if (more < 0)
    return readError();
  if (found != header.dataBytes || more > 0)
    return corrupt(sizeMismatch(header, found + static_cast<uint64_t>(more)));
  tensor = std::move(result);
  return true;
}

namespace {

/// write() all of `size` bytes; false (errno set) on an error.
bool writeFully(int fd, const void *data, size_t size) {
  const auto *bytes = static_cast<const uint8_t *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, bytes, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = EIO;
      return false;
    }
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

/// The preamble and header of `tensor`'s .npy file.
std::string npyHeader(const HostTensor &tensor) {
  std::string header =
      "{'descr': '" + std::string(descriptor(tensor.element())) +
      "', 'fortran_order': False, 'shape': " + tupleString(tensor.shape()) +
      ", }";
  // Pad with spaces so that the data starts at a multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  uint16_t length = static_cast<uint16_t>(header.size());
  std::string preamble("\x93NUMPY\x01\x00", 8);
  preamble += static_cast<char>(length & 0xff);
  preamble += static_cast<char>(length >> 8);
  return preamble + header;
}

/// Writes the file's bytes to `fd`, then closes it; false with errno set.
bool writeAndClose(int fd, const std::string &header,
                   const HostTensor &tensor) {
  bool ok = writeFully(fd, header.data(), header.size()) &&
            writeFully(fd, tensor.data(), tensor.byteSize());
  int saved = errno;
  // close() reports what a deferred write (NFS, a full disk) failed on.
  if (::close(fd) != 0 && ok)
    return false;
  errno = saved;
  return ok;
}

} // namespace

bool writeNpy(const std::string &path, const HostTensor &input,
              std::string &error) {
  const HostTensor *tensor = &input;
  HostTensor widened;
  if (input.element() == ElementType::BF16) {
    if (!convertTensor(input, ElementType::F32, widened, error))
      return false;
    tensor = &widened;
  }
  std::string header = npyHeader(*tensor);
  auto failed = [&](const char *what) {
    error = std::string(what) + " '" + path + "': " + std::strerror(errno);
    return false;
  };
  if (path.empty()) {
    error = "cannot write '': empty file name";
    return false;
  }

  // Only a regular file (or a new path) is replaced, by a rename; anything
  // else — a symbolic link, a device such as /dev/null, a FIFO — is opened
  // and written through, so the link or the device stays what it was.
  struct stat info;
  bool exists = lstat(path.c_str(), &info) == 0;
  if (!exists && errno != ENOENT)
    return failed("cannot write");
  if (exists && !S_ISREG(info.st_mode)) {
    struct stat target;
    if (stat(path.c_str(), &target) == 0 && S_ISDIR(target.st_mode)) {
      error = "cannot write '" + path + "': it is a directory";
      return false;
    }
    // O_TRUNC empties a regular file a link points to; devices and FIFOs
    // ignore it.
    int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
      return failed("cannot write");
    if (!writeAndClose(fd, header, *tensor))
      return failed("error writing");
    return true;
  }

  std::random_device random;
  std::string temporary =
      path + ".tmp" + std::to_string(getpid()) + "." + std::to_string(random());
  int fd = ::open(temporary.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0)
    return failed("cannot write");
  if (!writeAndClose(fd, header, *tensor)) {
    int saved = errno;
    ::unlink(temporary.c_str());
    errno = saved;
    return failed("error writing");
  }
  // The replaced file's permissions are kept.
  if (exists)
    chmod(temporary.c_str(), info.st_mode & 07777);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    errno = saved;
    return failed("cannot write");
  }
  return true;
}

} // namespace flt
