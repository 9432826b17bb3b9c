// Result<T>: a value or an Error, returned across every module boundary.
// Mirrors the parts of C++23 std::expected we use, so a later swap is mechanical.
// Thread-safety: a value type; no shared state.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/diagnostic.h"

namespace fraiseql {

// Codes borrow abseil's meanings; they decide a delivery's fate (docs/architecture.md).
enum class ErrorCode {
  kInvalidArgument,     // bad input (config, event, expression): do not retry, report where
  kFailedPrecondition,  // the world is not in a state where this can work (e.g. no pre-image)
  kNotFound,
  kUnavailable,         // transient: retry the call
  kAborted,             // retry the enclosing transaction
  kInternal,
};

std::string_view ErrorCodeName(ErrorCode code);

// A machine-readable cause of an error, for callers that branch on it; never parsed back out of
// the message. `domain` says whose code it is: "sqlstate" (PostgreSQL's five characters, see
// db/sqlstate.h), or the name of the unit that defined its own codes ("email": "no_recipients").
struct ErrorDetail {
  std::string domain;
  std::string code;

  friend bool operator==(const ErrorDetail&, const ErrorDetail&) = default;
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // Where in the input the problem is, when the input is text (config, expression, template).
  std::optional<SourceLocation> location;
  std::optional<ErrorDetail> detail;

  static Error Of(ErrorCode code, std::string message) {
    return {code, std::move(message), std::nullopt, std::nullopt};
  }
  static Error InvalidArgument(std::string message) { return Of(ErrorCode::kInvalidArgument, std::move(message)); }
  static Error FailedPrecondition(std::string message) {
    return Of(ErrorCode::kFailedPrecondition, std::move(message));
  }
  static Error NotFound(std::string message) { return Of(ErrorCode::kNotFound, std::move(message)); }
  static Error Unavailable(std::string message) { return Of(ErrorCode::kUnavailable, std::move(message)); }
  static Error Internal(std::string message) { return Of(ErrorCode::kInternal, std::move(message)); }

  Error At(SourceLocation where) && {
    location = std::move(where);
    return std::move(*this);
  }
  Error WithDetail(std::string domain, std::string detail_code) && {
    detail = ErrorDetail{std::move(domain), std::move(detail_code)};
    return std::move(*this);
  }
  // The same error, its message prefixed with what was being done ("inserting jobs: ...").
  Error Context(std::string_view what) && {
    message = std::string(what) + ": " + message;
    return std::move(*this);
  }
  // The code of `detail` when its domain is `domain`, else "".
  std::string_view DetailCode(std::string_view domain) const {
    return detail && detail->domain == domain ? std::string_view(detail->code) : std::string_view();
  }

  friend bool operator==(const Error&, const Error&) = default;
};

// The transient codes: trying again (the call, or its transaction) may succeed.
inline bool IsRetryable(const Error& error) {
  return error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kAborted;
}

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  template <typename U = T,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, Error> &&
                                        !std::is_same_v<std::decay_t<U>, Result>>>
  Result(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}        // NOLINT

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(state_);
  }
  // By value, not T&&: `for (auto& x : MakeResult().value())` must not dangle.
  T value() && {
    assert(has_value());
    return std::get<0>(std::move(state_));
  }
  const Error& error() const& {
    assert(!has_value());
    return std::get<1>(state_);
  }
  Error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(state_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> Ok() { return {}; }

// Assigns the value of a Result expression to `target`, or returns its error from the
// enclosing function (which must return a Result or an Error).
#define FRAISEQL_ASSIGN_OR_RETURN(target, expression)        \
  do {                                                      \
    auto fraiseql_result_ = (expression);                   \
    if (!fraiseql_result_) return fraiseql_result_.error(); \
    (target) = std::move(*fraiseql_result_);                \
  } while (false)

// Returns the error of a Result<void> expression from the enclosing function.
#define FRAISEQL_RETURN_IF_ERROR(expression)                \
  do {                                                      \
    auto fraiseql_result_ = (expression);                   \
    if (!fraiseql_result_) return fraiseql_result_.error(); \
  } while (false)

}  // namespace fraiseql
