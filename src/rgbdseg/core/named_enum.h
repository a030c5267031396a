#pragma once
// Enumerated settings, each with one name table: parsed from text once (the
// config reader, a command-line flag), carried as typed values, printed and
// written by name. A table is a specialisation of EnumNames<E>:
//
//   template <> struct EnumNames<IouType> {
//     static constexpr const char* what = "iou type";  // for error messages
//     static constexpr std::array<std::pair<IouType, const char*>, 2> names{{{IouType::Segm, "segm"}, ...}};
//   };
#include <array>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

template <typename E>
struct EnumNames;

template <typename E>
const char* enum_name(E value) {
  for (const auto& [v, name] : EnumNames<E>::names) {
    if (v == value) return name;
  }
  return "?";
}

// "a, b, c": the accepted names, in table order.
template <typename E>
std::string enum_name_list() {
  std::string out;
  for (const auto& entry : EnumNames<E>::names) out += (out.empty() ? "" : ", ") + std::string(entry.second);
  return out;
}

// False when `name` is not in the table (names are case-sensitive).
template <typename E>
bool enum_from_name(std::string_view name, E& out) {
  for (const auto& [v, n] : EnumNames<E>::names) {
    if (name == n) {
      out = v;
      return true;
    }
  }
  return false;
}

// "expected one of a, b; got "x"": the tail of every unknown-name error.
template <typename E>
std::string enum_expected(std::string_view got) {
  return "expected one of " + enum_name_list<E>() + "; got \"" + std::string(got) + "\"";
}

// Error("<what>: expected one of a, b; got "x"") for an unknown name.
template <typename E>
E parse_enum(std::string_view name) {
  E value{};
  if (!enum_from_name(name, value)) throw Error(std::string(EnumNames<E>::what) + ": " + enum_expected<E>(name));
  return value;
}

// A config value of enum type E: typed for code (`switch (c.train.schedule)`,
// `== LrSchedule::Poly`), named for people and tests (`== "poly"`, printing,
// assignment from a name, which throws on an unknown one).
template <typename E>
class Named {
 public:
  constexpr Named(E value) : value_(value) {}  // NOLINT: implicit by design
  Named(const char* name) : value_(parse_enum<E>(name)) {}
  Named(const std::string& name) : value_(parse_enum<E>(name)) {}
  constexpr operator E() const { return value_; }
  constexpr E value() const { return value_; }
  const char* name() const { return enum_name(value_); }

  friend bool operator==(const Named& a, const char* b) { return std::string_view(a.name()) == b; }
  friend bool operator==(const Named& a, const std::string& b) { return a.name() == b; }
  friend bool operator==(const char* a, const Named& b) { return b == a; }
  friend bool operator==(const std::string& a, const Named& b) { return b == a; }
  friend bool operator!=(const Named& a, const char* b) { return !(a == b); }
  friend bool operator!=(const Named& a, const std::string& b) { return !(a == b); }
  friend std::string operator+(const std::string& a, const Named& b) { return a + b.name(); }
  friend std::string operator+(const Named& a, const std::string& b) { return a.name() + b; }
  friend std::ostream& operator<<(std::ostream& os, const Named& n) { return os << n.name(); }

 private:
  E value_;
};

// JSON (nlohmann, found by ADL) writes the name, never the enum's number.
template <typename Json, typename E>
void to_json(Json& json, const Named<E>& value) {
  json = value.name();
}

}  // namespace rgbdseg
