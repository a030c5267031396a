// rgbdseg cocoeval: COCO mask (or box) AP of a results file against ground truth,
// with pycocotools' exact numbers.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/coco/coco_eval.h"
#include "rgbdseg/coco/coco_metrics.h"

namespace rgbdseg::app {

namespace {

struct CocoEvalArgs {
  CommonArgs common;
  std::string gt, dt, json_out, iou_type;
  bool no_cats = false;
  bool ignore_unknown_categories = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_cocoeval(const CocoEvalArgs& args) {
  Config config = start_command("cocoeval", args.common);
  if (!args.iou_type.empty()) config.eval.iou_type = args.iou_type;
  if (args.no_cats) config.eval.use_cats = false;
  const IouType iou_type = config.eval.iou_type;
  if (!args.json_out.empty() && args.json_out != "-") require_writable_output_file(args.json_out);

  const auto t0 = std::chrono::steady_clock::now();
  ResultsOptions options;
  options.drop_unknown_categories = args.ignore_unknown_categories;
  const CocoEvalInputs inputs =
      load_coco_gt_and_results(args.gt, args.dt, iou_type, options, config.runtime.threads);
  const CocoGroundTruth& gt = inputs.gt;
  const CocoResults& results = inputs.results;
  const double load_s = seconds_since(t0);
  if (const std::string w = zero_id_warning(gt); !w.empty()) {
    RGBDSEG_LOG(Warn) << "cocoeval: " << w;
  }
  if (results.dropped_unknown_category > 0) {
    RGBDSEG_LOG(Warn) << "cocoeval: dropped " << results.dropped_unknown_category
                      << " results whose category is not in the ground truth";
  }
  RGBDSEG_LOG(Info) << "cocoeval: " << gt.images.size() << " images, " << gt.annotations.size()
                    << " ground-truth objects, " << results.detections.size() << " results (" << enum_name(iou_type)
                    << ", " << (config.eval.use_cats ? "per category" : "class-agnostic") << ")";

  CocoEvalParams params;
  params.iou_type = iou_type;
  params.use_cats = config.eval.use_cats;
  params.num_threads = config.runtime.threads;
  const auto t1 = std::chrono::steady_clock::now();
  const CocoEvalResult r = CocoEvaluator(gt, results.detections, params).run();
  RGBDSEG_LOG(Info) << "cocoeval: loaded in " << static_cast<int>(load_s * 1000) << " ms, evaluated in "
                    << static_cast<int>(seconds_since(t1) * 1000) << " ms";

  nlohmann::ordered_json out = coco_metrics_json(r);
  out["iou_type"] = enum_name(iou_type);
  out["use_cats"] = config.eval.use_cats;
  out["gt"] = args.gt;
  out["dt"] = args.dt;
  out["num_images"] = gt.images.size();
  out["num_results"] = results.detections.size();

  // With --json - the JSON owns stdout (pipe it to jq) and the summary moves to stderr.
  // The file first: if it cannot be written (disk full), the command fails before printing results.
  const bool json_to_stdout = args.json_out == "-";
  if (!json_to_stdout && !args.json_out.empty()) write_file_atomic(args.json_out, out.dump(2) + "\n");
  FILE* summary = json_to_stdout ? stderr : stdout;
  for (const auto& line : r.summary_lines) std::fprintf(summary, "%s\n", line.c_str());
  std::fflush(summary);
  if (json_to_stdout) {
    std::printf("%s\n", out.dump(2).c_str());
  } else if (!args.json_out.empty()) {
    RGBDSEG_LOG(Info) << "cocoeval: wrote " << args.json_out;
  }
  return 0;
}

}  // namespace

Command add_cocoeval_command(CLI::App& parent) {
  auto args = std::make_shared<CocoEvalArgs>();
  CLI::App* cmd = parent.add_subcommand("cocoeval", "COCO AP of a results file against ground truth (pycocotools-exact)");
  cmd->add_option("--gt", args->gt, "ground-truth COCO instances JSON")->required()->check(CLI::ExistingFile);
  cmd->add_option("--dt", args->dt, "results JSON: [{image_id, category_id, score, segmentation|bbox}, ...]")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--iou-type", args->iou_type, "segm or bbox (default: config eval.iou_type = segm)")
      ->check(one_of_names<IouType>());
  cmd->add_flag("--no-cats", args->no_cats, "class-agnostic evaluation (pycocotools useCats=0)");
  cmd->add_option("--json", args->json_out, "write {stats, per_category, ...} here ('-' = stdout)");
  cmd->add_flag("--ignore-unknown-categories", args->ignore_unknown_categories,
                "drop results whose category is not in the ground truth, as pycocotools does (default: error)");
  add_common_options(*cmd, args->common);
  return {cmd, [args] { return run_cocoeval(*args); }};
}

}  // namespace rgbdseg::app
