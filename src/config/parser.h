#pragma once
// Parsing mosquitto.conf into a Config. Every error is collected (parsing goes on after
// one) so `petrel --test-config` can list them all as
// "file:line: option 'x': what is wrong (did you mean 'y'?)". A result with errors must
// not be used to run the broker; its config is only as good as the lines that parsed.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/diagnostics.h"

namespace petrel::config {

struct ParseResult {
  Config config;
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;  // already formatted "file:line: option 'x': ..."

  bool ok() const { return errors.empty(); }
};

// Reads and parses `path` (and any include_dir it names).
ParseResult parse_config_file(const std::string& path);

// The same on texts that are not (or not yet) on disk, so an edited configuration gets
// exactly the checks of `petrel --test-config` before it is written. `overrides` maps a
// path to the text to use instead of reading that file: the main file or a file of an
// include_dir directory. An include_dir directory is still listed from disk, plus every
// override path directly in it whose name ends in ".conf" (a file about to be created).
// Messages name the paths as usual.
ParseResult parse_config_file(const std::string& path, const std::map<std::string, std::string>& overrides);

// Parses configuration text; `name` stands for the file name in messages. include_dir
// paths are taken as given (relative ones from the working directory, as Mosquitto does).
ParseResult parse_config_text(std::string_view text, const std::string& name);

}  // namespace petrel::config
