#pragma once
// `rgbdseg convert coco-depth`: an existing COCO instances file (as Roboflow's
// "COCO Segmentation" or CVAT's "COCO 1.0" export writes it) plus a folder of
// depth images, written as a canonical dataset. Torch-free.
//
// The annotations are kept as they are: segmentation polygons or RLE, area,
// bbox, iscrowd, ids and any other keys; images keep their ids. One exception:
// a file with annotation id 0 (Roboflow counts from 0) or a repeated id gets
// annotation ids 1..N, with a note, since COCO evaluation (pycocotools, and
// rgbdseg's exact copy) never matches an object whose id is 0. Only what the
// canonical format adds changes: colour re-encoded as PNG under rgb/, depth as
// 16-bit millimetres under depth/, with depth_file and depth_scale.
//
// Images: `file_name` relative to `images`; by default the first of the JSON
// file's folder (Roboflow: train/_annotations.coco.json beside the images),
// ../images/<subset> for annotations/instances_<subset>.json and ../images
// (CVAT) that holds the first image.
// Depth: DepthLookup (annotation_import.h) on the image's original name:
// Roboflow's "extra": {"name": ...} when present, else the file name with
// Roboflow's "_<ext>.rf.<hash>" renaming undone (roboflow_original_stem).
// Categories: as in the file, except Roboflow's workspace superclass (a
// category no annotation uses whose name is every other category's
// supercategory), which would otherwise become a class; it is listed as skipped.
// Skipped with a reason: images without a depth file (with their annotation
// count), image files that are missing, images sharing one depth file (Roboflow
// augmentations: the copies no longer match the depth), annotations without a
// mask (CVAT writes `segmentation: []` for boxes).
// Notes: iscrowd=1 annotations are no training targets and ignored by evaluation;
// CVAT exports every mask drawn with its brush so. `uncrowd` makes them objects.
// Errors (one line naming the file): anything load_coco_ground_truth rejects
// (coco_dataset.h: every segmentation is decoded), an image whose size differs
// from its entry, unreadable images or depth.
#include <optional>
#include <string>

#include "rgbdseg/core/camera.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/annotation_import.h"
#include "rgbdseg/data/dataset_writer.h"

namespace rgbdseg {

struct CocoDepthOptions {
  std::string annotations;  // the COCO instances JSON
  std::string images;       // folder `file_name` is relative to; "" = found as above
  std::string out;
  bool force = false;
  int threads = 0;
  bool uncrowd = false;     // iscrowd=1 -> 0 (CVAT brush masks as objects)
  DepthLookup depth;
  std::optional<Intrinsics> intrinsics;
};

ConversionSummary convert_coco_depth(const CocoDepthOptions& options, const ProgressCallback& progress = {});

}  // namespace rgbdseg
