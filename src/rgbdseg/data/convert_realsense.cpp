#include "rgbdseg/data/convert_realsense.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <nlohmann/json.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/io/depth_filters.h"
#include "rgbdseg/io/realsense_align.h"
#include "rgbdseg/io/realsense_bag.h"

namespace rgbdseg {


void add_realsense_pair(DatasetWriter& writer, const std::string& stem, const cv::Mat& depth_in_colour,
                        double depth_units, const cv::Mat& colour_bgr, const RealSenseIntrinsics& colour,
                        const std::string& source) {
  cv::Mat metres, rgb;
  depth_in_colour.convertTo(metres, CV_32FC1, depth_units);
  cv::cvtColor(colour_bgr, rgb, colour_bgr.channels() == 3 ? cv::COLOR_BGR2RGB : cv::COLOR_GRAY2RGB);
  writer.add(stem, rgb, metres, {}, Intrinsics{colour.fx, colour.fy, colour.ppx, colour.ppy}, source);
}

ConversionSummary export_realsense_bag(const RealSenseExportOptions& o, const ProgressCallback& progress) {
  if (o.every < 1) throw Error("--every must be at least 1");
  bool decimate = false, spatial = false, temporal = false, fill = false;
  int decimation = o.decimation, hole_filling = o.hole_filling;
  SpatialFilterOptions spatial_options;
  for (const auto& f : o.filters) {
    if (f == "decimation") {
      decimate = true;
    } else if (f == "spatial") {
      spatial = true;
    } else if (f == "temporal") {
      temporal = true;
    } else if (f == "hole_filling") {
      fill = true;
    } else if (f == "research") {
      decimate = spatial = fill = true;
      decimation = 4;
      spatial_options.alpha = 1;
      spatial_options.delta = 50;
      spatial_options.iterations = 5;
      spatial_options.holes_fill = 1;
      hole_filling = 1;
    } else {
      throw Error("--filters: unknown filter '" + f + "' (decimation, spatial, temporal, hole_filling, research)");
    }
  }
  TemporalDepthFilter temporal_filter;
  if (decimate && !o.align) throw Error("--filters: decimation changes the depth size, so it needs --align color");
  const RealSenseBag rs(o.bag);
  const RealSenseStream* depth = rs.find_stream("Depth");
  const RealSenseStream* colour = rs.find_stream("Color");
  if (!depth || !colour) throw Error(o.bag + ": needs a Depth and a Color stream (bag info lists what it has)");
  if (!depth->has_intrinsics || !colour->has_intrinsics) throw Error(o.bag + ": a stream without camera_info (intrinsics)");
  const RealSenseExtrinsics depth_to_colour = realsense_extrinsics_between(depth->extrinsics, colour->extrinsics);
  if (!o.align && (depth->intrinsics.width != colour->intrinsics.width || depth->intrinsics.height != colour->intrinsics.height)) {
    throw Error(o.bag + ": depth is " + std::to_string(depth->intrinsics.width) + "x" + std::to_string(depth->intrinsics.height) +
                " and colour " + std::to_string(colour->intrinsics.width) + "x" + std::to_string(colour->intrinsics.height) +
                ": without alignment they must be the same size");
  }
  const double skew_ms = o.max_skew_ms >= 0 ? o.max_skew_ms : colour->fps > 0 ? 500.0 / colour->fps : 16.7;
  // One class-agnostic category: the frames carry no annotations yet (an annotation tool adds them).
  DatasetWriter writer(o.out, {{1, "object"}}, o.force, "RealSense recording " + o.bag);
  nlohmann::ordered_json frames = nlohmann::ordered_json::array();
  std::deque<RealSenseFrame> colours, pending;  // recent colour frames; depth frames waiting for a later colour one
  int64_t pairs = 0, exported = 0, unpaired = 0;
  double closest_ms = INFINITY;
  const int64_t total = static_cast<int64_t>(depth->frames);
  int64_t seen_depth = 0;
  auto resolve = [&](const RealSenseFrame& raw) {
    // Filters see every depth frame in order (the temporal one keeps state), paired or not.
    RealSenseFrame d = raw;
    RealSenseIntrinsics depth_k = depth->intrinsics;
    if (decimate) d.image = decimate_depth(d.image, decimation, &depth_k);
    if (spatial) d.image = spatial_filter_depth(d.image, spatial_options);
    if (temporal) d.image = temporal_filter.apply(d.image);
    if (fill) d.image = fill_depth_holes(d.image, hole_filling);
    const RealSenseFrame* best = nullptr;
    double best_ms = INFINITY;
    for (const auto& c : colours) {
      const double ms = std::fabs(static_cast<double>(c.device_time_ns) - static_cast<double>(d.device_time_ns)) / 1e6;
      if (ms < best_ms) {
        best_ms = ms;
        best = &c;
      }
    }
    closest_ms = std::min(closest_ms, best_ms);
    if (!best || best_ms > skew_ms) {
      ++unpaired;
      return;
    }
    if (pairs++ % o.every != 0) return;
    const std::string stem = cv::format("%06lld", static_cast<long long>(exported++));
    const cv::Mat aligned = o.align ? align_depth_to_colour(d.image, d.depth_units, depth_k, colour->intrinsics,
                                                            depth_to_colour)
                                    : d.image;
    add_realsense_pair(writer, stem, aligned, d.depth_units, best->image, colour->intrinsics,
                       o.bag + " depth frame " + std::to_string(d.frame_number));
    frames.push_back({{"stem", stem}, {"depth_frame", d.frame_number}, {"colour_frame", best->frame_number},
                      {"depth_time_ns", d.device_time_ns}, {"colour_time_ns", best->device_time_ns},
                      {"skew_ms", best_ms}, {"depth_units", d.depth_units}});
  };
  rs.for_each_frame(
      [&](const RealSenseFrame& f) {
        if (f.stream == colour) {
          colours.push_back(f);
          if (colours.size() > 4) colours.pop_front();
        } else {
          pending.push_back(f);
          ++seen_depth;
        }
        // A depth frame is settled once a colour frame at or after it has arrived.
        while (!pending.empty() && !colours.empty() && colours.back().device_time_ns >= pending.front().device_time_ns) {
          resolve(pending.front());
          pending.pop_front();
        }
        if (progress) progress(seen_depth - static_cast<int64_t>(pending.size()), total);
        return true;
      },
      {depth, colour});
  while (!pending.empty()) {
    resolve(pending.front());
    pending.pop_front();
  }
  if (progress) progress(seen_depth, std::max(total, seen_depth));
  if (exported == 0) {
    throw Error(o.bag + ": no depth frame has a colour frame within " + cv::format("%.1f", skew_ms) + " ms" +
                (std::isfinite(closest_ms) ? " (the closest pair is " + cv::format("%.1f", closest_ms) + " ms apart)" : "") +
                "; raise --max-skew-ms");
  }
  ConversionSummary summary = writer.finish();
  nlohmann::ordered_json sidecar;
  sidecar["bag"] = o.bag;
  sidecar["device"] = rs.device_info();
  sidecar["aligned_to_colour"] = o.align;
  sidecar["max_skew_ms"] = skew_ms;
  sidecar["filters"] = o.filters;
  if (decimate) sidecar["decimation"] = decimation;
  if (spatial) {
    sidecar["spatial"] = {{"alpha", spatial_options.alpha}, {"delta", spatial_options.delta},
                          {"iterations", spatial_options.iterations}, {"holes_fill", spatial_options.holes_fill}};
  }
  if (temporal) sidecar["temporal"] = {{"alpha", 0.4}, {"delta", 20}, {"persistence", 3}};
  if (fill) sidecar["hole_filling"] = hole_filling;
  sidecar["depth_intrinsics"] = realsense_intrinsics_json(depth->intrinsics);
  sidecar["colour_intrinsics"] = realsense_intrinsics_json(colour->intrinsics);
  sidecar["depth_to_colour"] = {{"rotation", depth_to_colour.rotation}, {"translation_m", depth_to_colour.translation}};
  sidecar["unpaired_depth_frames"] = unpaired;
  sidecar["frames"] = frames;
  write_file_atomic(o.out + "/frames.json", sidecar.dump(1) + "\n");
  if (unpaired > 0) summary.skipped.emplace_back(std::to_string(unpaired) + " depth frames",
                                                 "no colour frame within " + cv::format("%.1f", skew_ms) + " ms");
  return summary;
}

}  // namespace rgbdseg
