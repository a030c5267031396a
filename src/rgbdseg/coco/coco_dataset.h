#pragma once
// COCO instances files as the evaluator needs them: ground truth (images,
// categories, annotations) and detection results, with masks as RLE.
// Loading follows pycocotools' COCO() and COCO.loadRes() semantics, and
// rejects malformed input with one-line errors that name the file and entry.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rgbdseg/core/camera.h"
#include "rgbdseg/core/depth_encoding.h"
#include "rgbdseg/core/enums.h"
#include "rgbdseg/coco/rle.h"

namespace rgbdseg {

// IouType (core/enums.h): segm | bbox; "iou type: expected one of segm, bbox; got ..." otherwise.
inline IouType parse_iou_type(const std::string& name) { return parse_enum<IouType>(name); }

struct CocoImage {
  int64_t id = 0;
  int64_t height = 0;
  int64_t width = 0;
  std::string file_name;
  // rgbdseg's RGB-D extensions (optional in plain COCO files):
  std::string depth_file;          // relative to the JSON file, like file_name
  double depth_scale = 0;          // metres per stored depth unit; 0 = not given
  DepthEncoding depth_encoding = DepthEncoding::Auto;  // "depth_encoding"; Auto = from the file's sample type
  std::optional<Intrinsics> intrinsics;
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;
};

// One ground-truth annotation or one detection.
struct CocoObject {
  int64_t id = 0;
  int64_t image_id = 0;
  int64_t category_id = 0;
  bool iscrowd = false;
  double area = 0;   // GT: the file's `area`; detection: as pycocotools' loadRes sets it
  double score = 0;  // detections only
  BBox bbox{};       // the `bbox` field; for bbox evaluation derived from the mask when absent
  Rle mask;          // segm only; h = w = 0 when masks were not needed
};

struct CocoGroundTruth {
  std::string path;
  std::vector<CocoImage> images;          // file order
  std::vector<CocoCategory> categories;   // file order
  std::vector<CocoObject> annotations;    // file order
  std::unordered_map<int64_t, size_t> image_index;     // id -> position in images
  std::unordered_map<int64_t, size_t> category_index;  // id -> position in categories
};

// Reads a COCO instances JSON. With IouType::Segm every annotation needs a
// `segmentation` (compressed or uncompressed RLE, or polygons); with Bbox a
// `bbox`. A missing `area` is computed from the mask (segm) or box (bbox).
// Annotations are decoded on `threads` threads (0 = all cores).
CocoGroundTruth load_coco_ground_truth(const std::string& path, IouType iou_type, int threads = 0);

// pycocotools records a match as the object's id, so an object whose id is 0
// is never matched (its AP contribution is lost); our evaluator keeps that rule
// for exactness. The warning text for a ground truth with such an object, or ""
// when it has none.
std::string zero_id_warning(const CocoGroundTruth& gt);

struct ResultsOptions {
  // pycocotools silently never evaluates detections of a category that is not
  // in the ground truth; by default we refuse them as a likely mistake.
  bool drop_unknown_categories = false;
};

struct CocoResults {
  std::vector<CocoObject> detections;  // ids 1..N in file order, as loadRes assigns
  size_t dropped_unknown_category = 0;
};

// Reads a COCO results JSON (a list of {image_id, category_id, score,
// segmentation and/or bbox}). As in loadRes: when the first entry has a
// non-empty `bbox`, every detection's area is its box area (and a missing
// segmentation is the box polygon); otherwise the area is the mask's pixel
// count and a missing bbox is the mask's box.
CocoResults load_coco_results(const std::string& path, const CocoGroundTruth& gt, IouType iou_type,
                              const ResultsOptions& options = {}, int threads = 0);

struct CocoEvalInputs {
  CocoGroundTruth gt;
  CocoResults results;
};

// Both files at once: parses them concurrently, then converts each.
CocoEvalInputs load_coco_gt_and_results(const std::string& gt_path, const std::string& results_path,
                                        IouType iou_type, const ResultsOptions& options = {}, int threads = 0);

}  // namespace rgbdseg
