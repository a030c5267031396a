#pragma once
// Standard base64 (RFC 4648, '+' and '/', '=' padding), as annotation tools
// embed images and masks in JSON (LabelMe's imageData and mask shapes).
// Torch- and OpenCV-free.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rgbdseg {

// Decodes `text`; whitespace (line breaks) is skipped, padding is optional.
// std::nullopt on any other character, a stray '=' or a dangling final character.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

std::string base64_encode(const uint8_t* data, size_t size);

}  // namespace rgbdseg
