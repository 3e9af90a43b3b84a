#include "web/json.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace petrel::web {

Response json_response(int status, const boost::json::value& value) {
  return Response{status, "application/json", boost::json::serialize(value), {}};
}

Response error_response(int status, std::string message) {
  return json_response(status, boost::json::object{{"error", std::move(message)}});
}

Response field_error_response(int status, std::vector<FieldError> errors) {
  boost::json::array fields;
  for (auto& e : errors) fields.push_back(boost::json::object{{"field", std::move(e.field)}, {"message", std::move(e.message)}});
  return json_response(status, boost::json::object{{"error", "invalid input"}, {"fields", std::move(fields)}});
}

Result<boost::json::object> parse_json_object(std::string_view body) {
  boost::system::error_code ec;
  // Depth stays at Boost.JSON's default (32): a deeply nested body is refused, not recursed.
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) return make_error(0, "body is not valid JSON: " + ec.message());
  if (!v.is_object()) return make_error(0, "body must be a JSON object");
  return std::move(v.as_object());
}

const boost::json::value* FieldReader::present(std::string_view field) {
  const boost::json::value* v = object_.if_contains(field);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

std::optional<std::string> FieldReader::read_string(const boost::json::value& v, std::string_view field,
                                                    size_t max_length) {
  if (!v.is_string()) {
    fail(field, "must be a string");
    return std::nullopt;
  }
  const auto& s = v.get_string();
  if (s.size() > max_length) {
    fail(field, fmt::format("must be at most {} bytes long", max_length));
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<bool> FieldReader::read_bool(const boost::json::value& v, std::string_view field) {
  if (!v.is_bool()) {
    fail(field, "must be true or false");
    return std::nullopt;
  }
  return v.get_bool();
}

std::optional<int64_t> FieldReader::read_integer(const boost::json::value& v, std::string_view field, int64_t min,
                                                 int64_t max) {
  const std::string range = fmt::format("must be an integer from {} to {}", min, max);
  if (v.is_int64()) {
    const int64_t n = v.get_int64();
    if (n >= min && n <= max) return n;
  } else if (v.is_uint64()) {
    const uint64_t n = v.get_uint64();  // above INT64_MAX, so only in range when max is
    if (max >= 0 && n <= uint64_t(max) && int64_t(n) >= min) return int64_t(n);
  }
  fail(field, range);
  return std::nullopt;
}

std::optional<std::string> FieldReader::string(std::string_view field, size_t max_length) {
  const auto* v = present(field);
  if (v == nullptr) {
    fail(field, "is required");
    return std::nullopt;
  }
  return read_string(*v, field, max_length);
}

std::optional<bool> FieldReader::boolean(std::string_view field) {
  const auto* v = present(field);
  if (v == nullptr) {
    fail(field, "is required");
    return std::nullopt;
  }
  return read_bool(*v, field);
}

std::optional<int64_t> FieldReader::integer(std::string_view field, int64_t min, int64_t max) {
  const auto* v = present(field);
  if (v == nullptr) {
    fail(field, "is required");
    return std::nullopt;
  }
  return read_integer(*v, field, min, max);
}

std::string FieldReader::string_or(std::string_view field, std::string fallback, size_t max_length) {
  const auto* v = present(field);
  if (v == nullptr) return fallback;
  return read_string(*v, field, max_length).value_or(std::move(fallback));
}

bool FieldReader::boolean_or(std::string_view field, bool fallback) {
  const auto* v = present(field);
  if (v == nullptr) return fallback;
  return read_bool(*v, field).value_or(fallback);
}

int64_t FieldReader::integer_or(std::string_view field, int64_t min, int64_t max, int64_t fallback) {
  const auto* v = present(field);
  if (v == nullptr) return fallback;
  return read_integer(*v, field, min, max).value_or(fallback);
}

void FieldReader::reject_unknown(std::initializer_list<std::string_view> known) {
  for (const auto& kv : object_) {
    if (std::find(known.begin(), known.end(), std::string_view(kv.key())) == known.end()) {
      fail(kv.key(), "is not a known field");
    }
  }
}

Response FieldReader::error_response() const { return field_error_response(400, errors_); }

}  // namespace petrel::web
