#pragma once
// Loading and validating a canonical rgbdseg dataset (COCO instances JSON with
// depth_file, depth_scale and optional intrinsics per image; paths relative to
// the JSON file). Problems that make a sample wrong (missing files, RGB/depth
// size mismatch, masks of the wrong size, unknown categories) are errors
// naming the image; harmless ones (empty masks, boxes poking out of the image)
// are counted warnings, or errors with `strict`.
#include <string>
#include <vector>

#include "rgbdseg/coco/coco_dataset.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg {

struct DatasetOptions {
  bool check_files = true;  // files exist and RGB, depth and JSON sizes agree (reads headers only)
  bool strict = false;      // warnings become errors
  int threads = 0;          // 0 = all cores
};

struct DatasetWarnings {
  int64_t empty_masks = 0;        // annotations with area 0
  int64_t boxes_outside = 0;      // bbox fields extending past the image
  int64_t images_without_objects = 0;
  std::vector<std::string> examples;  // the first few, for the log
};

struct RgbdDataset {
  std::string path;  // the JSON file
  std::string root;  // its directory: paths resolve against it
  CocoGroundTruth coco;
  std::vector<std::vector<size_t>> annotations_of_image;  // [image index] -> indices into coco.annotations
  DatasetWarnings warnings;
  // The command's depth options: the valid range, and an encoding or scale
  // that, when set (not Auto / not 0), overrides each image's own
  // "depth_encoding" / "depth_scale" (command-line flags beat the file).
  DepthReadOptions depth_read;

  std::string rgb_path(size_t image) const;    // root / file_name
  std::string depth_path(size_t image) const;  // root / depth_file
  DepthReadOptions depth_options(size_t image) const;  // how to read image `image`'s depth
};

RgbdDataset load_rgbd_dataset(const std::string& path, const DatasetOptions& options = {});

// An RLE mask as an image: CV_8UC1 of its size, 1 = object.
cv::Mat decode_mask(const Rle& rle);

// A unique output name per image (predict's overlays/NAME.png, compare's
// frames/NAME.png): file_name without extension and without a leading rgb/,
// color/ or colour/ folder (rgb/part2/mugs/3.png -> part2/mugs/3); absolute
// paths and paths leaving the dataset's folder keep the file name only; a
// name taken twice gets "_id<image id>".
std::vector<std::string> image_output_names(const std::vector<CocoImage>& images);

}  // namespace rgbdseg
