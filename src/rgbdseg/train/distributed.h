#pragma once
// Data-parallel training across processes: a GradientReducer over c10d's
// ProcessGroupGloo. Processes meet at a TCPStore that rank 0 hosts on
// MASTER_ADDR:MASTER_PORT (the variables torchrun sets, with RANK and
// WORLD_SIZE); `rgbdseg train --nproc N` starts N such processes on loopback.
//
// average() packs all tensors of a dtype into one flat buffer, all-reduces it
// (sum) once, divides by the world size and copies the means back: one
// collective per dtype per call, whatever the number of parameters.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "rgbdseg/train/trainer.h"

namespace rgbdseg::train {

struct DistributedOptions {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // How long to wait for every peer to join (store and Gloo rendezvous).
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(300)};
  // How long one collective may wait for the slowest rank (rank 0 evaluates
  // and writes checkpoints while the others wait at the next step).
  std::chrono::milliseconds collective_timeout{std::chrono::minutes(30)};
};

// RANK, WORLD_SIZE, MASTER_ADDR (default 127.0.0.1), MASTER_PORT (default
// 29500); RGBDSEG_DIST_TIMEOUT (seconds) overrides connect_timeout and
// RGBDSEG_DIST_COLLECTIVE_TIMEOUT (seconds) collective_timeout (how long a rank
// waits for one that hangs: a stopped or wedged peer; a dead peer's closed
// connection fails the survivors at once). nullopt when
// WORLD_SIZE is unset or 1. Malformed or inconsistent values are an Error.
std::optional<DistributedOptions> distributed_options_from_environment();

class GlooReducer final : public GradientReducer {
 public:
  // Joins the group (blocks until every rank has joined; Error naming the
  // address after connect_timeout).
  explicit GlooReducer(const DistributedOptions& options);
  ~GlooReducer() override;
  GlooReducer(const GlooReducer&) = delete;
  GlooReducer& operator=(const GlooReducer&) = delete;

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  // Floating-point tensors only (any mix of dtypes, CPU or staged through the CPU).
  void average(std::vector<at::Tensor>& tensors) override;
  // Waits until every rank gets here.
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_size_ = 1;
};

// The reducer of a torchrun-style launch; null for a single process.
std::shared_ptr<GradientReducer> reducer_from_environment();

// Whether this build has Gloo (LibTorch built with USE_DISTRIBUTED and Gloo).
bool distributed_available();

// The backend for a device: Gloo for the CPU. CUDA needs an NCCL reducer,
// which rgbdseg does not have yet: an Error that says so (one line), raised
// before any process waits for a peer.
std::shared_ptr<GradientReducer> make_reducer(const DistributedOptions& group, const c10::Device& device);
void check_distributed_device(const c10::Device& device);

}  // namespace rgbdseg::train
