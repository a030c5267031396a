#pragma once
// A small reader for MATLAB v5 MAT-files (what `save`, `save -v6` and `save -v7`
// write; also scipy.io.savemat and Octave's -mat), enough for the NYU Depth V2
// metadata: splits.mat (uint16 index vectors), classMapping40.mat (cell arrays of
// strings, numeric vectors) and class13Mapping.mat (a struct of a vector and a
// cell array).
//
// Read: numeric and logical arrays of any class and storage type, char arrays
// (UTF-8/16/32 or uint8/uint16 storage), cell arrays, structs and struct arrays,
// zlib-compressed variables (miCOMPRESSED), little- and big-endian files.
// Recognised but unusable: complex, sparse, objects, function handles; such an
// array loads with `unsupported` set, and using it is an error naming it, so
// one exotic variable never prevents reading the others.
// MATLAB v7.3 files are HDF5 (read them with the HDF5 library) and MATLAB v4
// files have no header; both are refused with a message saying what they are.
//
// Every error names the file and the element ("splits.mat: trainNdxs: ...",
// "class13Mapping.mat: classMapping13.classNames{3}: ...").
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rgbdseg::matlab {

// MATLAB's array classes (mxClassID).
enum class MatClass : uint8_t {
  Cell = 1,
  Struct = 2,
  Object = 3,
  Char = 4,
  Sparse = 5,
  Double = 6,
  Single = 7,
  Int8 = 8,
  UInt8 = 9,
  Int16 = 10,
  UInt16 = 11,
  Int32 = 12,
  UInt32 = 13,
  Int64 = 14,
  UInt64 = 15,
  Function = 16,
  Opaque = 17,
  Unknown = 255,
};

// "double", "uint16", "cell", ... ("logical" is a uint8 array with the logical flag).
const char* mat_class_name(MatClass cls);

struct MatArray {
  std::string name;   // variable name at the top level, "" inside cells and structs
  std::string where;  // "<file>: <path>", e.g. "splits.mat: trainNdxs" or "x.mat: s.names{2}"
  MatClass cls = MatClass::Double;
  bool logical = false;
  std::vector<int64_t> dims;  // MATLAB dimensions, at least two

  // Exactly one of these holds the content, by class (all column-major, as MATLAB stores them):
  std::vector<double> numbers;           // numeric and logical arrays
  std::u32string chars;                  // char arrays, as Unicode code points
  std::vector<MatArray> cells;           // cell arrays
  std::vector<std::string> field_names;  // structs: field names in file order ...
  std::vector<MatArray> fields;          // ... and values, element-major: fields[e * field_names.size() + f]

  // Non-empty when the array cannot be used (complex, sparse, object, ...): why.
  std::string unsupported;

  int64_t numel() const;
  bool is_numeric() const;       // a numeric or logical class (and supported)
  bool is_vector() const;        // all dimensions but at most one are 1 (empty arrays count)
  std::string describe() const;  // "795x1 uint16", "1x40 cell", "1x1 struct"

  // Typed access; each throws Error("<where>: expected ..., got <describe()>").
  // Numeric values in column-major order (integers up to 2^53 are exact).
  const std::vector<double>& as_numbers() const;
  // Numeric values that must all be whole numbers (e.g. indices, class ids).
  std::vector<int64_t> as_integers() const;
  // A char row vector (or an empty char array) as UTF-8.
  std::string as_string() const;
  // A cell array whose elements are char row vectors, in column-major order.
  std::vector<std::string> as_strings() const;
  // Element i (0-based, column-major) of a cell array.
  const MatArray& cell(size_t i) const;
  // Field `name` of struct element `element` (0-based).
  bool has_field(const std::string& name) const;
  const MatArray& field(const std::string& name, size_t element = 0) const;
};

struct MatFile {
  std::string path;
  std::string header;               // the descriptive text, trailing blanks removed
  std::vector<MatArray> variables;  // in file order

  const MatArray* find(const std::string& name) const;  // nullptr when absent
  // Throws Error("<path>: no variable 'x' (variables: a, b)") when absent.
  const MatArray& at(const std::string& name) const;
};

// Reads a MATLAB v5 MAT-file. Throws Error naming the file (and the element)
// when it is missing, not a v5 MAT-file, truncated or malformed.
MatFile read_mat_v5(const std::string& path);

// The same from bytes in memory; `path` is used in messages only.
MatFile parse_mat_v5(std::string_view bytes, const std::string& path);

}  // namespace rgbdseg::matlab
