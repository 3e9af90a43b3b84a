#include "config/product_log_level.h"

#include <cctype>

#include "common/log.h"

namespace petrel::config {

namespace {

struct Entry {
  std::string_view name;
  ProductLogLevel level;
};
constexpr Entry kLevels[] = {
    {"none", ProductLogLevel::kNone},       {"error", ProductLogLevel::kError},
    {"warning", ProductLogLevel::kWarning}, {"information", ProductLogLevel::kInformation},
    {"debug", ProductLogLevel::kDebug},
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<ProductLogLevel> parse_product_log_level(std::string_view text) {
  for (const auto& e : kLevels) {
    if (iequals(e.name, text)) return e.level;
  }
  return std::nullopt;
}

std::string_view product_log_level_name(ProductLogLevel level) {
  for (const auto& e : kLevels) {
    if (e.level == level) return e.name;
  }
  return "none";
}

uint32_t log_types_for(ProductLogLevel level) {
  switch (level) {
    case ProductLogLevel::kNone: return kLogNone;
    case ProductLogLevel::kError: return kLogError;
    case ProductLogLevel::kWarning: return kLogError | kLogWarning;
    case ProductLogLevel::kInformation: return kLogError | kLogWarning | kLogNotice | kLogInfo;
    case ProductLogLevel::kDebug: return kLogAll;
  }
  return kLogNone;
}

}  // namespace petrel::config
