#pragma once
// A small JSON value with the parse and print rules petrel_sub's %j / %J output needs to
// be byte-for-byte what mosquitto_sub (which uses cJSON) prints: numbers printed with 15
// significant digits unless 17 are needed to round-trip (NaN/Inf as null), strings
// escaping only ", \, \b \f \n \r \t and other control bytes as \u00xx, "pretty" output
// indenting objects with tabs and separating array items with ", ". Parsing accepts what
// cJSON accepts: leading UTF-8 BOM, any byte <= 0x20 as whitespace, leading zeros,
// "1." and "1.e5", control bytes inside strings; duplicate keys are kept.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace petrel::client::json {

struct Value {
  enum class Type { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  double number = 0;
  std::string text;  // string value
  std::vector<std::pair<std::string, Value>> items;  // array items (empty keys) / members

  static Value null() { return Value{}; }
  static Value num(double d) { Value v; v.type = Type::kNumber; v.number = d; return v; }
  static Value str(std::string s) { Value v; v.type = Type::kString; v.text = std::move(s); return v; }
  static Value object() { Value v; v.type = Type::kObject; return v; }
  Value& add(std::string key, Value v) { items.emplace_back(std::move(key), std::move(v)); return items.back().second; }
};

// Parses all of text (which may not contain NUL bytes outside strings' \u0000 escapes).
// Trailing bytes other than whitespace make it fail.
std::optional<Value> parse(std::string_view text);

void print(const Value& v, bool pretty, std::string& out);
void print_number(double d, std::string& out);
// Prints s as a JSON string, stopping at the first NUL byte (as C strings do).
void print_string(std::string_view s, std::string& out);

}  // namespace petrel::client::json
