#include "client/json.h"

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace petrel::client::json {

namespace {

constexpr int kMaxDepth = 1000;

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  std::optional<Value> run() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    skip_ws();
    Value v;
    if (!value(v, 0)) return std::nullopt;
    skip_ws();
    if (pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void skip_ws() {
    while (!at_end() && (unsigned char)s_[pos_] <= 32 && s_[pos_] != '\0') ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool value(Value& v, int depth) {
    if (literal("null")) { v.type = Value::Type::kNull; return true; }
    if (literal("false")) { v.type = Value::Type::kFalse; return true; }
    if (literal("true")) { v.type = Value::Type::kTrue; return true; }
    const char c = peek();
    if (c == '"') { v.type = Value::Type::kString; return string(v.text); }
    if (c == '-' || (c >= '0' && c <= '9')) { v.type = Value::Type::kNumber; return number(v.number); }
    if (c == '[') return array(v, depth + 1);
    if (c == '{') return object(v, depth + 1);
    return false;
  }

  bool number(double& d) {
    char buf[64];
    size_t n = 0;
    while (n < sizeof buf - 1 && pos_ + n < s_.size() && std::strchr("0123456789+-eE.", s_[pos_ + n]) &&
           s_[pos_ + n] != '\0')
      buf[n] = s_[pos_ + n], ++n;
    buf[n] = '\0';
    char* end = nullptr;
    d = std::strtod(buf, &end);
    if (end == buf) return false;
    pos_ += size_t(end - buf);
    return true;
  }

  static int hex4(std::string_view s) {
    if (s.size() < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s[i];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return -1;
    }
    return v;
  }

  static void put_utf8(unsigned long cp, std::string& out) {
    if (cp < 0x80) { out += char(cp); return; }
    if (cp < 0x800) { out += char(0xC0 | cp >> 6); }
    else if (cp < 0x10000) { out += char(0xE0 | cp >> 12); out += char(0x80 | (cp >> 6 & 0x3F)); }
    else {
      out += char(0xF0 | cp >> 18);
      out += char(0x80 | (cp >> 12 & 0x3F));
      out += char(0x80 | (cp >> 6 & 0x3F));
    }
    out += char(0x80 | (cp & 0x3F));
  }

  // \uXXXX (with a following low surrogate for a high one); pos_ is at the 'u'.
  bool unicode(std::string& out) {
    const int first = hex4(s_.substr(pos_ + 1));
    if (first < 0 || (first >= 0xDC00 && first <= 0xDFFF)) return false;
    pos_ += 5;
    unsigned long cp = unsigned(first);
    if (first >= 0xD800 && first <= 0xDBFF) {
      if (s_.substr(pos_, 2) != "\\u") return false;
      const int second = hex4(s_.substr(pos_ + 2));
      if (second < 0xDC00 || second > 0xDFFF) return false;
      pos_ += 6;
      cp = 0x10000 + ((unsigned(first) & 0x3FF) << 10 | (unsigned(second) & 0x3FF));
    }
    put_utf8(cp, out);
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // opening quote
    // The closing quote must exist before anything is decoded.
    size_t end = pos_;
    while (end < s_.size() && s_[end] != '"' && s_[end] != '\0') end += s_[end] == '\\' ? 2 : 1;
    if (end >= s_.size() || s_[end] != '"') return false;
    out.clear();
    while (pos_ < end) {
      const char c = s_[pos_];
      if (c != '\\') { out += c; ++pos_; continue; }
      const char e = s_[pos_ + 1];
      ++pos_;
      switch (e) {
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case '"': case '\\': case '/': out += e; break;
        case 'u':
          if (!unicode(out)) return false;
          continue;
        default: return false;
      }
      ++pos_;
    }
    pos_ = end + 1;
    return true;
  }

  bool array(Value& v, int depth) {
    if (depth > kMaxDepth) return false;
    v.type = Value::Type::kArray;
    ++pos_;
    skip_ws();
    if (peek() == ']') { ++pos_; return true; }
    for (;;) {
      skip_ws();
      Value item;
      if (!value(item, depth)) return false;
      v.items.emplace_back(std::string(), std::move(item));
      skip_ws();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() == ']') { ++pos_; return true; }
      return false;
    }
  }

  bool object(Value& v, int depth) {
    if (depth > kMaxDepth) return false;
    v.type = Value::Type::kObject;
    ++pos_;
    skip_ws();
    if (peek() == '}') { ++pos_; return true; }
    for (;;) {
      skip_ws();
      std::string key;
      if (peek() != '"' || !string(key)) return false;
      skip_ws();
      if (peek() != ':') return false;
      ++pos_;
      skip_ws();
      Value item;
      if (!value(item, depth)) return false;
      v.items.emplace_back(std::move(key), std::move(item));
      skip_ws();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() == '}') { ++pos_; return true; }
      return false;
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

bool same_double(double a, double b) {
  const double max = std::fabs(a) > std::fabs(b) ? std::fabs(a) : std::fabs(b);
  return std::fabs(a - b) <= max * DBL_EPSILON;
}

void print_value(const Value& v, bool pretty, int depth, std::string& out) {
  switch (v.type) {
    case Value::Type::kNull: out += "null"; return;
    case Value::Type::kFalse: out += "false"; return;
    case Value::Type::kTrue: out += "true"; return;
    case Value::Type::kNumber: print_number(v.number, out); return;
    case Value::Type::kString: print_string(v.text, out); return;
    case Value::Type::kArray:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += pretty ? ", " : ",";
        print_value(v.items[i].second, pretty, depth + 1, out);
      }
      out += ']';
      return;
    case Value::Type::kObject:
      out += '{';
      if (pretty) out += '\n';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (pretty) out.append(size_t(depth + 1), '\t');
        print_string(v.items[i].first, out);
        out += pretty ? ":\t" : ":";
        print_value(v.items[i].second, pretty, depth + 1, out);
        if (i + 1 < v.items.size()) out += ',';
        if (pretty) out += '\n';
      }
      if (pretty) out.append(size_t(depth), '\t');
      out += '}';
      return;
  }
}

}  // namespace

std::optional<Value> parse(std::string_view text) { return Parser(text).run(); }

void print(const Value& v, bool pretty, std::string& out) { print_value(v, pretty, 0, out); }

void print_number(double d, std::string& out) {
  if (std::isnan(d) || std::isinf(d)) {
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%1.15g", d);
  double back = 0;
  if (std::sscanf(buf, "%lg", &back) != 1 || !same_double(back, d)) std::snprintf(buf, sizeof buf, "%1.17g", d);
  out += buf;
}

void print_string(std::string_view s, std::string& out) {
  out += '"';
  for (const char c : s) {
    const auto u = (unsigned char)c;
    if (u == 0) break;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 32) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace petrel::client::json
