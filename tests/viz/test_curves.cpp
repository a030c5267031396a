// Training log parsing and the training-curves picture (`rgbdseg plot`).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "error_message.h"
#include "rgbdseg/viz/curves.h"
#include "rgbdseg/viz/training_log.h"
#include "temp_dir.h"

using namespace rgbdseg;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

// A run whose loss falls from 2 to 1 linearly over steps 0..1000, lr decaying
// linearly.
TrainingLog falling_loss_log(int n = 101, bool with_eval = false) {
  TrainingLog log;
  for (int i = 0; i < n; ++i) {
    TrainRecord t;
    t.step = i * 10;
    t.loss = 2.0 - static_cast<double>(i) / (n - 1);
    t.lr = 1e-4 * (1.0 - static_cast<double>(i) / n);
    log.train.push_back(t);
  }
  if (with_eval) {
    for (int k = 1; k <= 4; ++k) log.eval.push_back({k * 250, k, 10.0 * k, 20.0 * k, 8.0 * k});
  }
  return log;
}

TrainRecord train_record(int64_t step, double lr, double loss) {
  TrainRecord t;
  t.step = step;
  t.lr = lr;
  t.loss = loss;
  return t;
}

// Pixels where blue clearly dominates: the loss colours (raw and EMA), not grey
// or orange.
bool is_loss_blue(const cv::Vec3b& p) { return p[2] > p[0] + 40 && p[2] > p[1] + 10; }

// Orange-ish lr pixels: red well above blue.
bool is_lr_orange(const cv::Vec3b& p) { return p[0] > p[2] + 80 && p[0] > 150; }

}  // namespace

// ---- parsing ----

TEST(TrainingLog, ParsesTrainEvalAndSkipRecordsIgnoringUnknownKeysAndTypes) {
  const std::string text =
      R"({"type":"meta","config":{"a":1},"commit":"abc"})"
      "\n"
      R"({"type":"train","step":10,"epoch":0,"lr":0.0001,"loss":2.5,"losses":{"mask":1.0,"dice":0.5},)"
      R"("grad_norm":3.0,"images_per_s":12.5,"time_s":4.0,"new_key":[1,2,3],"nested":{"x":null}})"
      "\n\n"
      R"({"type":"skip","step":11,"reason":"non-finite loss"})"
      "\r\n"
      R"({"type":"train","step":12,"loss":null})"
      "\n"
      R"({"type":"eval","step":20,"epoch":1,"AP":30.5,"AP50":50.25,"AP75":31.0,"APs":1.0,"per_category":[]})"
      "\n"
      R"({"no_type":true})"
      "\n";
  const TrainingLog log = parse_training_log(text, "t.jsonl");
  ASSERT_EQ(log.train.size(), 1u);
  EXPECT_EQ(log.train[0].step, 10);
  EXPECT_EQ(log.train[0].epoch, 0);
  EXPECT_DOUBLE_EQ(log.train[0].lr, 1e-4);
  EXPECT_DOUBLE_EQ(log.train[0].loss, 2.5);
  EXPECT_DOUBLE_EQ(log.train[0].losses.at("dice"), 0.5);
  EXPECT_DOUBLE_EQ(log.train[0].grad_norm, 3.0);
  EXPECT_DOUBLE_EQ(log.train[0].images_per_s, 12.5);
  EXPECT_DOUBLE_EQ(log.train[0].time_s, 4.0);
  ASSERT_EQ(log.eval.size(), 1u);
  EXPECT_EQ(log.eval[0].step, 20);
  EXPECT_DOUBLE_EQ(log.eval[0].ap, 30.5);
  EXPECT_DOUBLE_EQ(log.eval[0].ap50, 50.25);
  EXPECT_DOUBLE_EQ(log.eval[0].ap75, 31.0);
  EXPECT_THAT(log.skipped_steps, ElementsAre(11, 12));  // the skip record and the null loss
  EXPECT_FALSE(log.partial_last_line);
}

TEST(TrainingLog, OptionalFieldsAbsentAreNaN) {
  const TrainingLog log = parse_training_log(R"({"type":"train","step":3,"loss":1})", "t.jsonl");
  ASSERT_EQ(log.train.size(), 1u);
  EXPECT_TRUE(std::isnan(log.train[0].lr));
  EXPECT_TRUE(std::isnan(log.train[0].grad_norm));
  EXPECT_TRUE(log.train[0].losses.empty());
}

TEST(TrainingLog, BadLineErrorNamesFileAndLineNumber) {
  const std::string text =
      "{\"type\":\"train\",\"step\":1,\"loss\":1.0}\n"
      "\n"
      "{\"type\":\"train\",\"step\":2,\"loss\":0.9}\n"
      "{\"type\":\"train\",\"step\":3,\"loss\":\n"
      "{\"type\":\"train\",\"step\":4,\"loss\":0.8}\n";
  const std::string message = error_message([&] { parse_training_log(text, "run/train.jsonl"); });
  EXPECT_THAT(message, HasSubstr("run/train.jsonl:4: not JSON"));
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(TrainingLog, WrongTypesAndMissingFieldsNameTheLine) {
  EXPECT_THAT(error_message([] { parse_training_log("[1, 2]\n", "a.jsonl"); }),
              HasSubstr("a.jsonl:1: not a JSON object"));
  EXPECT_THAT(error_message([] { parse_training_log("{}\n{\"type\":\"train\",\"step\":1}\n", "a.jsonl"); }),
              HasSubstr("a.jsonl:2: train record: no \"loss\""));
  EXPECT_THAT(error_message([] { parse_training_log("{\"type\":\"train\",\"step\":1,\"loss\":\"x\"}\n", "a.jsonl"); }),
              HasSubstr("a.jsonl:1: train record: \"loss\" is not a number"));
  EXPECT_THAT(error_message([] { parse_training_log("{\"type\":\"eval\",\"step\":1.5}\n", "a.jsonl"); }),
              HasSubstr("a.jsonl:1: eval record: \"step\" is not an integer"));
}

TEST(TrainingLog, IncompleteLastLineOfALiveLogIsLeftOut) {
  const TrainingLog log =
      parse_training_log("{\"type\":\"train\",\"step\":1,\"loss\":1.0}\n{\"type\":\"train\",\"st", "t.jsonl");
  EXPECT_EQ(log.train.size(), 1u);
  EXPECT_TRUE(log.partial_last_line);
}

TEST(TrainingLog, ReadNamesAMissingFile) {
  EXPECT_THAT(error_message([] { read_training_log("/nonexistent/train.jsonl"); }),
              HasSubstr("/nonexistent/train.jsonl"));
}

// ---- EMA and ticks ----

TEST(Curves, EmaMatchesAHandCalculation) {
  // s = 0.9: 1; 0.9*1 + 0.1*3 = 1.2; 0.9*1.2 + 0.1*5 = 1.58; 0.9*1.58 + 0.1*1
  // = 1.522
  const std::vector<double> ema = exponential_moving_average({1, 3, 5, 1}, 0.9);
  ASSERT_EQ(ema.size(), 4u);
  EXPECT_DOUBLE_EQ(ema[0], 1.0);
  EXPECT_DOUBLE_EQ(ema[1], 1.2);
  EXPECT_DOUBLE_EQ(ema[2], 1.58);
  EXPECT_DOUBLE_EQ(ema[3], 1.522);
  // s = 0: the raw values; a NaN gives NaN and leaves the average unchanged.
  EXPECT_THAT(exponential_moving_average({4, 2}, 0.0), ElementsAre(4.0, 2.0));
  const std::vector<double> gap = exponential_moving_average({2, NAN, 4}, 0.5);
  EXPECT_DOUBLE_EQ(gap[0], 2.0);
  EXPECT_TRUE(std::isnan(gap[1]));
  EXPECT_DOUBLE_EQ(gap[2], 3.0);
}

TEST(Curves, NiceTicksAreRoundNumbersInsideTheRange) {
  EXPECT_THAT(nice_ticks(0, 10, 6), ElementsAre(0, 2, 4, 6, 8, 10));
  EXPECT_THAT(nice_ticks(-3, 97, 6), ElementsAre(0, 20, 40, 60, 80));
  const std::vector<double> lr = nice_ticks(0, 1e-4, 6);
  ASSERT_EQ(lr.size(), 6u);
  EXPECT_NEAR(lr[1], 2e-5, 1e-15);
  const std::vector<double> small = nice_ticks(0.93, 1.07, 8);
  ASSERT_GE(small.size(), 3u);
  for (double t : small) {
    EXPECT_GE(t, 0.93);
    EXPECT_LE(t, 1.07);
    EXPECT_NEAR(t * 50, std::round(t * 50), 1e-9) << t;  // multiples of 0.02
  }
}

// ---- the picture ----

TEST(Curves, ImageHasTheRequestedSize) {
  const TrainingLog log = falling_loss_log();
  const cv::Mat img = draw_training_curves(log);
  EXPECT_EQ(img.cols, 1200);
  EXPECT_EQ(img.rows, 900);
  EXPECT_EQ(img.type(), CV_8UC3);
  CurvesOptions options;
  options.width = 640;
  options.height = 480;
  const cv::Mat small = draw_training_curves(falling_loss_log(101, true), options);
  EXPECT_EQ(small.cols, 640);
  EXPECT_EQ(small.rows, 480);
}

TEST(Curves, PanelsStackWithTheApPanelOnlyWithEvalRecords) {
  const auto without = training_curves_layout(falling_loss_log());
  ASSERT_EQ(without.size(), 2u);
  EXPECT_EQ(without[0].name, "loss");
  EXPECT_EQ(without[1].name, "lr");
  const auto with = training_curves_layout(falling_loss_log(101, true));
  ASSERT_EQ(with.size(), 3u);
  EXPECT_EQ(with[2].name, "ap");
  for (size_t i = 1; i < with.size(); ++i) {
    EXPECT_GT(with[i].plot.y,
              with[i - 1].plot.y + with[i - 1].plot.height);  // stacked, no overlap
    EXPECT_EQ(with[i].plot.x, with[0].plot.x);                // shared step axis
    EXPECT_EQ(with[i].plot.width, with[0].plot.width);
    EXPECT_EQ(with[i].x_min, with[0].x_min);
    EXPECT_EQ(with[i].x_max, with[0].x_max);
  }
  const cv::Rect whole(0, 0, 1200, 900);
  for (const auto& p : with) EXPECT_EQ(p.plot & whole, p.plot) << p.name;
  EXPECT_LE(with[0].y_min, 1.0);
  EXPECT_GE(with[0].y_max, 2.0);
  EXPECT_FALSE(with[0].log_y);
}

TEST(Curves, LossLinePixelsLieInTheLossPanelAndFallLeftToRight) {
  const TrainingLog log = falling_loss_log();
  const cv::Mat img = draw_training_curves(log);
  const auto layout = training_curves_layout(log);
  const cv::Rect loss = layout[0].plot;
  size_t inside = 0, outside = 0;
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      if (!is_loss_blue(img.at<cv::Vec3b>(y, x))) continue;
      (loss.contains({x, y}) ? inside : outside) += 1;
    }
  }
  EXPECT_GT(inside, static_cast<size_t>(loss.width));  // a line across the panel
  EXPECT_EQ(outside, 0u);

  // Step 0 has loss 2 (top of the panel), step 1000 loss 1 (bottom); the legend
  // goes to the empty top-right corner, so on the right look at the lowest blue
  // pixel.
  auto blue_rows = [&](int x0, int x1) {
    std::vector<int> rows;
    for (int y = loss.y; y < loss.y + loss.height; ++y)
      for (int x = x0; x < x1; ++x)
        if (is_loss_blue(img.at<cv::Vec3b>(y, x))) rows.push_back(y);
    return rows;
  };
  auto column_of = [&](double step) {
    return loss.x + static_cast<int>(
                        std::lround((step - layout[0].x_min) / (layout[0].x_max - layout[0].x_min) * (loss.width - 1)));
  };
  const std::vector<int> left = blue_rows(column_of(0) - 3, column_of(0) + 4);
  const std::vector<int> right = blue_rows(column_of(1000) - 3, column_of(1000) + 4);
  ASSERT_FALSE(left.empty());
  ASSERT_FALSE(right.empty());
  const int mid = loss.y + loss.height / 2;
  for (int y : left) EXPECT_LT(y, mid);
  EXPECT_GT(*std::max_element(right.begin(), right.end()), mid);
  // Loss 1 maps to the row the layout gives: y_pixel = (h-1) * (1 - (1 - y_min)
  // / (y_max - y_min)).
  const double expected_row =
      loss.y + (loss.height - 1) * (1 - (1.0 - layout[0].y_min) / (layout[0].y_max - layout[0].y_min));
  EXPECT_NEAR(*std::max_element(right.begin(), right.end()), expected_row, 3.0);
}

TEST(Curves, LearningRateIsDrawnInItsPanel) {
  const TrainingLog log = falling_loss_log();
  const cv::Mat img = draw_training_curves(log);
  const cv::Rect lr = training_curves_layout(log)[1].plot;
  size_t inside = 0, outside = 0;
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      if (is_lr_orange(img.at<cv::Vec3b>(y, x))) (lr.contains({x, y}) ? inside : outside) += 1;
    }
  }
  EXPECT_GT(inside, static_cast<size_t>(lr.width));
  EXPECT_EQ(outside, 0u);
}

TEST(Curves, LossSpanningMoreThanTwoDecadesUsesALogAxis) {
  TrainingLog log;
  for (int i = 0; i < 50; ++i) log.train.push_back(train_record(i, 1e-3, 100.0 * std::pow(0.8, i)));
  const auto layout = training_curves_layout(log);
  EXPECT_TRUE(layout[0].log_y);
  EXPECT_GT(layout[0].y_min, 0);
  EXPECT_FALSE(layout[1].log_y);                  // lr stays linear
  const cv::Mat img = draw_training_curves(log);  // draws without trouble
  EXPECT_EQ(img.size(), cv::Size(1200, 900));
}

TEST(Curves, SkippedStepsAreRedTicksOnTheLossPanel) {
  TrainingLog log = falling_loss_log();
  log.skipped_steps = {500};
  const cv::Mat img = draw_training_curves(log);
  const auto layout = training_curves_layout(log);
  const cv::Rect loss = layout[0].plot;
  const int x =
      loss.x +
      static_cast<int>(std::lround((500 - layout[0].x_min) / (layout[0].x_max - layout[0].x_min) * (loss.width - 1)));
  const cv::Vec3b p = img.at<cv::Vec3b>(loss.y + loss.height - 3, x);
  EXPECT_GT(p[0], 180);
  EXPECT_LT(p[1], 100);
  EXPECT_LT(p[2], 100);
}

TEST(Curves, SinglePointAndMissingLrStillDraw) {
  TrainingLog log;
  log.train.push_back(train_record(7, kNoValue, 0.5));
  const cv::Mat img = draw_training_curves(log);
  EXPECT_EQ(img.size(), cv::Size(1200, 900));
}

TEST(Curves, RejectsEmptyLogsAndBadOptions) {
  EXPECT_THAT(error_message([] { draw_training_curves(TrainingLog{}); }), HasSubstr("no train records"));
  CurvesOptions o;
  o.smoothing = 1.0;
  EXPECT_THAT(error_message([&] { draw_training_curves(falling_loss_log(), o); }), HasSubstr("smoothing"));
  o = CurvesOptions{};
  o.width = 100;
  EXPECT_THAT(error_message([&] { draw_training_curves(falling_loss_log(), o); }), HasSubstr("at least"));
}
