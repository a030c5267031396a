// The LabelMe converter's input, one LabelMe JSON file (shapes, group ids,
// base64 mask PNGs, embedded imageData), converted with a small valid image
// and depth beside it. The seed (RGBDSEG_FUZZ_SEED_DIR=DIR writes it there and
// exits; scripts/fuzz.sh does) uses every shape type.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "rgbdseg/core/base64.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/data/convert_labelme.h"

namespace {

std::string g_dir;  // the LabelMe folder, depth and output, per process

std::string seed_json() {
  std::vector<uint8_t> png;
  cv::imencode(".png", cv::Mat(3, 4, CV_8UC1, cv::Scalar(1)), png);
  const std::string mask = rgbdseg::base64_encode(png.data(), png.size());
  nlohmann::json j = {
      {"version", "5.4.1"},
      {"shapes",
       {{{"label", "mug"}, {"points", {{1, 1}, {6, 1}, {6, 6}}}, {"group_id", 1}, {"shape_type", "polygon"}},
        {{"label", "mug"}, {"points", {{8, 1}, {10, 4}}}, {"group_id", 1}, {"shape_type", "rectangle"}},
        {{"label", "_background_"}, {"points", {{2, 2}, {3, 2}, {3, 3}}}, {"shape_type", "polygon"}},
        {{"label", "ball"}, {"points", {{12, 8}, {12, 10}}}, {"shape_type", "circle"}},
        {{"label", "bag"}, {"points", {{1, 7}, {4, 9}}}, {"shape_type", "mask"}, {"mask", mask}},
        {{"label", "edge"}, {"points", {{0, 0}, {5, 5}}}, {"shape_type", "line"}}}},
      {"imagePath", "a.png"},
      {"imageData", nullptr},
      {"imageHeight", 12},
      {"imageWidth", 16}};
  return j.dump();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* seed_dir = std::getenv("RGBDSEG_FUZZ_SEED_DIR")) {
    std::filesystem::create_directories(seed_dir);
    std::ofstream(std::string(seed_dir) + "/shapes.json") << seed_json();
    std::exit(0);
  }
  g_dir = "/dev/shm/rgbdseg_fuzz_labelme_" + std::to_string(getpid());
  std::filesystem::create_directories(g_dir + "/in");
  std::filesystem::create_directories(g_dir + "/depth");
  cv::imwrite(g_dir + "/in/a.png", cv::Mat(12, 16, CV_8UC3, cv::Scalar(10, 20, 30)));
  cv::imwrite(g_dir + "/depth/a.png", cv::Mat(12, 16, CV_16UC1, cv::Scalar(1000)));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(g_dir + "/in/a.json", std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  rgbdseg::LabelmeOptions o;
  o.root = g_dir + "/in";
  o.out = g_dir + "/out";
  o.force = true;
  o.threads = 1;
  o.depth.dir = g_dir + "/depth";
  try {
    rgbdseg::convert_labelme(o);
  } catch (const rgbdseg::Error&) {
  }
  std::error_code ec;
  std::filesystem::remove_all(o.out, ec);
  return 0;
}
