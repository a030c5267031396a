#pragma once
// Live frames from a RealSense D4xx camera through raw V4L2 (librealsense is
// not in Debian): the depth node streams Z16 (16-bit depth units), the colour
// node YUYV. The buffer decoding is device-independent and tested; the V4L2
// streaming itself needs a camera, which the project's machines do not have,
// so it is built but untested (README, "Live capture").
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace rgbdseg {

// A Z16 buffer (rows `stride` bytes apart) as CV_16UC1; an Error when the
// buffer is shorter than stride x height or the stride shorter than a row.
cv::Mat decode_z16(const uint8_t* data, size_t size, int width, int height, int stride);
// A YUYV (YUY2) buffer as CV_8UC3 BGR (BT.601, as OpenCV converts it).
cv::Mat decode_yuyv(const uint8_t* data, size_t size, int width, int height, int stride);

// One V4L2 capture node streaming with memory-mapped buffers.
class V4l2Stream {
 public:
  // fourcc "Z16 " or "YUYV"; Error naming the device when it cannot be opened,
  // is not a V4L2 capture device, or refuses the format.
  V4l2Stream(const std::string& device, int width, int height, const std::string& fourcc, int fps);
  ~V4l2Stream();
  V4l2Stream(const V4l2Stream&) = delete;
  V4l2Stream& operator=(const V4l2Stream&) = delete;

  struct Frame {
    cv::Mat image;            // decoded: CV_16UC1 for Z16, BGR for YUYV
    uint64_t time_ns = 0;     // the driver's timestamp
    uint32_t sequence = 0;
  };
  // The next frame; Error after `timeout_ms` without one.
  Frame next(int timeout_ms = 2000);

 private:
  std::string device_, fourcc_;
  int fd_ = -1, width_ = 0, height_ = 0, stride_ = 0;
  std::vector<std::pair<void*, size_t>> buffers_;
};

}  // namespace rgbdseg
