#pragma once
// Run-length encoded binary masks in COCO's format (pycocotools common/maskApi.h).
//
// Runs go through the mask in column-major (Fortran) order and alternate
// background/foreground, starting with background (the first run may be 0).
// The compressed string form packs 5 bits of each (delta-coded) run per ASCII
// character 48..111, with a continuation bit, exactly as pycocotools writes it.
// Torch-free: masks come in as plain bytes.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rgbdseg {

struct Rle {
  int64_t h = 0;
  int64_t w = 0;
  std::vector<uint32_t> counts;
};

// [x, y, width, height], as COCO stores boxes.
using BBox = std::array<double, 4>;

// Encodes a mask stored column-major (pycocotools' layout): pixel (y, x) at x*h + y.
// Any non-zero byte is foreground.
Rle rle_encode_col_major(const uint8_t* mask, int64_t h, int64_t w);
// Encodes a mask stored row-major (an image, cv::Mat): pixel (y, x) at y*w + x.
Rle rle_encode(const uint8_t* mask, int64_t h, int64_t w);

// Decodes into a row-major (image layout) buffer of h*w bytes, values 0/1.
std::vector<uint8_t> rle_decode(const Rle& rle);
// Decodes into column-major order (pycocotools' layout).
std::vector<uint8_t> rle_decode_col_major(const Rle& rle);

// Compressed COCO "counts" string and back. rle_from_string throws Error on
// characters outside 48..111 or a truncated run.
std::string rle_to_string(const Rle& rle);
Rle rle_from_string(std::string_view counts, int64_t h, int64_t w);

// Throws Error("<what>: ...") unless the runs add up to exactly h*w.
void rle_check(const Rle& rle, const std::string& what);

uint64_t rle_area(const Rle& rle);
// Tight box of the foreground; [0,0,0,0] for an empty mask. Reproduces
// pycocotools' toBbox, including its full-height box when a run wraps a column.
BBox rle_to_bbox(const Rle& rle);

// Union (or intersection) of masks of one size; throws Error on a size mismatch.
Rle rle_merge(const std::vector<Rle>& rles, bool intersect = false);

// Polygon [x0,y0,x1,y1,...] rasterised as pycocotools' frPoly does.
Rle rle_from_polygon(const std::vector<double>& xy, int64_t h, int64_t w);
// Several polygons of one object: their union (pycocotools frPyObjects + merge).
Rle rle_from_polygons(const std::vector<std::vector<double>>& polygons, int64_t h, int64_t w);
Rle rle_from_bbox(const BBox& box, int64_t h, int64_t w);

// IoU of two boxes; with gt_is_crowd the union is the detection's area
// (pycocotools' crowd semantics: how much of the detection lies in the region).
double bbox_iou(const BBox& dt, const BBox& gt, bool gt_is_crowd);

// Mask IoU with pycocotools semantics: 0 when the boxes do not overlap,
// -1 when the boxes overlap but the mask sizes differ, intersection / area(dt)
// for a crowd gt. The boxes are passed in so callers can cache them.
double rle_iou(const Rle& dt, const BBox& dt_box, const Rle& gt, const BBox& gt_box, bool gt_is_crowd);
double rle_iou(const Rle& dt, const Rle& gt, bool gt_is_crowd);

}  // namespace rgbdseg
