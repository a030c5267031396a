#include "rgbdseg/data/matlab_v5.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"

// Format: MathWorks, "MAT-File Format" (matfile_format.pdf), chapter "Version 5 MAT-File
// Format". A 128-byte header (text, subsystem offset, version 0x0100, endian indicator
// "IM"/"MI"), then data elements: an 8-byte tag (type, byte count) and the data padded to
// 8 bytes, or a 4-byte "small" tag when the data fit in 4 bytes. Variables are miMATRIX
// elements, possibly wrapped in a zlib stream (miCOMPRESSED, not padded).

namespace rgbdseg::matlab {
namespace {

// Data types (miXXX).
enum : uint32_t {
  miINT8 = 1,
  miUINT8 = 2,
  miINT16 = 3,
  miUINT16 = 4,
  miINT32 = 5,
  miUINT32 = 6,
  miSINGLE = 7,
  miDOUBLE = 9,
  miINT64 = 12,
  miUINT64 = 13,
  miMATRIX = 14,
  miCOMPRESSED = 15,
  miUTF8 = 16,
  miUTF16 = 17,
  miUTF32 = 18,
};

const char* type_name(uint32_t type) {
  switch (type) {
    case miINT8: return "miINT8";
    case miUINT8: return "miUINT8";
    case miINT16: return "miINT16";
    case miUINT16: return "miUINT16";
    case miINT32: return "miINT32";
    case miUINT32: return "miUINT32";
    case miSINGLE: return "miSINGLE";
    case miDOUBLE: return "miDOUBLE";
    case miINT64: return "miINT64";
    case miUINT64: return "miUINT64";
    case miMATRIX: return "miMATRIX";
    case miCOMPRESSED: return "miCOMPRESSED";
    case miUTF8: return "miUTF8";
    case miUTF16: return "miUTF16";
    case miUTF32: return "miUTF32";
    default: return "unknown type";
  }
}

size_t type_size(uint32_t type) {
  switch (type) {
    case miINT8:
    case miUINT8:
    case miUTF8: return 1;
    case miINT16:
    case miUINT16:
    case miUTF16: return 2;
    case miINT32:
    case miUINT32:
    case miSINGLE:
    case miUTF32: return 4;
    case miDOUBLE:
    case miINT64:
    case miUINT64: return 8;
    default: return 0;
  }
}

bool is_numeric_type(uint32_t type) {
  switch (type) {
    case miINT8:
    case miUINT8:
    case miINT16:
    case miUINT16:
    case miINT32:
    case miUINT32:
    case miSINGLE:
    case miDOUBLE:
    case miINT64:
    case miUINT64: return true;
    default: return false;
  }
}

bool is_numeric_class(MatClass cls) {
  const auto c = static_cast<int>(cls);
  return c >= static_cast<int>(MatClass::Double) && c <= static_cast<int>(MatClass::UInt64);
}

template <typename T>
double load(const uint8_t* raw) {
  T v;
  std::memcpy(&v, raw, sizeof v);
  return static_cast<double>(v);
}

// One data element: where its data lie in the buffer and where the next one starts.
struct Element {
  uint32_t type = 0;
  size_t data = 0;   // offset of the first data byte
  size_t bytes = 0;  // data bytes
  size_t next = 0;   // offset of the next element
};

// Code point -> UTF-8 (invalid code points become U+FFFD).
void append_utf8(std::string& out, char32_t c) {
  if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) c = 0xFFFD;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Inflates a zlib stream completely. The output grows with what the stream really
// holds (a forged size cannot make us allocate more than the data decompress to).
std::string inflate_all(const uint8_t* data, size_t size, const std::string& where) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  if (inflateInit(&zs) != Z_OK) throw Error(where + ": cannot initialise zlib");
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(size);  // size comes from a 32-bit tag
  std::string out(std::max<size_t>(4096, size * 4), '\0');
  size_t produced = 0;
  int ret = Z_OK;
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= (size_t{1} << 33)) {
        inflateEnd(&zs);
        throw Error(where + ": compressed variable expands beyond 8 GiB");
      }
      out.resize(out.size() * 2);
    }
    zs.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    const size_t room = std::min<size_t>(out.size() - produced, std::numeric_limits<uInt>::max());
    zs.avail_out = static_cast<uInt>(room);
    ret = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (ret == Z_STREAM_END) break;
    if (ret == Z_BUF_ERROR && zs.avail_in == 0) {
      inflateEnd(&zs);
      throw Error(where + ": compressed data end early (truncated file?)");
    }
    if (ret != Z_OK && ret != Z_BUF_ERROR) {
      const std::string msg = zs.msg ? zs.msg : ("zlib error " + std::to_string(ret));
      inflateEnd(&zs);
      throw Error(where + ": cannot decompress (" + msg + ")");
    }
  }
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

class Parser {
 public:
  Parser(std::string path, bool swap) : path_(std::move(path)), swap_(swap) {}

  uint32_t u32(const uint8_t* p) const {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swap_ ? __builtin_bswap32(v) : v;
  }

  // Reads the tag at `pos` of [base, base+end). `where` names the enclosing element.
  Element element(const uint8_t* base, size_t pos, size_t end, const std::string& where) const {
    if (pos > end || end - pos < 8) {
      throw Error(where + ": truncated (a data element needs at least 8 bytes, " + std::to_string(end - pos) +
                  " left)");
    }
    Element e;
    const uint32_t first = u32(base + pos);
    if ((first >> 16) != 0) {  // small data element: 2 bytes byte count, 2 bytes type, 4 bytes data
      e.type = first & 0xFFFF;
      e.bytes = first >> 16;
      if (e.bytes > 4) {
        throw Error(where + ": malformed small data element (" + std::to_string(e.bytes) + " bytes, at most 4)");
      }
      e.data = pos + 4;
      e.next = pos + 8;
      return e;
    }
    e.type = first;
    e.bytes = u32(base + pos + 4);
    e.data = pos + 8;
    if (e.bytes > end - e.data) {
      throw Error(where + ": truncated (" + type_name(e.type) + " element of " + std::to_string(e.bytes) +
                  " bytes, only " + std::to_string(end - e.data) + " left)");
    }
    const size_t padded = e.type == miCOMPRESSED ? e.bytes : (e.bytes + 7) / 8 * 8;
    e.next = std::min(end, e.data + padded);
    return e;
  }

  // Numeric data of any storage type, converted to double. Returns false when a
  // 64-bit integer does not fit a double exactly.
  bool numbers(const uint8_t* base, const Element& e, std::vector<double>& out) const {
    const size_t size = type_size(e.type);
    const size_t n = e.bytes / size;
    out.resize(n);
    const uint8_t* p = base + e.data;
    for (size_t i = 0; i < n; ++i, p += size) {
      uint8_t raw[8];
      std::memcpy(raw, p, size);
      if (swap_) std::reverse(raw, raw + size);
      double v = 0;
      switch (e.type) {
        case miINT8: v = load<int8_t>(raw); break;
        case miUINT8: v = load<uint8_t>(raw); break;
        case miINT16: v = load<int16_t>(raw); break;
        case miUINT16: v = load<uint16_t>(raw); break;
        case miINT32: v = load<int32_t>(raw); break;
        case miUINT32: v = load<uint32_t>(raw); break;
        case miSINGLE: v = load<float>(raw); break;
        case miDOUBLE: v = load<double>(raw); break;
        case miINT64: {
          int64_t x;
          std::memcpy(&x, raw, 8);
          if (x > (int64_t{1} << 53) || x < -(int64_t{1} << 53)) return false;
          v = static_cast<double>(x);
          break;
        }
        case miUINT64: {
          uint64_t x;
          std::memcpy(&x, raw, 8);
          if (x > (uint64_t{1} << 53)) return false;
          v = static_cast<double>(x);
          break;
        }
        default: break;
      }
      out[i] = v;
    }
    return true;
  }

  std::u32string chars(const uint8_t* base, const Element& e, const std::string& where) const {
    std::u32string out;
    const uint8_t* p = base + e.data;
    switch (e.type) {
      case miUTF8:
      case miUINT8:
      case miINT8: {
        if (e.type != miUTF8) {  // one byte per character (Latin-1)
          for (size_t i = 0; i < e.bytes; ++i) out += static_cast<char32_t>(p[i]);
          break;
        }
        for (size_t i = 0; i < e.bytes;) {
          const uint8_t b = p[i];
          const int extra = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
          if (extra < 0 || static_cast<size_t>(extra) >= e.bytes - i) {
            throw Error(where + ": invalid UTF-8 in char data");
          }
          char32_t c = extra == 0 ? b : extra == 1 ? (b & 0x1F) : extra == 2 ? (b & 0x0F) : (b & 0x07);
          for (int k = 1; k <= extra; ++k) {
            const uint8_t cont = p[i + static_cast<size_t>(k)];
            if ((cont >> 6) != 2) throw Error(where + ": invalid UTF-8 in char data");
            c = (c << 6) | (cont & 0x3F);
          }
          out += c;
          i += static_cast<size_t>(extra) + 1;
        }
        break;
      }
      case miUINT16:
      case miUTF16:
      case miINT16: {
        const size_t n = e.bytes / 2;
        for (size_t i = 0; i < n; ++i) {
          uint16_t v;
          std::memcpy(&v, p + 2 * i, 2);
          if (swap_) v = __builtin_bswap16(v);
          if (e.type == miUTF16 && v >= 0xD800 && v <= 0xDBFF && i + 1 < n) {
            uint16_t lo;
            std::memcpy(&lo, p + 2 * (i + 1), 2);
            if (swap_) lo = __builtin_bswap16(lo);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              out += static_cast<char32_t>(0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00));
              ++i;
              continue;
            }
          }
          out += static_cast<char32_t>(v);
        }
        break;
      }
      case miUTF32:
      case miUINT32:
      case miINT32: {
        for (size_t i = 0; i < e.bytes / 4; ++i) out += static_cast<char32_t>(u32(p + 4 * i));
        break;
      }
      default: throw Error(where + ": char data stored as " + type_name(e.type) + ", expected text or integers");
    }
    return out;
  }

  // A miMATRIX element's content: [begin, end) of `base`.
  MatArray matrix(const uint8_t* base, size_t begin, size_t end, const std::string& where, bool top_level) const {
    MatArray a;
    a.where = where;
    if (begin == end) {  // an empty array (MATLAB writes [] in cells as a zero-byte miMATRIX)
      a.cls = MatClass::Double;
      a.dims = {0, 0};
      return a;
    }
    // Array flags.
    const Element flags = element(base, begin, end, where);
    if ((flags.type != miUINT32 && flags.type != miINT32) || flags.bytes < 4) {
      throw Error(where + ": malformed array (array flags are " + type_name(flags.type) + " of " +
                  std::to_string(flags.bytes) + " bytes, expected miUINT32 of 8 bytes)");
    }
    const uint32_t f = u32(base + flags.data);
    const uint32_t cls = f & 0xFF;
    const bool complex = (f & 0x0800) != 0;
    a.logical = (f & 0x0200) != 0;
    a.cls = (cls >= 1 && cls <= 17) ? static_cast<MatClass>(cls) : MatClass::Unknown;
    size_t pos = flags.next;

    auto read_name = [&]() {
      const Element n = element(base, pos, end, where);
      if (n.type != miINT8 && n.type != miUINT8) {
        throw Error(where + ": malformed array (name is " + type_name(n.type) + ", expected miINT8)");
      }
      pos = n.next;
      return std::string(reinterpret_cast<const char*>(base + n.data), n.bytes);
    };
    auto refine_where = [&]() {
      if (top_level && !a.name.empty()) a.where = path_ + ": " + a.name;
    };

    if (a.cls == MatClass::Opaque) {  // objects such as containers.Map, string: no dimensions
      a.name = read_name();
      refine_where();
      a.dims = {1, 1};
      a.unsupported = "a MATLAB object (opaque class), which this reader does not support";
      return a;
    }
    // Dimensions.
    const Element dims = element(base, pos, end, a.where);
    if (dims.type != miINT32 || dims.bytes < 8 || dims.bytes % 4 != 0) {
      throw Error(where + ": malformed array (dimensions are " + type_name(dims.type) + " of " +
                  std::to_string(dims.bytes) + " bytes, expected at least two miINT32)");
    }
    int64_t numel = 1;
    for (size_t i = 0; i < dims.bytes / 4; ++i) {
      const auto d = static_cast<int32_t>(u32(base + dims.data + 4 * i));
      if (d < 0) throw Error(where + ": malformed array (negative dimension " + std::to_string(d) + ")");
      a.dims.push_back(d);
      constexpr int64_t kSaturated = int64_t{1} << 41;  // beyond any plausible array; avoids overflow
      numel = (d > 0 && numel > kSaturated / d) ? kSaturated : numel * d;
    }
    pos = dims.next;
    a.name = read_name();
    refine_where();
    if (numel > (int64_t{1} << 40)) throw Error(a.where + ": array of " + a.describe() + " is implausibly large");

    if (a.cls == MatClass::Unknown) {
      a.unsupported = "an array of unknown class " + std::to_string(cls);
      return a;
    }
    if (complex) {
      a.unsupported = "a complex array, which this reader does not support";
      return a;
    }
    switch (a.cls) {
      case MatClass::Sparse: a.unsupported = "a sparse array, which this reader does not support"; return a;
      case MatClass::Function: a.unsupported = "a function handle, which this reader does not support"; return a;
      case MatClass::Object: a.unsupported = "a MATLAB object, which this reader does not support"; return a;
      default: break;
    }

    if (is_numeric_class(a.cls)) {
      if (numel == 0 && pos >= end) return a;
      const Element re = element(base, pos, end, a.where);
      if (!is_numeric_type(re.type)) {
        throw Error(a.where + ": numeric data stored as " + type_name(re.type) + ", expected a numeric type");
      }
      if (re.bytes % type_size(re.type) != 0) {
        throw Error(a.where + ": " + std::to_string(re.bytes) + " bytes of " + type_name(re.type) +
                    " data is not a whole number of values");
      }
      if (!numbers(base, re, a.numbers)) {
        a.numbers.clear();
        a.unsupported = "64-bit integers beyond 2^53, which this reader does not support";
        return a;
      }
      if (static_cast<int64_t>(a.numbers.size()) != numel) {
        throw Error(a.where + ": " + a.describe() + " array holds " + std::to_string(a.numbers.size()) +
                    " values, expected " + std::to_string(numel));
      }
      return a;
    }
    if (a.cls == MatClass::Char) {
      if (numel == 0 && pos >= end) return a;
      const Element data = element(base, pos, end, a.where);
      a.chars = chars(base, data, a.where);
      if (static_cast<int64_t>(a.chars.size()) != numel) {
        throw Error(a.where + ": " + a.describe() + " char array holds " + std::to_string(a.chars.size()) +
                    " characters, expected " + std::to_string(numel));
      }
      return a;
    }
    if (a.cls == MatClass::Cell) {
      a.cells.reserve(static_cast<size_t>(std::min<int64_t>(numel, static_cast<int64_t>((end - pos) / 8))));
      for (int64_t i = 0; i < numel; ++i) {
        const std::string w = a.where + "{" + std::to_string(i + 1) + "}";
        if (pos >= end) throw Error(w + ": truncated (cell array ends after " + std::to_string(i) + " elements)");
        const Element e = element(base, pos, end, w);
        if (e.type != miMATRIX) throw Error(w + ": cell element is " + type_name(e.type) + ", expected miMATRIX");
        a.cells.push_back(matrix(base, e.data, e.data + e.bytes, w, false));
        pos = e.next;
      }
      return a;
    }
    // Struct: field name length, field names, then numel x nfields arrays.
    const Element len_el = element(base, pos, end, a.where);
    if (len_el.type != miINT32 || len_el.bytes != 4) {
      throw Error(a.where + ": malformed struct (field name length is " + type_name(len_el.type) + ")");
    }
    const auto name_len = static_cast<int32_t>(u32(base + len_el.data));
    pos = len_el.next;
    const Element names = element(base, pos, end, a.where);
    if (names.type != miINT8 || name_len <= 0 || names.bytes % static_cast<size_t>(name_len) != 0) {
      throw Error(a.where + ": malformed struct (field names: " + std::to_string(names.bytes) + " bytes of " +
                  type_name(names.type) + " with name length " + std::to_string(name_len) + ")");
    }
    pos = names.next;
    const size_t nfields = names.bytes / static_cast<size_t>(name_len);
    for (size_t k = 0; k < nfields; ++k) {
      const char* s = reinterpret_cast<const char*>(base + names.data) + k * static_cast<size_t>(name_len);
      a.field_names.emplace_back(s, strnlen(s, static_cast<size_t>(name_len)));
    }
    for (int64_t i = 0; i < numel; ++i) {
      for (size_t k = 0; k < nfields; ++k) {
        const std::string w =
            a.where + (numel > 1 ? "(" + std::to_string(i + 1) + ")" : std::string()) + "." + a.field_names[k];
        if (pos >= end) throw Error(w + ": truncated (struct ends early)");
        const Element e = element(base, pos, end, w);
        if (e.type != miMATRIX) throw Error(w + ": struct field is " + type_name(e.type) + ", expected miMATRIX");
        a.fields.push_back(matrix(base, e.data, e.data + e.bytes, w, false));
        pos = e.next;
      }
    }
    return a;
  }

  // The file's top-level elements from byte `begin` on: variables, each plain or zlib-compressed.
  void variables(const uint8_t* base, size_t begin, size_t end, std::vector<MatArray>& out) const {
    size_t pos = begin;
    while (pos < end) {
      const std::string where =
          path_ + ": variable " + std::to_string(out.size() + 1) + " (at byte " + std::to_string(pos) + ")";
      if (trailing_zeros(base, pos, end)) return;
      const Element e = element(base, pos, end, where);
      if (e.type == miCOMPRESSED) {
        const std::string inflated = inflate_all(base + e.data, e.bytes, where + ", compressed");
        const auto* ib = reinterpret_cast<const uint8_t*>(inflated.data());
        for (size_t ipos = 0; ipos < inflated.size() && !trailing_zeros(ib, ipos, inflated.size());) {
          const Element inner = element(ib, ipos, inflated.size(), where + ", compressed");
          if (inner.type != miMATRIX) {
            throw Error(where + ": compressed element holds " + type_name(inner.type) + ", expected miMATRIX");
          }
          out.push_back(matrix(ib, inner.data, inner.data + inner.bytes, where, true));
          ipos = inner.next;
        }
      } else if (e.type == miMATRIX) {
        out.push_back(matrix(base, e.data, e.data + e.bytes, where, true));
      } else {
        throw Error(where + ": unexpected " + type_name(e.type) + " element (type " + std::to_string(e.type) +
                    ") at the top level, expected miMATRIX or miCOMPRESSED");
      }
      pos = e.next;
    }
  }

  // Fewer than 8 bytes left, all zero: padding after the last element, not an element.
  static bool trailing_zeros(const uint8_t* base, size_t pos, size_t end) {
    if (end - pos >= 8) return false;
    for (size_t i = pos; i < end; ++i) {
      if (base[i] != 0) return false;
    }
    return true;
  }

 private:
  std::string path_;
  bool swap_;
};

}  // namespace

const char* mat_class_name(MatClass cls) {
  switch (cls) {
    case MatClass::Cell: return "cell";
    case MatClass::Struct: return "struct";
    case MatClass::Object: return "object";
    case MatClass::Char: return "char";
    case MatClass::Sparse: return "sparse";
    case MatClass::Double: return "double";
    case MatClass::Single: return "single";
    case MatClass::Int8: return "int8";
    case MatClass::UInt8: return "uint8";
    case MatClass::Int16: return "int16";
    case MatClass::UInt16: return "uint16";
    case MatClass::Int32: return "int32";
    case MatClass::UInt32: return "uint32";
    case MatClass::Int64: return "int64";
    case MatClass::UInt64: return "uint64";
    case MatClass::Function: return "function_handle";
    case MatClass::Opaque: return "opaque object";
    case MatClass::Unknown: break;
  }
  return "unknown class";
}

int64_t MatArray::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

bool MatArray::is_numeric() const { return unsupported.empty() && is_numeric_class(cls); }

bool MatArray::is_vector() const {
  int non_singleton = 0;
  for (int64_t d : dims) non_singleton += d != 1;
  return non_singleton <= 1 || numel() == 0;
}

std::string MatArray::describe() const {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s + " " + (logical ? "logical" : mat_class_name(cls));
}

const std::vector<double>& MatArray::as_numbers() const {
  if (!unsupported.empty()) throw Error(where + ": is " + unsupported);
  if (!is_numeric()) throw Error(where + ": expected a numeric array, got " + describe());
  return numbers;
}

std::vector<int64_t> MatArray::as_integers() const {
  const auto& values = as_numbers();
  std::vector<int64_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) > 9007199254740992.0) {
      throw Error(where + ": element " + std::to_string(i + 1) + " is " + std::to_string(v) +
                  ", expected a whole number");
    }
    out[i] = static_cast<int64_t>(v);
  }
  return out;
}

std::string MatArray::as_string() const {
  if (!unsupported.empty()) throw Error(where + ": is " + unsupported);
  const bool row = dims.size() == 2 && (dims[0] == 1 || numel() == 0);
  if (cls != MatClass::Char || !row) throw Error(where + ": expected a char row vector (a string), got " + describe());
  std::string out;
  for (char32_t c : chars) append_utf8(out, c);
  return out;
}

std::vector<std::string> MatArray::as_strings() const {
  if (!unsupported.empty()) throw Error(where + ": is " + unsupported);
  if (cls != MatClass::Cell) throw Error(where + ": expected a cell array of strings, got " + describe());
  std::vector<std::string> out;
  out.reserve(cells.size());
  for (const auto& c : cells) out.push_back(c.as_string());
  return out;
}

const MatArray& MatArray::cell(size_t i) const {
  if (!unsupported.empty()) throw Error(where + ": is " + unsupported);
  if (cls != MatClass::Cell) throw Error(where + ": expected a cell array, got " + describe());
  if (i >= cells.size()) {
    throw Error(where + ": cell index " + std::to_string(i + 1) + " is out of range (" + std::to_string(cells.size()) +
                " elements)");
  }
  return cells[i];
}

bool MatArray::has_field(const std::string& name) const {
  return cls == MatClass::Struct && std::find(field_names.begin(), field_names.end(), name) != field_names.end();
}

const MatArray& MatArray::field(const std::string& name, size_t element) const {
  if (!unsupported.empty()) throw Error(where + ": is " + unsupported);
  if (cls != MatClass::Struct) throw Error(where + ": expected a struct, got " + describe());
  const auto it = std::find(field_names.begin(), field_names.end(), name);
  if (it == field_names.end()) {
    std::string names;
    for (const auto& n : field_names) names += (names.empty() ? "" : ", ") + n;
    throw Error(where + ": struct has no field '" + name + "' (fields: " + names + ")");
  }
  const auto n = static_cast<size_t>(numel());
  if (element >= n) {
    throw Error(where + ": struct element " + std::to_string(element + 1) + " is out of range (" + std::to_string(n) +
                " elements)");
  }
  return fields[element * field_names.size() + static_cast<size_t>(it - field_names.begin())];
}

const MatArray* MatFile::find(const std::string& name) const {
  for (const auto& v : variables) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

const MatArray& MatFile::at(const std::string& name) const {
  if (const MatArray* v = find(name)) return *v;
  std::string names;
  for (const auto& v : variables) names += (names.empty() ? "" : ", ") + v.name;
  throw Error(path + ": no variable '" + name + "' (variables: " + (names.empty() ? "none" : names) + ")");
}

MatFile parse_mat_v5(std::string_view bytes, const std::string& path) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const std::string_view text = bytes.substr(0, std::min<size_t>(bytes.size(), 116));
  const bool hdf5_signature = bytes.size() >= 520 && bytes.substr(512, 8) == std::string_view("\x89HDF\r\n\x1a\n", 8);
  if (text.rfind("MATLAB 7.3 MAT-file", 0) == 0 || hdf5_signature || bytes.rfind("\x89HDF\r\n\x1a\n", 0) == 0) {
    throw Error(path + ": MATLAB v7.3 MAT-file (HDF5), not a v5 MAT-file; it is read with the HDF5 library");
  }
  if (bytes.size() < 128) {
    throw Error(path + ": not a MATLAB v5 MAT-file (" + std::to_string(bytes.size()) +
                " bytes, shorter than the 128-byte header)");
  }
  const std::string_view endian = bytes.substr(126, 2);
  if (endian != "IM" && endian != "MI") {
    throw Error(path + ": not a MATLAB v5 MAT-file (no 'IM'/'MI' endian indicator at byte 126; " +
                (text.rfind("MATLAB", 0) == 0 ? "unknown MAT-file version" : "MATLAB v4 files are not supported") +
                ")");
  }
  const bool swap = endian == "MI";  // written on a big-endian machine (this reader runs on little-endian hosts)
  uint16_t version;
  std::memcpy(&version, data + 124, 2);
  if (swap) version = __builtin_bswap16(version);
  if (version != 0x0100) {
    throw Error(path + ": unsupported MAT-file version 0x" + [&] {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%04x", version);
      return std::string(buf);
    }() + " (expected 0x0100, MATLAB v5/v6/v7)");
  }
  MatFile file;
  file.path = path;
  file.header = std::string(text);
  while (!file.header.empty() && (file.header.back() == ' ' || file.header.back() == '\0')) file.header.pop_back();
  Parser parser(path, swap);
  parser.variables(data, 128, bytes.size(), file.variables);
  return file;
}

MatFile read_mat_v5(const std::string& path) {
  const std::string bytes = read_file(path);
  return parse_mat_v5(bytes, path);
}

}  // namespace rgbdseg::matlab
