#include "rgbdseg/core/enums.h"

namespace rgbdseg {

bool is_device_name(const std::string& name) {
  if (name == "cpu" || name == "cuda") return true;
  if (name.rfind("cuda:", 0) != 0 || name.size() == 5 || name.size() > 8) return false;
  return name.find_first_not_of("0123456789", 5) == std::string::npos;
}

DeviceName::DeviceName(const std::string& name) {
  if (!is_device_name(name)) throw Error("device: expected cpu, cuda or cuda:N; got \"" + name + "\"");
  if (name == "cpu") return;
  type = Type::Cuda;
  if (name.size() > 5) index = std::stoi(name.substr(5));
}

DeviceName::DeviceName(const char* name) : DeviceName(std::string(name)) {}

std::string DeviceName::name() const {
  if (type == Type::Cpu) return "cpu";
  return index < 0 ? "cuda" : "cuda:" + std::to_string(index);
}

}  // namespace rgbdseg
