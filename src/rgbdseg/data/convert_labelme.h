#pragma once
// `rgbdseg convert labelme`: a folder of LabelMe JSON files (one per image, as
// the LabelMe tool saves them) plus depth images found by name, written as a
// canonical dataset (DatasetWriter). Torch-free.
//
// Read from each *.json under ROOT (sub-folders included; files without a
// "shapes" list are not LabelMe files and are listed as skipped):
//   imagePath   the colour image, relative to the JSON file's folder (a path
//               that does not exist there, e.g. C:\Users\..., falls back to its
//               file name beside the JSON); when no such file exists, imageData
//               (base64 of the image file, which LabelMe re-encodes when it had
//               to turn a photo by its EXIF orientation) is used instead
//   imageHeight, imageWidth   checked against the image
//   shapes[]    label, points, shape_type, group_id, mask:
//     polygon    >= 3 points                    rasterised as pycocotools does
//     rectangle  2 opposite corners             (a COCO polygon of 4 corners)
//     circle     centre, then a point on the circle (a polygon, as labelme2coco
//                                              draws it)
//     mask       2 corners (x1,y1),(x2,y2), both inside the mask, and `mask`, a
//                base64 PNG of (y2-y1+1) x (x2-x1+1) pixels, non-zero = object
//     line, linestrip, point, points: not regions; skipped, with a reason
// One instance per (label, group_id): shapes sharing a group_id and label are
// one object (e.g. an object cut in two by an occluder); a shape without a
// group_id is an object of its own.
// Overlaps (Overlap::Paint, the default): shapes are painted in file order and
// a later shape covers earlier ones, as LabelMe's own label images (labelme2voc)
// do, so every pixel belongs to at most one object. Overlap::Union keeps each
// object's full shapes (labelme2coco), so masks may overlap.
// Holes: a shape labelled "_background_" or "__ignore__" (LabelMe's reserved
// labels) cuts its area out of every shape drawn before it, as in labelme2voc.
// Categories: the labels in sorted (byte, i.e. Unicode code point) order, ids
// 1..N, unless a category list fixes them (annotation_import.h,
// load_category_list); then a label missing from it is an error.
// Depth: DepthLookup (annotation_import.h) on the image's path relative to ROOT.
// Skipped with a reason: JSON files that are not LabelMe files, images without
// a depth file, image files in ROOT that no JSON annotates, shapes that are not
// regions, objects covered entirely by later shapes.
// Errors (one line naming the file): malformed JSON or shapes (too few points,
// non-numeric coordinates, unknown shape_type, a bad mask), an image that
// cannot be found or read, sizes that disagree.
#include <optional>
#include <string>

#include "rgbdseg/core/camera.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/annotation_import.h"
#include "rgbdseg/data/dataset_writer.h"

namespace rgbdseg {

struct LabelmeOptions {
  std::string root;        // folder of LabelMe JSON files
  std::string out;
  bool force = false;
  int threads = 0;         // 0 = all cores
  std::string categories;  // load_category_list file; "" = sorted labels
  enum class Overlap { Paint, Union } overlap = Overlap::Paint;
  DepthLookup depth;
  std::optional<Intrinsics> intrinsics;
};

ConversionSummary convert_labelme(const LabelmeOptions& options, const ProgressCallback& progress = {});

}  // namespace rgbdseg
