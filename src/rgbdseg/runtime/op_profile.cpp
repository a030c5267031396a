#include "rgbdseg/runtime/op_profile.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

namespace rgbdseg {

namespace {

using torch::autograd::profiler::EventKind;
using torch::autograd::profiler::LegacyEvent;

struct Open {
  const LegacyEvent* push;
  double child_us = 0;
};

}  // namespace

OpProfile profile_ops(const std::function<void()>& fn) {
  torch::autograd::profiler::thread_event_lists events;
  OpProfile profile;
  {
    const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::CPU);
    torch::autograd::profiler::TLSLegacyProfilerGuard guard(
        config, [&](const torch::autograd::profiler::thread_event_lists& lists) { events = lists; });
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    profile.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  std::map<std::string, ProfiledName> by_name;
  for (const auto& list : events) {
    // Ranges nest per thread: a stack pairs each pop with its push.
    std::vector<Open> stack;
    std::map<std::string, int> depth_of_name;  // to count recursive totals once
    for (const auto& e : list) {
      if (e.kind() == EventKind::PushRange) {
        stack.push_back({&e});
        ++depth_of_name[e.name()];
      } else if (e.kind() == EventKind::PopRange && !stack.empty()) {
        const Open open = stack.back();
        stack.pop_back();
        const double elapsed_us = open.push->cpuElapsedUs(e);
        const std::string name = open.push->name();
        ProfiledName& p = by_name[name];
        p.name = name;
        p.self_ms += (elapsed_us - open.child_us) / 1e3;
        if (--depth_of_name[name] == 0) p.total_ms += elapsed_us / 1e3;
        ++p.calls;
        if (!stack.empty()) stack.back().child_us += elapsed_us;
      }
    }
  }
  for (auto& [name, p] : by_name) profile.names.push_back(p);
  std::sort(profile.names.begin(), profile.names.end(),
            [](const ProfiledName& a, const ProfiledName& b) { return a.self_ms > b.self_ms; });
  return profile;
}

std::string format_op_profile(const OpProfile& profile, size_t rows) {
  std::string out;
  char line[512];
  auto share = [&](double ms) { return 100.0 * ms / std::max(profile.wall_ms, 1e-9); };
  // A stage's self time is what ran outside LibTorch operators: our own
  // kernels (deformable attention) and the C++ between operator calls.
  std::snprintf(line, sizeof line,
                "profile of one call: %.1f ms\n\n| stage | total ms | %% of the call | outside operators ms | calls |\n"
                "|---|---|---|---|---|\n",
                profile.wall_ms);
  out += line;
  std::vector<ProfiledName> stages;
  for (const auto& p : profile.names) {
    if (p.name.rfind("stage:", 0) == 0) stages.push_back(p);
  }
  std::sort(stages.begin(), stages.end(), [](const ProfiledName& a, const ProfiledName& b) { return a.name < b.name; });
  for (const auto& p : stages) {
    std::snprintf(line, sizeof line, "| %s | %.1f | %.1f%% | %.1f | %lld |\n", p.name.c_str() + 6, p.total_ms,
                  share(p.total_ms), p.self_ms, static_cast<long long>(p.calls));
    out += line;
  }
  out += "\n| operator | self ms | % of the call | calls |\n|---|---|---|---|\n";
  size_t shown = 0;
  for (const auto& p : profile.names) {
    if (p.name.rfind("stage:", 0) == 0) continue;
    if (shown++ == rows) break;
    std::snprintf(line, sizeof line, "| %s | %.1f | %.1f%% | %lld |\n", p.name.c_str(), p.self_ms, share(p.self_ms),
                  static_cast<long long>(p.calls));
    out += line;
  }
  return out;
}

}  // namespace rgbdseg
