#include "web/request.h"

namespace petrel::web {

std::string_view auth_via_name(AuthVia via) {
  switch (via) {
    case AuthVia::kBasic: return "basic";
    case AuthVia::kBearer: return "bearer";
    case AuthVia::kCookie: return "cookie";
    case AuthVia::kNone: break;
  }
  return "none";
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace petrel::web
