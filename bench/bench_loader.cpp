// Data loader throughput: decode + augment of 480x640 RGB-D samples, in
// images/s, for 1 and 2 workers. Writes a synthetic dataset first (or takes a
// dataset JSON). Prints one JSON line per configuration.
//   bench_loader [DATASET.json] [--images N] [--batches N]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "rgbdseg/data/loader.h"
#include "rgbdseg/data/synthetic_scenes.h"

using namespace rgbdseg;

int main(int argc, char** argv) {
  std::string path;
  int images = 64;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--images") == 0 && i + 1 < argc) {
      images = std::atoi(argv[++i]);
    } else {
      path = argv[i];
    }
  }
  std::string tmp;
  if (path.empty()) {
    tmp = (std::filesystem::temp_directory_path() / ("rgbdseg-bench-loader-" + std::to_string(::getpid()))).string();
    SynthOptions so;
    path = write_synthetic_dataset(tmp, images, so, 0).annotations_path;
  }
  const RgbdDataset ds = load_rgbd_dataset(path);
  struct Config {
    const char* name;
    bool augment;
    int workers;
  };
  for (const Config c : {Config{"decode only", false, 1}, Config{"decode only", false, 2},
                         Config{"decode + augment", true, 1}, Config{"decode + augment", true, 2}}) {
    LoaderOptions o;
    o.batch_size = 2;
    o.workers = c.workers;
    o.augment = c.augment;
    // The paper recipe's kind of augmentation at 480x640: scale jitter, crop, flip, colour, depth noise.
    o.augment_options.resize = AugmentOptions::Resize::ScaleRange;
    o.augment_options.min_scale = 0.8;
    o.augment_options.max_scale = 1.25;
    o.augment_options.crop_height = 480;
    o.augment_options.crop_width = 640;
    o.augment_options.depth_noise_sigma = 0.0015;
    o.augment_options.depth_dropout_boxes = 4;
    DataLoader loader(ds, o);
    loader.start_epoch(0);
    const auto t0 = std::chrono::steady_clock::now();
    Batch b;
    int64_t n = 0;
    while (loader.next(b)) n += b.size;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"config\": \"%s\", \"workers\": %d, \"images\": %lld, \"seconds\": %.3f, \"images_per_s\": %.1f}\n",
                c.name, c.workers, static_cast<long long>(n), s, static_cast<double>(n) / s);
    std::fflush(stdout);
  }
  if (!tmp.empty()) std::filesystem::remove_all(tmp);
  return 0;
}
