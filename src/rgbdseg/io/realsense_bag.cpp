#include "rgbdseg/io/realsense_bag.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/io/realsense_align.h"

namespace rgbdseg {

namespace {

// ROS1 serialisation: little-endian scalars, u32-prefixed strings and
// variable arrays, fixed arrays without a prefix.
class RosReader {
 public:
  RosReader(const BagMessageView& m, const std::string& path)
      : p_(m.data), n_(m.size), where_(path + ": " + m.connection->topic) {}
  uint8_t u8() { return *take(1); }
  uint32_t u32() {
    uint32_t v;
    std::memcpy(&v, take(4), 4);
    return v;
  }
  float f32() {
    float v;
    std::memcpy(&v, take(4), 4);
    return v;
  }
  double f64() {
    double v;
    std::memcpy(&v, take(8), 8);
    return v;
  }
  std::string string() {
    const uint32_t len = u32();
    const uint8_t* s = take(len);
    return std::string(reinterpret_cast<const char*>(s), len);
  }
  std::pair<const uint8_t*, size_t> bytes() {
    const uint32_t len = u32();
    return {take(len), len};
  }
  // std_msgs/Header: seq, stamp, frame_id.
  uint64_t header(uint32_t* seq) {
    *seq = u32();
    const uint64_t sec = u32(), nsec = u32();
    string();
    return sec * 1000000000ull + nsec;
  }
  size_t remaining() const { return n_ - at_; }

 private:
  const uint8_t* take(size_t k) {
    if (k > n_ - at_) throw Error(where_ + ": message ends early (" + std::to_string(n_) + " bytes)");
    const uint8_t* p = p_ + at_;
    at_ += k;
    return p;
  }
  const uint8_t* p_;
  size_t n_, at_ = 0;
  std::string where_;
};

// Hamilton quaternion (x, y, z, w) -> row-major rotation.
std::array<double, 9> rotation_of(double x, double y, double z, double w) {
  return {1 - 2 * (y * y + z * z), 2 * (x * y - z * w),     2 * (x * z + y * w),
          2 * (x * y + z * w),     1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
          2 * (x * z - y * w),     2 * (y * z + x * w),     1 - 2 * (x * x + y * y)};
}

}  // namespace

RealSenseBag::RealSenseBag(const std::string& path) : bag_(path) {
  if (bag_.find_topic("/FILE_VERSION")) {
    throw Error(path + ": a RealSense file of the legacy format (version 1), which is not supported (versions 2-4 are)");
  }
  static const std::regex image_topic(R"(^(/device_\d+/sensor_(\d+)/([A-Za-z]+)_(\d+))/image/data$)");
  static const std::regex depth_units_topic(R"(^/device_\d+/sensor_\d+/option/Depth[ _]Units/value$)");
  static const std::regex tf_topic(R"(^(/device_\d+/sensor_\d+/[A-Za-z]+_\d+)/tf/\d+$)");
  std::vector<std::string> static_topics = {"/file_version", "/device_0/info"};
  for (const auto& c : bag_.connections()) {
    std::smatch m;
    if (std::regex_match(c.topic, m, image_topic)) {
      RealSenseStream s;
      s.topic = m[1];
      s.sensor = std::stoi(m[2]);
      s.name = m[3];
      s.index = std::stoi(m[4]);
      s.frames = bag_.message_count(c.id);
      streams_.push_back(s);
      static_topics.push_back(s.topic + "/info");
      static_topics.push_back(s.topic + "/info/camera_info");
    } else if (std::regex_match(c.topic, depth_units_topic) || std::regex_match(c.topic, tf_topic)) {
      static_topics.push_back(c.topic);
    }
  }
  std::sort(streams_.begin(), streams_.end(), [](const RealSenseStream& a, const RealSenseStream& b) {
    return std::tie(a.sensor, a.name, a.index) < std::tie(b.sensor, b.name, b.index);
  });
  bool units_from_option = false;
  auto stream_of = [&](const std::string& base) -> RealSenseStream* {
    for (auto& s : streams_) {
      if (s.topic == base) return &s;
    }
    return nullptr;
  };
  bag_.for_each_message(
      [&](const BagMessageView& v) {
        const std::string& topic = v.connection->topic;
        RosReader r(v, path);
        std::smatch m;
        if (topic == "/file_version") {
          file_version_ = r.u32();
        } else if (topic == "/device_0/info") {
          const std::string key = r.string();
          device_info_[key] = r.string();
        } else if (std::regex_match(topic, depth_units_topic)) {
          depth_units_ = r.f32();
          units_from_option = true;
        } else if (std::regex_match(topic, m, tf_topic)) {
          if (RealSenseStream* s = stream_of(m[1])) {
            for (double& t : s->extrinsics.translation) t = r.f64();
            const double x = r.f64(), y = r.f64(), z = r.f64(), w = r.f64();
            s->extrinsics.rotation = rotation_of(x, y, z, w);
            s->has_extrinsics = true;
          }
        } else if (topic.size() > 17 && topic.compare(topic.size() - 17, 17, "/info/camera_info") == 0) {
          if (RealSenseStream* s = stream_of(topic.substr(0, topic.size() - 17))) {
            uint32_t seq;
            r.header(&seq);
            RealSenseIntrinsics& k = s->intrinsics;
            k.height = static_cast<int>(r.u32());
            k.width = static_cast<int>(r.u32());
            k.model = r.string();
            const uint32_t nd = r.u32();
            for (uint32_t i = 0; i < nd; ++i) {
              const double d = r.f64();
              if (i < 5) k.coeffs[i] = d;
            }
            double K[9];
            for (double& x : K) x = r.f64();
            k.fx = K[0];
            k.ppx = K[2];
            k.fy = K[4];
            k.ppy = K[5];
            s->has_intrinsics = true;
          }
        } else if (topic.size() > 5 && topic.compare(topic.size() - 5, 5, "/info") == 0) {
          if (RealSenseStream* s = stream_of(topic.substr(0, topic.size() - 5))) {
            s->fps = static_cast<int>(r.u32());
            s->encoding = r.string();
          }
        }
        return true;
      },
      static_topics);
  if (file_version_ == 0) throw Error(path + ": no /file_version message: not a RealSense recording");
  if (file_version_ < 2 || file_version_ > 4) {
    throw Error(path + ": RealSense file version " + std::to_string(file_version_) + " (versions 2-4 are supported)");
  }
  if (!units_from_option) {
    const auto name = device_info_.find("Name");
    depth_units_ = name != device_info_.end() && name->second.find("D405") != std::string::npos ? 0.0001 : 0.001;
  }
}

const RealSenseStream* RealSenseBag::find_stream(const std::string& name) const {
  for (const auto& s : streams_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

double RealSenseBag::duration_s() const {
  return bag_.message_count() == 0 ? 0.0 : static_cast<double>(bag_.end_ns() - bag_.start_ns()) / 1e9;
}

void RealSenseBag::for_each_frame(const std::function<bool(const RealSenseFrame&)>& fn,
                                  const std::vector<const RealSenseStream*>& streams) const {
  std::vector<std::string> topics;
  std::map<std::string, const RealSenseStream*> by_topic;
  for (const RealSenseStream* s : streams.empty() ? std::vector<const RealSenseStream*>() : streams) {
    topics.push_back(s->topic + "/image/data");
  }
  if (streams.empty()) {
    for (const auto& s : streams_) topics.push_back(s.topic + "/image/data");
  }
  for (const auto& s : streams_) by_topic[s.topic + "/image/data"] = &s;
  bag_.for_each_message(
      [&](const BagMessageView& v) {
        RosReader r(v, bag_.path());
        RealSenseFrame f;
        f.stream = by_topic.at(v.connection->topic);
        f.record_time_ns = v.time_ns;
        f.device_time_ns = r.header(&f.frame_number);
        const int height = static_cast<int>(r.u32()), width = static_cast<int>(r.u32());
        const std::string encoding = r.string();
        r.u8();  // is_bigendian: 0 on every RealSense
        const uint32_t step = r.u32();
        const auto [data, size] = r.bytes();
        if (r.remaining() == 4) f.depth_units = r.f32();  // written by librealsense 2.49 and later
        if (f.depth_units <= 0) f.depth_units = depth_units_;
        const std::string where = bag_.path() + ": " + v.connection->topic + ": frame " + std::to_string(f.frame_number);
        int type = 0, channels = 0;
        if (encoding == "mono16" || encoding == "16UC1" || encoding == "Z16") {
          type = CV_16UC1;
          channels = 2;
        } else if (encoding == "rgb8" || encoding == "bgr8") {
          type = CV_8UC3;
          channels = 3;
        } else if (encoding == "rgba8" || encoding == "bgra8") {
          type = CV_8UC4;
          channels = 4;
        } else if (encoding == "mono8" || encoding == "8UC1") {
          type = CV_8UC1;
          channels = 1;
        } else if (encoding == "yuv422") {
          type = CV_8UC2;
          channels = 2;
        } else {
          throw Error(where + ": image encoding '" + encoding + "' is not supported");
        }
        if (height <= 0 || width <= 0 || step < static_cast<uint32_t>(width * channels) ||
            size < static_cast<size_t>(step) * static_cast<size_t>(height)) {
          throw Error(where + ": " + std::to_string(width) + "x" + std::to_string(height) + " " + encoding + " with step " +
                      std::to_string(step) + " does not fit its " + std::to_string(size) + " bytes");
        }
        const cv::Mat view(height, width, type, const_cast<uint8_t*>(data), step);
        if (encoding == "rgb8") {
          cv::cvtColor(view, f.image, cv::COLOR_RGB2BGR);
        } else if (encoding == "rgba8") {
          cv::cvtColor(view, f.image, cv::COLOR_RGBA2BGR);
        } else if (encoding == "bgra8") {
          cv::cvtColor(view, f.image, cv::COLOR_BGRA2BGR);
        } else if (encoding == "yuv422") {
          cv::cvtColor(view, f.image, cv::COLOR_YUV2BGR_UYVY);
        } else {
          f.image = view.clone();
        }
        return fn(f);
      },
      topics);
}

std::string describe_realsense_bag(const RealSenseBag& rs) {
  std::ostringstream out;
  const RosBag& bag = rs.bag();
  std::string compressions;
  for (const auto& c : bag.compressions()) compressions += (compressions.empty() ? "" : ", ") + c;
  char line[512];
  std::snprintf(line, sizeof line, "%s: RealSense file version %u; ROS bag 2.0, %s, chunks %s; %llu messages, %.3f s\n",
                bag.path().c_str(), rs.file_version(), bag.indexed() ? "indexed" : "not indexed (scanned)",
                compressions.empty() ? "-" : compressions.c_str(), static_cast<unsigned long long>(bag.message_count()),
                rs.duration_s());
  out << line;
  const auto& info = rs.device_info();
  auto get = [&](const char* key) {
    const auto it = info.find(key);
    return it == info.end() ? std::string("?") : it->second;
  };
  out << "device: " << get("Name") << ", serial " << get("Serial Number") << ", firmware " << get("Firmware Version")
      << "\n";
  std::snprintf(line, sizeof line, "depth units: %g m\n", rs.depth_units());
  out << line;
  out << "| stream | sensor | size | encoding | fps | frames | fx | fy | ppx | ppy | distortion | from depth: t (mm) |\n"
         "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& s : rs.streams()) {
    const auto& k = s.intrinsics;
    char extr[96] = "-";
    if (s.has_extrinsics) {
      std::snprintf(extr, sizeof extr, "%.2f, %.2f, %.2f", 1e3 * s.extrinsics.translation[0],
                    1e3 * s.extrinsics.translation[1], 1e3 * s.extrinsics.translation[2]);
    }
    std::snprintf(line, sizeof line, "| %s_%d | %d | %dx%d | %s | %d | %llu | %.2f | %.2f | %.2f | %.2f | %s | %s |\n",
                  s.name.c_str(), s.index, s.sensor, k.width, k.height, s.encoding.c_str(), s.fps,
                  static_cast<unsigned long long>(s.frames), k.fx, k.fy, k.ppx, k.ppy,
                  k.model.empty() ? "-" : k.model.c_str(), extr);
    out << line;
  }
  return out.str();
}

}  // namespace rgbdseg

namespace rgbdseg {

nlohmann::ordered_json realsense_intrinsics_json(const RealSenseIntrinsics& k) {
  return {{"width", k.width}, {"height", k.height}, {"fx", k.fx}, {"fy", k.fy}, {"ppx", k.ppx}, {"ppy", k.ppy},
          {"model", k.model}, {"coeffs", k.coeffs}};
}

RealSenseCalibration realsense_calibration(const RealSenseBag& bag) {
  const RealSenseStream* depth = bag.find_stream("Depth");
  const RealSenseStream* colour = bag.find_stream("Color");
  if (!depth || !colour || !depth->has_intrinsics || !colour->has_intrinsics) {
    throw Error(bag.bag().path() + ": a calibration needs Depth and Color streams with intrinsics");
  }
  RealSenseCalibration c;
  const auto name = bag.device_info().find("Name");
  c.device = name == bag.device_info().end() ? "" : name->second;
  c.depth_units = bag.depth_units();
  c.depth = depth->intrinsics;
  c.colour = colour->intrinsics;
  // Both streams' transforms are from the reference stream: compose colour with depth's inverse.
  c.depth_to_colour = realsense_extrinsics_between(depth->extrinsics, colour->extrinsics);
  return c;
}

void write_realsense_calibration(const std::string& path, const RealSenseCalibration& c) {
  nlohmann::ordered_json j;
  j["device"] = c.device;
  j["depth_units"] = c.depth_units;
  j["depth"] = realsense_intrinsics_json(c.depth);
  j["colour"] = realsense_intrinsics_json(c.colour);
  j["depth_to_colour"] = {{"rotation", c.depth_to_colour.rotation}, {"translation_m", c.depth_to_colour.translation}};
  write_file_atomic(path, j.dump(1) + "\n");
}

RealSenseCalibration read_realsense_calibration(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not JSON (" + std::string(e.what()) + ")");
  }
  auto need = [&](const nlohmann::json& parent, const std::string& where, const char* key) -> const nlohmann::json& {
    if (!parent.is_object() || !parent.contains(key)) throw Error(path + ": missing " + where + key);
    return parent[key];
  };
  auto number = [&](const nlohmann::json& parent, const std::string& where, const char* key) {
    const auto& v = need(parent, where, key);
    if (!v.is_number()) throw Error(path + ": " + where + key + " is not a number");
    return v.get<double>();
  };
  auto intrinsics = [&](const char* name) {
    const auto& o = need(j, "", name);
    const std::string where = std::string(name) + ".";
    RealSenseIntrinsics k;
    k.width = static_cast<int>(number(o, where, "width"));
    k.height = static_cast<int>(number(o, where, "height"));
    k.fx = number(o, where, "fx");
    k.fy = number(o, where, "fy");
    k.ppx = number(o, where, "ppx");
    k.ppy = number(o, where, "ppy");
    if (k.width <= 0 || k.height <= 0 || !(k.fx > 0) || !(k.fy > 0)) {
      throw Error(path + ": " + name + " needs a positive size and focal lengths");
    }
    const auto& model = need(o, where, "model");
    if (!model.is_string()) throw Error(path + ": " + where + "model is not a string");
    k.model = model.get<std::string>();
    const auto& coeffs = need(o, where, "coeffs");
    if (!coeffs.is_array() || coeffs.size() != 5) throw Error(path + ": " + where + "coeffs must be 5 numbers");
    for (size_t i = 0; i < 5; ++i) k.coeffs[i] = coeffs[i].get<double>();
    return k;
  };
  RealSenseCalibration c;
  if (j.contains("device") && j["device"].is_string()) c.device = j["device"].get<std::string>();
  c.depth_units = number(j, "", "depth_units");
  if (!(c.depth_units > 0)) throw Error(path + ": depth_units must be positive");
  c.depth = intrinsics("depth");
  c.colour = intrinsics("colour");
  const auto& e = need(j, "", "depth_to_colour");
  const auto& r = need(e, "depth_to_colour.", "rotation");
  const auto& t = need(e, "depth_to_colour.", "translation_m");
  if (!r.is_array() || r.size() != 9 || !t.is_array() || t.size() != 3) {
    throw Error(path + ": depth_to_colour needs 9 rotation and 3 translation numbers");
  }
  for (size_t i = 0; i < 9; ++i) c.depth_to_colour.rotation[i] = r[i].get<double>();
  for (size_t i = 0; i < 3; ++i) c.depth_to_colour.translation[i] = t[i].get<double>();
  return c;
}

}  // namespace rgbdseg
