#pragma once
// The router product's single log level (None / Error / Warning / Information / Debug)
// and its mapping onto mosquitto.conf log_type sets. Petrel accepts it as the
// `log_level` option so the product's settings page maps onto one line.
#include <cstdint>
#include <optional>
#include <string_view>

namespace petrel::config {

enum class ProductLogLevel { kNone, kError, kWarning, kInformation, kDebug };

// Case-insensitive: "none", "error", "warning", "information", "debug".
std::optional<ProductLogLevel> parse_product_log_level(std::string_view text);
std::string_view product_log_level_name(ProductLogLevel level);

// None = no types; Error = error; Warning = error, warning; Information = error,
// warning, notice, information; Debug = all types.
uint32_t log_types_for(ProductLogLevel level);

}  // namespace petrel::config
