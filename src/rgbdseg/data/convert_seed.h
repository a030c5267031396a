#pragma once
// The research code's dataset format -> canonical rgbdseg dataset
// (reference/seed-spec.md section 7).
//
// Input: a JSON list of entries {"image": [rgb, depth, ...], "annotation": mask}
// (other keys, e.g. "semantic_class_to_id", are ignored; image[0] is the colour
// image, image[1] the depth image, further paths are the research code's extra
// depth variants and are ignored; an RGB-only entry, "image": "rgb.jpg", is
// skipped with a reason) and `label2id.json` ({name: id}, 0 = background).
// The mask is a 3-channel PNG (8- or 16-bit) read in OpenCV's BGR order:
// G = instance id (0 = no instance), R = class id, B unused.
//
// Instances follow the research loader: one instance per distinct G > 0, its
// mask every pixel with that G; its class the R of its pixels (when they carry
// several, the largest, as the loader's "last pair wins" over sorted pairs).
// An instance whose class is 0 (background) is dropped and counted; a class id
// that label2id.json does not name is an error naming the file, the instance and
// the id. Stuff (R > 0 with G = 0) is ignored, as in the research code.
//
// Depth: 16-bit images are millimetres unless a scale is given; float images
// are metres (times the scale, if given); 8-bit images (the research code's
// only working depth) have no known unit and need an explicit scale. Values are
// kept as they are (no range clipping): 0 = no reading.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/dataset_writer.h"

namespace rgbdseg {

struct SeedConvertOptions {
  std::string json_path;      // the JSON list (train.json, valid_m.json, ...)
  std::string label2id_path;  // label2id.json
  std::string out_dir;
  // Base of relative paths inside the JSON. "" = the current directory, as the
  // research code resolves them.
  std::string root;
  // Metres per stored depth unit; 0 = the default: 16-bit = mm, float = metres, 8-bit refused.
  double depth_scale = 0.0;
  bool force = false;  // write into a non-empty out_dir
  int threads = 0;     // 0 = all cores
};

// label2id.json as categories (id, name) in id order, without id 0 (background).
// Throws Error naming the file for a non-object, non-integer or negative ids, or
// an id given twice.
std::vector<std::pair<int64_t, std::string>> read_label2id(const std::string& path);

// Converts every entry (in parallel; stems are the 0-based entry index, NNNNNN)
// and returns the summary. progress(done, total) may be empty; returning false
// cancels (Error). Throws Error naming the file (and entry) on bad input.
ConversionSummary convert_seed(const SeedConvertOptions& options, const ProgressCallback& progress = {});

}  // namespace rgbdseg
