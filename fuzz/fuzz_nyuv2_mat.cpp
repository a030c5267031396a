// The NYUv2 converter's input, nyu_depth_v2_labeled.mat (MATLAB v7.3 = HDF5),
// read through libhdf5 and converted with small valid splits and mappings.
// The seed corpus is the tests' fixture file in the official layout
// (RGBDSEG_FUZZ_SEED_DIR=DIR writes it there and exits; scripts/fuzz.sh does).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "data/nyu_fixture.h"
#include "fuzz_file.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/data/convert_nyuv2.h"

namespace nyu = rgbdseg::testing::nyu;

namespace {

std::string g_dir;  // splits, mapping and output, per process

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* seed_dir = std::getenv("RGBDSEG_FUZZ_SEED_DIR")) {
    std::filesystem::create_directories(seed_dir);
    nyu::write_nyu_mat(std::string(seed_dir) + "/fixture3.mat", 3, nyu::designed_frames());
    std::exit(0);
  }
  g_dir = "/dev/shm/rgbdseg_fuzz_nyu_" + std::to_string(getpid());
  std::filesystem::create_directories(g_dir);
  nyu::write_mat_v5(g_dir + "/splits.mat", {nyu::mat_doubles("trainNdxs", {3}), nyu::mat_doubles("testNdxs", {1, 2})});
  // 40 class names (wall, floor, ceiling where NYU40 has them) and every raw label -> otherprop (40).
  std::vector<std::string> names;
  for (int i = 1; i <= 40; ++i) names.push_back("class" + std::to_string(i));
  names[0] = "wall";
  names[1] = "floor";
  names[21] = "ceiling";
  std::vector<double> map(894, 40.0);
  map[20] = 1;  // raw 21 wall
  nyu::write_mat_v5(g_dir + "/mapping40.mat", {nyu::mat_cellstr("className", names), nyu::mat_doubles("mapClass", map)});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rgbdseg::NyuConvertOptions o;
  o.mat_path = fuzz_input_file(data, size, ".mat");
  o.splits_path = g_dir + "/splits.mat";
  o.mapping40_path = g_dir + "/mapping40.mat";
  o.out_dir = g_dir + "/out";
  o.force = true;
  o.threads = 1;
  o.min_area_frac = 0;
  try {
    rgbdseg::convert_nyuv2(o);
  } catch (const rgbdseg::Error&) {
  }
  std::error_code ec;
  std::filesystem::remove_all(o.out_dir, ec);
  return 0;
}
