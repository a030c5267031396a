// models/tabletop: the model that ships in the repository works by name from
// the source tree (no other file), stays small, and reproduces the COTS
// numbers its MODEL.md reports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/run_tool.h"
#include "rgbdseg/core/file_util.h"
#include "temp_dir.h"
#include "test_paths.h"

using json = nlohmann::json;
using rgbdseg::read_file;
using rgbdseg::testing::run_tool;
using rgbdseg::testing::RunResult;
using rgbdseg::testing::ScopedTempDir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

const fs::path kModel = fs::path(RGBDSEG_SOURCE_DIR) / "models" / "tabletop";

// MODEL.md's validation numbers, from (with ../shared beside the clone):
//   rgbdseg convert cots --root ../shared/data/cots --out cots --val-groups bottles,footwear,mugs,souvenirs
//   rgbdseg eval --model tabletop --data cots/val/annotations.json
constexpr double kCotsValAp = 0.3902;
constexpr double kCotsValAp50 = 0.7818;

}  // namespace

TEST(ShippedModel, TabletopIsSmallAndDocumented) {
  ASSERT_TRUE(fs::is_regular_file(kModel / "config.json"));
  ASSERT_TRUE(fs::is_regular_file(kModel / "model.safetensors"));
  ASSERT_TRUE(fs::is_regular_file(kModel / "MODEL.md"));
  EXPECT_LE(fs::file_size(kModel / "model.safetensors"), 30u * 1000 * 1000);
  const std::string card = read_file((kModel / "MODEL.md").string());
  for (const char* section : {"Architecture", "Training data", "MIT licence", "Metrics", "Limits"}) {
    EXPECT_THAT(card, HasSubstr(section));
  }
  // The config is self-contained: its Hugging Face config sits beside it.
  const RunResult inspect = run_tool({"inspect", "--config", (kModel / "config.json").string()});
  EXPECT_EQ(inspect.exit_code, 0) << inspect;
}

TEST(ShippedModel, SegmentsTabletopScenesByName) {
  // Scenes of another seed than the pre-training pool's (7).
  ScopedTempDir dir;
  ASSERT_EQ(run_tool({"synth", "-q", "--style", "tabletop", "--out", dir.file("scenes"), "--num", "3", "--size", "256x448",
                      "--seed", "99"})
                .exit_code,
            0);
  const RunResult p = run_tool({"predict", "--model", "tabletop", "--dir", dir.file("scenes"), "--out", dir.file("pred")});
  ASSERT_EQ(p.exit_code, 0) << p;
  const json results = json::parse(read_file(dir.file("pred/results.json")));
  EXPECT_GE(results.size(), 1u) << "no object found with score >= 0.5 in 3 tabletop scenes";
  EXPECT_TRUE(fs::exists(dir.file("pred/overlays")));
}

TEST(ShippedModel, ReproducesItsCotsValidationNumbers) {
  RGBDSEG_REQUIRE_SHARED(cots, "data/cots");
  ASSERT_GE(kCotsValAp, 0.0) << "MODEL.md's numbers are not recorded here";
  ScopedTempDir dir;
  const RunResult c = run_tool({"convert", "cots", "-q", "--root", cots, "--out", dir.file("cots"), "--val-groups",
                                "bottles,footwear,mugs,souvenirs"});
  ASSERT_EQ(c.exit_code, 0) << c;
  const RunResult e =
      run_tool({"eval", "--model", "tabletop", "--data", dir.file("cots/val/annotations.json"), "--json", dir.file("m.json")});
  ASSERT_EQ(e.exit_code, 0) << e;
  const json m = json::parse(read_file(dir.file("m.json")));
  // Same weights, same frames; the tolerance covers other CPUs' float rounding.
  EXPECT_NEAR(m["stats"][0].get<double>(), kCotsValAp, 0.01);
  EXPECT_NEAR(m["stats"][1].get<double>(), kCotsValAp50, 0.01);
}
