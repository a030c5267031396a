#include "rgbdseg/coco/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/parallel.h"

namespace rgbdseg {

std::vector<double> numpy_linspace(double start, double stop, int num) {
  std::vector<double> y(static_cast<size_t>(std::max(num, 0)));
  if (num == 1) {
    y[0] = start;
    return y;
  }
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) y[static_cast<size_t>(i)] = static_cast<double>(i) * step + start;
  if (num > 1) y.back() = stop;
  return y;
}

double CocoEvalResult::precision_at(size_t t, size_t r, size_t k, size_t a, size_t m) const {
  const size_t R = params.recall_thresholds.size(), K = category_ids.size(), A = params.area_ranges.size(),
               M = params.max_dets.size();
  return precision[(((t * R + r) * K + k) * A + a) * M + m];
}

double CocoEvalResult::recall_at(size_t t, size_t k, size_t a, size_t m) const {
  const size_t K = category_ids.size(), A = params.area_ranges.size(), M = params.max_dets.size();
  return recall[((t * K + k) * A + a) * M + m];
}

namespace {

// Indices of `items` sorted by descending score, ties in input order
// (numpy's argsort(-score, kind='mergesort')).
std::vector<size_t> order_by_score(const std::vector<const CocoObject*>& items) {
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return items[a]->score > items[b]->score; });
  return order;
}

}  // namespace

CocoEvaluator::CocoEvaluator(const CocoGroundTruth& gt, const std::vector<CocoObject>& detections,
                             CocoEvalParams params)
    : gt_(gt), dts_(detections), params_(std::move(params)) {
  if (params_.max_dets.empty()) throw Error("COCO evaluation: max_dets must not be empty");
  std::sort(params_.max_dets.begin(), params_.max_dets.end());
  if (params_.area_ranges.size() != params_.area_labels.size()) {
    throw Error("COCO evaluation: area_ranges and area_labels differ in length");
  }
  for (const auto& img : gt_.images) image_ids_.push_back(img.id);
  std::sort(image_ids_.begin(), image_ids_.end());
  if (params_.use_cats) {
    for (const auto& cat : gt_.categories) category_ids_.push_back(cat.id);
    std::sort(category_ids_.begin(), category_ids_.end());
  } else {
    category_ids_ = {-1};
  }
}

void CocoEvaluator::evaluate() {
  const size_t I = image_ids_.size(), A = params_.area_ranges.size(), T = params_.iou_thresholds.size();
  // GT categories, sorted: the per-(image, category) grouping key even without use_cats.
  std::vector<int64_t> gt_cats;
  for (const auto& cat : gt_.categories) gt_cats.push_back(cat.id);
  std::sort(gt_cats.begin(), gt_cats.end());
  const size_t C = gt_cats.size();
  std::unordered_map<int64_t, size_t> image_pos, cat_pos;
  for (size_t i = 0; i < I; ++i) image_pos[image_ids_[i]] = i;
  for (size_t c = 0; c < C; ++c) cat_pos[gt_cats[c]] = c;

  // Group objects per (image, category) in file order, as pycocotools' _gts/_dts.
  std::vector<std::vector<const CocoObject*>> gts(I * C), dts(I * C);
  for (const auto& g : gt_.annotations) gts[image_pos.at(g.image_id) * C + cat_pos.at(g.category_id)].push_back(&g);
  for (const auto& d : dts_) {
    const auto ip = image_pos.find(d.image_id);
    const auto cp = cat_pos.find(d.category_id);
    if (ip == image_pos.end() || cp == cat_pos.end()) continue;  // loadRes/_prepare never see these
    dts[ip->second * C + cp->second].push_back(&d);
  }

  // Boxes of every object once: the IoU pre-check (boxes must overlap) uses them.
  const bool segm = params_.iou_type == IouType::Segm;
  std::vector<BBox> gt_boxes(gt_.annotations.size()), dt_boxes(dts_.size());
  parallel_for(gt_boxes.size() + dt_boxes.size(), params_.num_threads, [&](size_t j) {
    if (j < gt_boxes.size()) {
      gt_boxes[j] = segm ? rle_to_bbox(gt_.annotations[j].mask) : gt_.annotations[j].bbox;
    } else {
      const auto& d = dts_[j - gt_boxes.size()];
      dt_boxes[j - gt_boxes.size()] = segm ? rle_to_bbox(d.mask) : d.bbox;
    }
  });
  auto gt_box = [&](const CocoObject* g) -> const BBox& { return gt_boxes[static_cast<size_t>(g - gt_.annotations.data())]; };
  auto dt_box = [&](const CocoObject* d) -> const BBox& { return dt_boxes[static_cast<size_t>(d - dts_.data())]; };

  const size_t K = category_ids_.size();
  const size_t max_det = static_cast<size_t>(params_.max_dets.back());
  ious_.assign(I * K, IouMatrix{});
  stores_.assign(I, ImageStore{});
  eval_index_.assign(K * A * I, nullptr);

  parallel_for(I, params_.num_threads, [&](size_t i) {
    // The GTs and detections of (image i, k): one category, or all of them.
    std::vector<std::vector<const CocoObject*>> gt(K), dt(K);
    for (size_t k = 0; k < K; ++k) {
      if (params_.use_cats) {
        gt[k] = gts[i * C + k];
        dt[k] = dts[i * C + k];
      } else {
        for (size_t c = 0; c < C; ++c) {
          gt[k].insert(gt[k].end(), gts[i * C + c].begin(), gts[i * C + c].end());
          dt[k].insert(dt[k].end(), dts[i * C + c].begin(), dts[i * C + c].end());
        }
      }
    }
    // Size this image's storage exactly, so the views stay valid while it fills.
    ImageStore& store = stores_[i];
    size_t n_ints = 0, n_scores = 0, n_flags = 0, n_evals = 0;
    for (size_t k = 0; k < K; ++k) {
      if (gt[k].empty() && dt[k].empty()) continue;
      const size_t D = std::min(dt[k].size(), max_det), G = gt[k].size();
      n_ints += D + A * (G + T * D + T * G);
      n_scores += D;
      n_flags += A * (G + T * D);
      n_evals += A;
    }
    store.ints.assign(n_ints, 0);
    store.scores.resize(n_scores);
    store.flags.assign(n_flags, 0);
    store.evals.resize(n_evals);
    int64_t* ints = store.ints.data();
    double* scores = store.scores.data();
    uint8_t* flags = store.flags.data();
    ImageEvaluation* next_eval = store.evals.data();

    for (size_t k = 0; k < K; ++k) {
      if (gt[k].empty() && dt[k].empty()) continue;
      // computeIoU: detections by score, top max_det, against GTs in file order.
      const std::vector<size_t> order = order_by_score(dt[k]);
      const size_t D = std::min(order.size(), max_det), G = gt[k].size();
      std::vector<const CocoObject*> dt_sorted(D);
      for (size_t d = 0; d < D; ++d) dt_sorted[d] = dt[k][order[d]];
      const std::vector<const CocoObject*>& g_objs = gt[k];
      IouMatrix& ious = ious_[i * K + k];
      for (auto* d : dt_sorted) ious.dt_ids.push_back(d->id);
      for (auto* g : g_objs) ious.gt_ids.push_back(g->id);
      if (D > 0 && G > 0) {
        ious.iou.resize(D * G);
        for (size_t d = 0; d < D; ++d) {
          const CocoObject* det = dt_sorted[d];
          for (size_t g = 0; g < G; ++g) {
            ious.iou[d * G + g] =
                segm ? rle_iou(det->mask, dt_box(det), g_objs[g]->mask, gt_box(g_objs[g]), g_objs[g]->iscrowd)
                     : bbox_iou(dt_box(det), gt_box(g_objs[g]), g_objs[g]->iscrowd);
          }
        }
      }
      int64_t* dt_ids = ints;
      ints += D;
      std::copy(ious.dt_ids.begin(), ious.dt_ids.end(), dt_ids);
      double* dt_scores = scores;
      scores += D;
      for (size_t d = 0; d < D; ++d) dt_scores[d] = dt_sorted[d]->score;

      // evaluateImg for every area range.
      std::vector<uint8_t> ignore(G), crowd(G);
      std::vector<size_t> gt_order(G);
      for (size_t a = 0; a < A; ++a) {
        const double lo = params_.area_ranges[a][0], hi = params_.area_ranges[a][1];
        for (size_t g = 0; g < G; ++g) ignore[g] = g_objs[g]->iscrowd || g_objs[g]->area < lo || g_objs[g]->area > hi;
        // GTs with ignore last, otherwise in file order.
        std::iota(gt_order.begin(), gt_order.end(), size_t{0});
        std::stable_sort(gt_order.begin(), gt_order.end(), [&](size_t x, size_t y) { return ignore[x] < ignore[y]; });

        ImageEvaluation& e = *next_eval++;
        e.image_id = image_ids_[i];
        e.category_id = category_ids_[k];
        e.area_index = a;
        e.num_dt = D;
        e.num_gt = G;
        e.dt_ids = dt_ids;
        e.dt_scores = dt_scores;
        int64_t* gt_ids = ints;
        int64_t* dt_matches = ints + G;
        int64_t* gt_matches = ints + G + T * D;
        ints += G + T * D + T * G;
        uint8_t* gt_ignore = flags;
        uint8_t* dt_ignore = flags + G;
        flags += G + T * D;
        e.gt_ids = gt_ids;
        e.gt_ignore = gt_ignore;
        e.dt_matches = dt_matches;
        e.gt_matches = gt_matches;
        e.dt_ignore = dt_ignore;
        eval_index_[(k * A + a) * I + i] = &e;
        for (size_t g = 0; g < G; ++g) {
          gt_ids[g] = g_objs[gt_order[g]]->id;
          gt_ignore[g] = ignore[gt_order[g]];
          crowd[g] = g_objs[gt_order[g]]->iscrowd;
        }
        if (!ious.iou.empty()) {
          for (size_t t = 0; t < T; ++t) {
            int64_t* gtm = gt_matches + t * G;
            for (size_t d = 0; d < D; ++d) {
              // Best GT so far; equal IoU moves the match to the later GT, as in pycocotools.
              double best = std::min(params_.iou_thresholds[t], 1 - 1e-10);
              long m = -1;
              for (size_t g = 0; g < G; ++g) {
                if (gtm[g] > 0 && !crowd[g]) continue;                 // taken, and not a crowd region
                if (m > -1 && !gt_ignore[m] && gt_ignore[g]) break;    // matched a real GT; rest are ignored
                const double iou = ious.iou[d * G + gt_order[g]];
                if (iou < best) continue;
                best = iou;
                m = static_cast<long>(g);
              }
              if (m == -1) continue;
              dt_ignore[t * D + d] = gt_ignore[m];
              dt_matches[t * D + d] = gt_ids[m];
              gtm[m] = dt_sorted[d]->id;
            }
          }
        }
        // Unmatched detections outside the area range are ignored.
        for (size_t d = 0; d < D; ++d) {
          const double area = dt_sorted[d]->area;
          if (area < lo || area > hi) {
            for (size_t t = 0; t < T; ++t) {
              if (dt_matches[t * D + d] == 0) dt_ignore[t * D + d] = 1;
            }
          }
        }
      }
    }
  });
  evaluated_ = true;
}

std::vector<const ImageEvaluation*> CocoEvaluator::image_evaluations() const {
  std::vector<const ImageEvaluation*> out;
  for (const ImageEvaluation* e : eval_index_) {
    if (e) out.push_back(e);
  }
  return out;
}

CocoEvalResult CocoEvaluator::accumulate() const {
  if (!evaluated_) throw Error("COCO evaluation: accumulate() called before evaluate()");
  const size_t T = params_.iou_thresholds.size(), R = params_.recall_thresholds.size(), K = category_ids_.size(),
               A = params_.area_ranges.size(), M = params_.max_dets.size(), I = image_ids_.size();
  CocoEvalResult result;
  result.params = params_;
  result.image_ids = image_ids_;
  result.category_ids = category_ids_;
  result.precision.assign(T * R * K * A * M, -1.0);
  result.recall.assign(T * K * A * M, -1.0);
  const double eps = 2.220446049250313e-16;  // np.spacing(1)

  parallel_for(K, params_.num_threads, [&](size_t k) {
    struct Det {
      double score;
      const ImageEvaluation* e;
      size_t d;
    };
    std::vector<Det> dets;
    std::vector<double> rc, pr;
    for (size_t a = 0; a < A; ++a) {
      for (size_t m = 0; m < M; ++m) {
        const size_t max_det = static_cast<size_t>(params_.max_dets[m]);
        dets.clear();
        size_t n_evals = 0, npig = 0;
        for (size_t i = 0; i < I; ++i) {
          const ImageEvaluation* e = eval_index_[(k * A + a) * I + i];
          if (!e) continue;
          ++n_evals;
          const size_t D = std::min(e->num_dt, max_det);
          for (size_t d = 0; d < D; ++d) dets.push_back({e->dt_scores[d], e, d});
          for (size_t g = 0; g < e->num_gt; ++g) npig += e->gt_ignore[g] == 0;
        }
        if (n_evals == 0 || npig == 0) continue;
        std::stable_sort(dets.begin(), dets.end(), [](const Det& x, const Det& y) { return x.score > y.score; });
        const size_t nd = dets.size();
        rc.resize(nd);
        pr.resize(nd);
        for (size_t t = 0; t < T; ++t) {
          double tp = 0, fp = 0;
          for (size_t j = 0; j < nd; ++j) {
            const ImageEvaluation& e = *dets[j].e;
            const size_t D = e.num_dt;
            if (!e.dt_ignore[t * D + dets[j].d]) {
              if (e.dt_matches[t * D + dets[j].d] != 0) {
                tp += 1;
              } else {
                fp += 1;
              }
            }
            rc[j] = tp / static_cast<double>(npig);
            pr[j] = tp / (fp + tp + eps);
          }
          result.recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
          // Precision envelope: make it non-increasing from the right.
          for (size_t j = nd; j-- > 1;) {
            if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          }
          // numpy.searchsorted(rc, recThrs, side='left'); thresholds past the
          // last recall keep precision 0.
          size_t idx = 0;
          for (size_t r = 0; r < R; ++r) {
            const double thr = params_.recall_thresholds[r];
            idx = static_cast<size_t>(std::lower_bound(rc.begin() + static_cast<std::ptrdiff_t>(idx), rc.end(), thr) -
                                      rc.begin());
            const size_t out = (((t * R + r) * K + k) * A + a) * M + m;
            result.precision[out] = idx < nd ? pr[idx] : 0.0;
          }
        }
      }
    }
  });
  return result;
}

namespace {

double mean_defined(const std::vector<double>& values) {
  long double sum = 0;
  size_t n = 0;
  for (double v : values) {
    if (v > -1) {
      sum += v;
      ++n;
    }
  }
  return n == 0 ? -1.0 : static_cast<double>(sum / static_cast<long double>(n));
}

// pycocotools' _summarize: mean over defined entries of the selected slice.
double summarize_one(const CocoEvalResult& r, bool ap, const double* iou_thr, const std::string& area,
                     int max_dets, std::string* line) {
  const auto& p = r.params;
  const size_t T = p.iou_thresholds.size(), R = p.recall_thresholds.size(), K = r.category_ids.size(),
               A = p.area_ranges.size(), M = p.max_dets.size();
  std::vector<double> values;
  for (size_t t = 0; t < T; ++t) {
    if (iou_thr && !(*iou_thr == p.iou_thresholds[t])) continue;
    for (size_t a = 0; a < A; ++a) {
      if (p.area_labels[a] != area) continue;
      for (size_t m = 0; m < M; ++m) {
        if (p.max_dets[m] != max_dets) continue;
        for (size_t k = 0; k < K; ++k) {
          if (ap) {
            for (size_t rr = 0; rr < R; ++rr) values.push_back(r.precision_at(t, rr, k, a, m));
          } else {
            values.push_back(r.recall_at(t, k, a, m));
          }
        }
      }
    }
  }
  const double mean = mean_defined(values);
  char iou_str[32];
  if (iou_thr) {
    std::snprintf(iou_str, sizeof iou_str, "%0.2f", *iou_thr);
  } else {
    std::snprintf(iou_str, sizeof iou_str, "%0.2f:%0.2f", p.iou_thresholds.front(), p.iou_thresholds.back());
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f",
                ap ? "Average Precision" : "Average Recall", ap ? "(AP)" : "(AR)", iou_str, area.c_str(), max_dets,
                mean);
  *line = buf;
  return mean;
}

}  // namespace

void summarize(CocoEvalResult& r, const CocoGroundTruth& gt) {
  const auto& md = r.params.max_dets;
  if (md.size() < 3) throw Error("COCO summary needs 3 maxDets values");
  const double iou50 = 0.5, iou75 = 0.75;
  struct Spec {
    bool ap;
    const double* iou;
    const char* area;
    int max_dets;
  };
  const Spec specs[12] = {
      {true, nullptr, "all", md[2]},    {true, &iou50, "all", md[2]},     {true, &iou75, "all", md[2]},
      {true, nullptr, "small", md[2]},  {true, nullptr, "medium", md[2]}, {true, nullptr, "large", md[2]},
      {false, nullptr, "all", md[0]},   {false, nullptr, "all", md[1]},   {false, nullptr, "all", md[2]},
      {false, nullptr, "small", md[2]}, {false, nullptr, "medium", md[2]}, {false, nullptr, "large", md[2]},
  };
  r.summary_lines.assign(12, "");
  for (size_t s = 0; s < 12; ++s) {
    r.stats[s] = summarize_one(r, specs[s].ap, specs[s].iou, specs[s].area, specs[s].max_dets, &r.summary_lines[s]);
  }

  r.per_category.clear();
  if (!r.params.use_cats) return;
  const auto& p = r.params;
  const size_t T = p.iou_thresholds.size(), R = p.recall_thresholds.size(), M = p.max_dets.size();
  const size_t area_all = static_cast<size_t>(
      std::find(p.area_labels.begin(), p.area_labels.end(), "all") - p.area_labels.begin());
  if (area_all == p.area_labels.size()) return;
  for (size_t k = 0; k < r.category_ids.size(); ++k) {
    CategoryAp c;
    c.category_id = r.category_ids[k];
    c.name = gt.categories[gt.category_index.at(c.category_id)].name;
    std::vector<double> all, at50, at75;
    for (size_t t = 0; t < T; ++t) {
      for (size_t rr = 0; rr < R; ++rr) {
        const double v = r.precision_at(t, rr, k, area_all, M - 1);
        all.push_back(v);
        if (p.iou_thresholds[t] == 0.5) at50.push_back(v);
        if (p.iou_thresholds[t] == 0.75) at75.push_back(v);
      }
    }
    c.ap = mean_defined(all);
    c.ap50 = mean_defined(at50);
    c.ap75 = mean_defined(at75);
    r.per_category.push_back(std::move(c));
  }
}

CocoEvalResult CocoEvaluator::run() {
  evaluate();
  CocoEvalResult result = accumulate();
  summarize(result, gt_);
  return result;
}

}  // namespace rgbdseg
