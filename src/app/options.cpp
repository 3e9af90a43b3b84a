#include "app/options.h"

#include <fmt/format.h>

#include <charconv>
#include <string_view>
#include <vector>

namespace petrel::app {

std::string usage_text() {
  return fmt::format(
      "petrel version {} - an MQTT 5.0/3.1.1/3.1 broker\n\n"
      "Usage: petrel [-c config_file] [-d] [-p port] [-v] [--test-config]\n"
      "       petrel -c config_file --import-mosquitto FILE\n"
      "       petrel [-c config_file] --persistence-check [FILE] | --persistence-recover [FILE]\n\n"
      " -c, --config-file FILE  read the configuration (mosquitto.conf syntax) from FILE.\n"
      "                         Without it petrel runs the configuration the web admin\n"
      "                         saved in its state directory, or else its embedded\n"
      "                         default: MQTT on loopback port 1883, the admin on\n"
      "                         127.0.0.1:8080.\n"
      " -d, --daemon            run in the background.\n"
      " -p, --port PORT         listen on PORT instead of 1883 (local-only mode; repeatable).\n"
      " -v, --verbose           log everything (overrides log_type).\n"
      "     --test-config       check the configuration, print every error, and exit\n"
      "                         (status 0 when valid, 3 when not).\n"
      "     --import-mosquitto FILE\n"
      "                         import Mosquitto's persistence (2.0 mosquitto.db or 2.1\n"
      "                         mosquitto.sqlite3) into the store that -c names (persistence\n"
      "                         true), all or nothing, with petrel stopped; exit 0 when done.\n"
      "     --persistence-check [FILE]\n"
      "                         check a store file (default: the one -c names) without\n"
      "                         changing it; exit 0 when sound, 1 when not.\n"
      "     --persistence-recover [FILE]\n"
      "                         move a damaged store file aside (FILE.damaged-<time>) and\n"
      "                         copy what is readable into a new one; exit 0 when done.\n"
      "     --options-reference\n"
      "                         print the configuration reference (Markdown) and exit.\n"
      "     --version           print the version and exit.\n"
      " -h, --help              this text.\n",
      PETREL_VERSION);
}

Result<CommandLine> parse_command_line(int argc, char** argv) {
  CommandLine cl;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto need_value = [&](std::string_view flag) -> Result<std::string_view> {
      if (i + 1 >= argc) return Error{0, fmt::format("option '{}' needs a value", flag)};
      return std::string_view(argv[++i]);
    };
    if (a == "-c" || a == "--config-file") {
      auto v = need_value(a);
      if (!v) return v.error();
      cl.config_file = std::string(*v);
    } else if (a == "-p" || a == "--port") {
      auto v = need_value(a);
      if (!v) return v.error();
      unsigned port = 0;
      auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), port);
      if (ec != std::errc() || p != v->data() + v->size() || port == 0 || port > 65535)
        return Error{0, fmt::format("invalid port '{}' (expected 1-65535)", *v)};
      cl.ports.push_back(static_cast<uint16_t>(port));
    } else if (a == "-v" || a == "--verbose") {
      cl.verbose = true;
    } else if (a == "-d" || a == "--daemon") {
      cl.daemonize = true;
    } else if (a == "--test-config" || a == "-t") {
      cl.test_config = true;
    } else if (a == "--import-mosquitto") {
      auto v = need_value(a);
      if (!v) return v.error();
      if (v->empty()) return Error{0, "option '--import-mosquitto' needs a file name"};
      cl.import_mosquitto = std::string(*v);
    } else if (a == "--persistence-check" || a == "--persistence-recover" ||
               a.starts_with("--persistence-check=") || a.starts_with("--persistence-recover=")) {
      // FILE is optional: the next argument when it is not a flag (or after '=').
      const bool check = a.starts_with("--persistence-check");
      std::string file;
      if (const size_t eq = a.find('='); eq != std::string_view::npos) {
        file = std::string(a.substr(eq + 1));
        if (file.empty()) return Error{0, fmt::format("option '{}' needs a file name after '='", a.substr(0, eq))};
      } else if (i + 1 < argc && argv[i + 1][0] != '-' && argv[i + 1][0] != '\0') {
        file = argv[++i];
      }
      (check ? cl.persistence_check : cl.persistence_recover) = std::move(file);
    } else if (a == "--options-reference") {
      cl.options_reference = true;
    } else if (a == "--version") {
      cl.version = true;
    } else if (a == "-h" || a == "--help") {
      cl.help = true;
    } else {
      return Error{0, fmt::format("unknown option '{}'", a)};
    }
  }
  std::vector<const char*> modes;
  if (cl.test_config) modes.push_back("--test-config");
  if (!cl.import_mosquitto.empty()) modes.push_back("--import-mosquitto");
  if (cl.persistence_check) modes.push_back("--persistence-check");
  if (cl.persistence_recover) modes.push_back("--persistence-recover");
  if (modes.size() > 1) return Error{0, fmt::format("options '{}' and '{}' cannot be combined", modes[0], modes[1])};
  return cl;
}

}  // namespace petrel::app
