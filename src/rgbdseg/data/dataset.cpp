#include "rgbdseg/data/dataset.h"

#include <filesystem>
#include <iterator>
#include <mutex>
#include <set>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/parallel.h"
#include "rgbdseg/io/image_header.h"

namespace rgbdseg {

namespace {
// Paths are relative to the JSON file; an absolute one (images.json that
// `predict` writes) stands as it is.
std::string resolve(const std::string& root, const std::string& path) {
  return !path.empty() && path.front() == '/' ? path : root + "/" + path;
}
}  // namespace

std::string RgbdDataset::rgb_path(size_t image) const { return resolve(root, coco.images[image].file_name); }
std::string RgbdDataset::depth_path(size_t image) const { return resolve(root, coco.images[image].depth_file); }

DepthReadOptions RgbdDataset::depth_options(size_t image) const {
  const CocoImage& img = coco.images[image];
  DepthReadOptions o = depth_read;
  if (o.encoding == DepthEncoding::Auto) o.encoding = img.depth_encoding;
  if (o.scale <= 0) o.scale = img.depth_scale;
  return o;
}

namespace {

std::string image_label(const std::string& path, const CocoImage& img) {
  return path + ": image " + std::to_string(img.id) + " ('" + img.file_name + "')";
}

void check_image_files(const RgbdDataset& ds, size_t i) {
  const CocoImage& img = ds.coco.images[i];
  const std::string label = image_label(ds.path, img);
  const std::string rgb = ds.rgb_path(i), depth = ds.depth_path(i);
  if (!std::filesystem::exists(rgb)) throw Error(label + ": colour file '" + rgb + "' not found");
  if (!std::filesystem::exists(depth)) throw Error(label + ": depth file '" + depth + "' not found");
  ImageSize rgb_size, depth_size;
  try {
    rgb_size = read_image_size(rgb);
    depth_size = read_image_size(depth);
  } catch (const Error& e) {
    throw Error(label + ": " + e.what());
  }
  auto text = [](const ImageSize& s) { return std::to_string(s.width) + "x" + std::to_string(s.height); };
  if (rgb_size.height != img.height || rgb_size.width != img.width) {
    throw Error(label + ": colour image is " + text(rgb_size) + " but the JSON says " + std::to_string(img.width) +
                "x" + std::to_string(img.height));
  }
  if (depth_size.height != rgb_size.height || depth_size.width != rgb_size.width) {
    throw Error(label + ": depth image '" + img.depth_file + "' is " + text(depth_size) + ", colour is " +
                text(rgb_size));
  }
}

}  // namespace

RgbdDataset load_rgbd_dataset(const std::string& path, const DatasetOptions& options) {
  RgbdDataset ds;
  ds.path = path;
  ds.root = std::filesystem::path(path).parent_path().string();
  if (ds.root.empty()) ds.root = ".";
  // The COCO loader already rejects unknown image/category ids, masks whose
  // size differs from their image, malformed RLE and polygons.
  ds.coco = load_coco_ground_truth(path, IouType::Segm, options.threads);

  for (const auto& img : ds.coco.images) {
    if (img.depth_file.empty()) {
      throw Error(image_label(path, img) + ": no 'depth_file' (a canonical RGB-D dataset needs one per image)");
    }
  }
  if (options.check_files) {
    parallel_for(ds.coco.images.size(), options.threads, [&](size_t i) { check_image_files(ds, i); });
  }

  ds.annotations_of_image.resize(ds.coco.images.size());
  DatasetWarnings& w = ds.warnings;
  auto warn = [&](const std::string& message) {
    if (options.strict) throw Error(message + " (strict mode)");
    if (w.examples.size() < 5) w.examples.push_back(message);
  };
  for (size_t a = 0; a < ds.coco.annotations.size(); ++a) {
    const CocoObject& ann = ds.coco.annotations[a];
    const size_t i = ds.coco.image_index.at(ann.image_id);
    ds.annotations_of_image[i].push_back(a);
    const CocoImage& img = ds.coco.images[i];
    const std::string label = path + ": annotation " + std::to_string(ann.id) + " (image " + std::to_string(img.id) + ")";
    if (rle_area(ann.mask) == 0) {
      ++w.empty_masks;
      warn(label + ": empty mask");
    }
    const BBox& b = ann.bbox;
    if (b[0] < 0 || b[1] < 0 || b[0] + b[2] > static_cast<double>(img.width) + 1e-6 ||
        b[1] + b[3] > static_cast<double>(img.height) + 1e-6) {
      ++w.boxes_outside;
      warn(label + ": bbox extends past the image");
    }
  }
  for (const auto& anns : ds.annotations_of_image) w.images_without_objects += anns.empty();
  return ds;
}

std::vector<std::string> image_output_names(const std::vector<CocoImage>& images) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  std::set<std::string> taken;
  for (const CocoImage& img : images) {
    fs::path rel = fs::path(img.file_name).lexically_normal();
    const bool outside = rel.is_absolute() || (rel.begin() != rel.end() && *rel.begin() == "..");
    if (outside) rel = rel.filename();
    if (std::distance(rel.begin(), rel.end()) > 1) {
      const std::string top = rel.begin()->string();
      if (top == "rgb" || top == "color" || top == "colour") rel = rel.lexically_relative(top);
    }
    std::string name = rel.replace_extension().generic_string();
    if (name.empty()) name = std::to_string(img.id);
    if (!taken.insert(name).second) {  // a.png and a.jpg: the id makes it unique
      const std::string base = name + "_id" + std::to_string(img.id);
      name = base;
      for (int k = 2; !taken.insert(name).second; ++k) name = base + "_" + std::to_string(k);
    }
    names.push_back(name);
  }
  return names;
}

cv::Mat decode_mask(const Rle& rle) {
  const std::vector<uint8_t> bytes = rle_decode(rle);
  cv::Mat m(static_cast<int>(rle.h), static_cast<int>(rle.w), CV_8UC1);
  std::copy(bytes.begin(), bytes.end(), m.data);
  return m;
}

}  // namespace rgbdseg
