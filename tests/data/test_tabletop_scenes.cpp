// The `tabletop` (sim-to-real) synthetic scenes and the depth sensor model.
// Expected values are computed here from the sensor's geometry (disparity
// d = f b / z), not read back from the implementation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <set>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/data/synthetic_scenes.h"
#include "temp_dir.h"

using namespace rgbdseg;

namespace {

SynthOptions tabletop(int height = 96, int width = 160) {
  SynthOptions o;
  o.style = SceneStyle::Tabletop;
  o.height = height;
  o.width = width;
  o.seed = 11;
  o.max_objects = 8;
  o.min_visible_pixels = 10;
  return o;
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// A sensor with every random effect off: only shadows and quantisation remain.
DepthSensorModel plain_sensor() {
  DepthSensorModel m;
  m.focal_native = 640;
  m.baseline = 0.05;
  m.subpixel = 0.0;
  m.step = 1.0 / 32;
  m.correlated = 0.0;
  m.misregistration = false;
  m.speckles = false;
  m.edge_effects = false;
  return m;
}

}  // namespace

TEST(TabletopScenes, DeterministicClassAgnosticWithDisjointMasks) {
  const SynthOptions options = tabletop();
  size_t most = 0;
  for (int index = 0; index < 8; ++index) {
    const SynthScene a = render_synthetic_scene(options, index), b = render_synthetic_scene(options, index);
    ASSERT_TRUE(same(a.rgb, b.rgb));
    ASSERT_TRUE(same(a.depth_m, b.depth_m));
    ASSERT_EQ(a.rgb.rows, 96);
    ASSERT_EQ(a.rgb.cols, 160);
    most = std::max(most, a.instances.size());
    cv::Mat owner = cv::Mat::zeros(96, 160, CV_8UC1);
    for (const auto& inst : a.instances) {
      EXPECT_EQ(inst.category_id, 1);  // one "object" class
      EXPECT_GE(cv::countNonZero(inst.mask), options.min_visible_pixels);
      EXPECT_EQ(cv::countNonZero(owner & (inst.mask != 0)), 0) << "masks overlap";
      owner.setTo(255, inst.mask != 0);
    }
    double lo = 0, hi = 0;
    cv::minMaxLoc(a.depth_m, &lo, &hi, nullptr, nullptr, a.depth_m > 0);
    EXPECT_GT(lo, 0.05);
    EXPECT_LE(hi, 10.0);
  }
  EXPECT_GE(most, 2u);  // several objects per scene, not one
  EXPECT_EQ(synth_category_names(true), std::vector<std::string>{"object"});
}

TEST(TabletopScenes, NeighbouringIndicesAreUnrelated) {
  // splitmix64 states one increment apart give the same numbers shifted by one
  // draw; the scene seed is hashed so that neighbouring scenes share nothing.
  std::set<std::vector<uchar>> first_rows;
  SynthOptions options = tabletop(32, 48);
  for (int index = 0; index < 12; ++index) {
    const SynthScene s = render_synthetic_scene(options, index);
    first_rows.insert(std::vector<uchar>(s.rgb.ptr<uchar>(0), s.rgb.ptr<uchar>(0) + 48 * 3));
  }
  EXPECT_EQ(first_rows.size(), 12u);
  // And the style has a stream of its own: not the `shapes` scene of that index.
  options.style = SceneStyle::Shapes;
  const SynthScene shapes = render_synthetic_scene(options, 0);
  EXPECT_FALSE(same(shapes.rgb, render_synthetic_scene(tabletop(32, 48), 0).rgb));
}

TEST(TabletopScenes, TheSensorChangesOnlyDepth) {
  SynthOptions perfect = tabletop(), realsense = tabletop(), kinect = tabletop();
  perfect.sensor = DepthSensor::Perfect;
  realsense.sensor = DepthSensor::RealSense;
  kinect.sensor = DepthSensor::Kinect;
  for (int index = 0; index < 4; ++index) {
    const SynthScene p = render_synthetic_scene(perfect, index), r = render_synthetic_scene(realsense, index),
                     k = render_synthetic_scene(kinect, index);
    ASSERT_TRUE(same(p.rgb, r.rgb));
    ASSERT_TRUE(same(p.rgb, k.rgb));
    ASSERT_EQ(p.instances.size(), r.instances.size());
    for (size_t i = 0; i < p.instances.size(); ++i) ASSERT_TRUE(same(p.instances[i].mask, r.instances[i].mask));
    EXPECT_EQ(cv::countNonZero(p.depth_m <= 0), 0);  // perfect: every pixel read
    for (const SynthScene* s : {&r, &k}) {
      const int holes = cv::countNonZero(s->depth_m <= 0);
      EXPECT_GT(holes, 0);                       // shadows, edges, speckles
      EXPECT_LT(holes, s->depth_m.total() / 2);  // but mostly readings
      // Where both read, within a few centimetres (noise grows with z^2; edges blend).
      cv::Mat both = (s->depth_m > 0) & (p.depth_m > 0), diff;
      cv::absdiff(s->depth_m, p.depth_m, diff);
      std::vector<float> d;
      for (int y = 0; y < diff.rows; ++y)
        for (int x = 0; x < diff.cols; ++x)
          if (both.at<uchar>(y, x)) d.push_back(diff.at<float>(y, x));
      std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
      EXPECT_LT(d[d.size() / 2], 0.02f) << "median |sensor - true| in metres, scene " << index;
    }
  }
}

TEST(TabletopScenes, ParsesItsNamesAndRejectsOthers) {
  EXPECT_EQ(parse_scene_style("tabletop"), SceneStyle::Tabletop);
  EXPECT_EQ(parse_scene_style("shapes"), SceneStyle::Shapes);
  EXPECT_EQ(parse_depth_sensor("kinect"), DepthSensor::Kinect);
  EXPECT_THROW(parse_scene_style("table"), Error);
  EXPECT_THROW(parse_depth_sensor("lidar"), Error);
}

TEST(TabletopScenes, WritesAClassAgnosticDataset) {
  rgbdseg::testing::ScopedTempDir dir;
  const SynthOptions options = tabletop(48, 80);
  const auto one = write_synthetic_dataset(dir.file("a"), 5, options, 1);
  const auto two = write_synthetic_dataset(dir.file("b"), 5, options, 2);
  EXPECT_EQ(read_file(one.annotations_path), read_file(two.annotations_path));  // thread-independent
  const auto ann = nlohmann::json::parse(read_file(one.annotations_path));
  ASSERT_EQ(ann["categories"].size(), 1u);
  EXPECT_EQ(ann["categories"][0]["name"], "object");
  EXPECT_EQ(ann["images"].size(), 5u);
}

// ---- the sensor model against its geometry ----

TEST(DepthSensorModel, ShadowBandIsTheDisparityJumpWide) {
  // Background at 2 m on the left, a foreground wall at 0.5 m from x = 80 on.
  // The second view sees the background behind the wall's edge shifted by
  // f b (1/0.5 - 1/2) = 400 * 0.05 * 1.5 = 30 px: those pixels have no reading.
  const int H = 4, W = 160;
  cv::Mat z(H, W, CV_32FC1, cv::Scalar(2.0f));
  z.colRange(80, W).setTo(0.5f);
  const cv::Mat none = cv::Mat::zeros(H, W, CV_8UC1);
  DepthSensorModel m = plain_sensor();
  const cv::Mat left = simulate_depth_sensor(z, none, none, /*fx=*/400, m, 1);
  for (int y = 0; y < H; ++y) {
    const int band = cv::countNonZero(left.row(y).colRange(0, 80) == 0);
    EXPECT_NEAR(band, 30, 1) << "row " << y;
    EXPECT_EQ(cv::countNonZero(left.row(y).colRange(0, 49) == 0), 0);  // the band touches the wall
    EXPECT_EQ(cv::countNonZero(left.row(y).colRange(80, W) == 0), 0);  // the wall itself reads
  }
  // Mirrored: the shadow falls right of a wall on the left.
  cv::Mat mirrored;
  cv::flip(z, mirrored, 1);
  m.shadow_left = false;
  const cv::Mat right = simulate_depth_sensor(mirrored, none, none, 400, m, 1);
  EXPECT_NEAR(cv::countNonZero(right.row(0).colRange(80, W) == 0), 30, 1);
  // Twice the baseline, twice the band.
  m.shadow_left = true;
  m.baseline = 0.1;
  EXPECT_NEAR(cv::countNonZero(simulate_depth_sensor(z, none, none, 400, m, 1).row(0) == 0), 60, 1);
}

TEST(DepthSensorModel, QuantisesInDisparity) {
  // Without noise, the reading is f b / round(f b / z / step) / step, in whole millimetres.
  const DepthSensorModel m = plain_sensor();
  const double fb = m.focal_native * m.baseline;
  const cv::Mat none = cv::Mat::zeros(1, 1, CV_8UC1);
  for (const double z : {0.437, 1.0, 1.733, 3.21, 6.5}) {
    const cv::Mat in(1, 1, CV_32FC1, cv::Scalar(static_cast<float>(z)));
    const double d = std::round(fb / static_cast<float>(z) / m.step) * m.step;
    const double expected = std::round(fb / d * 1000.0) / 1000.0;
    EXPECT_NEAR(simulate_depth_sensor(in, none, none, 400, m, 3).at<float>(0, 0), expected, 1e-6) << z;
  }
  // Steps grow with z^2: around 6.5 m a 1/32 px step is z^2 step / (f b) = 4.1 cm.
  std::set<float> readings;
  for (double z = 6.3; z < 6.7; z += 0.001) {
    const cv::Mat in(1, 1, CV_32FC1, cv::Scalar(static_cast<float>(z)));
    readings.insert(simulate_depth_sensor(in, none, none, 400, m, 3).at<float>(0, 0));
  }
  ASSERT_GE(readings.size(), 8u);
  for (auto it = std::next(readings.begin()); it != readings.end(); ++it) {
    const double z = *it, gap = *it - *std::prev(it);
    EXPECT_NEAR(gap, z * z * m.step / fb, 0.05 * z * z * m.step / fb + 0.001) << z;
  }
}

TEST(DepthSensorModel, NoiseGrowsWithTheSquareOfDepth) {
  // Uncorrelated disparity noise of RMS s px gives depth noise z^2 s / (f b).
  DepthSensorModel m = plain_sensor();
  m.subpixel = 0.1;
  m.step = 1e-6;  // quantisation out of the way
  const int n = 200;
  const cv::Mat none = cv::Mat::zeros(n, n, CV_8UC1);
  double sd_at[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    const double z = 1.0 + k;
    const cv::Mat in(n, n, CV_32FC1, cv::Scalar(static_cast<float>(z)));
    const cv::Mat out = simulate_depth_sensor(in, none, none, 400, m, 7 + k);
    cv::Scalar mean, sd;
    cv::meanStdDev(out, mean, sd);
    const double expected = z * z * m.subpixel / (m.focal_native * m.baseline);
    EXPECT_NEAR(mean[0], z, 3 * expected / n + 1e-3);
    EXPECT_NEAR(sd[0], expected, 0.05 * expected) << "z = " << z;
    sd_at[k] = sd[0];
  }
  EXPECT_NEAR(sd_at[1] / sd_at[0], 4.0, 0.3);
}

TEST(DepthSensorModel, DarkShinyAndGrazingSurfacesLoseReadings) {
  const int n = 96;
  const cv::Mat z(n, n, CV_32FC1, cv::Scalar(1.0f)), none = cv::Mat::zeros(n, n, CV_8UC1),
                all = cv::Mat::ones(n, n, CV_8UC1);
  const DepthSensorModel m = plain_sensor();
  EXPECT_EQ(cv::countNonZero(simulate_depth_sensor(z, none, all, 400, m, 1)), 0);  // grazing: nothing
  EXPECT_EQ(cv::countNonZero(simulate_depth_sensor(z, none, none, 400, m, 1)), n * n);
  // No return: lost in patches, some of the surface but not a salt-and-pepper pattern.
  int lost_total = 0;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const cv::Mat out = simulate_depth_sensor(z, all, none, 400, m, seed);
    const cv::Mat lost = out == 0;
    lost_total += cv::countNonZero(lost);
    // Patches: most lost pixels have a lost right neighbour.
    const int pairs = cv::countNonZero(lost.colRange(0, n - 1) & lost.colRange(1, n));
    if (cv::countNonZero(lost) > 100) {
      EXPECT_GT(pairs, 0.8 * cv::countNonZero(lost.colRange(0, n - 1)));
    }
  }
  EXPECT_GT(lost_total, 8 * n * n / 10);
  EXPECT_LT(lost_total, 8 * n * n);
  EXPECT_THROW(simulate_depth_sensor(z, none.colRange(0, 10).clone(), none, 400, m, 1), Error);
}

TEST(DepthSensorModel, PerfectOnlyRoundsToMillimetres) {
  DepthSensorModel m;
  m.perfect = true;
  const cv::Mat z(2, 2, CV_32FC1, cv::Scalar(1.23456f)), none = cv::Mat::zeros(2, 2, CV_8UC1);
  const cv::Mat out = simulate_depth_sensor(z, none, none, 400, m, 1);
  EXPECT_NEAR(out.at<float>(1, 1), 1.235f, 1e-6);
}
