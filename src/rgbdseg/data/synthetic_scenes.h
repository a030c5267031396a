#pragma once
// Procedural RGB-D tabletop scenes with exact instance masks, so everything in
// rgbdseg runs on a fresh machine with nothing downloaded.
//
// A pinhole camera looks down at a textured table in front of a wall. Boxes,
// cylinders, spheres and unions (a second primitive standing on a box or
// cylinder, one object) rest on the table with random poses, sizes, colours
// and textures; some objects take the table's own texture, so colour alone
// cannot separate them and depth matters; others touch a neighbour and share
// its texture (clutter). Each pixel is ray-cast: depth is the camera-frame z
// of the nearest hit, the instance mask is exact, shading is Lambertian. A
// sensor model then adds noise growing with distance, quantises in steps that
// grow with distance (disparity) and to millimetres, and drops readings at
// depth discontinuities, at grazing angles and on dark surfaces.
// Scenes are deterministic for a seed, whatever the thread count.
//
// Two styles. `shapes` (the default, the demo's scenes, unchanged) is the
// above: boxes, cylinders and spheres with three classes. `tabletop` is the
// sim-to-real style for class-agnostic unseen-object segmentation
// (tabletop_scenes.cpp): a wider set of objects (books, bowls, mugs, bottles,
// cans, thin and flat, lying, leaning and stacked objects), procedural
// materials (noise, stripes, checks, wood, cloth, printed labels, blotches,
// glossy), random light with cast shadows and specular highlights, a free
// camera (height, tilt, roll, field of view), a finite table with its edges,
// floor, wall and unannotated background clutter, camera colour effects, and a
// depth sensor model: active stereo (RealSense D4xx) or structured light
// (Kinect), both with occlusion shadows beside foreground objects.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace rgbdseg {

enum class SceneStyle { Shapes, Tabletop };
// Depth sensor of `tabletop` scenes; Mixed picks one per scene (RealSense 60%,
// Kinect 30%, perfect 10%).
enum class DepthSensor { Mixed, RealSense, Kinect, Perfect };

SceneStyle parse_scene_style(const std::string& name);     // "shapes" | "tabletop"
DepthSensor parse_depth_sensor(const std::string& name);   // "mixed" | "realsense" | "kinect" | "perfect"

struct SynthOptions {
  SceneStyle style = SceneStyle::Shapes;
  DepthSensor sensor = DepthSensor::Mixed;  // tabletop only
  bool clutter = true;                      // tabletop only: unannotated objects off the table

  int height = 480;
  int width = 640;
  uint64_t seed = 0;
  int min_objects = 3;
  int max_objects = 7;
  bool single_class = false;    // one "object" category instead of box/cylinder/sphere (tabletop: always)
  double same_texture_prob = 0.25;  // chance an object wears the table's texture
  double touching_prob = 0.25;      // chance an object touches another and wears its texture
  double union_prob = 0.3;          // chance a box or cylinder carries a second primitive (one object)
  double depth_noise = 1.0;     // scale of the sensor noise model (0 = perfect depth)
  int min_visible_pixels = 30;  // smaller visible parts are not annotated
};

// A depth sensor as `tabletop` scenes simulate it. Active stereo and structured
// light both measure disparity d = f b / z: noise and quantisation steps are in
// disparity (native pixels), so in depth they grow with z^2; a point that the
// second view (camera or projector) cannot see has no reading, which leaves a
// shadow band beside foreground objects, f b (1/z_far - 1/z_near) pixels wide.
struct DepthSensorModel {
  bool perfect = false;        // true depth rounded to millimetres, nothing else
  double focal_native = 640;   // px at the sensor's own resolution (noise, steps)
  double baseline = 0.05;      // m
  double subpixel = 0.08;      // disparity noise scale, px (the RMS when `correlated` is 0)
  double step = 1.0 / 32;      // disparity quantisation, px
  double correlated = 0.7;     // share of the noise that is spatially smooth
  bool shadow_left = true;     // the occlusion shadow falls left of foreground objects
  bool misregistration = true; // depth shifted by up to a pixel against colour (half the scenes)
  bool speckles = true;        // up to 6 small elliptical holes
  bool edge_effects = true;    // readings at depth edges lost or blended (flying pixels)
};

// Applies `model` to true depth (CV_32FC1 metres, the image's focal length fx in
// px): `no_return` (CV_8UC1, 1 = dark or shiny surface) loses readings in
// patches, `grazing` (CV_8UC1) loses them all. 0 = no reading; millimetres.
cv::Mat simulate_depth_sensor(const cv::Mat& true_depth, const cv::Mat& no_return, const cv::Mat& grazing, double fx,
                              const DepthSensorModel& model, uint64_t seed);

struct SynthInstance {
  int category_id = 0;  // 1 box, 2 cylinder, 3 sphere (or 1 "object")
  cv::Mat mask;         // CV_8UC1 0/1, image size
};

struct SynthScene {
  cv::Mat rgb;      // CV_8UC3, RGB order
  cv::Mat depth_m;  // CV_32FC1 metres after the sensor model, 0 = no reading
  std::vector<SynthInstance> instances;
  double fx = 0, fy = 0, cx = 0, cy = 0;
};

// Category names in id order (index 0 = id 1).
std::vector<std::string> synth_category_names(bool single_class);

// Scene `index` of the stream defined by options.seed and options.style.
SynthScene render_synthetic_scene(const SynthOptions& options, int64_t index);
// The `tabletop` style (called by render_synthetic_scene).
SynthScene render_tabletop_scene(const SynthOptions& options, int64_t index);

// Writes `num` scenes as a canonical dataset into `out_dir`: rgb/NNNNNN.png,
// depth/NNNNNN.png (16-bit millimetres) and annotations.json (COCO with
// depth_file, depth_scale, intrinsics; masks as compressed RLE).
// Returns the annotations.json path. `progress(done, total)` may be empty.
struct SynthSummary {
  std::string annotations_path;
  int64_t images = 0;
  int64_t instances = 0;
};
// Refuses a non-empty `out_dir` unless `force`.
SynthSummary write_synthetic_dataset(const std::string& out_dir, int64_t num, const SynthOptions& options,
                                     int threads = 0,
                                     const std::function<bool(int64_t, int64_t)>& progress = {}, bool force = false);

}  // namespace rgbdseg
