#include "rgbdseg/io/v4l2_capture.h"

#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <opencv2/imgproc.hpp>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

namespace {

void check_buffer(const char* what, size_t size, int width, int height, int stride, int bytes_per_pixel) {
  if (width <= 0 || height <= 0 || stride < width * bytes_per_pixel) {
    throw Error(std::string(what) + ": " + std::to_string(width) + "x" + std::to_string(height) + " with stride " +
                std::to_string(stride) + " is not a valid layout");
  }
  if (size < static_cast<size_t>(stride) * static_cast<size_t>(height)) {
    throw Error(std::string(what) + ": buffer of " + std::to_string(size) + " bytes, " +
                std::to_string(static_cast<size_t>(stride) * height) + " needed");
  }
}

int xioctl(int fd, unsigned long request, void* arg) {
  int r;
  do {
    r = ioctl(fd, request, arg);
  } while (r == -1 && errno == EINTR);
  return r;
}

uint32_t fourcc_code(const std::string& s) {
  if (s.size() != 4) throw Error("V4L2: a pixel format is 4 characters, got '" + s + "'");
  return v4l2_fourcc(s[0], s[1], s[2], s[3]);
}

}  // namespace

cv::Mat decode_z16(const uint8_t* data, size_t size, int width, int height, int stride) {
  check_buffer("Z16 frame", size, width, height, stride, 2);
  return cv::Mat(height, width, CV_16UC1, const_cast<uint8_t*>(data), static_cast<size_t>(stride)).clone();
}

cv::Mat decode_yuyv(const uint8_t* data, size_t size, int width, int height, int stride) {
  check_buffer("YUYV frame", size, width, height, stride, 2);
  if (width % 2) throw Error("YUYV frame: the width must be even, got " + std::to_string(width));
  const cv::Mat yuyv(height, width, CV_8UC2, const_cast<uint8_t*>(data), static_cast<size_t>(stride));
  cv::Mat bgr;
  cv::cvtColor(yuyv, bgr, cv::COLOR_YUV2BGR_YUYV);
  return bgr;
}

V4l2Stream::V4l2Stream(const std::string& device, int width, int height, const std::string& fourcc, int fps)
    : device_(device), fourcc_(fourcc), width_(width), height_(height) {
  fd_ = ::open(device.c_str(), O_RDWR | O_NONBLOCK);
  if (fd_ < 0) throw Error(device + ": cannot open (" + std::strerror(errno) + ")");
  auto fail = [&](const std::string& what) {
    const std::string why = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw Error(device + ": " + what + " (" + why + ")");
  };
  v4l2_capability cap{};
  if (xioctl(fd_, VIDIOC_QUERYCAP, &cap) < 0) fail("not a V4L2 device");
  if (!(cap.capabilities & V4L2_CAP_VIDEO_CAPTURE) || !(cap.capabilities & V4L2_CAP_STREAMING)) {
    errno = ENOTSUP;
    fail("not a streaming video capture node");
  }
  v4l2_format fmt{};
  fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  fmt.fmt.pix.width = static_cast<uint32_t>(width);
  fmt.fmt.pix.height = static_cast<uint32_t>(height);
  fmt.fmt.pix.pixelformat = fourcc_code(fourcc);
  fmt.fmt.pix.field = V4L2_FIELD_NONE;
  if (xioctl(fd_, VIDIOC_S_FMT, &fmt) < 0) fail("refuses " + fourcc + " at " + std::to_string(width) + "x" + std::to_string(height));
  if (fmt.fmt.pix.pixelformat != fourcc_code(fourcc) || static_cast<int>(fmt.fmt.pix.width) != width ||
      static_cast<int>(fmt.fmt.pix.height) != height) {
    errno = EINVAL;
    fail("offers another format than " + fourcc + " " + std::to_string(width) + "x" + std::to_string(height));
  }
  stride_ = static_cast<int>(fmt.fmt.pix.bytesperline);
  v4l2_streamparm parm{};
  parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  parm.parm.capture.timeperframe.numerator = 1;
  parm.parm.capture.timeperframe.denominator = static_cast<uint32_t>(fps);
  xioctl(fd_, VIDIOC_S_PARM, &parm);  // best effort: some nodes fix the rate
  v4l2_requestbuffers req{};
  req.count = 4;
  req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  req.memory = V4L2_MEMORY_MMAP;
  if (xioctl(fd_, VIDIOC_REQBUFS, &req) < 0 || req.count < 2) fail("cannot allocate capture buffers");
  for (uint32_t i = 0; i < req.count; ++i) {
    v4l2_buffer buf{};
    buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buf.memory = V4L2_MEMORY_MMAP;
    buf.index = i;
    if (xioctl(fd_, VIDIOC_QUERYBUF, &buf) < 0) fail("cannot query a buffer");
    void* p = mmap(nullptr, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, buf.m.offset);
    if (p == MAP_FAILED) fail("cannot map a buffer");
    buffers_.emplace_back(p, buf.length);
    if (xioctl(fd_, VIDIOC_QBUF, &buf) < 0) fail("cannot queue a buffer");
  }
  v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(fd_, VIDIOC_STREAMON, &type) < 0) fail("cannot start streaming");
}

V4l2Stream::~V4l2Stream() {
  if (fd_ < 0) return;
  v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  xioctl(fd_, VIDIOC_STREAMOFF, &type);
  for (auto& [p, n] : buffers_) munmap(p, n);
  ::close(fd_);
}

V4l2Stream::Frame V4l2Stream::next(int timeout_ms) {
  pollfd pfd{fd_, POLLIN, 0};
  const int r = poll(&pfd, 1, timeout_ms);
  if (r <= 0) throw Error(device_ + ": no frame within " + std::to_string(timeout_ms) + " ms");
  v4l2_buffer buf{};
  buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  buf.memory = V4L2_MEMORY_MMAP;
  if (xioctl(fd_, VIDIOC_DQBUF, &buf) < 0) throw Error(device_ + ": cannot dequeue a frame (" + std::strerror(errno) + ")");
  Frame f;
  const auto* data = static_cast<const uint8_t*>(buffers_.at(buf.index).first);
  f.image = fourcc_ == "YUYV" ? decode_yuyv(data, buf.bytesused, width_, height_, stride_)
                              : decode_z16(data, buf.bytesused, width_, height_, stride_);
  f.time_ns = static_cast<uint64_t>(buf.timestamp.tv_sec) * 1000000000ull + static_cast<uint64_t>(buf.timestamp.tv_usec) * 1000ull;
  f.sequence = buf.sequence;
  if (xioctl(fd_, VIDIOC_QBUF, &buf) < 0) throw Error(device_ + ": cannot re-queue a buffer (" + std::strerror(errno) + ")");
  return f;
}

}  // namespace rgbdseg
