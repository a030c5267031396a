// MATLAB v5 MAT-file reader: the real NYU Depth V2 metadata files (compressed
// variables, cell arrays of strings, a struct) and hand-built files (every
// element form, both byte orders), plus the errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/data/matlab_v5.h"
#include "error_message.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace rgbdseg {
namespace {

using matlab::MatArray;
using matlab::MatClass;
using matlab::MatFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Writes MAT-file elements the way the format document describes them, in
// either byte order (uncompressed: the real files cover miCOMPRESSED).
class MatBuilder {
 public:
  explicit MatBuilder(bool big_endian) : be_(big_endian) {}

  template <typename T>
  std::string values(const std::vector<T>& v) const {
    std::string out;
    for (const T& x : v) {
      char b[sizeof(T)];
      std::memcpy(b, &x, sizeof(T));
      if (be_) std::reverse(b, b + sizeof(T));
      out.append(b, sizeof(T));
    }
    return out;
  }
  std::string u32(uint32_t v) const { return values(std::vector<uint32_t>{v}); }

  // A data element; 1..4 payload bytes use the small (4-byte tag) form when allowed.
  std::string element(uint32_t type, const std::string& payload, bool allow_small = true) const {
    if (allow_small && !payload.empty() && payload.size() <= 4) {
      std::string out = u32(static_cast<uint32_t>(payload.size()) << 16 | type) + payload;
      out.resize(8, '\0');
      return out;
    }
    std::string out = u32(type) + u32(static_cast<uint32_t>(payload.size())) + payload;
    out.resize((out.size() + 7) / 8 * 8, '\0');
    return out;
  }

  std::string matrix(uint32_t cls, const std::vector<int32_t>& dims, const std::string& name, const std::string& body,
                     uint32_t flag_bits = 0) const {
    const std::string content = element(6, values(std::vector<uint32_t>{cls | flag_bits, 0})) +
                                element(5, values(dims)) + element(1, name) + body;
    return element(14, content, false);
  }

  std::string file(const std::vector<std::string>& variables) const {
    std::string header = "MATLAB 5.0 MAT-file, Platform: test, Created on: today";
    header.resize(116, ' ');
    header += std::string(8, '\0');
    header += be_ ? std::string("\x01\x00", 2) : std::string("\x00\x01", 2);
    header += be_ ? "MI" : "IM";
    for (const auto& v : variables) header += v;
    return header;
  }

 private:
  bool be_;
};

constexpr uint32_t miINT8 = 1, miUINT8 = 2, miINT16 = 3, miINT32 = 5, miSINGLE = 7, miDOUBLE = 9, miINT64 = 12,
                   miMATRIX = 14, miUTF8 = 16, miUINT16 = 4;
constexpr uint32_t kCell = 1, kStruct = 2, kChar = 4, kDouble = 6, kSingle = 7, kInt16 = 10, kInt64 = 14;

std::string hand_built_file(bool big_endian) {
  MatBuilder b(big_endian);
  std::vector<std::string> vars;
  // 2x3 double stored as uint8 (MATLAB picks the smallest storage type), column-major.
  vars.push_back(b.matrix(kDouble, {2, 3}, "m", b.element(miUINT8, b.values(std::vector<uint8_t>{1, 2, 3, 4, 5, 6}))));
  vars.push_back(b.matrix(kInt16, {1, 3}, "neg", b.element(miINT16, b.values(std::vector<int16_t>{-1, 0, 300}))));
  vars.push_back(b.matrix(kSingle, {1, 2}, "f", b.element(miSINGLE, b.values(std::vector<float>{0.5f, -2.25f}))));
  // Char as UCS-2 (uint16), with a non-ASCII letter, and as a small UTF-8 element.
  vars.push_back(
      b.matrix(kChar, {1, 5}, "s", b.element(miUINT16, b.values(std::vector<uint16_t>{'h', 0xE9, 'l', 'l', 'o'}))));
  vars.push_back(b.matrix(kChar, {1, 2}, "u", b.element(miUTF8, "ab")));
  // Cell {'x', [], 7}: the empty array as a zero-byte miMATRIX, as MATLAB writes it.
  const std::string cells = b.matrix(kChar, {1, 1}, "", b.element(miUTF8, "x")) + b.element(miMATRIX, "", false) +
                            b.matrix(kDouble, {1, 1}, "", b.element(miDOUBLE, b.values(std::vector<double>{7.0})));
  vars.push_back(b.matrix(kCell, {1, 3}, "c", cells));
  // 1x2 struct array with fields a, bb (names padded to 8 bytes each).
  std::string names("a\0\0\0\0\0\0\0bb\0\0\0\0\0\0", 16);
  const auto num = [&](double v) {
    return b.matrix(kDouble, {1, 1}, "", b.element(miDOUBLE, b.values(std::vector<double>{v})));
  };
  const auto chr = [&](const char* t) { return b.matrix(kChar, {1, 1}, "", b.element(miUTF8, t)); };
  vars.push_back(b.matrix(kStruct, {1, 2}, "st",
                          b.element(miINT32, b.values(std::vector<int32_t>{8})) + b.element(miINT8, names) + num(1) +
                              chr("p") + num(2) + chr("q")));
  // Complex double (real and imaginary parts): loads, but is unusable.
  vars.push_back(b.matrix(
      kDouble, {1, 1}, "cx",
      b.element(miDOUBLE, b.values(std::vector<double>{1.0})) + b.element(miDOUBLE, b.values(std::vector<double>{2.0})),
      0x0800));
  // int64 beyond 2^53: not exactly a double.
  vars.push_back(b.matrix(kInt64, {1, 1}, "big", b.element(miINT64, b.values(std::vector<int64_t>{int64_t{1} << 60}))));
  return b.file(vars);
}

TEST(MatlabV5, RealSplitsMat) {
  RGBDSEG_REQUIRE_SHARED(path, "data/nyuv2-samples/meta/splits.mat");
  const MatFile f = matlab::read_mat_v5(path);
  ASSERT_EQ(f.variables.size(), 2u);
  EXPECT_THAT(f.header, HasSubstr("MATLAB 5.0 MAT-file"));
  const MatArray& train = f.at("trainNdxs");
  const MatArray& test = f.at("testNdxs");
  EXPECT_EQ(train.cls, MatClass::Double);  // double, stored as uint16 (scipy reports the storage type)
  EXPECT_THAT(train.dims, ElementsAre(795, 1));
  EXPECT_THAT(test.dims, ElementsAre(654, 1));
  EXPECT_EQ(train.describe(), "795x1 double");
  const std::vector<int64_t> tr = train.as_integers(), te = test.as_integers();
  ASSERT_EQ(tr.size(), 795u);
  ASSERT_EQ(te.size(), 654u);
  // First entries, as scipy.io.loadmat reads them.
  EXPECT_THAT(std::vector<int64_t>(tr.begin(), tr.begin() + 10), ElementsAre(3, 4, 5, 6, 7, 8, 10, 11, 12, 13));
  EXPECT_THAT(std::vector<int64_t>(te.begin(), te.begin() + 10), ElementsAre(1, 2, 9, 14, 15, 16, 17, 18, 21, 28));
  // Together they are 1..1449, each once; frames 1, 2, 9, 14-18 are test frames (data README).
  std::set<int64_t> all(tr.begin(), tr.end());
  all.insert(te.begin(), te.end());
  EXPECT_EQ(all.size(), 1449u);
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), 1449);
  const std::set<int64_t> test_set(te.begin(), te.end());
  for (int64_t frame = 1; frame <= 18; ++frame) {
    const bool is_test = frame == 1 || frame == 2 || frame == 9 || frame >= 14;
    EXPECT_EQ(test_set.count(frame), is_test ? 1u : 0u) << "frame " << frame;
  }
}

TEST(MatlabV5, RealClassMapping40) {
  RGBDSEG_REQUIRE_SHARED(path, "data/nyuv2-samples/meta/classMapping40.mat");
  const MatFile f = matlab::read_mat_v5(path);
  const std::vector<std::string> names = f.at("className").as_strings();
  ASSERT_EQ(names.size(), 40u);
  EXPECT_EQ(names[0], "wall");
  EXPECT_EQ(names[1], "floor");
  EXPECT_EQ(names[3], "bed");
  EXPECT_EQ(names[19], "floor mat");
  EXPECT_EQ(names[21], "ceiling");
  EXPECT_EQ(names[23], "refridgerator");  // sic: the file's own spelling
  EXPECT_EQ(names[39], "otherprop");
  const MatArray& map = f.at("mapClass");
  EXPECT_EQ(map.cls, MatClass::Double);  // double, stored as uint8
  EXPECT_THAT(map.dims, ElementsAre(1, 894));
  const std::vector<int64_t> m = map.as_integers();
  EXPECT_THAT(std::vector<int64_t>(m.begin(), m.begin() + 12),
              ElementsAre(40, 40, 3, 22, 5, 40, 12, 38, 40, 40, 2, 39));
  EXPECT_EQ(*std::min_element(m.begin(), m.end()), 1);
  EXPECT_EQ(*std::max_element(m.begin(), m.end()), 40);
  // The raw names agree with the mapping: ceiling (4) -> 22, floor (11) -> 2, wall (21) -> 1, bed (157) -> 4.
  const std::vector<std::string> raw = f.at("allClassName").as_strings();
  ASSERT_EQ(raw.size(), 894u);
  EXPECT_EQ(raw[3], "ceiling");
  EXPECT_EQ(raw[10], "floor");
  EXPECT_EQ(raw[20], "wall");
  EXPECT_EQ(raw[156], "bed");
  EXPECT_EQ(m[3], 22);
  EXPECT_EQ(m[10], 2);
  EXPECT_EQ(m[20], 1);
  EXPECT_EQ(m[156], 4);
  const MatArray& logical = f.at("mapToNYUSuperClassMat");
  EXPECT_TRUE(logical.logical);
  EXPECT_EQ(logical.describe(), "4x40 logical");
}

TEST(MatlabV5, RealClass13MappingStruct) {
  RGBDSEG_REQUIRE_SHARED(path, "data/nyuv2-samples/meta/class13Mapping.mat");
  const MatFile f = matlab::read_mat_v5(path);
  const MatArray& s = f.at("classMapping13");
  EXPECT_EQ(s.cls, MatClass::Struct);
  EXPECT_THAT(s.field_names, ElementsAre("labels13", "classNames"));
  const std::vector<int64_t> l13 = s.field("labels13").as_integers();
  ASSERT_EQ(l13.size(), 40u);
  EXPECT_THAT(std::vector<int64_t>(l13.begin(), l13.begin() + 10), ElementsAre(12, 5, 6, 1, 4, 9, 10, 12, 13, 6));
  EXPECT_EQ(l13[21], 3);  // NYU40 ceiling -> NYU13 ceiling
  EXPECT_THAT(s.field("classNames").as_strings(),
              ElementsAre("bed", "books", "ceiling", "chair", "floor", "furniture", "objects", "picture", "sofa",
                          "table", "tv", "wall", "window"));
  EXPECT_EQ(s.field("classNames").cell(2).where, path + ": classMapping13.classNames{3}");
}

class MatlabV5ByteOrder : public ::testing::TestWithParam<bool> {};

TEST_P(MatlabV5ByteOrder, HandBuiltElements) {
  const std::string bytes = hand_built_file(GetParam());
  const MatFile f = matlab::parse_mat_v5(bytes, "hand.mat");
  ASSERT_EQ(f.variables.size(), 9u);
  const MatArray& m = f.at("m");
  EXPECT_THAT(m.dims, ElementsAre(2, 3));
  EXPECT_THAT(m.as_numbers(), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_FALSE(m.is_vector());
  EXPECT_THAT(f.at("neg").as_integers(), ElementsAre(-1, 0, 300));
  EXPECT_EQ(f.at("neg").cls, MatClass::Int16);
  EXPECT_THAT(f.at("f").as_numbers(), ElementsAre(0.5, -2.25));
  EXPECT_EQ(f.at("s").as_string(), "h\xC3\xA9llo");
  EXPECT_EQ(f.at("u").as_string(), "ab");
  const MatArray& c = f.at("c");
  ASSERT_EQ(c.cells.size(), 3u);
  EXPECT_EQ(c.cell(0).as_string(), "x");
  EXPECT_EQ(c.cell(1).numel(), 0);
  EXPECT_THAT(c.cell(2).as_numbers(), ElementsAre(7.0));
  EXPECT_THAT(error_message([&] { c.as_strings(); }), HasSubstr("hand.mat: c{2}: expected a char row vector"));
  const MatArray& st = f.at("st");
  EXPECT_THAT(st.dims, ElementsAre(1, 2));
  EXPECT_THAT(st.field_names, ElementsAre("a", "bb"));
  EXPECT_THAT(st.field("a", 0).as_numbers(), ElementsAre(1.0));
  EXPECT_EQ(st.field("bb", 0).as_string(), "p");
  EXPECT_THAT(st.field("a", 1).as_numbers(), ElementsAre(2.0));
  EXPECT_EQ(st.field("bb", 1).as_string(), "q");
  EXPECT_EQ(st.field("bb", 1).where, "hand.mat: st(2).bb");
  EXPECT_THAT(error_message([&] { st.field("zz"); }), HasSubstr("hand.mat: st: struct has no field 'zz' (fields: a, bb)"));
  EXPECT_THAT(error_message([&] { st.field("a", 2); }), HasSubstr("struct element 3 is out of range (2 elements)"));
  // Unusable arrays load, and say why when used.
  EXPECT_THAT(error_message([&] { f.at("cx").as_numbers(); }), HasSubstr("hand.mat: cx: is a complex array"));
  EXPECT_THAT(error_message([&] { f.at("big").as_numbers(); }), HasSubstr("hand.mat: big: is 64-bit integers beyond 2^53"));
}

INSTANTIATE_TEST_SUITE_P(MatlabV5, MatlabV5ByteOrder, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "BigEndian" : "LittleEndian";
                         });

TEST(MatlabV5, AccessorErrorsNameTheElement) {
  const MatFile f = matlab::parse_mat_v5(hand_built_file(false), "hand.mat");
  EXPECT_THAT(error_message([&] { f.at("nope"); }),
              HasSubstr("hand.mat: no variable 'nope' (variables: m, neg, f, s, u, c, st, cx, big)"));
  EXPECT_THAT(error_message([&] { f.at("m").as_string(); }),
              HasSubstr("hand.mat: m: expected a char row vector (a string), got 2x3 double"));
  EXPECT_THAT(error_message([&] { f.at("f").as_integers(); }), HasSubstr("hand.mat: f: element 1 is 0.5"));
  EXPECT_THAT(error_message([&] { f.at("s").as_numbers(); }),
              HasSubstr("hand.mat: s: expected a numeric array, got 1x5 char"));
  EXPECT_THAT(error_message([&] { f.at("c").cell(3); }),
              HasSubstr("hand.mat: c: cell index 4 is out of range (3 elements)"));
}

TEST(MatlabV5, MalformedHandBuiltFiles) {
  MatBuilder b(false);
  // Dimensions say 2x3, the data hold 5 values.
  const std::string short_data =
      b.file({b.matrix(kDouble, {2, 3}, "m", b.element(miDOUBLE, b.values(std::vector<double>{1, 2, 3, 4, 5})))});
  EXPECT_THAT(error_message([&] { matlab::parse_mat_v5(short_data, "x.mat"); }),
              HasSubstr("x.mat: m: 2x3 double array holds 5 values, expected 6"));
  // A cell array that promises 3 elements and has 1.
  const std::string short_cell =
      b.file({b.matrix(kCell, {1, 3}, "c", b.matrix(kChar, {1, 1}, "", b.element(miUTF8, "x")))});
  EXPECT_THAT(error_message([&] { matlab::parse_mat_v5(short_cell, "x.mat"); }), HasSubstr("x.mat: c{2}: truncated"));
  // A top-level element that is not a variable.
  const std::string stray = b.file({b.element(miDOUBLE, b.values(std::vector<double>{1.0}))});
  EXPECT_THAT(error_message([&] { matlab::parse_mat_v5(stray, "x.mat"); }),
              HasSubstr("x.mat: variable 1 (at byte 128): unexpected miDOUBLE element"));
  // Cut in the middle of the second variable.
  const std::string whole = hand_built_file(false);
  uint32_t first_bytes = 0;
  std::memcpy(&first_bytes, whole.data() + 132, 4);  // the first variable's tag: byte count
  const std::string cut = whole.substr(0, 128 + 8 + first_bytes + 20);
  const std::string msg = error_message([&] { matlab::parse_mat_v5(cut, "x.mat"); });
  EXPECT_THAT(msg, HasSubstr("x.mat: variable 2 (at byte"));
  EXPECT_THAT(msg, HasSubstr("truncated"));
}

TEST(MatlabV5, FileLevelErrors) {
  testing::ScopedTempDir dir;
  EXPECT_THAT(error_message([&] { matlab::read_mat_v5(dir.file("missing.mat")); }),
              HasSubstr(dir.file("missing.mat") + ": cannot open"));
  // MATLAB v7.3: a 512-byte user block, then the HDF5 signature.
  std::string v73 = "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: today HDF5 schema 1.00 .";
  v73.resize(512, ' ');
  v73 += std::string("\x89HDF\r\n\x1a\n", 8) + std::string(64, '\0');
  EXPECT_THAT(error_message([&] { matlab::parse_mat_v5(v73, "nyu.mat"); }),
              HasSubstr("nyu.mat: MATLAB v7.3 MAT-file (HDF5), not a v5 MAT-file"));
  EXPECT_THAT(error_message([&] { matlab::parse_mat_v5(std::string(200, 'x'), "junk.mat"); }),
              HasSubstr("junk.mat: not a MATLAB v5 MAT-file"));
  EXPECT_THAT(error_message([&] { matlab::parse_mat_v5("MATLAB 5.0", "short.mat"); }),
              HasSubstr("short.mat: not a MATLAB v5 MAT-file (10 bytes"));
}

TEST(MatlabV5, DamagedCompressedVariable) {
  RGBDSEG_REQUIRE_SHARED(path, "data/nyuv2-samples/meta/splits.mat");
  const std::string bytes = read_file(path);
  // Truncated inside the first (compressed) variable: its tag promises more bytes than remain.
  const std::string truncated = bytes.substr(0, 1000);
  std::string msg = error_message([&] { matlab::parse_mat_v5(truncated, "splits.mat"); });
  EXPECT_THAT(msg, HasSubstr("splits.mat: variable 1 (at byte 128)"));
  EXPECT_THAT(msg, HasSubstr("truncated"));
  // Corrupted zlib data.
  std::string corrupt = bytes;
  for (size_t i = 200; i < 260; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5A);
  msg = error_message([&] { matlab::parse_mat_v5(corrupt, "splits.mat"); });
  EXPECT_THAT(msg, HasSubstr("splits.mat: variable 1 (at byte 128)"));
  EXPECT_THAT(msg, HasSubstr("decompress"));
}

}  // namespace
}  // namespace rgbdseg
