#pragma once
// `rgbdseg convert cots`: the COTS dataset ("Common Objects of a Traveling
// Scientist", Seychell et al., IEEE Access 2021) as a canonical dataset,
// class-agnostic (one category, "object"). Torch-free.
//
// Input (the folders as distributed; see ../shared/data/README.md):
//   ROOT/Part N - .../<scene>/<k>_colour.jpeg, <k>_depth16.png (16-bit mm)
//   per-object masks (Part 2): <scene>/masks/<anything>_<k>_colour_mask_<j>_mask....png
//     (8-bit 0/255; names irregular, <k> is parsed from "<k>_colour_mask"),
//     only annotated frames are converted, the others are skipped with a reason;
//   instance maps (Part 3): ROOT/Part N/masks/<scene, any case>/<k>_colour.png, each
//     distinct non-black colour one object; a frame without a map is skipped.
// The style is detected per scene (a masks/ folder inside the scene, or the
// part's shared masks/ folder), not from the part's number.
// Depth beyond `max_depth` (COTS has 14-27 m outliers and 65535) is invalid (0).
// Output stems: "part2/mugs_oc2/3", "part3/booksA_nw_no/1".
//
// Object groups: frames of the same physical objects share a group, and a
// train/val split by group (`val_groups`) never puts one object in both. The
// group of a scene is its name, lower case, without the condition tags (no, oc,
// oc2, nw, w) and the set letter (booksA -> books; in lower case only after a
// known group: booksc -> books), with the book scenes merged:
// academic_book, lp_book and reading hold books that reappear in Part 3's
// booksA..C (the Lonely Planet guides of lp_book are in booksA, "The New Digital
// Natives" of academic_book in booksB), so they are all "books". Food,
// souvenirs and statues of Part 2 and Part 3 also share objects and names.
// Groups of the training pool: books, bottles, food, footwear, headgear, mugs,
// shooters, souvenirs, statues.
#include <string>
#include <vector>

#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/dataset_writer.h"

namespace rgbdseg {

struct CotsOptions {
  std::string root;  // holds "Part 2 - Multiple Objects", "Part 3 - Complex Background"
  std::string out;
  bool force = false;       // write into a non-empty `out`
  int threads = 0;          // 0 = all cores
  double max_depth = 10.0;  // metres; farther readings are invalid (0)
  // Empty: one dataset in `out`. Otherwise out/train (every other group) and
  // out/val (these groups), each a canonical dataset. Names are groups as
  // cots_object_group() gives them, case-insensitive; unknown names are an error.
  std::vector<std::string> val_groups;
};

struct CotsSubset {
  std::string name;                 // "" (everything, in out), "train" or "val"
  std::vector<std::string> groups;  // object groups in it, sorted
  ConversionSummary summary;
};

// Returns one subset without val_groups, else train then val.
std::vector<CotsSubset> convert_cots(const CotsOptions& options, const ProgressCallback& progress = {});

// The object group of a scene folder name ("booksA_nw_oc" -> "books", "mugs_oc2" -> "mugs").
std::string cots_object_group(const std::string& scene);

// One frame found under ROOT.
struct CotsFrame {
  std::string stem;    // "part2/mugs_oc2/3"
  std::string source;  // colour file relative to ROOT
  std::string group;
  std::string colour, depth;              // paths
  std::vector<std::string> object_masks;  // per-object binary masks (Part 2 style)
  std::string instance_map;               // colour-coded map (Part 3 style)
};

struct CotsScan {
  std::vector<CotsFrame> frames;  // convertible frames (colour, depth, masks), stem order
  // Frames (by stem) and files (relative to ROOT) that cannot be converted, with the reason.
  struct Skip {
    std::string item, reason, group;
  };
  std::vector<Skip> skipped;
  std::vector<std::string> groups;  // sorted, distinct
};

// Finds the frames, their depth and masks. Error when ROOT is not a COTS folder.
CotsScan scan_cots(const std::string& root);

}  // namespace rgbdseg
