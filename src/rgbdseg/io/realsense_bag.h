#pragma once
// RealSense recordings (.bag, file versions 2-4) on top of the ROS bag reader:
// the device, its streams (found by topic pattern, not by sensor number),
// their intrinsics (sensor_msgs/CameraInfo with RealSense's distortion model
// names), extrinsics to the depth stream (geometry_msgs/Transform on .../tf/N),
// depth units (the per-image trailing float32 of newer files, else the
// "Depth Units" / "Depth_Units" option, else the device's default) and the
// frames themselves (sensor_msgs/Image) as OpenCV images.
// Reference: ../shared/reference/realsense.md sections 1.3-1.6.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>

#include "rgbdseg/io/rosbag.h"

namespace rgbdseg {

struct RealSenseIntrinsics {
  int width = 0, height = 0;
  double fx = 0, fy = 0, ppx = 0, ppy = 0;
  std::string model;                // "Brown Conrady", "Inverse Brown Conrady", ... , "None"
  std::array<double, 5> coeffs{};   // the five rs2 distortion coefficients
};

// p_stream = rotation * p_reference + translation (metres), reference = the
// group's pin stream (depth on D4xx cameras). Row-major rotation.
struct RealSenseExtrinsics {
  std::array<double, 9> rotation{1, 0, 0, 0, 1, 0, 0, 0, 1};
  std::array<double, 3> translation{};
};

struct RealSenseStream {
  std::string topic;      // /device_0/sensor_0/Depth_0 (without /image/data)
  std::string name;       // Depth, Color, Infrared, ...
  int sensor = 0, index = 0;
  std::string encoding;   // mono16, rgb8, bgr8, ...
  int fps = 0;
  uint64_t frames = 0;
  bool has_intrinsics = false, has_extrinsics = false;
  RealSenseIntrinsics intrinsics;
  RealSenseExtrinsics extrinsics;  // from the reference stream to this one
};

// One frame of a stream: the image (CV_16UC1 for depth in units, CV_8UC3 BGR
// for colour, CV_8UC1 for infrared), its frame number, device timestamp and
// record time, and for depth the metres per unit that applied to it.
struct RealSenseFrame {
  const RealSenseStream* stream = nullptr;
  cv::Mat image;
  uint32_t frame_number = 0;
  uint64_t device_time_ns = 0;  // header.stamp
  uint64_t record_time_ns = 0;  // the message's time in the bag
  double depth_units = 0;       // depth frames only
};

class RealSenseBag {
 public:
  explicit RealSenseBag(const std::string& path);
  const RosBag& bag() const { return bag_; }
  uint32_t file_version() const { return file_version_; }
  const std::map<std::string, std::string>& device_info() const { return device_info_; }
  const std::vector<RealSenseStream>& streams() const { return streams_; }
  const RealSenseStream* find_stream(const std::string& name) const;  // first stream of that name
  // Metres per depth unit from the options (or the device default); frames of
  // newer files carry their own (RealSenseFrame::depth_units).
  double depth_units() const { return depth_units_; }
  double duration_s() const;

  // Every frame of the given streams (all image streams when empty), in file
  // order; fn returns false to stop.
  void for_each_frame(const std::function<bool(const RealSenseFrame&)>& fn,
                      const std::vector<const RealSenseStream*>& streams = {}) const;

 private:
  RosBag bag_;
  uint32_t file_version_ = 0;
  std::map<std::string, std::string> device_info_;
  std::vector<RealSenseStream> streams_;
  double depth_units_ = 0.001;
};

// A human-readable summary (what `rgbdseg bag info` prints).
std::string describe_realsense_bag(const RealSenseBag& bag);

}  // namespace rgbdseg

namespace rgbdseg {

// A camera's calibration as a JSON file, the input of live capture: the
// depth and colour intrinsics, the depth-to-colour extrinsics and the depth
// units, e.g. exported by `rgbdseg bag info --calib` from a recording made
// with the same camera.
struct RealSenseCalibration {
  std::string device;  // the device's name, for the record
  double depth_units = 0.001;
  RealSenseIntrinsics depth, colour;
  RealSenseExtrinsics depth_to_colour;
};

// Intrinsics as JSON: width, height, fx, fy, ppx, ppy, model, coeffs.
nlohmann::ordered_json realsense_intrinsics_json(const RealSenseIntrinsics& k);

// From a recording: its Depth and Color streams (Error when either is missing).
RealSenseCalibration realsense_calibration(const RealSenseBag& bag);
void write_realsense_calibration(const std::string& path, const RealSenseCalibration& calibration);
// Error naming the file and the key for a missing or malformed value.
RealSenseCalibration read_realsense_calibration(const std::string& path);

}  // namespace rgbdseg
