// COCO / canonical dataset JSON (images, annotations with RLE and polygons,
// categories, depth fields) through the ground-truth loader.
#include "fuzz_file.h"
#include "rgbdseg/coco/coco_dataset.h"
#include "rgbdseg/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz_input_file(data, size, ".json");
  try {
    rgbdseg::load_coco_ground_truth(path, rgbdseg::IouType::Segm, 1);
  } catch (const rgbdseg::Error&) {
  }
  return 0;
}
