#pragma once
// A small nyu_depth_v2_labeled.mat in the official layout (MATLAB v7.3 = HDF5
// with a 512-byte user block, axes reversed: images (N,3,W,H) uint8,
// depths/rawDepths (N,W,H) float32 metres, labels (N,W,H) uint16, instances
// (N,W,H) uint8), three designed frames of 8x6 pixels, and a minimal MAT v5
// writer for splits and mapping files: the NYUv2 converter's tests and the
// NYUv2 recipe test share them.
#include <H5Cpp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace rgbdseg::testing::nyu {

constexpr int kW = 8, kH = 6;

struct Frame {
  cv::Mat rgb{kH, kW, CV_8UC3, cv::Scalar(0, 0, 0)};
  cv::Mat depth{kH, kW, CV_32FC1, cv::Scalar(0)};
  cv::Mat raw{kH, kW, CV_32FC1, cv::Scalar(0)};
  cv::Mat labels{kH, kW, CV_16UC1, cv::Scalar(0)};
  cv::Mat instances{kH, kW, CV_8UC1, cv::Scalar(0)};
  void paint(int y0, int y1, int x0, int x1, int label, int instance) {  // rows [y0,y1), cols [x0,x1)
    labels(cv::Range(y0, y1), cv::Range(x0, x1)).setTo(label);
    instances(cv::Range(y0, y1), cv::Range(x0, x1)).setTo(instance);
  }
};

// Depth in mm of designed frame f at (y, x): distinct everywhere, exact in mm.
inline int depth_mm(int f, int y, int x) { return 500 + 100 * f + 8 * y + x; }

// Raw labels (classMapping40.mat): 1 book, 2 bottle, 6 cone -> 40 otherprop; 3 cabinet -> 3;
// 4 ceiling -> 22; 5 chair -> 5; 11 floor -> 2; 21 wall -> 1; 83 sofa -> 6; 157 bed -> 4.
inline std::map<int, Frame> designed_frames() {
  std::map<int, Frame> frames;
  for (int f = 1; f <= 3; ++f) {
    Frame fr;
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x) {
        fr.rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(10 * f + x), static_cast<uint8_t>(20 + y),
                                               static_cast<uint8_t>(100 + 3 * f));
        fr.depth.at<float>(y, x) = static_cast<float>(depth_mm(f, y, x) / 1000.0);
        fr.raw.at<float>(y, x) = static_cast<float>((depth_mm(f, y, x) + 2) / 1000.0);
      }
    }
    fr.raw.at<float>(0, 0) = 0.0f;                                     // a hole
    fr.raw.at<float>(1, 1) = std::numeric_limits<float>::quiet_NaN();  // and a NaN
    frames[f] = fr;
  }
  Frame& f1 = frames[1];         // test frame
  f1.paint(0, 2, 0, 8, 21, 1);   // wall (16 px): not a thing
  f1.paint(2, 4, 0, 4, 157, 1);  // bed #1 (8 px)
  f1.paint(2, 4, 4, 8, 157, 2);  // bed #2 (8 px)
  f1.paint(4, 5, 0, 2, 5, 1);    // chair (2 px): below 5% of 48 px
  f1.paint(5, 6, 0, 8, 11, 1);   // floor (8 px): not a thing
  Frame& f2 = frames[2];         // test frame
  f2.paint(0, 3, 0, 4, 1, 1);    // book #1 -> otherprop (12 px)
  f2.paint(0, 3, 4, 8, 2, 1);    // bottle #1 -> otherprop: same class and index, another object (12 px)
  f2.paint(3, 6, 0, 8, 4, 1);    // ceiling (18 px after the cabinet below)
  f2.paint(3, 4, 0, 3, 3, 1);    // cabinet #1, in two parts (6 px)
  f2.paint(5, 6, 5, 8, 3, 1);
  Frame& f3 = frames[3];        // train frame
  f3.paint(0, 3, 0, 8, 6, 1);   // cone (24 px)
  f3.paint(3, 6, 0, 4, 83, 3);  // sofa #3 (12 px)
  f3.paint(3, 6, 4, 8, 5, 0);   // chair, instance index 0 (12 px)
  return frames;
}

// Writes `n` frames in the official layout; frames not in `frames` are all zero.
inline void write_nyu_mat(const std::string& path, int n, const std::map<int, Frame>& frames,
                   const std::vector<std::string>& skip = {}, int labels_width = kW) {
  const auto has = [&](const std::string& name) { return std::find(skip.begin(), skip.end(), name) == skip.end(); };
  const size_t plane = static_cast<size_t>(kW) * kH;
  std::vector<uint8_t> images(static_cast<size_t>(n) * 3 * plane, 0), instances(static_cast<size_t>(n) * plane, 0);
  std::vector<float> depths(static_cast<size_t>(n) * plane, 0.0f), raw(depths);
  std::vector<uint16_t> labels(static_cast<size_t>(n) * plane, 0);
  for (const auto& [f, fr] : frames) {
    const size_t base = static_cast<size_t>(f - 1);
    for (int x = 0; x < kW; ++x) {
      for (int y = 0; y < kH; ++y) {
        const size_t at = base * plane + static_cast<size_t>(x) * kH + static_cast<size_t>(y);  // [n][x][y]
        for (int c = 0; c < 3; ++c) {
          images[(base * 3 + static_cast<size_t>(c)) * plane + static_cast<size_t>(x) * kH + static_cast<size_t>(y)] =
              fr.rgb.at<cv::Vec3b>(y, x)[c];
        }
        depths[at] = fr.depth.at<float>(y, x);
        raw[at] = fr.raw.at<float>(y, x);
        labels[at] = fr.labels.at<uint16_t>(y, x);
        instances[at] = fr.instances.at<uint8_t>(y, x);
      }
    }
  }
  H5::FileCreatPropList fcpl;
  fcpl.setUserblock(512);
  {
    H5::H5File file(path, H5F_ACC_TRUNC, fcpl);
    const auto matlab_class = [](H5::DataSet& ds, const std::string& cls) {
      H5::StrType type(H5::PredType::C_S1, cls.size());
      H5::Attribute a = ds.createAttribute("MATLAB_class", type, H5::DataSpace(H5S_SCALAR));
      a.write(type, cls);
    };
    const hsize_t n_ = static_cast<hsize_t>(n);
    {  // images chunked and compressed per frame, like MATLAB's v7.3 writer
      const hsize_t dims[4] = {n_, 3, kW, kH}, chunk[4] = {1, 3, kW, kH};
      H5::DSetCreatPropList props;
      props.setChunk(4, chunk);
      props.setDeflate(3);
      H5::DataSet ds = file.createDataSet("images", H5::PredType::STD_U8LE, H5::DataSpace(4, dims), props);
      ds.write(images.data(), H5::PredType::NATIVE_UINT8);
      matlab_class(ds, "uint8");
    }
    const hsize_t dims[3] = {n_, kW, static_cast<hsize_t>(kH)};
    const auto plane_set = [&](const char* name, const H5::PredType& stored, const H5::PredType& mem, const void* data,
                               const char* cls, const hsize_t* d) {
      if (!has(name)) return;
      H5::DataSet ds = file.createDataSet(name, stored, H5::DataSpace(3, d));
      ds.write(data, mem);
      matlab_class(ds, cls);
    };
    plane_set("depths", H5::PredType::IEEE_F32LE, H5::PredType::NATIVE_FLOAT, depths.data(), "single", dims);
    plane_set("rawDepths", H5::PredType::IEEE_F32LE, H5::PredType::NATIVE_FLOAT, raw.data(), "single", dims);
    if (labels_width == kW) {
      plane_set("labels", H5::PredType::STD_U16LE, H5::PredType::NATIVE_UINT16, labels.data(), "uint16", dims);
    } else {
      const hsize_t other[3] = {n_, static_cast<hsize_t>(labels_width), kH};
      std::vector<uint16_t> zeros(static_cast<size_t>(n) * static_cast<size_t>(labels_width) * kH, 0);
      plane_set("labels", H5::PredType::STD_U16LE, H5::PredType::NATIVE_UINT16, zeros.data(), "uint16", other);
    }
    plane_set("instances", H5::PredType::STD_U8LE, H5::PredType::NATIVE_UINT8, instances.data(), "uint8", dims);
  }
  // MATLAB's header text in the user block.
  std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string header = "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 .";
  header.resize(128, ' ');
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
}

// A minimal little-endian MAT v5 writer for derived metadata files (double row
// vectors and cell arrays of strings, uncompressed).
inline std::string mat_element(uint32_t type, const std::string& payload) {
  std::string out(8, '\0');
  const auto n = static_cast<uint32_t>(payload.size());
  std::memcpy(&out[0], &type, 4);
  std::memcpy(&out[4], &n, 4);
  out += payload;
  out.resize((out.size() + 7) / 8 * 8, '\0');
  return out;
}
inline std::string mat_matrix(uint32_t cls, int32_t rows, int32_t cols, const std::string& name, const std::string& body) {
  std::string flags(8, '\0'), dims(8, '\0');
  std::memcpy(&flags[0], &cls, 4);
  std::memcpy(&dims[0], &rows, 4);
  std::memcpy(&dims[4], &cols, 4);
  return mat_element(14, mat_element(6, flags) + mat_element(5, dims) + mat_element(1, name) + body);
}
inline std::string mat_doubles(const std::string& name, const std::vector<double>& v) {
  return mat_matrix(6, 1, static_cast<int32_t>(v.size()), name,
                    mat_element(9, std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double))));
}
inline std::string mat_cellstr(const std::string& name, const std::vector<std::string>& v) {
  std::string cells;
  for (const auto& s : v) cells += mat_matrix(4, 1, static_cast<int32_t>(s.size()), "", mat_element(16, s));
  return mat_matrix(1, 1, static_cast<int32_t>(v.size()), name, cells);
}
inline void write_mat_v5(const std::string& path, const std::vector<std::string>& variables) {
  std::string bytes = "MATLAB 5.0 MAT-file, written by rgbdseg's tests";
  bytes.resize(116, ' ');
  bytes += std::string(8, '\0') + std::string("\x00\x01IM", 4);
  for (const auto& v : variables) bytes += v;
  std::ofstream(path, std::ios::binary) << bytes;
}

// Small valid metadata for the 3-frame fixture: splits.mat (train 3, test 1
// and 2) and a classMapping40.mat whose 40 classes are "thing" but wall, floor
// and ceiling (where NYU40 has them), every raw label mapped to class 40. For
// tests where the labelled .mat is what is under test (damaged files, fuzzing).
inline void write_minimal_nyu_metadata(const std::string& splits_path, const std::string& mapping40_path) {
  write_mat_v5(splits_path, {mat_doubles("trainNdxs", {3}), mat_doubles("testNdxs", {1, 2})});
  std::vector<std::string> names(40, "thing");
  names[0] = "wall";
  names[1] = "floor";
  names[21] = "ceiling";
  write_mat_v5(mapping40_path, {mat_cellstr("className", names), mat_doubles("mapClass", std::vector<double>(894, 40.0))});
}

}  // namespace rgbdseg::testing::nyu
