// core/base64: RFC 4648's test vectors, round trips, and what is refused.
#include "rgbdseg/core/base64.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace rgbdseg {
namespace {

std::string decode_text(const std::string& b64) {
  const auto bytes = base64_decode(b64);
  EXPECT_TRUE(bytes.has_value()) << b64;
  return bytes ? std::string(bytes->begin(), bytes->end()) : "";
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},         {"f", "Zg=="},       {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(reinterpret_cast<const uint8_t*>(plain.data()), plain.size()), encoded);
    EXPECT_EQ(decode_text(encoded), plain);
  }
}

TEST(Base64, LineBreaksAndMissingPaddingAreAccepted) {
  EXPECT_EQ(decode_text("Zm9v\nYmE="), "fooba");
  EXPECT_EQ(decode_text("Zm9vYmE"), "fooba");
  EXPECT_EQ(decode_text("Zg"), "f");
}

TEST(Base64, RandomRoundTrips) {
  std::mt19937 rng(7);
  for (int n = 0; n < 200; ++n) {
    std::vector<uint8_t> data(rng() % 300);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    const auto back = base64_decode(base64_encode(data.data(), data.size()));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, data);
  }
}

TEST(Base64, RefusesOtherText) {
  EXPECT_FALSE(base64_decode("Zm9v!").has_value());     // not in the alphabet
  EXPECT_FALSE(base64_decode("Zm9v-_").has_value());    // the URL alphabet is not LabelMe's
  EXPECT_FALSE(base64_decode("Zg==Zg==").has_value());  // data after padding
  EXPECT_FALSE(base64_decode("Zm9vY").has_value());     // 6 dangling bits
}

}  // namespace
}  // namespace rgbdseg
