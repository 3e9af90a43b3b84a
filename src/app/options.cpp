#include "app/options.h"

#include <fmt/format.h>

#include <charconv>
#include <string_view>

namespace petrel::app {

std::string usage_text() {
  return fmt::format(
      "petrel version {} - an MQTT 5.0/3.1.1/3.1 broker\n\n"
      "Usage: petrel [-c config_file] [-d] [-p port] [-v] [--test-config]\n\n"
      " -c, --config-file FILE  read the configuration (mosquitto.conf syntax) from FILE.\n"
      "                         Without it petrel listens on loopback port 1883 only.\n"
      " -d, --daemon            run in the background.\n"
      " -p, --port PORT         listen on PORT instead of 1883 (local-only mode; repeatable).\n"
      " -v, --verbose           log everything (overrides log_type).\n"
      "     --test-config       check the configuration, print every error, and exit\n"
      "                         (status 0 when valid, 3 when not).\n"
      "     --options-reference print the configuration reference (Markdown) and exit.\n"
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
  return cl;
}

}  // namespace petrel::app
