// Secret: a string that never prints. Its only way out is Reveal(), used where the
// bytes are really needed (signing, authenticating), so no log line can leak one.
// Thread-safety: a value type.
#pragma once

#include <ostream>
#include <string>
#include <utility>

namespace fraiseql {

class Secret {
 public:
  static constexpr const char* kRedacted = "<redacted>";

  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

  friend std::ostream& operator<<(std::ostream& out, const Secret&) { return out << kRedacted; }
  friend bool operator==(const Secret&, const Secret&) = default;

 private:
  std::string value_;
};

}  // namespace fraiseql
