// Tests for io/image_io: colour and depth reading, metric conversion, errors, atomic writers.
#include "error_message.h"
#include "rgbdseg/io/image_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "rgbdseg/core/error.h"
#include "test_paths.h"

namespace rgbdseg {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ImageIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("rgbdseg_image_io_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes a Mat with OpenCV directly (independent of the writers under test).
  std::string imwrite(const std::string& name, const cv::Mat& m) const {
    const std::string p = path(name);
    EXPECT_TRUE(cv::imwrite(p, m)) << p;
    return p;
  }

  std::string write_bytes(const std::string& name, const std::string& bytes) const {
    const std::string p = path(name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  std::vector<std::string> dir_entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

cv::Mat mat16(int rows, int cols, std::vector<uint16_t> values) {
  cv::Mat m(rows, cols, CV_16UC1);
  for (int i = 0; i < rows * cols; ++i) m.at<uint16_t>(i / cols, i % cols) = values[i];
  return m;
}

// ---- depth: 16-bit millimetre PNG ----

TEST_F(ImageIoTest, Png16DepthIsReadExactlyInMetres) {
  // Values above 255 prove the file is not read through 8 bits (plain imread would).
  const std::vector<uint16_t> mm = {0, 1, 255, 256, 1500, 2752, 9999, 10000, 10001, 65535, 42, 500};
  const std::string p = imwrite("depth.png", mat16(3, 4, mm));
  const cv::Mat d = read_depth(p);
  ASSERT_EQ(d.type(), CV_32FC1);
  ASSERT_EQ(d.rows, 3);
  ASSERT_EQ(d.cols, 4);
  for (int i = 0; i < 12; ++i) {
    const double metres = mm[i] * 0.001;
    // 0 means no reading; beyond max_depth (10 m, inclusive) is invalid: both become 0.
    const float expected = (mm[i] == 0 || metres > 10.0) ? 0.0f : static_cast<float>(metres);
    EXPECT_EQ(d.at<float>(i / 4, i % 4), expected) << "stored " << mm[i];
  }
  EXPECT_FLOAT_EQ(d.at<float>(1, 0), 1.5f);    // 1500 mm
  EXPECT_FLOAT_EQ(d.at<float>(1, 2), 9.999f);  // 9999 mm
  EXPECT_FLOAT_EQ(d.at<float>(1, 3), 10.0f);   // 10000 mm: max_depth is inclusive
  EXPECT_EQ(d.at<float>(2, 0), 0.0f);          // 10001 mm: beyond 10 m
  EXPECT_EQ(d.at<float>(2, 1), 0.0f);          // 65535
  EXPECT_EQ(d.at<float>(0, 0), 0.0f);          // 0 = invalid
}

TEST_F(ImageIoTest, DepthRangeAndScaleOptions) {
  const std::string p = imwrite("depth.png", mat16(1, 5, {299, 301, 2000, 2001, 5000}));
  DepthReadOptions o;
  o.min_depth = 0.3;  // exclusive
  o.max_depth = 2.0;  // inclusive
  cv::Mat d = read_depth(p, o);
  EXPECT_EQ(d.at<float>(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(d.at<float>(0, 1), 0.301f);
  EXPECT_FLOAT_EQ(d.at<float>(0, 2), 2.0f);
  EXPECT_EQ(d.at<float>(0, 3), 0.0f);
  EXPECT_EQ(d.at<float>(0, 4), 0.0f);

  DepthReadOptions tum;  // TUM RGB-D style: 5000 units per metre
  tum.scale = 0.0002;
  d = read_depth(p, tum);
  EXPECT_FLOAT_EQ(d.at<float>(0, 4), 1.0f);
  EXPECT_FLOAT_EQ(d.at<float>(0, 2), 0.4f);
}

TEST_F(ImageIoTest, BadDepthOptionsAreRejected) {
  const std::string p = imwrite("depth.png", mat16(1, 1, {1000}));
  DepthReadOptions o;
  o.scale = -0.001;
  std::string msg = error_message([&] { read_depth(p, o); });
  EXPECT_THAT(msg, HasSubstr(p));
  EXPECT_THAT(msg, HasSubstr("depth scale must be a positive number"));
  o = {};
  o.min_depth = 5.0;
  o.max_depth = 1.0;
  msg = error_message([&] { read_depth(p, o); });
  EXPECT_THAT(msg, HasSubstr("0 <= min_depth < max_depth"));
}

// ---- depth: float TIFF ----

TEST_F(ImageIoTest, FloatTiffRoundTripInMetres) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> metres = {1.25f, 0.0f, nan, -1.0f, 12.0f, 0.0005f, inf, 9.87654f};
  cv::Mat f(2, 4, CV_32FC1);
  for (int i = 0; i < 8; ++i) f.at<float>(i / 4, i % 4) = metres[i];
  const std::string p = imwrite("depth.tiff", f);

  const cv::Mat d = read_depth(p);  // Auto: float -> metres, scale 1
  ASSERT_EQ(d.type(), CV_32FC1);
  const std::vector<float> expected = {1.25f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0005f, 0.0f, 9.87654f};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(d.at<float>(i / 4, i % 4), expected[i]) << "index " << i;

  // Float depth in millimetres, with an explicit scale.
  cv::Mat mm(1, 2, CV_32FC1);
  mm.at<float>(0, 0) = 1250.0f;
  mm.at<float>(0, 1) = 20000.0f;
  const std::string pmm = imwrite("depth_mm.tiff", mm);
  DepthReadOptions o;
  o.encoding = DepthEncoding::Float;
  o.scale = 0.001;
  const cv::Mat dmm = read_depth(pmm, o);
  EXPECT_FLOAT_EQ(dmm.at<float>(0, 0), 1.25f);
  EXPECT_EQ(dmm.at<float>(0, 1), 0.0f);  // 20 m > max_depth
}

// ---- depth: SUN RGB-D ----

TEST_F(ImageIoTest, SunRgbdEncodingIsBitRotated) {
  // By hand: stored 9872 = 0x2690 -> (v >> 3) = 0x04D2 = 1234, low 3 bits 000 -> 1234 mm.
  // Stored 9873 = 0x2691 -> 1234 | (1 << 13) = 1234 + 8192 = 9426 mm.
  // Stored 7 -> 0 | (7 << 13) = 57344 mm = 57.344 m, beyond max_depth 20 m -> invalid.
  const std::string p = imwrite("sun.png", mat16(1, 4, {9872, 9873, 0, 7}));
  DepthReadOptions o;
  o.encoding = DepthEncoding::SunRgbd;
  o.max_depth = 20.0;
  const cv::Mat d = read_depth(p, o);
  EXPECT_FLOAT_EQ(d.at<float>(0, 0), 1.234f);
  EXPECT_FLOAT_EQ(d.at<float>(0, 1), 9.426f);
  EXPECT_EQ(d.at<float>(0, 2), 0.0f);
  EXPECT_EQ(d.at<float>(0, 3), 0.0f);
  o.max_depth = 60.0;
  EXPECT_FLOAT_EQ(read_depth(p, o).at<float>(0, 3), 57.344f);
  // The same file as plain millimetres reads differently: the encoding matters.
  EXPECT_FLOAT_EQ(read_depth(p).at<float>(0, 0), 9.872f);
}

// ---- depth: 8-bit ----

TEST_F(ImageIoTest, EightBitDepthUnderAutoIsRefused) {
  const std::string p = imwrite("depth8.png", cv::Mat(2, 2, CV_8UC1, cv::Scalar(100)));
  const std::string msg = error_message([&] { read_depth(p); });
  EXPECT_THAT(msg, HasSubstr(p + ": 8-bit depth image"));
  EXPECT_THAT(msg, HasSubstr("refusing to guess"));
  EXPECT_THAT(msg, HasSubstr("png8"));
}

TEST_F(ImageIoTest, Png8WithExplicitScaleWorks) {
  cv::Mat m(1, 3, CV_8UC1);
  m.at<uint8_t>(0, 0) = 0;
  m.at<uint8_t>(0, 1) = 10;
  m.at<uint8_t>(0, 2) = 255;
  const std::string p = imwrite("depth8.png", m);
  DepthReadOptions o;
  o.encoding = DepthEncoding::Png8;
  o.scale = 0.02;
  const cv::Mat d = read_depth(p, o);
  EXPECT_EQ(d.at<float>(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(d.at<float>(0, 1), 0.2f);
  EXPECT_FLOAT_EQ(d.at<float>(0, 2), 5.1f);

  o.scale = 0.0;  // no default for 8-bit
  const std::string msg = error_message([&] { read_depth(p, o); });
  EXPECT_THAT(msg, HasSubstr(p + ": encoding 'png8' needs an explicit scale"));
}

TEST_F(ImageIoTest, EncodingThatDoesNotMatchTheFileIsAnError) {
  const std::string p8 = imwrite("depth8.png", cv::Mat(2, 2, CV_8UC1, cv::Scalar(7)));
  DepthReadOptions o;
  o.encoding = DepthEncoding::MillimetrePng16;
  std::string msg = error_message([&] { read_depth(p8, o); });
  EXPECT_THAT(msg, HasSubstr(p8 + ": depth image is 8-bit unsigned, but encoding 'png16' "
                                  "expects 16-bit unsigned"));

  const std::string p16 = imwrite("depth16.png", mat16(1, 1, {1000}));
  o.encoding = DepthEncoding::Float;
  msg = error_message([&] { read_depth(p16, o); });
  EXPECT_THAT(msg, HasSubstr(p16 + ": depth image is 16-bit unsigned, but encoding 'float'"));
}

// ---- errors: files ----

TEST_F(ImageIoTest, MissingFileNamesTheFile) {
  const std::string p = path("does_not_exist.png");
  std::string msg = error_message([&] { read_depth(p); });
  EXPECT_THAT(msg, HasSubstr(p + ": cannot open for reading"));
  EXPECT_THAT(msg, HasSubstr("No such file"));
  msg = error_message([&] { read_rgb(p); });
  EXPECT_THAT(msg, HasSubstr(p + ": cannot open for reading"));
}

TEST_F(ImageIoTest, NonImageFileIsAnError) {
  const std::string p = write_bytes("garbage.png", "this is not a PNG file, just some text\n");
  std::string msg = error_message([&] { read_depth(p); });
  EXPECT_THAT(msg, HasSubstr(p + ": cannot decode as an image"));
  msg = error_message([&] { read_rgb(p); });
  EXPECT_THAT(msg, HasSubstr(p + ": cannot decode as an image"));
}

TEST_F(ImageIoTest, TruncatedPngIsAnError) {
  cv::Mat big(64, 64, CV_16UC1);
  cv::randu(big, 0, 65535);  // incompressible enough that truncation cuts the pixel data
  std::vector<uchar> bytes;
  ASSERT_TRUE(cv::imencode(".png", big, bytes));
  const std::string p =
      write_bytes("truncated.png", std::string(bytes.begin(), bytes.begin() + bytes.size() / 2));
  const std::string msg = error_message([&] { read_depth(p); });
  EXPECT_THAT(msg, HasSubstr(p + ": cannot decode"));
}

TEST_F(ImageIoTest, EmptyFileAndDirectoryAreErrors) {
  const std::string p = write_bytes("empty.png", "");
  EXPECT_THAT(error_message([&] { read_depth(p); }), HasSubstr(p + ": file is empty"));
  EXPECT_THAT(error_message([&] { read_rgb(dir_.string()); }),
              HasSubstr(dir_.string() + ": is a directory"));
}

TEST_F(ImageIoTest, ColourImagePassedAsDepthIsAnError) {
  const std::string p = imwrite("colour.png", cv::Mat(4, 4, CV_8UC3, cv::Scalar(1, 2, 3)));
  const std::string msg = error_message([&] { read_depth(p); });
  EXPECT_THAT(msg, HasSubstr(p + ": depth image has 3 channels, expected 1"));
}

TEST_F(ImageIoTest, SixteenBitImagePassedAsColourIsAnError) {
  const std::string grey16 = imwrite("depth16.png", mat16(1, 1, {1000}));
  EXPECT_THAT(error_message([&] { read_rgb(grey16); }),
              HasSubstr(grey16 + ": colour image is 16-bit unsigned, expected 8-bit"));
  const std::string rgb16 = imwrite("rgb16.png", cv::Mat(2, 2, CV_16UC3, cv::Scalar(1, 2, 3)));
  EXPECT_THAT(error_message([&] { read_rgb(rgb16); }),
              HasSubstr(rgb16 + ": colour image is 16-bit unsigned"));
}

TEST(ImageIo, SizeMismatchNamesBothFiles) {
  const cv::Mat rgb(720, 1280, CV_8UC3);
  const cv::Mat depth(480, 640, CV_32FC1);
  const std::string msg = error_message(
      [&] { check_same_size(rgb, "scene/3_colour.jpeg", depth, "scene/3_depth.png"); });
  EXPECT_THAT(msg, HasSubstr("scene/3_depth.png: size 640x480 does not match colour image "
                             "'scene/3_colour.jpeg' 1280x720"));
  EXPECT_NO_THROW(check_same_size(rgb, "a.jpeg", cv::Mat(720, 1280, CV_32FC1), "b.png"));
}

// ---- colour ----

TEST_F(ImageIoTest, ReadRgbGivesRgbOrder) {
  cv::Mat bgr(1, 2, CV_8UC3);
  bgr.at<cv::Vec3b>(0, 0) = cv::Vec3b(0, 0, 255);   // pure red, in OpenCV's BGR order
  bgr.at<cv::Vec3b>(0, 1) = cv::Vec3b(10, 20, 30);  // B=10 G=20 R=30
  for (const char* name : {"red.png", "red.bmp"}) {
    const cv::Mat rgb = read_rgb(imwrite(name, bgr));
    ASSERT_EQ(rgb.type(), CV_8UC3) << name;
    EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 0, 0)) << name;
    EXPECT_EQ(rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(30, 20, 10)) << name;
  }
}

TEST_F(ImageIoTest, GreyIsExpandedAndAlphaDropped) {
  const cv::Mat grey = read_rgb(imwrite("grey.png", cv::Mat(2, 3, CV_8UC1, cv::Scalar(77))));
  ASSERT_EQ(grey.type(), CV_8UC3);
  EXPECT_EQ(grey.at<cv::Vec3b>(1, 2), cv::Vec3b(77, 77, 77));

  const cv::Mat bgra(1, 1, CV_8UC4, cv::Scalar(10, 20, 30, 0));  // B G R A, fully transparent
  const cv::Mat rgb = read_rgb(imwrite("bgra.png", bgra));
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(30, 20, 10));
}

// ---- writers ----

TEST_F(ImageIoTest, WriteRgbPngRoundTrip) {
  cv::Mat rgb(2, 2, CV_8UC3);
  rgb.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 0, 0);
  rgb.at<cv::Vec3b>(0, 1) = cv::Vec3b(1, 2, 3);
  rgb.at<cv::Vec3b>(1, 0) = cv::Vec3b(0, 255, 0);
  rgb.at<cv::Vec3b>(1, 1) = cv::Vec3b(200, 100, 50);
  const std::string p = path("out.png");
  write_rgb_png(p, rgb);
  // On disk a PNG stores RGB; OpenCV hands it back as BGR.
  const cv::Mat bgr = cv::imread(p, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(bgr.type(), CV_8UC3);
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
  EXPECT_EQ(bgr.at<cv::Vec3b>(1, 1), cv::Vec3b(50, 100, 200));
  const cv::Mat back = read_rgb(p);
  EXPECT_EQ(cv::norm(back, rgb, cv::NORM_INF), 0.0);
  EXPECT_EQ(dir_entries(), std::vector<std::string>{"out.png"});  // no temporary left over
}

TEST_F(ImageIoTest, WriteDepthPng16RoundsClampsAndZeroesInvalid) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> metres = {0.0f, 1.2344f, 1.2346f, 70.0f, -1.0f, nan, inf, 0.0004f};
  // round(m * 1000), clamped at 65535; 0, negative, NaN, inf -> 0; 0.4 mm rounds to 0.
  const std::vector<uint16_t> expected_mm = {0, 1234, 1235, 65535, 0, 0, 0, 0};
  cv::Mat d(2, 4, CV_32FC1);
  for (int i = 0; i < 8; ++i) d.at<float>(i / 4, i % 4) = metres[i];
  const std::string p = path("depth.png");
  write_depth_png16_mm(p, d);
  const cv::Mat back = cv::imread(p, cv::IMREAD_ANYDEPTH);
  ASSERT_EQ(back.type(), CV_16UC1);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(back.at<uint16_t>(i / 4, i % 4), expected_mm[i]) << "metres " << metres[i];
  }
  // And through read_depth: 1.234 m exactly as a millimetre reading.
  EXPECT_EQ(read_depth(p).at<float>(0, 1), static_cast<float>(1234 * 0.001));
}

TEST_F(ImageIoTest, WritePngKeeps16BitAndOpenCvChannelOrder) {
  const std::string p = path("ids.png");
  write_png(p, mat16(1, 3, {0, 1, 40000}));
  const cv::Mat back = cv::imread(p, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(back.type(), CV_16UC1);
  EXPECT_EQ(back.at<uint16_t>(0, 2), 40000);

  const std::string pc = path("bgr.png");
  write_png(pc, cv::Mat(1, 1, CV_8UC3, cv::Scalar(0, 0, 255)));  // BGR red
  EXPECT_EQ(read_rgb(pc).at<cv::Vec3b>(0, 0), cv::Vec3b(255, 0, 0));
}

TEST_F(ImageIoTest, FailedWriteLeavesNoFileBehind) {
  // Unsupported element type: refused before anything touches the disk.
  const std::string p = path("bad.png");
  std::string msg = error_message([&] { write_png(p, cv::Mat(2, 2, CV_32FC1, cv::Scalar(1))); });
  EXPECT_THAT(msg, HasSubstr(p + ": write_png expects"));
  EXPECT_THAT(msg, HasSubstr("32-bit float, 1 channel"));
  EXPECT_FALSE(fs::exists(p));

  // An existing file is left untouched by a failed write.
  const std::string existing = write_bytes("existing.png", "old contents");
  msg = error_message([&] { write_rgb_png(existing, cv::Mat(2, 2, CV_8UC1)); });
  EXPECT_THAT(msg, HasSubstr(existing + ": write_rgb_png expects"));
  std::ifstream in(existing, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "old contents");

  // A directory that does not exist: error names the file, nothing is created.
  const std::string nowhere = path("missing_dir/depth.png");
  msg = error_message(
      [&] { write_depth_png16_mm(nowhere, cv::Mat(2, 2, CV_32FC1, cv::Scalar(1.0))); });
  EXPECT_THAT(msg, HasSubstr(nowhere));
  EXPECT_FALSE(fs::exists(path("missing_dir")));

  EXPECT_EQ(dir_entries(), std::vector<std::string>{"existing.png"});
}

TEST_F(ImageIoTest, WritersRequireAPngName) {
  const std::string p = path("out.jpg");
  EXPECT_THAT(error_message([&] { write_rgb_png(p, cv::Mat(1, 1, CV_8UC3)); }),
              HasSubstr(p + ": write_rgb_png writes PNG files; the name must end in .png"));
  EXPECT_FALSE(fs::exists(p));
  write_png(path("upper.PNG"), cv::Mat(1, 1, CV_8UC1, cv::Scalar(3)));  // case-insensitive
  EXPECT_TRUE(fs::exists(path("upper.PNG")));
}

// ---- small helpers ----

TEST(ImageIo, DepthEncodingNames) {
  for (DepthEncoding e : {DepthEncoding::Auto, DepthEncoding::MillimetrePng16,
                          DepthEncoding::SunRgbd, DepthEncoding::Float, DepthEncoding::Png8}) {
    EXPECT_EQ(parse_depth_encoding(depth_encoding_name(e)), e);
  }
  EXPECT_EQ(parse_depth_encoding("sunrgbd"), DepthEncoding::SunRgbd);
  EXPECT_THAT(error_message([] { parse_depth_encoding("mm"); }),
              HasSubstr("unknown depth encoding 'mm' (expected one of: auto, png16, sunrgbd, "
                        "float, png8)"));
}

TEST(ImageIo, DepthValidMask) {
  cv::Mat d(1, 5, CV_32FC1);
  d.at<float>(0, 0) = 0.0f;
  d.at<float>(0, 1) = 1.5f;
  d.at<float>(0, 2) = std::numeric_limits<float>::quiet_NaN();
  d.at<float>(0, 3) = -2.0f;
  d.at<float>(0, 4) = 1e-6f;
  const cv::Mat m = depth_valid_mask(d);
  ASSERT_EQ(m.type(), CV_8UC1);
  const std::vector<uint8_t> expected = {0, 1, 0, 0, 1};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(m.at<uint8_t>(0, i), expected[i]) << "index " << i;
  EXPECT_THAT(error_message([] { depth_valid_mask(cv::Mat(1, 1, CV_16UC1)); }),
              HasSubstr("depth_valid_mask: expected a 32-bit float, 1 channel depth map"));
}

// ---- real data from ../shared/data (skipped with a message when absent) ----
//
// Expected pixel values were obtained independently of OpenCV with a ~40-line Python
// PNG decoder (zlib + the five PNG row filters, standard library only), run on the
// same files; the counts below come from the same decoder.

TEST(ImageIoRealData, NyuV2DepthAndColour) {
  RGBDSEG_REQUIRE_SHARED(depth_path, "data/nyuv2-samples/depth/000001.png");
  RGBDSEG_REQUIRE_SHARED(color_path, "data/nyuv2-samples/color/000001.png");
  const cv::Mat d = read_depth(depth_path);
  ASSERT_EQ(d.type(), CV_32FC1);
  ASSERT_EQ(d.cols, 640);
  ASSERT_EQ(d.rows, 480);
  // Stored millimetres at (x, y): (0,0) 2752, (320,240) 3361, (639,479) 2081, (100,50) 3040.
  EXPECT_EQ(d.at<float>(0, 0), static_cast<float>(2752 * 0.001));
  EXPECT_EQ(d.at<float>(240, 320), static_cast<float>(3361 * 0.001));
  EXPECT_EQ(d.at<float>(479, 639), static_cast<float>(2081 * 0.001));
  EXPECT_EQ(d.at<float>(50, 100), static_cast<float>(3040 * 0.001));
  // Hole-filled: min 1798, max 3615, no zeros, so every pixel is valid.
  EXPECT_EQ(cv::countNonZero(depth_valid_mask(d)), 640 * 480);
  double lo = 0, hi = 0;
  cv::minMaxLoc(d, &lo, &hi);
  EXPECT_EQ(lo, static_cast<float>(1798 * 0.001));
  EXPECT_EQ(hi, static_cast<float>(3615 * 0.001));

  const cv::Mat rgb = read_rgb(color_path);
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_NO_THROW(check_same_size(rgb, color_path, d, depth_path));
  // R, G, B as stored in the PNG.
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(rgb.at<cv::Vec3b>(240, 320), cv::Vec3b(198, 207, 188));
  EXPECT_EQ(rgb.at<cv::Vec3b>(50, 100), cv::Vec3b(108, 103, 90));
  EXPECT_EQ(rgb.at<cv::Vec3b>(400, 500), cv::Vec3b(146, 148, 143));
}

TEST(ImageIoRealData, CotsMugsDepthAndColour) {
  RGBDSEG_REQUIRE_SHARED(depth_path, "data/cots/Part 2 - Multiple Objects/mugs_oc2/3_depth16.png");
  RGBDSEG_REQUIRE_SHARED(color_path, "data/cots/Part 2 - Multiple Objects/mugs_oc2/3_colour.jpeg");
  const cv::Mat d = read_depth(depth_path);
  ASSERT_EQ(d.cols, 1280);
  ASSERT_EQ(d.rows, 720);
  // Stored: 26940 zeros, max 1040 mm, so 1280*720 - 26940 = 894660 valid pixels.
  EXPECT_EQ(cv::countNonZero(depth_valid_mask(d)), 894660);
  EXPECT_EQ(d.at<float>(0, 0), static_cast<float>(992 * 0.001));
  EXPECT_EQ(d.at<float>(719, 1279), static_cast<float>(485 * 0.001));
  EXPECT_EQ(d.at<float>(600, 200), static_cast<float>(645 * 0.001));
  EXPECT_EQ(d.at<float>(360, 640), 0.0f);  // stored 0: no reading

  const cv::Mat rgb = read_rgb(color_path);
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_NO_THROW(check_same_size(rgb, color_path, d, depth_path));
  // No JPEG decoder independent of OpenCV's libjpeg is at hand: check only that read_rgb
  // is OpenCV's decode with the channels reversed (i.e. the BGR -> RGB swap on real data).
  const cv::Mat bgr = cv::imread(color_path, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  ASSERT_EQ(bgr.size(), rgb.size());
  for (const cv::Point pt : {cv::Point(0, 0), cv::Point(640, 360), cv::Point(1279, 719)}) {
    const cv::Vec3b b = bgr.at<cv::Vec3b>(pt);
    EXPECT_EQ(rgb.at<cv::Vec3b>(pt), cv::Vec3b(b[2], b[1], b[0])) << pt;
  }
}

TEST(ImageIoRealData, CotsOutliersBeyondMaxDepthAreInvalid) {
  RGBDSEG_REQUIRE_SHARED(depth_path,
                         "data/cots/Part 3 - Complex Background/foodB_nw_no/2_depth16.png");
  // Stored: 188198 zeros, 3206 values > 10000 mm (212 of them 65535), 730196 in (0, 10000].
  const cv::Mat d = read_depth(depth_path);
  EXPECT_EQ(cv::countNonZero(depth_valid_mask(d)), 730196);
  EXPECT_EQ(d.at<float>(458, 234), 0.0f);  // stored 16215 mm: an outlier at 16 m
  EXPECT_EQ(d.at<float>(485, 224), 0.0f);  // stored 65535
  EXPECT_EQ(d.at<float>(0, 0), static_cast<float>(3079 * 0.001));

  DepthReadOptions wide;
  wide.max_depth = 100.0;  // everything non-zero is valid
  const cv::Mat dw = read_depth(depth_path, wide);
  EXPECT_EQ(cv::countNonZero(depth_valid_mask(dw)), 1280 * 720 - 188198);
  EXPECT_EQ(dw.at<float>(458, 234), static_cast<float>(16215 * 0.001));

  DepthReadOptions near;
  near.max_depth = 1.0;  // 308283 stored values in (0, 1000]
  EXPECT_EQ(cv::countNonZero(depth_valid_mask(read_depth(depth_path, near))), 308283);
}

// ---- resolving the encoding and scale from the header (what predict records) ----

TEST_F(ImageIoTest, ResolveDepthOptionsReadsTheSampleTypeFromTheHeader) {
  const std::string p16 = imwrite("d16.png", cv::Mat(3, 4, CV_16UC1, cv::Scalar(1000)));
  const std::string pf = imwrite("df.tiff", cv::Mat(3, 4, CV_32FC1, cv::Scalar(1.5)));
  const std::string p8 = imwrite("d8.png", cv::Mat(3, 4, CV_8UC1, cv::Scalar(10)));
  const std::string rgb = imwrite("c.png", cv::Mat(3, 4, CV_8UC3, cv::Scalar(1, 2, 3)));
  DepthReadOptions o;
  DepthReadOptions r = resolve_depth_options(p16, o);
  EXPECT_EQ(r.encoding, DepthEncoding::MillimetrePng16);
  EXPECT_EQ(r.scale, 0.001);
  r = resolve_depth_options(pf, o);
  EXPECT_EQ(r.encoding, DepthEncoding::Float);
  EXPECT_EQ(r.scale, 1.0);
  EXPECT_THAT(error_message([&] { resolve_depth_options(p8, o); }),
              HasSubstr(p8 + ": 8-bit depth image"));
  EXPECT_THAT(error_message([&] { resolve_depth_options(p8, o); }), HasSubstr("--depth-encoding png8 --depth-scale"));
  EXPECT_THAT(error_message([&] { resolve_depth_options(rgb, o); }), HasSubstr("3 channels, expected 1"));
  o.encoding = DepthEncoding::Png8;
  EXPECT_THAT(error_message([&] { resolve_depth_options(p8, o); }), HasSubstr("needs an explicit scale"));
  o.scale = 0.02;
  r = resolve_depth_options(p8, o);
  EXPECT_EQ(r.encoding, DepthEncoding::Png8);
  EXPECT_EQ(r.scale, 0.02);
  // What it resolves is what read_depth uses: the same metres.
  EXPECT_FLOAT_EQ(read_depth(p8, r).at<float>(0, 0), read_depth(p8, o).at<float>(0, 0));
  EXPECT_FLOAT_EQ(read_depth(p16, resolve_depth_options(p16, {})).at<float>(1, 1), 1.0f);
}

}  // namespace
}  // namespace rgbdseg
