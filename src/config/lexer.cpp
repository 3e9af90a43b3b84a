#include "config/lexer.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

namespace petrel::config {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_blank(s.front()))) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_blanks(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_blank(s[i])) ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

Directive make_directive(std::string_view content, const std::string& file, int line) {
  Directive d;
  d.file = file;
  d.line = line;
  size_t end = 0;
  while (end < content.size() && !is_blank(content[end])) ++end;
  d.name = std::string(content.substr(0, end));
  d.value = std::string(trim(content.substr(end)));
  d.tokens = split_blanks(d.value);
  return d;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::vector<Directive> lex_config(std::string_view text, const std::string& file,
                                  std::vector<ConfigError>& errors) {
  std::vector<Directive> out;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  int line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line;
    std::string_view content = trim(raw);
    if (content.empty() || content.front() == '#') continue;
    if (!valid_utf8(content)) {
      errors.push_back({file, line, "line is not valid UTF-8 text", {}});
      continue;
    }
    out.push_back(make_directive(content, file, line));
  }
  return out;
}

bool include_order_less(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    int ua = std::toupper(static_cast<unsigned char>(a[i]));
    int ub = std::toupper(static_cast<unsigned char>(b[i]));
    if (ua != ub) return ua < ub;
    if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

bool list_include_files(const std::string& dir, std::vector<std::string>& files, std::string& error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    error = "cannot open directory '" + dir + "': " + ec.message();
    return false;
  }
  std::vector<std::string> names;
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".conf") != 0) continue;
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec)) continue;
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end(),
            [](const std::string& x, const std::string& y) { return include_order_less(x, y); });
  files.clear();
  std::string prefix = dir;
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  for (const auto& n : names) files.push_back(prefix + n);
  return true;
}

}  // namespace petrel::config
