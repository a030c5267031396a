#include "torch_plugin.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <filesystem>

#include "rgbdseg/core/build_info.h"
#include "rgbdseg/core/error.h"

namespace rgbdseg::app {

namespace {

const TorchApi* g_api = nullptr;

// <dir of this executable>/../lib/<plugin>, where the build puts it.
std::string plugin_path() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return RGBDSEG_TORCH_PLUGIN;
  const std::filesystem::path exe(std::string(buf, static_cast<size_t>(n)));
  const auto candidate = exe.parent_path().parent_path() / "lib" / RGBDSEG_TORCH_PLUGIN;
  return std::filesystem::exists(candidate) ? candidate.string() : (exe.parent_path() / RGBDSEG_TORCH_PLUGIN).string();
}

}  // namespace

const TorchApi& torch_api() {
  if (g_api) return *g_api;
  const std::string path = plugin_path();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) throw Error(path + ": cannot load the LibTorch part of rgbdseg (" + ::dlerror() + ")");
  using Entry = const TorchApi* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, "rgbdseg_torch_api"));
  if (!entry) throw Error(path + ": not an rgbdseg torch plugin (no rgbdseg_torch_api)");
  const TorchApi* api = entry();
  if (api->abi_version != kTorchApiVersion) {
    throw Error(path + ": plugin interface version " + std::to_string(api->abi_version) + ", expected " +
                std::to_string(kTorchApiVersion) + " (rebuild rgbdseg)");
  }
  g_api = api;
  return *g_api;
}

bool torch_loaded() { return g_api != nullptr; }

std::string describe_exception(const std::exception& e) {
  std::string msg = g_api ? g_api->describe_exception(e) : std::string(e.what());
  const auto nl = msg.find('\n');
  return nl == std::string::npos ? msg : msg.substr(0, nl);
}

std::string version_text() {
  return std::string("rgbdseg " RGBDSEG_VERSION " (commit " RGBDSEG_GIT_COMMIT ", " RGBDSEG_BUILD_TYPE ")\n"
                     "compiler " RGBDSEG_COMPILER "\n"
                     "LibTorch " RGBDSEG_TORCH_VERSION ", CUDA ") +
         (RGBDSEG_TORCH_CUDA ? "on" : "off") + "\n";
}

}  // namespace rgbdseg::app
