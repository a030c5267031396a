#pragma once
// Inference over a dataset (or any stream of batches): the model in eval
// mode on batches without augmentation (optionally resized by short side),
// instances post-processed at each image's ORIGINAL size, as COCO results.
// Used by training's periodic evaluation, `rgbdseg eval` and `rgbdseg predict`.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/coco/coco_eval.h"
#include "rgbdseg/model/postprocess.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/infer/model_input.h"

namespace rgbdseg::infer {

// Where inference spends its time (seconds, summed over batches; on CUDA the
// forward's time includes waiting for the device in post-processing's copies).
struct InferenceTimes {
  double data_wait_s = 0;    // waiting for the loader's next batch (decoding, resizing)
  double forward_s = 0;      // the model
  double postprocess_s = 0;  // instances at each image's output size
};

struct InferenceOptions {
  int64_t top_k = 100;
  double threshold = 0.0;
  int short_side = 0;       // 0: the original size
  int train_short_side = 0; // the model's training short side, for a warning when far from it (0 = unknown)
  int max_long_side = 1333;
  int batch_size = 2;
  int workers = 2;
  Precision precision = Precision::F32;  // f32 | bf16 | fp16 (CUDA)
  c10::Device device = c10::kCPU; // where the model and its inputs live
  ProgressCallback progress;      // (images done, total); the program draws the bar; null = none
  InferenceTimes* times = nullptr;  // accumulates the stages' times when set
  // The research code's protocol (--protocol seed): images warped to
  // warp_height x warp_width, instances scored at Hugging Face's fixed
  // hf_resize (384) and returned at the WARPED size, not the original.
  int warp_height = 0, warp_width = 0;
  int64_t hf_resize = 0;
};

// (train/build.h makes these options from a config's eval section.)

// Instances of one image at its original size; labels are class indices.
using InstanceSink = std::function<void(size_t image_index, const model::Instances& instances)>;

// Runs the model on every image of `dataset` in file order. Warns once when
// the images reach the model far from the scale it was trained at.
void predict_dataset(model::RgbdMask2FormerImpl& model, const RgbdDataset& dataset, const InferenceOptions& options,
                     const InstanceSink& sink);

// Instances of one batch (model input already built), each at (heights[i], widths[i]) output size.
std::vector<model::Instances> predict_batch(model::RgbdMask2FormerImpl& model, const ModelInput& input,
                                            const std::vector<int64_t>& out_heights,
                                            const std::vector<int64_t>& out_widths, const InferenceOptions& options);

// Instances as COCO results (compressed-RLE masks, boxes, scores) with the
// class index mapped to a category id.
std::vector<CocoObject> to_coco_results(int64_t image_id, const model::Instances& instances, const LabelMap& labels);

// The model's classes as dataset categories: its rgbdseg_category_ids when it
// has them (a model we trained), otherwise the dataset's categories in file
// order (their number must equal the model's classes).
LabelMap model_label_map(const model::Mask2FormerOptions& options, const CocoGroundTruth* dataset);

// Ground truth warped to height x width (masks by nearest neighbour), as the
// research code evaluates: areas, and so the small/medium/large split, change too.
CocoGroundTruth warp_ground_truth(const CocoGroundTruth& gt, int height, int width);

struct EvaluationResult {
  CocoEvalResult coco;
  std::vector<CocoObject> detections;
};

// Class-agnostic scoring, as unseen-object segmentation is scored: every
// class of `labels` becomes category 1 "object" (same size, so class indices
// still map), and the ground truth's categories collapse into that one.
LabelMap class_agnostic_labels(const LabelMap& labels);
CocoGroundTruth class_agnostic_ground_truth(const CocoGroundTruth& gt);

// "" when the model's classes are the dataset's categories (same ids and
// names, in any order), else a one-line description of the difference.
std::string category_mismatch(const LabelMap& model_labels, const CocoGroundTruth& dataset);

// COCO mask AP of the model on `dataset` (its categories must be the model's classes).
EvaluationResult evaluate_dataset(model::RgbdMask2FormerImpl& model, const RgbdDataset& dataset, const LabelMap& labels,
                                  const InferenceOptions& options, const CocoEvalParams& params = {});

}  // namespace rgbdseg::infer
