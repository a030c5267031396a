#include "naive_coco_eval.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

#include "rgbdseg/core/file_util.h"
#include "rgbdseg/coco/coco_eval.h"
#include "rgbdseg/coco/rle.h"

namespace rgbdseg::bench {

namespace {

struct Ann {
  int64_t id, image_id, category_id;
  bool crowd;
  double area, score;
  Rle rle;
};

Rle to_rle(const nlohmann::json& seg) {
  const int64_t h = seg["size"][0], w = seg["size"][1];
  if (seg["counts"].is_string()) return rle_from_string(seg["counts"].get<std::string>(), h, w);
  return Rle{h, w, seg["counts"].get<std::vector<uint32_t>>()};
}

struct EvalImg {
  std::vector<double> scores;
  std::vector<std::vector<int64_t>> dtm;   // [T][D]
  std::vector<std::vector<int>> dt_ig;     // [T][D]
  std::vector<int> gt_ig;
};

}  // namespace

std::array<double, 12> naive_coco_eval_segm(const std::string& gt_path, const std::string& dt_path, bool use_cats) {
  const auto gtj = nlohmann::json::parse(read_file(gt_path));
  const auto dtj = nlohmann::json::parse(read_file(dt_path));
  std::vector<int64_t> img_ids, cat_ids;
  for (const auto& i : gtj["images"]) img_ids.push_back(i["id"]);
  for (const auto& c : gtj["categories"]) cat_ids.push_back(c["id"]);
  std::sort(img_ids.begin(), img_ids.end());
  std::sort(cat_ids.begin(), cat_ids.end());
  std::map<std::pair<int64_t, int64_t>, std::vector<Ann>> gts, dts;
  for (const auto& a : gtj["annotations"]) {
    Ann x{a["id"], a["image_id"], a["category_id"], a.value("iscrowd", 0) != 0, a["area"], 0, to_rle(a["segmentation"])};
    gts[{x.image_id, x.category_id}].push_back(x);
  }
  int64_t next_id = 1;
  for (const auto& d : dtj) {
    Ann x{next_id++, d["image_id"], d["category_id"], false, 0, d["score"], to_rle(d["segmentation"])};
    x.area = static_cast<double>(rle_area(x.rle));
    dts[{x.image_id, x.category_id}].push_back(x);
  }
  const auto iou_thrs = numpy_linspace(0.5, 0.95, 10), rec_thrs = numpy_linspace(0, 1, 101);
  const std::vector<int> max_dets = {1, 10, 100};
  const std::vector<std::array<double, 2>> areas = {{0, 1e10}, {0, 1024}, {1024, 9216}, {9216, 1e10}};
  const std::vector<int64_t> ks = use_cats ? cat_ids : std::vector<int64_t>{-1};
  const size_t T = 10, R = 101, K = ks.size(), A = 4, M = 3, I = img_ids.size();

  auto gather = [&](std::map<std::pair<int64_t, int64_t>, std::vector<Ann>>& m, int64_t img, int64_t cat) {
    std::vector<Ann*> out;
    for (int64_t c : cat_ids) {
      if (use_cats && c != cat) continue;
      auto it = m.find({img, c});
      if (it != m.end())
        for (auto& a : it->second) out.push_back(&a);
    }
    return out;
  };
  auto by_score = [](std::vector<Ann*>& v) {
    std::stable_sort(v.begin(), v.end(), [](const Ann* a, const Ann* b) { return a->score > b->score; });
  };

  // evaluate(): evalImgs[k][a][i]
  std::vector<std::vector<std::vector<EvalImg*>>> evals(K, std::vector<std::vector<EvalImg*>>(A, std::vector<EvalImg*>(I, nullptr)));
  std::vector<std::unique_ptr<EvalImg>> owned;
  for (size_t k = 0; k < K; ++k) {
    for (size_t i = 0; i < I; ++i) {
      auto gt = gather(gts, img_ids[i], ks[k]);
      auto dt = gather(dts, img_ids[i], ks[k]);
      if (gt.empty() && dt.empty()) continue;
      by_score(dt);
      if (dt.size() > 100) dt.resize(100);
      std::vector<std::vector<double>> ious(dt.size(), std::vector<double>(gt.size()));
      for (size_t d = 0; d < dt.size(); ++d)
        for (size_t g = 0; g < gt.size(); ++g) ious[d][g] = rle_iou(dt[d]->rle, gt[g]->rle, gt[g]->crowd);
      for (size_t a = 0; a < A; ++a) {
        std::vector<int> ig(gt.size());
        for (size_t g = 0; g < gt.size(); ++g)
          ig[g] = gt[g]->crowd || gt[g]->area < areas[a][0] || gt[g]->area > areas[a][1];
        std::vector<size_t> order(gt.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return ig[x] < ig[y]; });
        auto e = std::make_unique<EvalImg>();
        for (size_t g : order) e->gt_ig.push_back(ig[g]);
        for (auto* d : dt) e->scores.push_back(d->score);
        e->dtm.assign(T, std::vector<int64_t>(dt.size(), 0));
        e->dt_ig.assign(T, std::vector<int>(dt.size(), 0));
        for (size_t t = 0; t < T; ++t) {
          std::vector<int64_t> gtm(gt.size(), 0);
          for (size_t d = 0; d < dt.size(); ++d) {
            double iou = std::min(iou_thrs[t], 1 - 1e-10);
            long m = -1;
            for (size_t gi = 0; gi < order.size(); ++gi) {
              const Ann* g = gt[order[gi]];
              if (gtm[gi] > 0 && !g->crowd) continue;
              if (m > -1 && e->gt_ig[m] == 0 && e->gt_ig[gi] == 1) break;
              if (ious[d][order[gi]] < iou) continue;
              iou = ious[d][order[gi]];
              m = static_cast<long>(gi);
            }
            if (m == -1) continue;
            e->dt_ig[t][d] = e->gt_ig[m];
            e->dtm[t][d] = gt[order[m]]->id;
            gtm[m] = dt[d]->id;
          }
          for (size_t d = 0; d < dt.size(); ++d) {
            const bool outside = dt[d]->area < areas[a][0] || dt[d]->area > areas[a][1];
            if (e->dtm[t][d] == 0 && outside) e->dt_ig[t][d] = 1;
          }
        }
        evals[k][a][i] = e.get();
        owned.push_back(std::move(e));
      }
    }
  }

  // accumulate()
  std::vector<double> precision(T * R * K * A * M, -1), recall(T * K * A * M, -1);
  for (size_t k = 0; k < K; ++k)
    for (size_t a = 0; a < A; ++a)
      for (size_t m = 0; m < M; ++m) {
        std::vector<std::tuple<double, EvalImg*, size_t>> all;
        size_t npig = 0, n = 0;
        for (size_t i = 0; i < I; ++i) {
          EvalImg* e = evals[k][a][i];
          if (!e) continue;
          ++n;
          for (size_t d = 0; d < std::min<size_t>(e->scores.size(), max_dets[m]); ++d) all.emplace_back(e->scores[d], e, d);
          for (int g : e->gt_ig) npig += g == 0;
        }
        if (n == 0 || npig == 0) continue;
        std::stable_sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return std::get<0>(x) > std::get<0>(y); });
        for (size_t t = 0; t < T; ++t) {
          std::vector<double> rc, pr;
          double tp = 0, fp = 0;
          for (auto& [s, e, d] : all) {
            if (!e->dt_ig[t][d]) (e->dtm[t][d] ? tp : fp) += 1;
            rc.push_back(tp / static_cast<double>(npig));
            pr.push_back(tp / (fp + tp + 2.220446049250313e-16));
          }
          recall[((t * K + k) * A + a) * M + m] = rc.empty() ? 0 : rc.back();
          for (size_t j = pr.size(); j-- > 1;) pr[j - 1] = std::max(pr[j - 1], pr[j]);
          for (size_t r = 0; r < R; ++r) {
            const size_t idx = static_cast<size_t>(std::lower_bound(rc.begin(), rc.end(), rec_thrs[r]) - rc.begin());
            precision[(((t * R + r) * K + k) * A + a) * M + m] = idx < pr.size() ? pr[idx] : 0;
          }
        }
      }

  // summarize()
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    size_t n = 0;
    for (double x : v)
      if (x > -1) s += x, ++n;
    return n ? s / static_cast<double>(n) : -1.0;
  };
  auto ap = [&](int t_sel, size_t a, size_t m) {
    std::vector<double> v;
    for (size_t t = 0; t < T; ++t) {
      if (t_sel >= 0 && static_cast<int>(t) != t_sel) continue;
      for (size_t r = 0; r < R; ++r)
        for (size_t k = 0; k < K; ++k) v.push_back(precision[(((t * R + r) * K + k) * A + a) * M + m]);
    }
    return mean(v);
  };
  auto ar = [&](size_t a, size_t m) {
    std::vector<double> v;
    for (size_t t = 0; t < T; ++t)
      for (size_t k = 0; k < K; ++k) v.push_back(recall[((t * K + k) * A + a) * M + m]);
    return mean(v);
  };
  return {ap(-1, 0, 2), ap(0, 0, 2), ap(5, 0, 2), ap(-1, 1, 2), ap(-1, 2, 2), ap(-1, 3, 2),
          ar(0, 0),     ar(0, 1),    ar(0, 2),    ar(1, 2),     ar(2, 2),     ar(3, 2)};
}

}  // namespace rgbdseg::bench
