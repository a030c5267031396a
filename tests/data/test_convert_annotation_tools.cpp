// Tests for the annotation-tool converters (data/convert_labelme.h,
// convert_coco_depth.h, convert_cvat_masks.h) on small exports written here in
// each tool's documented format: LabelMe JSON files, Roboflow / CVAT COCO files
// and CVAT "Segmentation mask 1.1" folders. Expected masks are composed from
// the shapes independently of the converters (set operations on rasterised
// shapes, or pixel counts of the drawn maps).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/self_eval.h"
#include "error_message.h"
#include "rgbdseg/coco/coco_dataset.h"
#include "rgbdseg/coco/rle.h"
#include "rgbdseg/core/base64.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/data/convert_coco_depth.h"
#include "rgbdseg/data/convert_cvat_masks.h"
#include "rgbdseg/data/convert_labelme.h"
#include "rgbdseg/data/dataset.h"
#include "image_files.h"
#include "temp_dir.h"

namespace rgbdseg {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using ::testing::Contains;
using ::testing::HasSubstr;
using testing::ScopedTempDir;

constexpr int kW = 40, kH = 30;

using testing::write_image;

cv::Mat test_rgb(int seed) {
  cv::Mat m(kH, kW, CV_8UC3);
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 6, y * 8, seed * 40);
  return m;
}

// 16-bit millimetres, 1 m + x mm.
void write_depth(const std::string& path) {
  cv::Mat d(kH, kW, CV_16UC1);
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) d.at<uint16_t>(y, x) = static_cast<uint16_t>(1000 + x);
  write_image(path, d);
}

// A polygon as pycocotools rasterises it (the rasteriser is pinned to pycocotools in test_rle.cpp).
cv::Mat poly(std::vector<double> xy) { return decode_mask(rle_from_polygon(xy, kH, kW)); }

cv::Mat and_not(const cv::Mat& a, const cv::Mat& b) { return a & ~b & 1; }

int64_t count(const cv::Mat& m) { return cv::countNonZero(m); }

// Masks of `file_name`'s annotations by category name, in file order.
std::multimap<std::string, cv::Mat> masks_of(const CocoGroundTruth& gt, const std::string& file_name) {
  std::map<int64_t, std::string> names;
  for (const auto& c : gt.categories) names[c.id] = c.name;
  std::multimap<std::string, cv::Mat> out;
  for (const auto& a : gt.annotations) {
    if (gt.images[gt.image_index.at(a.image_id)].file_name == file_name) out.emplace(names.at(a.category_id), decode_mask(a.mask));
  }
  return out;
}

bool same(const cv::Mat& a, const cv::Mat& b) { return a.size() == b.size() && cv::countNonZero((a != 0) != (b != 0)) == 0; }

// (id, name) of the dataset's categories, in file order.
std::vector<std::pair<int64_t, std::string>> category_list(const CocoGroundTruth& gt) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& c : gt.categories) out.emplace_back(c.id, c.name);
  return out;
}

std::vector<std::string> skipped_items(const ConversionSummary& s) {
  std::vector<std::string> out;
  for (const auto& [item, reason] : s.skipped) out.push_back(item + " | " + reason);
  return out;
}

// ---------------------------------------------------------------- LabelMe

Json points(std::vector<std::pair<double, double>> pts) {
  Json a = Json::array();
  for (const auto& [x, y] : pts) a.push_back({x, y});
  return a;
}

Json shape(const std::string& label, const std::string& type, Json pts, Json group = nullptr) {
  return {{"label", label}, {"points", std::move(pts)}, {"group_id", std::move(group)}, {"description", ""},
          {"shape_type", type}, {"flags", Json::object()}, {"mask", nullptr}};
}

Json labelme_file(const std::string& image_path, Json shapes, Json image_data = nullptr) {
  return {{"version", "5.4.1"}, {"flags", Json::object()},  {"shapes", std::move(shapes)}, {"imagePath", image_path},
          {"imageData", std::move(image_data)}, {"imageHeight", kH}, {"imageWidth", kW}};
}

std::string png_base64(const cv::Mat& m) {
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(cv::imencode(".png", m, bytes));
  return base64_encode(bytes.data(), bytes.size());
}

// The bag's mask shape: an 8x5 box at (30,0) with a two-pixel hole.
cv::Mat bag_box() {
  cv::Mat box(5, 8, CV_8UC1, cv::Scalar(1));  // LabelMe writes 0/1
  box.at<uint8_t>(2, 3) = 0;
  box.at<uint8_t>(2, 4) = 0;
  return box;
}

struct LabelmeScene {
  ScopedTempDir tmp;
  std::string root = tmp.file("labelme"), depth = tmp.file("depth"), out = tmp.file("out");
  cv::Mat p0, rect1, hole2, p3, p4, p6, bag;
  LabelmeScene() {
    p0 = poly({2, 2, 12, 2, 12, 12, 2, 12});
    rect1 = poly({20, 5, 30, 5, 30, 15, 20, 15});
    hole2 = poly({23, 8, 27, 8, 27, 12, 23, 12});
    p3 = poly({2, 18, 8, 18, 8, 26, 2, 26});
    p4 = poly({10, 18, 16, 18, 16, 26, 10, 26});
    p6 = poly({8, 8, 16, 8, 16, 16, 8, 16});
    bag = cv::Mat::zeros(kH, kW, CV_8UC1);
    bag_box().copyTo(bag(cv::Rect(30, 0, 8, 5)));
    Json shapes = Json::array();
    shapes.push_back(shape("mug", "polygon", points({{2, 2}, {12, 2}, {12, 12}, {2, 12}})));
    shapes.push_back(shape("book", "rectangle", points({{30, 15}, {20, 5}})));  // corners in any order
    shapes.push_back(shape("_background_", "polygon", points({{23, 8}, {27, 8}, {27, 12}, {23, 12}})));
    shapes.push_back(shape("mug", "polygon", points({{2, 18}, {8, 18}, {8, 26}, {2, 26}}), 7));
    shapes.push_back(shape("mug", "polygon", points({{10, 18}, {16, 18}, {16, 26}, {10, 26}}), 7));
    shapes.push_back(shape("ball", "circle", points({{33, 23}, {33, 27}})));
    shapes.push_back(shape("mug", "polygon", points({{8, 8}, {16, 8}, {16, 16}, {8, 16}})));
    shapes.push_back(shape("edge", "line", points({{0, 0}, {5, 5}})));
    Json bag_shape = shape("bag", "mask", points({{30, 0}, {37, 4}}));
    bag_shape["mask"] = png_base64(bag_box());
    shapes.push_back(bag_shape);
    // Names with spaces and Unicode; the JSON beside its image.
    write_image(root + "/tasse à café 1.png", test_rgb(1));
    tmp.write("labelme/tasse à café 1.json", labelme_file("tasse à café 1.png", shapes).dump(2));
    write_depth(depth + "/tasse à café 1_depth.png");
    // The image only embedded (imagePath names a file that is not there), no shapes: an image without objects.
    std::vector<uint8_t> png;
    cv::imencode(".png", test_rgb(2), png);
    tmp.write("labelme/sub dir/plain.json",
              labelme_file("plain.jpg", Json::array(), base64_encode(png.data(), png.size())).dump());
    write_depth(depth + "/plain_depth.png");  // the flat fallback: no depth/sub dir/
    // No depth: skipped. A JSON that is not LabelMe's and an image nobody annotated: listed.
    write_image(root + "/nodepth.png", test_rgb(3));
    tmp.write("labelme/nodepth.json",
              labelme_file("nodepth.png", Json::array({shape("mug", "polygon", points({{1, 1}, {5, 1}, {5, 5}}))})).dump());
    tmp.write("labelme/settings.json", R"({"theme": "dark"})");
    write_image(root + "/unlabelled.png", test_rgb(4));
  }
  LabelmeOptions options() const {
    LabelmeOptions o;
    o.root = root;
    o.out = out;
    o.threads = 2;
    o.depth.dir = depth;
    o.depth.suffix = "_depth";
    return o;
  }
};

TEST(ConvertLabelme, ShapesGroupsHolesAndPaintOrder) {
  LabelmeScene s;
  const ConversionSummary summary = convert_labelme(s.options());
  EXPECT_EQ(summary.images, 2);
  EXPECT_EQ(summary.instances, 6);
  const CocoGroundTruth gt = load_coco_ground_truth(summary.annotations_path, IouType::Segm);
  // Sorted labels; the line's label and the reserved ones are no categories.
  EXPECT_EQ(category_list(gt), (std::vector<std::pair<int64_t, std::string>>{{1, "bag"}, {2, "ball"}, {3, "book"}, {4, "mug"}}));
  ASSERT_EQ(gt.images.size(), 2u);
  EXPECT_EQ(gt.images[0].file_name, "rgb/sub dir/plain.png");
  EXPECT_EQ(gt.images[1].file_name, "rgb/tasse à café 1.png");

  const auto m = masks_of(gt, "rgb/tasse à café 1.png");
  ASSERT_EQ(m.count("mug"), 3u);
  auto mug = m.equal_range("mug");
  const cv::Mat first = (mug.first++)->second, grouped = (mug.first++)->second, last = mug.first->second;
  EXPECT_TRUE(same(first, and_not(s.p0, s.p6))) << "the later mug covers the first";
  EXPECT_TRUE(same(grouped, s.p3 | s.p4)) << "group_id 7 joins two polygons";
  EXPECT_EQ(count(grouped), count(s.p3) + count(s.p4));
  EXPECT_TRUE(same(last, s.p6));
  EXPECT_TRUE(same(m.find("book")->second, and_not(s.rect1, s.hole2))) << "_background_ cuts a hole";
  EXPECT_GT(count(s.hole2), 0);
  EXPECT_TRUE(same(m.find("bag")->second, s.bag)) << "mask shape with its hole";
  EXPECT_EQ(count(s.bag), 38);
  const cv::Mat ball = m.find("ball")->second;  // radius 4 about (33, 23)
  EXPECT_NEAR(count(ball), M_PI * 16, 0.15 * M_PI * 16);
  const cv::Rect box = cv::boundingRect(ball);
  EXPECT_NEAR(box.x, 29, 1);
  EXPECT_NEAR(box.y, 19, 1);
  EXPECT_TRUE(masks_of(gt, "rgb/sub dir/plain.png").empty());
  // The embedded image, decoded.
  const cv::Mat plain = cv::imread(s.out + "/rgb/sub dir/plain.png");
  EXPECT_EQ(cv::norm(plain, test_rgb(2), cv::NORM_INF), 0);

  const auto skipped = skipped_items(summary);
  EXPECT_THAT(skipped, Contains(HasSubstr("nodepth.json | no depth file")));
  EXPECT_THAT(skipped, Contains(HasSubstr("settings.json | not a LabelMe file")));
  EXPECT_THAT(skipped, Contains(HasSubstr("unlabelled.png | no LabelMe file annotates this image")));
  EXPECT_THAT(skipped, Contains(HasSubstr("('edge') | line shape is not a region")));
  testing::expect_valid_dataset_with_perfect_self_eval(summary.annotations_path);
}

TEST(ConvertLabelme, UnionKeepsOverlappingObjectsWhole) {
  LabelmeScene s;
  LabelmeOptions o = s.options();
  o.overlap = LabelmeOptions::Overlap::Union;
  const CocoGroundTruth gt = load_coco_ground_truth(convert_labelme(o).annotations_path, IouType::Segm);
  const auto m = masks_of(gt, "rgb/tasse à café 1.png");
  const cv::Mat first = m.equal_range("mug").first->second;
  EXPECT_TRUE(same(first, s.p0));
  EXPECT_GT(count(first & s.p6), 0) << "the two mugs overlap";
}

TEST(ConvertLabelme, CategoryListFixesIdsAndRefusesUnknownLabels) {
  LabelmeScene s;
  LabelmeOptions o = s.options();
  // LabelMe's own labels.txt: the reserved entries first.
  o.categories = s.tmp.write("labels.txt", "__ignore__\n_background_\nmug\nbook\nball\nbag\nplate\n");
  const CocoGroundTruth gt = load_coco_ground_truth(convert_labelme(o).annotations_path, IouType::Segm);
  EXPECT_EQ(category_list(gt), (std::vector<std::pair<int64_t, std::string>>{
                      {1, "mug"}, {2, "book"}, {3, "ball"}, {4, "bag"}, {5, "plate"}}));
  o.out = s.tmp.file("out2");
  o.categories = s.tmp.write("short.txt", "mug\nbook\n");
  EXPECT_THAT(error_message([&] { convert_labelme(o); }),
              HasSubstr("tasse à café 1.json: label 'bag' is not in the category list " + o.categories));
  EXPECT_FALSE(fs::exists(o.out)) << "no output after an error";
}

TEST(ConvertLabelme, MalformedFilesAreOneLineErrorsNamingTheFile) {
  struct Case {
    Json shapes;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {Json::array({shape("mug", "polygon", points({{1, 1}, {5, 5}}))}), "a polygon needs at least 3 points, has 2"},
      {Json::array({shape("mug", "rectangle", points({{1, 1}}))}), "a rectangle needs 2 points"},
      {Json::array({shape("mug", "circle", points({{3, 3}, {3, 3}}))}), "a circle of radius 0"},
      {Json::array({shape("mug", "hexagon", points({{1, 1}, {2, 2}, {3, 1}}))}), "unknown shape_type 'hexagon'"},
      {Json::array({shape("mug", "polygon", Json::parse(R"([[1, "a"], [5, 5], [1, 5]])"))}), "coordinates must be numbers"},
      {Json::array({shape("", "polygon", points({{1, 1}, {5, 5}, {1, 5}}))}), "no \"label\""},
      {Json::array({[] { Json m = shape("mug", "mask", points({{0, 0}, {3, 3}})); m["mask"] = "!!"; return m; }()}),
       "\"mask\" is not base64 data"},
      {Json::array({[] { Json m = shape("mug", "mask", points({{0, 0}, {9, 9}})); m["mask"] = png_base64(bag_box()); return m; }()}),
       "mask is 8x5 pixels but its corners span 10x10"},
      {Json::array({[] { Json m = shape("mug", "mask", points({{0, 0}, {49, 39}})); m["mask"] = png_base64(cv::Mat(40, 50, CV_8UC1, cv::Scalar(1))); return m; }()}),
       "mask is 50x40 pixels, larger than the 40x30 image"},
      {Json::array({[] { Json m = shape("mug", "mask", points({{0, 0}, {3, 3}})); m["mask"] = "AAAAAAAA"; return m; }()}),
       "\"mask\": not a readable image"},
      {Json::array({shape("mug", "circle", points({{0, 0}, {1e7, 1e7}}))}),
       "shapes[0] ('mug', circle): polygon coordinate"},  // the rasteriser's error, naming the shape
  };
  for (const auto& c : cases) {
    ScopedTempDir tmp;
    write_image(tmp.file("in/a.png"), test_rgb(1));
    write_depth(tmp.file("depth/a.png"));
    const std::string file = tmp.write("in/a.json", labelme_file("a.png", c.shapes).dump());
    LabelmeOptions o;
    o.root = tmp.file("in");
    o.out = tmp.file("out");
    o.depth.dir = tmp.file("depth");
    const std::string msg = error_message([&] { convert_labelme(o); });
    EXPECT_THAT(msg, HasSubstr(file)) << c.expected;
    EXPECT_THAT(msg, HasSubstr(c.expected));
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(o.out)) << msg;
  }
  // Sizes that disagree, an image that is not there.
  ScopedTempDir tmp;
  write_image(tmp.file("in/a.png"), test_rgb(1));
  write_depth(tmp.file("depth/a.png"));
  const Json one_mug = Json::array({shape("mug", "polygon", points({{1, 1}, {5, 1}, {5, 5}}))});
  Json j = labelme_file("a.png", one_mug);
  j["imageWidth"] = 64;
  tmp.write("in/a.json", j.dump());
  LabelmeOptions o;
  o.root = tmp.file("in");
  o.out = tmp.file("out");
  o.depth.dir = tmp.file("depth");
  EXPECT_THAT(error_message([&] { convert_labelme(o); }), HasSubstr("a.json: imageWidth 64 does not match the image (40x30)"));
  tmp.write("in/a.json", labelme_file("missing.png", one_mug).dump());
  write_depth(tmp.file("depth/missing.png"));
  EXPECT_THAT(error_message([&] { convert_labelme(o); }), HasSubstr("a.json: imagePath 'missing.png' not found"));
  // A JPEG with an EXIF orientation (LabelMe annotates it turned; we never turn it): an APP1
  // segment with one IFD entry, Orientation (0x0112) = 3 (180 degrees), after the SOI marker.
  {
    std::vector<uint8_t> jpg;
    cv::imencode(".jpg", test_rgb(1), jpg);
    const std::vector<uint8_t> app1 = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,  // length 34
                                       'I', 'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,  // TIFF header, IFD at 8
                                       0x01, 0x00,                                    // one entry
                                       0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
                                       0x00, 0x00, 0x00, 0x00};                       // no next IFD
    jpg.insert(jpg.begin() + 2, app1.begin(), app1.end());
    tmp.write("in/turned.jpg", std::string(jpg.begin(), jpg.end()));
    tmp.write("in/a.json", labelme_file("turned.jpg", one_mug).dump());
    write_depth(tmp.file("depth/turned.png"));
    EXPECT_THAT(error_message([&] { convert_labelme(o); }), HasSubstr("turned.jpg: has an EXIF orientation"));
    fs::remove(tmp.file("in/turned.jpg"));
  }
  // An absolute imagePath with a relative --root: the depth is still found by the image's name.
  {
    tmp.write("in/a.json", labelme_file(tmp.file("in/a.png"), one_mug).dump());
    LabelmeOptions relative = o;
    relative.root = fs::relative(tmp.file("in"), fs::current_path()).string();
    ASSERT_FALSE(fs::path(relative.root).is_absolute());
    EXPECT_EQ(convert_labelme(relative).images, 1);
    fs::remove_all(o.out);
  }
  // An imagePath from another machine: the file of that name beside the JSON.
  tmp.write("in/a.json", labelme_file("C:\\Users\\me\\frames\\a.png", one_mug).dump());
  EXPECT_EQ(convert_labelme(o).images, 1);
  fs::remove_all(o.out);
  tmp.write("in/a.json", "{\"shapes\": [");
  EXPECT_THAT(error_message([&] { convert_labelme(o); }), HasSubstr("a.json"));
}

// ---------------------------------------------------------------- COCO + depth

const char* const kHex = "0123456789abcdef0123456789abcdef";

// A Roboflow "COCO Segmentation" export: train/_annotations.coco.json beside renamed images.
struct RoboflowExport {
  ScopedTempDir tmp;
  std::string dir = tmp.file("rf/train"), json = dir + "/_annotations.coco.json", depth = tmp.file("depth"),
              out = tmp.file("out");
  Json coco;
  RoboflowExport() {
    const std::string a = std::string("scene 1_png.rf.") + kHex + ".jpg", b = std::string("tasse_jpg.rf.") + kHex + ".jpg",
                      c = std::string("nodepth_png.rf.") + kHex + ".jpg";
    write_image(dir + "/" + a, test_rgb(1));
    write_image(dir + "/" + b, test_rgb(2));
    write_image(dir + "/" + c, test_rgb(3));
    write_image(dir + "/empty_png.rf." + kHex + ".jpg", test_rgb(4));  // an image without annotations
    write_depth(depth + "/empty.png");
    write_depth(depth + "/scene 1.png");
    write_depth(depth + "/tasse à café.png");  // named by "extra"
    Json rle = {{"counts", Json::array({65, 10, 20, 10, 1095})}, {"size", Json::array({kH, kW})}};  // column-major runs
    coco = {{"info", {{"year", "2026"}}},
            {"categories", Json::array({{{"id", 0}, {"name", "objects"}, {"supercategory", "none"}},
                                        {{"id", 1}, {"name", "mug"}, {"supercategory", "objects"}},
                                        {{"id", 2}, {"name", "book shelf"}, {"supercategory", "objects"}}})},
            {"images", Json::array({{{"id", 5}, {"file_name", a}, {"height", kH}, {"width", kW}},
                                    {{"id", 9}, {"file_name", b}, {"height", kH}, {"width", kW},
                                     {"extra", {{"name", "tasse à café.jpg"}}}},
                                    {{"id", 11}, {"file_name", c}, {"height", kH}, {"width", kW}},
                                    {{"id", 13}, {"file_name", std::string("empty_png.rf.") + kHex + ".jpg"},
                                     {"height", kH}, {"width", kW}}})},
            {"annotations",
             Json::array({{{"id", 100}, {"image_id", 5}, {"category_id", 1},
                           {"segmentation", Json::array({Json::array({2, 2, 10, 2, 10, 10, 2, 10}),
                                                         Json::array({20.5, 2, 30, 2, 30, 9.5})})},
                           {"area", 101.25}, {"bbox", Json::array({2, 2, 28, 8})}, {"iscrowd", 0}},
                          {{"id", 101}, {"image_id", 5}, {"category_id", 2}, {"segmentation", rle}, {"area", 30},
                           {"bbox", Json::array({1, 5, 3, 10})}, {"iscrowd", 1}, {"attributes", {{"occluded", false}}}},
                          {{"id", 102}, {"image_id", 9}, {"category_id", 1},
                           {"segmentation", Json::array({Json::array({5, 5, 15, 5, 15, 15})})}, {"area", 50},
                           {"bbox", Json::array({5, 5, 10, 10})}, {"iscrowd", 0}},
                          {{"id", 105}, {"image_id", 9}, {"category_id", 2},  // overlaps 102
                           {"segmentation", Json::array({Json::array({10, 10, 20, 10, 20, 20, 10, 20})})},
                           {"area", 100}, {"bbox", Json::array({10, 10, 10, 10})}, {"iscrowd", 0}},
                          {{"id", 103}, {"image_id", 9}, {"category_id", 2}, {"segmentation", Json::array()},
                           {"area", 20}, {"bbox", Json::array({1, 1, 4, 5})}, {"iscrowd", 0}},
                          {{"id", 104}, {"image_id", 11}, {"category_id", 1},
                           {"segmentation", Json::array({Json::array({5, 5, 15, 5, 15, 15})})}, {"area", 50},
                           {"bbox", Json::array({5, 5, 10, 10})}, {"iscrowd", 0}}})}};
    tmp.write("rf/train/_annotations.coco.json", coco.dump());
  }
  CocoDepthOptions options() const {
    CocoDepthOptions o;
    o.annotations = json;
    o.out = out;
    o.threads = 2;
    o.depth.dir = depth;
    return o;
  }
};

TEST(ConvertCocoDepth, RoboflowExportKeepsAnnotationsAsTheyAre) {
  RoboflowExport e;
  const ConversionSummary summary = convert_coco_depth(e.options());
  EXPECT_EQ(summary.images, 3);
  EXPECT_EQ(summary.instances, 4);
  const Json written = read_json_file(summary.annotations_path);
  EXPECT_EQ(written["categories"], Json::parse(R"([{"id":1,"name":"mug"},{"id":2,"name":"book shelf"}])"));
  ASSERT_EQ(written["images"].size(), 3u);  // in file-name order, ids kept
  EXPECT_EQ(written["images"][0]["id"], 13);
  EXPECT_EQ(written["images"][1]["id"], 5);
  EXPECT_EQ(written["images"][1]["depth_file"], std::string("depth/scene 1_png.rf.") + kHex + ".png");
  EXPECT_EQ(written["images"][2]["id"], 9);
  ASSERT_EQ(written["annotations"].size(), 4u);  // overlapping 102 and 105 both kept, as they are
  for (size_t k = 0; k < 4; ++k) EXPECT_EQ(written["annotations"][k], e.coco["annotations"][k]) << "kept verbatim";
  const auto skipped = skipped_items(summary);
  EXPECT_THAT(skipped, Contains(HasSubstr("category 0 'objects' | no annotation uses it")));
  EXPECT_THAT(skipped, Contains(HasSubstr("nodepth_png.rf." + std::string(kHex) + ".jpg | no depth file")));
  EXPECT_THAT(skipped, Contains(HasSubstr("nodepth.png (1 annotations)")));
  EXPECT_THAT(skipped, Contains(HasSubstr("annotation 103 | no mask")));
  ASSERT_EQ(summary.notes.size(), 1u);
  EXPECT_THAT(summary.notes[0], HasSubstr("1 annotations are iscrowd=1"));
  testing::expect_valid_dataset_with_perfect_self_eval(summary.annotations_path);
  // The depth is the depth file's, in millimetres.
  const cv::Mat d = cv::imread(e.out + "/" + written["images"][2]["depth_file"].get<std::string>(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(d.type(), CV_16UC1);
  EXPECT_EQ(d.at<uint16_t>(3, 7), 1007);
}

TEST(ConvertCocoDepth, UncrowdMakesCrowdAnnotationsObjects) {
  RoboflowExport e;
  CocoDepthOptions o = e.options();
  o.uncrowd = true;
  const ConversionSummary summary = convert_coco_depth(o);
  EXPECT_TRUE(summary.notes.empty());
  const Json written = read_json_file(summary.annotations_path);
  EXPECT_EQ(written["annotations"][1]["iscrowd"], 0);
  EXPECT_EQ(written["annotations"][1]["segmentation"], e.coco["annotations"][1]["segmentation"]);
}

TEST(ConvertCocoDepth, AugmentedCopiesSharingOneDepthAreSkipped) {
  RoboflowExport e;
  Json coco = e.coco;
  const std::string copy = std::string("scene 1_png.rf.") + "ffffffffffffffffffffffffffffffff.jpg";
  write_image(e.dir + "/" + copy, test_rgb(5));
  coco["images"].push_back({{"id", 12}, {"file_name", copy}, {"height", kH}, {"width", kW}});
  e.tmp.write("rf/train/_annotations.coco.json", coco.dump());
  const ConversionSummary summary = convert_coco_depth(e.options());
  EXPECT_EQ(summary.images, 2);  // tasse and the image without annotations
  EXPECT_THAT(skipped_items(summary), Contains(HasSubstr("shares depth file")));
}

TEST(ConvertCocoDepth, ImageIdZeroAndFileNamesSharingAStem) {
  // Roboflow numbers images and annotations from 0; a.jpg and a.png would share rgb/a.png.
  ScopedTempDir tmp;
  write_image(tmp.file("in/a.jpg"), test_rgb(1));
  write_image(tmp.file("in/a.png"), test_rgb(2));
  write_depth(tmp.file("depth/a.png"));
  write_depth(tmp.file("depth/a_b.png"));
  const Json polygon = Json::array({Json::array({2, 2, 10, 2, 10, 10})});
  const Json coco = {
      {"categories", Json::array({{{"id", 1}, {"name", "mug"}}})},
      {"images", Json::array({{{"id", 0}, {"file_name", "a.jpg"}, {"height", kH}, {"width", kW}},
                              {{"id", 1}, {"file_name", "a.png"}, {"height", kH}, {"width", kW}}})},
      {"annotations", Json::array({{{"id", 0}, {"image_id", 0}, {"category_id", 1}, {"segmentation", polygon},
                                    {"area", 32}, {"bbox", Json::array({2, 2, 8, 8})}, {"iscrowd", 0}}})}};
  CocoDepthOptions o;
  o.annotations = tmp.write("in/coco.json", coco.dump());
  o.out = tmp.file("out");
  o.depth.dir = tmp.file("depth");
  o.threads = 2;
  // Both images find depth/a.png: copies of one frame as far as anyone can tell, so neither converts.
  EXPECT_THAT(error_message([&] { convert_coco_depth(o); }),
              HasSubstr("no image could be converted (2 skipped, e.g. a.jpg: shares depth file"));
  EXPECT_FALSE(fs::exists(o.out));
  // With distinct depth (a.jpg -> a.png, a.png -> a_b.png via extra.name) both convert, named apart.
  Json named = coco;
  named["images"][1]["extra"] = {{"name", "a_b.png"}};
  o.annotations = tmp.write("in/coco.json", named.dump());
  const ConversionSummary summary = convert_coco_depth(o);
  ASSERT_EQ(summary.images, 2);
  const Json written = read_json_file(summary.annotations_path);
  EXPECT_EQ(written["images"][0]["id"], 0);
  EXPECT_EQ(written["images"][0]["file_name"], "rgb/a.png");
  EXPECT_EQ(written["images"][1]["id"], 1);
  EXPECT_EQ(written["images"][1]["file_name"], "rgb/a_id1.png");
  EXPECT_EQ(written["annotations"][0]["image_id"], 0);
  EXPECT_EQ(written["annotations"][0]["id"], 1) << "annotation id 0 renumbered";
  ASSERT_EQ(summary.notes.size(), 1u);
  EXPECT_THAT(summary.notes[0], HasSubstr("annotation ids renumbered"));
  testing::expect_valid_dataset_with_perfect_self_eval(summary.annotations_path);
}

TEST(DatasetWriter, AnErrorInFinishLeavesNoOutput) {
  ScopedTempDir tmp;
  const std::string out = tmp.file("out");
  {
    DatasetWriter writer(out, {{1, "mug"}});
    writer.add_coco("a", 0, test_rgb(1), cv::Mat(kH, kW, CV_32FC1, cv::Scalar(1.0f)),
                    Json::array({{{"id", 1}, {"category_id", 7}}}));
    EXPECT_THAT(error_message([&] { writer.finish(); }), HasSubstr("category id 7"));
    EXPECT_THAT(error_message([&] { writer.add_coco("a", 1, test_rgb(1), cv::Mat(kH, kW, CV_32FC1, cv::Scalar(1.0f)),
                                                    Json::array()); }),
                HasSubstr("two images named 'a'"));
  }
  EXPECT_FALSE(fs::exists(out)) << "rgb/ and depth/ without annotations.json were left behind";
}

TEST(ConvertCocoDepth, CvatLayoutFindsImagesInImagesSubset) {
  ScopedTempDir tmp;
  write_image(tmp.file("cvat/images/default/frame 1.png"), test_rgb(1));
  write_depth(tmp.file("depth/frame 1_d.png"));
  const Json coco = {
      {"categories", Json::array({{{"id", 1}, {"name", "mug"}, {"supercategory", ""}}})},
      {"images", Json::array({{{"id", 1}, {"file_name", "frame 1.png"}, {"height", kH}, {"width", kW}}})},
      {"annotations", Json::array({{{"id", 1}, {"image_id", 1}, {"category_id", 1},
                                    {"segmentation", Json::array({Json::array({2, 2, 10, 2, 10, 10})})},
                                    {"area", 32}, {"bbox", Json::array({2, 2, 8, 8})}, {"iscrowd", 0}}})}};
  CocoDepthOptions o;
  o.annotations = tmp.write("cvat/annotations/instances_default.json", coco.dump());
  o.out = tmp.file("out");
  o.depth.dir = tmp.file("depth");
  o.depth.suffix = "_d";
  const ConversionSummary summary = convert_coco_depth(o);
  EXPECT_EQ(summary.images, 1);
  EXPECT_EQ(summary.instances, 1);
}

TEST(ConvertCocoDepth, ErrorsNameTheFile) {
  {
    RoboflowExport e;
    Json coco = e.coco;
    coco["images"][1]["width"] = 41;
    e.tmp.write("rf/train/_annotations.coco.json", coco.dump());
    const std::string msg = error_message([&] { convert_coco_depth(e.options()); });
    EXPECT_THAT(msg, HasSubstr("tasse_jpg.rf."));
    EXPECT_THAT(msg, HasSubstr("image is 40x30 but " + e.json + " says 41x30"));
    EXPECT_FALSE(fs::exists(e.out));
  }
  {
    RoboflowExport e;
    Json coco = e.coco;
    coco["annotations"][0]["segmentation"] = Json::array({Json::array({1, 2, 3})});
    e.tmp.write("rf/train/_annotations.coco.json", coco.dump());
    const std::string msg = error_message([&] { convert_coco_depth(e.options()); });
    EXPECT_THAT(msg, HasSubstr(e.json));
    EXPECT_THAT(msg, HasSubstr("even number (>= 6) of coordinates"));
  }
  {
    RoboflowExport e;
    CocoDepthOptions o = e.options();
    o.images = e.tmp.file("depth");  // no image there
    o.depth.suffix = "_none";
    EXPECT_THAT(error_message([&] { convert_coco_depth(o); }), HasSubstr("no image could be converted (4 skipped, e.g. "));
  }
}

// ---------------------------------------------------------------- CVAT masks

void write_rgb_png(const std::string& path, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  write_image(path, bgr);
}

// A CVAT "Segmentation mask 1.1" export with three images.
struct CvatExport {
  ScopedTempDir tmp;
  std::string root = tmp.file("cvat"), depth = tmp.file("depth"), out = tmp.file("out");
  cv::Vec3b mug{250, 50, 83}, tasse{51, 221, 255};             // label colours (RGB)
  cv::Vec3b obj1{128, 0, 0}, obj2{0, 128, 0}, obj3{128, 128, 0};  // VOC instance colours
  cv::Mat ring, blobs, neighbour;                               // the objects of "frame one"
  cv::Mat classes = cv::Mat::zeros(kH, kW, CV_8UC3), objects = cv::Mat::zeros(kH, kW, CV_8UC3);
  CvatExport() {
    tmp.write("cvat/labelmap.txt",
              "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncoffee mug:250,50,83::\ntasse à café:51,221,255::\n");
    tmp.write("cvat/ImageSets/Segmentation/default.txt", "frame one\nframe two\nsub/frame three\n");
    ring = cv::Mat::zeros(kH, kW, CV_8UC1);
    cv::rectangle(ring, cv::Rect(2, 2, 12, 12), 1, cv::FILLED);
    cv::rectangle(ring, cv::Rect(6, 6, 4, 4), 0, cv::FILLED);  // the hole
    neighbour = cv::Mat::zeros(kH, kW, CV_8UC1);
    cv::rectangle(neighbour, cv::Rect(14, 2, 6, 12), 1, cv::FILLED);  // touches the ring
    blobs = cv::Mat::zeros(kH, kW, CV_8UC1);
    cv::rectangle(blobs, cv::Rect(24, 2, 5, 5), 1, cv::FILLED);
    cv::rectangle(blobs, cv::Rect(24, 20, 8, 6), 1, cv::FILLED);  // one object in two parts
    auto paint = [&](const cv::Mat& m, cv::Vec3b cls, cv::Vec3b obj) {
      classes.setTo(cv::Scalar(cls[0], cls[1], cls[2]), m);
      objects.setTo(cv::Scalar(obj[0], obj[1], obj[2]), m);
    };
    paint(ring, mug, obj1);
    paint(neighbour, mug, obj2);
    paint(blobs, tasse, obj3);
    write_rgb_png(root + "/SegmentationClass/frame one.png", classes);
    write_rgb_png(root + "/SegmentationObject/frame one.png", objects);
    write_image(root + "/JPEGImages/frame one.jpg", test_rgb(1));
    write_image(root + "/JPEGImages/frame two.jpg", test_rgb(2));  // no annotations: no mask files
    write_image(root + "/JPEGImages/sub/frame three.png", test_rgb(3));
    write_depth(depth + "/frame one.png");
    write_depth(depth + "/frame two.png");  // frame three has none
  }
  CvatMasksOptions options() const {
    CvatMasksOptions o;
    o.root = root;
    o.out = out;
    o.threads = 2;
    o.depth.dir = depth;
    return o;
  }
};

TEST(ConvertCvatMasks, ObjectsClassesHolesAndImagesWithoutAnnotations) {
  CvatExport e;
  const ConversionSummary summary = convert_cvat_masks(e.options());
  EXPECT_EQ(summary.images, 2);
  EXPECT_EQ(summary.instances, 3);
  const CocoGroundTruth gt = load_coco_ground_truth(summary.annotations_path, IouType::Segm);
  EXPECT_EQ(category_list(gt), (std::vector<std::pair<int64_t, std::string>>{{1, "coffee mug"}, {2, "tasse à café"}}));
  const auto m = masks_of(gt, "rgb/frame one.png");
  ASSERT_EQ(m.count("coffee mug"), 2u);
  auto mugs = m.equal_range("coffee mug");
  std::vector<cv::Mat> found = {(mugs.first++)->second, mugs.first->second};
  EXPECT_TRUE((same(found[0], e.ring) && same(found[1], e.neighbour)) ||
              (same(found[0], e.neighbour) && same(found[1], e.ring)));
  EXPECT_EQ(count(e.ring), 144 - 16);
  EXPECT_TRUE(same(m.find("tasse à café")->second, e.blobs));
  EXPECT_TRUE(masks_of(gt, "rgb/frame two.png").empty());
  EXPECT_THAT(skipped_items(summary), Contains(HasSubstr("sub/frame three | no depth file")));
  testing::expect_valid_dataset_with_perfect_self_eval(summary.annotations_path);
}

TEST(ConvertCvatMasks, ErrorsNameTheFile) {
  {
    CvatExport e;
    e.tmp.write("cvat/labelmap.txt", "background:0,0,0::\ncoffee mug:250,50::\n");
    EXPECT_THAT(error_message([&] { convert_cvat_masks(e.options()); }),
                HasSubstr("labelmap.txt: line 2: expected 'label:r,g,b:parts:actions'"));
  }
  {
    CvatExport e;
    cv::Mat classes = e.classes.clone();
    classes.setTo(cv::Scalar(1, 2, 3), e.blobs);
    write_rgb_png(e.root + "/SegmentationClass/frame one.png", classes);
    EXPECT_THAT(error_message([&] { convert_cvat_masks(e.options()); }),
                HasSubstr("SegmentationClass/frame one.png: colour #010203 is not in"));
  }
  {
    CvatExport e;
    cv::Mat classes = e.classes.clone();
    classes.setTo(cv::Scalar(0, 0, 0), e.blobs);
    write_rgb_png(e.root + "/SegmentationClass/frame one.png", classes);
    EXPECT_THAT(error_message([&] { convert_cvat_masks(e.options()); }), HasSubstr("lies on background"));
  }
  {
    CvatExport e;
    fs::remove(e.root + "/SegmentationClass/frame one.png");
    EXPECT_THAT(error_message([&] { convert_cvat_masks(e.options()); }),
                HasSubstr("SegmentationClass/frame one.png: missing"));
    EXPECT_FALSE(fs::exists(e.out));
  }
  {
    CvatExport e;
    fs::remove(e.root + "/labelmap.txt");
    EXPECT_THAT(error_message([&] { convert_cvat_masks(e.options()); }), HasSubstr("no labelmap.txt"));
  }
}

TEST(AnnotationImport, DepthLookupCategoryListsAndRoboflowNames) {
  ScopedTempDir tmp;
  write_depth(tmp.file("d/sub/a_depth.png"));
  write_depth(tmp.file("d/b_depth.tif"));
  DepthLookup d;
  d.dir = tmp.file("d");
  d.suffix = "_depth";
  EXPECT_EQ(d.find("sub/a.jpg"), tmp.file("d/sub/a_depth.png"));
  EXPECT_EQ(d.find("other/b.jpg"), tmp.file("d/b_depth.tif"));
  EXPECT_EQ(d.find("../b.png"), tmp.file("d/b_depth.tif"));
  EXPECT_EQ(d.find("rgb/sub/a.png"), tmp.file("d/sub/a_depth.png")) << "leading folders dropped";
  EXPECT_EQ(d.find("../sub/a.png"), tmp.file("d/sub/a_depth.png"));
  write_depth(tmp.file("d/rgb/sub/a_depth.png"));
  EXPECT_EQ(d.find("rgb/sub/a.png"), tmp.file("d/rgb/sub/a_depth.png")) << "the longest path first";
  EXPECT_EQ(d.find("c.png"), "");
  EXPECT_EQ(d.expected("c.png"), tmp.file("d/c_depth.png"));

  EXPECT_EQ(roboflow_original_stem(std::string("frame_01_png.rf.") + kHex), "frame_01");
  EXPECT_EQ(roboflow_original_stem("frame_01"), "frame_01");
  EXPECT_EQ(roboflow_original_stem("a.rf.zz"), "a.rf.zz");

  const auto from_json = load_category_list(
      tmp.write("c.json", R"({"categories": [{"id": 3, "name": "mug"}, {"id": 7, "name": "book"}]})"));
  EXPECT_EQ(from_json, (std::vector<std::pair<int64_t, std::string>>{{3, "mug"}, {7, "book"}}));
  EXPECT_THAT(error_message([&] { load_category_list(tmp.write("dup.txt", "mug\nbook\nmug\n")); }),
              HasSubstr("dup.txt: line 3: category 'mug' listed twice"));
  EXPECT_THAT(error_message([&] { load_category_list(tmp.write("empty.txt", "__ignore__\n\n")); }),
              HasSubstr("empty.txt: lists no category"));
}

}  // namespace
}  // namespace rgbdseg
