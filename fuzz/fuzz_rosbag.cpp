// The ROS bag reader and the RealSense layer on arbitrary bytes: an
// rgbdseg::Error or a clean read, never a crash or an out-of-bounds access.
#include "fuzz_file.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/io/realsense_bag.h"
#include "rgbdseg/io/rosbag.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz_input_file(data, size, ".bag");
  try {
    const rgbdseg::RosBag bag(path);
    size_t bytes = 0;
    bag.for_each_message([&](const rgbdseg::BagMessageView& m) {
      for (size_t i = 0; i < m.size; i += 64) bytes += m.data[i];  // touch the payload
      return true;
    });
    const rgbdseg::RealSenseBag rs(path);
    rs.for_each_frame([](const rgbdseg::RealSenseFrame& f) { return f.image.total() < (1u << 28); });
  } catch (const rgbdseg::Error&) {
  }
  return 0;
}
