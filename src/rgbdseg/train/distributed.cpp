#include "rgbdseg/train/distributed.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>
#include <thread>

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"

namespace rgbdseg::train {

namespace {

// The first line of an exception's message, without LibTorch's backtrace.
std::string first_line(const std::exception& e) {
  std::string s;
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) s = c10_error->what_without_backtrace();
  else s = e.what();
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// A whole decimal integer in [lo, hi], or an Error naming the variable.
long parse_env_int(const char* name, const char* text, long lo, long hi) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) {
    throw Error(std::string("distributed: ") + name + "=\"" + text + "\": expected an integer in [" +
                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return v;
}

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

std::string seconds_text(std::chrono::milliseconds t) {
  const auto ms = t.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

}  // namespace

std::optional<DistributedOptions> distributed_options_from_environment() {
  const char* world = std::getenv("WORLD_SIZE");
  if (world == nullptr || *world == '\0') return std::nullopt;
  DistributedOptions o;
  o.world_size = static_cast<int>(parse_env_int("WORLD_SIZE", world, 1, 1 << 20));
  if (o.world_size == 1) return std::nullopt;
  const char* rank = std::getenv("RANK");
  if (rank == nullptr || *rank == '\0') {
    throw Error("distributed: WORLD_SIZE=" + std::to_string(o.world_size) + " but RANK is not set");
  }
  o.rank = static_cast<int>(parse_env_int("RANK", rank, 0, o.world_size - 1));
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') o.master_addr = addr;
  if (const char* port = std::getenv("MASTER_PORT"); port != nullptr && *port != '\0') {
    o.master_port = static_cast<int>(parse_env_int("MASTER_PORT", port, 1, 65535));
  }
  if (const char* t = std::getenv("RGBDSEG_DIST_TIMEOUT"); t != nullptr && *t != '\0') {
    o.connect_timeout = std::chrono::seconds(parse_env_int("RGBDSEG_DIST_TIMEOUT", t, 1, INT_MAX));
  }
  if (const char* t = std::getenv("RGBDSEG_DIST_COLLECTIVE_TIMEOUT"); t != nullptr && *t != '\0') {
    o.collective_timeout = std::chrono::seconds(parse_env_int("RGBDSEG_DIST_COLLECTIVE_TIMEOUT", t, 1, INT_MAX));
  }
  return o;
}

#ifdef USE_C10D_GLOO

struct GlooReducer::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  std::string where;  // "rank R of W (MASTER host:port)" for error messages
};

bool distributed_available() { return true; }

GlooReducer::GlooReducer(const DistributedOptions& o) : impl_(std::make_unique<Impl>()) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    throw Error("distributed: rank " + std::to_string(o.rank) + " is outside [0, " + std::to_string(o.world_size) + ")");
  }
  if (o.master_port < 1 || o.master_port > 65535) {
    throw Error("distributed: master port " + std::to_string(o.master_port) + " is outside [1, 65535]");
  }
  rank_ = o.rank;
  world_size_ = o.world_size;
  const std::string address = o.master_addr + ":" + std::to_string(o.master_port);
  impl_->where = "rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) + " (master " + address + ")";
  // Rank 0 hosts the store; every rank connects to it (the clients retry until connect_timeout).
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(o.master_port);
    so.isServer = rank_ == 0;
    so.waitWorkers = false;  // counted below, with an error when someone is missing
    so.timeout = o.connect_timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
  } catch (const std::exception& e) {
    const std::string what = first_line(e);
    if (rank_ == 0 && what.find("in use") != std::string::npos) {
      throw Error("distributed: rank 0 cannot host the rendezvous store on " + address + ": " + what +
                  " (choose another MASTER_PORT)");
    }
    throw Error("distributed: " + impl_->where + ": cannot reach the rendezvous at " + address + " within " +
                seconds_text(o.connect_timeout) + " (is rank 0 running? check MASTER_ADDR/MASTER_PORT; " + what + ")");
  }
  // Everyone counts in and waits for the others (TCPStore's own wait for
  // workers gives up silently when they do not come).
  try {
    const std::string key = "rgbdseg/joined";
    int64_t joined = impl_->store->add(key, 1);
    const auto deadline = std::chrono::steady_clock::now() + o.connect_timeout;
    while (joined < world_size_) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw Error("distributed: " + impl_->where + ": not all " + std::to_string(world_size_) +
                    " processes joined the rendezvous at " + address + " within " + seconds_text(o.connect_timeout) +
                    " (" + std::to_string(joined) + " did; check RANK and WORLD_SIZE of every process, and that each started)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      joined = impl_->store->add(key, 0);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("distributed: " + impl_->where + ": lost the rendezvous store at " + address + ": " + first_line(e));
  }
  try {
    auto po = c10d::ProcessGroupGloo::Options::create(o.collective_timeout);
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0') {
      po->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else if (is_loopback(o.master_addr)) {
      po->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      po->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, rank_, world_size_, po);
  } catch (const std::exception& e) {
    throw Error("distributed: " + impl_->where + ": cannot connect the Gloo process group: " + first_line(e));
  }
  RGBDSEG_LOG(Debug) << "distributed: " << impl_->where << " joined (Gloo)";
}

GlooReducer::~GlooReducer() = default;

void GlooReducer::average(std::vector<at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  // One flat buffer per dtype, in a fixed dtype order (every rank issues the
  // same collectives in the same order).
  std::map<at::ScalarType, std::vector<size_t>> by_dtype;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (!t.defined()) throw Error("distributed: average(): tensor " + std::to_string(i) + " is undefined");
    if (!at::isFloatingType(t.scalar_type())) {
      throw Error(std::string("distributed: average(): tensor ") + std::to_string(i) + " has dtype " +
                  c10::toString(t.scalar_type()) + "; only floating-point tensors can be averaged");
    }
    by_dtype[t.scalar_type()].push_back(i);
  }
  for (const auto& [dtype, indices] : by_dtype) {
    std::vector<at::Tensor> flat;
    flat.reserve(indices.size());
    for (size_t i : indices) flat.push_back(tensors[i].detach().reshape({-1}).to(at::kCPU));
    std::vector<at::Tensor> buffer{at::cat(flat)};
    try {
      impl_->group->allreduce(buffer)->wait();
    } catch (const std::exception& e) {
      throw Error("distributed: " + impl_->where + ": all-reduce failed (did another process stop?): " + first_line(e));
    }
    buffer[0].div_(static_cast<double>(world_size_));
    int64_t offset = 0;
    for (size_t i : indices) {
      auto& t = tensors[i];
      const int64_t n = t.numel();
      t.copy_(buffer[0].narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
  }
}

void GlooReducer::barrier() {
  try {
    impl_->group->barrier()->wait();
  } catch (const std::exception& e) {
    throw Error("distributed: " + impl_->where + ": barrier failed (did another process stop?): " + first_line(e));
  }
}

#else  // no Gloo in this LibTorch

struct GlooReducer::Impl {};

bool distributed_available() { return false; }

GlooReducer::GlooReducer(const DistributedOptions&) {
  throw Error("distributed: this build's LibTorch has no Gloo (c10d ProcessGroupGloo); multi-process training is unavailable");
}
GlooReducer::~GlooReducer() = default;
void GlooReducer::average(std::vector<at::Tensor>&) {}
void GlooReducer::barrier() {}

#endif

void check_distributed_device(const c10::Device& device) {
  if (device.is_cpu()) return;
  throw Error("data-parallel training on " + device.str() +
              " needs an NCCL reducer, which this build does not have (Gloo serves the CPU); train on one device, or "
              "on the CPU with --nproc");
}

std::shared_ptr<GradientReducer> make_reducer(const DistributedOptions& group, const c10::Device& device) {
  check_distributed_device(device);
  return std::make_shared<GlooReducer>(group);
}

std::shared_ptr<GradientReducer> reducer_from_environment() {
  const auto options = distributed_options_from_environment();
  if (!options) return nullptr;
  return std::make_shared<GlooReducer>(*options);
}

}  // namespace rgbdseg::train
