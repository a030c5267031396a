#include "rgbdseg/train/criterion.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/linear_assignment.h"
#include "rgbdseg/core/safetensors.h"

namespace rgbdseg::train {

namespace {

std::string shape_of(const at::Tensor& t) { return shape_to_string(t.sizes().vec()); }

// Loss arithmetic runs in float32 (double stays double): half precision
// logits from autocast would lose the small point-averaged terms.
at::ScalarType compute_type(const at::Tensor& t) { return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat; }
at::Tensor compute_dtype(const at::Tensor& t) { return t.to(compute_type(t)); }

int64_t num_oversampled(const CriterionOptions& o) {
  return static_cast<int64_t>(static_cast<double>(o.num_points) * o.oversample_ratio);
}
int64_t num_uncertain(const CriterionOptions& o) {
  return static_cast<int64_t>(o.importance_sample_ratio * static_cast<double>(o.num_points));
}

// Rows `idx` of a [K, H, W] target, zero-padded at the bottom and right to
// [H', W'] (as HF pads the batch's targets to the largest one for the mask losses).
at::Tensor padded_rows(const at::Tensor& masks, const at::Tensor& idx, int64_t h, int64_t w) {
  const auto rows = masks.index_select(0, idx);
  if (rows.size(1) == h && rows.size(2) == w) return rows;
  return at::constant_pad_nd(rows, {0, w - rows.size(2), 0, h - rows.size(1)}, 0);
}

struct SetResult {
  at::Tensor mask, dice, cross_entropy;
  std::vector<std::pair<at::Tensor, at::Tensor>> matches;
  SetDetails details;
};

}  // namespace

void CriterionOptions::validate() const {
  if (num_points < 1) throw Error("criterion: num_points must be >= 1, got " + std::to_string(num_points));
  if (!(oversample_ratio >= 1)) throw Error("criterion: oversample_ratio must be >= 1, got " + std::to_string(oversample_ratio));
  if (!(importance_sample_ratio >= 0 && importance_sample_ratio <= 1))
    throw Error("criterion: importance_sample_ratio must be in [0, 1], got " + std::to_string(importance_sample_ratio));
  for (const auto& [name, value] : {std::pair<const char*, double>{"class_weight", class_weight},
                                    {"mask_weight", mask_weight},
                                    {"dice_weight", dice_weight},
                                    {"no_object_weight", no_object_weight},
                                    {"matcher_class_weight", matcher_class_weight}})
    if (!(value >= 0)) throw Error(std::string("criterion: ") + name + " must be >= 0, got " + std::to_string(value));
}

PointSource::~PointSource() = default;

at::Tensor PointSource::rand_for(const PointKey&, at::IntArrayRef shape, const at::TensorOptions& options) {
  return rand(shape, options);
}

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

KeyedPointSource::KeyedPointSource(uint64_t seed, int64_t step) : seed_(seed), step_(step) {}

uint64_t KeyedPointSource::key_seed(const PointKey& key) const {
  uint64_t h = splitmix64(seed_);
  for (const uint64_t part : {static_cast<uint64_t>(step_), static_cast<uint64_t>(key.set),
                              static_cast<uint64_t>(key.image), static_cast<uint64_t>(key.draw)}) {
    h = splitmix64(h ^ part);
  }
  return h;
}

at::Tensor KeyedPointSource::rand(at::IntArrayRef shape, const at::TensorOptions&) {
  throw Error("KeyedPointSource: a draw of shape " + shape_to_string(shape.vec()) +
              " without a key (the criterion draws keyed points per image)");
}

at::Tensor KeyedPointSource::rand_for(const PointKey& key, at::IntArrayRef shape, const at::TensorOptions& options) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(key_seed(key));
  return at::rand(shape, generator, options.device(at::kCPU)).to(options.device());
}

double cross_entropy_weight_sum(const Targets& targets, int64_t num_queries, double no_object_weight) {
  double sum = 0;
  for (const auto& labels : targets.labels) {
    const int64_t matched = std::min(num_queries, labels.size(0));
    sum += static_cast<double>(matched) + static_cast<double>(num_queries - matched) * no_object_weight;
  }
  return sum;
}

UniformPointSource::UniformPointSource(uint64_t seed) : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

at::Tensor UniformPointSource::rand(at::IntArrayRef shape, const at::TensorOptions& options) {
  return at::rand(shape, generator_, options.device(at::kCPU)).to(options.device());
}

ReplayPointSource::ReplayPointSource(std::vector<at::Tensor> draws) : draws_(draws.begin(), draws.end()) {}

at::Tensor ReplayPointSource::rand(at::IntArrayRef shape, const at::TensorOptions& options) {
  const int64_t call = served_++;
  if (draws_.empty())
    throw Error("ReplayPointSource: draw " + std::to_string(call) + " of shape " + shape_to_string(shape.vec()) +
                " asked for, but all saved draws are used");
  auto t = std::move(draws_.front());
  draws_.pop_front();
  if (t.sizes() != shape)
    throw Error("ReplayPointSource: draw " + std::to_string(call) + " expects shape " + shape_to_string(shape.vec()) +
                ", the saved tensor has " + shape_of(t));
  return t.to(options);
}

at::Tensor sample_points(const at::Tensor& maps, const at::Tensor& points) {
  // grid_sample wants [-1, 1] coordinates and a [N, P, 1, 2] grid.
  return at::grid_sampler(maps, (2.0 * points - 1.0).unsqueeze(2), /*bilinear*/ 0, /*zeros*/ 0,
                          /*align_corners=*/false)
      .squeeze(3);
}

ImageMatch match_image(const at::Tensor& class_logits, const at::Tensor& mask_logits, const at::Tensor& target_masks,
                       const at::Tensor& target_labels, const at::Tensor& points, const CriterionOptions& options) {
  at::NoGradGuard no_grad;
  const int64_t Q = class_logits.size(0), K = target_labels.size(0);
  const auto logits = compute_dtype(mask_logits.detach());
  const auto index_options = at::TensorOptions().dtype(at::kLong).device(logits.device());
  ImageMatch out;
  if (K == 0) {
    const auto none = at::zeros({Q, 0}, logits.options());
    out.pred = at::zeros({0}, index_options);
    out.tgt = at::zeros({0}, index_options);
    out.costs = {none, none, none, none};
    return out;
  }
  const auto probs = compute_dtype(class_logits.detach()).softmax(-1);
  out.costs.class_cost = -probs.index_select(1, target_labels);
  const auto tgt = sample_points(target_masks.to(logits.options()).unsqueeze(1), points.expand({K, -1, -1})).squeeze(1);
  const auto pred = sample_points(logits.unsqueeze(1), points.expand({Q, -1, -1})).squeeze(1);  // [Q, P]
  const auto P = static_cast<double>(pred.size(1));
  // Pairwise mean BCE: a query's loss against target t is pos . t + neg . (1 - t).
  const auto pos = at::binary_cross_entropy_with_logits(pred, at::ones_like(pred), {}, {}, at::Reduction::None);
  const auto neg = at::binary_cross_entropy_with_logits(pred, at::zeros_like(pred), {}, {}, at::Reduction::None);
  out.costs.mask = at::matmul(pos / P, tgt.t()) + at::matmul(neg / P, (1 - tgt).t());
  const auto p = pred.sigmoid();
  const auto numerator = 2 * at::matmul(p, tgt.t());
  const auto denominator = p.sum(-1).unsqueeze(1) + tgt.sum(-1).unsqueeze(0);
  out.costs.dice = 1 - (numerator + 1) / (denominator + 1);
  auto cost = options.mask_weight * out.costs.mask + options.matcher_class_weight * out.costs.class_cost +
              options.dice_weight * out.costs.dice;
  out.costs.total = at::nan_to_num(cost.clamp(-1e10, 1e10), 0.0);
  // The solver runs on the host: the matrices are tiny (queries x targets).
  const auto host = out.costs.total.to(at::kCPU, at::kDouble).contiguous();
  const auto pairs = linear_sum_assignment(host.data_ptr<double>(), Q, K);
  std::vector<int64_t> rows, cols;
  for (const auto& [r, c] : pairs) {
    rows.push_back(r);
    cols.push_back(c);
  }
  out.pred = at::tensor(rows, at::kLong).to(logits.device());
  out.tgt = at::tensor(cols, at::kLong).to(logits.device());
  return out;
}

PointLosses point_losses(const at::Tensor& point_logits, const at::Tensor& point_labels, double num_masks) {
  PointLosses out;
  out.mask = at::binary_cross_entropy_with_logits(point_logits, point_labels, {}, {}, at::Reduction::None)
                 .mean(1)
                 .sum() /
             num_masks;
  const auto p = point_logits.sigmoid();
  const auto numerator = 2 * (p * point_labels).sum(-1);
  const auto denominator = p.sum(-1) + point_labels.sum(-1);
  out.dice = (1 - (numerator + 1) / (denominator + 1)).sum() / num_masks;
  return out;
}

Mask2FormerCriterion::Mask2FormerCriterion(CriterionOptions options, std::shared_ptr<PointSource> points)
    : options_(std::move(options)), points_(std::move(points)) {
  options_.validate();
  if (!points_) points_ = std::make_shared<UniformPointSource>(0);
}

namespace {

// Matching and the three losses of one prediction set. targets: on the
// logits' device in the compute dtype.
// set: the set's index in loss order; first_image: the global index of image 0
// (both only for per-image point sources); class_weight_sum <= 0: weighted mean.
SetResult set_loss(const at::Tensor& class_logits_in, const at::Tensor& mask_logits_in, const Targets& targets,
                   double num_masks, double class_weight_sum, int64_t max_h, int64_t max_w, const CriterionOptions& o,
                   PointSource& source, int64_t set, int64_t first_image) {
  const auto class_logits = compute_dtype(class_logits_in), mask_logits = compute_dtype(mask_logits_in);
  const int64_t B = class_logits.size(0), Q = class_logits.size(1), L = class_logits.size(2) - 1;
  const auto point_options = mask_logits.options().requires_grad(false);
  SetResult out;

  // The loss points of the matched masks (use 1: candidates, 2: uniform): one
  // draw for all of them in HF's order, or per image from its keyed generator.
  const bool per_image = source.per_image();
  std::vector<int64_t> matched_per_image;
  auto draw = [&](int use, int64_t rows, int64_t cols) {
    if (!per_image) return source.rand({rows, cols, 2}, point_options);
    std::vector<at::Tensor> parts;
    for (int64_t b = 0; b < B; ++b) {
      if (matched_per_image[b] > 0)
        parts.push_back(source.rand_for({set, first_image + b, use}, {matched_per_image[b], cols, 2}, point_options));
    }
    return parts.empty() ? at::zeros({0, cols, 2}, point_options) : at::cat(parts);
  };

  // Hungarian matching, one image at a time (the draws' order is HF's).
  std::vector<at::Tensor> flat_pred, labels_matched, tgt_masks;
  for (int64_t b = 0; b < B; ++b) {
    const auto points = per_image ? source.rand_for({set, first_image + b, 0}, {1, o.num_points, 2}, point_options)
                                  : source.rand({1, o.num_points, 2}, point_options);
    auto m = match_image(class_logits[b], mask_logits[b], targets.masks[b], targets.labels[b], points, o);
    flat_pred.push_back(m.pred + b * Q);
    labels_matched.push_back(targets.labels[b].index_select(0, m.tgt));
    tgt_masks.push_back(padded_rows(targets.masks[b], m.tgt, max_h, max_w));
    matched_per_image.push_back(m.pred.size(0));
    out.matches.emplace_back(m.pred.cpu(), m.tgt.cpu());
    if (o.record_details) out.details.costs.push_back(std::move(m.costs));
  }
  const auto pred_index = at::cat(flat_pred);  // into the [B * Q] flattened queries
  const int64_t N = pred_index.size(0);

  // Cross-entropy over every query; unmatched ones are the no-object class L.
  auto target_classes = at::full({B * Q}, L, pred_index.options());
  target_classes.index_copy_(0, pred_index, at::cat(labels_matched));
  auto weight = at::ones({L + 1}, class_logits.options());
  weight.narrow(0, L, 1).fill_(o.no_object_weight);
  if (class_weight_sum > 0) {
    out.cross_entropy = at::cross_entropy_loss(class_logits.transpose(1, 2), target_classes.view({B, Q}), weight,
                                               at::Reduction::Sum) /
                        class_weight_sum;
  } else {
    out.cross_entropy =
        at::cross_entropy_loss(class_logits.transpose(1, 2), target_classes.view({B, Q}), weight, at::Reduction::Mean);
  }

  // Importance sampling of the loss points: the most uncertain (|logit| near 0)
  // of the oversampled candidates, plus uniform ones. The points are constants.
  const auto pred_masks = mask_logits.flatten(0, 1).index_select(0, pred_index).unsqueeze(1);  // [N, 1, h, w]
  const int64_t k = num_uncertain(o), num_random = o.num_points - k;
  at::Tensor selected, point_labels;
  {
    at::NoGradGuard no_grad;
    const auto candidates = draw(1, N, num_oversampled(o));
    const auto uncertainty = -sample_points(pred_masks.detach(), candidates).squeeze(1).abs();
    const auto idx = std::get<1>(at::topk(uncertainty, k, 1));
    selected = candidates.gather(1, idx.unsqueeze(-1).expand({N, k, 2}));
    if (num_random > 0) selected = at::cat({selected, draw(2, N, num_random)}, 1);
    if (N > 0) point_labels = sample_points(at::cat(tgt_masks).unsqueeze(1), selected).squeeze(1);
  }
  if (N > 0) {
    const auto losses = point_losses(sample_points(pred_masks, selected).squeeze(1), point_labels, num_masks);
    out.mask = losses.mask;
    out.dice = losses.dice;
  } else {
    // No target in the batch: zero, but still part of the graph.
    out.mask = mask_logits.sum() * 0;
    out.dice = mask_logits.sum() * 0;
  }
  if (o.record_details) out.details.selected_points = selected;
  return out;
}

}  // namespace

LossOutput Mask2FormerCriterion::forward(const std::vector<at::Tensor>& class_logits,
                                         const std::vector<at::Tensor>& mask_logits, const Targets& targets,
                                         std::optional<double> num_masks) {
  LossContext context;
  if (num_masks) context.num_masks = std::max(*num_masks, 1.0);
  return forward(class_logits, mask_logits, targets, context);
}

LossOutput Mask2FormerCriterion::forward(const std::vector<at::Tensor>& class_logits,
                                         const std::vector<at::Tensor>& mask_logits, const Targets& targets,
                                         const LossContext& context) {
  if (class_logits.empty() || class_logits.size() != mask_logits.size())
    throw Error("criterion: expected as many class as mask logit sets (at least 1), got " +
                std::to_string(class_logits.size()) + " and " + std::to_string(mask_logits.size()));
  const auto& c0 = class_logits.back();
  if (c0.dim() != 3 || c0.size(2) < 2)
    throw Error("criterion: expected class logits [B, Q, num_labels + 1], got " + shape_of(c0));
  const int64_t B = c0.size(0), Q = c0.size(1), C = c0.size(2);
  for (size_t s = 0; s < class_logits.size(); ++s) {
    if (class_logits[s].sizes() != c0.sizes())
      throw Error("criterion: class logits of set " + std::to_string(s) + " are " + shape_of(class_logits[s]) +
                  ", expected " + shape_of(c0));
    const auto& m = mask_logits[s];
    if (m.dim() != 4 || m.size(0) != B || m.size(1) != Q)
      throw Error("criterion: mask logits of set " + std::to_string(s) + " are " + shape_of(m) + ", expected [" +
                  std::to_string(B) + ", " + std::to_string(Q) + ", h, w]");
  }
  if (static_cast<int64_t>(targets.masks.size()) != B || static_cast<int64_t>(targets.labels.size()) != B)
    throw Error("criterion: " + std::to_string(targets.masks.size()) + " target masks and " +
                std::to_string(targets.labels.size()) + " label sets for a batch of " + std::to_string(B));

  // Targets on the logits' device, in the compute dtype; labels checked once.
  const auto device = c0.device();
  const auto mask_dtype = compute_type(mask_logits.back());
  Targets t;
  int64_t max_h = 0, max_w = 0, count = 0;
  for (int64_t b = 0; b < B; ++b) {
    const auto& m = targets.masks[b];
    const auto& l = targets.labels[b];
    if (m.dim() != 3 || l.dim() != 1 || l.size(0) != m.size(0))
      throw Error("criterion: image " + std::to_string(b) + " has target masks " + shape_of(m) + " and labels " +
                  shape_of(l) + ", expected [K, H, W] and [K]");
    if (l.numel() > 0 && (l.min().item<int64_t>() < 0 || l.max().item<int64_t>() >= C - 1))
      throw Error("criterion: image " + std::to_string(b) + " has a target label outside [0, " +
                  std::to_string(C - 1) + ")");
    t.masks.push_back(m.to(device, mask_dtype));
    t.labels.push_back(l.to(device, at::kLong));
    max_h = std::max(max_h, m.size(1));
    max_w = std::max(max_w, m.size(2));
    count += m.size(0);
  }

  LossOutput out;
  if (context.num_masks && !(*context.num_masks > 0))
    throw Error("criterion: num_masks must be positive, got " + std::to_string(*context.num_masks));
  out.num_masks = context.num_masks ? *context.num_masks : std::max(static_cast<double>(count), 1.0);
  if (context.class_weight_sum) {
    if (!(*context.class_weight_sum > 0))
      throw Error("criterion: the cross-entropy weight sum must be positive, got " +
                  std::to_string(*context.class_weight_sum));
    out.class_weight_sum = *context.class_weight_sum;
  }
  // HF's order: the final set first, then the auxiliary sets first to last.
  const size_t S = class_logits.size();
  for (size_t k = 0; k < S; ++k) {
    const size_t s = k == 0 ? S - 1 : k - 1;
    auto r = set_loss(class_logits[s], mask_logits[s], t, out.num_masks, out.class_weight_sum, max_h, max_w, options_,
                      *points_, static_cast<int64_t>(k), context.first_image);
    const std::string suffix = k == 0 ? "" : "_" + std::to_string(k - 1);
    out.raw.emplace_back("loss_mask" + suffix, r.mask);
    out.raw.emplace_back("loss_dice" + suffix, r.dice);
    out.raw.emplace_back("loss_cross_entropy" + suffix, r.cross_entropy);
    out.weighted.emplace_back("loss_mask" + suffix, r.mask * options_.mask_weight);
    out.weighted.emplace_back("loss_dice" + suffix, r.dice * options_.dice_weight);
    out.weighted.emplace_back("loss_cross_entropy" + suffix, r.cross_entropy * options_.class_weight);
    out.matches.push_back(std::move(r.matches));
    if (options_.record_details) out.details.push_back(std::move(r.details));
  }
  // Summed in dict order, as HF's sum(loss_dict.values()).
  out.total = out.weighted.front().second;
  for (size_t i = 1; i < out.weighted.size(); ++i) out.total = out.total + out.weighted[i].second;
  return out;
}

}  // namespace rgbdseg::train
