// ConfigDocument edits. An edit works on the line vectors: lines to drop are only marked
// dead, so the positions the scope model gave stay valid while the edit inserts lines;
// compact() then drops them and rebuilds the model.
#include <fmt/format.h>

#include <algorithm>

#include "config/document.h"

namespace petrel::config {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string_view without_bom(std::string_view text) {
  if (text.starts_with(kBom)) text.remove_prefix(kBom.size());
  return text;
}

std::string indent_of(std::string_view text) {
  text = without_bom(text);
  return std::string(text.substr(0, std::min(text.size(), text.find_first_not_of(" \t"))));
}

std::string_view trim_blanks(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

bool is_option_text(std::string_view text) {
  std::string_view t = trim_blanks(without_bom(text));
  return !t.empty() && t.front() != '#';
}

bool is_comment_text(std::string_view text) {
  std::string_view t = trim_blanks(without_bom(text));
  return !t.empty() && t.front() == '#';
}

// A value ends at the line end, so it cannot hold one (nor a NUL, which the lexer refuses).
Result<void> check_text(std::string_view what, std::string_view value) {
  if (value.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos) {
    return make_error(0, fmt::format("{}: the value must not contain a line break or NUL", what));
  }
  return {};
}

// A port, address or bridge name: one word, as the parser reads it.
Result<void> check_word(std::string_view what, std::string_view value, bool may_be_empty) {
  if (auto r = check_text(what, value); !r) return r;
  if (value.empty() && !may_be_empty) return make_error(0, fmt::format("{}: missing value", what));
  if (value.find_first_of(" \t") != std::string_view::npos || value.starts_with('#')) {
    return make_error(0, fmt::format("{}: '{}' must be one word (no blanks, not starting with '#')", what, value));
  }
  return {};
}

std::string option_line(std::string_view option, std::string_view value) {
  return value.empty() ? std::string(option) : fmt::format("{} {}", option, value);
}

std::string listener_line(std::string_view port, std::string_view address) {
  return address.empty() ? fmt::format("listener {}", port) : fmt::format("listener {} {}", port, address);
}

}  // namespace

// --- helpers ------------------------------------------------------------------------

Result<void> ConfigDocument::check_editable() const {
  if (unreadable_.empty()) return {};
  return make_error(0, fmt::format("cannot edit the configuration: {} (the file could not be read when the "
                                   "configuration was loaded, so where edited lines would apply is unknown)",
                                   unreadable_.front()));
}

Result<void> ConfigDocument::check_option(Section section, std::string_view option) const {
  const OptionDescriptor* d = find_option(option);
  if (!d) return make_error(0, fmt::format("unknown option '{}'", option));
  if (option == "listener" || option == "connection" || option == "include_dir") {
    return make_error(0, fmt::format("option '{}' is not set with set(): {}", option,
                                     option == "listener"     ? "use add_listener, set_listener_header or remove_listener"
                                     : option == "connection" ? "use add_bridge, rename_bridge or remove_bridge"
                                                              : "the document edits the files as loaded"));
  }
  const Owner want = owner_of(*d, per_listener_);
  if (want != section.owner) {
    static constexpr const char* kWhat[] = {"", "a global option", "a listener option", "a bridge option"};
    static constexpr const char* kWhere[] = {"", "globally", "for a listener", "for a bridge"};
    std::string why = !d->per_listener_security ? ""
                      : per_listener_         ? " (per_listener_settings is true)"
                                              : " (unless per_listener_settings is true)";
    return make_error(0, fmt::format("option '{}' is {}{}; it cannot be set {}", option,
                                     kWhat[static_cast<int>(want)], why, kWhere[static_cast<int>(section.owner)]));
  }
  if (default_listener_only(option) && section.index != -1) {
    return make_error(0, fmt::format("option '{}' always configures the default listener (index -1); "
                                     "a listener's port and address are on its 'listener' line", option));
  }
  return {};
}

// After the last line of the section in the file of its `listener`/`connection` line:
// the parser is still in that section there. Global and default-listener lines go to
// the main file's region before any listener or bridge.
ConfigDocument::Spot ConfigDocument::section_end(Section section) const {
  if (section.owner == Owner::kGlobal || section.index < 0) return main_region_spot();
  const Entry* header = nullptr;
  const Entry* last = nullptr;
  for (const Entry& e : entries_) {
    if (!same_scope(e, section)) continue;
    if (e.header) header = &e;
    if (header && e.file == header->file) last = &e;
  }
  const std::string& text = files_[last->file].lines[last->line].text;
  return {last->file, last->line + 1, last->header ? std::string() : indent_of(text)};
}

// Before the main file's first `listener`/`connection` line (or include_dir line whose
// files hold one): right after the last option line above it, or, when there is none,
// above the comments directly before it (they describe that line). At the end of the
// main file when it has no such line.
ConfigDocument::Spot ConfigDocument::main_region_spot() const {
  const std::vector<Line>& lines = files_.front().lines;
  size_t end = lines.size();
  for (size_t i = 0; i < entries_.size() && end == lines.size(); ++i) {
    const Entry& e = entries_[i];
    if (e.file != 0) continue;
    bool starts_section = e.header;
    for (size_t k = i + 1; e.directive.name == "include_dir" && k < entries_.size() && entries_[k].file != 0; ++k) {
      starts_section = starts_section || entries_[k].header;
    }
    if (starts_section) end = e.line;
  }
  if (end == lines.size()) return {0, end, {}};
  size_t j = end;
  while (j > 0 && !is_option_text(lines[j - 1].text)) --j;
  if (j > 0) return {0, j, indent_of(lines[j - 1].text)};
  while (end > 0 && is_comment_text(lines[end - 1].text)) --end;
  return {0, end, {}};
}

void ConfigDocument::replace_line(size_t file, size_t line, const std::string& text, std::string_view field) {
  Line& l = files_[file].lines[line];
  const bool bom = line == 0 && l.text.starts_with(kBom);
  l.text = (bom ? std::string(kBom) : std::string()) + indent_of(l.text) + text;
  l.field = std::string(field);
}

// New lines take the file's line end; a last line without one gets it first.
void ConfigDocument::insert_lines(const Spot& spot, const std::vector<std::string>& texts, std::string_view field) {
  if (texts.empty()) return;
  std::vector<Line>& lines = files_[spot.file].lines;
  std::string eol = "\n";
  for (const Line& l : lines) {
    if (!l.eol.empty()) {
      eol = l.eol;
      break;
    }
  }
  if (spot.line == lines.size() && !lines.empty() && lines.back().eol.empty()) lines.back().eol = eol;
  std::vector<Line> add;
  for (const std::string& t : texts) add.push_back({t.empty() ? t : spot.indent + t, eol, std::string(field)});
  if (spot.line == 0 && !lines.empty() && lines.front().text.starts_with(kBom)) {
    lines.front().text.erase(0, kBom.size());  // the byte order mark stays first
    add.front().text.insert(0, kBom);
  }
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(spot.line), add.begin(), add.end());
}

// A blank line (unless the main file is empty or already ends with one), then `text`.
void ConfigDocument::append_block(const std::string& text, std::string_view field) {
  const std::vector<Line>& lines = files_.front().lines;
  auto live = std::find_if(lines.rbegin(), lines.rend(), [](const Line& l) { return !l.dead; });
  if (live != lines.rend() && !trim_blanks(without_bom(live->text)).empty()) {
    insert_lines({0, lines.size(), {}}, {""}, {});
  }
  insert_lines({0, files_.front().lines.size(), {}}, {text}, field);
}

void ConfigDocument::mark_dead(const Entry& e) { files_[e.file].lines[e.line].dead = true; }

void ConfigDocument::compact() {
  for (File& f : files_) std::erase_if(f.lines, [](const Line& l) { return l.dead; });
  analyze();
}

// --- edits ----------------------------------------------------------------------------

Result<void> ConfigDocument::set(const Target& target, std::string_view option,
                                 const std::vector<std::string>& values, std::string_view field) {
  if (auto r = check_editable(); !r) return r;
  Result<Section> section = resolve(target);
  if (!section) return section.error();
  if (auto r = check_option(*section, option); !r) return r;
  std::vector<std::string> texts;
  for (const std::string& v : values) {
    if (auto r = check_text(fmt::format("option '{}'", option), v); !r) return r;
    texts.push_back(option_line(option, v));
  }
  std::vector<File> before = files_;
  std::vector<Entry> found = matching(*section, option);
  if (found.empty()) {
    insert_lines(section_end(*section), texts, field);
  } else {
    for (size_t i = 1; i < found.size(); ++i) mark_dead(found[i]);
    const Entry& first = found.front();
    if (texts.empty()) {
      mark_dead(first);
    } else {
      replace_line(first.file, first.line, texts.front(), field);
      const std::string indent = indent_of(files_[first.file].lines[first.line].text);
      insert_lines({first.file, first.line + 1, indent}, {texts.begin() + 1, texts.end()}, field);
    }
  }
  compact();
  // The placement rules keep lines in their scope; should an odd layout defeat them,
  // refuse the edit rather than change another scope.
  std::vector<std::string> want;
  for (const std::string& v : values) want.emplace_back(trim_blanks(v));
  if (this->values(target, option) != want) {
    files_ = std::move(before);
    analyze();
    return make_error(0, fmt::format("option '{}': the new lines would not apply where intended in this "
                                     "configuration's layout; edit the file by hand", option));
  }
  return {};
}

Result<void> ConfigDocument::set_listener_header(ListenerRef ref, std::string port, std::string address,
                                                 std::string_view field) {
  if (auto r = check_editable(); !r) return r;
  Result<Section> section = resolve(Target::listener(ref));
  if (!section) return section.error();
  if (auto r = check_word("listener port", port, false); !r) return r;
  if (auto r = check_word("listener address", address, true); !r) return r;
  Spot spot = main_region_spot();
  bool placed = false;
  for (const Entry& e : entries_) {
    if (!same_scope(e, *section)) continue;
    if (e.header) {
      replace_line(e.file, e.line, listener_line(port, address), field);
      placed = true;
    } else if (default_listener_only(e.directive.name)) {
      mark_dead(e);  // the new `listener` line takes over the default listener's port and address
    } else if (!placed) {
      spot = {e.file, e.line, {}};
      placed = true;
    }
  }
  if (ref.index < 0) insert_lines(spot, {listener_line(port, address)}, field);
  compact();
  return {};
}

Result<ListenerRef> ConfigDocument::add_listener(std::string port, std::string address, std::string_view field) {
  if (auto r = check_editable(); !r) return r.error();
  if (auto r = check_word("listener port", port, false); !r) return r.error();
  if (auto r = check_word("listener address", address, true); !r) return r.error();
  append_block(listener_line(port, address), field);
  compact();
  return ListenerRef{listener_count_ - 1};  // the main file's end is the last place the parser reads
}

Result<void> ConfigDocument::remove_listener(ListenerRef ref) {
  if (auto r = check_editable(); !r) return r;
  Result<Section> section = resolve(Target::listener(ref));
  if (!section) return section.error();
  for (const Entry& e : entries_) {
    if (same_scope(e, *section)) mark_dead(e);
  }
  compact();
  return {};
}

Result<void> ConfigDocument::add_bridge(std::string name, std::string_view field) {
  if (auto r = check_editable(); !r) return r;
  if (auto r = check_word("bridge name", name, false); !r) return r;
  if (std::find(bridges_.begin(), bridges_.end(), name) != bridges_.end()) {
    return make_error(0, fmt::format("a bridge named '{}' already exists", name));
  }
  append_block("connection " + name, field);
  compact();
  return {};
}

Result<void> ConfigDocument::remove_bridge(std::string_view name) {
  if (auto r = check_editable(); !r) return r;
  Result<Section> section = resolve(Target::bridge(std::string(name)));
  if (!section) return section.error();
  for (const Entry& e : entries_) {
    if (same_scope(e, *section)) mark_dead(e);
  }
  compact();
  return {};
}

Result<void> ConfigDocument::rename_bridge(std::string_view old_name, std::string new_name, std::string_view field) {
  if (auto r = check_editable(); !r) return r;
  Result<Section> section = resolve(Target::bridge(std::string(old_name)));
  if (!section) return section.error();
  if (auto r = check_word("bridge name", new_name, false); !r) return r;
  if (new_name != old_name && std::find(bridges_.begin(), bridges_.end(), new_name) != bridges_.end()) {
    return make_error(0, fmt::format("a bridge named '{}' already exists", new_name));
  }
  for (const Entry& e : entries_) {
    if (e.header && same_scope(e, *section)) replace_line(e.file, e.line, "connection " + new_name, field);
  }
  compact();
  return {};
}

}  // namespace petrel::config
