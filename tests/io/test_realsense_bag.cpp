// RealSense recordings: the real D435 file in ../shared/data/realsense (file
// version 3, LZ4 chunks, "Depth Units" with a space, no per-image depth
// units), its values read independently with Debian's python3-rosbag (the
// script is in the comment below), and a synthetic bag in the current layout
// (file version 4, uncompressed, 1280x720, bgr8, "Depth_Units", per-image
// depth units) written here message by message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/data/convert_realsense.h"
#include "rgbdseg/io/realsense_bag.h"

#include <nlohmann/json.hpp>
#include "temp_dir.h"
#include "test_paths.h"

using namespace rgbdseg;
using ::testing::HasSubstr;

// Values from python3-rosbag (rosbag.Bag(...).read_messages(); genpy deserialises each message):
//   /file_version 3; /device_0/info Name "Intel RealSense D435", Serial Number "728612070259";
//   option/Depth Units/value 0.0010000000474974513;
//   Depth_0/info fps 6 "mono16"; Depth_0/info/camera_info 640x480 'Brown Conrady' D 0 x5,
//     K [390.43145751953125, 0, 331.38787841796875, 0, 390.43145751953125, 242.18734741210938, 0, 0, 1];
//   Color_0/info fps 6 "rgb8"; camera_info K [613.2036743164062, 0, 319.9388427734375, 0, 613.4193115234375,
//     239.18299865722656, 0, 0, 1];
//   Color_0/tf/0 translation (0.01431131362915039, 0.000602306448854506, 0.000610804301686585),
//     rotation (x, y, z, w) (-5.319880231421298e-05, 0.0064634308469817235, 0.005154853722821664, 0.9999658465385437);
//   Depth_0/image/data: t 1500 ns, seq 169, stamp 360815089000 ns, step 1280, pixel (0,0) 0, (row 240, col 320)
//     1536, last 0, 286520 non-zero; second: t 167934700, seq 170, (240,320) 1540, 286603 non-zero;
//   Color_0/image/data: t 54424400, seq 162, stamp 360713523000, RGB at (0,0) [172,150,115], (240,320) [77,46,3],
//     last [123,131,132].
TEST(RealSenseBagRealData, D435RecordingMatchesPythonRosbag) {
  RGBDSEG_REQUIRE_SHARED(path, "data/realsense/single_depth_color_640x480.bag");
  const RealSenseBag rs(path);
  EXPECT_EQ(rs.file_version(), 3u);
  EXPECT_EQ(rs.device_info().at("Name"), "Intel RealSense D435");
  EXPECT_EQ(rs.device_info().at("Serial Number"), "728612070259");
  EXPECT_EQ(rs.depth_units(), static_cast<double>(0.001f));
  ASSERT_EQ(rs.streams().size(), 2u);
  const RealSenseStream* depth = rs.find_stream("Depth");
  const RealSenseStream* colour = rs.find_stream("Color");
  ASSERT_TRUE(depth && colour);
  EXPECT_EQ(depth->topic, "/device_0/sensor_0/Depth_0");
  EXPECT_EQ(depth->sensor, 0);
  EXPECT_EQ(colour->sensor, 1);
  EXPECT_EQ(depth->encoding, "mono16");
  EXPECT_EQ(colour->encoding, "rgb8");
  EXPECT_EQ(depth->fps, 6);
  EXPECT_EQ(depth->frames, 2u);
  EXPECT_EQ(colour->frames, 1u);
  ASSERT_TRUE(depth->has_intrinsics && colour->has_intrinsics);
  EXPECT_EQ(depth->intrinsics.width, 640);
  EXPECT_EQ(depth->intrinsics.height, 480);
  EXPECT_EQ(depth->intrinsics.model, "Brown Conrady");
  EXPECT_EQ(depth->intrinsics.fx, 390.43145751953125);
  EXPECT_EQ(depth->intrinsics.ppx, 331.38787841796875);
  EXPECT_EQ(depth->intrinsics.ppy, 242.18734741210938);
  EXPECT_EQ(colour->intrinsics.fx, 613.2036743164062);
  EXPECT_EQ(colour->intrinsics.fy, 613.4193115234375);
  EXPECT_EQ(colour->intrinsics.ppx, 319.9388427734375);
  EXPECT_EQ(colour->intrinsics.ppy, 239.18299865722656);
  ASSERT_TRUE(colour->has_extrinsics);
  EXPECT_EQ(colour->extrinsics.translation[0], 0.01431131362915039);
  EXPECT_EQ(colour->extrinsics.translation[2], 0.000610804301686585);
  // The rotation from the quaternion, checked against the matrix written out independently.
  const double x = -5.319880231421298e-05, y = 0.0064634308469817235, z = 0.005154853722821664, w = 0.9999658465385437;
  EXPECT_NEAR(colour->extrinsics.rotation[1], 2 * (x * y - z * w), 1e-15);   // r01
  EXPECT_NEAR(colour->extrinsics.rotation[2], 2 * (x * z + y * w), 1e-15);   // r02
  EXPECT_NEAR(colour->extrinsics.rotation[0], 1 - 2 * (y * y + z * z), 1e-15);
  EXPECT_NEAR(depth->extrinsics.rotation[0], 1.0, 0);  // the reference stream: identity
  std::vector<RealSenseFrame> frames;
  rs.for_each_frame([&](const RealSenseFrame& f) {
    frames.push_back(f);
    return true;
  });
  ASSERT_EQ(frames.size(), 3u);
  const RealSenseFrame& d0 = frames[0];
  EXPECT_EQ(d0.stream, depth);
  EXPECT_EQ(d0.record_time_ns, 1500u);
  EXPECT_EQ(d0.frame_number, 169u);
  EXPECT_EQ(d0.device_time_ns, 360815089000u);
  ASSERT_EQ(d0.image.type(), CV_16UC1);
  EXPECT_EQ(d0.image.at<uint16_t>(0, 0), 0);
  EXPECT_EQ(d0.image.at<uint16_t>(240, 320), 1536);
  EXPECT_EQ(d0.image.at<uint16_t>(479, 639), 0);
  EXPECT_EQ(cv::countNonZero(d0.image), 286520);
  EXPECT_EQ(d0.depth_units, static_cast<double>(0.001f));  // from the option: no per-image value in v3 files
  const RealSenseFrame& c0 = frames[1];
  EXPECT_EQ(c0.stream, colour);
  EXPECT_EQ(c0.frame_number, 162u);
  EXPECT_EQ(c0.device_time_ns, 360713523000u);
  ASSERT_EQ(c0.image.type(), CV_8UC3);
  EXPECT_EQ(c0.image.at<cv::Vec3b>(0, 0), cv::Vec3b(115, 150, 172));  // BGR of RGB [172,150,115]
  EXPECT_EQ(c0.image.at<cv::Vec3b>(240, 320), cv::Vec3b(3, 46, 77));
  EXPECT_EQ(c0.image.at<cv::Vec3b>(479, 639), cv::Vec3b(132, 131, 123));
  EXPECT_EQ(frames[2].image.at<uint16_t>(240, 320), 1540);
  EXPECT_EQ(cv::countNonZero(frames[2].image), 286603);
  EXPECT_EQ(frames[2].record_time_ns, 167934700u);
  const std::string text = describe_realsense_bag(rs);
  EXPECT_THAT(text, HasSubstr("RealSense file version 3"));
  EXPECT_THAT(text, HasSubstr("Intel RealSense D435"));
  EXPECT_THAT(text, HasSubstr("| Depth_0 | 0 | 640x480 | mono16 | 6 | 2 | 390.43 | 390.43 | 331.39 | 242.19 | Brown Conrady | 0.00, 0.00, 0.00 |"));
  EXPECT_THAT(text, HasSubstr("| Color_0 | 1 | 640x480 | rgb8 | 6 | 1 | 613.20 | 613.42 | 319.94 | 239.18 | Brown Conrady | 14.31, 0.60, 0.61 |"));
}

namespace {

// ROS1 serialisation of the few messages a RealSense file holds.
struct RosBytes {
  std::vector<uint8_t> b;
  RosBytes& u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  RosBytes& u32(uint32_t v) { return raw(&v, 4); }
  RosBytes& f32(float v) { return raw(&v, 4); }
  RosBytes& f64(double v) { return raw(&v, 8); }
  RosBytes& str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    return raw(s.data(), s.size());
  }
  RosBytes& header(uint32_t seq, uint64_t stamp_ns, const std::string& frame_id) {
    u32(seq).u32(static_cast<uint32_t>(stamp_ns / 1000000000ull)).u32(static_cast<uint32_t>(stamp_ns % 1000000000ull));
    return str(frame_id);
  }
  RosBytes& raw(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    return *this;
  }
};

std::vector<uint8_t> camera_info(int w, int h, double fx, double fy, double cx, double cy) {
  RosBytes m;
  m.header(0, 0, "0").u32(static_cast<uint32_t>(h)).u32(static_cast<uint32_t>(w)).str("Inverse Brown Conrady");
  m.u32(5);
  for (double d : {0.1, -0.2, 0.001, 0.002, 0.05}) m.f64(d);
  for (double k : {fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0}) m.f64(k);
  for (int i = 0; i < 9 + 12; ++i) m.f64(0);
  m.u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).u8(0);
  return m.b;
}

}  // namespace

TEST(RealSenseBag, CurrentLayoutWithPerImageDepthUnitsAndBgr) {
  rgbdseg::testing::ScopedTempDir dir;
  const int W = 1280, H = 720;
  std::vector<BagConnection> conns;
  auto conn = [&](const std::string& topic, const std::string& type) {
    BagConnection c;
    c.id = static_cast<uint32_t>(conns.size());
    c.topic = topic;
    c.type = type;
    conns.push_back(c);
    return c.id;
  };
  const uint32_t version = conn("/file_version", "std_msgs/UInt32"), info = conn("/device_0/info", "diagnostic_msgs/KeyValue"),
                 dinfo = conn("/device_0/sensor_0/Depth_0/info", "realsense_msgs/StreamInfo"),
                 dcam = conn("/device_0/sensor_0/Depth_0/info/camera_info", "sensor_msgs/CameraInfo"),
                 cinfo = conn("/device_0/sensor_1/Color_0/info", "realsense_msgs/StreamInfo"),
                 ccam = conn("/device_0/sensor_1/Color_0/info/camera_info", "sensor_msgs/CameraInfo"),
                 ctf = conn("/device_0/sensor_1/Color_0/tf/0", "geometry_msgs/Transform"),
                 units = conn("/device_0/sensor_0/option/Depth_Units/value", "std_msgs/Float32"),
                 dimg = conn("/device_0/sensor_0/Depth_0/image/data", "sensor_msgs/Image"),
                 cimg = conn("/device_0/sensor_1/Color_0/image/data", "sensor_msgs/Image");
  std::vector<BagWriteMessage> m;
  auto add = [&](uint32_t c, uint64_t t, const std::vector<uint8_t>& data) { m.push_back({c, t, data}); };
  add(version, 1, RosBytes().u32(4).b);
  add(info, 1, RosBytes().str("Name").str("Intel RealSense D455").b);
  add(dinfo, 1, RosBytes().u32(30).str("mono16").u8(1).b);
  add(dcam, 1, camera_info(W, H, 640.5, 640.25, 639.5, 359.75));
  add(cinfo, 1, RosBytes().u32(30).str("bgr8").u8(1).b);
  add(ccam, 1, camera_info(W, H, 910.0, 909.0, 641.0, 362.0));
  add(ctf, 1, RosBytes().f64(-0.059).f64(0.0001).f64(-0.0002).f64(0).f64(0).f64(0).f64(1).b);
  add(units, 1, RosBytes().f32(0.001f).b);
  for (uint32_t k = 0; k < 3; ++k) {
    RosBytes d;
    d.header(100 + k, 5'000'000'000ull + 33'333'333ull * k, "1").u32(H).u32(W).str("mono16").u8(0).u32(2 * W);
    std::vector<uint16_t> px(static_cast<size_t>(W) * H);
    for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint16_t>((i * 7 + k) % 5000);
    d.u32(static_cast<uint32_t>(px.size() * 2)).raw(px.data(), px.size() * 2);
    d.f32(k == 1 ? 0.0001f : 0.0005f);  // the per-image depth units of librealsense 2.49+
    add(dimg, 1000 + 33'333'333ull * k, d.b);
    RosBytes c;
    c.header(200 + k, 5'000'000'000ull + 33'333'333ull * k + 5, "1").u32(H).u32(W).str("bgr8").u8(0).u32(3 * W);
    std::vector<uint8_t> rgb(static_cast<size_t>(W) * H * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 13 + k);
    c.u32(static_cast<uint32_t>(rgb.size())).raw(rgb.data(), rgb.size());
    add(cimg, 2000 + 33'333'333ull * k, c.b);
  }
  const std::string path = dir.file("d455.bag");
  write_ros_bag(path, conns, m, 4, "none");
  const RealSenseBag rs(path);
  EXPECT_EQ(rs.file_version(), 4u);
  EXPECT_EQ(rs.depth_units(), static_cast<double>(0.001f));  // the option, spelt Depth_Units
  const RealSenseStream* depth = rs.find_stream("Depth");
  const RealSenseStream* colour = rs.find_stream("Color");
  ASSERT_TRUE(depth && colour);
  EXPECT_EQ(depth->frames, 3u);
  EXPECT_EQ(depth->fps, 30);
  EXPECT_EQ(colour->encoding, "bgr8");
  EXPECT_EQ(depth->intrinsics.model, "Inverse Brown Conrady");
  EXPECT_EQ(depth->intrinsics.coeffs[1], -0.2);
  EXPECT_EQ(depth->intrinsics.fy, 640.25);
  EXPECT_EQ(colour->intrinsics.ppy, 362.0);
  EXPECT_EQ(colour->extrinsics.translation[0], -0.059);
  int depth_frames = 0, colour_frames = 0;
  rs.for_each_frame([&](const RealSenseFrame& f) {
    if (f.stream == depth) {
      const uint32_t k = f.frame_number - 100;
      EXPECT_EQ(f.image.type(), CV_16UC1);
      EXPECT_EQ(f.image.cols, W);
      EXPECT_EQ(f.image.at<uint16_t>(1, 3), static_cast<uint16_t>(((W + 3) * 7 + k) % 5000));
      EXPECT_EQ(f.depth_units, static_cast<double>(k == 1 ? 0.0001f : 0.0005f));  // per image wins
      EXPECT_EQ(f.device_time_ns, 5'000'000'000ull + 33'333'333ull * k);
      ++depth_frames;
    } else {
      const uint32_t k = f.frame_number - 200;
      EXPECT_EQ(f.image.type(), CV_8UC3);
      const size_t i = (static_cast<size_t>(W) * 2 + 5) * 3;  // row 2, column 5, byte 0 (blue: bgr8 kept)
      EXPECT_EQ(f.image.at<cv::Vec3b>(2, 5)[0], static_cast<uint8_t>(i * 13 + k));
      ++colour_frames;
    }
    return true;
  });
  EXPECT_EQ(depth_frames, 3);
  EXPECT_EQ(colour_frames, 3);
  // Only one stream, when asked.
  int only = 0;
  rs.for_each_frame([&](const RealSenseFrame& f) { return ++only, f.stream == colour; }, {colour});
  EXPECT_EQ(only, 3);
  // Exported: three pairs (colour 5 ns after each depth frame), depth aligned to the colour camera
  // and scaled by each frame's own units; every second pair with --every 2.
  RealSenseExportOptions eo;
  eo.bag = path;
  eo.out = dir.file("export");
  const ConversionSummary summary = export_realsense_bag(eo);
  EXPECT_EQ(summary.images, 3);
  EXPECT_TRUE(summary.skipped.empty());
  const nlohmann::json frames = nlohmann::json::parse(read_file(eo.out + "/frames.json"));
  ASSERT_EQ(frames["frames"].size(), 3u);
  EXPECT_EQ(frames["frames"][1]["depth_units"].get<double>(), static_cast<double>(0.0001f));
  EXPECT_EQ(frames["frames"][2]["colour_frame"], 202);
  EXPECT_NEAR(frames["frames"][0]["skew_ms"].get<double>(), 5e-6, 1e-12);
  eo.out = dir.file("every2");
  eo.every = 2;
  EXPECT_EQ(export_realsense_bag(eo).images, 2);  // pairs 0 and 2
}

TEST(RealSenseBag, NotARealSenseFileIsAClearError) {
  rgbdseg::testing::ScopedTempDir dir;
  BagConnection c;
  c.topic = "/chatter";
  c.type = "std_msgs/String";
  const std::string path = dir.file("chatter.bag");
  write_ros_bag(path, {c}, {{0, 5, {3, 0, 0, 0, 'h', 'e', 'y'}}}, 1, "none");
  try {
    RealSenseBag rs(path);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(path + ": no /file_version message: not a RealSense recording"));
  }
}

TEST(RealSenseBag, CalibrationFilesRoundTripAndNameTheirErrors) {
  RGBDSEG_REQUIRE_SHARED(path, "data/realsense/single_depth_color_640x480.bag");
  rgbdseg::testing::ScopedTempDir dir;
  const RealSenseCalibration c = realsense_calibration(RealSenseBag(path));
  EXPECT_EQ(c.device, "Intel RealSense D435");
  EXPECT_EQ(c.colour.fx, 613.2036743164062);
  EXPECT_EQ(c.depth.ppx, 331.38787841796875);
  EXPECT_EQ(c.depth_to_colour.translation[0], 0.01431131362915039);  // depth is the reference: colour's own tf
  const std::string file = dir.file("calib.json");
  write_realsense_calibration(file, c);
  const RealSenseCalibration back = read_realsense_calibration(file);
  EXPECT_EQ(back.device, c.device);
  EXPECT_EQ(back.depth_units, c.depth_units);
  EXPECT_EQ(back.colour.fy, c.colour.fy);
  EXPECT_EQ(back.colour.model, c.colour.model);
  EXPECT_EQ(back.depth.width, 640);
  EXPECT_EQ(back.depth_to_colour.rotation, c.depth_to_colour.rotation);
  EXPECT_EQ(back.depth_to_colour.translation, c.depth_to_colour.translation);
  const std::string bad = dir.file("bad.json");
  write_file_atomic(bad, R"({"depth_units": 0.001, "depth": {"width": 640}})");
  try {
    read_realsense_calibration(bad);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(bad + ": missing depth.height"));
  }
}
