// Transforms keep colour, depth and masks aligned; depth is never blended
// across holes; the loader is deterministic for a seed whatever the thread count.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/core.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/data/loader.h"
#include "rgbdseg/data/synthetic_scenes.h"
#include "temp_dir.h"

using namespace rgbdseg;
using ::testing::HasSubstr;

namespace {

// 4x6 sample: colour encodes x, depth encodes y, one mask on the left column.
Sample gradient_sample() {
  Sample s;
  s.rgb.create(4, 6, CV_8UC3);
  s.depth.create(4, 6, CV_32FC1);
  cv::Mat mask = cv::Mat::zeros(4, 6, CV_8UC1);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x) {
      s.rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(10 * x), 0, 0);
      s.depth.at<float>(y, x) = 1.0f + 0.1f * static_cast<float>(y);
    }
  mask.col(0).setTo(1);
  s.masks = {mask};
  s.category_ids = {7};
  return s;
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

}  // namespace

TEST(Transforms, FlipMovesColourDepthAndMasksTogether) {
  Sample s = gradient_sample();
  hflip(s);
  EXPECT_EQ(s.rgb.at<cv::Vec3b>(0, 0)[0], 50);  // was column 5
  EXPECT_EQ(s.masks[0].at<uint8_t>(2, 5), 1);   // mask moved to the right column
  EXPECT_EQ(s.masks[0].at<uint8_t>(2, 0), 0);
  EXPECT_FLOAT_EQ(s.depth.at<float>(3, 0), 1.3f);  // rows unchanged
}

TEST(Transforms, HoleAwareDownsamplingNeverMixesHolesIntoDepth) {
  // Each 2x2 block holds one hole and three readings of 2.0 m: hole-aware
  // averaging gives exactly 2.0 (bilinear/area would give 1.5).
  Sample s = gradient_sample();
  s.depth.setTo(2.0f);
  for (int y = 0; y < 4; y += 2)
    for (int x = 0; x < 6; x += 2) s.depth.at<float>(y, x) = 0;
  Sample h = s;
  resize_sample(h, 2, 3, DepthResize::HoleAwareArea);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) EXPECT_FLOAT_EQ(h.depth.at<float>(y, x), 2.0f);
  // All-hole blocks stay holes.
  Sample all_holes = s;
  all_holes.depth.setTo(0.0f);
  resize_sample(all_holes, 2, 3, DepthResize::HoleAwareArea);
  EXPECT_EQ(cv::countNonZero(all_holes.depth), 0);
  // Nearest: every output value is one of the inputs.
  Sample n = s;
  resize_sample(n, 3, 5, DepthResize::Nearest);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) {
      const float v = n.depth.at<float>(y, x);
      EXPECT_TRUE(v == 0.0f || v == 2.0f) << v;
    }
}

TEST(Transforms, CropDropsInstancesThatLeaveTheImageAndPadMarksNothing) {
  Sample s = gradient_sample();
  crop(s, cv::Rect(2, 0, 4, 4));  // the mask lived in column 0
  EXPECT_TRUE(s.masks.empty());
  EXPECT_EQ(s.rgb.cols, 4);
  EXPECT_EQ(s.rgb.at<cv::Vec3b>(0, 0)[0], 20);
  pad_to(s, 6, 8);
  EXPECT_EQ(s.depth.rows, 6);
  EXPECT_FLOAT_EQ(s.depth.at<float>(5, 7), 0.0f);  // padding is invalid depth
  EXPECT_THROW(crop(s, cv::Rect(100, 100, 2, 2)), Error);
}

TEST(Transforms, LargeScaleJitterGivesFixedSquares) {
  for (int seed = 0; seed < 8; ++seed) {
    SynthOptions o;
    o.height = 48;
    o.width = 64;
    const SynthScene scene = render_synthetic_scene(o, seed);
    Sample s{scene.rgb, scene.depth_m, {}, {}, 1, 48, 64};
    for (const auto& inst : scene.instances) {
      s.masks.push_back(inst.mask);
      s.category_ids.push_back(inst.category_id);
    }
    SampleRng rng(static_cast<uint64_t>(seed));
    large_scale_jitter(s, 32, 0.1, 2.0, DepthResize::HoleAwareArea, rng);
    EXPECT_EQ(s.rgb.size(), cv::Size(32, 32));
    EXPECT_EQ(s.depth.size(), cv::Size(32, 32));
    for (const auto& m : s.masks) EXPECT_EQ(m.size(), cv::Size(32, 32));
    EXPECT_EQ(s.masks.size(), s.category_ids.size());
    EXPECT_EQ(s.original_height, 48);  // untouched: evaluation is at the original size
  }
}

TEST(Transforms, AugmentIsDeterministicPerSeedAndTouchesOnlyItsModality) {
  AugmentOptions o;
  o.resize = AugmentOptions::Resize::ScaleRange;
  o.min_scale = 0.5;
  o.max_scale = 1.5;
  o.depth_noise_sigma = 0.01;
  o.depth_dropout_boxes = 2;
  o.depth_dropout_max_size = 2;
  auto run = [&](uint64_t seed) {
    Sample s = gradient_sample();
    SampleRng rng(seed);
    augment(s, o, rng);
    return s;
  };
  const Sample a = run(5), b = run(5), c = run(6);
  EXPECT_TRUE(same(a.rgb, b.rgb));
  EXPECT_TRUE(same(a.depth, b.depth));
  EXPECT_FALSE(same(a.depth, c.depth) && same(a.rgb, c.rgb));
  // Colour jitter leaves depth alone; depth noise leaves colour alone.
  Sample s = gradient_sample();
  const Sample before = clone_sample(s);  // cv::Mat copies share pixels; transforms work in place
  SampleRng rng(1);
  colour_jitter(s, 0.5, 0.5, 0.5, rng);
  EXPECT_TRUE(same(s.depth, before.depth));
  EXPECT_FALSE(same(s.rgb, before.rgb));
  depth_noise(s, 0.05, rng);
  const cv::Mat rgb_after_jitter = s.rgb.clone();
  EXPECT_FALSE(same(s.depth, before.depth));
  depth_dropout(s, 1, 3, 0.0, rng);
  EXPECT_TRUE(same(s.rgb, rgb_after_jitter));
  EXPECT_GT(cv::countNonZero(s.depth == 0), 0);
}

namespace {

std::vector<Batch> run_epochs(const RgbdDataset& ds, int workers, int epochs) {
  LoaderOptions o;
  o.batch_size = 3;
  o.workers = workers;
  o.seed = 11;
  o.augment_options.resize = AugmentOptions::Resize::ScaleRange;
  o.augment_options.min_scale = 0.5;
  o.augment_options.max_scale = 1.0;
  o.augment_options.depth_noise_sigma = 0.002;
  DataLoader loader(ds, o);
  std::vector<Batch> out;
  for (int e = 0; e < epochs; ++e) {
    loader.start_epoch(e);
    Batch b;
    while (loader.next(b)) out.push_back(std::move(b));
  }
  return out;
}

}  // namespace

TEST(Loader, SameBatchesWhateverTheWorkerCount) {
  rgbdseg::testing::ScopedTempDir dir;
  SynthOptions so;
  so.height = 60;
  so.width = 80;
  const auto synth = write_synthetic_dataset(dir.file("d"), 7, so, 2);
  const RgbdDataset ds = load_rgbd_dataset(synth.annotations_path);
  const auto one = run_epochs(ds, 1, 2), three = run_epochs(ds, 3, 2);
  ASSERT_EQ(one.size(), 6u);  // ceil(7/3) = 3 batches per epoch, 2 epochs
  ASSERT_EQ(three.size(), one.size());
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].index, three[i].index);
    EXPECT_EQ(one[i].rgb, three[i].rgb) << "batch " << i;
    EXPECT_EQ(one[i].depth, three[i].depth) << "batch " << i;
    ASSERT_EQ(one[i].samples.size(), three[i].samples.size());
    for (size_t k = 0; k < one[i].samples.size(); ++k) {
      EXPECT_EQ(one[i].samples[k].image_id, three[i].samples[k].image_id);
      ASSERT_EQ(one[i].samples[k].masks.size(), three[i].samples[k].masks.size());
      for (size_t m = 0; m < one[i].samples[k].masks.size(); ++m)
        EXPECT_TRUE(same(one[i].samples[k].masks[m], three[i].samples[k].masks[m]));
    }
  }
  // Padding: multiples of 32, pixel mask = the image area, last batch of an epoch has 1 image.
  for (const auto& b : one) {
    EXPECT_EQ(b.height % 32, 0);
    EXPECT_EQ(b.width % 32, 0);
    size_t image_pixels = 0;
    for (const auto& s : b.samples) image_pixels += static_cast<size_t>(s.rgb.rows) * s.rgb.cols;
    EXPECT_EQ(static_cast<size_t>(std::count(b.pixel_mask.begin(), b.pixel_mask.end(), 1)), image_pixels);
    for (const auto& s : b.samples) EXPECT_EQ(s.original_width, 80);
  }
  EXPECT_EQ(one[2].size, 1);
  // Each epoch visits every image once, in a different order.
  std::vector<int64_t> e0, e1;
  for (size_t i = 0; i < 3; ++i)
    for (const auto& s : one[i].samples) e0.push_back(s.image_id);
  for (size_t i = 3; i < 6; ++i)
    for (const auto& s : one[i].samples) e1.push_back(s.image_id);
  EXPECT_NE(e0, e1);
  std::sort(e0.begin(), e0.end());
  std::sort(e1.begin(), e1.end());
  EXPECT_EQ(e0, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(e1, e0);
}

TEST(Loader, WorkerErrorsReachTheConsumerNamingTheFile) {
  rgbdseg::testing::ScopedTempDir dir;
  SynthOptions so;
  so.height = 40;
  so.width = 40;
  const auto synth = write_synthetic_dataset(dir.file("d"), 4, so, 1);
  DatasetOptions no_check;
  no_check.check_files = false;
  const RgbdDataset ds = load_rgbd_dataset(synth.annotations_path, no_check);
  dir.write("d/depth/000002.png", "not a png");
  LoaderOptions o;
  o.batch_size = 1;
  o.shuffle = false;
  DataLoader loader(ds, o);
  loader.start_epoch(0);
  Batch b;
  try {
    while (loader.next(b)) {
    }
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("depth/000002.png"));
  }
}
