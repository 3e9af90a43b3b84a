#include "config/parser.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/lexer.h"
#include "config/options.h"
#include "config/parse_state.h"

namespace petrel::config {

namespace {

std::vector<std::string_view> all_option_names() {
  std::vector<std::string_view> names;
  for (const auto& d : option_table()) {
    if (!d.name.ends_with('*')) names.push_back(d.name);
  }
  return names;
}

// Reads a whole file; on failure returns false with a reason.
bool read_file(const std::string& path, std::string& out, std::string& reason) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    reason = "is a directory, not a configuration file";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    reason = fmt::format("cannot open: {}", std::strerror(errno));
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    reason = "read error";
    return false;
  }
  out = ss.str();
  return true;
}

void parse_text_into(ParseState& s, std::string_view text, const std::string& name) {
  for (const Directive& d : lex_config(text, name, s.errors)) process_directive(s, d);
}

void parse_file_into(ParseState& s, const std::string& path, const Directive* included_by) {
  std::string text, reason;
  if (!read_file(path, text, reason)) {
    if (included_by) {
      s.error(*included_by, fmt::format("cannot read '{}': {}", path, reason));
    } else {
      s.errors.push_back({path, 0, reason, {}});
    }
    return;
  }
  parse_text_into(s, text, path);
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return !a.empty() && !b.empty() && std::filesystem::equivalent(a, b, ec) && !ec;
}

}  // namespace

void process_directive(ParseState& s, const Directive& d) {
  const OptionDescriptor* opt = find_option(d.name);
  if (!opt) {
    static const std::vector<std::string_view> names = all_option_names();
    s.error(d, "unknown option" + did_you_mean(d.name, names));
    return;
  }
  if (opt->status == Status::kNotSupportedYet) {
    s.error_raw(d, fmt::format("option '{}' is not supported yet", d.name));
  } else if (opt->status == Status::kObsolete) {
    s.warn(d, "obsolete option, ignored");
  }
  if (opt->parse) opt->parse(s, d);
}

void parse_include_dir(ParseState& s, const Directive& d) {
  if (s.depth > 0) {
    s.warn(d, "ignored: include_dir is only read from the main configuration file");
    return;
  }
  if (d.value.empty()) {
    s.error(d, "missing value (expected a directory)");
    return;
  }
  std::vector<std::string> files;
  std::string error;
  if (!list_include_files(d.value, files, error)) {
    s.error(d, error);
    return;
  }
  ++s.depth;
  for (const auto& f : files) {
    if (same_file(f, s.main_file)) {
      s.error(d, fmt::format("the directory holds the main configuration file '{}'", f));
      continue;
    }
    parse_file_into(s, f, &d);
  }
  --s.depth;
}

ParseResult parse_config_file(const std::string& path) {
  ParseState s;
  s.main_file = path;
  parse_file_into(s, path, nullptr);
  finish_config(s);
  return {std::move(s.config), std::move(s.errors), std::move(s.warnings)};
}

ParseResult parse_config_text(std::string_view text, const std::string& name) {
  ParseState s;
  parse_text_into(s, text, name);
  finish_config(s);
  return {std::move(s.config), std::move(s.errors), std::move(s.warnings)};
}

}  // namespace petrel::config
