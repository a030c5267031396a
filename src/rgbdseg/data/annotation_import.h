#pragma once
// What the annotation-tool converters (convert_labelme.h, convert_coco_depth.h,
// convert_cvat_masks.h) share: the rule that finds a colour image's depth
// file, category lists that make several conversions agree, and image files
// found by name. Torch-free.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "rgbdseg/coco/coco_dataset.h"
#include "rgbdseg/core/depth_encoding.h"

namespace rgbdseg {

// Annotation tools know nothing of depth: the depth image of a colour image is
// found by name. For a colour image at IMAGE_ROOT/rgb/sub/a.jpg it is the first of
//   DIR/rgb/sub/a<suffix>.png|tif|tiff   (the same folders), then
//   DIR/sub/a<suffix>.png|tif|tiff       (leading folders dropped one by one), then
//   DIR/a<suffix>.png|tif|tiff           (a flat depth folder).
struct DepthLookup {
  std::string dir;     // required
  std::string suffix;  // e.g. "_depth": a.jpg -> a_depth.png
  DepthReadOptions read;

  // `relative_image` is the colour image's path relative to its root (may be
  // just the file name; a leading "../" never reaches into DIR's parents).
  // Returns "" when no candidate exists.
  std::string find(const std::string& relative_image) const;
  // The first candidate's name with ".png" (for "no depth file" reasons).
  std::string expected(const std::string& relative_image) const;
};

// A category list that fixes the ids, so several conversions agree:
//   *.json  a COCO file (e.g. an earlier conversion's annotations.json): its
//           "categories" with their ids;
//   other   text, one name per line, ids 1..N in order (LabelMe's labels.txt
//           works as is: blank lines and its __ignore__ / _background_ entries
//           are skipped; so are lines starting with '#').
// Errors name the file: unreadable, no names, a name twice, ids not positive or repeated.
std::vector<std::pair<int64_t, std::string>> load_category_list(const std::string& path);

// The colour image file of a name without extension (`base` = DIR/sub/name):
// the first existing of .png .jpg .jpeg .bmp .tif .tiff (either case). "" when none.
std::string find_image_file(const std::string& base);

// The folder a COCO file's image `file_name`s are relative to: `given` when not
// empty (Error if it is no folder), else the first of the JSON file's folder
// (Roboflow: train/_annotations.coco.json beside the images),
// ../images/<subset> for annotations/instances_<subset>.json and ../images
// (CVAT "COCO 1.0") that holds the first image found. Error naming the JSON
// file and the folders tried when none does.
std::string coco_image_root(const std::string& annotations_path, const std::vector<CocoImage>& images,
                            const std::string& given = "");

// An image path as an annotation tool wrote it: Windows separators made '/', normalised.
std::filesystem::path tool_image_path(std::string name);

// `line` without leading and trailing white space (the tools' text files).
std::string trim_line(const std::string& line);

// Roboflow renames uploads "frame_01.png" to "frame_01_png.rf.<hex>.jpg"; this
// returns the original stem ("frame_01") for such a stem, else the stem unchanged.
std::string roboflow_original_stem(const std::string& stem);

}  // namespace rgbdseg
