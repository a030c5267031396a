#pragma once
// Writes a canonical rgbdseg dataset (see DESIGN.md, "Interfaces"):
//   DIR/annotations.json   COCO instances + per image depth_file, depth_scale, intrinsics
//   DIR/rgb/<stem>.png     colour (8-bit RGB)
//   DIR/depth/<stem>.png   depth, 16-bit millimetres, 0 = no reading
// Every converter and the synthetic generator write through this class, so
// the format is produced in one place. add() is thread-safe; images can be
// converted in parallel. annotations.json is written last, atomically, so an
// interrupted conversion never leaves a dataset that looks complete; and a
// writer destroyed without finish() (an error) removes what it wrote when the
// output directory was absent or empty to begin with.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core/mat.hpp>

#include "rgbdseg/core/camera.h"
#include "rgbdseg/core/progress.h"

namespace rgbdseg {

struct InstanceMask {
  int64_t category_id = 0;
  cv::Mat mask;        // CV_8UC1, image size, non-zero = object
  bool iscrowd = false;
};

struct ConversionSummary {
  std::string annotations_path;
  int64_t images = 0;
  int64_t instances = 0;
  std::map<std::string, int64_t> instances_per_category;  // by name
  std::vector<std::pair<std::string, std::string>> skipped;  // (item, reason)
  std::vector<std::string> notes;  // what the user should know about the data (converters add them)
};

class DatasetWriter {
 public:
  // categories: (id, name). Refuses an existing non-empty `out_dir` unless `force`.
  DatasetWriter(std::string out_dir, std::vector<std::pair<int64_t, std::string>> categories, bool force = false,
                std::string description = "");

  // Writes the images and records the annotations. `stem` names the files
  // (unique per dataset; "/" allowed for subfolders). `depth_m` is CV_32FC1
  // metres (0 = invalid). Empty masks are skipped. Thread-safe. Image ids are
  // assigned by finish() in stem order, so they do not depend on thread timing.
  void add(const std::string& stem, const cv::Mat& rgb, const cv::Mat& depth_m,
              const std::vector<InstanceMask>& instances, const std::optional<Intrinsics>& intrinsics = {},
              const std::string& source = "");

  // An image whose annotations are COCO objects already (`rgbdseg convert
  // coco-depth`): they are written as given (segmentation polygons or RLE,
  // area, bbox, iscrowd, id and any other keys), and the image keeps
  // `image_id`. A dataset is written either all by add() or all by add_coco().
  void add_coco(const std::string& stem, int64_t image_id, const cv::Mat& rgb, const cv::Mat& depth_m,
                nlohmann::ordered_json annotations, const std::optional<Intrinsics>& intrinsics = {},
                const std::string& source = "");

  // Records an input item that was not converted, with the reason (shown in the summary).
  void skip(const std::string& item, const std::string& reason);

  // Sorts the skipped items by name: converters that work in parallel call it so
  // that their summary does not depend on thread timing.
  void sort_skipped();

  // Writes annotations.json (images in stem order, ids 1..N) and returns the summary.
  ConversionSummary finish();

  const std::string& out_dir() const { return out_dir_; }

 private:
  struct PendingImage {
    std::string stem, source;
    int64_t height = 0, width = 0;
    std::optional<Intrinsics> intrinsics;
    std::vector<std::pair<int64_t, std::string>> masks;  // (category, compressed RLE counts)
    std::vector<bool> crowd;
    bool from_coco = false;                   // add_coco: keeps its id and annotations
    int64_t image_id = 0;                     // add_coco: the id it keeps (any integer, Roboflow starts at 0)
    nlohmann::ordered_json coco_annotations;  // add_coco: written as given
  };
  // Checks sizes and writes DIR/rgb and DIR/depth; returns the entry without annotations.
  PendingImage write_image_files(const std::string& stem, const cv::Mat& rgb, const cv::Mat& depth_m,
                                 const std::optional<Intrinsics>& intrinsics, const std::string& source);
  void record(PendingImage img);
  std::string out_dir_;
  std::vector<std::pair<int64_t, std::string>> categories_;
  std::string description_;
  std::mutex mutex_;
  std::vector<PendingImage> images_;
  std::vector<std::pair<std::string, std::string>> skipped_;
  std::set<std::string> stems_;  // claimed before their files are written: two images never share files
  bool finished_ = false;         // finish() began: no more add()
  bool committed_ = false;        // annotations.json written: the destructor keeps everything
  bool existed_ = false, was_empty_ = false;  // the output directory before we started

 public:
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;
};

// The bookkeeping of a converter that converts images in parallel: progress
// (and cancellation through it), images skipped with a reason (the first kept
// for the error when none converts), and images converted. Thread-safe.
class ConversionTracker {
 public:
  ConversionTracker(DatasetWriter& writer, int64_t total, ProgressCallback progress)
      : writer_(writer), total_(total), progress_(std::move(progress)) {}
  // An input image not converted, with the reason (DatasetWriter::skip).
  void skip_image(const std::string& item, const std::string& reason);
  void converted() { ++converted_; }
  // One image done, converted or skipped: reports progress.
  void step_done();
  bool cancelled() const { return cancelled_; }
  // Sorts the writer's skipped items (DatasetWriter::sort_skipped), then throws
  // Error when the progress callback cancelled (naming `out`) or when no image
  // was converted (naming `input`, with the first skip's reason).
  void check_finished(const std::string& input, const std::string& out) const;

 private:
  DatasetWriter& writer_;
  const int64_t total_;
  ProgressCallback progress_;
  std::mutex mutex_;
  std::atomic<int64_t> done_{0}, converted_{0};
  std::atomic<bool> cancelled_{false};
  std::string first_skip_;
};

// A one-paragraph human summary (images, instances per class, skipped items with reasons).
std::string format_summary(const ConversionSummary& summary, size_t max_skipped_listed = 10);

}  // namespace rgbdseg
