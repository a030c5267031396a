// Strict config loading: defaults, files, "base" chains, versions and --set overrides.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>

#include "rgbdseg/core/config.h"
#include "rgbdseg/core/error.h"
#include "temp_dir.h"

using namespace rgbdseg;
using rgbdseg::testing::ScopedTempDir;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// The message of the rgbdseg::Error that load_config throws ("" and a test failure if none).
std::string load_error(const std::string& path, const std::vector<std::string>& overrides = {}) {
  try {
    load_config(path, overrides);
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected rgbdseg::Error, got another exception: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "load_config(\"" << path << "\") did not throw";
  return "";
}

}  // namespace

TEST(Config, DefaultsWithoutFile) {
  const Config c = load_config("");
  EXPECT_EQ(c.version, kConfigVersion);
  EXPECT_EQ(c.runtime.threads, 0);
  EXPECT_EQ(c.runtime.log_level, "info");
  EXPECT_EQ(c.eval.iou_type, "segm");
  EXPECT_TRUE(c.eval.use_cats);
}

TEST(Config, FileOverridesOneKeyAndKeepsOtherDefaults) {
  ScopedTempDir dir;
  const std::string path = dir.write("c.json", R"({"eval": {"iou_type": "bbox"}, "runtime": {"threads": 3}})");
  const Config c = load_config(path);
  EXPECT_EQ(c.eval.iou_type, "bbox");
  EXPECT_EQ(c.runtime.threads, 3);
  EXPECT_TRUE(c.eval.use_cats);           // untouched
  EXPECT_EQ(c.runtime.log_level, "info");  // untouched
}

TEST(Config, EmptyObjectFileGivesDefaults) {
  ScopedTempDir dir;
  const Config c = load_config(dir.write("c.json", "{}"));
  EXPECT_EQ(c.runtime.threads, 0);
  EXPECT_EQ(c.eval.iou_type, "segm");
}

TEST(Config, UnknownKeyNamesFilePointerAndValidKeys) {
  ScopedTempDir dir;
  const std::string path = dir.write("typo.json", R"({"runtime": {"thread": 2}})");
  const std::string msg = load_error(path);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("/runtime/thread"));
  EXPECT_THAT(msg, HasSubstr("unknown key"));
  EXPECT_THAT(msg, HasSubstr("threads, log_level"));
}

TEST(Config, UnknownTopLevelKeyListsTopLevelKeys) {
  ScopedTempDir dir;
  const std::string path = dir.write("typo.json", R"({"evaluation": {}})");
  const std::string msg = load_error(path);
  EXPECT_THAT(msg, HasSubstr(path + ": /evaluation: unknown key"));
  EXPECT_THAT(msg, HasSubstr("version, runtime, eval"));
}

TEST(Config, WrongTypeNamesExpectedAndGot) {
  ScopedTempDir dir;
  const std::string path = dir.write("c.json", R"({"runtime": {"threads": "two"}})");
  const std::string msg = load_error(path);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("/runtime/threads"));
  EXPECT_THAT(msg, HasSubstr("expected an integer, got a string"));
  EXPECT_THAT(msg, HasSubstr("\"two\""));
}

TEST(Config, BooleanWhereObjectExpected) {
  ScopedTempDir dir;
  const std::string path = dir.write("c.json", R"({"eval": true})");
  const std::string msg = load_error(path);
  EXPECT_THAT(msg, HasSubstr(path + ": /eval: expected an object, got a boolean"));
}

TEST(Config, FloatWhereIntegerExpected) {
  ScopedTempDir dir;
  const std::string msg = load_error(dir.write("c.json", R"({"runtime": {"threads": 1.5}})"));
  EXPECT_THAT(msg, HasSubstr("/runtime/threads: expected an integer, got a number"));
}

TEST(Config, NegativeThreadsRejected) {
  ScopedTempDir dir;
  const std::string path = dir.write("c.json", R"({"runtime": {"threads": -1}})");
  const std::string msg = load_error(path);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("/runtime/threads: must be >= 0"));
}

TEST(Config, BadEnumListsValidValues) {
  ScopedTempDir dir;
  const std::string path = dir.write("c.json", R"({"eval": {"iou_type": "mask"}})");
  const std::string msg = load_error(path);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("/eval/iou_type"));
  EXPECT_THAT(msg, HasSubstr("expected one of segm, bbox"));
  EXPECT_THAT(msg, HasSubstr("got \"mask\""));
}

TEST(Config, BadLogLevelListsValidValues) {
  ScopedTempDir dir;
  const std::string msg = load_error(dir.write("c.json", R"({"runtime": {"log_level": "verbose"}})"));
  EXPECT_THAT(msg, HasSubstr("/runtime/log_level: expected one of error, warn, info, debug; got \"verbose\""));
}

TEST(Config, InvalidJsonNamesFile) {
  ScopedTempDir dir;
  const std::string path = dir.write("broken.json", R"({"runtime": {"threads": 2,}})");
  const std::string msg = load_error(path);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("invalid JSON"));
}

TEST(Config, TopLevelArrayRejected) {
  ScopedTempDir dir;
  const std::string path = dir.write("c.json", "[1, 2]");
  EXPECT_THAT(load_error(path), HasSubstr(path + ": /: expected an object, got an array"));
}

TEST(Config, MissingFileNamesPath) {
  ScopedTempDir dir;
  const std::string path = dir.file("nope.json");
  const std::string msg = load_error(path);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("cannot open"));
}

TEST(Config, BaseChildOverridesBase) {
  ScopedTempDir dir;
  dir.write("base.json", R"({"runtime": {"threads": 3, "log_level": "debug"}, "eval": {"use_cats": false}})");
  const std::string child = dir.write("child.json", R"({"base": "base.json", "runtime": {"threads": 5}})");
  const Config c = load_config(child);
  EXPECT_EQ(c.runtime.threads, 5);           // child wins
  EXPECT_EQ(c.runtime.log_level, "debug");   // from base, same object as the overridden key
  EXPECT_FALSE(c.eval.use_cats);             // from base
  EXPECT_EQ(c.eval.iou_type, "segm");        // default
}

TEST(Config, BasePathIsRelativeToTheFileNotTheWorkingDirectory) {
  ScopedTempDir dir;
  // presets/root.json <- presets/mid.json <- runs/exp/child.json; the working directory is elsewhere.
  dir.write("presets/root.json", R"({"eval": {"iou_type": "bbox"}, "runtime": {"threads": 1}})");
  dir.write("presets/mid.json", R"({"base": "root.json", "runtime": {"threads": 2}})");
  const std::string child = dir.write("runs/exp/child.json", R"({"base": "../../presets/mid.json", "eval": {"use_cats": false}})");
  const Config c = load_config(child);
  EXPECT_EQ(c.eval.iou_type, "bbox");  // root
  EXPECT_EQ(c.runtime.threads, 2);     // mid over root
  EXPECT_FALSE(c.eval.use_cats);       // child
}

TEST(Config, BaseLoopIsAnError) {
  ScopedTempDir dir;
  dir.write("a.json", R"({"base": "b.json"})");
  dir.write("b.json", R"({"base": "a.json"})");
  const std::string msg = load_error(dir.file("a.json"));
  EXPECT_THAT(msg, HasSubstr("a.json"));
  EXPECT_THAT(msg, HasSubstr("loop"));
}

TEST(Config, SelfBaseIsALoop) {
  ScopedTempDir dir;
  const std::string path = dir.write("self.json", R"({"base": "./self.json"})");
  EXPECT_THAT(load_error(path), HasSubstr("loop"));
}

TEST(Config, MissingBaseFileNamesBothFiles) {
  ScopedTempDir dir;
  const std::string child = dir.write("child.json", R"({"base": "presets/gone.json"})");
  const std::string msg = load_error(child);
  EXPECT_THAT(msg, HasSubstr(child + ": /base"));
  EXPECT_THAT(msg, HasSubstr("gone.json"));
  EXPECT_THAT(msg, HasSubstr("not found"));
}

TEST(Config, BaseMustBeAString) {
  ScopedTempDir dir;
  const std::string child = dir.write("child.json", R"({"base": 3})");
  EXPECT_THAT(load_error(child), HasSubstr(child + ": /base: expected a string"));
}

// A mistake inside a base preset must name the preset, not the file that includes it.
TEST(Config, UnknownKeyInBaseNamesTheBaseFile) {
  ScopedTempDir dir;
  const std::string base = dir.write("presets/base.json", R"({"runtime": {"thread": 2}})");
  const std::string child = dir.write("child.json", R"({"base": "presets/base.json"})");
  const std::string msg = load_error(child);
  EXPECT_THAT(msg, HasSubstr("base.json: /runtime/thread: unknown key"));
  EXPECT_THAT(msg, Not(HasSubstr("child.json")));
}

TEST(Config, BadEnumInBaseNamesTheBaseFile) {
  ScopedTempDir dir;
  dir.write("base.json", R"({"eval": {"iou_type": "mask"}})");
  const std::string child = dir.write("child.json", R"({"base": "base.json", "runtime": {"threads": 1}})");
  const std::string msg = load_error(child);
  EXPECT_THAT(msg, HasSubstr("base.json: /eval/iou_type: expected one of segm, bbox"));
  EXPECT_THAT(msg, Not(HasSubstr("child.json")));
}

TEST(Config, VersionTooNewRejected) {
  ScopedTempDir dir;
  const std::string path = dir.write("c.json", "{\"version\": " + std::to_string(kConfigVersion + 1) + "}");
  const std::string msg = load_error(path);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("/version"));
  EXPECT_THAT(msg, HasSubstr("version " + std::to_string(kConfigVersion + 1) + " is not supported"));
}

TEST(Config, VersionZeroRejectedCurrentAccepted) {
  ScopedTempDir dir;
  EXPECT_THAT(load_error(dir.write("zero.json", R"({"version": 0})")), HasSubstr("/version"));
  const Config c = load_config(dir.write("cur.json", "{\"version\": " + std::to_string(kConfigVersion) + "}"));
  EXPECT_EQ(c.version, kConfigVersion);
}

TEST(Config, SetWithJsonValue) {
  const Config c = load_config("", {"runtime.threads=4", "eval.use_cats=false"});
  EXPECT_EQ(c.runtime.threads, 4);
  EXPECT_FALSE(c.eval.use_cats);
}

TEST(Config, SetWithBytesThatAreNotUtf8IsAnError) {
  // Found by fuzz_config: the value became a JSON string that no message or file could print.
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  try {
    apply_override(j, "train.max_steps=\xff\xff" "10");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("not valid UTF-8"));
  }
  EXPECT_NO_THROW(apply_override(j, "data.train=caf\xc3\xa9.json"));  // UTF-8 is fine
}

TEST(Config, NumbersBeyondDoubleAreErrorsNamingTheSource) {
  // Found by fuzz_config: nlohmann reports 1E999 as out_of_range, not a parse
  // error, and it escaped the JSON readers as another exception type.
  ScopedTempDir tmp;
  const std::string path = tmp.write("huge.json", R"({"train": {"lr": 1E999}})");
  try {
    load_config(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path + ": invalid JSON"));
  }
  try {
    load_config("", {"train.lr=1E999"});  // not a number JSON can hold: a string, then the type check
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("train.lr"));
  }
}

TEST(Config, SetWithBareStringValue) {
  const Config c = load_config("", {"eval.iou_type=bbox", "runtime.log_level=debug"});
  EXPECT_EQ(c.eval.iou_type, "bbox");
  EXPECT_EQ(c.runtime.log_level, "debug");
}

TEST(Config, SetOverridesFileAndLaterSetWins) {
  ScopedTempDir dir;
  const std::string path = dir.write("c.json", R"({"runtime": {"threads": 3}, "eval": {"iou_type": "bbox"}})");
  const Config c = load_config(path, {"runtime.threads=6", "runtime.threads=7"});
  EXPECT_EQ(c.runtime.threads, 7);
  EXPECT_EQ(c.eval.iou_type, "bbox");  // from the file, not overridden
}

TEST(Config, SetUnknownKeyNamesTheSetAndListsValidKeys) {
  const std::string msg = load_error("", {"runtime.foo=1"});
  EXPECT_THAT(msg, HasSubstr("--set runtime.foo"));
  EXPECT_THAT(msg, HasSubstr("/runtime/foo: unknown key"));
  EXPECT_THAT(msg, HasSubstr("threads, log_level"));
}

TEST(Config, SetBadTypeNamesKeyAndTypes) {
  const std::string msg = load_error("", {"runtime.threads=many"});
  EXPECT_THAT(msg, HasSubstr("--set runtime.threads"));
  EXPECT_THAT(msg, HasSubstr("expected an integer, got a string"));
}

TEST(Config, SetBadEnumListsValidValues) {
  const std::string msg = load_error("", {"eval.iou_type=mask"});
  EXPECT_THAT(msg, HasSubstr("--set eval.iou_type"));
  EXPECT_THAT(msg, HasSubstr("expected one of segm, bbox; got \"mask\""));
}

TEST(Config, SetWithoutEqualsIsMalformed) {
  const std::string msg = load_error("", {"runtime.threads"});
  EXPECT_THAT(msg, HasSubstr("--set runtime.threads"));
  EXPECT_THAT(msg, HasSubstr("expected key=value"));
}

TEST(Config, SetWithEmptyKeyIsMalformed) {
  EXPECT_THAT(load_error("", {"=3"}), HasSubstr("expected key=value"));
  EXPECT_THAT(load_error("", {"runtime..threads=3"}), HasSubstr("empty key segment"));
}

TEST(Config, ApplyOverrideBuildsNestedObjects) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  apply_override(j, "a.b.c=[1,2]");
  apply_override(j, "a.d=hello world");
  apply_override(j, "e=\"quoted\"");
  EXPECT_EQ(j["a"]["b"]["c"], nlohmann::ordered_json::parse("[1,2]"));
  EXPECT_EQ(j["a"]["d"], "hello world");
  EXPECT_EQ(j["e"], "quoted");
}

TEST(Config, ToJsonRoundTrip) {
  Config c;
  c.runtime.threads = 5;
  c.runtime.log_level = "warn";
  c.eval.iou_type = "bbox";
  c.eval.use_cats = false;
  const nlohmann::ordered_json j = config_to_json(c);
  // Declaration order, so written configs diff well.
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"version", "runtime", "eval", "model", "data", "train"}));
  EXPECT_EQ(j["runtime"]["threads"], 5);
  EXPECT_EQ(j["eval"]["use_cats"], false);

  const Config back = config_from_json(j, "round-trip");
  EXPECT_EQ(back.version, c.version);
  EXPECT_EQ(back.runtime.threads, 5);
  EXPECT_EQ(back.runtime.log_level, "warn");
  EXPECT_EQ(back.eval.iou_type, "bbox");
  EXPECT_FALSE(back.eval.use_cats);
  EXPECT_EQ(config_to_json(back), j);
}

TEST(Config, ConfigFromJsonNamesSource) {
  try {
    config_from_json(nlohmann::ordered_json::parse(R"({"eval": {"use_cat": true}})"), "my-source");
    ADD_FAILURE() << "did not throw";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("my-source: /eval/use_cat: unknown key (valid keys here: iou_type, use_cats, top_k"));
  }
}

TEST(Config, ModelSectionDefaultsToTheRgbVariant) {
  const Config c = load_config("");
  EXPECT_EQ(c.model.variant, "rgb");
  EXPECT_EQ(c.model.depth.dsam.num_modes, 3);
  EXPECT_DOUBLE_EQ(c.model.depth.predictor.min_ratio, 0.01);
  EXPECT_DOUBLE_EQ(c.model.depth.predictor.max_ratio, 0.5);
  EXPECT_DOUBLE_EQ(c.model.depth.dsam.window_ratio, 0.1);
}

TEST(Config, ModelVariantMustBeKnown) {
  EXPECT_THAT(load_error("", {"model.variant=rgbd"}),
              HasSubstr("--set model.variant: /model/variant: expected one of rgb, dggm, dsam, edsam, full; got \"rgbd\""));
}

TEST(Config, DepthModuleValuesAreRangeChecked) {
  EXPECT_THAT(load_error("", {"model.depth.predictor.max_ratio=0.005"}),
              HasSubstr("/model/depth/predictor/max_ratio: need 0 < min_ratio < max_ratio"));
  EXPECT_THAT(load_error("", {"model.depth.dsam.kernel_size=5"}),
              HasSubstr("/model/depth/dsam/kernel_size: must be 1 or 3"));
  EXPECT_THAT(load_error("", {"model.depth.max_depth=-1"}),
              HasSubstr("/model/depth/max_depth"));
}

TEST(Config, HfConfigPathIsRelativeToTheFileThatNamesIt) {
  ScopedTempDir dir;
  dir.write("presets/base.json", R"({"model": {"hf_config": "hf/m2f.json"}})");
  dir.write("child.json", R"({"base": "presets/base.json", "model": {"variant": "full"}})");
  const Config c = load_config(dir.file("child.json"));
  EXPECT_EQ(c.model.variant, "full");
  EXPECT_EQ(c.model.hf_config, dir.file("presets/hf/m2f.json"));
  // Absolute paths stay as they are.
  dir.write("abs.json", R"({"model": {"hf_config": "/opt/m2f.json"}})");
  EXPECT_EQ(load_config(dir.file("abs.json")).model.hf_config, "/opt/m2f.json");
}

TEST(Config, SetPathsAreRelativeToTheWorkingDirectory) {
  // Typed on the command line, so relative to where the user is; saved absolute,
  // so a checkpoint's config.json names the same files from anywhere.
  const std::string cwd = std::filesystem::current_path().string();
  const Config c = load_config("", {"data.train=rel/train.json", "data.val=/abs/val.json", "model.hf_config=hf/m.json"});
  EXPECT_EQ(c.data.train, cwd + "/rel/train.json");
  EXPECT_EQ(c.data.val, "/abs/val.json");
  EXPECT_EQ(c.model.hf_config, cwd + "/hf/m.json");
  EXPECT_EQ(load_config("", {"data.val="}).data.val, "");  // empty stays empty (= no validation set)
}

TEST(Config, InitPathsAreResolvedLikeTheOtherPaths) {
  ScopedTempDir dir;
  dir.write("c.json", R"({"train": {"init": "hf:hf/config.json,w/model.safetensors"}})");
  EXPECT_EQ(load_config(dir.file("c.json")).train.init,
            "hf:" + dir.file("hf/config.json") + "," + dir.file("w/model.safetensors"));
  const std::string cwd = std::filesystem::current_path().string();
  EXPECT_EQ(load_config("", {"train.init=run/best/model.safetensors"}).train.init, cwd + "/run/best/model.safetensors");
  EXPECT_EQ(absolute_init_paths("hf:a.json,b.safetensors", "/d"), "hf:/d/a.json,/d/b.safetensors");
  EXPECT_EQ(absolute_init_paths("hf:nocomma.json", "/d"), "hf:nocomma.json");  // malformed: left for the trainer's message
  EXPECT_EQ(absolute_init_paths("", "/d"), "");
}

TEST(Config, ShortSideMinusOneMeansOriginalAndTrainShortSideIsChecked) {
  EXPECT_EQ(load_config("", {"eval.short_side=-1"}).eval.short_side, -1);
  EXPECT_THAT(load_error("", {"eval.short_side=-2"}), HasSubstr("/eval/short_side"));
  EXPECT_THAT(load_error("", {"model.train_short_side=-1"}), HasSubstr("/model/train_short_side"));
}

// ---- the key table and the typed enums ----

namespace {

// The leaves of a config JSON, by JSON pointer.
void leaves(const nlohmann::ordered_json& j, const std::string& pointer, std::map<std::string, std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) leaves(it.value(), pointer + "/" + it.key(), out);
  } else {
    out[pointer] = j.dump();
  }
}

// Values worth trying for one key that differ from its default (the first
// that passes the key's rule is used).
std::vector<std::string> other_values(const ConfigKey& key) {
  const auto d = nlohmann::json::parse(key.default_value);
  if (key.type == "boolean") return {d.get<bool>() ? "false" : "true"};
  if (key.type == "integer") {
    const int v = d.get<int>();
    return {std::to_string(v + 1), std::to_string(v + 2), std::to_string(v - 1), "1"};
  }
  if (key.type == "number") {
    const double v = d.get<double>();
    return {v == 0 ? "0.5" : std::to_string(v * 0.5), std::to_string(v + 0.25), std::to_string(v * 1.5)};
  }
  if (key.type == "string") return {"some/file.json"};
  if (key.type == "list of integers") return {"[7, 9]"};
  if (key.type == "cpu | cuda | cuda:N") return {"cuda:1"};
  std::vector<std::string> names;  // "a | b | c"
  for (size_t start = 0; start < key.type.size();) {
    const size_t bar = std::min(key.type.find(" | ", start), key.type.size());
    const std::string name = key.type.substr(start, bar - start);
    if ("\"" + name + "\"" != key.default_value) names.push_back(name);
    start = bar + 3;
  }
  return names;
}

}  // namespace

// Each row of the table reads into and writes from its own member: setting one
// key changes exactly that key of the written config (a row pointing at a
// neighbour's member would change two, or write the wrong one).
TEST(ConfigKeys, EachKeyReachesItsOwnMember) {
  std::map<std::string, std::string> defaults;
  leaves(config_to_json(Config{}), "", defaults);
  const auto keys = config_keys();
  EXPECT_EQ(keys.size() + 1, defaults.size());  // + /version
  for (const auto& key : keys) {
    SCOPED_TRACE(key.name);
    EXPECT_FALSE(key.doc.empty());
    std::string pointer = "/" + key.name;
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    ASSERT_EQ(defaults.count(pointer), 1u);
    EXPECT_EQ(defaults[pointer], key.default_value);
    bool tried = false;
    for (const auto& value : other_values(key)) {
      Config c;
      try {
        c = load_config("", {key.name + "=" + value});
      } catch (const Error&) {
        continue;  // outside the key's range: try the next value
      }
      tried = true;
      std::map<std::string, std::string> got;
      leaves(config_to_json(c), "", got);
      std::vector<std::string> changed;
      for (const auto& [p, v] : got) {
        if (defaults[p] != v) changed.push_back(p);
      }
      EXPECT_EQ(changed, std::vector<std::string>{pointer}) << key.name << "=" << value;
      break;
    }
    EXPECT_TRUE(tried) << "no accepted non-default value for " << key.name;
  }
}

TEST(ConfigKeys, EnumsAreParsedOnceIntoTypedValues) {
  const Config c = load_config("", {"model.variant=edsam", "data.resize=large_scale_jitter", "data.depth_resize=hole_aware",
                                    "train.schedule=cosine", "train.precision=bf16", "eval.iou_type=bbox",
                                    "runtime.device=cuda:3", "runtime.log_level=debug"});
  EXPECT_EQ(c.model.variant.value(), ModelVariant::Edsam);
  EXPECT_EQ(c.data.resize.value(), ResizeMode::LargeScaleJitter);
  EXPECT_EQ(c.data.depth_resize.value(), DepthResize::HoleAwareArea);
  EXPECT_EQ(c.train.schedule.value(), LrSchedule::Cosine);
  EXPECT_EQ(c.train.precision.value(), Precision::Bf16);
  EXPECT_EQ(c.eval.iou_type.value(), IouType::Bbox);
  EXPECT_EQ(c.runtime.log_level.value(), LogLevel::Debug);
  EXPECT_TRUE(c.runtime.device.is_cuda());
  EXPECT_EQ(c.runtime.device.index, 3);  // whether this build has CUDA is runtime/device.h's question
  // Written back by name.
  const auto j = config_to_json(c);
  EXPECT_EQ(j["model"]["variant"], "edsam");
  EXPECT_EQ(j["data"]["resize"], "large_scale_jitter");
  EXPECT_EQ(j["runtime"]["device"], "cuda:3");
  EXPECT_THAT(load_error("", {"runtime.device=gpu"}),
              HasSubstr("--set runtime.device: /runtime/device: expected cpu, cuda or cuda:N; got \"gpu\""));
  EXPECT_THAT(load_error("", {"data.resize=shortside"}),
              HasSubstr("/data/resize: expected one of none, short_side, fixed, scale_range, large_scale_jitter; got \"shortside\""));
}

TEST(ConfigKeys, NamedValuesCompareByNameAndNeverWriteNumbers) {
  Named<IouType> t = IouType::Bbox;
  EXPECT_TRUE(t == "bbox");
  EXPECT_TRUE(t != "segm");
  EXPECT_TRUE(t == IouType::Bbox);
  EXPECT_EQ(std::string(t.name()), "bbox");
  nlohmann::ordered_json j;
  j["t"] = t;
  EXPECT_EQ(j["t"], "bbox");  // not 1
  j["d"] = DeviceName("cuda:2");
  EXPECT_EQ(j["d"], "cuda:2");
  std::ostringstream os;
  os << Named<ModelVariant>(ModelVariant::Full);
  EXPECT_EQ(os.str(), "full");
  // Assignment from a name checks it against the one table.
  try {
    Named<LrSchedule> s = LrSchedule::Poly;
    s = std::string("linear");
    ADD_FAILURE() << "did not throw";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("schedule: expected one of constant, step, poly, cosine; got \"linear\""));
  }
  EXPECT_EQ(DeviceName("cuda").index, -1);
  EXPECT_EQ(DeviceName("cuda:12").name(), "cuda:12");
  EXPECT_EQ(DeviceName().name(), "cpu");
}

TEST(ConfigKeys, RulesSeeTheWholeConfigWhateverTheOrder) {
  ScopedTempDir dir;
  // max_depth is checked against min_depth, which the file gives after it.
  const std::string path = dir.write("c.json", R"({"model": {"depth": {"max_depth": 5, "min_depth": 6}}})");
  EXPECT_THAT(load_error(path), HasSubstr(path + ": /model/depth/max_depth: must be 0 (no limit) or above min_depth"));
  EXPECT_THAT(load_error("", {"runtime.threads=99999999999"}), HasSubstr("/runtime/threads: 99999999999 is out of range"));
}
