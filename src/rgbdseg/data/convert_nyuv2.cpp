#include "rgbdseg/data/convert_nyuv2.h"

#include <H5Cpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <opencv2/core.hpp>
#include <set>
#include <unordered_map>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/parallel.h"
#include "rgbdseg/data/matlab_v5.h"

namespace rgbdseg {

Intrinsics nyuv2_color_intrinsics() {
  // NYU Depth V2 toolbox, camera_params.m: fx_rgb, fy_rgb, cx_rgb, cy_rgb. The
  // toolbox uses MATLAB's 1-based pixel coordinates (meshgrid(1:640, 1:480));
  // ours are 0-based (pixel centres at 0, 1, ...), hence cx - 1 and cy - 1.
  return Intrinsics{5.1885790117450188e+02, 5.1946961112127485e+02, 3.2558244941119034e+02 - 1.0,
                    2.5373616633400465e+02 - 1.0};
}

NyuClassSet parse_nyu_class_set(const std::string& name) {
  if (name == "nyu40-things") return NyuClassSet::Nyu40Things;
  if (name == "nyu40") return NyuClassSet::Nyu40;
  if (name == "nyu13") return NyuClassSet::Nyu13;
  throw Error("unknown NYUv2 class set '" + name + "' (expected one of: nyu40-things, nyu40, nyu13)");
}

NyuSplit parse_nyu_split(const std::string& name) {
  if (name == "train") return NyuSplit::Train;
  if (name == "test") return NyuSplit::Test;
  if (name == "all") return NyuSplit::All;
  throw Error("unknown NYUv2 split '" + name + "' (expected one of: train, test, all)");
}

NyuDepthField parse_nyu_depth_field(const std::string& name) {
  if (name == "filled") return NyuDepthField::Filled;
  if (name == "raw") return NyuDepthField::Raw;
  throw Error("unknown NYUv2 depth '" + name + "' (expected one of: filled, raw)");
}

const char* nyu_class_set_name(NyuClassSet set) {
  switch (set) {
    case NyuClassSet::Nyu40Things:
      return "nyu40-things";
    case NyuClassSet::Nyu40:
      return "nyu40";
    case NyuClassSet::Nyu13:
      return "nyu13";
  }
  return "?";
}

const char* nyu_split_name(NyuSplit split) {
  switch (split) {
    case NyuSplit::Train:
      return "train";
    case NyuSplit::Test:
      return "test";
    case NyuSplit::All:
      return "all";
  }
  return "?";
}

const char* nyu_depth_field_name(NyuDepthField field) { return field == NyuDepthField::Filled ? "filled" : "raw"; }

namespace {

// Integers of a numeric vector, each in [lo, hi].
std::vector<int> integer_vector(const matlab::MatArray& a, int64_t lo, int64_t hi) {
  if (!a.is_vector()) throw Error(a.where + ": expected a vector, got " + a.describe());
  const std::vector<int64_t> values = a.as_integers();
  std::vector<int> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] < lo || values[i] > hi) {
      throw Error(a.where + ": element " + std::to_string(i + 1) + " is " + std::to_string(values[i]) + ", expected " +
                  std::to_string(lo) + ".." + std::to_string(hi));
    }
    out[i] = static_cast<int>(values[i]);
  }
  return out;
}

}  // namespace

NyuClassMapping load_nyu_class_mapping(const std::string& mapping40_path, const std::string& mapping13_path) {
  NyuClassMapping m;
  m.mapping40_path = mapping40_path;
  {
    const matlab::MatFile f = matlab::read_mat_v5(mapping40_path);
    const matlab::MatArray& names = f.at("className");
    m.names40 = names.as_strings();
    if (m.names40.size() != 40) {
      throw Error(names.where + ": expected the 40 NYU40 class names, got " + names.describe());
    }
    m.label_to_40 = integer_vector(f.at("mapClass"), 0, 40);
    if (m.label_to_40.empty()) throw Error(f.at("mapClass").where + ": empty mapping");
  }
  if (!mapping13_path.empty()) {
    const matlab::MatFile f = matlab::read_mat_v5(mapping13_path);
    const matlab::MatArray& s = f.at("classMapping13");
    const matlab::MatArray& names = s.field("classNames");
    m.names13 = names.as_strings();
    if (m.names13.size() != 13)
      throw Error(names.where + ": expected the 13 NYU13 class names, got " + names.describe());
    const matlab::MatArray& labels = s.field("labels13");
    m.nyu40_to_13 = integer_vector(labels, 0, 13);
    if (m.nyu40_to_13.size() != 40) {
      throw Error(labels.where + ": expected 40 entries (one per NYU40 class), got " + labels.describe());
    }
  }
  return m;
}

NyuCategories nyu_categories(const NyuClassMapping& mapping, NyuClassSet set) {
  NyuCategories out;
  std::vector<int64_t> from40(41, 0);  // NYU40 id -> category id
  if (set == NyuClassSet::Nyu13) {
    if (mapping.names13.size() != 13 || mapping.nyu40_to_13.size() != 40) {
      throw Error("class set nyu13 needs class13Mapping.mat (--mapping13)");
    }
    for (int i = 0; i < 13; ++i) out.categories.emplace_back(i + 1, mapping.names13[static_cast<size_t>(i)]);
    for (int i = 0; i < 40; ++i) from40[static_cast<size_t>(i) + 1] = mapping.nyu40_to_13[static_cast<size_t>(i)];
  } else {
    std::set<int> stuff;
    if (set == NyuClassSet::Nyu40Things) {
      for (const char* name : {"wall", "floor", "ceiling"}) {
        const auto it = std::find(mapping.names40.begin(), mapping.names40.end(), name);
        if (it == mapping.names40.end()) {
          throw Error((mapping.mapping40_path.empty() ? std::string("classMapping40.mat") : mapping.mapping40_path) +
                      ": className has no '" + name +
                      "' (needed to leave out wall, floor and ceiling for nyu40-things)");
        }
        stuff.insert(static_cast<int>(it - mapping.names40.begin()) + 1);
      }
    }
    for (int id = 1; id <= static_cast<int>(mapping.names40.size()); ++id) {
      if (stuff.count(id)) continue;
      out.categories.emplace_back(id, mapping.names40[static_cast<size_t>(id) - 1]);
      from40[static_cast<size_t>(id)] = id;
    }
  }
  out.label_to_category.resize(mapping.label_to_40.size());
  for (size_t i = 0; i < mapping.label_to_40.size(); ++i) {
    out.label_to_category[i] = from40[static_cast<size_t>(mapping.label_to_40[i])];
  }
  return out;
}

NyuSplits read_nyu_splits(const std::string& splits_path) {
  const matlab::MatFile f = matlab::read_mat_v5(splits_path);
  NyuSplits s;
  std::map<int64_t, const char*> seen;
  for (auto [name, list] :
       {std::pair<const char*, std::vector<int64_t>*>{"trainNdxs", &s.train}, {"testNdxs", &s.test}}) {
    const matlab::MatArray& a = f.at(name);
    if (!a.is_vector()) throw Error(a.where + ": expected a vector of frame indices, got " + a.describe());
    *list = a.as_integers();
    for (size_t i = 0; i < list->size(); ++i) {
      const int64_t v = (*list)[i];
      if (v < 1)
        throw Error(a.where + ": element " + std::to_string(i + 1) + " is " + std::to_string(v) +
                    ", expected a 1-based frame index");
      const auto [it, fresh] = seen.emplace(v, name);
      if (!fresh) {
        throw Error(
            a.where + ": frame " + std::to_string(v) + " is listed " +
            (std::string(it->second) == name ? std::string("twice") : std::string("in ") + it->second + " too"));
      }
    }
  }
  return s;
}

namespace {

const char* kImages = "images";
const char* kLabels = "labels";
const char* kInstances = "instances";

struct NyuFrame {
  std::vector<uint8_t> image;  // [3][W][H]
  std::vector<float> depth;    // [W][H] metres
  std::vector<uint16_t> labels;
  std::vector<uint8_t> instances;
};

// The labelled .mat through the HDF5 C++ API. Every HDF5 call (object
// destruction included) happens under one mutex: HDF5's C++ layer is not thread-safe.
class NyuMatFile {
 public:
  NyuMatFile(const std::string& path, NyuDepthField depth) : path_(path) {
    H5::Exception::dontPrint();
    if (!file_exists(path)) throw Error(path + ": file not found");
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      if (!H5::H5File::isHdf5(path.c_str())) {
        throw Error(path + ": not an HDF5 file (nyu_depth_v2_labeled.mat is a MATLAB v7.3 MAT-file, which is HDF5)");
      }
      file_ = H5::H5File(path, H5F_ACC_RDONLY);
      depth_name_ = depth == NyuDepthField::Filled ? "depths" : "rawDepths";
      images_ = open(kImages, 4, H5T_INTEGER, 1, "uint8");
      depth_ = open(depth_name_.c_str(), 3, H5T_FLOAT, 4, "float32 (single)");
      labels_ = open(kLabels, 3, H5T_INTEGER, 2, "uint16");
      instances_ = open(kInstances, 3, H5T_INTEGER, 1, "uint8");
      const auto image_dims = dims(images_);
      frames_ = static_cast<int64_t>(image_dims[0]);
      width_ = static_cast<int64_t>(image_dims[2]);
      height_ = static_cast<int64_t>(image_dims[3]);
      if (image_dims[1] != 3) {
        throw Error(path + ": dataset '" + kImages + "' has shape " + shape(image_dims) +
                    ", expected (N, 3, W, H) (MATLAB H x W x 3 x N)");
      }
      for (auto [ds, name] : {std::pair<H5::DataSet*, std::string>{&depth_, depth_name_},
                              {&labels_, kLabels},
                              {&instances_, kInstances}}) {
        const auto d = dims(*ds);
        if (static_cast<int64_t>(d[0]) != frames_ || static_cast<int64_t>(d[1]) != width_ ||
            static_cast<int64_t>(d[2]) != height_) {
          throw Error(path + ": dataset '" + name + "' has shape " + shape(d) + ", but '" + kImages + "' has " +
                      shape(image_dims) + " (expected (N, W, H) with the same N, W, H)");
        }
      }
      if (frames_ <= 0 || width_ <= 0 || height_ <= 0) {
        throw Error(path + ": dataset '" + kImages + "' is empty, shape " + shape(image_dims));
      }
    } catch (const H5::Exception& e) {
      throw Error(path + ": cannot read as NYUv2 labelled data (" + e.getDetailMsg() + ")");
    }
  }

  ~NyuMatFile() {
    std::lock_guard<std::mutex> lock(mutex_);
    images_ = H5::DataSet();
    depth_ = H5::DataSet();
    labels_ = H5::DataSet();
    instances_ = H5::DataSet();
    file_ = H5::H5File();
  }

  int64_t frames() const { return frames_; }
  int height() const { return static_cast<int>(height_); }
  int width() const { return static_cast<int>(width_); }

  // Frame `index` (0-based), as stored: [W][H] planes.
  void read(int64_t index, NyuFrame& f) {
    const size_t plane = static_cast<size_t>(width_ * height_);
    f.image.resize(3 * plane);
    f.depth.resize(plane);
    f.labels.resize(plane);
    f.instances.resize(plane);
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      read_slab(images_, index, f.image.data(), H5::PredType::NATIVE_UINT8);
      read_slab(depth_, index, f.depth.data(), H5::PredType::NATIVE_FLOAT);
      read_slab(labels_, index, f.labels.data(), H5::PredType::NATIVE_UINT16);
      read_slab(instances_, index, f.instances.data(), H5::PredType::NATIVE_UINT8);
    } catch (const H5::Exception& e) {
      throw Error(path_ + ": frame " + std::to_string(index + 1) + ": cannot read (" + e.getDetailMsg() + ")");
    }
  }

 private:
  static std::vector<hsize_t> dims(const H5::DataSet& ds) {
    const H5::DataSpace space = ds.getSpace();
    std::vector<hsize_t> d(static_cast<size_t>(space.getSimpleExtentNdims()));
    space.getSimpleExtentDims(d.data());
    return d;
  }

  static std::string shape(const std::vector<hsize_t>& d) {
    std::string s = "(";
    for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
    return s + ")";
  }

  // Opens a dataset and checks its rank and element type (class and size, as stored).
  H5::DataSet open(const char* name, int rank, H5T_class_t type_class, size_t max_size, const char* expected) {
    if (!file_.nameExists(name)) {
      throw Error(path_ + ": no dataset '" + name + "' (is this nyu_depth_v2_labeled.mat, the labelled set?)");
    }
    H5::DataSet ds = file_.openDataSet(name);
    const auto d = dims(ds);
    if (static_cast<int>(d.size()) != rank) {
      throw Error(path_ + ": dataset '" + name + "' has rank " + std::to_string(d.size()) + ", shape " + shape(d) +
                  ", expected rank " + std::to_string(rank));
    }
    const H5T_class_t cls = ds.getTypeClass();
    const H5::DataType type = ds.getDataType();
    const size_t size = type.getSize();
    bool ok = cls == type_class && size <= max_size;
    if (ok && cls == H5T_INTEGER) ok = ds.getIntType().getSign() == H5T_SGN_NONE;
    if (!ok) {
      throw Error(path_ + ": dataset '" + name + "' holds " + std::to_string(size) + "-byte " +
                  (cls == H5T_INTEGER ? "integers"
                   : cls == H5T_FLOAT ? "floats"
                                      : "values of another type") +
                  ", expected " + expected);
    }
    // Found by fuzz_nyuv2_mat: Debian's libhdf5 (1.10) reads past its buffer
    // when a dataset stores fewer bytes than its shape needs. Uncompressed, that
    // is a damaged file (or one with chunks never written, which the labelled
    // set does not have): refuse it before reading. Compressed chunks are
    // smaller by design; their decoder checks what it inflates.
    const H5::DSetCreatPropList plist = ds.getCreatePlist();
    const H5D_layout_t layout = plist.getLayout();
    if (layout == H5D_CHUNKED) {
      // HDF5 itself never writes a chunk larger than a fixed-size dataset; a
      // file that claims one sends libhdf5's decompression past its buffers.
      std::vector<hsize_t> chunk(d.size()), extent(d.size()), max_extent(d.size());
      plist.getChunk(static_cast<int>(d.size()), chunk.data());
      ds.getSpace().getSimpleExtentDims(extent.data(), max_extent.data());
      for (size_t i = 0; i < d.size(); ++i) {
        if (chunk[i] == 0 || (max_extent[i] != H5S_UNLIMITED && chunk[i] > max_extent[i])) {
          throw Error(path_ + ": dataset '" + name + "' has chunks " + shape(chunk) + " that do not fit its shape " +
                      shape(d) + " (a damaged file)");
        }
      }
    }
    if (layout == H5D_COMPACT || layout == H5D_CONTIGUOUS || (layout == H5D_CHUNKED && plist.getNfilters() == 0)) {
      uint64_t need = size;
      bool overflow = false;
      for (hsize_t v : d) overflow |= __builtin_mul_overflow(need, static_cast<uint64_t>(v), &need);
      const hsize_t stored = ds.getStorageSize();
      if (overflow || stored < need) {
        throw Error(path_ + ": dataset '" + name + "' stores " + std::to_string(stored) + " bytes, but its shape " +
                    shape(d) + " needs " + (overflow ? std::string("more than 2^64") : std::to_string(need)) +
                    " (a damaged file)");
      }
    }
    return ds;
  }

  static void read_slab(H5::DataSet& ds, int64_t index, void* out, const H5::PredType& type) {
    H5::DataSpace space = ds.getSpace();
    const int rank = space.getSimpleExtentNdims();
    std::vector<hsize_t> count(static_cast<size_t>(rank)), offset(static_cast<size_t>(rank), 0);
    space.getSimpleExtentDims(count.data());
    count[0] = 1;
    offset[0] = static_cast<hsize_t>(index);
    space.selectHyperslab(H5S_SELECT_SET, count.data(), offset.data());
    H5::DataSpace memory(rank, count.data());
    ds.read(out, type, memory, space);
  }

  std::string path_, depth_name_;
  std::mutex mutex_;
  H5::H5File file_;
  H5::DataSet images_, depth_, labels_, instances_;
  int64_t frames_ = 0, width_ = 0, height_ = 0;
};

// One [W][H] plane (x outer, y inner: MATLAB's H x W seen through HDF5) as an H x W Mat.
cv::Mat transposed_plane(const void* data, int width, int height, int type) {
  const cv::Mat stored(width, height, type, const_cast<void*>(data));
  cv::Mat out;
  cv::transpose(stored, out);
  return out;
}

struct FrameCounts {
  int64_t outside_set = 0;  // class not in the class set (e.g. wall for nyu40-things)
  int64_t unmapped = 0;     // raw label mapped to no class
  int64_t small = 0;        // below the minimum area
};

// The instances of one frame, in (label, instance) order.
std::vector<InstanceMask> frame_instances(const NyuFrame& f, int width, int height, const NyuClassMapping& mapping,
                                          const NyuCategories& cats, double min_area, const std::string& where,
                                          FrameCounts& counts) {
  const cv::Mat labels = transposed_plane(f.labels.data(), width, height, CV_16UC1);
  const cv::Mat inst = transposed_plane(f.instances.data(), width, height, CV_8UC1);
  const size_t n_labels = cats.label_to_category.size();
  std::map<uint32_t, int64_t> area;  // key = label * 256 + instance
  for (int y = 0; y < height; ++y) {
    const uint16_t* l = labels.ptr<uint16_t>(y);
    const uint8_t* k = inst.ptr<uint8_t>(y);
    for (int x = 0; x < width; ++x) {
      if (l[x] == 0) continue;
      if (l[x] > n_labels) {
        throw Error(where + ": label " + std::to_string(l[x]) + " at (x " + std::to_string(x) + ", y " +
                    std::to_string(y) + ") is beyond classMapping40.mat's mapClass (" + std::to_string(n_labels) +
                    " labels)");
      }
      ++area[static_cast<uint32_t>(l[x]) * 256u + k[x]];
    }
  }
  std::vector<InstanceMask> out;
  std::unordered_map<uint32_t, size_t> slot;
  for (const auto& [key, pixels] : area) {
    const uint32_t label = key / 256;
    const int64_t category = cats.label_to_category[label - 1];
    if (category == 0) {
      ++(mapping.label_to_40[label - 1] == 0 ? counts.unmapped : counts.outside_set);
      continue;
    }
    if (static_cast<double>(pixels) < min_area) {
      ++counts.small;
      continue;
    }
    slot.emplace(key, out.size());
    out.push_back({category, cv::Mat::zeros(height, width, CV_8UC1), false});
  }
  if (out.empty()) return out;
  for (int y = 0; y < height; ++y) {
    const uint16_t* l = labels.ptr<uint16_t>(y);
    const uint8_t* k = inst.ptr<uint8_t>(y);
    for (int x = 0; x < width; ++x) {
      if (l[x] == 0) continue;
      const auto it = slot.find(static_cast<uint32_t>(l[x]) * 256u + k[x]);
      if (it != slot.end()) out[it->second].mask.ptr<uint8_t>(y)[x] = 1;
    }
  }
  return out;
}

// "1 instance", "3 instances".
std::string count_of(int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string percent(double frac) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", frac * 100.0);
  return buf;
}

}  // namespace

// Debian's libhdf5 (1.10) can crash, not just fail, on a damaged file
// (fuzz_nyuv2_mat: a NULL memcpy after a failed allocation in its local-heap
// code, found beside the out-of-bounds reads checked in NyuMatFile::open). So
// the file's metadata walk and the first frame's read are tried first in a
// child process: its crash becomes an Error naming the file, not the tool's
// crash. Errors the child meets are left to the parent, which reports them.
void probe_in_child_process(const std::string& path, NyuDepthField depth) {
  if (!file_exists(path)) return;  // the parent's open says so
  const pid_t pid = ::fork();
  if (pid < 0) return;  // no child: read in-process as before
  if (pid == 0) {
    try {
      NyuMatFile mat(path, depth);
      NyuFrame frame;
      mat.read(0, frame);
    } catch (...) {
    }
    ::_exit(0);  // no destructors or exit handlers of the parent's
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
    throw Error(path + ": a damaged HDF5 file (libhdf5 " +
                (WIFSIGNALED(status) ? std::string("crashed reading it: ") + strsignal(WTERMSIG(status))
                                     : "failed reading it, exit status " + std::to_string(WEXITSTATUS(status))) +
                ")");
  }
}

ConversionSummary convert_nyuv2(const NyuConvertOptions& o, const ProgressCallback& progress) {
  if (!std::isfinite(o.min_area_frac) || o.min_area_frac < 0 || o.min_area_frac >= 1) {
    throw Error("nyuv2: minimum area fraction must be in [0, 1), got " + std::to_string(o.min_area_frac));
  }
  if (o.classes == NyuClassSet::Nyu13 && o.mapping13_path.empty()) {
    throw Error("nyuv2: class set nyu13 needs class13Mapping.mat (--mapping13)");
  }
  // Small inputs first: a wrong file fails before anything is written.
  const NyuClassMapping mapping = load_nyu_class_mapping(o.mapping40_path, o.mapping13_path);
  const NyuCategories cats = nyu_categories(mapping, o.classes);
  const NyuSplits splits = read_nyu_splits(o.splits_path);
  probe_in_child_process(o.mat_path, o.depth);
  NyuMatFile mat(o.mat_path, o.depth);

  std::vector<std::pair<int64_t, const char*>> frames;  // (1-based frame, split name)
  for (auto [list, name] :
       {std::pair<const std::vector<int64_t>*, const char*>{&splits.train, "train"}, {&splits.test, "test"}}) {
    if (o.split != NyuSplit::All && std::string(name) != nyu_split_name(o.split)) continue;
    for (int64_t f : *list) {
      if (f > mat.frames()) {
        throw Error(o.splits_path + ": " + (std::string(name) == "train" ? "trainNdxs" : "testNdxs") + " lists frame " +
                    std::to_string(f) + ", but " + o.mat_path + " has " + std::to_string(mat.frames()) +
                    " frames (mismatched files?)");
      }
      frames.emplace_back(f, name);
    }
  }
  std::sort(frames.begin(), frames.end());  // file order: sequential reads

  const std::string mat_name = std::filesystem::path(o.mat_path).filename().string();
  DatasetWriter writer(o.out_dir, cats.categories, o.force,
                       "NYU Depth V2 labelled frames (" + mat_name + "), split " + nyu_split_name(o.split) +
                           ", classes " + nyu_class_set_name(o.classes) + ", depth " + nyu_depth_field_name(o.depth) +
                           ", instances below " + percent(o.min_area_frac) + " of the image dropped");
  const double min_area = o.min_area_frac * static_cast<double>(mat.width()) * static_cast<double>(mat.height());
  const Intrinsics intrinsics = nyuv2_color_intrinsics();
  const auto total = static_cast<int64_t>(frames.size());
  std::atomic<int64_t> done{0};
  std::atomic<bool> cancelled{false};
  std::mutex counts_mutex;
  FrameCounts totals;
  if (progress && !progress(0, total)) cancelled = true;

  parallel_for(frames.size(), o.threads, [&](size_t i) {
    if (cancelled) return;
    const auto [frame, split] = frames[i];
    char stem[64];
    std::snprintf(stem, sizeof stem, "%s/%06lld", split, static_cast<long long>(frame));
    const std::string where = o.mat_path + ": frame " + std::to_string(frame);
    NyuFrame f;
    mat.read(frame - 1, f);
    const int w = mat.width(), h = mat.height();
    const size_t plane = f.depth.size();
    std::vector<cv::Mat> channels;
    for (int c = 0; c < 3; ++c) channels.push_back(transposed_plane(f.image.data() + c * plane, w, h, CV_8UC1));
    cv::Mat rgb;
    cv::merge(channels, rgb);  // MATLAB's channel order is R, G, B
    const cv::Mat depth = transposed_plane(f.depth.data(), w, h, CV_32FC1);
    FrameCounts counts;
    const std::vector<InstanceMask> instances = frame_instances(f, w, h, mapping, cats, min_area, where, counts);
    writer.add(stem, rgb, depth, instances, intrinsics, mat_name + " frame " + std::to_string(frame));
    {
      std::lock_guard<std::mutex> lock(counts_mutex);
      totals.outside_set += counts.outside_set;
      totals.unmapped += counts.unmapped;
      totals.small += counts.small;
      const int64_t d = ++done;
      if (progress && !progress(d, total)) cancelled = true;
    }
  });
  if (cancelled) throw Error("nyuv2: conversion cancelled");

  if (totals.outside_set > 0) {
    writer.skip(count_of(totals.outside_set, "instance"),
                std::string("class not in ") + nyu_class_set_name(o.classes) +
                    (o.classes == NyuClassSet::Nyu40Things ? " (wall, floor, ceiling)" : ""));
  }
  if (totals.unmapped > 0) {
    writer.skip(count_of(totals.unmapped, "instance"), "raw label mapped to no class by mapClass");
  }
  if (totals.small > 0) {
    char reason[128];
    std::snprintf(reason, sizeof reason, "smaller than %s of the image (%.4g px)", percent(o.min_area_frac).c_str(),
                  min_area);
    writer.skip(count_of(totals.small, "instance"), reason);
  }
  ConversionSummary summary = writer.finish();
  return summary;
}

}  // namespace rgbdseg
