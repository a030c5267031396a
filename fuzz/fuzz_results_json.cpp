// COCO results JSON (what `rgbdseg cocoeval` and `eval` read from users)
// against a fixed two-image ground truth, then evaluated: wrong types, unknown
// ids, bad RLE or polygons, NaN scores must be an Error, never a crash.
#include <string>

#include "fuzz_file.h"
#include "rgbdseg/coco/coco_dataset.h"
#include "rgbdseg/coco/coco_eval.h"
#include "rgbdseg/core/error.h"

namespace {

const char* const kGroundTruth = R"({
 "images": [{"id": 1, "width": 16, "height": 12, "file_name": "a.png"},
            {"id": 2, "width": 8, "height": 8, "file_name": "b.png"}],
 "categories": [{"id": 1, "name": "cup"}, {"id": 3, "name": "box"}],
 "annotations": [
  {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [1, 1, 4, 4],
   "segmentation": [[1, 1, 5, 1, 5, 5, 1, 5]]},
  {"id": 2, "image_id": 1, "category_id": 3, "iscrowd": 1, "bbox": [6, 2, 6, 6],
   "segmentation": {"size": [12, 16], "counts": [74, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 52]}},
  {"id": 3, "image_id": 2, "category_id": 3, "iscrowd": 0, "bbox": [0, 0, 3, 3],
   "segmentation": [[0, 0, 3, 0, 3, 3, 0, 3]]}]})";

const rgbdseg::CocoGroundTruth& ground_truth(rgbdseg::IouType type) {
  static const auto make = [](rgbdseg::IouType t) {
    return rgbdseg::load_coco_ground_truth(fuzz_input_file(reinterpret_cast<const uint8_t*>(kGroundTruth),
                                                           std::char_traits<char>::length(kGroundTruth), ".gt.json"),
                                           t, 1);
  };
  static const rgbdseg::CocoGroundTruth segm = make(rgbdseg::IouType::Segm), bbox = make(rgbdseg::IouType::Bbox);
  return type == rgbdseg::IouType::Segm ? segm : bbox;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto type = (data[0] & 1) ? rgbdseg::IouType::Bbox : rgbdseg::IouType::Segm;
  const auto& gt = ground_truth(type);
  const std::string path = fuzz_input_file(data + 1, size - 1, ".json");
  try {
    rgbdseg::ResultsOptions options;
    options.drop_unknown_categories = data[0] & 2;
    const rgbdseg::CocoResults results = rgbdseg::load_coco_results(path, gt, type, options, 1);
    rgbdseg::CocoEvalParams params;
    params.iou_type = type;
    params.use_cats = !(data[0] & 4);
    params.num_threads = 1;
    rgbdseg::CocoEvaluator(gt, results.detections, params).run();
  } catch (const rgbdseg::Error&) {
  }
  return 0;
}
