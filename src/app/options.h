#pragma once
// The petrel daemon's command line (Mosquitto's flags: -c, -p, -v, -d, plus Petrel's
// --test-config, the store commands --import-mosquitto, --persistence-check and
// --persistence-recover, --version, --help).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace petrel::app {

struct CommandLine {
  std::string config_file;
  std::vector<uint16_t> ports;
  bool verbose = false;
  bool daemonize = false;
  bool test_config = false;
  bool version = false;
  bool help = false;
  bool options_reference = false;
  // Store commands (app/persistence.h); at most one of them, and not with --test-config.
  std::string import_mosquitto;                    // --import-mosquitto FILE ("" = not given)
  std::optional<std::string> persistence_check;    // --persistence-check [FILE] ("" = the config's store)
  std::optional<std::string> persistence_recover;  // --persistence-recover [FILE]
};

Result<CommandLine> parse_command_line(int argc, char** argv);
std::string usage_text();

}  // namespace petrel::app
