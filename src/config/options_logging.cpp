// Logging options: log_type and log_dest (repeatable; the first line replaces Mosquitto's
// default set), timestamps, and Petrel's log_level (the router product's single level).
#include <fmt/format.h>

#include "common/log.h"
#include "config/option_tables.h"
#include "config/parse_state.h"
#include "config/product_log_level.h"

namespace petrel::config {

namespace {

const std::vector<std::string_view> kLogTypeNames = {
    "none", "error", "warning", "notice", "information", "subscribe",
    "unsubscribe", "websockets", "debug", "all"};

void parse_log_type_option(ParseState& s, const Directive& d) {
  if (!s.log_level_where.empty()) {
    s.error(d, fmt::format("cannot be combined with log_level (given at {})", s.log_level_where));
    return;
  }
  std::vector<std::string> w = ParseState::words(d);
  if (w.empty()) {
    s.error(d, "missing value (expected one or more of none|error|warning|notice|information|"
               "subscribe|unsubscribe|websockets|debug|all)");
    return;
  }
  if (s.log_type_where.empty()) s.log_type_where = d.where();  // first line replaces the default
  for (const auto& tok : w) {
    uint32_t mask = 0;
    if (!parse_log_type(tok, mask)) {
      s.error(d, fmt::format("unknown log type '{}'", tok) + did_you_mean(tok, kLogTypeNames));
      continue;
    }
    if (tok == "none") {
      s.log_types = kLogNone;
    } else {
      s.log_types |= mask;
    }
  }
}

void parse_log_level_option(ParseState& s, const Directive& d) {
  if (!s.log_type_where.empty()) {
    s.error(d, fmt::format("cannot be combined with log_type (given at {})", s.log_type_where));
    return;
  }
  std::string tok;
  const char* expected = "none|error|warning|information|debug";
  if (!s.one_token(d, expected, tok)) return;
  auto level = parse_product_log_level(tok);
  if (!level) {
    s.error(d, fmt::format("expected {}, got '{}'", expected, tok) +
                   did_you_mean(tok, {"none", "error", "warning", "information", "debug"}));
    return;
  }
  if (!s.log_level_where.empty()) s.warn(d, fmt::format("given again (first at {}); the last one wins", s.log_level_where));
  s.log_level_where = d.where();
  s.log_types = log_types_for(*level);
}

void parse_log_dest_file(ParseState& s, const Directive& d) {
  // The path is the rest of the line after "file" (it may contain spaces).
  std::string path = d.value.substr(d.tokens[0].size());
  size_t start = path.find_first_not_of(" \t");
  path = start == std::string::npos ? std::string() : path.substr(start);
  if (path.empty()) {
    s.error(d, "'file' needs a path (log_dest file PATH)");
    return;
  }
  if (!s.log_file.empty()) {
    s.error(d, fmt::format("only one 'file' destination is allowed (already '{}')", s.log_file));
    return;
  }
  s.log_file = path;
  s.log_dests |= kDestFile;
}

void parse_log_dest_option(ParseState& s, const Directive& d) {
  static const std::vector<std::string_view> kDests = {"stdout", "stderr", "file", "syslog", "topic", "none"};
  std::vector<std::string> w = ParseState::words(d);
  if (w.empty()) {
    s.error(d, "missing value (expected stdout|stderr|file PATH|syslog|topic|none)");
    return;
  }
  if (s.log_dest_where.empty()) s.log_dest_where = d.where();  // first line replaces the default
  const std::string& dest = w[0];
  if (dest == "file") return parse_log_dest_file(s, d);
  if (w.size() > 1) {
    s.error(d, fmt::format("unexpected extra value '{}' (one destination per line)", w[1]));
    return;
  }
  if (dest == "none") {
    s.log_dests = kDestNone;
  } else if (dest == "stdout") {
    s.log_dests |= kDestStdout;
  } else if (dest == "stderr") {
    s.log_dests |= kDestStderr;
  } else if (dest == "syslog") {
    s.log_dests |= kDestSyslog;
  } else if (dest == "topic") {
    s.log_dests |= kDestTopic;
  } else if (dest == "dlt" || dest == "android") {
    s.error(d, fmt::format("destination '{}' is not supported", dest));
  } else {
    s.error(d, fmt::format("expected stdout|stderr|file PATH|syslog|topic|none, got '{}'", dest) +
                   did_you_mean(dest, kDests));
  }
}

void parse_log_timestamp(ParseState& s, const Directive& d) {
  bool v = true;
  if (s.boolean(d, v)) s.config.log.timestamp = v;
}

void parse_log_timestamp_format(ParseState& s, const Directive& d) {
  s.text(d, "global", s.config.log.timestamp_format);
}

void parse_log_facility(ParseState& s, const Directive& d) {
  int64_t v = 0;
  if (s.integer(d, 0, 7, v)) s.config.log.syslog_local = static_cast<int>(v);
}

}  // namespace

void append_logging_options(std::vector<OptionDescriptor>& out) {
  constexpr auto S = Status::kSupported;
  constexpr auto G = Scope::kGlobal;
  out.insert(out.end(), {
    {"log_type", G, parse_log_type_option,
     "none|error|warning|notice|information|subscribe|unsubscribe|websockets|debug|all ...",
     "error, warning, notice, information",
     "Message types to log; repeatable, the first line replaces the default set", S},
    {"log_dest", G, parse_log_dest_option, "stdout|stderr|file PATH|syslog|topic|none", "stderr",
     "Where to log; repeatable, the first line replaces the default; one file at most", S},
    {"log_timestamp", G, parse_log_timestamp, "true|false", "true", "Prefix log lines with a timestamp", S},
    {"log_timestamp_format", G, parse_log_timestamp_format, "STRFTIME-FORMAT", "Unix seconds",
     "strftime format of the log timestamp, e.g. %Y-%m-%dT%H:%M:%S", S},
    {"log_facility", G, parse_log_facility, "0..7", "daemon",
     "With log_dest syslog: log to facility local0..local7 instead of daemon", S},
    {"log_level", G, parse_log_level_option, "none|error|warning|information|debug", "-",
     "Petrel: one level instead of log_type (information = error..information, debug = all)", S},
  });
}

}  // namespace petrel::config
