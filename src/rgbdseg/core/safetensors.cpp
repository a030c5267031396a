#include "rgbdseg/core/safetensors.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"

// StoredTensor bytes are copied into native integers and floats with memcpy, which is only
// right where native order is the file's little-endian order.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rgbdseg safetensors support assumes a little-endian host"
#endif

namespace rgbdseg {
namespace {

using nlohmann::json;

constexpr uint64_t kLengthPrefixBytes = 8;
// The Rust reference refuses larger headers too (MAX_HEADER_SIZE); a corrupt length
// must not make us allocate gigabytes before we can tell it is garbage.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A valid header nests three containers deep (root, entry, shape); anything much deeper
// is garbage, and refusing it early bounds the parser's work.
constexpr int kMaxJsonDepth = 8;
constexpr const char* kMetadataKey = "__metadata__";

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr std::array<DTypeInfo, 10> kDTypes = {{
    {DType::F64, "F64", 8},
    {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8},
    {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},
    {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},
    {DType::Bool, "BOOL", 1},
}};

const DTypeInfo& dtype_info(DType dtype) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  throw Error("invalid DType value " + std::to_string(static_cast<int>(dtype)));
}

std::string valid_dtype_names() {
  std::string names;
  for (const DTypeInfo& info : kDTypes) {
    if (!names.empty()) names += ", ";
    names += info.name;
  }
  return names;
}

// Product of non-negative dims times `element_size`; nullopt on 64-bit overflow.
std::optional<uint64_t> checked_byte_count(const std::vector<int64_t>& shape,
                                           uint64_t element_size) {
  uint64_t count = element_size;
  for (int64_t dim : shape) {
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count)) return std::nullopt;
  }
  return count;
}

std::string span_to_string(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + "," + std::to_string(end) + "]";
}

// ---------------------------------------------------------------------------------------
// Header parsing. Functions here throw Error with the problem only; the public entry
// points prepend the file name.

// One tensor's validated header entry; its bytes are fetched afterwards.
struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;  // relative to the data area
  uint64_t end;
};

struct Header {
  std::map<std::string, std::string> metadata;
  std::vector<Entry> entries;  // sorted by data offset
};

uint64_t decode_u64_le(std::string_view eight_bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(eight_bytes[i]);
  }
  return value;
}

void check_header_length(uint64_t header_length, uint64_t file_size) {
  if (header_length > kMaxHeaderBytes) {
    throw Error("header length " + std::to_string(header_length) + " exceeds the limit of " +
                std::to_string(kMaxHeaderBytes) + " bytes (corrupt or not a safetensors file)");
  }
  if (header_length > file_size - kLengthPrefixBytes) {
    throw Error("header length " + std::to_string(header_length) +
                " runs past the end of the file (" + std::to_string(file_size) +
                " bytes; truncated?)");
  }
}

// Parses the header JSON, refusing duplicate top-level names (which a plain parse would
// silently collapse, hiding one tensor) and absurd nesting.
json parse_header_json(std::string_view text) {
  std::set<std::string> seen_names;
  auto check_event = [&](int depth, json::parse_event_t event, json& parsed) {
    const bool opens = event == json::parse_event_t::object_start ||
                       event == json::parse_event_t::array_start;
    if (opens && depth > kMaxJsonDepth) {
      throw Error("header JSON is nested deeper than " + std::to_string(kMaxJsonDepth) +
                  " levels");
    }
    if (event == json::parse_event_t::key && depth == 1 &&
        !seen_names.insert(parsed.get<std::string>()).second) {
      throw Error("name '" + parsed.get<std::string>() + "' appears twice in the header");
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check_event);
  } catch (const json::exception& e) {
    throw Error(std::string("header is not valid JSON (") + e.what() + ")");
  }
}

std::map<std::string, std::string> parse_metadata(const json& value) {
  if (!value.is_object()) {
    throw Error(std::string(kMetadataKey) + " must be an object of strings, got " + value.dump());
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      throw Error(std::string(kMetadataKey) + " value for '" + key + "' is not a string: " +
                  item.dump());
    }
    metadata[key] = item.get<std::string>();
  }
  return metadata;
}

[[noreturn]] void entry_error(const std::string& name, const std::string& problem) {
  throw Error("tensor '" + name + "': " + problem);
}

const json& required_field(const std::string& name, const json& entry, const char* field) {
  const auto it = entry.find(field);
  if (it == entry.end()) entry_error(name, std::string("missing \"") + field + "\"");
  return *it;
}

// nlohmann stores parsed non-negative integers as unsigned, negative ones as signed,
// and anything with a fraction or exponent (or beyond 64 bits) as a float.
std::optional<uint64_t> as_non_negative_integer(const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return value.get<int64_t>();
  return std::nullopt;
}

DType parse_dtype_field(const std::string& name, const json& entry) {
  const json& field = required_field(name, entry, "dtype");
  if (!field.is_string()) entry_error(name, "\"dtype\" must be a string, got " + field.dump());
  const std::optional<DType> dtype = dtype_from_name(field.get<std::string>());
  if (!dtype) {
    entry_error(name, "unknown dtype '" + field.get<std::string>() + "' (valid: " +
                          valid_dtype_names() + ")");
  }
  return *dtype;
}

std::vector<int64_t> parse_shape_field(const std::string& name, const json& entry) {
  const json& field = required_field(name, entry, "shape");
  const std::string must_be = "\"shape\" must be an array of integers, got ";
  if (!field.is_array()) entry_error(name, must_be + field.dump());
  std::vector<int64_t> shape;
  for (const json& dim : field) {
    if (!dim.is_number_integer()) entry_error(name, must_be + field.dump());
    const std::optional<uint64_t> size = as_non_negative_integer(dim);
    if (!size) entry_error(name, "shape " + field.dump() + " has a negative dimension");
    if (*size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      entry_error(name, "shape " + field.dump() + " has a dimension that overflows int64");
    }
    shape.push_back(static_cast<int64_t>(*size));
  }
  return shape;
}

std::pair<uint64_t, uint64_t> parse_offsets_field(const std::string& name, const json& entry) {
  const json& field = required_field(name, entry, "data_offsets");
  std::optional<uint64_t> begin, end;
  if (field.is_array() && field.size() == 2) {
    begin = as_non_negative_integer(field[0]);
    end = as_non_negative_integer(field[1]);
  }
  if (!begin || !end) {
    entry_error(name, "\"data_offsets\" must be [begin, end] with non-negative integers, got " +
                          field.dump());
  }
  if (*begin > *end) {
    entry_error(name, "data_offsets " + field.dump() + " have begin " + std::to_string(*begin) +
                          " > end " + std::to_string(*end));
  }
  return {*begin, *end};
}

Entry parse_entry(const std::string& name, const json& value, uint64_t data_size) {
  if (!value.is_object()) entry_error(name, "entry is not a JSON object: " + value.dump());
  Entry entry{name, parse_dtype_field(name, value), parse_shape_field(name, value), 0, 0};
  std::tie(entry.begin, entry.end) = parse_offsets_field(name, value);

  const std::string described =
      "shape " + shape_to_string(entry.shape) + " of " + dtype_name(entry.dtype);
  const std::optional<uint64_t> needed = checked_byte_count(entry.shape, dtype_size(entry.dtype));
  if (!needed) entry_error(name, described + " has a byte size that overflows 64 bits");
  const uint64_t span = entry.end - entry.begin;
  if (*needed != span) {
    entry_error(name, described + " needs " + std::to_string(*needed) + " bytes but data_offsets " +
                          span_to_string(entry.begin, entry.end) + " span " +
                          std::to_string(span));
  }
  if (entry.end > data_size) {
    entry_error(name, "data_offsets " + span_to_string(entry.begin, entry.end) +
                          " run past the end of the data area (" + std::to_string(data_size) +
                          " bytes; truncated?)");
  }
  return entry;
}

// Sorts entries by offset and refuses shared bytes: two tensors aliasing one range is
// corruption. Holes are accepted (the reference writer never leaves any, but nothing is
// misread because of one); empty tensors share no bytes and may sit anywhere.
void sort_and_check_overlaps(std::vector<Entry>& entries) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  const Entry* previous = nullptr;  // the last non-empty span, which ends furthest
  for (const Entry& entry : entries) {
    if (entry.begin == entry.end) continue;
    if (previous != nullptr && entry.begin < previous->end) {
      throw Error("tensors '" + previous->name + "' " +
                  span_to_string(previous->begin, previous->end) + " and '" + entry.name +
                  "' " + span_to_string(entry.begin, entry.end) + " overlap");
    }
    previous = &entry;
  }
}

Header parse_header(std::string_view text, uint64_t data_size) {
  const json root = parse_header_json(text);
  if (!root.is_object()) throw Error("header is not a JSON object");
  Header header;
  for (const auto& [name, value] : root.items()) {
    if (name == kMetadataKey) {
      header.metadata = parse_metadata(value);
    } else {
      header.entries.push_back(parse_entry(name, value, data_size));
    }
  }
  sort_and_check_overlaps(header.entries);
  return header;
}

// Returns exactly `size` bytes starting at `offset` of the input, or throws Error.
using ReadRange = std::function<std::string(uint64_t offset, uint64_t size)>;

// The whole reader, over any byte source, so files and memory share one validation path.
SafetensorsFile parse_from(uint64_t total_size, const ReadRange& read_range) {
  if (total_size < kLengthPrefixBytes) {
    throw Error("file is " + std::to_string(total_size) +
                " bytes, too short for the 8-byte header length");
  }
  const uint64_t header_length = decode_u64_le(read_range(0, kLengthPrefixBytes));
  check_header_length(header_length, total_size);
  const uint64_t data_start = kLengthPrefixBytes + header_length;
  Header header = parse_header(read_range(kLengthPrefixBytes, header_length),
                               total_size - data_start);

  SafetensorsFile file;
  file.metadata = std::move(header.metadata);
  for (Entry& entry : header.entries) {
    StoredTensor& tensor = file.tensors[entry.name];
    tensor.dtype = entry.dtype;
    tensor.shape = std::move(entry.shape);
    tensor.bytes = read_range(data_start + entry.begin, entry.end - entry.begin);
  }
  return file;
}

// ---------------------------------------------------------------------------------------
// Writing and conversion.

// Byte size implied by shape and dtype; throws Error when `bytes` disagrees.
size_t checked_byte_size(const StoredTensor& tensor) {
  num_elements(tensor);  // throws on negative dims
  const std::string described = "shape " + shape_to_string(tensor.shape) + " of " +
                                dtype_name(tensor.dtype);
  const std::optional<uint64_t> needed = checked_byte_count(tensor.shape, dtype_size(tensor.dtype));
  if (!needed) throw Error(described + " has a byte size that overflows 64 bits");
  if (*needed != tensor.bytes.size()) {
    throw Error(described + " needs " + std::to_string(*needed) + " bytes, tensor holds " +
                std::to_string(tensor.bytes.size()));
  }
  return static_cast<size_t>(*needed);
}

using NamedTensor = std::pair<const std::string, StoredTensor>;

// The reference writer's order: wider elements first, then by name. With the header
// padded to 8 bytes, every tensor then starts at a multiple of its element size.
std::vector<const NamedTensor*> writing_order(const SafetensorsFile& file) {
  std::vector<const NamedTensor*> order;
  for (const NamedTensor& named : file.tensors) order.push_back(&named);
  std::stable_sort(order.begin(), order.end(), [](const NamedTensor* a, const NamedTensor* b) {
    return dtype_size(a->second.dtype) > dtype_size(b->second.dtype);
  });  // stable: std::map already iterates by name
  return order;
}

std::string encode_u64_le(uint64_t value) {
  std::string bytes(kLengthPrefixBytes, '\0');
  for (size_t i = 0; i < kLengthPrefixBytes; ++i) {
    bytes[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  }
  return bytes;
}

template <typename Stored>
Stored load_element(const std::string& bytes, size_t index) {
  Stored value;
  std::memcpy(&value, bytes.data() + index * sizeof(Stored), sizeof(Stored));
  return value;
}

template <typename Out, typename Stored, typename Convert>
std::vector<Out> convert_each(const std::string& bytes, Convert convert) {
  std::vector<Out> out(bytes.size() / sizeof(Stored));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<Out>(convert(load_element<Stored>(bytes, i)));
  }
  return out;
}

template <typename Out>
std::vector<Out> convert_elements(const StoredTensor& tensor) {
  checked_byte_size(tensor);
  const std::string& b = tensor.bytes;
  const auto same = [](auto value) { return value; };
  switch (tensor.dtype) {
    case DType::F64: return convert_each<Out, double>(b, same);
    case DType::F32: return convert_each<Out, float>(b, same);
    case DType::F16: return convert_each<Out, uint16_t>(b, f16_to_float);
    case DType::BF16: return convert_each<Out, uint16_t>(b, bf16_to_float);
    case DType::I64: return convert_each<Out, int64_t>(b, same);
    case DType::I32: return convert_each<Out, int32_t>(b, same);
    case DType::I16: return convert_each<Out, int16_t>(b, same);
    case DType::I8: return convert_each<Out, int8_t>(b, same);
    case DType::U8: return convert_each<Out, uint8_t>(b, same);
    case DType::Bool: return convert_each<Out, uint8_t>(b, [](uint8_t v) { return v != 0; });
  }
  throw Error("invalid DType value " + std::to_string(static_cast<int>(tensor.dtype)));
}

bool is_floating(DType dtype) {
  return dtype == DType::F64 || dtype == DType::F32 || dtype == DType::F16 ||
         dtype == DType::BF16;
}

}  // namespace

size_t dtype_size(DType dtype) { return dtype_info(dtype).size; }

std::string dtype_name(DType dtype) { return dtype_info(dtype).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (name == info.name) return info.dtype;
  }
  return std::nullopt;
}

int64_t num_elements(const StoredTensor& tensor) {
  for (int64_t dim : tensor.shape) {
    if (dim < 0) {
      throw Error("shape " + shape_to_string(tensor.shape) + " has a negative dimension");
    }
  }
  const std::optional<uint64_t> count = checked_byte_count(tensor.shape, 1);
  if (!count || *count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    throw Error("shape " + shape_to_string(tensor.shape) + " has more elements than int64 holds");
  }
  return static_cast<int64_t>(*count);
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ",";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

const StoredTensor* SafetensorsFile::find(const std::string& name) const {
  const auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open for reading (" + std::strerror(errno) + ")");
  std::error_code size_error;  // also says "Is a directory" where a stream would just fail
  const uintmax_t size = std::filesystem::file_size(path, size_error);
  if (size_error) {
    throw Error(path + ": cannot read as a safetensors file (" + size_error.message() + ")");
  }

  // Reads exactly the requested bytes; a short read means the file changed or failed.
  const ReadRange read_range = [&](uint64_t offset, uint64_t count) {
    std::string bytes(count, '\0');
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(bytes.data(), static_cast<std::streamsize>(count));
    if (!in || static_cast<uint64_t>(in.gcount()) != count) {
      throw Error("read error at bytes " + span_to_string(offset, offset + count));
    }
    return bytes;
  };
  try {
    return parse_from(size, read_range);
  } catch (const Error& e) {
    rethrow_with_context(path, e);
  }
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& name_for_errors) {
  // parse_from checks every range against the size before asking for it.
  const ReadRange read_range = [&](uint64_t offset, uint64_t count) {
    return std::string(bytes.substr(offset, count));
  };
  try {
    return parse_from(bytes.size(), read_range);
  } catch (const Error& e) {
    rethrow_with_context(name_for_errors, e);
  }
}

std::string serialize_safetensors(const SafetensorsFile& file) {
  const std::vector<const NamedTensor*> order = writing_order(file);

  // ordered_json keeps insertion order, which is the data order, as in the reference.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!file.metadata.empty()) header[kMetadataKey] = file.metadata;
  uint64_t offset = 0;
  for (const NamedTensor* named : order) {
    const auto& [name, tensor] = *named;
    if (name == kMetadataKey) throw Error("tensor name '" + name + "' is reserved for metadata");
    size_t size = 0;
    try {
      size = checked_byte_size(tensor);
    } catch (const Error& e) {
      rethrow_with_context("tensor '" + name + "'", e);
    }
    header[name] = {{"dtype", dtype_name(tensor.dtype)},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
  }

  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("tensor names and metadata must be valid UTF-8 (") + e.what() + ")");
  }
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::string out = encode_u64_le(header_text.size());
  out.reserve(out.size() + header_text.size() + offset);
  out += header_text;
  for (const NamedTensor* named : order) out += named->second.bytes;
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  std::string bytes;
  try {
    bytes = serialize_safetensors(file);
  } catch (const Error& e) {
    rethrow_with_context(path, e);
  }
  write_file_atomic(path, bytes);
}

std::vector<double> to_double_vector(const StoredTensor& tensor) {
  return convert_elements<double>(tensor);
}

std::vector<float> to_float_vector(const StoredTensor& tensor) {
  return convert_elements<float>(tensor);
}

std::vector<int64_t> to_int64_vector(const StoredTensor& tensor) {
  if (is_floating(tensor.dtype)) {
    throw Error("to_int64_vector: dtype " + dtype_name(tensor.dtype) +
                " is floating point; expected an integer or BOOL tensor");
  }
  return convert_elements<int64_t>(tensor);
}

float f16_to_float(uint16_t bits) {
  const bool negative = (bits & 0x8000) != 0;
  const int exponent = (bits >> 10) & 0x1F;
  const int mantissa = bits & 0x3FF;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // zero and subnormals
  } else if (exponent == 0x1F) {
    magnitude = mantissa == 0 ? std::numeric_limits<float>::infinity()
                              : std::numeric_limits<float>::quiet_NaN();
  } else {
    // Implicit leading 1, bias 15, 10 mantissa bits: (1024 + m) * 2^(e - 15 - 10).
    magnitude = std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25);
  }
  return negative ? -magnitude : magnitude;
}

float bf16_to_float(uint16_t bits) {
  // bfloat16 is the top half of a float32, so widening is exact.
  const uint32_t widened = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof(value));
  return value;
}

}  // namespace rgbdseg
