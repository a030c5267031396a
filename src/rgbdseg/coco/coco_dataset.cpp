#include "rgbdseg/coco/coco_dataset.h"

#include <simdjson.h>

#include <cmath>
#include <mutex>
#include <string_view>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/parallel.h"

namespace rgbdseg {

namespace dom = simdjson::dom;

namespace {

// Where we are in a file, for error messages: "gt.json: annotations[12] (id 7)".
struct Where {
  const std::string& path;
  std::string entry;
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path + (entry.empty() ? "" : ": " + entry) + ": " + what);
  }
};

const char* type_name(dom::element_type t) {
  switch (t) {
    case dom::element_type::ARRAY: return "an array";
    case dom::element_type::OBJECT: return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64: return "an integer";
    case dom::element_type::DOUBLE: return "a number";
    case dom::element_type::STRING: return "a string";
    case dom::element_type::BOOL: return "a boolean";
    case dom::element_type::NULL_VALUE: return "null";
  }
  return "unknown";
}

dom::element require(const dom::object& obj, std::string_view key, const Where& where) {
  dom::element e;
  if (obj[key].get(e) != simdjson::SUCCESS) where.fail("missing key '" + std::string(key) + "'");
  return e;
}

double as_number(const dom::element& e, std::string_view key, const Where& where) {
  double v;
  if (e.get_double().get(v) != simdjson::SUCCESS) {
    where.fail("'" + std::string(key) + "' must be a number, got " + type_name(e.type()));
  }
  return v;
}

// COCO ids are integers; integral floats (1.0) are accepted as some writers emit them.
int64_t as_id(const dom::element& e, std::string_view key, const Where& where) {
  int64_t i;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return i;
  double d;
  if (e.get_double().get(d) == simdjson::SUCCESS && std::floor(d) == d && std::fabs(d) < 9e15) {
    return static_cast<int64_t>(d);
  }
  where.fail("'" + std::string(key) + "' must be an integer, got " + type_name(e.type()));
}

dom::array as_array(const dom::element& e, std::string_view key, const Where& where) {
  dom::array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) {
    where.fail("'" + std::string(key) + "' must be an array, got " + type_name(e.type()));
  }
  return a;
}

dom::object as_object(const dom::element& e, const std::string& what, const Where& where) {
  dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) where.fail(what + " must be an object, got " + type_name(e.type()));
  return o;
}

BBox read_bbox(const dom::element& e, const Where& where) {
  dom::array a = as_array(e, "bbox", where);
  if (a.size() != 4) where.fail("'bbox' must have 4 numbers [x, y, width, height], got " + std::to_string(a.size()));
  BBox box{};
  size_t i = 0;
  for (dom::element v : a) box[i++] = as_number(v, "bbox", where);
  return box;
}

std::vector<double> read_polygon(const dom::element& e, const Where& where) {
  dom::array a = as_array(e, "segmentation", where);
  std::vector<double> xy;
  xy.reserve(a.size());
  for (dom::element v : a) xy.push_back(as_number(v, "segmentation polygon", where));
  if (xy.size() % 2 != 0 || xy.size() < 6) {
    where.fail("a segmentation polygon needs an even number (>= 6) of coordinates, got " + std::to_string(xy.size()));
  }
  return xy;
}

// Decodes `segmentation` in any COCO form into an RLE for an image of h x w.
Rle read_segmentation(const dom::element& e, int64_t h, int64_t w, const Where& where) {
  if (e.type() == dom::element_type::ARRAY) {
    std::vector<std::vector<double>> polygons;
    for (dom::element p : as_array(e, "segmentation", where)) polygons.push_back(read_polygon(p, where));
    try {
      return rle_from_polygons(polygons, h, w);
    } catch (const Error& err) {
      where.fail(err.what());
    }
  }
  dom::object seg = as_object(e, "'segmentation'", where);
  dom::array size = as_array(require(seg, "size", where), "segmentation.size", where);
  if (size.size() != 2) where.fail("'segmentation.size' must be [height, width]");
  const int64_t rh = as_id(size.at(0).value_unsafe(), "segmentation.size", where);
  const int64_t rw = as_id(size.at(1).value_unsafe(), "segmentation.size", where);
  if (rh != h || rw != w) {
    where.fail("segmentation size " + std::to_string(rh) + "x" + std::to_string(rw) + " does not match image size " +
               std::to_string(h) + "x" + std::to_string(w));
  }
  dom::element counts = require(seg, "counts", where);
  Rle rle;
  if (counts.type() == dom::element_type::STRING) {
    try {
      rle = rle_from_string(std::string_view(counts.get_string().value_unsafe()), rh, rw);
    } catch (const Error& err) {
      where.fail(err.what());
    }
  } else if (counts.type() == dom::element_type::ARRAY) {
    rle.h = rh;
    rle.w = rw;
    for (dom::element c : as_array(counts, "segmentation.counts", where)) {
      int64_t v;
      if (c.get_int64().get(v) != simdjson::SUCCESS || v < 0 || v > static_cast<int64_t>(UINT32_MAX)) {
        where.fail("'segmentation.counts' must hold non-negative integers");
      }
      rle.counts.push_back(static_cast<uint32_t>(v));
    }
  } else {
    where.fail(std::string("'segmentation.counts' must be a string or a list of integers, got ") +
               type_name(counts.type()));
  }
  try {
    rle_check(rle, "segmentation");
  } catch (const Error& err) {
    where.fail(err.what());
  }
  return rle;
}

// A parsed JSON file; the DOM points into `parser` and `text`.
struct JsonFile {
  std::string path;
  dom::parser parser;
  simdjson::padded_string text;
  dom::element root;
};

void parse_file(JsonFile& f) {
  if (simdjson::padded_string::load(f.path).get(f.text) != simdjson::SUCCESS) {
    throw Error(f.path + ": cannot read file");
  }
  const auto err = f.parser.parse(f.text).get(f.root);
  if (err != simdjson::SUCCESS) throw Error(f.path + ": invalid JSON (" + simdjson::error_message(err) + ")");
}

// Converts entries[i] -> out[i] on several threads. If any fail, the error of
// the first failing entry in file order is thrown, whatever the thread timing.
template <typename T, typename Convert>
void convert_parallel(const std::vector<dom::element>& entries, std::vector<T>& out, int threads, Convert convert) {
  out.resize(entries.size());
  std::mutex mutex;
  size_t first_bad = entries.size();
  std::string first_error;
  parallel_for(entries.size(), threads, [&](size_t i) {
    try {
      out[i] = convert(i, entries[i]);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex);
      if (i < first_bad) {
        first_bad = i;
        first_error = e.what();
      }
    }
  });
  if (first_bad < entries.size()) throw Error(first_error);
}

CocoGroundTruth convert_ground_truth(const JsonFile& f, IouType iou_type, int threads) {
  const std::string& path = f.path;
  CocoGroundTruth gt;
  gt.path = path;
  Where file{path, ""};
  dom::object top = as_object(f.root, "the top level", file);

  for (dom::element e : as_array(require(top, "images", file), "images", file)) {
    Where where{path, "images[" + std::to_string(gt.images.size()) + "]"};
    dom::object o = as_object(e, "an image entry", where);
    CocoImage img;
    img.id = as_id(require(o, "id", where), "id", where);
    where.entry += " (id " + std::to_string(img.id) + ")";
    img.height = as_id(require(o, "height", where), "height", where);
    img.width = as_id(require(o, "width", where), "width", where);
    if (img.height <= 0 || img.width <= 0) where.fail("image size must be positive");
    std::string_view name;
    dom::element fn;
    if (o["file_name"].get(fn) == simdjson::SUCCESS && fn.get_string().get(name) == simdjson::SUCCESS) {
      img.file_name = std::string(name);
    }
    dom::element extra;
    if (o["depth_file"].get(extra) == simdjson::SUCCESS) {
      if (extra.get_string().get(name) != simdjson::SUCCESS) where.fail("'depth_file' must be a string");
      img.depth_file = std::string(name);
    }
    if (o["depth_scale"].get(extra) == simdjson::SUCCESS) {
      img.depth_scale = as_number(extra, "depth_scale", where);
      if (!(img.depth_scale > 0)) where.fail("'depth_scale' must be positive (metres per stored unit)");
    }
    if (o["depth_encoding"].get(extra) == simdjson::SUCCESS) {
      if (extra.get_string().get(name) != simdjson::SUCCESS) where.fail("'depth_encoding' must be a string");
      try {
        img.depth_encoding = parse_depth_encoding(std::string(name));
      } catch (const Error& e) {
        where.fail(std::string("'depth_encoding': ") + e.what());
      }
    }
    if (o["intrinsics"].get(extra) == simdjson::SUCCESS) {
      dom::object k = as_object(extra, "'intrinsics'", where);
      img.intrinsics = Intrinsics{as_number(require(k, "fx", where), "intrinsics.fx", where),
                                  as_number(require(k, "fy", where), "intrinsics.fy", where),
                                  as_number(require(k, "cx", where), "intrinsics.cx", where),
                                  as_number(require(k, "cy", where), "intrinsics.cy", where)};
    }
    if (!gt.image_index.emplace(img.id, gt.images.size()).second) where.fail("duplicate image id");
    gt.images.push_back(std::move(img));
  }

  for (dom::element e : as_array(require(top, "categories", file), "categories", file)) {
    Where where{path, "categories[" + std::to_string(gt.categories.size()) + "]"};
    dom::object o = as_object(e, "a category entry", where);
    CocoCategory cat;
    cat.id = as_id(require(o, "id", where), "id", where);
    std::string_view name;
    dom::element n;
    if (o["name"].get(n) == simdjson::SUCCESS && n.get_string().get(name) == simdjson::SUCCESS) {
      cat.name = std::string(name);
    } else {
      cat.name = std::to_string(cat.id);
    }
    if (!gt.category_index.emplace(cat.id, gt.categories.size()).second) {
      where.fail("duplicate category id " + std::to_string(cat.id));
    }
    gt.categories.push_back(std::move(cat));
  }

  std::vector<dom::element> entries;
  for (dom::element e : as_array(require(top, "annotations", file), "annotations", file)) entries.push_back(e);
  convert_parallel(entries, gt.annotations, threads, [&](size_t index, const dom::element& e) {
    Where where{path, "annotations[" + std::to_string(index) + "]"};
    dom::object o = as_object(e, "an annotation", where);
    CocoObject ann;
    ann.id = as_id(require(o, "id", where), "id", where);
    ann.image_id = as_id(require(o, "image_id", where), "image_id", where);
    where.entry += " (id " + std::to_string(ann.id) + ", image " + std::to_string(ann.image_id) + ")";
    ann.category_id = as_id(require(o, "category_id", where), "category_id", where);
    const auto img = gt.image_index.find(ann.image_id);
    if (img == gt.image_index.end()) where.fail("image_id is not in 'images'");
    if (gt.category_index.find(ann.category_id) == gt.category_index.end()) {
      where.fail("category_id " + std::to_string(ann.category_id) + " is not in 'categories'");
    }
    dom::element crowd;
    if (o["iscrowd"].get(crowd) == simdjson::SUCCESS) {
      bool b;
      ann.iscrowd = crowd.get_bool().get(b) == simdjson::SUCCESS ? b : as_id(crowd, "iscrowd", where) != 0;
    }
    const CocoImage& image = gt.images[img->second];
    if (iou_type == IouType::Segm) {
      ann.mask = read_segmentation(require(o, "segmentation", where), image.height, image.width, where);
    }
    dom::element bbox;
    if (o["bbox"].get(bbox) == simdjson::SUCCESS) {
      ann.bbox = read_bbox(bbox, where);
    } else if (iou_type == IouType::Segm) {
      ann.bbox = rle_to_bbox(ann.mask);
    } else {
      where.fail("missing key 'bbox' (needed for bbox evaluation)");
    }
    dom::element area;
    if (o["area"].get(area) == simdjson::SUCCESS) {
      ann.area = as_number(area, "area", where);
    } else {
      ann.area = iou_type == IouType::Segm ? static_cast<double>(rle_area(ann.mask)) : ann.bbox[2] * ann.bbox[3];
    }
    return ann;
  });
  // pycocotools keys annotations by id: a duplicate would silently replace another.
  std::unordered_map<int64_t, size_t> seen;
  for (size_t i = 0; i < gt.annotations.size(); ++i) {
    const auto [it, fresh] = seen.emplace(gt.annotations[i].id, i);
    if (!fresh) {
      throw Error(path + ": annotations[" + std::to_string(i) + "]: duplicate annotation id " +
                  std::to_string(gt.annotations[i].id) + " (first at annotations[" + std::to_string(it->second) + "])");
    }
  }
  return gt;
}

CocoResults convert_results(const JsonFile& f, const CocoGroundTruth& gt, IouType iou_type,
                            const ResultsOptions& options, int threads) {
  const std::string& path = f.path;
  Where file{path, ""};
  dom::array array;
  if (f.root.get_array().get(array) != simdjson::SUCCESS) {
    file.fail(std::string("results must be a list of detections, got ") + type_name(f.root.type()));
  }
  std::vector<dom::element> entries;
  entries.reserve(array.size());
  for (dom::element e : array) entries.push_back(e);
  // loadRes decides box-vs-mask results from the first entry alone.
  bool box_results = false;
  if (!entries.empty()) {
    dom::object first;
    dom::element box;
    if (entries[0].get_object().get(first) == simdjson::SUCCESS && first["bbox"].get(box) == simdjson::SUCCESS) {
      dom::array a;
      box_results = !(box.get_array().get(a) == simdjson::SUCCESS && a.size() == 0);
    }
  }
  std::vector<CocoObject> all;
  std::vector<uint8_t> unknown_category(entries.size(), 0);
  convert_parallel(entries, all, threads, [&](size_t index, const dom::element& e) {
    Where where{path, "result[" + std::to_string(index) + "]"};
    dom::object o = as_object(e, "a result", where);
    CocoObject det;
    det.id = static_cast<int64_t>(index + 1);  // 1-based position, as loadRes assigns
    det.image_id = as_id(require(o, "image_id", where), "image_id", where);
    det.category_id = as_id(require(o, "category_id", where), "category_id", where);
    where.entry += " (image " + std::to_string(det.image_id) + ", category " + std::to_string(det.category_id) + ")";
    det.score = as_number(require(o, "score", where), "score", where);
    if (std::isnan(det.score)) where.fail("score is NaN");
    const auto img = gt.image_index.find(det.image_id);
    if (img == gt.image_index.end()) where.fail("image_id is not in the ground truth '" + gt.path + "'");
    if (gt.category_index.find(det.category_id) == gt.category_index.end()) {
      if (options.drop_unknown_categories) {
        unknown_category[index] = 1;
        return det;
      }
      where.fail(
          "category_id is not in the ground truth's categories (pass --ignore-unknown-categories to drop such "
          "results as pycocotools does)");
    }
    const CocoImage& image = gt.images[img->second];
    dom::element seg, box;
    const bool has_seg = o["segmentation"].get(seg) == simdjson::SUCCESS;
    const bool has_box = o["bbox"].get(box) == simdjson::SUCCESS;
    if (box_results) {
      if (!has_box) where.fail("missing key 'bbox' (the first result has one, so all results are box results)");
      det.bbox = read_bbox(box, where);
      det.area = det.bbox[2] * det.bbox[3];
      if (iou_type == IouType::Segm) {
        if (has_seg) {
          det.mask = read_segmentation(seg, image.height, image.width, where);
        } else {
          const double x1 = det.bbox[0], y1 = det.bbox[1], x2 = x1 + det.bbox[2], y2 = y1 + det.bbox[3];
          try {
            det.mask = rle_from_polygon({x1, y1, x1, y2, x2, y2, x2, y1}, image.height, image.width);
          } catch (const Error& err) {
            where.fail(err.what());
          }
        }
      }
    } else {
      if (!has_seg) where.fail("missing key 'segmentation' (and the first result has no 'bbox')");
      det.mask = read_segmentation(seg, image.height, image.width, where);
      det.area = static_cast<double>(rle_area(det.mask));
      if (has_box) {
        det.bbox = read_bbox(box, where);
      } else if (iou_type == IouType::Bbox) {
        det.bbox = rle_to_bbox(det.mask);  // loadRes' toBbox; segm evaluation never reads it
      }
      if (iou_type == IouType::Bbox) det.mask = Rle{};  // not needed any more
    }
    return det;
  });
  CocoResults out;
  out.detections.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    if (unknown_category[i]) {
      ++out.dropped_unknown_category;
    } else {
      out.detections.push_back(std::move(all[i]));
    }
  }
  return out;
}

}  // namespace

CocoGroundTruth load_coco_ground_truth(const std::string& path, IouType iou_type, int threads) {
  JsonFile f;
  f.path = path;
  parse_file(f);
  return convert_ground_truth(f, iou_type, threads);
}

CocoResults load_coco_results(const std::string& path, const CocoGroundTruth& gt, IouType iou_type,
                              const ResultsOptions& options, int threads) {
  JsonFile f;
  f.path = path;
  parse_file(f);
  return convert_results(f, gt, iou_type, options, threads);
}

CocoEvalInputs load_coco_gt_and_results(const std::string& gt_path, const std::string& results_path, IouType iou_type,
                                        const ResultsOptions& options, int threads) {
  // Parse both files at once (parsing is memory-bound and single-threaded per file).
  JsonFile gt_file, dt_file;
  gt_file.path = gt_path;
  dt_file.path = results_path;
  parallel_for(2, threads, [&](size_t i) { parse_file(i == 0 ? gt_file : dt_file); });
  CocoEvalInputs inputs;
  inputs.gt = convert_ground_truth(gt_file, iou_type, threads);
  inputs.results = convert_results(dt_file, inputs.gt, iou_type, options, threads);
  return inputs;
}

std::string zero_id_warning(const CocoGroundTruth& gt) {
  for (const auto& a : gt.annotations) {
    if (a.id == 0) {
      return gt.path + ": an annotation has id 0, and COCO evaluation (pycocotools, which rgbdseg reproduces) never "
                       "matches an object with id 0; renumber the annotations from 1";
    }
  }
  return "";
}

}  // namespace rgbdseg
