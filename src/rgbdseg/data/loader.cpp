#include "rgbdseg/data/loader.h"

#include <algorithm>
#include <numeric>

#include "rgbdseg/core/error.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg {

Sample load_sample(const RgbdDataset& ds, size_t i) {
  const CocoImage& img = ds.coco.images[i];
  Sample s;
  s.image_id = img.id;
  s.rgb = read_rgb(ds.rgb_path(i));
  s.depth = read_depth(ds.depth_path(i), ds.depth_options(i));
  check_same_size(s.rgb, ds.rgb_path(i), s.depth, ds.depth_path(i));
  s.original_height = s.rgb.rows;
  s.original_width = s.rgb.cols;
  for (size_t a : ds.annotations_of_image[i]) {
    const CocoObject& ann = ds.coco.annotations[a];
    if (ann.iscrowd) continue;  // crowd regions are not training targets
    s.masks.push_back(decode_mask(ann.mask));
    s.category_ids.push_back(ann.category_id);
  }
  return s;
}

Batch collate(std::vector<Sample> samples, int size_divisibility) {
  Batch b;
  b.size = static_cast<int>(samples.size());
  for (const auto& s : samples) {
    b.height = std::max(b.height, s.rgb.rows);
    b.width = std::max(b.width, s.rgb.cols);
  }
  if (size_divisibility > 1) {
    b.height = (b.height + size_divisibility - 1) / size_divisibility * size_divisibility;
    b.width = (b.width + size_divisibility - 1) / size_divisibility * size_divisibility;
  }
  const size_t plane = static_cast<size_t>(b.height) * static_cast<size_t>(b.width);
  b.rgb.assign(plane * 3 * samples.size(), 0);
  b.depth.assign(plane * samples.size(), 0.0f);
  b.pixel_mask.assign(plane * samples.size(), 0);
  for (size_t k = 0; k < samples.size(); ++k) {
    const Sample& s = samples[k];
    for (int y = 0; y < s.rgb.rows; ++y) {
      std::copy_n(s.rgb.ptr<uint8_t>(y), s.rgb.cols * 3, &b.rgb[(k * plane + static_cast<size_t>(y) * b.width) * 3]);
      std::copy_n(s.depth.ptr<float>(y), s.depth.cols, &b.depth[k * plane + static_cast<size_t>(y) * b.width]);
      std::fill_n(&b.pixel_mask[k * plane + static_cast<size_t>(y) * b.width], s.rgb.cols, uint8_t{1});
    }
  }
  b.samples = std::move(samples);
  return b;
}

DataLoader::DataLoader(const RgbdDataset& dataset, LoaderOptions options)
    : dataset_(dataset), options_(std::move(options)) {
  if (options_.batch_size <= 0) throw Error("data loader: batch_size must be positive");
  if (options_.workers <= 0) throw Error("data loader: workers must be positive");
  if (options_.prefetch_batches <= 0) throw Error("data loader: prefetch_batches must be positive");
  if (dataset_.coco.images.empty()) throw Error(dataset_.path + ": the dataset has no images");
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size) {
    throw Error("data loader: rank must be in [0, world_size)");
  }
  if (options_.world_size > 1 && !options_.drop_last) {
    throw Error("data loader: sharding needs drop_last (every rank must get a full batch)");
  }
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = static_cast<int64_t>(dataset_.coco.images.size());
  const int64_t b = static_cast<int64_t>(options_.batch_size) * options_.world_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<size_t> DataLoader::epoch_order(int64_t epoch) const {
  std::vector<size_t> order(dataset_.coco.images.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (options_.shuffle) {
    SampleRng rng(sample_seed(options_.seed, epoch, -1));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);  // Fisher-Yates
  }
  return order;
}

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  space_cv_.notify_all();
  ready_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop();
  epoch_ = epoch;
  order_ = epoch_order(epoch);
  ready_.clear();
  next_to_make_ = next_to_give_ = std::clamp<int64_t>(first_batch, 0, batches_per_epoch());
  stopping_ = false;
  error_ = nullptr;
  for (int t = 0; t < options_.workers; ++t) threads_.emplace_back([this] { work(); });
}

Batch DataLoader::make_batch(int64_t batch_index) {
  const size_t global = static_cast<size_t>(options_.batch_size) * static_cast<size_t>(options_.world_size);
  const size_t begin = static_cast<size_t>(batch_index) * global + static_cast<size_t>(options_.rank) * static_cast<size_t>(options_.batch_size);
  const size_t end = std::min(order_.size(), begin + static_cast<size_t>(options_.batch_size));
  std::vector<Sample> samples;
  for (size_t pos = begin; pos < end; ++pos) {
    Sample s = load_sample(dataset_, order_[pos]);
    if (options_.augment) {
      SampleRng rng(sample_seed(options_.seed, epoch_, static_cast<int64_t>(pos)));
      augment(s, options_.augment_options, rng);
    }
    samples.push_back(std::move(s));
  }
  Batch b = collate(std::move(samples), options_.size_divisibility);
  b.epoch = epoch_;
  b.index = batch_index;
  return b;
}

void DataLoader::work() {
  const int64_t total = batches_per_epoch();
  while (true) {
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_cv_.wait(lock, [&] {
        return stopping_ || error_ || next_to_make_ >= total || next_to_make_ < next_to_give_ + options_.prefetch_batches;
      });
      if (stopping_ || error_ || next_to_make_ >= total) return;
      index = next_to_make_++;
    }
    try {
      Batch b = make_batch(index);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(index, std::move(b));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    ready_cv_.notify_all();
  }
}

bool DataLoader::next(Batch& batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (threads_.empty()) throw Error("data loader: call start_epoch() before next()");
  if (next_to_give_ >= batches_per_epoch()) return false;
  ready_cv_.wait(lock, [&] { return error_ || ready_.count(next_to_give_) > 0; });
  if (error_) std::rethrow_exception(error_);
  auto it = ready_.find(next_to_give_);
  batch = std::move(it->second);
  ready_.erase(it);
  ++next_to_give_;
  lock.unlock();
  space_cv_.notify_all();
  return true;
}

}  // namespace rgbdseg
