#pragma once
// Reading and writing safetensors files (https://github.com/huggingface/safetensors):
//
//   [u64 little-endian N] [N bytes of JSON header, space-padded] [data area]
//   header: {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [..],
//            "data_offsets": [begin, end]}, ...}, offsets relative to the data area.
//
// Torch-free on purpose: tensors are raw little-endian bytes plus dtype and shape,
// so `inspect`, `convert` and the tests need no LibTorch; the model side wraps the
// bytes into torch tensors. Everything read is validated before it is trusted, and
// every problem is an rgbdseg::Error that names the file.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rgbdseg {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

// Bytes per element (Bool is one byte, as in the format).
size_t dtype_size(DType dtype);
// The header spelling: "F64", "F32", ..., "U8", "BOOL".
std::string dtype_name(DType dtype);
// Inverse of dtype_name; nullopt for names this reader does not support.
std::optional<DType> dtype_from_name(std::string_view name);

struct StoredTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // {} is a 0-d scalar (one element)
  std::string bytes;           // row-major elements, little-endian, as in the file
};

// Product of the dims; throws Error on a negative dim or 64-bit overflow.
int64_t num_elements(const StoredTensor& tensor);
// "[2,3,4]", the form used in error messages.
std::string shape_to_string(const std::vector<int64_t>& shape);

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;  // "__metadata__", e.g. {"format": "pt"}
  std::map<std::string, StoredTensor> tensors;        // by name

  // nullptr when there is no tensor of that name.
  const StoredTensor* find(const std::string& name) const;
};

// Reads and validates a whole file. StoredTensor bytes are read straight from the file into
// their tensors, so peak memory is about the file size, not twice it.
SafetensorsFile read_safetensors(const std::string& path);
// The same from bytes in memory; `name_for_errors` starts every error message.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& name_for_errors);

// The file's bytes as the reference (Python/Rust) writer lays them out: metadata first
// (omitted when empty), tensors ordered by element size descending and then by name so
// each tensor stays naturally aligned, header space-padded to a multiple of 8 bytes.
// Throws Error naming the tensor if its bytes do not match its shape and dtype.
std::string serialize_safetensors(const SafetensorsFile& file);
// serialize_safetensors, written atomically (temporary file, then rename).
void write_safetensors(const std::string& path, const SafetensorsFile& file);

// Element-wise conversions for inspection and tests; every dtype is accepted
// (Bool -> 0/1; I64 values beyond 2^53 round when converted to double).
std::vector<double> to_double_vector(const StoredTensor& tensor);
std::vector<float> to_float_vector(const StoredTensor& tensor);
// Integer and Bool tensors only; throws Error for floating dtypes.
std::vector<int64_t> to_int64_vector(const StoredTensor& tensor);

// IEEE half and bfloat16 bit patterns to float (exact: subnormals, inf, nan included).
float f16_to_float(uint16_t bits);
float bf16_to_float(uint16_t bits);

}  // namespace rgbdseg
