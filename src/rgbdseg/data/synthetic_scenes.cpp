#include "rgbdseg/data/synthetic_scenes.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/parallel.h"
#include "rgbdseg/data/dataset_writer.h"
#include "rgbdseg/data/scene_random.h"
#include "rgbdseg/coco/rle.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg {

namespace {

using scene::cross;
using scene::dot;
using scene::normalized;
using scene::Rng;
using scene::Vec3;

// A procedural texture: base colour, optional stripes/checks, per-texel noise.
struct Texture {
  std::array<double, 3> base{}, alt{};
  int pattern = 0;  // 0 plain, 1 checker, 2 stripes
  double period = 0.05;
  std::array<double, 3> at(double u, double v) const {
    bool use_alt = false;
    if (pattern == 1) use_alt = (static_cast<int>(std::floor(u / period)) + static_cast<int>(std::floor(v / period))) & 1;
    if (pattern == 2) use_alt = static_cast<int>(std::floor(u / period)) & 1;
    return use_alt ? alt : base;
  }
};

Texture random_texture(Rng& rng) {
  Texture t;
  for (auto& c : t.base) c = rng.uniform(0.1, 0.95);
  for (auto& c : t.alt) c = rng.uniform(0.1, 0.95);
  t.pattern = rng.integer(0, 2);
  t.period = rng.uniform(0.015, 0.06);
  return t;
}

enum class Shape { Box = 1, Cylinder = 2, Sphere = 3 };

// An object resting on the table (plane y = 0), yawed about the vertical axis.
struct Object {
  Shape shape;
  Vec3 centre;            // on the table: y = 0 at the base
  double yaw = 0;
  double cos_yaw = 1, sin_yaw = 0;  // cached: intersect() runs per pixel
  double sx = 0, sy = 0, sz = 0;  // box half extents; cylinder radius (sx) and height (sy); sphere radius (sx)
  Texture texture;
  int instance = 0;  // parts of one object (a union of primitives) share it
};

// Height of a part's top above its base.
double part_height(const Object& o) {
  return o.shape == Shape::Box ? 2 * o.sy : o.shape == Shape::Cylinder ? o.sy : 2 * o.sx;
}

struct Hit {
  double t = INFINITY;
  Vec3 normal;
  double u = 0, v = 0;  // texture coordinates
  int object = -1;      // -1 background
};

// Ray o + t d against one object (object frame: rotate by -yaw about y).
void intersect(const Object& ob, int index, const Vec3& o, const Vec3& d, Hit& best) {
  const double c = ob.cos_yaw, s = ob.sin_yaw;
  auto to_local = [&](const Vec3& p) { return Vec3{c * p.x + s * p.z, p.y, -s * p.x + c * p.z}; };
  auto to_world = [&](const Vec3& p) { return Vec3{c * p.x - s * p.z, p.y, s * p.x + c * p.z}; };
  const Vec3 lo = to_local(o - ob.centre), ld = to_local(d);
  if (ob.shape == Shape::Sphere) {
    const Vec3 oc = lo - Vec3{0, ob.sx, 0};
    const double b = dot(oc, ld), cc = dot(oc, oc) - ob.sx * ob.sx, a = dot(ld, ld);
    const double disc = b * b - a * cc;
    if (disc < 0) return;
    const double t = (-b - std::sqrt(disc)) / a;
    if (t <= 1e-6 || t >= best.t) return;
    const Vec3 p = oc + ld * t;
    best = {t, to_world(normalized(p)), std::atan2(p.z, p.x) * ob.sx, p.y, index};
  } else if (ob.shape == Shape::Box) {
    const double half[3] = {ob.sx, ob.sy, ob.sz}, orig[3] = {lo.x, lo.y - ob.sy, lo.z}, dir[3] = {ld.x, ld.y, ld.z};
    double t0 = -INFINITY, t1 = INFINITY;
    int axis = -1;
    for (int k = 0; k < 3; ++k) {
      if (std::fabs(dir[k]) < 1e-12) {
        if (std::fabs(orig[k]) > half[k]) return;
        continue;
      }
      double ta = (-half[k] - orig[k]) / dir[k], tb = (half[k] - orig[k]) / dir[k];
      if (ta > tb) std::swap(ta, tb);
      if (ta > t0) {
        t0 = ta;
        axis = k;
      }
      t1 = std::min(t1, tb);
    }
    if (t0 > t1 || t0 <= 1e-6 || t0 >= best.t || axis < 0) return;
    Vec3 n;
    const double sign = dir[axis] > 0 ? -1 : 1;
    (axis == 0 ? n.x : axis == 1 ? n.y : n.z) = sign;
    const Vec3 p = lo + ld * t0;
    best = {t0, to_world(n), axis == 0 ? p.z : p.x, axis == 1 ? p.z : p.y, index};
  } else {  // cylinder: side and top cap
    const double a = ld.x * ld.x + ld.z * ld.z, b = lo.x * ld.x + lo.z * ld.z, cc = lo.x * lo.x + lo.z * lo.z - ob.sx * ob.sx;
    if (a > 1e-12) {
      const double disc = b * b - a * cc;
      if (disc >= 0) {
        const double t = (-b - std::sqrt(disc)) / a;
        const double y = lo.y + ld.y * t;
        if (t > 1e-6 && t < best.t && y >= 0 && y <= ob.sy) {
          const Vec3 p = lo + ld * t;
          best = {t, to_world(normalized({p.x, 0, p.z})), std::atan2(p.z, p.x) * ob.sx, y, index};
        }
      }
    }
    if (std::fabs(ld.y) > 1e-12) {
      const double t = (ob.sy - lo.y) / ld.y;
      const Vec3 p = lo + ld * t;
      if (t > 1e-6 && t < best.t && p.x * p.x + p.z * p.z <= ob.sx * ob.sx) best = {t, {0, 1, 0}, p.x, p.z, index};
    }
  }
}

}  // namespace

SceneStyle parse_scene_style(const std::string& name) {
  if (name == "shapes") return SceneStyle::Shapes;
  if (name == "tabletop") return SceneStyle::Tabletop;
  throw Error("synthetic scenes: unknown style '" + name + "' (shapes, tabletop)");
}

DepthSensor parse_depth_sensor(const std::string& name) {
  if (name == "mixed") return DepthSensor::Mixed;
  if (name == "realsense") return DepthSensor::RealSense;
  if (name == "kinect") return DepthSensor::Kinect;
  if (name == "perfect") return DepthSensor::Perfect;
  throw Error("synthetic scenes: unknown depth sensor '" + name + "' (mixed, realsense, kinect, perfect)");
}

std::vector<std::string> synth_category_names(bool single_class) {
  if (single_class) return {"object"};
  return {"box", "cylinder", "sphere"};
}

SynthScene render_synthetic_scene(const SynthOptions& opt, int64_t index) {
  if (opt.style == SceneStyle::Tabletop) return render_tabletop_scene(opt, index);
  if (opt.height < 8 || opt.width < 8) throw Error("synthetic scenes: size must be at least 8x8");
  if (opt.min_objects < 1 || opt.max_objects < opt.min_objects) {
    throw Error("synthetic scenes: need 1 <= min_objects <= max_objects");
  }
  Rng rng(opt.seed * 0x100000001b3ULL + static_cast<uint64_t>(index) * 0x9e3779b97f4a7c15ULL + 1);
  const int H = opt.height, W = opt.width;
  SynthScene scene;
  // Kinect-like field of view (fx = 525 at 640 px wide), principal point at the centre.
  scene.fx = scene.fy = 525.0 * W / 640.0;
  scene.cx = (W - 1) / 2.0;
  scene.cy = (H - 1) / 2.0;

  // Camera above the table edge, looking down at the table centre.
  const double cam_height = rng.uniform(0.45, 0.9), cam_back = rng.uniform(0.5, 0.9);
  const Vec3 eye{rng.uniform(-0.1, 0.1), cam_height, -cam_back};
  const Vec3 target{rng.uniform(-0.05, 0.05), 0.0, rng.uniform(0.0, 0.1)};
  const Vec3 forward = normalized(target - eye);
  const Vec3 right = normalized(cross(forward, Vec3{0, 1, 0}));  // camera x (image right)
  const Vec3 down = cross(forward, right);                                // camera y (image down)
  const double wall_z = rng.uniform(0.6, 1.2);
  const Texture table = random_texture(rng), wall = random_texture(rng);
  const Vec3 light = normalized({rng.uniform(-0.5, 0.5), 1.0, rng.uniform(-0.8, 0.2)});

  // Objects, placed without overlapping footprints.
  std::vector<Object> objects;
  const int n = rng.integer(opt.min_objects, opt.max_objects);
  int placed = 0;
  for (int attempt = 0; attempt < n * 20 && placed < n; ++attempt) {
    Object ob;
    ob.shape = static_cast<Shape>(rng.integer(1, 3));
    ob.yaw = rng.uniform(0, M_PI);
    ob.cos_yaw = std::cos(ob.yaw);
    ob.sin_yaw = std::sin(ob.yaw);
    if (ob.shape == Shape::Box) {
      ob.sx = rng.uniform(0.02, 0.08);
      ob.sy = rng.uniform(0.015, 0.08);
      ob.sz = rng.uniform(0.02, 0.08);
    } else if (ob.shape == Shape::Cylinder) {
      ob.sx = rng.uniform(0.02, 0.05);
      ob.sy = rng.uniform(0.04, 0.16);
    } else {
      ob.sx = rng.uniform(0.02, 0.06);
    }
    const double footprint = ob.shape == Shape::Box ? std::hypot(ob.sx, ob.sz) : ob.sx;
    auto radius = [](const Object& o) { return o.shape == Shape::Box ? std::hypot(o.sx, o.sz) : o.sx; };
    // Some objects touch a neighbour and share its texture: only depth edges separate them.
    int neighbour = -1;
    if (!objects.empty() && rng.uniform() < opt.touching_prob) {
      neighbour = rng.integer(0, static_cast<int>(objects.size()) - 1);
      const Object& other = objects[static_cast<size_t>(neighbour)];
      const double angle = rng.uniform(0, 2 * M_PI), distance = footprint + radius(other);
      ob.centre = {other.centre.x + distance * std::cos(angle), 0.0, other.centre.z + distance * std::sin(angle)};
    } else {
      ob.centre = {rng.uniform(-0.25, 0.25), 0.0, rng.uniform(-0.15, 0.35)};
    }
    bool clear = ob.centre.z + footprint < wall_z && std::fabs(ob.centre.x) < 0.4 && ob.centre.z > -0.3;
    for (size_t k = 0; k < objects.size(); ++k) {
      const double gap = static_cast<int>(k) == neighbour ? -1e-9 : 0.005;
      const double d = std::hypot(ob.centre.x - objects[k].centre.x, ob.centre.z - objects[k].centre.z);
      if (d < footprint + radius(objects[k]) + gap) clear = false;
    }
    if (!clear) continue;
    if (neighbour >= 0) {
      ob.texture = objects[static_cast<size_t>(neighbour)].texture;
    } else {
      // Some objects wear the table's texture: only depth separates them from it.
      ob.texture = rng.uniform() < opt.same_texture_prob ? table : random_texture(rng);
    }
    ob.instance = placed++;
    objects.push_back(ob);
    // Unions: a second primitive standing on a box or cylinder, the same object.
    if (ob.shape != Shape::Sphere && rng.uniform() < opt.union_prob) {
      Object top;
      top.shape = static_cast<Shape>(rng.integer(1, 3));
      top.yaw = rng.uniform(0, M_PI);
      top.cos_yaw = std::cos(top.yaw);
      top.sin_yaw = std::sin(top.yaw);
      const double room = 0.9 * (ob.shape == Shape::Box ? std::min(ob.sx, ob.sz) : ob.sx);  // stays on the base
      if (top.shape == Shape::Box) {
        top.sx = rng.uniform(0.4, 1.0) * room / std::sqrt(2.0);
        top.sz = rng.uniform(0.4, 1.0) * room / std::sqrt(2.0);
        top.sy = rng.uniform(0.01, 0.05);
      } else {
        top.sx = rng.uniform(0.4, 1.0) * room;
        top.sy = rng.uniform(0.02, 0.1);
      }
      top.centre = {ob.centre.x, part_height(ob), ob.centre.z};
      top.texture = rng.uniform() < 0.5 ? ob.texture : random_texture(rng);
      top.instance = ob.instance;
      objects.push_back(top);
    }
  }

  // Ray-cast every pixel.
  cv::Mat depth(H, W, CV_32FC1), normal_dot(H, W, CV_32FC1), brightness(H, W, CV_32FC1);
  cv::Mat ids(H, W, CV_32SC1);
  scene.rgb.create(H, W, CV_8UC3);
  for (int y = 0; y < H; ++y) {
    for (int x = 0; x < W; ++x) {
      // Direction with unit camera-frame z, so t is the camera-frame depth.
      const Vec3 d = forward + right * ((x - scene.cx) / scene.fx) + down * ((y - scene.cy) / scene.fy);
      Hit hit;
      for (size_t k = 0; k < objects.size(); ++k) intersect(objects[k], static_cast<int>(k), eye, d, hit);
      Texture background;
      if (hit.object < 0) {
        const double t_table = d.y < 0 ? -eye.y / d.y : INFINITY;
        const double t_wall = d.z > 0 ? (wall_z - eye.z) / d.z : INFINITY;
        const Vec3 p_table = eye + d * t_table;
        if (t_table < t_wall && p_table.z < wall_z) {
          hit = {t_table, {0, 1, 0}, p_table.x, p_table.z, -1};
          background = table;
        } else {
          const Vec3 p = eye + d * t_wall;
          hit = {t_wall, {0, 0, -1}, p.x, p.y, -1};
          background = wall;
        }
      }
      const Texture& tex = hit.object >= 0 ? objects[static_cast<size_t>(hit.object)].texture : background;
      const auto albedo = tex.at(hit.u, hit.v);
      brightness.at<float>(y, x) = static_cast<float>(0.299 * albedo[0] + 0.587 * albedo[1] + 0.114 * albedo[2]);
      const double lambert = std::max(0.0, dot(hit.normal, light));
      uint8_t* px = scene.rgb.ptr<uint8_t>(y) + 3 * x;
      for (int c = 0; c < 3; ++c) {
        // Sensor noise: triangular, sd ~0.02 (cheaper than a Gaussian per channel).
        const double v = albedo[static_cast<size_t>(c)] * (0.35 + 0.65 * lambert) + 0.035 * (rng.uniform() - rng.uniform());
        px[c] = static_cast<uint8_t>(std::clamp(v * 255.0, 0.0, 255.0));
      }
      depth.at<float>(y, x) = static_cast<float>(hit.t);
      ids.at<int>(y, x) = hit.object >= 0 ? objects[static_cast<size_t>(hit.object)].instance : -1;
      normal_dot.at<float>(y, x) = static_cast<float>(std::fabs(dot(hit.normal, normalized(d))));
    }
  }

  // Sensor model: drop readings at grazing angles and at depth edges, then
  // add noise growing with distance and quantise to whole millimetres.
  scene.depth_m = cv::Mat::zeros(H, W, CV_32FC1);
  for (int y = 0; y < H; ++y) {
    for (int x = 0; x < W; ++x) {
      const float z = depth.at<float>(y, x);
      bool valid = normal_dot.at<float>(y, x) > 0.12f;
      // Dark surfaces return too little IR light for a reading.
      if (opt.depth_noise > 0 && brightness.at<float>(y, x) < 0.15f && rng.uniform() < 0.7) valid = false;
      if (opt.depth_noise > 0 && x > 0 && y > 0 && x < W - 1 && y < H - 1) {
        const float jump = std::max({std::fabs(depth.at<float>(y, x - 1) - z), std::fabs(depth.at<float>(y, x + 1) - z),
                                     std::fabs(depth.at<float>(y - 1, x) - z), std::fabs(depth.at<float>(y + 1, x) - z)});
        if (jump > 0.03f && rng.uniform() < 0.6) valid = false;
      }
      if (!valid) continue;
      const double sigma = opt.depth_noise * (0.0012 + 0.0019 * (z - 0.4) * (z - 0.4));
      const double noisy = z + sigma * rng.normal();
      // Disparity quantisation: depth steps grow with z^2 (1/8 px disparity at
      // f = 525 px, baseline 7.5 cm gives ~3.2 mm at 1 m), then whole millimetres.
      const double step = std::max(0.001, 0.0032 * noisy * noisy);
      const double quantised = std::round(noisy / step) * step;
      scene.depth_m.at<float>(y, x) = static_cast<float>(std::round(quantised * 1000.0) / 1000.0);
    }
  }

  for (size_t k = 0; k < objects.size(); ++k) {
    if (k > 0 && objects[k].instance == objects[k - 1].instance) continue;  // a union's top part
    SynthInstance inst;
    // A union takes its base's class.
    inst.category_id = opt.single_class ? 1 : static_cast<int>(objects[k].shape);
    inst.mask = (ids == objects[k].instance) / 255;  // 0/1
    if (cv::countNonZero(inst.mask) < opt.min_visible_pixels) continue;
    scene.instances.push_back(std::move(inst));
  }
  return scene;
}

SynthSummary write_synthetic_dataset(const std::string& out_dir, int64_t num, const SynthOptions& options, int threads,
                                     const std::function<bool(int64_t, int64_t)>& progress, bool force) {
  if (num <= 0) throw Error("synthetic scenes: --num must be positive, got " + std::to_string(num));
  const auto names = synth_category_names(options.single_class || options.style == SceneStyle::Tabletop);
  std::vector<std::pair<int64_t, std::string>> categories;
  for (size_t c = 0; c < names.size(); ++c) categories.emplace_back(static_cast<int64_t>(c) + 1, names[c]);
  DatasetWriter writer(out_dir, categories, force,
                       "rgbdseg synthetic RGB-D scenes, seed " + std::to_string(options.seed));
  std::atomic<int64_t> done{0};
  std::mutex progress_mutex;
  parallel_for(static_cast<size_t>(num), threads, [&](size_t i) {
    const SynthScene scene = render_synthetic_scene(options, static_cast<int64_t>(i));
    std::vector<InstanceMask> masks;
    for (const auto& inst : scene.instances) masks.push_back({inst.category_id, inst.mask, false});
    char stem[32];
    std::snprintf(stem, sizeof stem, "%06zu", i);
    writer.add(stem, scene.rgb, scene.depth_m, masks, Intrinsics{scene.fx, scene.fy, scene.cx, scene.cy});
    const int64_t d = ++done;
    if (progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress(d, num);
    }
  });
  const ConversionSummary written = writer.finish();
  SynthSummary summary;
  summary.annotations_path = written.annotations_path;
  summary.images = written.images;
  summary.instances = written.instances;
  return summary;
}

}  // namespace rgbdseg
