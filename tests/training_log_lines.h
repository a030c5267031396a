#pragma once
// The records of a trainer's JSON-lines log (RUN/train.jsonl), for the tests
// that read it: all of them, or those of one "type" (train, eval, skip).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "rgbdseg/core/file_util.h"

namespace rgbdseg::testing {

inline std::vector<nlohmann::json> log_lines(const std::string& path, const std::string& type = "") {
  std::vector<nlohmann::json> out;
  std::istringstream in(rgbdseg::read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    if (type.empty() || j.value("type", "") == type) out.push_back(j);
  }
  return out;
}

}  // namespace rgbdseg::testing
