#pragma once
// A multi-threaded data loader: worker threads decode and augment samples
// ahead of the consumer (a bounded prefetch queue of batches), and batches come
// out in order, identical for a seed whatever the number of workers (each
// sample draws its randomness from sample_seed(seed, epoch, position)).
// Batches are padded to a common size (rounded up to `size_divisibility`) with
// a pixel mask marking real pixels, and keep each image's original size so
// evaluation can score masks at the original resolution.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "rgbdseg/data/dataset.h"
#include "rgbdseg/data/transforms.h"

namespace rgbdseg {

struct LoaderOptions {
  int batch_size = 2;
  int workers = 2;              // decoding/augmenting threads
  int prefetch_batches = 4;     // how far workers may run ahead
  bool shuffle = true;
  bool drop_last = false;
  bool augment = true;          // false: evaluation (no transform at all)
  uint64_t seed = 0;
  int size_divisibility = 32;   // padded sizes are multiples of this
  AugmentOptions augment_options;
  // Data-parallel sharding: a global batch is world_size x batch_size
  // consecutive images of the epoch order; rank r reads its r-th slice, so
  // every rank sees what one process with the combined batch would.
  int rank = 0;
  int world_size = 1;
};

struct Batch {
  int64_t epoch = 0, index = 0;
  int size = 0, height = 0, width = 0;  // images; padded height and width
  std::vector<uint8_t> rgb;             // [B][H][W][3], RGB, 0 in padding
  std::vector<float> depth;             // [B][H][W] metres, 0 = invalid or padding
  std::vector<uint8_t> pixel_mask;      // [B][H][W], 1 = image pixel, 0 = padding
  std::vector<Sample> samples;          // per image: masks (unpadded), categories, ids, sizes
};

// Reads one image of a dataset into a Sample (colour, metric depth, instance masks).
Sample load_sample(const RgbdDataset& dataset, size_t image_index);

// Pads samples to a common size and packs them.
Batch collate(std::vector<Sample> samples, int size_divisibility);

class DataLoader {
 public:
  DataLoader(const RgbdDataset& dataset, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t batches_per_epoch() const;
  // Starts (or restarts) `epoch` at batch `first_batch` (resuming mid-epoch);
  // batches then come from next().
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the epoch in order; false at the end of the epoch.
  // Rethrows the first error a worker hit (naming the image).
  bool next(Batch& batch);
  // The dataset image order of `epoch` (shuffled deterministically).
  std::vector<size_t> epoch_order(int64_t epoch) const;

 private:
  void stop();
  void work();
  Batch make_batch(int64_t batch_index);

  const RgbdDataset& dataset_;
  LoaderOptions options_;
  int64_t epoch_ = 0;
  std::vector<size_t> order_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable ready_cv_, space_cv_;
  std::map<int64_t, Batch> ready_;
  int64_t next_to_make_ = 0, next_to_give_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace rgbdseg
