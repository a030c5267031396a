// Tests for core/safetensors: round trips, the golden files written by the Python
// safetensors library, corrupted inputs, and half-precision conversion.
#include "rgbdseg/core/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "test_paths.h"

namespace rgbdseg {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename T>
StoredTensor make_tensor(DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  StoredTensor tensor;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.bytes.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
  return tensor;
}

// Runs `action`, which must throw rgbdseg::Error, and returns the message. Any other
// exception escapes and fails the test.
template <typename Action>
std::string error_message(Action&& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected rgbdseg::Error, nothing was thrown";
  return "";
}

// A path under the test temp dir that is removed when the object goes away.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name)
      : path(::testing::TempDir() + "rgbdseg_st_" + std::to_string(::getpid()) + "_" + name) {}
  ~TempFile() { std::remove(path.c_str()); }
};

std::string u64_le(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return bytes;
}

// A file from raw header text and `data_size` filler bytes, bypassing the writer so the
// header can be anything.
std::string raw_file(const std::string& header, size_t data_size) {
  return u64_le(header.size()) + header + std::string(data_size, '\x11');
}

void expect_same_file(const SafetensorsFile& expected, const SafetensorsFile& actual) {
  EXPECT_EQ(expected.metadata, actual.metadata);
  ASSERT_EQ(expected.tensors.size(), actual.tensors.size());
  for (const auto& [name, tensor] : expected.tensors) {
    const StoredTensor* other = actual.find(name);
    ASSERT_NE(other, nullptr) << name;
    EXPECT_EQ(tensor.dtype, other->dtype) << name;
    EXPECT_EQ(tensor.shape, other->shape) << name;
    EXPECT_TRUE(tensor.bytes == other->bytes) << name << ": bytes differ";
  }
}

// One tensor of every dtype, a 0-d scalar, two zero-size tensors and metadata.
SafetensorsFile every_dtype_file() {
  SafetensorsFile file;
  file.metadata = {{"format", "pt"}, {"note", "ünïcode and \"quotes\""}};
  auto& t = file.tensors;
  t["f64"] = make_tensor<double>(DType::F64, {2}, {1.5, -2.25});
  t["f32"] = make_tensor<float>(DType::F32, {2, 2}, {0.f, -1.f, 3.5f, 1e-30f});
  t["f16"] = make_tensor<uint16_t>(DType::F16, {3}, {0x3C00, 0xC000, 0x7C00});
  t["bf16"] = make_tensor<uint16_t>(DType::BF16, {2}, {0x3F80, 0xC000});
  t["i64"] = make_tensor<int64_t>(DType::I64, {2}, {-1, int64_t{1} << 40});
  t["i32"] = make_tensor<int32_t>(DType::I32, {}, {-7});
  t["i16"] = make_tensor<int16_t>(DType::I16, {2}, {-300, 300});
  t["i8"] = make_tensor<int8_t>(DType::I8, {0, 3}, {});
  t["u8"] = make_tensor<uint8_t>(DType::U8, {3}, {0, 128, 255});
  t["bool"] = make_tensor<uint8_t>(DType::Bool, {2}, {0, 1});
  t["empty"] = make_tensor<float>(DType::F32, {0}, {});
  return file;
}

// --- dtypes and small helpers ------------------------------------------------------------

TEST(SafetensorsDType, NamesAndSizesMatchTheFormat) {
  const std::vector<std::tuple<DType, std::string, size_t>> expected = {
      {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
      {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
      {DType::I16, "I16", 2}, {DType::I8, "I8", 1}, {DType::U8, "U8", 1},
      {DType::Bool, "BOOL", 1}};
  for (const auto& [dtype, name, size] : expected) {
    EXPECT_EQ(dtype_name(dtype), name);
    EXPECT_EQ(dtype_size(dtype), size) << name;
    EXPECT_EQ(dtype_from_name(name), dtype) << name;
  }
  EXPECT_EQ(dtype_from_name("F8_E4M3"), std::nullopt);
  EXPECT_EQ(dtype_from_name("f32"), std::nullopt);  // the format is case-sensitive
}

TEST(SafetensorsHelpers, NumElementsAndShapeText) {
  EXPECT_EQ(num_elements(make_tensor<int32_t>(DType::I32, {}, {5})), 1);
  EXPECT_EQ(num_elements(make_tensor<float>(DType::F32, {0, 3}, {})), 0);
  StoredTensor big;
  big.shape = {2, 3, 4};
  EXPECT_EQ(num_elements(big), 24);
  EXPECT_EQ(shape_to_string({}), "[]");
  EXPECT_EQ(shape_to_string({2, 3, 4}), "[2,3,4]");

  big.shape = {2, -1};
  EXPECT_THAT(error_message([&] { num_elements(big); }), HasSubstr("negative dimension"));
  big.shape = {int64_t{1} << 32, int64_t{1} << 32};
  EXPECT_THAT(error_message([&] { num_elements(big); }), HasSubstr("more elements than int64"));
}

TEST(SafetensorsHelpers, FindReturnsNullForMissingNames) {
  const SafetensorsFile file = every_dtype_file();
  ASSERT_NE(file.find("f32"), nullptr);
  EXPECT_EQ(file.find("f32")->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(file.find("nope"), nullptr);
}

// --- half precision, against hand-computed values ----------------------------------------

TEST(SafetensorsHalf, F16BitPatterns) {
  EXPECT_EQ(f16_to_float(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_float(0xC000), -2.0f);
  EXPECT_EQ(f16_to_float(0x3555), 0.333251953125f);  // 1365/4096
  EXPECT_EQ(f16_to_float(0x7BFF), 65504.0f);         // largest finite
  EXPECT_EQ(f16_to_float(0x0400), std::ldexp(1.0f, -14));    // smallest normal
  EXPECT_EQ(f16_to_float(0x0001), std::ldexp(1.0f, -24));    // smallest subnormal
  EXPECT_EQ(f16_to_float(0x03FF), std::ldexp(1023.0f, -24)); // largest subnormal
  EXPECT_EQ(f16_to_float(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_float(0x0000), 0.0f);
  EXPECT_FALSE(std::signbit(f16_to_float(0x0000)));
  EXPECT_TRUE(std::signbit(f16_to_float(0x8000)));
  EXPECT_EQ(f16_to_float(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_float(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_float(0x7E00)));
  EXPECT_TRUE(std::isnan(f16_to_float(0x7C01)));  // smallest NaN payload, not infinity
}

TEST(SafetensorsHalf, BF16BitPatterns) {
  EXPECT_EQ(bf16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_float(0xC000), -2.0f);
  EXPECT_EQ(bf16_to_float(0x4049), 3.140625f);  // 1.5703125 * 2
  EXPECT_EQ(bf16_to_float(0x0080), std::ldexp(1.0f, -126));  // smallest normal
  EXPECT_EQ(bf16_to_float(0x0001), std::ldexp(1.0f, -133));  // smallest subnormal
  EXPECT_EQ(bf16_to_float(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bf16_to_float(0xFF80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_float(0x7FC0)));
  EXPECT_TRUE(std::signbit(bf16_to_float(0x8000)));
}

// --- element conversion ------------------------------------------------------------------

TEST(SafetensorsConvert, EveryDTypeToDouble) {
  const SafetensorsFile file = every_dtype_file();
  const auto doubles = [&](const char* name) { return to_double_vector(*file.find(name)); };
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THAT(doubles("f64"), ElementsAre(1.5, -2.25));
  EXPECT_THAT(doubles("f32"), ElementsAre(0.0, -1.0, 3.5, static_cast<double>(1e-30f)));
  EXPECT_THAT(doubles("f16"), ElementsAre(1.0, -2.0, inf));
  EXPECT_THAT(doubles("bf16"), ElementsAre(1.0, -2.0));
  EXPECT_THAT(doubles("i64"), ElementsAre(-1.0, 1099511627776.0));
  EXPECT_THAT(doubles("i32"), ElementsAre(-7.0));
  EXPECT_THAT(doubles("i16"), ElementsAre(-300.0, 300.0));
  EXPECT_TRUE(doubles("i8").empty());
  EXPECT_THAT(doubles("u8"), ElementsAre(0.0, 128.0, 255.0));
  EXPECT_THAT(doubles("bool"), ElementsAre(0.0, 1.0));
  EXPECT_THAT(to_float_vector(*file.find("f16")), ElementsAre(1.0f, -2.0f, HUGE_VALF));
}

TEST(SafetensorsConvert, IntegersToInt64) {
  EXPECT_THAT(to_int64_vector(make_tensor<int8_t>(DType::I8, {3}, {-128, 0, 127})),
              ElementsAre(-128, 0, 127));
  EXPECT_THAT(to_int64_vector(make_tensor<uint8_t>(DType::U8, {2}, {255, 1})),
              ElementsAre(255, 1));
  EXPECT_THAT(to_int64_vector(make_tensor<uint8_t>(DType::Bool, {3}, {0, 1, 7})),
              ElementsAre(0, 1, 1));
  EXPECT_THAT(to_int64_vector(make_tensor<int64_t>(DType::I64, {1}, {int64_t{1} << 62})),
              ElementsAre(int64_t{1} << 62));  // exact, no detour through double
  EXPECT_THAT(error_message([] {
                to_int64_vector(make_tensor<float>(DType::F32, {1}, {1.f}));
              }),
              HasSubstr("dtype F32 is floating point"));
}

TEST(SafetensorsConvert, RejectsBytesThatDoNotMatchTheShape) {
  StoredTensor tensor = make_tensor<float>(DType::F32, {3}, {1.f, 2.f});
  EXPECT_THAT(error_message([&] { to_double_vector(tensor); }),
              HasSubstr("shape [3] of F32 needs 12 bytes, tensor holds 8"));
}

// --- round trips -------------------------------------------------------------------------

TEST(SafetensorsRoundTrip, EveryDTypeInMemory) {
  const SafetensorsFile original = every_dtype_file();
  const SafetensorsFile parsed = parse_safetensors(serialize_safetensors(original), "mem");
  expect_same_file(original, parsed);
}

TEST(SafetensorsRoundTrip, EveryDTypeThroughAFile) {
  const SafetensorsFile original = every_dtype_file();
  TempFile temp("roundtrip.safetensors");
  write_safetensors(temp.path, original);
  expect_same_file(original, read_safetensors(temp.path));
  EXPECT_EQ(read_file(temp.path), serialize_safetensors(original));
}

TEST(SafetensorsRoundTrip, EmptyFile) {
  const SafetensorsFile parsed = parse_safetensors(serialize_safetensors({}), "empty");
  EXPECT_TRUE(parsed.metadata.empty());
  EXPECT_TRUE(parsed.tensors.empty());
}

// The layout is decoded here with plain JSON, independently of the reader under test.
TEST(SafetensorsWrite, LayoutMatchesTheReferenceWriter) {
  const std::string bytes = serialize_safetensors(every_dtype_file());
  ASSERT_GE(bytes.size(), 8u);
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | uint8_t(bytes[i]);
  EXPECT_EQ(header_length % 8, 0u);
  ASSERT_LE(8 + header_length, bytes.size());
  const std::string header_text = bytes.substr(8, header_length);
  EXPECT_EQ(header_text.front(), '{');
  EXPECT_EQ(header_text.find_last_not_of(' '), header_text.rfind('}'));  // space padding

  const auto header = nlohmann::ordered_json::parse(header_text);
  const std::map<std::string, uint64_t> kElementBytes = {
      {"F64", 8}, {"I64", 8}, {"F32", 4}, {"I32", 4}, {"BF16", 2},
      {"F16", 2}, {"I16", 2}, {"BOOL", 1}, {"I8", 1}, {"U8", 1}};
  std::vector<std::string> keys;
  for (const auto& item : header.items()) keys.push_back(item.key());
  // Metadata first, then element size descending, then name.
  EXPECT_THAT(keys, ElementsAre("__metadata__", "f64", "i64", "empty", "f32", "i32", "bf16",
                                "f16", "i16", "bool", "i8", "u8"));
  EXPECT_EQ(header["__metadata__"]["format"], "pt");

  uint64_t expected_begin = 0;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") continue;
    const uint64_t begin = item.value()["data_offsets"][0];
    const uint64_t end = item.value()["data_offsets"][1];
    EXPECT_EQ(begin, expected_begin) << item.key() << ": spans must be contiguous";
    EXPECT_EQ(begin % kElementBytes.at(item.value()["dtype"]), 0u) << item.key() << ": misaligned";
    expected_begin = end;
  }
  EXPECT_EQ(8 + header_length + expected_begin, bytes.size());
}

TEST(SafetensorsWrite, RejectsInconsistentTensors) {
  SafetensorsFile file;
  file.tensors["w"] = make_tensor<float>(DType::F32, {2}, {1.f});
  EXPECT_THAT(error_message([&] { serialize_safetensors(file); }),
              HasSubstr("tensor 'w': shape [2] of F32 needs 8 bytes, tensor holds 4"));

  file.tensors["w"] = make_tensor<float>(DType::F32, {-1}, {});
  EXPECT_THAT(error_message([&] { serialize_safetensors(file); }),
              HasSubstr("tensor 'w': shape [-1] has a negative dimension"));

  file.tensors["w"] = make_tensor<float>(DType::F32, {int64_t{1} << 31, int64_t{1} << 31}, {});
  EXPECT_THAT(error_message([&] { serialize_safetensors(file); }),
              HasSubstr("tensor 'w': shape [2147483648,2147483648] of F32 has a byte size that "
                        "overflows 64 bits"));

  file.tensors.clear();
  file.tensors["__metadata__"] = make_tensor<float>(DType::F32, {}, {1.f});
  EXPECT_THAT(error_message([&] { serialize_safetensors(file); }), HasSubstr("reserved"));
}

TEST(SafetensorsWrite, ErrorsNameThePath) {
  SafetensorsFile file;
  file.tensors["w"] = make_tensor<float>(DType::F32, {2}, {1.f});
  const std::string path = ::testing::TempDir() + "rgbdseg_st_bad.safetensors";
  EXPECT_THAT(error_message([&] { write_safetensors(path, file); }),
              AllOf(HasSubstr(path), HasSubstr("tensor 'w'")));
  EXPECT_FALSE(file_exists(path));  // nothing half-written

  const std::string missing_dir = ::testing::TempDir() + "rgbdseg_no_such_dir/x.safetensors";
  EXPECT_THAT(error_message([&] { write_safetensors(missing_dir, every_dtype_file()); }),
              HasSubstr(missing_dir));
}

// --- golden files written by the Python safetensors library ------------------------------
// Counts, names, shapes and values below were read with a separate Python json+struct
// script, not with the code under test.

// Serialising what was read must reproduce the Python writer's bytes exactly, and
// parsing that again must give the same tensors.
void expect_rewrites_identically(const std::string& path, const SafetensorsFile& file) {
  const std::string original = read_file(path);
  const std::string rewritten = serialize_safetensors(file);
  EXPECT_EQ(rewritten.size(), original.size());
  EXPECT_TRUE(rewritten == original) << path << ": re-serialised bytes differ";
  expect_same_file(file, parse_safetensors(rewritten, path));
  expect_same_file(file, parse_safetensors(original, path));
}

TEST(SafetensorsGolden, M2fTinyWeights) {
  RGBDSEG_REQUIRE_SHARED(path, "golden/m2f_tiny/weights.safetensors");
  const SafetensorsFile file = read_safetensors(path);
  EXPECT_EQ(file.tensors.size(), 298u);
  EXPECT_EQ(file.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));

  const StoredTensor* index = file.find(
      "model.pixel_level_module.encoder.encoder.layers.0.blocks.0.attention.self."
      "relative_position_index");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->dtype, DType::I64);
  EXPECT_EQ(index->shape, (std::vector<int64_t>{49, 49}));
  const std::vector<int64_t> values = to_int64_vector(*index);
  ASSERT_EQ(values.size(), 49u * 49u);
  EXPECT_THAT(std::vector<int64_t>(values.begin(), values.begin() + 4),
              ElementsAre(84, 83, 82, 81));
  int64_t sum = 0;
  for (int64_t v : values) sum += v;
  EXPECT_EQ(sum, 201684);

  const StoredTensor* queries = file.find("model.transformer_module.queries_embedder.weight");
  ASSERT_NE(queries, nullptr);
  EXPECT_EQ(queries->dtype, DType::F32);
  EXPECT_EQ(queries->shape, (std::vector<int64_t>{10, 64}));
  const std::vector<float> q = to_float_vector(*queries);
  EXPECT_FLOAT_EQ(q[0], 0.9819220304489136f);
  EXPECT_FLOAT_EQ(q[1], -0.734009861946106f);
  expect_rewrites_identically(path, file);
}

TEST(SafetensorsGolden, M2fTinyIo) {
  RGBDSEG_REQUIRE_SHARED(path, "golden/m2f_tiny/io.safetensors");
  const SafetensorsFile file = read_safetensors(path);
  EXPECT_EQ(file.tensors.size(), 58u);
  EXPECT_TRUE(file.metadata.empty());
  ASSERT_NE(file.find("post.0.masks"), nullptr);
  EXPECT_EQ(file.find("post.0.masks")->dtype, DType::U8);
  EXPECT_EQ(file.find("post.0.masks")->shape, (std::vector<int64_t>{10, 96, 128}));
  ASSERT_NE(file.find("debug.pixel_decoder.spatial_shapes"), nullptr);
  EXPECT_THAT(to_int64_vector(*file.find("debug.pixel_decoder.spatial_shapes")),
              ElementsAre(3, 4, 6, 8, 12, 16));
  ASSERT_NE(file.find("post.0.labels"), nullptr);
  EXPECT_THAT(to_int64_vector(*file.find("post.0.labels")),
              ElementsAre(5, 5, 0, 0, 6, 5, 1, 6, 5, 5));
  const StoredTensor* scores = file.find("post.0.scores_rounded6");
  ASSERT_NE(scores, nullptr);
  EXPECT_EQ(scores->dtype, DType::F64);
  const std::vector<double> s = to_double_vector(*scores);
  ASSERT_EQ(s.size(), 10u);
  EXPECT_DOUBLE_EQ(s[0], 0.432521);
  EXPECT_DOUBLE_EQ(s[1], 0.757261);
  expect_rewrites_identically(path, file);
}

TEST(SafetensorsGolden, M2fTinyLoss) {
  RGBDSEG_REQUIRE_SHARED(path, "golden/m2f_tiny/loss.safetensors");
  const SafetensorsFile file = read_safetensors(path);
  EXPECT_EQ(file.tensors.size(), 114u);
  ASSERT_NE(file.find("targets.mask_labels.0"), nullptr);
  EXPECT_EQ(file.find("targets.mask_labels.0")->dtype, DType::F32);
  EXPECT_EQ(file.find("targets.mask_labels.0")->shape, (std::vector<int64_t>{3, 96, 128}));
  ASSERT_NE(file.find("match.aux0.0.pred"), nullptr);
  EXPECT_THAT(to_int64_vector(*file.find("match.aux0.0.pred")), ElementsAre(5, 6, 8));
  ASSERT_NE(file.find("match.aux0.0.tgt"), nullptr);
  EXPECT_THAT(to_int64_vector(*file.find("match.aux0.0.tgt")), ElementsAre(1, 2, 0));
  expect_rewrites_identically(path, file);
}

TEST(SafetensorsGolden, SeedDepth) {
  RGBDSEG_REQUIRE_SHARED(path, "golden/seed_depth/seed_depth.safetensors");
  const SafetensorsFile file = read_safetensors(path);
  EXPECT_EQ(file.tensors.size(), 42u);
  const StoredTensor* depth = file.find("depth_mm");
  ASSERT_NE(depth, nullptr);
  EXPECT_EQ(depth->dtype, DType::I32);
  EXPECT_EQ(depth->shape, (std::vector<int64_t>{480, 640}));
  EXPECT_EQ(to_int64_vector(*depth).front(), 2752);
  ASSERT_NE(file.find("r0p255.region_masks_pooled_40"), nullptr);
  EXPECT_EQ(file.find("r0p255.region_masks_pooled_40")->dtype, DType::U8);
  EXPECT_EQ(file.find("r0p255.region_masks_pooled_40")->shape, (std::vector<int64_t>{4, 40, 40}));
  ASSERT_NE(file.find("minmax.modes"), nullptr);
  const std::vector<double> modes = to_double_vector(*file.find("minmax.modes"));
  ASSERT_EQ(modes.size(), 3u);
  EXPECT_DOUBLE_EQ(modes[0], 1.2690902948379517);
  EXPECT_DOUBLE_EQ(modes[2], 0.9920353889465332);
  const StoredTensor* hist = file.find("hist");
  ASSERT_NE(hist, nullptr);
  int64_t total = 0;
  for (int64_t count : to_int64_vector(*hist)) total += count;
  EXPECT_EQ(total, 409600);  // 640 x 640 pixels
  expect_rewrites_identically(path, file);
}

// --- corrupted inputs --------------------------------------------------------------------

const char* const kEntryA = R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";
const char* const kEntryB = R"("b":{"dtype":"I64","shape":[2],"data_offsets":[24,40]})";
constexpr size_t kDataSize = 40;

// The valid two-tensor file with tensor b's entry (the text after "b":) replaced.
std::string with_b(const std::string& b_value) {
  return raw_file(std::string("{") + kEntryA + R"(,"b":)" + b_value + "}", kDataSize);
}

std::string valid_file() {
  return raw_file(std::string("{") + kEntryA + "," + kEntryB + "}", kDataSize);
}

TEST(SafetensorsCorrupt, BaseFileIsValid) {
  const SafetensorsFile file = parse_safetensors(valid_file(), "base");
  EXPECT_EQ(file.tensors.size(), 2u);
  ASSERT_NE(file.find("b"), nullptr);
  EXPECT_EQ(file.find("b")->bytes, std::string(16, '\x11'));
}

struct CorruptCase {
  std::string label;
  std::string bytes;
  std::string expected;
};

std::vector<CorruptCase> corrupt_cases() {
  const std::string valid = valid_file();
  std::string nested = "1";
  for (int i = 0; i < 20; ++i) nested = "[" + nested + "]";
  return {
      {"Empty", "", "file is 0 bytes, too short for the 8-byte header length"},
      {"ShorterThanLengthPrefix", std::string("\x05\0\0\0\0", 5), "file is 5 bytes"},
      {"TruncatedInHeader", valid.substr(0, 30), "runs past the end of the file (30 bytes"},
      {"HeaderLengthHuge", u64_le(~uint64_t{0}) + valid.substr(8),
       "header length 18446744073709551615 exceeds the limit of 100000000 bytes"},
      {"TruncatedInData", valid.substr(0, valid.size() - 4),
       "tensor 'b': data_offsets [24,40] run past the end of the data area (36 bytes"},
      {"BadJson", raw_file(R"({"a":{"dtype")", 0), "header is not valid JSON"},
      {"HeaderNotObject", raw_file("[1,2,3]", 0), "header is not a JSON object"},
      {"EntryNotObject", with_b("5"), "tensor 'b': entry is not a JSON object"},
      {"MissingDtype", with_b(R"({"shape":[2],"data_offsets":[24,40]})"),
       "tensor 'b': missing \"dtype\""},
      {"MissingShape", with_b(R"({"dtype":"I64","data_offsets":[24,40]})"),
       "tensor 'b': missing \"shape\""},
      {"MissingOffsets", with_b(R"({"dtype":"I64","shape":[2]})"),
       "tensor 'b': missing \"data_offsets\""},
      {"DtypeNotString", with_b(R"({"dtype":8,"shape":[2],"data_offsets":[24,40]})"),
       "tensor 'b': \"dtype\" must be a string, got 8"},
      {"UnknownDtype", with_b(R"({"dtype":"F8_E4M3","shape":[2],"data_offsets":[24,40]})"),
       "tensor 'b': unknown dtype 'F8_E4M3' (valid: F64, F32, F16, BF16, I64, I32, I16, I8, U8, "
       "BOOL)"},
      {"ShapeNotArray", with_b(R"({"dtype":"I64","shape":"2","data_offsets":[24,40]})"),
       "tensor 'b': \"shape\" must be an array of integers, got \"2\""},
      {"ShapeFraction", with_b(R"({"dtype":"I64","shape":[2.5],"data_offsets":[24,40]})"),
       "\"shape\" must be an array of integers, got [2.5]"},
      {"NegativeDim", with_b(R"({"dtype":"I64","shape":[-2],"data_offsets":[24,40]})"),
       "tensor 'b': shape [-2] has a negative dimension"},
      {"ShapeOverflow",
       with_b(R"({"dtype":"I64","shape":[4294967296,4294967296],"data_offsets":[24,40]})"),
       "tensor 'b': shape [4294967296,4294967296] of I64 has a byte size that overflows 64 bits"},
      {"OffsetsNotPair", with_b(R"({"dtype":"I64","shape":[2],"data_offsets":[24]})"),
       "tensor 'b': \"data_offsets\" must be [begin, end] with non-negative integers, got [24]"},
      {"OffsetsNegative", with_b(R"({"dtype":"I64","shape":[2],"data_offsets":[-8,8]})"),
       "must be [begin, end] with non-negative integers, got [-8,8]"},
      {"OffsetsFloat", with_b(R"({"dtype":"I64","shape":[2],"data_offsets":[24.0,40]})"),
       "must be [begin, end] with non-negative integers, got [24.0,40]"},
      {"BeginAfterEnd", with_b(R"({"dtype":"I64","shape":[2],"data_offsets":[40,24]})"),
       "tensor 'b': data_offsets [40,24] have begin 40 > end 24"},
      {"WrongSizeForShape", with_b(R"({"dtype":"I64","shape":[3],"data_offsets":[24,40]})"),
       "tensor 'b': shape [3] of I64 needs 24 bytes but data_offsets [24,40] span 16"},
      {"OffsetsPastEnd", with_b(R"({"dtype":"I64","shape":[3],"data_offsets":[24,48]})"),
       "tensor 'b': data_offsets [24,48] run past the end of the data area (40 bytes"},
      {"OverlappingSpans", with_b(R"({"dtype":"I64","shape":[2],"data_offsets":[16,32]})"),
       "tensors 'a' [0,24] and 'b' [16,32] overlap"},
      {"MetadataNotObject",
       raw_file(std::string(R"({"__metadata__":"pt",)") + kEntryA + "}", kDataSize),
       "__metadata__ must be an object of strings, got \"pt\""},
      {"MetadataValueNotString",
       raw_file(std::string(R"({"__metadata__":{"format":1},)") + kEntryA + "}", kDataSize),
       "__metadata__ value for 'format' is not a string: 1"},
      {"DuplicateName", raw_file(std::string("{") + kEntryA + "," + kEntryA + "}", kDataSize),
       "name 'a' appears twice in the header"},
      {"DeepNesting", with_b(R"({"dtype":"I64","shape":)" + nested + R"(,"data_offsets":[24,40]})"),
       "header JSON is nested deeper than 8 levels"},
  };
}

// Failures print the case's label rather than a byte dump.
void PrintTo(const CorruptCase& c, std::ostream* os) { *os << c.label; }

class SafetensorsCorruptTest : public ::testing::TestWithParam<CorruptCase> {};

TEST_P(SafetensorsCorruptTest, RejectedInMemoryWithItsOwnMessage) {
  const CorruptCase& c = GetParam();
  EXPECT_THAT(error_message([&] { parse_safetensors(c.bytes, "corrupt.safetensors"); }),
              AllOf(HasSubstr("corrupt.safetensors: "), HasSubstr(c.expected)));
}

// The file reader takes another path to the bytes (seek + read), so it is checked too.
TEST_P(SafetensorsCorruptTest, RejectedFromDiskWithItsOwnMessage) {
  const CorruptCase& c = GetParam();
  TempFile temp(c.label + ".safetensors");
  write_file_atomic(temp.path, c.bytes);
  EXPECT_THAT(error_message([&] { read_safetensors(temp.path); }),
              AllOf(HasSubstr(temp.path + ": "), HasSubstr(c.expected)));
}

INSTANTIATE_TEST_SUITE_P(Safetensors, SafetensorsCorruptTest, ::testing::ValuesIn(corrupt_cases()),
                         [](const auto& info) { return info.param.label; });

TEST(SafetensorsCorrupt, EveryTruncationIsRejected) {
  const std::string bytes = serialize_safetensors(every_dtype_file());
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_THROW(parse_safetensors(std::string_view(bytes).substr(0, length), "cut"), Error)
        << "prefix of " << length << " bytes was accepted";
  }
}

// Random byte changes must end in a clean parse or an rgbdseg::Error: never another
// exception, a crash or an out-of-bounds read (run under ASan to see the last).
TEST(SafetensorsCorrupt, RandomByteChangesNeverEscapeAsOtherErrors) {
  const std::string valid = serialize_safetensors(every_dtype_file());
  std::mt19937 rng(1234);
  std::uniform_int_distribution<size_t> position(0, valid.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = valid;
    for (int k = 0; k < 1 + trial % 3; ++k) bytes[position(rng)] = static_cast<char>(byte(rng));
    try {
      parse_safetensors(bytes, "fuzz");
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1500) << "of 3000";  // most changes land in the header and are caught
}

TEST(SafetensorsRead, DirectoryNamesThePath) {
  const std::string dir = ::testing::TempDir();
  EXPECT_THAT(error_message([&] { read_safetensors(dir); }),
              AllOf(HasSubstr(dir + ": "), HasSubstr("directory")));
}

TEST(SafetensorsRead, MissingFileNamesThePath) {
  const std::string path = ::testing::TempDir() + "rgbdseg_st_missing.safetensors";
  EXPECT_THAT(error_message([&] { read_safetensors(path); }),
              AllOf(HasSubstr(path), HasSubstr("cannot open")));
}

}  // namespace
}  // namespace rgbdseg
