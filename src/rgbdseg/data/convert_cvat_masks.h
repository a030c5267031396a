#pragma once
// `rgbdseg convert cvat-masks`: CVAT's "Segmentation mask 1.1" export (the
// unzipped folder) plus depth images found by name, written as a canonical
// dataset. Torch-free.
//
//   ROOT/labelmap.txt                      "# label:color_rgb:parts:actions", then
//                                          lines like "mug:250,50,83::"
//   ROOT/ImageSets/Segmentation/<subset>.txt   image names without extension
//   ROOT/SegmentationClass/<name>.png      each pixel coloured by its label's colour
//   ROOT/SegmentationObject/<name>.png     each object in a colour of its own
//   ROOT/JPEGImages/<name>.<ext>           the images ("Save images"; or --images)
// Objects are the distinct non-black colours of SegmentationObject; an
// object's label is the labelmap label of the colour most of its pixels have
// in SegmentationClass. The background label is the one coloured 0,0,0.
// CVAT writes no mask files for an image without annotations: such an image
// (listed in ImageSets, or without masks) has no objects.
// Categories: labelmap order (CVAT sorts it by name) without the background,
// ids 1..N, unless a category list fixes them (load_category_list).
// Depth: DepthLookup (annotation_import.h) on the image's name.
// Skipped with a reason: images without an image file or a depth file.
// Errors (one line naming the file): no labelmap.txt or a malformed line, a
// class colour the labelmap does not know, an object lying on background,
// one of the two mask files missing, sizes that disagree.
#include <optional>
#include <string>

#include "rgbdseg/core/camera.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/annotation_import.h"
#include "rgbdseg/data/dataset_writer.h"

namespace rgbdseg {

struct CvatMasksOptions {
  std::string root;        // the unzipped export
  std::string images;      // "" = ROOT/JPEGImages
  std::string subset;      // ImageSets/Segmentation/<subset>.txt only; "" = every list there
  std::string out;
  bool force = false;
  int threads = 0;
  std::string categories;  // load_category_list file; "" = labelmap order
  DepthLookup depth;
  std::optional<Intrinsics> intrinsics;
};

ConversionSummary convert_cvat_masks(const CvatMasksOptions& options, const ProgressCallback& progress = {});

struct CvatLabel {
  std::string name;
  int r = 0, g = 0, b = 0;
};
// labelmap.txt: "name:r,g,b:parts:actions" per line ('#' lines are comments).
// Error naming the file and line on anything else.
std::vector<CvatLabel> read_cvat_labelmap(const std::string& path);

}  // namespace rgbdseg
