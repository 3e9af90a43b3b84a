#pragma once
// The petrel daemon's command line (Mosquitto's flags: -c, -p, -v, -d, plus Petrel's
// --test-config, --version, --help).
#include <cstdint>
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
};

Result<CommandLine> parse_command_line(int argc, char** argv);
std::string usage_text();

}  // namespace petrel::app
