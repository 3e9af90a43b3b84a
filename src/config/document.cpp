// ConfigDocument: loading, the parse-order scope model and the queries. Edits are in
// document_edit.cpp, write() in document_write.cpp.
#include "config/document.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/options.h"
#include "config/parse_state.h"
#include "config/values.h"

namespace petrel::config {

namespace {

// Lines with their ends as found, so joining them gives back the exact bytes.
std::vector<std::string> split_keeping_ends(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl + 1;
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

bool read_text_file(const std::string& path, std::string& out, std::string& reason) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    reason = "is a directory, not a configuration file";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    reason = std::strerror(errno);
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

bool same_path(const std::string& a, const std::string& b) {
  std::error_code ec;
  return a == b || (std::filesystem::equivalent(a, b, ec) && !ec);
}

bool is_security(const OptionDescriptor* d) { return d && d->per_listener_security; }

}  // namespace

// Where the parser would be while reading the directives in order.
struct ConfigDocument::Walk {
  int listener = -1;         // the last `listener` line's index, -1 = default listener
  int bridge = -1;           // the last `connection` line's index
  bool security_seen = false;
  bool per_listener = false;  // per_listener_settings true in effect
};

ConfigDocument::File ConfigDocument::make_file(std::string path, std::string text, bool on_disk) {
  File f;
  f.path = std::move(path);
  for (std::string& raw : split_keeping_ends(text)) {
    Line l;
    size_t cut = raw.ends_with("\r\n") ? 2 : raw.ends_with('\n') ? 1 : 0;
    l.eol = raw.substr(raw.size() - cut);
    raw.resize(raw.size() - cut);
    l.text = std::move(raw);
    f.lines.push_back(std::move(l));
  }
  f.loaded = std::move(text);
  f.on_disk = on_disk;
  return f;
}

Result<ConfigDocument> ConfigDocument::load(const std::string& main_path) {
  std::string text, reason;
  if (!read_text_file(main_path, text, reason)) {
    return make_error(0, fmt::format("cannot read '{}': {}", main_path, reason));
  }
  ConfigDocument doc;
  doc.files_.push_back(make_file(main_path, std::move(text), true));
  doc.load_includes();
  doc.analyze();
  return doc;
}

ConfigDocument ConfigDocument::from_text(const std::string& main_path, std::string text) {
  ConfigDocument doc;
  doc.files_.push_back(make_file(main_path, std::move(text), false));
  doc.files_.front().loaded.clear();
  doc.load_includes();
  doc.analyze();
  return doc;
}

// The files of each top-level include_dir, listed and ordered as the parser does. A
// directory that cannot be listed holds nothing here; parse() reports it.
void ConfigDocument::load_includes() {
  std::vector<ConfigError> ignored;
  for (const Directive& d : lex_config(join(0), main_path(), ignored)) {
    if (d.name != "include_dir" || d.value.empty()) continue;
    bool listed = false;
    for (const File& f : files_) listed = listed || f.include_dir == d.value;
    std::vector<std::string> paths;
    std::string error;
    if (listed || !list_include_files(d.value, paths, error)) continue;
    for (const std::string& p : paths) {
      if (same_path(p, main_path())) continue;  // the parser refuses it
      std::string text, reason;
      if (!read_text_file(p, text, reason)) {
        unreadable_.push_back(fmt::format("{}: {}", p, reason));
        continue;
      }
      files_.push_back(make_file(p, std::move(text), true));
      files_.back().include_dir = d.value;
    }
  }
}

std::string ConfigDocument::join(size_t file) const {
  std::string out;
  for (const Line& l : files_[file].lines) out += l.text + l.eol;
  return out;
}

std::string ConfigDocument::text(const std::string& path) const {
  for (size_t i = 0; i < files_.size(); ++i) {
    if (files_[i].path == path) return join(i);
  }
  return {};
}

std::vector<std::string> ConfigDocument::files() const {
  std::vector<std::string> out;
  for (const File& f : files_) out.push_back(f.path);
  return out;
}

std::vector<std::string> ConfigDocument::changed_files() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < files_.size(); ++i) {
    if (!files_[i].on_disk || join(i) != files_[i].loaded) out.push_back(files_[i].path);
  }
  return out;
}

ParseResult ConfigDocument::parse() const {
  std::map<std::string, std::string> texts;
  for (size_t i = 0; i < files_.size(); ++i) texts[files_[i].path] = join(i);
  return parse_config_file(main_path(), texts);
}

// --- the scope model ----------------------------------------------------------------

void ConfigDocument::analyze() {
  entries_.clear();
  bridges_.clear();
  listener_count_ = 0;
  Walk walk;
  walk_file(0, walk, true);
  per_listener_ = walk.per_listener;
}

void ConfigDocument::walk_file(size_t file, Walk& walk, bool top) {
  std::vector<ConfigError> ignored;  // invalid lines: the parser skips them too
  for (Directive& d : lex_config(join(file), files_[file].path, ignored)) {
    const bool include = top && d.name == "include_dir";
    const std::string dir = d.value;
    add_entry(file, std::move(d), walk);
    if (!include) continue;
    for (size_t i = 1; i < files_.size(); ++i) {
      if (files_[i].include_dir == dir) walk_file(i, walk, false);
    }
  }
}

ConfigDocument::Owner ConfigDocument::owner_of(const OptionDescriptor& d, bool per_listener) {
  if (d.per_listener_security) return per_listener ? Owner::kListener : Owner::kGlobal;
  if (d.scope == config::Scope::kListener) return Owner::kListener;
  if (d.scope == config::Scope::kBridge) return Owner::kBridge;
  return Owner::kGlobal;
}

void ConfigDocument::add_entry(size_t file, Directive d, Walk& walk) {
  Entry e;
  e.file = file;
  e.line = static_cast<size_t>(d.line - 1);
  const OptionDescriptor* opt = find_option(d.name);
  if (d.name == "listener") {
    e.header = true;
    walk.listener = listener_count_++;
    e.scope = {Owner::kListener, walk.listener};
  } else if (d.name == "connection") {
    e.header = true;
    std::vector<std::string> w = ParseState::words(d);
    walk.bridge = static_cast<int>(bridges_.size());
    bridges_.push_back(w.empty() ? std::string() : w[0]);
    e.scope = {Owner::kBridge, walk.bridge};
  } else if (opt) {
    Owner owner = owner_of(*opt, walk.per_listener);
    int index = owner == Owner::kListener ? (default_listener_only(d.name) ? -1 : walk.listener)
                : owner == Owner::kBridge ? walk.bridge
                                          : -1;
    e.scope = {owner, index};
    walk.security_seen = walk.security_seen || is_security(opt);
  }
  if (d.name == "per_listener_settings") {
    // As the parser: it takes effect from here on, and not after a security option.
    std::vector<std::string> w = ParseState::words(d);
    auto v = w.size() == 1 ? parse_bool_value(w[0]) : std::nullopt;
    if (v && *v && (!walk.security_seen || walk.per_listener)) walk.per_listener = true;
  }
  e.directive = std::move(d);
  entries_.push_back(std::move(e));
}

Result<ConfigDocument::Section> ConfigDocument::resolve(const Target& target) const {
  switch (target.kind) {
    case Target::Kind::kGlobal:
      return Section{Owner::kGlobal, -1};
    case Target::Kind::kListener: {
      const int i = target.listener_ref.index;
      if (i < -1 || i >= listener_count_) {
        return make_error(0, fmt::format("no listener #{} (the configuration has {} 'listener' line{})", i,
                                         listener_count_, listener_count_ == 1 ? "" : "s"));
      }
      return Section{Owner::kListener, i};
    }
    case Target::Kind::kBridge:
      for (size_t i = 0; i < bridges_.size(); ++i) {
        if (bridges_[i] == target.bridge_name) return Section{Owner::kBridge, static_cast<int>(i)};
      }
      return make_error(0, fmt::format("no bridge named '{}'", target.bridge_name));
  }
  return make_error(0, "bad target");
}

bool ConfigDocument::same_scope(const Entry& e, Section s) const {
  return e.scope.owner == s.owner && e.scope.index == s.index;
}

// The same option: the same name, or aliases (two names the table gives one parser).
bool ConfigDocument::same_option(std::string_view a, std::string_view b) {
  if (a == b) return true;
  const OptionDescriptor* da = find_option(a);
  const OptionDescriptor* db = find_option(b);
  return da && db && da != db && da->parse && da->parse == db->parse;
}

std::vector<ConfigDocument::Entry> ConfigDocument::matching(Section scope, std::string_view option) const {
  std::vector<Entry> out;
  for (const Entry& e : entries_) {
    if (!e.header && same_scope(e, scope) && same_option(e.directive.name, option)) out.push_back(e);
  }
  return out;
}

// --- queries --------------------------------------------------------------------------

std::vector<std::string> ConfigDocument::values(const Target& target, std::string_view option) const {
  std::vector<std::string> out;
  Result<Section> scope = resolve(target);
  if (!scope) return out;
  for (const Entry& e : matching(*scope, option)) out.push_back(e.directive.value);
  return out;
}

std::vector<std::string> ConfigDocument::bridge_names() const { return bridges_; }

std::vector<ListenerInfo> ConfigDocument::listeners() const {
  std::vector<ListenerInfo> out(static_cast<size_t>(listener_count_) + 1);  // [0]: the default
  for (const Entry& e : entries_) {
    if (e.scope.owner != Owner::kListener) continue;
    ListenerInfo& info = out[static_cast<size_t>(e.scope.index + 1)];
    const Directive& d = e.directive;
    if (info.file.empty()) {
      info.index = e.scope.index;
      info.file = d.file;
      info.line = d.line;
    }
    if (e.header) {
      std::vector<std::string> w = ParseState::words(d);
      info.port = w.empty() ? std::string() : w[0];
      info.address = w.size() > 1 ? w[1] : std::string();
      continue;
    }
    if (d.name == "port") info.port = d.value;
    if (d.name == "bind_address") info.address = d.value;
    info.options.push_back({d.name, d.value, d.file, d.line});
  }
  if (out.front().file.empty()) out.erase(out.begin());  // nothing configures the default listener
  return out;
}

std::string ConfigDocument::field_at(const std::string& file, int line) const {
  for (const File& f : files_) {
    if (f.path == file && line >= 1 && static_cast<size_t>(line) <= f.lines.size()) {
      return f.lines[static_cast<size_t>(line - 1)].field;
    }
  }
  return {};
}

}  // namespace petrel::config
