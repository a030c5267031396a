#pragma once
// rgbdseg's one exception type. Its message is the whole story for a user:
// what failed, which file (and record or key), expected vs got.
#include <stdexcept>
#include <string>

namespace rgbdseg {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  ~Error() override;  // out of line: one typeinfo for the tool and the torch plugin
};

// A command line that cannot be run as given (conflicting or malformed flags):
// the tool exits with status 2 instead of 1, as for its parser's own errors.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
  ~UsageError() override;
};

// Rethrows `e` with `context` prepended ("loading 'x.json': <original>").
// Use while unwinding, so the final message names every stage.
[[noreturn]] void rethrow_with_context(const std::string& context, const std::exception& e);

}  // namespace rgbdseg
