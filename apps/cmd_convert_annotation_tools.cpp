// rgbdseg convert labelme | coco-depth | cvat-masks: annotation tools' exports
// plus depth images found by name, as canonical datasets
// (src/rgbdseg/data/convert_labelme.h, convert_coco_depth.h, convert_cvat_masks.h).
#include <memory>

#include "cmd_convert.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/convert_coco_depth.h"
#include "rgbdseg/data/convert_cvat_masks.h"
#include "rgbdseg/data/convert_labelme.h"

namespace rgbdseg::app {

namespace {

// The options every annotation-tool converter shares.
struct ToolArgs {
  CommonArgs common;
  std::string out;
  bool force = false;
  std::string depth_dir, depth_suffix;
  std::string depth_encoding = "auto";
  double depth_scale = 0.0;
  double min_depth = 0.0, max_depth = 10.0;
  std::string intrinsics;
  std::string categories;  // labelme, cvat-masks
};

struct LabelmeArgs : ToolArgs {
  std::string root;
  std::string overlap = "paint";
};

struct CocoDepthArgs : ToolArgs {
  std::string annotations, images;
  bool uncrowd = false;
};

struct CvatArgs : ToolArgs {
  std::string root, images, subset;
};

const char* const kDepthFooter =
    "Depth is found by name: for the image rgb/sub/a.jpg, the first of DEPTH_DIR/rgb/sub/a<suffix>.png\n"
    "(or .tif), DEPTH_DIR/sub/a<suffix>.png and DEPTH_DIR/a<suffix>.png. 16-bit depth is millimetres\n"
    "unless --depth-scale says otherwise.\n"
    "Images without depth are skipped and listed in the summary.";

void add_tool_options(CLI::App* cmd, ToolArgs& a, bool with_categories) {
  cmd->add_option("--out", a.out, "output directory (rgb/, depth/, annotations.json)")->required();
  cmd->add_flag("--force", a.force, "write into a non-empty output directory");
  cmd->add_option("--depth-dir", a.depth_dir, "folder of depth images, found by the colour image's name")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--depth-suffix", a.depth_suffix, "added to the image's name: a.jpg -> a<suffix>.png, e.g. _depth");
  cmd->add_option("--depth-encoding", a.depth_encoding,
                  "how depth files store depth: auto (16-bit = png16, float = float), png16, sunrgbd, float, png8")
      ->check(CLI::IsMember({"auto", "png16", "sunrgbd", "float", "png8"}))
      ->capture_default_str();
  cmd->add_option("--depth-scale", a.depth_scale,
                  "metres per stored depth unit (0 = the encoding's default: 0.001 for png16, 1 for float)")
      ->capture_default_str()
      ->check(non_negative_number());
  cmd->add_option("--min-depth", a.min_depth, "metres; depth at or below is invalid")
      ->capture_default_str()
      ->check(non_negative_number());
  cmd->add_option("--max-depth", a.max_depth, "metres; depth beyond is invalid")
      ->capture_default_str()
      ->check(positive_number());
  cmd->add_option("--intrinsics", a.intrinsics, "camera intrinsics fx,fy,cx,cy in pixels, for every image")
      ->check(intrinsics_validator());
  if (with_categories) {
    cmd->add_option("--categories", a.categories,
                    "fix category ids so several conversions agree: a text file with one name per line (ids 1..N; "
                    "LabelMe's labels.txt works) or a COCO JSON (e.g. an earlier annotations.json)")
        ->check(CLI::ExistingFile);
  }
  add_common_options(*cmd, a.common, /*with_config=*/false);
}

DepthLookup depth_lookup(const ToolArgs& a) {
  DepthLookup d;
  d.dir = a.depth_dir;
  d.suffix = a.depth_suffix;
  d.read.encoding = parse_depth_encoding(a.depth_encoding);
  d.read.scale = a.depth_scale;
  d.read.min_depth = a.min_depth;
  d.read.max_depth = a.max_depth;
  return d;
}

// Start-up, the shared options, progress and the summary around one converter.
template <typename Options>
int run_conversion(const std::string& label, const ToolArgs& a, Options o,
                   ConversionSummary (*convert)(const Options&, const ProgressCallback&)) {
  const Config config = start_command(label, a.common);
  o.out = a.out;
  o.force = a.force;
  o.threads = config.runtime.threads;
  o.depth = depth_lookup(a);
  if (!a.intrinsics.empty()) o.intrinsics = parse_intrinsics(a.intrinsics);
  ProgressBar bar(label, 0, "images");
  const ConversionSummary summary = convert(o, bar.callback());
  bar.finish();
  print_conversion_summary(label, summary);
  return 0;
}

int run_labelme(const LabelmeArgs& a) {
  LabelmeOptions o;
  o.root = a.root;
  o.categories = a.categories;
  o.overlap = a.overlap == "union" ? LabelmeOptions::Overlap::Union : LabelmeOptions::Overlap::Paint;
  return run_conversion("convert labelme", a, o, &convert_labelme);
}

int run_coco_depth(const CocoDepthArgs& a) {
  CocoDepthOptions o;
  o.annotations = a.annotations;
  o.images = a.images;
  o.uncrowd = a.uncrowd;
  return run_conversion("convert coco-depth", a, o, &convert_coco_depth);
}

int run_cvat_masks(const CvatArgs& a) {
  CvatMasksOptions o;
  o.root = a.root;
  o.images = a.images;
  o.subset = a.subset;
  o.categories = a.categories;
  return run_conversion("convert cvat-masks", a, o, &convert_cvat_masks);
}

}  // namespace

void add_convert_annotation_tools(CLI::App* convert, std::vector<Command>& out) {
  {
    auto a = std::make_shared<LabelmeArgs>();
    CLI::App* cmd = convert->add_subcommand("labelme", "a folder of LabelMe JSON files, with depth images found by name");
    cmd->footer(std::string(
                    "Every *.json under ROOT with a \"shapes\" list is one image (imagePath relative to the JSON, else\n"
                    "the embedded imageData). Shapes: polygon, rectangle, circle, mask; line and point shapes are skipped.\n"
                    "Shapes with the same label and group_id are one object. Later shapes cover earlier ones\n"
                    "(--overlap paint, as LabelMe's label images) unless --overlap union; a shape labelled\n"
                    "_background_ or __ignore__ cuts a hole. Categories: labels in sorted order, ids 1..N, or\n"
                    "--categories.\n") +
                kDepthFooter);
    cmd->add_option("--root", a->root, "folder of LabelMe JSON files (sub-folders included)")
        ->required()
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--overlap", a->overlap, "where shapes overlap: paint (the later shape wins) or union (masks overlap)")
        ->check(CLI::IsMember({"paint", "union"}))
        ->capture_default_str();
    add_tool_options(cmd, *a, /*with_categories=*/true);
    out.push_back({cmd, [a] { return run_labelme(*a); }});
  }
  {
    auto a = std::make_shared<CocoDepthArgs>();
    CLI::App* cmd = convert->add_subcommand(
        "coco-depth", "a COCO instances file (Roboflow, CVAT 'COCO 1.0', any tool) plus depth images found by name");
    cmd->footer(std::string(
                    "Annotations are kept as they are (polygons, RLE, crowd, ids). Images are found next to the\n"
                    "JSON (Roboflow) or in ../images/<subset> and ../images (CVAT) unless --images is given.\n"
                    "Roboflow's renamed files (a_png.rf.<hash>.jpg) find the depth of the original name (a).\n") +
                kDepthFooter);
    cmd->add_option("--annotations", a->annotations, "the COCO instances JSON")->required()->check(CLI::ExistingFile);
    cmd->add_option("--images", a->images, "folder the images' file_name is relative to")->check(CLI::ExistingDirectory);
    cmd->add_flag("--uncrowd", a->uncrowd, "make iscrowd=1 annotations objects (CVAT exports brush masks as crowd)");
    add_tool_options(cmd, *a, /*with_categories=*/false);
    out.push_back({cmd, [a] { return run_coco_depth(*a); }});
  }
  {
    auto a = std::make_shared<CvatArgs>();
    CLI::App* cmd = convert->add_subcommand(
        "cvat-masks", "CVAT's 'Segmentation mask 1.1' export (class and object PNGs, labelmap.txt) plus depth images");
    cmd->footer(std::string(
                    "ROOT is the unzipped export: labelmap.txt, ImageSets/Segmentation/*.txt, SegmentationClass/,\n"
                    "SegmentationObject/ and JPEGImages/ (or --images). Each colour of SegmentationObject is one\n"
                    "object; its label is the labelmap label of its pixels' colour in SegmentationClass.\n") +
                kDepthFooter);
    cmd->add_option("--root", a->root, "the unzipped export")->required()->check(CLI::ExistingDirectory);
    cmd->add_option("--images", a->images, "image folder (default ROOT/JPEGImages)")->check(CLI::ExistingDirectory);
    cmd->add_option("--subset", a->subset, "convert only ImageSets/Segmentation/<subset>.txt (default: every list)");
    add_tool_options(cmd, *a, /*with_categories=*/true);
    out.push_back({cmd, [a] { return run_cvat_masks(*a); }});
  }
}

}  // namespace rgbdseg::app
