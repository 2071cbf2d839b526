// Result<T>: a value or an Error. Every fallible boundary in migctl returns one.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/error.h"

namespace migctl {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  /// Precondition: ok().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// Precondition: !ok().
  const Error& error() const& { return std::get<1>(state_); }
  Error&& error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status Ok() { return Status(); }

}  // namespace migctl

/// Returns the error of `expr` (a Result) from the enclosing function when it failed.
#define MIGCTL_RETURN_IF_ERROR(expr)                                    \
  do {                                                                  \
    auto migctl_status_ = (expr);                                       \
    if (!migctl_status_.ok()) return std::move(migctl_status_).error(); \
  } while (0)

#define MIGCTL_CONCAT_INNER_(a, b) a##b
#define MIGCTL_CONCAT_(a, b) MIGCTL_CONCAT_INNER_(a, b)

/// `MIGCTL_ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns F()'s error.
#define MIGCTL_ASSIGN_OR_RETURN(lhs, expr) \
  MIGCTL_ASSIGN_OR_RETURN_IMPL_(MIGCTL_CONCAT_(migctl_result_, __LINE__), lhs, expr)
#define MIGCTL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).error();       \
  lhs = std::move(tmp).value()
