#pragma once
// `rgbdseg convert folder`: a generic folder of RGB-D images with instance
// masks, written as a canonical dataset (DatasetWriter). Torch-free.
//
// Layout (names are matched by file stem, i.e. the name without extension):
//
//   ROOT/rgb/<name>.<png|jpg|jpeg|bmp|tif|tiff>   colour, 8-bit
//   ROOT/depth/<name>.<png|tif|tiff>               depth; 16-bit millimetres by default
//                                                  (DepthReadOptions: encoding, scale, range)
//   and exactly one of
//   ROOT/masks/<name>/<object>.<png|bmp|tif|tiff>  one binary mask per object (non-zero =
//                                                  object); the class comes from the file
//                                                  name's prefix (class map "prefixes")
//   ROOT/instances/<name>.<png|bmp|tif|tiff>       instance map: each distinct colour other
//                                                  than black (or each non-zero value of a
//                                                  single-channel map) is one object; the
//                                                  class comes from the colour ("colours")
//   ROOT/classes.json                              optional class map (or --classes FILE)
//
// Class map (JSON object; every section optional):
//   {
//     "categories": ["mug", "book"],         category ids 1..N in this order; without it,
//                                            ids follow the order names first appear below
//     "prefixes": {"mug": "mug", "bk_": "book"},  mask file name prefix -> class (longest
//                                            matching prefix wins; case-sensitive)
//     "colours": {"#800000": "mug", "7": "book"}, instance-map colour "#rrggbb" (or the
//                                            decimal value of a single-channel map) -> class
//     "default": "object"                    class of anything no rule matches
//   }
// Without a class map every object is class "object". An object no rule
// matches, with no "default", is an error naming the file.
//
// Skipped with a reason (listed in the summary): an RGB file without a depth
// file, an RGB file without masks/<name>/ (or instances/<name>.*), masks or
// instance maps without an RGB file, non-image files, empty masks. An empty
// masks/<name>/ folder or an all-black instance map is an image without objects.
// Errors (one line naming the file): missing root or rgb/, depth/, neither or
// both of masks/ and instances/, a mask or depth map whose size differs from
// the colour image, unreadable images, an object without a class.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "rgbdseg/core/camera.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/dataset_writer.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg {

struct FolderOptions {
  std::string root;
  std::string out;
  std::string classes;  // class map JSON; "" = ROOT/classes.json when present, else one class "object"
  bool force = false;   // write into a non-empty `out`
  int threads = 0;      // 0 = all cores
  DepthReadOptions depth;                // default: 16-bit mm, invalid = 0 or beyond 10 m
  std::optional<Intrinsics> intrinsics;  // the same for every image, when known
};

ConversionSummary convert_folder(const FolderOptions& options, const ProgressCallback& progress = {});

// --- class maps ---

struct ClassMap {
  std::string path;  // where it came from ("" = built in)
  std::vector<std::pair<int64_t, std::string>> categories;  // (id, name), ids 1..N
  std::vector<std::pair<std::string, int64_t>> prefixes;    // longest first
  std::map<std::string, int64_t> colours;                   // "#rrggbb" or decimal value -> id
  int64_t default_id = 0;                                   // 0: no default

  // Category id for a mask file named `name` (file name without extension);
  // Error naming `file` when nothing matches.
  int64_t for_mask(const std::string& name, const std::string& file) const;
  // Category id for an instance-map colour key (colour_key_name()); Error naming `file`.
  int64_t for_colour(const std::string& key, const std::string& file) const;
};

// Reads a class map JSON (format above); Error naming the file and key on bad content.
ClassMap load_class_map(const std::string& path);
// One category, "object", the default for everything.
ClassMap single_class_map(const std::string& name = "object");

// --- mask files (shared with the COTS converter) ---

// An 8-bit, 16-bit single-channel or 8-bit colour mask file as CV_8UC1 with
// 1 where any channel is non-zero (for four channels: alpha > 0 and colour
// non-zero), 0 elsewhere. Error naming the file on anything else.
cv::Mat read_binary_mask(const std::string& path);

struct MapInstance {
  std::string key;  // "#rrggbb" (colour map) or the decimal value (single-channel map)
  cv::Mat mask;     // CV_8UC1, 1 = object
  int64_t area = 0;
};

// Splits an instance map into one mask per distinct colour (3 or 4 channels,
// 8-bit; black and alpha-0 pixels are background) or per distinct non-zero
// value (1 channel, 8 or 16-bit). Instances are sorted by key value. `size`,
// when given, receives the map's size (also for a map without objects).
std::vector<MapInstance> read_instance_map(const std::string& path, cv::Size* size = nullptr);

// Lower-case extension without the dot ("PNG" -> "png").
std::string lower_extension(const std::string& path);

}  // namespace rgbdseg
