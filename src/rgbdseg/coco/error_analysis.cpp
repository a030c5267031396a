#include "rgbdseg/coco/error_analysis.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "rgbdseg/core/parallel.h"

namespace rgbdseg {

namespace {

bool boxes_overlap(const BBox& a, const BBox& b) {
  return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
}

uint64_t intersection_area(const Rle& a, const BBox& box_a, const Rle& b, const BBox& box_b) {
  if (!boxes_overlap(box_a, box_b)) return 0;
  return rle_area(rle_merge({a, b}, /*intersect=*/true));
}

ImageErrors analyse_image(int64_t image_id, const std::vector<const CocoObject*>& gts,
                          std::vector<const CocoObject*> dts, const ErrorAnalysisOptions& o) {
  ImageErrors out;
  out.image_id = image_id;
  // Detections that count, by descending score (stable: ties keep file order).
  dts.erase(std::remove_if(dts.begin(), dts.end(), [&](const CocoObject* d) { return d->score < o.score_threshold; }),
            dts.end());
  std::stable_sort(dts.begin(), dts.end(), [](const CocoObject* a, const CocoObject* b) { return a->score > b->score; });
  std::vector<BBox> gt_box(gts.size()), dt_box(dts.size());
  std::vector<uint64_t> gt_area(gts.size()), dt_area(dts.size());
  for (size_t g = 0; g < gts.size(); ++g) {
    gt_box[g] = rle_to_bbox(gts[g]->mask);
    gt_area[g] = rle_area(gts[g]->mask);
  }
  for (size_t d = 0; d < dts.size(); ++d) {
    dt_box[d] = rle_to_bbox(dts[d]->mask);
    dt_area[d] = rle_area(dts[d]->mask);
  }
  // Intersections, computed once: [d][g].
  std::vector<uint64_t> inter(dts.size() * gts.size(), 0);
  for (size_t d = 0; d < dts.size(); ++d) {
    for (size_t g = 0; g < gts.size(); ++g) {
      inter[d * gts.size() + g] = intersection_area(dts[d]->mask, dt_box[d], gts[g]->mask, gt_box[g]);
    }
  }
  auto iou = [&](size_t d, size_t g) {
    const double i = static_cast<double>(inter[d * gts.size() + g]);
    if (gts[g]->iscrowd) return dt_area[d] ? i / static_cast<double>(dt_area[d]) : 0.0;
    const double u = static_cast<double>(dt_area[d] + gt_area[g]) - i;
    return u > 0 ? i / u : 0.0;
  };
  // Greedy matching.
  std::vector<char> gt_taken(gts.size(), 0), dt_counted(dts.size(), 1);
  for (size_t d = 0; d < dts.size(); ++d) {
    double best = o.iou_threshold;
    int64_t match = -1;
    for (size_t g = 0; g < gts.size(); ++g) {
      if (gts[g]->iscrowd || gt_taken[g]) continue;
      if (o.use_cats && gts[g]->category_id != dts[d]->category_id) continue;
      const double v = iou(d, g);
      if (v >= best) {
        best = v;
        match = static_cast<int64_t>(g);
      }
    }
    if (match >= 0) {
      gt_taken[match] = 1;
      out.matches.emplace_back(dts[d]->id, gts[match]->id);
      continue;
    }
    bool in_crowd = false;
    for (size_t g = 0; g < gts.size() && !in_crowd; ++g) {
      if (!gts[g]->iscrowd) continue;
      if (o.use_cats && gts[g]->category_id != dts[d]->category_id) continue;
      in_crowd = iou(d, g) >= o.iou_threshold;
    }
    if (in_crowd) {
      out.ignored.push_back(dts[d]->id);
      dt_counted[d] = 0;
    } else {
      out.false_positives.push_back(dts[d]->id);
    }
  }
  for (size_t g = 0; g < gts.size(); ++g) {
    if (gts[g]->iscrowd) continue;
    ++out.objects;
    if (!gt_taken[g]) out.missed.push_back(gts[g]->id);
  }
  // Merges and splits, class-agnostic, over the detections that count.
  for (size_t d = 0; d < dts.size(); ++d) {
    if (!dt_counted[d]) continue;
    ++out.predictions;
    int covered = 0;
    for (size_t g = 0; g < gts.size(); ++g) {
      if (!gts[g]->iscrowd && gt_area[g] > 0 &&
          static_cast<double>(inter[d * gts.size() + g]) >= o.cover_fraction * static_cast<double>(gt_area[g])) {
        ++covered;
      }
    }
    if (covered >= 2) out.merges.push_back(dts[d]->id);
  }
  for (size_t g = 0; g < gts.size(); ++g) {
    if (gts[g]->iscrowd || gt_area[g] == 0) continue;
    int parts = 0;
    for (size_t d = 0; d < dts.size(); ++d) {
      if (!dt_counted[d] || dt_area[d] == 0) continue;
      const double i = static_cast<double>(inter[d * gts.size() + g]);
      if (i > o.cover_fraction * static_cast<double>(dt_area[d]) &&
          i >= o.min_part_fraction * static_cast<double>(gt_area[g])) {
        ++parts;
      }
    }
    if (parts >= 2) out.splits.push_back(gts[g]->id);
  }
  return out;
}

}  // namespace

std::vector<ImageErrors> analyse_errors(const CocoGroundTruth& gt, const std::vector<CocoObject>& detections,
                                        const ErrorAnalysisOptions& options) {
  const size_t n = gt.images.size();
  std::vector<std::vector<const CocoObject*>> gts(n), dts(n);
  for (const auto& a : gt.annotations) gts[gt.image_index.at(a.image_id)].push_back(&a);
  for (const auto& d : detections) {
    const auto it = gt.image_index.find(d.image_id);
    if (it != gt.image_index.end()) dts[it->second].push_back(&d);
  }
  std::vector<ImageErrors> out(n);
  parallel_for(n, options.threads, [&](size_t i) { out[i] = analyse_image(gt.images[i].id, gts[i], dts[i], options); });
  return out;
}

ErrorTotals total_errors(const std::vector<ImageErrors>& images) {
  ErrorTotals t;
  for (const auto& e : images) {
    ++t.images;
    t.objects += e.objects;
    t.predictions += e.predictions;
    t.matched += static_cast<int64_t>(e.matches.size());
    t.missed += static_cast<int64_t>(e.missed.size());
    t.false_positives += static_cast<int64_t>(e.false_positives.size());
    t.merges += static_cast<int64_t>(e.merges.size());
    t.splits += static_cast<int64_t>(e.splits.size());
  }
  return t;
}

}  // namespace rgbdseg
