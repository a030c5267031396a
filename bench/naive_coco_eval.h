#pragma once
// The benchmark's baseline: a straightforward, single-threaded transliteration
// of pycocotools' cocoeval.py (nlohmann::json DOM, std::map grouping, no
// caching, no threads), sharing only the RLE primitives with rgbdseg. It is
// also an independent cross-check: its stats must equal the real evaluator's.
#include <array>
#include <string>

namespace rgbdseg::bench {

std::array<double, 12> naive_coco_eval_segm(const std::string& gt_path, const std::string& dt_path, bool use_cats);

}  // namespace rgbdseg::bench
