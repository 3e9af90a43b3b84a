#pragma once
// JSON helpers for handlers: responses, error bodies and typed reading of a request
// object that reports every problem as a FieldError instead of throwing.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "web/request.h"

namespace petrel::web {

struct FieldError {
  std::string field;
  std::string message;
};

// status with the serialized value, Content-Type application/json.
Response json_response(int status, const boost::json::value& value);
// {"error": message}
Response error_response(int status, std::string message);
// {"error":"invalid input","fields":[{"field":..,"message":..}, ...]}
Response field_error_response(int status, std::vector<FieldError> errors);

// The body as a JSON object, or "body is not valid JSON: ..." / "body must be a JSON
// object". Never throws on bad input.
Result<boost::json::object> parse_json_object(std::string_view body);

// Reads fields of a request object, collecting one FieldError per problem so a client
// learns about all of them at once. Required getters return nullopt on a problem;
// the *_or getters return the fallback when the field is absent (or wrong, with an error).
class FieldReader {
 public:
  explicit FieldReader(const boost::json::object& object) : object_(object) {}

  std::optional<std::string> string(std::string_view field, size_t max_length = 4096);
  std::optional<bool> boolean(std::string_view field);
  std::optional<int64_t> integer(std::string_view field, int64_t min, int64_t max);

  std::string string_or(std::string_view field, std::string fallback, size_t max_length = 4096);
  bool boolean_or(std::string_view field, bool fallback);
  int64_t integer_or(std::string_view field, int64_t min, int64_t max, int64_t fallback);

  // An error for each field of the object not in `known` (catches typos in clients).
  void reject_unknown(std::initializer_list<std::string_view> known);

  bool ok() const { return errors_.empty(); }
  const std::vector<FieldError>& errors() const { return errors_; }
  // 400 with every error collected.
  Response error_response() const;

 private:
  const boost::json::value* present(std::string_view field);  // nullptr when absent or null
  void fail(std::string_view field, std::string message) { errors_.push_back({std::string(field), std::move(message)}); }
  std::optional<std::string> read_string(const boost::json::value& v, std::string_view field, size_t max_length);
  std::optional<bool> read_bool(const boost::json::value& v, std::string_view field);
  std::optional<int64_t> read_integer(const boost::json::value& v, std::string_view field, int64_t min, int64_t max);

  const boost::json::object& object_;
  std::vector<FieldError> errors_;
};

}  // namespace petrel::web
