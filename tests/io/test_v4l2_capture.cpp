// The device-independent half of live capture: Z16 and YUYV buffers with row
// padding decoded, bad layouts refused, and a node that is not a camera a
// one-line error. Streaming from a camera is not tested (none here).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "rgbdseg/core/error.h"
#include "rgbdseg/io/v4l2_capture.h"

using namespace rgbdseg;
using ::testing::HasSubstr;

TEST(V4l2Capture, Z16RowsWithPaddingDecode) {
  // 3x2 pixels, rows of 8 bytes (6 of pixels, 2 of padding), little-endian 16-bit.
  const std::vector<uint8_t> buffer = {0x01, 0x00, 0x02, 0x01, 0xff, 0xff, 0xaa, 0xaa,
                                       0x00, 0x10, 0x34, 0x12, 0x00, 0x00, 0xbb, 0xbb};
  const cv::Mat z = decode_z16(buffer.data(), buffer.size(), 3, 2, 8);
  ASSERT_EQ(z.type(), CV_16UC1);
  EXPECT_EQ(z.at<uint16_t>(0, 0), 1);
  EXPECT_EQ(z.at<uint16_t>(0, 1), 0x0102);
  EXPECT_EQ(z.at<uint16_t>(0, 2), 0xffff);
  EXPECT_EQ(z.at<uint16_t>(1, 0), 0x1000);
  EXPECT_EQ(z.at<uint16_t>(1, 1), 0x1234);
  EXPECT_EQ(z.at<uint16_t>(1, 2), 0);
  EXPECT_THROW(decode_z16(buffer.data(), 15, 3, 2, 8), Error);  // one byte short
  EXPECT_THROW(decode_z16(buffer.data(), buffer.size(), 5, 2, 8), Error);  // stride below a row
}

TEST(V4l2Capture, YuyvPairsShareTheirChroma) {
  // Two pixels per 4 bytes Y0 U Y1 V. Neutral chroma (128) gives greys, brighter with Y; a red
  // chroma (V high) makes red exceed blue in both pixels of the pair.
  const std::vector<uint8_t> buffer = {60, 128, 200, 128, 0, 0,  // row 0 + 2 bytes padding
                                       120, 100, 120, 220, 0, 0};
  const cv::Mat bgr = decode_yuyv(buffer.data(), buffer.size(), 2, 2, 6);
  ASSERT_EQ(bgr.type(), CV_8UC3);
  const cv::Vec3b dark = bgr.at<cv::Vec3b>(0, 0), light = bgr.at<cv::Vec3b>(0, 1);
  EXPECT_EQ(dark[0], dark[1]);
  EXPECT_EQ(dark[1], dark[2]);
  EXPECT_EQ(light[0], light[2]);
  EXPECT_GT(light[0], dark[0] + 100);
  for (int x = 0; x < 2; ++x) {
    const cv::Vec3b p = bgr.at<cv::Vec3b>(1, x);
    EXPECT_GT(p[2], p[0] + 100) << x;  // red over blue
  }
  EXPECT_THROW(decode_yuyv(buffer.data(), buffer.size(), 3, 2, 6), Error);  // odd width
}

TEST(V4l2Capture, ANodeThatIsNotACameraIsAClearError) {
  try {
    V4l2Stream s("/dev/null", 640, 480, "Z16 ", 30);
    ADD_FAILURE() << "opened";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("/dev/null: not a V4L2 device"));
  }
  EXPECT_THROW(V4l2Stream("/dev/rgbdseg-no-such-camera", 640, 480, "YUYV", 30), Error);
}
