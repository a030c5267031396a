#pragma once
// NYU Depth V2 labelled set -> canonical rgbdseg dataset.
//
// Input: the official `nyu_depth_v2_labeled.mat` (MATLAB v7.3 = HDF5; HDF5 sees
// MATLAB's axes reversed: images (N,3,W,H) uint8, depths and rawDepths (N,W,H)
// float32 metres, labels (N,W,H) uint16 with 0 = unlabelled and 1..894 raw
// classes, instances (N,W,H) uint8 = index within a raw class), `splits.mat`
// (trainNdxs, testNdxs: 1-based frame indices) and the class mappings
// `classMapping40.mat` (className: NYU40 names, mapClass: raw -> NYU40) and
// `class13Mapping.mat` (classMapping13.labels13: NYU40 -> NYU13, .classNames).
//
// One object = one (raw label, instance) pair with label > 0 (NYU toolbox
// get_instance_masks). Its category is the raw label's class in the chosen class
// set; pairs whose class is not in the set (stuff, or a label mapped to 0) and
// pairs smaller than the minimum area are not annotated, and the summary says
// how many of each were dropped.
//
// Output: DIR/rgb/<split>/NNNNNN.png, DIR/depth/<split>/NNNNNN.png (16-bit mm),
// DIR/annotations.json, where NNNNNN is the 1-based frame index, as in the
// official split files.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rgbdseg/core/camera.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/dataset_writer.h"

namespace rgbdseg {

// The colour camera of the NYU Depth V2 Kinect (NYU toolbox camera_params.m:
// fx_rgb, fy_rgb, cx_rgb, cy_rgb), recorded with every converted image.
// Note: the toolbox uses these with 1-based pixel coordinates (meshgrid(1:W, 1:H)).
Intrinsics nyuv2_color_intrinsics();

enum class NyuClassSet {
  Nyu40Things,  // NYU40 minus wall, floor, ceiling: 37 thing classes (the usual instance protocol)
  Nyu40,        // all 40 NYU40 classes
  Nyu13,        // the 13 classes of class13Mapping.mat
};
enum class NyuSplit { Train, Test, All };
enum class NyuDepthField { Filled, Raw };  // `depths` (hole-filled) or `rawDepths`

// "nyu40-things" | "nyu40" | "nyu13", "train" | "test" | "all", "filled" | "raw";
// anything else throws Error listing the accepted names.
NyuClassSet parse_nyu_class_set(const std::string& name);
NyuSplit parse_nyu_split(const std::string& name);
NyuDepthField parse_nyu_depth_field(const std::string& name);
const char* nyu_class_set_name(NyuClassSet set);
const char* nyu_split_name(NyuSplit split);
const char* nyu_depth_field_name(NyuDepthField field);

// The official class mappings.
struct NyuClassMapping {
  std::vector<std::string> names40;  // NYU40 names; index = id - 1
  std::vector<int> label_to_40;      // raw label - 1 -> NYU40 id (0 = no class)
  std::vector<std::string> names13;  // NYU13 names; index = id - 1 (empty when not loaded)
  std::vector<int> nyu40_to_13;      // NYU40 id - 1 -> NYU13 id (0 = no class)
  std::string mapping40_path;        // where names40 came from, for messages
};

// Reads classMapping40.mat and, when `mapping13_path` is not empty, class13Mapping.mat.
// Throws Error naming the file and variable when one is missing or malformed.
NyuClassMapping load_nyu_class_mapping(const std::string& mapping40_path, const std::string& mapping13_path);

// The categories of a class set and each raw label's category in it.
struct NyuCategories {
  std::vector<std::pair<int64_t, std::string>> categories;  // (id, name)
  std::vector<int64_t> label_to_category;                   // raw label - 1 -> category id (0 = not annotated)
};

// NYU40 ids are kept as category ids (nyu40-things: 37 ids of 1..40, without
// wall, floor and ceiling, found by name in className); NYU13 ids are 1..13.
NyuCategories nyu_categories(const NyuClassMapping& mapping, NyuClassSet set);

// trainNdxs and testNdxs of splits.mat (1-based frame indices, file order).
struct NyuSplits {
  std::vector<int64_t> train, test;
};
// Throws Error when a list is missing, holds non-integers, indices < 1,
// duplicates, or a frame in both lists.
NyuSplits read_nyu_splits(const std::string& splits_path);

struct NyuConvertOptions {
  std::string mat_path;        // nyu_depth_v2_labeled.mat
  std::string splits_path;     // splits.mat
  std::string mapping40_path;  // classMapping40.mat
  std::string mapping13_path;  // class13Mapping.mat (needed for nyu13 only)
  std::string out_dir;
  NyuSplit split = NyuSplit::All;  // all: both lists, stems keep their split prefix
  NyuClassSet classes = NyuClassSet::Nyu40Things;
  NyuDepthField depth = NyuDepthField::Filled;
  double min_area_frac = 0.0025;  // instances below this fraction of the image are dropped (0.25% = 768 px at 640x480)
  bool force = false;             // write into a non-empty out_dir
  int threads = 0;                // 0 = all cores
};

// Converts the selected frames (one at a time from the HDF5 file, hyperslab
// reads) and returns the summary. progress(done, total) may be empty; returning
// false cancels (Error). Throws Error naming the file (and frame) on bad input:
// a missing dataset, inconsistent shapes, a label beyond mapClass, a split
// index beyond the file's frame count.
ConversionSummary convert_nyuv2(const NyuConvertOptions& options, const ProgressCallback& progress = {});

}  // namespace rgbdseg
