// Errors as values. An Error carries a kind (mapped to an HTTP status in exactly one
// place: src/http/error_mapping.cpp), the contract's error code string, a human message,
// and optional extras (field at fault, retry_after, attempts_left).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace phoneverify::util {

enum class ErrorKind {
  kInvalidInput,      // 400
  kNotAuthenticated,  // 401
  kForbidden,         // 403
  kNotFound,          // 404
  kMethodNotAllowed,  // 405
  kConflict,          // 409
  kGone,              // 410
  kTooLarge,          // 413
  kUnsupportedMedia,  // 415
  kRateLimited,       // 429
  kInternal,          // 500
  kUnavailable,       // 503
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string code;     // contract code, e.g. "invalid_phone"
  std::string details;  // human message, safe to show to the client
  std::string field;    // input at fault, empty when none
  std::optional<int64_t> retry_after;    // seconds, for 429/503
  std::optional<int64_t> attempts_left;  // for otp_invalid

  static Error Make(ErrorKind kind, std::string code, std::string details,
                    std::string field = "") {
    Error e;
    e.kind = kind;
    e.code = std::move(code);
    e.details = std::move(details);
    e.field = std::move(field);
    return e;
  }
  static Error Internal(std::string details = "Internal error.") {
    return Make(ErrorKind::kInternal, "internal_error", std::move(details));
  }
  static Error Unavailable(std::string details = "Service temporarily unavailable.") {
    return Make(ErrorKind::kUnavailable, "unavailable", std::move(details));
  }
};

// Status: ok, or an Error.
class Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status Ok() { return Status(); }
  bool ok() const { return !error_.has_value(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

// Result<T>: a T, or an Error (g++ 12 has no std::expected).
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design
  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  Status status() const { return ok() ? Status() : Status(error()); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace phoneverify::util
