#include "rgbdseg/coco/coco_metrics.h"

#include <iterator>
#include <string>
#include <vector>

namespace rgbdseg {

nlohmann::ordered_json coco_metrics_json(const CocoEvalResult& r) {
  static const char* const kStatNames[12] = {"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                                             "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
  nlohmann::ordered_json j;
  j["stats"] = std::vector<double>(r.stats.begin(), r.stats.end());
  j["stats_names"] = std::vector<std::string>(std::begin(kStatNames), std::end(kStatNames));
  j["per_category"] = nlohmann::ordered_json::array();
  for (const auto& c : r.per_category) {
    j["per_category"].push_back({{"id", c.category_id}, {"name", c.name}, {"AP", c.ap}, {"AP50", c.ap50}, {"AP75", c.ap75}});
  }
  return j;
}

}  // namespace rgbdseg
