#include "plugins.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <filesystem>

#include "rgbdseg/core/build_info.h"
#include "rgbdseg/core/error.h"

namespace rgbdseg::app {

const std::vector<CommandInfo>& command_table() {
  static const std::vector<CommandInfo> table = {
      {"cocoeval", "COCO AP of a results file against ground truth (pycocotools-exact)", nullptr},
      {"inspect", "print the resolved config (--config/--set) or list a safetensors file's tensors", nullptr},
      {"synth", "write synthetic RGB-D tabletop scenes as a canonical dataset", "images"},
      {"show", "write RGB | depth | instances PNGs of a dataset to check it by eye", "images"},
      {"plot", "draw training curves (loss, learning rate, eval AP) from a training log", "images"},
      {"convert", "write a canonical RGB-D dataset from NYUv2, COTS, the research code's format, a folder or an "
                  "annotation tool's export (LabelMe, COCO, CVAT)", "images"},
      {"compare", "compare models' predictions on one dataset: COCO tables, error breakdown, side-by-side frames",
       "images"},
      {"bag", "read RealSense recordings (.bag): info, export", "images"},
      {"capture", "frames from a RealSense D4xx through V4L2 (depth aligned to colour) as a canonical dataset", "images"},
      {"demo", "the main job on built-in synthetic data: train, evaluate, predict, end to end", "torch"},
      {"train", "train a model variant on a canonical RGB-D dataset", "torch"},
      {"eval", "COCO mask AP of trained weights on a dataset", "torch"},
      {"predict", "instance masks for RGB-D images: COCO results, overlays, instance-id PNGs", "torch"},
      {"info", "print build and runtime facts: threads, BLAS, LibTorch, device", "torch"},
      {"forward", "run a Hugging Face Mask2Former on pixel_values and write every output", "torch"},
      {"bench", "forward latency and peak memory of a model configuration (random weights)", "torch"},
  };
  return table;
}

namespace {

// <dir of this executable>/../lib/<file>, where the build puts plugins.
std::string plugin_path(const std::string& file) {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return file;
  const std::filesystem::path exe(std::string(buf, static_cast<size_t>(n)));
  const auto in_lib = exe.parent_path().parent_path() / "lib" / file;
  return std::filesystem::exists(in_lib) ? in_lib.string() : (exe.parent_path() / file).string();
}

}  // namespace

void load_plugin_commands(const std::string& plugin, CLI::App& app, std::vector<Command>& commands) {
  const std::string path = plugin_path("librgbdseg_cmd_" + plugin + ".so");
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) throw Error(path + ": cannot load rgbdseg's " + plugin + " commands (" + ::dlerror() + ")");
  using Register = void (*)(CLI::App*, std::vector<Command>*);
  auto reg = reinterpret_cast<Register>(::dlsym(handle, "rgbdseg_register_commands"));
  if (!reg) throw Error(path + ": not an rgbdseg plugin (no rgbdseg_register_commands)");
  reg(&app, &commands);
}

std::string version_text() {
  return std::string("rgbdseg " RGBDSEG_VERSION " (commit " RGBDSEG_GIT_COMMIT ", " RGBDSEG_BUILD_TYPE ")\n"
                     "compiler " RGBDSEG_COMPILER "\n"
                     "LibTorch " RGBDSEG_TORCH_VERSION ", CUDA ") +
         (RGBDSEG_TORCH_CUDA ? "on" : "off") + "\n";
}

}  // namespace rgbdseg::app
