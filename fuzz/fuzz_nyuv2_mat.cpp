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
  nyu::write_minimal_nyu_metadata(g_dir + "/splits.mat", g_dir + "/mapping40.mat");
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
