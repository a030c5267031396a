#include "prediction_writer.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/coco/rle.h"
#include "rgbdseg/io/image_io.h"
#include "rgbdseg/viz/overlay.h"

namespace rgbdseg::app {

namespace fs = std::filesystem;

void write_overlay_video(const std::vector<std::string>& overlay_pngs, const std::string& path, double fps) {
  if (overlay_pngs.empty()) throw Error(path + ": no frames for the video");
  cv::VideoWriter video;
  cv::Size size;
  for (const auto& png : overlay_pngs) {
    cv::Mat frame = cv::imread(png, cv::IMREAD_COLOR);  // BGR, as the video writer wants
    if (frame.empty()) throw Error(png + ": cannot read the overlay for the video");
    if (!video.isOpened()) {
      size = frame.size();
      if (!video.open(path, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), fps, size)) {
        throw Error(path + ": OpenCV cannot write MP4 video here (its FFmpeg backend is missing)");
      }
    }
    if (frame.size() != size) cv::resize(frame, frame, size);
    video.write(frame);
  }
  video.release();
}

std::vector<std::string> prediction_names(const RgbdDataset& dataset) { return image_output_names(dataset.coco.images); }

namespace {

// One image's outputs: its COCO results as JSON, the overlay and the id PNG.
nlohmann::ordered_json write_image_outputs(const RgbdDataset& dataset, size_t i, const model::Instances& inst,
                                           const infer::LabelMap& labels, const std::string& overlay_path,
                                           const std::string& instances_path) {
  const CocoImage& img = dataset.coco.images[i];
  const auto dets = infer::to_coco_results(img.id, inst, labels);
  const cv::Mat rgb = read_rgb(dataset.rgb_path(i));
  std::vector<LabelledMask> drawn;
  cv::Mat ids(static_cast<int>(img.height), static_cast<int>(img.width), CV_16UC1, cv::Scalar(0));
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  // Ascending score: where masks overlap, the higher score is painted last and wins.
  std::vector<size_t> order(dets.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return dets[a].score < dets[b].score; });
  for (size_t k : order) {
    const auto& d = dets[k];
    const cv::Mat mask = decode_mask(d.mask);
    ids.setTo(cv::Scalar(static_cast<double>(k + 1)), mask);
    char label[128];
    std::snprintf(label, sizeof label, "%s %.2f", labels.names[static_cast<size_t>(labels.index_of(d.category_id))].c_str(), d.score);
    drawn.push_back({mask, label});
    results.push_back({{"image_id", d.image_id}, {"category_id", d.category_id}, {"score", d.score},
                       {"segmentation", {{"size", {d.mask.h, d.mask.w}}, {"counts", rle_to_string(d.mask)}}},
                       {"bbox", {d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]}}});
  }
  for (const auto& path : {overlay_path, instances_path}) make_directories(fs::path(path).parent_path().string());
  // draw_instances returns RGB order: the RGB writer, not the BGR one.
  write_rgb_png(overlay_path, draw_instances(rgb, drawn));
  write_png(instances_path, ids);
  return results;
}

// Encodes and writes images on a thread of its own while the model runs on
// the next batch, so decoding (the loader's workers), inference and writing
// overlap. A few images wait at most; a failure stops the producer at its
// next push and is rethrown by finish().
class BackgroundWriter {
 public:
  using Job = std::function<void(size_t, const model::Instances&)>;
  BackgroundWriter(Job job, size_t capacity) : job_(std::move(job)), capacity_(capacity), thread_([this] { run(); }) {}
  ~BackgroundWriter() {
    if (thread_.joinable()) {
      close();
      thread_.join();
    }
  }
  void push(size_t image, model::Instances instances) {
    std::unique_lock<std::mutex> lock(mutex_);
    space_.wait(lock, [&] { return queue_.size() < capacity_ || error_; });
    if (error_) std::rethrow_exception(error_);
    queue_.emplace_back(image, std::move(instances));
    ready_.notify_one();
  }
  void finish() {
    close();
    thread_.join();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    ready_.notify_one();
  }
  void run() {
    for (;;) {
      std::pair<size_t, model::Instances> item;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return;
        item = std::move(queue_.front());
        queue_.pop_front();
        space_.notify_one();
      }
      try {
        job_(item.first, item.second);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
        queue_.clear();
        space_.notify_one();
        return;
      }
    }
  }

  Job job_;
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<std::pair<size_t, model::Instances>> queue_;
  bool closed_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace

PredictionSummary write_predictions(model::RgbdMask2FormerImpl& net, const RgbdDataset& dataset,
                                    const infer::LabelMap& labels, const infer::InferenceOptions& options,
                                    const std::string& out_dir, PredictionTimes* times) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> names = prediction_names(dataset);
  auto output = [&](const char* folder, size_t i) { return std::string(folder) + "/" + names[i] + ".png"; };
  const size_t n = dataset.coco.images.size();
  // results.json is streamed, in image order, into a temporary file renamed
  // at the end: memory stays flat however many images (bench/soak.sh). Images
  // that finish out of order wait in `pending` until their turn.
  make_directories(out_dir);  // results.json is opened first, before any image creates the folder
  const std::string results_path = (fs::path(out_dir) / "results.json").string();
  const std::string results_tmp = temp_path_for(results_path);
  struct RemoveUnlessCommitted {  // a failed run leaves no temporary file
    const std::string& path;
    bool committed = false;
    ~RemoveUnlessCommitted() {
      if (!committed) std::remove(path.c_str());
    }
  } results_tmp_file{results_tmp};
  std::ofstream results_out(results_tmp, std::ios::binary);
  if (!results_out) throw Error(results_path + ": cannot open for writing");
  results_out << "[";
  std::map<size_t, std::string> pending;  // image -> its entries (compact JSON, no brackets)
  size_t next_image = 0;
  int64_t instances_total = 0;
  bool first_entry = true;
  auto stream_results = [&](size_t i, std::string entries) {
    pending.emplace(i, std::move(entries));
    for (auto it = pending.begin(); it != pending.end() && it->first == next_image; it = pending.erase(it), ++next_image) {
      if (it->second.empty()) continue;
      if (!first_entry) results_out << ",";
      results_out << it->second;
      first_entry = false;
    }
    if (!results_out) throw Error(results_path + ": write failed (" + std::strerror(errno) + ")");
  };
  std::atomic<int64_t> written{0};
  double writing_s = 0;  // only the writer thread adds to it
  const int64_t total = static_cast<int64_t>(n);
  if (options.progress) options.progress(0, total);
  BackgroundWriter writer(
      [&](size_t i, const model::Instances& inst) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = write_image_outputs(dataset, i, inst, labels, (fs::path(out_dir) / output("overlays", i)).string(),
                                           (fs::path(out_dir) / output("instances", i)).string());
        const std::string text = r.dump();  // "[...]": the entries are what is inside the brackets
        instances_total += static_cast<int64_t>(r.size());
        stream_results(i, r.empty() ? std::string() : text.substr(1, text.size() - 2));
        writing_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        // Progress counts written images, from this thread only.
        if (options.progress) options.progress(++written, total);
      },
      /*capacity=*/4);
  infer::InferenceOptions inference = options;
  inference.progress = nullptr;
  infer::InferenceTimes inference_times;
  inference.times = &inference_times;
  infer::predict_dataset(net, dataset, inference, [&](size_t i, const model::Instances& inst) { writer.push(i, inst); });
  writer.finish();
  // Byte for byte what dumping one JSON array of all entries gives.
  results_out << "]\n";
  results_out.close();
  if (!results_out) throw Error(results_path + ": write failed (" + std::strerror(errno) + ")");
  nlohmann::ordered_json images;
  images["images"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < dataset.coco.images.size(); ++i) {
    const CocoImage& img = dataset.coco.images[i];
    // Absolute paths: images.json lives in the output folder, not beside the images.
    const auto absolute = [](const std::string& p) { return fs::absolute(p).lexically_normal().string(); };
    // The encoding and scale the depth was read with, so images.json loads back as a dataset.
    const DepthReadOptions depth = resolve_depth_options(dataset.depth_path(i), dataset.depth_options(i));
    images["images"].push_back({{"id", img.id}, {"file_name", absolute(dataset.rgb_path(i))},
                                {"depth_file", absolute(dataset.depth_path(i))},
                                {"depth_scale", depth.scale}, {"depth_encoding", depth_encoding_name(depth.encoding)},
                                {"height", img.height}, {"width", img.width},
                                {"overlay", output("overlays", i)}, {"instances", output("instances", i)}});
  }
  images["annotations"] = nlohmann::ordered_json::array();
  images["categories"] = nlohmann::ordered_json::array();
  std::set<int64_t> listed;  // class-agnostic labels repeat one category
  for (size_t c = 0; c < labels.size(); ++c) {
    if (listed.insert(labels.category_ids[c]).second) {
      images["categories"].push_back({{"id", labels.category_ids[c]}, {"name", labels.names[c]}});
    }
  }
  write_file_atomic((fs::path(out_dir) / "images.json").string(), images.dump(1) + "\n");
  commit_temp_file(results_tmp, results_path);
  results_tmp_file.committed = true;
  PredictionSummary summary;
  summary.results_path = results_path;
  summary.images = static_cast<int64_t>(dataset.coco.images.size());
  summary.instances = instances_total;
  if (times) {
    times->inference = inference_times;
    times->writing_s = writing_s;
    times->total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return summary;
}

}  // namespace rgbdseg::app
