#pragma once
// ConfigDocument: an editable model of a mosquitto.conf configuration, held as the exact
// text of the main file and of the files its include_dir directories name. It exists
// because the web admin changes the configuration by editing those files and parsing
// them with the real parser (parse()): the admin then gets the checks of
// `petrel --test-config`, and SIGHUP reads exactly what the admin saw. An edit rewrites
// only the lines it must; comments, blank lines, order, line ends and every other line
// keep their bytes.
//
// Scopes are mosquitto.conf's, tracked across files in parse order (the main file up to
// an include_dir line, that directory's files, then the rest of the main file):
//   - a listener option applies to the last `listener` line before it, or to the default
//     listener before any (`port` and `bind_address` always configure the default
//     listener); a `connection` line does not end a listener section;
//   - a bridge option applies to the last `connection` line before it; a `listener`
//     line does not end a bridge section;
//   - a global option applies globally wherever it is;
//   - a security option (allow_anonymous, password_file, ...) is global, or scoped like
//     a listener option once `per_listener_settings true` is in effect.
// Edits happen in memory; write() puts the changed files on disk atomically.
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/lexer.h"
#include "config/options.h"
#include "config/parser.h"

namespace petrel::config {

// A listener by position: the index-th `listener` line (0-based) in parse order; -1 is
// the default listener (the listener options before the first `listener` line, and the
// `port`/`bind_address` lines). Adding or removing a listener shifts the later indexes.
struct ListenerRef {
  int index = -1;
};

// Where an option applies: globally, to a listener, or to the bridge of that name (the
// first one, should two `connection` lines share it; the parser refuses that).
struct Target {
  enum class Kind { kGlobal, kListener, kBridge };
  Kind kind = Kind::kGlobal;
  ListenerRef listener_ref;  // kListener
  std::string bridge_name;   // kBridge

  static Target global() { return {}; }
  static Target listener(ListenerRef ref) { return {Kind::kListener, ref, {}}; }
  static Target bridge(std::string name) { return {Kind::kBridge, {}, std::move(name)}; }
};

// One option line as the lexer reads it.
struct OptionLine {
  std::string option;
  std::string value;  // the text after the name, blanks around it removed
  std::string file;
  int line = 0;       // 1-based
};

struct ListenerInfo {
  int index = -1;       // ListenerRef::index
  std::string port;     // as written on the `listener` line (default listener: the last
  std::string address;  // `port` / `bind_address` values; "" when none)
  std::string file;     // the `listener` line (default listener: its first line)
  int line = 0;
  std::vector<OptionLine> options;  // the listener-scoped lines of its section, in parse order
};

class ConfigDocument {
 public:
  // Reads `main_path` and the files of its include_dir lines (in the parser's order). An
  // unreadable main file is an error. An unreadable included file is remembered: parse()
  // reports it as the parser does, and edits are refused (the document cannot see where
  // its lines would fall).
  static Result<ConfigDocument> load(const std::string& main_path);
  // A document for a main file that does not exist yet (e.g. holding the embedded
  // default configuration); write() creates it.
  static ConfigDocument from_text(const std::string& main_path, std::string text);

  const std::string& main_path() const { return files_.front().path; }
  // The current text of a file the document holds ("" for any other path).
  std::string text(const std::string& path) const;
  // Every file the document holds: the main file, then the included files as listed.
  std::vector<std::string> files() const;
  // Files whose text differs from what was loaded (or last written), and new files.
  std::vector<std::string> changed_files() const;

  // The real parser on the current texts: what --test-config would report once written.
  ParseResult parse() const;

  // Writes every changed file: a temporary file in the same directory, fsync, the previous
  // version kept as FILE.bak, rename over FILE, fsync of the directory. Permission bits
  // (and owner, when allowed) are kept; new files get 0644. A file changed on disk since
  // it was loaded is not overwritten (error). Every temporary file is written before any
  // rename, so a failure (naming the file and the OS reason) leaves the files as they were.
  Result<void> write();

  // --- queries ------------------------------------------------------------------------
  // The default listener first (only when some line configures it), then every
  // `listener` line in parse order.
  std::vector<ListenerInfo> listeners() const;
  // The names of the `connection` lines, in parse order.
  std::vector<std::string> bridge_names() const;
  // The values of `option`'s lines in the target's scope, in parse order. Aliases count as
  // the option (address/addresses, clientid/remote_clientid, max_qos/maximum_qos, ...).
  std::vector<std::string> values(const Target& target, std::string_view option) const;
  // The form field of the edit that wrote `file`:`line` (1-based) of the current text; ""
  // for a line no edit wrote. Maps a parse() error back to the field that caused it.
  std::string field_at(const std::string& file, int line) const;

  // --- edits (in memory; `field` tags every line the edit writes) ---------------------
  // Afterwards exactly values.size() lines `option value` hold `option` in the target's
  // scope: the first existing line (of the option or an alias) is replaced in place, in
  // its file, with the new lines right after it; further existing lines are removed. With
  // no existing line, the lines go after the last line of the target's section in the
  // file of its `listener`/`connection` line; global and default-listener lines go before
  // the first `listener`/`connection` line of the main file (after the last option line
  // above it), or at the end of the main file when it has none. Empty `values` removes the
  // option from that scope. A replaced line keeps its indentation; new lines in a section
  // take that of the line they follow. Values are written as given (the parser judges
  // them); a line break or NUL is refused, as are unknown options, an option of another
  // scope, and `listener`/`connection` (edited below) and `include_dir` (not edited).
  // Should the layout put the new lines in another scope than the target's (say,
  // per_listener_settings given only in an included file), the edit is undone and refused.
  Result<void> set(const Target& target, std::string_view option, const std::vector<std::string>& values,
                   std::string_view field);
  // Rewrites `listener PORT [ADDRESS]` (port and address: one word each; the parser
  // judges them). For the default listener (index -1) a `listener`
  // line is inserted before its first listener-scoped line (or where set() would put a
  // default-listener line) and its `port`/`bind_address` lines are removed, so its lines
  // become the new listener's; that listener is index 0 and the others shift by one.
  Result<void> set_listener_header(ListenerRef ref, std::string port, std::string address,
                                   std::string_view field);
  // Appends a blank line and `listener PORT [ADDRESS]` to the main file; returns its ref.
  Result<ListenerRef> add_listener(std::string port, std::string address, std::string_view field);
  // Removes the `listener` line and every listener-scoped line of its section (global and
  // bridge lines in between stay). Index -1 removes every default-listener line.
  Result<void> remove_listener(ListenerRef ref);
  // Appends a blank line and `connection NAME` to the main file; set() then fills it.
  Result<void> add_bridge(std::string name, std::string_view field);
  // Removes the `connection` line and every bridge-scoped line of that bridge.
  Result<void> remove_bridge(std::string_view name);
  Result<void> rename_bridge(std::string_view old_name, std::string new_name, std::string_view field = {});

 private:
  struct Line {
    std::string text;   // without its line end
    std::string eol;    // "\n", "\r\n", or "" for a last line without one
    std::string field;  // the form field of the edit that wrote it
    bool dead = false;  // removed by the edit in progress (dropped by compact())
  };
  struct File {
    std::string path;
    std::vector<Line> lines;
    std::string loaded;       // the text as read or last written
    bool on_disk = false;     // false for a from_text() main file until it is written
    std::string include_dir;  // an included file: the include_dir value that named it
  };
  enum class Owner { kNone, kGlobal, kListener, kBridge };  // kNone: an unknown option
  // Whose line it is: kListener -1 is the default listener; kBridge -1 holds bridge
  // options before any `connection` (the parser refuses them).
  struct Section {
    Owner owner = Owner::kNone;
    int index = -1;
  };
  // A directive in parse order, with the section it applies to.
  struct Entry {
    size_t file = 0;
    size_t line = 0;  // index into File::lines
    Directive directive;
    Section scope;
    bool header = false;  // a `listener` or `connection` line (scope: what it starts)
  };
  struct Spot {  // where new lines go
    size_t file = 0;
    size_t line = 0;  // insert before this index
    std::string indent;
  };
  struct Walk;  // the parser's position while walking the directives (document.cpp)

  ConfigDocument() = default;

  // document.cpp: loading and the scope model
  static File make_file(std::string path, std::string text, bool on_disk);
  static Owner owner_of(const OptionDescriptor& d, bool per_listener);
  static bool same_option(std::string_view a, std::string_view b);
  // `port` and `bind_address` configure the default listener wherever they are.
  static bool default_listener_only(std::string_view option) {
    return option == "port" || option == "bind_address";
  }
  void load_includes();
  std::string join(size_t file) const;
  void analyze();
  void walk_file(size_t file, Walk& walk, bool top);
  void add_entry(size_t file, Directive d, Walk& walk);
  Result<Section> resolve(const Target& target) const;
  bool same_scope(const Entry& e, Section s) const;
  std::vector<Entry> matching(Section scope, std::string_view option) const;

  // document_edit.cpp
  Result<void> check_editable() const;
  Result<void> check_option(Section scope, std::string_view option) const;
  Spot section_end(Section scope) const;
  Spot main_region_spot() const;
  void replace_line(size_t file, size_t line, const std::string& text, std::string_view field);
  void insert_lines(const Spot& spot, const std::vector<std::string>& texts, std::string_view field);
  void append_block(const std::string& text, std::string_view field);
  void mark_dead(const Entry& e);
  void compact();

  std::vector<File> files_;              // main file first, then included files as listed
  std::vector<std::string> unreadable_;  // "path: reason" of included files not loaded
  // The scope model, rebuilt by analyze() after every edit.
  std::vector<Entry> entries_;
  int listener_count_ = 0;
  std::vector<std::string> bridges_;  // names on the `connection` lines, in parse order
  bool per_listener_ = false;         // per_listener_settings true in effect at the end
};

}  // namespace petrel::config
