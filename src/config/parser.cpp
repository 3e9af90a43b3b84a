#include "config/parser.h"

#include <fmt/format.h>

#include <algorithm>
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
  if (s.overrides) {
    auto it = s.overrides->find(path);
    if (it != s.overrides->end()) {
      parse_text_into(s, it->second, path);
      return;
    }
  }
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

// Adds the override paths that would be `dir`'s *.conf files once written (named as
// list_include_files names them), keeping include order.
void add_override_files(const ParseState& s, const std::string& dir, std::vector<std::string>& files) {
  if (!s.overrides) return;
  std::string prefix = dir;
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  bool added = false;
  for (const auto& [path, text] : *s.overrides) {
    if (!path.starts_with(prefix)) continue;
    std::string_view name = std::string_view(path).substr(prefix.size());
    if (name.size() <= 5 || !name.ends_with(".conf") || name.find('/') != std::string_view::npos) continue;
    if (std::find(files.begin(), files.end(), path) != files.end()) continue;
    files.push_back(path);
    added = true;
  }
  if (!added) return;
  std::sort(files.begin(), files.end(), [&](const std::string& a, const std::string& b) {
    return include_order_less(std::string_view(a).substr(prefix.size()), std::string_view(b).substr(prefix.size()));
  });
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
    // Some accept the one value that asks for nothing Petrel lacks (their parse function
    // says which, and refuses the others by name); the rest are refused whatever the value.
    if (opt->parse) opt->parse(s, d);
    else s.error_raw(d, fmt::format("option '{}' is not supported yet", d.name));
    return;
  } else if (opt->status == Status::kRefused) {
    s.error_raw(d, fmt::format("option '{}' is not available in Petrel: {}", d.name, opt->doc));
  } else if (opt->status == Status::kObsolete) {
    s.warn(d, "obsolete option, ignored");
  } else if (opt->status == Status::kNoEffect) {
    s.warn(d, fmt::format("accepted, no effect in Petrel: {}", opt->doc));
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
  add_override_files(s, d.value, files);
  ++s.depth;
  for (const auto& f : files) {
    if (f == s.main_file || same_file(f, s.main_file)) {
      s.error(d, fmt::format("the directory holds the main configuration file '{}'", f));
      continue;
    }
    parse_file_into(s, f, &d);
  }
  --s.depth;
}

namespace {

ParseResult parse_main_file(const std::string& path, const std::map<std::string, std::string>* overrides) {
  ParseState s;
  s.main_file = path;
  s.overrides = overrides;
  parse_file_into(s, path, nullptr);
  finish_config(s);
  return {std::move(s.config), std::move(s.errors), std::move(s.warnings)};
}

}  // namespace

ParseResult parse_config_file(const std::string& path) { return parse_main_file(path, nullptr); }

ParseResult parse_config_file(const std::string& path, const std::map<std::string, std::string>& overrides) {
  return parse_main_file(path, &overrides);
}

ParseResult parse_config_text(std::string_view text, const std::string& name) {
  ParseState s;
  parse_text_into(s, text, name);
  finish_config(s);
  return {std::move(s.config), std::move(s.errors), std::move(s.warnings)};
}

}  // namespace petrel::config
