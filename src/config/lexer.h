#pragma once
// Lexer for mosquitto.conf text: turns a file into directives (option name, value text,
// value tokens) that each remember their file and line, and lists include_dir files in
// Mosquitto's order. No option knowledge lives here (that is options.h).
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"

namespace petrel::config {

// One non-blank, non-comment line: "name value...".
struct Directive {
  std::string file;
  int line = 0;
  std::string name;
  std::string value;                // text after the name, surrounding blanks removed
  std::vector<std::string> tokens;  // value split on blanks (spaces and tabs)

  std::string where() const { return file + ":" + std::to_string(line); }
};

// Splits `text` (named `file` in messages) into directives. A line whose first non-blank
// character is '#' is a comment; blank lines are skipped; '\r' line ends and trailing
// blanks are removed; a UTF-8 byte order mark on the first line is skipped. A line that
// is not valid UTF-8 (or holds a NUL) is reported in `errors` and skipped.
std::vector<Directive> lex_config(std::string_view text, const std::string& file,
                                  std::vector<ConfigError>& errors);

// Mosquitto's include_dir order: per character, case-insensitive first, then upper case
// before lower case of the same letter ("00.conf 01.conf A.conf a.conf B.conf b.conf").
bool include_order_less(std::string_view a, std::string_view b);

// The regular files named *.conf in `dir` (as paths "dir/name"), in include order.
// Returns false with `error` set when the directory cannot be read.
bool list_include_files(const std::string& dir, std::vector<std::string>& files, std::string& error);

bool valid_utf8(std::string_view s);

}  // namespace petrel::config
