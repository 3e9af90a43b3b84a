#pragma once
// Result<T>: a value or an Error. GCC 12 has no <expected> in C++20, so this is the
// project's small stand-in. Untrusted input (packets, config text) returns Result; the
// error carries an MQTT reason code (0 when none applies) and a message for the log.
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace petrel {

struct Error {
  unsigned char code = 0;  // MQTT v5 reason code (protocol) or 0
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(std::move(e)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

inline Error make_error(unsigned char code, std::string msg) { return Error{code, std::move(msg)}; }

}  // namespace petrel
