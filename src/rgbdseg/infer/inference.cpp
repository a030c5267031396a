#include "rgbdseg/infer/inference.h"

#include <ATen/ATen.h>
#include <algorithm>
#include <chrono>
#include "rgbdseg/model/autocast.h"

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/parallel.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/coco/rle.h"

#include <opencv2/imgproc.hpp>

namespace rgbdseg::infer {

namespace {
double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

std::vector<model::Instances> predict_batch(model::RgbdMask2FormerImpl& model, const ModelInput& input,
                                            const std::vector<int64_t>& out_heights,
                                            const std::vector<int64_t>& out_widths, const InferenceOptions& options) {
  at::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  model::RgbdOutput out;
  {
    model::Autocast autocast(options.device.type(), options.precision);
    out = model.forward(input.pixel_values, input.depth);
  }
  const auto classes = out.class_logits.back().to(at::kFloat), masks = out.mask_logits.back().to(at::kFloat);
  const auto forward_done = std::chrono::steady_clock::now();
  const int64_t H = input.pixel_values.size(2), W = input.pixel_values.size(3);
  model::InstanceOptions post;
  post.top_k = options.top_k;
  post.threshold = options.threshold;
  post.hf_resize = options.hf_resize;
  std::vector<model::Instances> result;
  for (int64_t b = 0; b < classes.size(0); ++b) {
    // Logits at the padded input size, cropped to this image's pixels, then
    // scored at its output size (the original image size).
    const auto i = static_cast<size_t>(b);
    post.canvas_height = H;
    post.canvas_width = W;
    post.image_height = input.heights[i];
    post.image_width = input.widths[i];
    result.push_back(model::instance_postprocess(classes[b], masks[b], out_heights[i], out_widths[i], post));
  }
  if (options.times) {
    options.times->forward_s += seconds_between(start, forward_done);
    options.times->postprocess_s += seconds_between(forward_done, std::chrono::steady_clock::now());
  }
  return result;
}

void predict_dataset(model::RgbdMask2FormerImpl& model, const RgbdDataset& dataset, const InferenceOptions& options,
                     const InstanceSink& sink) {
  LoaderOptions lo;
  lo.batch_size = options.batch_size;
  lo.workers = std::max(1, options.workers);
  lo.shuffle = false;
  const bool warp = options.warp_height > 0 && options.warp_width > 0;
  lo.augment = options.short_side > 0 || warp;
  if (lo.augment) {
    // Only the resize: no flips, no colour or depth perturbation.
    AugmentOptions& a = lo.augment_options;
    a = AugmentOptions{};
    a.resize = AugmentOptions::Resize::ShortSide;
    a.short_sides = {options.short_side};
    a.max_long_side = options.max_long_side;
    a.hflip = false;
    a.brightness = a.contrast = a.saturation = 0;
    a.min_mask_pixels = 0;
    if (warp) {
      a.resize = AugmentOptions::Resize::Fixed;
      a.fixed_height = options.warp_height;
      a.fixed_width = options.warp_width;
    }
  }
  if (!warp && options.train_short_side > 0) {
    // Mask2Former does not generalise across large scale changes: a model
    // trained at 240 px sees a 720 px frame as a wall of tiny objects.
    for (const auto& img : dataset.coco.images) {
      const int64_t seen = options.short_side > 0 ? options.short_side : std::min(img.height, img.width);
      const double ratio = static_cast<double>(seen) / options.train_short_side;
      if (ratio > 1.5 || ratio < 1 / 1.5) {
        RGBDSEG_LOG(Warn) << "inference: " << dataset.path << ": images reach the model at a short side of " << seen
                          << " px, but it was trained at " << options.train_short_side
                          << " px; expect poor masks (eval.short_side=0, the default, resizes to the training size)";
        break;
      }
    }
  }
  DataLoader loader(dataset, lo);
  const bool was_training = model.is_training();
  model.eval();
  loader.start_epoch(0);
  const int64_t total = static_cast<int64_t>(dataset.coco.images.size());
  if (options.progress) options.progress(0, total);
  Batch batch;
  size_t image = 0;
  for (;;) {
    const auto wait_start = std::chrono::steady_clock::now();
    if (!loader.next(batch)) break;
    if (options.times) options.times->data_wait_s += seconds_between(wait_start, std::chrono::steady_clock::now());
    const ModelInput input = make_model_input(batch, nullptr, options.device);
    std::vector<int64_t> hs, ws;
    for (const auto& s : batch.samples) {
      hs.push_back(warp ? s.rgb.rows : s.original_height);
      ws.push_back(warp ? s.rgb.cols : s.original_width);
    }
    const auto instances = predict_batch(model, input, hs, ws, options);
    for (const auto& inst : instances) {
      sink(image++, inst);
      if (options.progress) options.progress(static_cast<int64_t>(image), total);
    }
  }
  if (was_training) model.train();
}

std::vector<CocoObject> to_coco_results(int64_t image_id, const model::Instances& inst, const LabelMap& labels) {
  // Host copies: RLE encoding reads the pixels.
  const auto masks = inst.masks.to(at::kCPU).to(at::kByte).contiguous();
  const int64_t K = masks.size(0), h = masks.size(1), w = masks.size(2);
  const auto scores = inst.scores.to(at::kCPU).to(at::kDouble).contiguous();
  const auto label = inst.labels.to(at::kCPU).to(at::kLong).contiguous();
  std::vector<CocoObject> out(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) {
    CocoObject& d = out[static_cast<size_t>(k)];
    d.image_id = image_id;
    const int64_t cls = label.data_ptr<int64_t>()[k];
    if (cls < 0 || cls >= static_cast<int64_t>(labels.size())) {
      throw Error("prediction: class index " + std::to_string(cls) + " outside the " + std::to_string(labels.size()) +
                  " dataset categories");
    }
    d.category_id = labels.category_ids[static_cast<size_t>(cls)];
    d.score = scores.data_ptr<double>()[k];
  }
  // Encoding is most of the cost at camera resolutions: one mask per task, on all cores.
  const uint8_t* pixels = masks.data_ptr<uint8_t>();
  parallel_for(static_cast<size_t>(K), 0, [&](size_t k) {
    CocoObject& d = out[k];
    d.mask = rle_encode(pixels + static_cast<int64_t>(k) * h * w, h, w);
    d.area = static_cast<double>(rle_area(d.mask));
    d.bbox = rle_to_bbox(d.mask);
  });
  return out;
}

LabelMap model_label_map(const model::Mask2FormerOptions& o, const CocoGroundTruth* dataset) {
  LabelMap m;
  if (!o.category_ids.empty()) {
    m.category_ids = o.category_ids;
    for (size_t i = 0; i < o.category_ids.size(); ++i) {
      m.names.push_back(i < o.labels.size() ? o.labels[i] : std::to_string(o.category_ids[i]));
    }
    return m;
  }
  if (dataset) {
    m = label_map_of(*dataset);
    if (static_cast<int64_t>(m.size()) != o.num_labels) {
      throw Error(dataset->path + ": " + std::to_string(m.size()) + " categories, the model has " +
                  std::to_string(o.num_labels) + " classes (and no rgbdseg_category_ids to map them)");
    }
    return m;
  }
  for (int64_t i = 0; i < o.num_labels; ++i) {  // no mapping known: class index + 1
    m.category_ids.push_back(i + 1);
    m.names.push_back(static_cast<size_t>(i) < o.labels.size() ? o.labels[static_cast<size_t>(i)] : std::to_string(i + 1));
  }
  return m;
}

LabelMap class_agnostic_labels(const LabelMap& labels) {
  LabelMap m;
  m.category_ids.assign(labels.size(), 1);
  m.names.assign(labels.size(), "object");
  return m;
}

CocoGroundTruth class_agnostic_ground_truth(const CocoGroundTruth& gt) {
  CocoGroundTruth out = gt;
  out.categories = {CocoCategory{1, "object"}};
  out.category_index = {{1, 0}};
  for (auto& a : out.annotations) a.category_id = 1;
  return out;
}

std::string category_mismatch(const LabelMap& model_labels, const CocoGroundTruth& dataset) {
  auto describe = [](const std::vector<std::pair<int64_t, std::string>>& cats) {
    std::string s;
    for (const auto& [id, name] : cats) s += (s.empty() ? "" : ", ") + std::to_string(id) + " " + name;
    return s;
  };
  std::vector<std::pair<int64_t, std::string>> model, data;
  for (size_t i = 0; i < model_labels.size(); ++i) model.emplace_back(model_labels.category_ids[i], model_labels.names[i]);
  for (const auto& c : dataset.categories) data.emplace_back(c.id, c.name);
  std::sort(model.begin(), model.end());
  std::sort(data.begin(), data.end());
  if (model == data) return "";
  return "the model's classes (" + describe(model) + ") are not the dataset's categories (" + describe(data) + ")";
}

CocoGroundTruth warp_ground_truth(const CocoGroundTruth& gt, int height, int width) {
  CocoGroundTruth out = gt;
  for (auto& img : out.images) {
    img.height = height;
    img.width = width;
  }
  for (auto& a : out.annotations) {
    std::vector<uint8_t> px = rle_decode(a.mask);
    const cv::Mat src(static_cast<int>(a.mask.h), static_cast<int>(a.mask.w), CV_8UC1, px.data());
    cv::Mat dst;
    cv::resize(src, dst, cv::Size(width, height), 0, 0, cv::INTER_NEAREST);
    a.mask = rle_encode(dst.ptr<uint8_t>(), height, width);
    a.area = static_cast<double>(rle_area(a.mask));
    a.bbox = rle_to_bbox(a.mask);
  }
  return out;
}

EvaluationResult evaluate_dataset(model::RgbdMask2FormerImpl& model, const RgbdDataset& dataset, const LabelMap& labels,
                                  const InferenceOptions& options, const CocoEvalParams& params) {
  if (static_cast<int64_t>(labels.size()) != model.options().num_labels) {
    throw Error(dataset.path + ": " + std::to_string(labels.size()) + " categories, the model has " +
                std::to_string(model.options().num_labels) + " classes");
  }
  EvaluationResult r;
  predict_dataset(model, dataset, options, [&](size_t i, const model::Instances& inst) {
    auto dets = to_coco_results(dataset.coco.images[i].id, inst, labels);
    for (auto& d : dets) {
      d.id = static_cast<int64_t>(r.detections.size() + 1);
      r.detections.push_back(std::move(d));
    }
  });
  if (options.warp_height > 0 && options.warp_width > 0) {
    const CocoGroundTruth warped = warp_ground_truth(dataset.coco, options.warp_height, options.warp_width);
    r.coco = CocoEvaluator(warped, r.detections, params).run();
  } else {
    r.coco = CocoEvaluator(dataset.coco, r.detections, params).run();
  }
  return r;
}

}  // namespace rgbdseg::infer
