// rgbdseg synth: write synthetic RGB-D scenes as a canonical dataset.
#include <cstdio>

#include "commands.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/synthetic_scenes.h"

namespace rgbdseg::app {

namespace {

struct SynthArgs {
  CommonArgs common;
  std::string out;
  int64_t num = 100;
  uint64_t seed = 0;
  std::string size = "480x640";
  std::string classes = "shapes";
  std::string style = "shapes";
  std::string sensor = "mixed";
  bool no_clutter = false;
  bool single_class = false;
  bool force = false;
};

}  // namespace

SynthSummary run_synth_into(const std::string& out, int64_t num, const SynthOptions& options, int threads, bool force) {
  ProgressBar bar("synth", num, "scenes");
  const SynthSummary summary = write_synthetic_dataset(out, num, options, threads, bar.callback(), force);
  bar.finish();
  RGBDSEG_LOG(Info) << "synth: " << summary.images << " scenes, " << summary.instances << " instances -> "
                    << summary.annotations_path;
  return summary;
}

namespace {

int run_synth(const SynthArgs& args) {
  const Config config = start_command("synth", args.common);
  SynthOptions options;
  std::tie(options.height, options.width) = parse_size(args.size);
  options.seed = args.seed;
  options.style = parse_scene_style(args.style);
  options.sensor = parse_depth_sensor(args.sensor);
  options.clutter = !args.no_clutter;
  options.single_class = args.single_class || args.classes == "object" || options.style == SceneStyle::Tabletop;
  if (options.style == SceneStyle::Tabletop) options.min_objects = 1, options.max_objects = 8;
  const SynthSummary summary = run_synth_into(args.out, args.num, options, config.runtime.threads, args.force);
  std::printf("%s\n", summary.annotations_path.c_str());
  return 0;
}

}  // namespace

Command add_synth_command(CLI::App& parent) {
  auto args = std::make_shared<SynthArgs>();
  CLI::App* cmd = parent.add_subcommand("synth", "write synthetic RGB-D tabletop scenes as a canonical dataset");
  cmd->add_option("--out", args->out, "output directory (rgb/, depth/, annotations.json)")->required();
  cmd->add_option("--num", args->num, "number of scenes")->capture_default_str()->check(positive_number());
  cmd->add_option("--seed", args->seed, "random seed (same seed, same scenes)")->capture_default_str();
  cmd->add_option("--size", args->size, "image size HxW")->capture_default_str();
  cmd->add_option("--classes", args->classes, "shapes: box, cylinder, sphere; object: one class-agnostic category")
      ->capture_default_str()
      ->check(CLI::IsMember({"shapes", "object"}));
  cmd->add_option("--style", args->style,
                  "shapes: the demo's boxes, cylinders and spheres; tabletop: sim-to-real class-agnostic scenes "
                  "(many object types, materials, lights, cameras, clutter, sensor models)")
      ->capture_default_str()
      ->check(CLI::IsMember({"shapes", "tabletop"}));
  cmd->add_option("--sensor", args->sensor, "tabletop depth sensor: mixed (per scene), realsense, kinect, perfect")
      ->capture_default_str()
      ->check(CLI::IsMember({"mixed", "realsense", "kinect", "perfect"}));
  cmd->add_flag("--no-clutter", args->no_clutter, "tabletop: no background clutter off the table");
  cmd->add_flag("--single-class", args->single_class, "same as --classes object");
  cmd->add_flag("--force", args->force, "write into a non-empty output directory");
  add_common_options(*cmd, args->common, /*with_config=*/false);
  return {cmd, [args] { return run_synth(*args); }};
}

}  // namespace rgbdseg::app
