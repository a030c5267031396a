// rgbdseg compare: several models' predictions on the same dataset, side by
// side: one COCO table per model (AP, AP50, AP75, per class), a per-image
// error breakdown (coco/error_analysis.h) and one frame per image with the
// ground truth and each model's matched, missed and false instances
// (viz/comparison.h). Results are COCO results files or `predict` output folders.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include <opencv2/core.hpp>

#include "commands.h"
#include "rgbdseg/coco/coco_eval.h"
#include "rgbdseg/coco/coco_metrics.h"
#include "rgbdseg/coco/error_analysis.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/parallel.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/annotation_import.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/io/image_io.h"
#include "rgbdseg/viz/comparison.h"
#include "rgbdseg/viz/overlay.h"

namespace rgbdseg::app {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

struct CompareArgs {
  CommonArgs common;
  std::string data, out, images;
  std::vector<std::string> results, names;
  bool force = false, no_cats = false, ignore_unknown_categories = false;
  double score_threshold = 0.5, iou_threshold = 0.5;
  int64_t frames = -1;  // -1: every image
};

struct Model {
  std::string name, source, results_path;
  std::vector<CocoObject> detections;
  CocoEvalResult metrics;
  std::vector<ImageErrors> errors;  // [gt image]
  ErrorTotals totals;
};

// The detections of a `predict` output folder, with image ids mapped to the
// ground truth's by image file (predict --dir numbers its images itself).
std::vector<CocoObject> load_predict_folder(const std::string& dir, const CocoGroundTruth& gt, const fs::path& gt_root,
                                            const ResultsOptions& results_options, int threads, std::string& results_path) {
  results_path = (fs::path(dir) / "results.json").string();
  const std::string images_path = (fs::path(dir) / "images.json").string();
  if (!file_exists(results_path) || !file_exists(images_path)) {
    throw Error(dir + ": not a predict output folder (needs results.json and images.json)");
  }
  std::map<std::string, size_t> gt_by_file;
  for (size_t i = 0; i < gt.images.size(); ++i) {
    gt_by_file[canonical_or_absolute((gt_root / gt.images[i].file_name).string())] = i;
  }
  const Json images = read_json_file(images_path);
  if (!images.is_object() || !images.contains("images") || !images["images"].is_array()) {
    throw Error(images_path + ": expected a COCO file with an \"images\" list (written by rgbdseg predict)");
  }
  // The ground truth as the folder numbers it: the same images and sizes, predict's ids.
  CocoGroundTruth view;
  view.path = images_path;
  view.categories = gt.categories;
  view.category_index = gt.category_index;
  std::map<int64_t, int64_t> gt_id_of;  // predict id -> ground-truth id
  std::set<size_t> covered;
  size_t k = 0;
  for (const auto& entry : images["images"]) {
    const std::string where = images_path + ": images[" + std::to_string(k++) + "]";
    if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_number_integer() || !entry.contains("file_name") ||
        !entry["file_name"].is_string()) {
      throw Error(where + ": expected {\"id\": <integer>, \"file_name\": <string>, ...}");
    }
    CocoImage img;
    img.id = entry["id"].get<int64_t>();
    img.file_name = entry["file_name"].get<std::string>();
    img.height = entry.value("height", int64_t{0});
    img.width = entry.value("width", int64_t{0});
    const auto it = gt_by_file.find(canonical_or_absolute((fs::path(images_path).parent_path() / img.file_name).string()));
    if (it != gt_by_file.end()) {
      gt_id_of[img.id] = gt.images[it->second].id;
      covered.insert(it->second);
      img.height = gt.images[it->second].height;
      img.width = gt.images[it->second].width;
    }
    if (!view.image_index.emplace(img.id, view.images.size()).second) {
      throw Error(where + ": image id " + std::to_string(img.id) + " listed twice");
    }
    view.images.push_back(img);
  }
  if (covered.size() < gt.images.size()) {
    size_t first_missing = 0;
    while (covered.count(first_missing)) ++first_missing;
    const std::string missing = gt.images[first_missing].file_name;
    throw Error(images_path + ": has predictions for " + std::to_string(covered.size()) + " of the " +
                std::to_string(gt.images.size()) + " images of " + gt.path + " (e.g. not " + missing +
                "); compare needs every model on the same images (run predict --data " + gt.path + ")");
  }
  CocoResults r = load_coco_results(results_path, view, IouType::Segm, results_options, threads);
  std::vector<CocoObject> out;
  for (auto& d : r.detections) {
    const auto it = gt_id_of.find(d.image_id);
    if (it == gt_id_of.end()) continue;  // an image outside the dataset
    d.image_id = it->second;
    d.id = static_cast<int64_t>(out.size()) + 1;
    out.push_back(std::move(d));
  }
  return out;
}

std::string default_name(const std::string& source) {
  const fs::path p = fs::path(source).lexically_normal();
  std::error_code ec;
  if (fs::is_directory(p, ec)) return (p.filename().empty() ? p.parent_path() : p).filename().string();
  const std::string stem = p.stem().string();
  // predict's OUT/results.json: the folder names the model better than "results".
  if ((stem == "results" || stem.empty()) && !p.parent_path().filename().empty()) return p.parent_path().filename().string();
  return stem;
}

std::vector<std::string> model_names(const CompareArgs& a) {
  std::vector<std::string> names = a.names;
  if (!names.empty() && names.size() != a.results.size()) {
    throw UsageError("--names: " + std::to_string(names.size()) + " names for " + std::to_string(a.results.size()) +
                     " results");
  }
  if (names.empty()) {
    for (const auto& r : a.results) names.push_back(default_name(r));
    // Same default twice (a/results.json, b/results.json are fine; x.json twice is not): number them.
    std::map<std::string, int> seen;
    for (auto& n : names) {
      if (++seen[n] > 1) n += "#" + std::to_string(seen[n]);
    }
  }
  std::set<std::string> unique;
  for (const auto& n : names) {
    if (n.empty()) throw UsageError("--names: a model name is empty");
    if (!unique.insert(n).second) throw UsageError("--names: '" + n + "' names two models");
  }
  return names;
}

std::string fixed(double v, int digits = 3) {
  if (v < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

int64_t error_count(const ImageErrors& e) {
  return static_cast<int64_t>(e.missed.size() + e.false_positives.size() + e.merges.size() + e.splits.size());
}

// Image indices, most telling first: with several models, by how far their error
// counts spread (most minus fewest); with one, by its error count. Ties keep
// dataset order. `spread` receives each image's key.
std::vector<size_t> rank_images(const std::vector<Model>& models, size_t n, std::vector<int64_t>* spread = nullptr) {
  std::vector<int64_t> key(n, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t lo = INT64_MAX, hi = 0;
    for (const auto& m : models) {
      lo = std::min(lo, error_count(m.errors[i]));
      hi = std::max(hi, error_count(m.errors[i]));
    }
    key[i] = models.size() > 1 ? hi - lo : hi;
  }
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return key[x] > key[y]; });
  if (spread) *spread = key;
  return order;
}

std::string summary_markdown(const CompareArgs& a, const CocoGroundTruth& gt, const std::vector<Model>& models,
                             const std::vector<std::string>& frame_names, const std::vector<char>& drawn) {
  std::ostringstream md;
  int64_t objects = 0;
  for (const auto& ann : gt.annotations) objects += ann.iscrowd ? 0 : 1;
  md << "# Model comparison on " << a.data << "\n\n"
     << gt.images.size() << " images, " << objects << " objects. Mask AP by pycocotools' rules"
     << (a.no_cats ? " (class-agnostic)" : "") << "; errors count predictions scoring >= " << fixed(a.score_threshold, 2)
     << ", matched at IoU >= " << fixed(a.iou_threshold, 2) << ".\n\n";
  md << "| model | AP | AP50 | AP75 | APs | APm | APl | AR100 |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& m : models) {
    const auto& s = m.metrics.stats;
    md << "| " << m.name << " | " << fixed(s[0]) << " | " << fixed(s[1]) << " | " << fixed(s[2]) << " | " << fixed(s[3])
       << " | " << fixed(s[4]) << " | " << fixed(s[5]) << " | " << fixed(s[8]) << " |\n";
  }
  if (!a.no_cats && !models.empty() && !models[0].metrics.per_category.empty()) {
    md << "\n## AP per class\n\n| class |";
    for (const auto& m : models) md << " " << m.name << " |";
    md << "\n|---|";
    for (size_t k = 0; k < models.size(); ++k) md << "---|";
    md << "\n";
    for (size_t c = 0; c < models[0].metrics.per_category.size(); ++c) {
      md << "| " << models[0].metrics.per_category[c].name << " |";
      for (const auto& m : models) md << " " << fixed(m.metrics.per_category[c].ap) << " |";
      md << "\n";
    }
  }
  md << "\n## Errors\n\n| model | predictions | matched | missed | false positives | merges | splits |\n"
        "|---|---|---|---|---|---|---|\n";
  for (const auto& m : models) {
    const ErrorTotals& t = m.totals;
    md << "| " << m.name << " | " << t.predictions << " | " << t.matched << " / " << t.objects << " | " << t.missed
       << " | " << t.false_positives << " | " << t.merges << " | " << t.splits << " |\n";
  }
  md << "\nA merge is one prediction covering most of two or more objects; a split is one object of which two or more "
        "predictions each cover a part.\n";
  // The images where the models disagree most.
  if (models.size() > 1) {
    std::vector<int64_t> spread;
    const std::vector<size_t> order = rank_images(models, gt.images.size(), &spread);
    md << "\n## Images where the models differ most\n\nErrors per model: missed / false positives / merges / splits.\n\n"
       << "| image |";
    for (const auto& m : models) md << " " << m.name << " |";
    md << " frame |\n|---|";
    for (size_t k = 0; k <= models.size(); ++k) md << "---|";
    md << "\n";
    size_t listed = 0;
    for (size_t r = 0; r < order.size() && listed < 10 && spread[order[r]] > 0; ++r, ++listed) {
      const size_t i = order[r];
      md << "| " << gt.images[i].file_name << " |";
      for (const auto& m : models) {
        const ImageErrors& e = m.errors[i];
        md << " " << e.missed.size() << " / " << e.false_positives.size() << " / " << e.merges.size() << " / "
           << e.splits.size() << " |";
      }
      md << " " << (drawn[i] ? "[frame](frames/" + frame_names[i] + ".png)" : "-") << " |\n";
    }
    if (listed == 0) md << "| (none: every image has the same error count for every model) |\n";
  }
  return md.str();
}

int run_compare(const CompareArgs& a) {
  const Config config = start_command("compare", a.common);
  const int threads = config.runtime.threads;
  const std::vector<std::string> names = model_names(a);
  require_empty_output_dir(a.out, a.force);
  const CocoGroundTruth gt = load_coco_ground_truth(a.data, IouType::Segm, threads);
  if (gt.images.empty()) throw Error(a.data + ": lists no images");
  if (const std::string w = zero_id_warning(gt); !w.empty()) {
    RGBDSEG_LOG(Warn) << "compare: " << w;
  }
  // Where file_name points: beside D.json (a canonical dataset), or found as convert coco-depth finds it.
  fs::path gt_root = fs::path(a.data).parent_path();
  if (a.frames != 0 || !a.images.empty()) gt_root = coco_image_root(a.data, gt.images, a.images);  // frames need them
  ResultsOptions results_options;
  results_options.drop_unknown_categories = a.ignore_unknown_categories;

  std::vector<Model> models(a.results.size());
  ErrorAnalysisOptions error_options;
  error_options.score_threshold = a.score_threshold;
  error_options.iou_threshold = a.iou_threshold;
  error_options.use_cats = !a.no_cats;
  error_options.threads = threads;
  for (size_t k = 0; k < models.size(); ++k) {
    Model& m = models[k];
    m.name = names[k];
    m.source = a.results[k];
    std::error_code ec;
    if (fs::is_directory(m.source, ec)) {
      m.detections = load_predict_folder(m.source, gt, gt_root, results_options, threads, m.results_path);
    } else {
      m.results_path = m.source;
      m.detections = load_coco_results(m.source, gt, IouType::Segm, results_options, threads).detections;
    }
    CocoEvalParams params;
    params.use_cats = !a.no_cats;
    params.num_threads = threads;
    m.metrics = CocoEvaluator(gt, m.detections, params).run();
    m.errors = analyse_errors(gt, m.detections, error_options);
    m.totals = total_errors(m.errors);
    RGBDSEG_LOG(Info) << "compare: " << m.name << ": AP " << fixed(m.metrics.stats[0]) << ", " << m.totals.matched << "/"
                      << m.totals.objects << " objects found, " << m.totals.false_positives << " false positives, "
                      << m.totals.merges << " merges, " << m.totals.splits << " splits";
  }

  OutputDirGuard out(a.out);
  require_empty_output_dir(a.out, a.force);  // again, under the folder's lock
  const std::vector<std::string> frame_names = image_output_names(gt.images);
  // Frames: every image, or the N most telling ones (rank_images).
  const size_t frames = a.frames < 0 ? gt.images.size() : std::min(gt.images.size(), static_cast<size_t>(a.frames));
  std::vector<size_t> to_draw = rank_images(models, gt.images.size());
  to_draw.resize(frames);
  std::sort(to_draw.begin(), to_draw.end());
  std::vector<char> drawn(gt.images.size(), 0);
  for (size_t i : to_draw) drawn[i] = 1;

  // Frames: ground truth, then each model.
  std::map<int64_t, std::string> category_name;
  for (const auto& c : gt.categories) category_name[c.id] = c.name;
  std::vector<std::vector<const CocoObject*>> gt_of(gt.images.size());
  for (const auto& ann : gt.annotations) gt_of[gt.image_index.at(ann.image_id)].push_back(&ann);
  std::vector<std::unordered_map<int64_t, const CocoObject*>> dt_by_id(models.size());
  for (size_t k = 0; k < models.size(); ++k) {
    for (const auto& d : models[k].detections) dt_by_id[k][d.id] = &d;
  }
  ProgressBar bar("compare", static_cast<int64_t>(frames), "frames");
  std::mutex bar_mutex;
  parallel_for(to_draw.size(), threads, [&](size_t f) {
    const size_t i = to_draw[f];
    const std::string rgb_path = (gt_root / gt.images[i].file_name).string();
    const cv::Mat rgb = read_rgb(rgb_path);
    if (rgb.rows != gt.images[i].height || rgb.cols != gt.images[i].width) {
      throw Error(rgb_path + ": image is " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + " but " + a.data +
                  " says " + std::to_string(gt.images[i].width) + "x" + std::to_string(gt.images[i].height));
    }
    std::unordered_map<int64_t, cv::Mat> gt_mask;
    std::unordered_map<int64_t, cv::Vec3b> gt_colour;
    std::vector<ComparisonPanel> panels(1 + models.size());
    int64_t objects = 0;
    for (size_t g = 0; g < gt_of[i].size(); ++g) {
      const CocoObject* ann = gt_of[i][g];
      gt_mask[ann->id] = decode_mask(ann->mask);
      gt_colour[ann->id] = ann->iscrowd ? cv::Vec3b(128, 128, 128) : instance_colour(static_cast<int>(g));
      objects += ann->iscrowd ? 0 : 1;
      panels[0].objects.push_back({gt_mask[ann->id], gt_colour[ann->id],
                                   category_name[ann->category_id] + (ann->iscrowd ? " (crowd)" : ""),
                                   PanelObject::Style::Filled});
    }
    panels[0].title = "ground truth: " + std::to_string(objects) + " objects";
    for (size_t k = 0; k < models.size(); ++k) {
      const ImageErrors& e = models[k].errors[i];
      ComparisonPanel& p = panels[k + 1];
      const std::set<int64_t> merges(e.merges.begin(), e.merges.end());
      auto dt_label = [&](const CocoObject* d, const std::string& prefix) {
        return prefix + category_name[d->category_id] + " " + fixed(d->score, 2) + (merges.count(d->id) ? " merge" : "");
      };
      for (const auto& [dt_id, gt_id] : e.matches) {
        const CocoObject* d = dt_by_id[k].at(dt_id);
        p.objects.push_back({decode_mask(d->mask), gt_colour.at(gt_id), dt_label(d, ""), PanelObject::Style::Filled});
      }
      for (int64_t dt_id : e.false_positives) {
        const CocoObject* d = dt_by_id[k].at(dt_id);
        p.objects.push_back({decode_mask(d->mask), cv::Vec3b(230, 30, 30), dt_label(d, "FP "), PanelObject::Style::FalsePositive});
      }
      const std::set<int64_t> splits(e.splits.begin(), e.splits.end());
      for (int64_t gt_id : e.missed) {
        p.objects.push_back({gt_mask.at(gt_id), gt_colour.at(gt_id), splits.count(gt_id) ? "missed, split" : "missed",
                             PanelObject::Style::Missed});
      }
      for (int64_t gt_id : e.splits) {
        if (std::find(e.missed.begin(), e.missed.end(), gt_id) != e.missed.end()) continue;
        p.objects.push_back({gt_mask.at(gt_id), gt_colour.at(gt_id), "split", PanelObject::Style::Missed});
      }
      p.title = models[k].name + ": found " + std::to_string(e.matches.size()) + "/" + std::to_string(e.objects) +
                ", FP " + std::to_string(e.false_positives.size()) + ", merges " + std::to_string(e.merges.size()) +
                ", splits " + std::to_string(e.splits.size());
    }
    const std::string path = (fs::path(a.out) / "frames" / (frame_names[i] + ".png")).string();
    make_directories(fs::path(path).parent_path().string());
    write_rgb_png(path, comparison_frame(rgb, panels));
    std::lock_guard<std::mutex> lock(bar_mutex);
    bar.advance();
  });
  bar.finish();

  // Tables and numbers.
  Json report;
  report["data"] = a.data;
  report["iou_type"] = "segm";
  report["use_cats"] = !a.no_cats;
  report["score_threshold"] = a.score_threshold;
  report["iou_threshold"] = a.iou_threshold;
  report["models"] = Json::array();
  for (const auto& m : models) {
    const ErrorTotals& t = m.totals;
    report["models"].push_back({{"name", m.name},
                                {"results", m.source},
                                {"metrics", coco_metrics_json(m.metrics)},
                                {"errors",
                                 {{"objects", t.objects}, {"predictions", t.predictions}, {"matched", t.matched},
                                  {"missed", t.missed}, {"false_positives", t.false_positives}, {"merges", t.merges},
                                  {"splits", t.splits}}}});
  }
  report["images"] = Json::array();
  std::string csv = "image_id,file_name,model,objects,predictions,matched,missed,false_positives,merges,splits\n";
  for (size_t i = 0; i < gt.images.size(); ++i) {
    Json entry = {{"id", gt.images[i].id}, {"file_name", gt.images[i].file_name}};
    if (drawn[i]) entry["frame"] = "frames/" + frame_names[i] + ".png";
    entry["models"] = Json::object();
    for (const auto& m : models) {
      const ImageErrors& e = m.errors[i];
      entry["models"][m.name] = {{"objects", e.objects},
                                 {"predictions", e.predictions},
                                 {"matched", e.matches.size()},
                                 {"missed", e.missed},
                                 {"false_positives", e.false_positives},
                                 {"merges", e.merges},
                                 {"splits", e.splits}};
      csv += std::to_string(gt.images[i].id) + "," + csv_field(gt.images[i].file_name) + "," + csv_field(m.name) + "," +
             std::to_string(e.objects) + "," + std::to_string(e.predictions) + "," + std::to_string(e.matches.size()) +
             "," + std::to_string(e.missed.size()) + "," + std::to_string(e.false_positives.size()) + "," +
             std::to_string(e.merges.size()) + "," + std::to_string(e.splits.size()) + "\n";
    }
    report["images"].push_back(std::move(entry));
  }
  const std::string md = summary_markdown(a, gt, models, frame_names, drawn);
  write_file_atomic((fs::path(a.out) / "compare.json").string(), report.dump(1) + "\n");
  write_file_atomic((fs::path(a.out) / "errors.csv").string(), csv);
  write_file_atomic((fs::path(a.out) / "summary.md").string(), md);
  out.commit();
  std::fputs(md.c_str(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

Command add_compare_command(CLI::App& parent) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "compare", "compare several models' predictions on one dataset: COCO tables, error breakdown, side-by-side frames");
  cmd->add_option("--data", a->data, "the ground truth (a canonical dataset or any COCO instances JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--results", a->results, "one per model: a COCO results JSON or a predict output folder")
      ->required()
      ->expected(1, -1)
      ->check(CLI::ExistingPath);
  cmd->add_option("--names", a->names, "model names, comma-separated, in --results order (default: file or folder names)")
      ->delimiter(',');
  cmd->add_option("--images", a->images,
                  "folder the images' file_name is relative to (default: beside --data, or ../images[/<subset>] "
                  "for a CVAT COCO file)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", a->out, "output directory (summary.md, compare.json, errors.csv, frames/)")->required();
  cmd->add_flag("--force", a->force, "write into a non-empty output directory");
  cmd->add_flag("--no-cats", a->no_cats, "class-agnostic: evaluate and match ignoring categories");
  cmd->add_flag("--ignore-unknown-categories", a->ignore_unknown_categories,
                "drop detections whose category the ground truth does not have (pycocotools' behaviour)");
  cmd->add_option("--score-threshold", a->score_threshold, "predictions scoring below are left out of the error counts and frames")
      ->capture_default_str()
      ->check(unit_interval());
  cmd->add_option("--iou-threshold", a->iou_threshold, "mask IoU at which a prediction matches an object")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--frames", a->frames,
                  "draw frames for N images only: those where the models' error counts differ most (one model: "
                  "where it errs most); default all, 0 = none")
      ->check(non_negative_number());
  cmd->footer(
      "Writes OUT/summary.md (also printed), OUT/compare.json (every number), OUT/errors.csv (per image and model)\n"
      "and OUT/frames/<image>.png: ground truth, then each model. In a model's panel a matched prediction has\n"
      "its object's colour, a false positive is red and hatched, a missed object is a dashed outline. AP is\n"
      "pycocotools' (all scores); the error counts use predictions scoring >= --score-threshold.");
  add_common_options(*cmd, a->common, /*with_config=*/false);
  return {cmd, [a] { return run_compare(*a); }};
}

}  // namespace rgbdseg::app
