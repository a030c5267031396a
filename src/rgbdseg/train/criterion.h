#pragma once
// The Mask2Former training loss, as Hugging Face's Mask2FormerLoss computes it:
// per prediction set (final, then every auxiliary decoder layer), a Hungarian
// matching of queries to target instances on point-sampled mask costs, then
// cross-entropy over all queries (unmatched -> no-object) and sigmoid BCE and
// dice on the matched masks at importance-sampled points.
//
// Random points come from a PointSource, so a test can replay the exact draws
// of a Python run and the loss becomes a pure function of its inputs.
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace rgbdseg::train {

struct CriterionOptions {
  int64_t num_points = 12544;             // points per mask, for matching and for the mask losses
  double oversample_ratio = 3.0;          // candidates drawn per point for importance sampling
  double importance_sample_ratio = 0.75;  // share of the points picked by uncertainty (rest uniform)
  double class_weight = 2.0;              // loss weight of the cross-entropy term
  double mask_weight = 5.0;               // loss and matcher weight of the BCE term
  double dice_weight = 5.0;               // loss and matcher weight of the dice term
  double no_object_weight = 0.1;          // cross-entropy weight of the no-object class
  double matcher_class_weight = 2.0;      // 2.0 as in the Mask2Former paper; Hugging Face hard-codes 1.0
  bool record_details = false;            // keep cost matrices and loss points in LossOutput::details
  void validate() const;                  // throws Error
};

// Names one keyed draw of points: which prediction set, which image, which use.
struct PointKey {
  int64_t set = 0;    // prediction set in loss order (0 = final, then aux 0, 1, ...)
  int64_t image = 0;  // global index of the image (LossContext::first_image + position in the batch)
  int draw = 0;       // 0 = matching points, 1 = oversampled candidates, 2 = uniform loss points
};

// Where the loss gets its uniform random points in [0, 1)^2 ((x, y) order, x
// along the width, as grid_sample expects).
//
// By default the criterion draws as Hugging Face does: one stream over the
// whole batch (matching points image by image, then the candidates of every
// matched mask at once). A source whose per_image() is true instead gets one
// rand_for() call per (set, image, use), so an image's points do not depend on
// which other images share its batch: a batch split across processes draws
// exactly what the whole batch would in one process.
class PointSource {
 public:
  virtual ~PointSource();
  // A tensor of `shape` (last dim 2) with `options`' dtype and device.
  virtual at::Tensor rand(at::IntArrayRef shape, const at::TensorOptions& options) = 0;
  virtual bool per_image() const { return false; }
  // Keyed draws (per_image() sources); the default ignores the key.
  virtual at::Tensor rand_for(const PointKey& key, at::IntArrayRef shape, const at::TensorOptions& options);
};

// Uniform draws from its own CPU generator (moved to the device afterwards),
// so a seed gives the same points on every device.
class UniformPointSource final : public PointSource {
 public:
  explicit UniformPointSource(uint64_t seed = 0);
  at::Tensor rand(at::IntArrayRef shape, const at::TensorOptions& options) override;

 private:
  at::Generator generator_;
};

// Per-image draws: every (set, image, use) of a training step gets its own CPU
// generator, seeded by hashing (seed, step, set, image, use). The trainer uses
// this always, so 1 process with batch N*B and N processes with batch B draw
// the same points. rand() without a key is an Error.
class KeyedPointSource final : public PointSource {
 public:
  KeyedPointSource(uint64_t seed, int64_t step);
  at::Tensor rand(at::IntArrayRef shape, const at::TensorOptions& options) override;
  bool per_image() const override { return true; }
  at::Tensor rand_for(const PointKey& key, at::IntArrayRef shape, const at::TensorOptions& options) override;
  // The generator seed of a key (exposed for tests).
  uint64_t key_seed(const PointKey& key) const;

 private:
  uint64_t seed_;
  int64_t step_;
};

// Serves saved tensors first in, first out (golden tests). A draw of another
// shape than asked for, or a draw past the end, is an Error.
class ReplayPointSource final : public PointSource {
 public:
  explicit ReplayPointSource(std::vector<at::Tensor> draws);
  at::Tensor rand(at::IntArrayRef shape, const at::TensorOptions& options) override;
  size_t remaining() const { return draws_.size(); }

 private:
  std::deque<at::Tensor> draws_;
  int64_t served_ = 0;
};

// Ground truth of a batch, one entry per image.
struct Targets {
  std::vector<at::Tensor> masks;   // [K_b, H, W] float 0/1 at input resolution (K_b may be 0)
  std::vector<at::Tensor> labels;  // [K_b] int64 class ids in [0, num_labels)
};

// Cost matrices of one image, [Q, K] each (queries x targets).
struct MatchCosts {
  at::Tensor total;  // what the solver sees: weighted sum, clamped to +-1e10, NaN -> 0
  at::Tensor class_cost;  // -softmax(class logits)[q, label of k]
  at::Tensor mask;        // mean over points of BCE-with-logits
  at::Tensor dice;        // 1 - (2 sum(p t) + 1) / (sum p + sum t + 1), p = sigmoid
};

struct ImageMatch {
  at::Tensor pred, tgt;  // [min(Q, K)] int64 on the logits' device, pred ascending
  MatchCosts costs;
};

// Hungarian matching of one image (no gradient). class_logits [Q, L+1],
// mask_logits [Q, h, w], target_masks [K, H, W], target_labels [K],
// points [1, P, 2] shared by every query and target.
ImageMatch match_image(const at::Tensor& class_logits, const at::Tensor& mask_logits, const at::Tensor& target_masks,
                       const at::Tensor& target_labels, const at::Tensor& points, const CriterionOptions& options);

// Bilinear samples (zeros padding, align_corners false) of maps [N, C, H, W]
// at points [N, P, 2] in [0, 1]^2: [N, C, P].
at::Tensor sample_points(const at::Tensor& maps, const at::Tensor& points);

struct PointLosses {
  at::Tensor mask;  // sum over masks of mean BCE-with-logits, / num_masks
  at::Tensor dice;  // sum over masks of the dice loss, / num_masks
};
// The mask terms on sampled values: point_logits, point_labels [N, P].
PointLosses point_losses(const at::Tensor& point_logits, const at::Tensor& point_labels, double num_masks);

struct SetDetails {
  std::vector<MatchCosts> costs;  // per image
  at::Tensor selected_points;     // [N_matched, P, 2]: the points of loss_mask / loss_dice
};

// What a batch's loss needs beyond its own images when the global batch is
// split across processes (data parallel). Defaults: a batch on its own.
struct LossContext {
  int64_t first_image = 0;  // global index of image 0 of this batch (keyed point draws)
  // Divisor of the mask and dice terms, used as given (> 0); default: this
  // batch's target count, at least 1. Data parallel: max(global count, 1) /
  // world size (Hugging Face clamps after dividing, max(count / world, 1),
  // which differs from one process when the global batch has fewer targets
  // than ranks).
  std::optional<double> num_masks;
  // Divisor of the cross-entropy sum(w * ce); default: this batch's sum(w)
  // (a weighted mean). Data parallel: the all-reduced cross_entropy_weight_sum
  // / world size, so the mean over ranks is the global batch's weighted mean.
  std::optional<double> class_weight_sum;
};

// sum(w) of the cross-entropy of a batch with `num_queries` queries per image:
// every image matches min(Q, K) queries (weight 1), the rest are no-object
// (weight no_object_weight). Known before matching (it does not depend on which
// queries match), so it can be all-reduced before the forward pass.
double cross_entropy_weight_sum(const Targets& targets, int64_t num_queries, double no_object_weight);

struct LossOutput {
  at::Tensor total;  // sum of the weighted terms (0-d)
  // Hugging Face's names and order: loss_mask, loss_dice, loss_cross_entropy
  // (final set), then loss_mask_0, loss_dice_0, loss_cross_entropy_0, ... (aux sets).
  std::vector<std::pair<std::string, at::Tensor>> raw, weighted;
  // [set][image] (pred indices, target indices), int64 on the CPU. Sets in
  // loss order: 0 = final (the last of the inputs), then aux 0, 1, ...
  std::vector<std::vector<std::pair<at::Tensor, at::Tensor>>> matches;
  std::vector<SetDetails> details;  // per set in loss order, only with record_details
  double num_masks = 1;             // the divisor used
  double class_weight_sum = 0;      // the cross-entropy divisor used (0: the weighted mean, Hugging Face's)
};

class Mask2FormerCriterion {
 public:
  // points: the random point source; null = UniformPointSource(0).
  explicit Mask2FormerCriterion(CriterionOptions options = {}, std::shared_ptr<PointSource> points = nullptr);

  // class_logits [B, Q, L+1] and mask_logits [B, Q, h, w] per prediction set,
  // last = final (Mask2FormerOutput's order). num_masks overrides the batch's
  // target count (e.g. the all-reduced count / world size); clamped to >= 1.
  LossOutput forward(const std::vector<at::Tensor>& class_logits, const std::vector<at::Tensor>& mask_logits,
                     const Targets& targets, std::optional<double> num_masks = std::nullopt);
  // The same with a batch context (data-parallel normalisers, global image index).
  LossOutput forward(const std::vector<at::Tensor>& class_logits, const std::vector<at::Tensor>& mask_logits,
                     const Targets& targets, const LossContext& context);

  const CriterionOptions& options() const { return options_; }
  PointSource& point_source() { return *points_; }

 private:
  CriterionOptions options_;
  std::shared_ptr<PointSource> points_;
};

}  // namespace rgbdseg::train
