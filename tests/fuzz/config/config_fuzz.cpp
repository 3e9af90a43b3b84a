// libFuzzer target: the mosquitto.conf parser (config/parser.h, parse_config_text), the
// entry point that `petrel --test-config`, SIGHUP and the admin's edits all go through.
// Checks: parsing is deterministic (the same text gives the same errors and, when it has
// none, a Config with no difference by diff_configs); every error names the file and a
// line that exists; a Config without errors keeps only bridges whose topic rules pass
// bridge_topic_error; describing the change from the defaults to that Config never fails.
//
// include_dir makes the parser list and read a directory of the machine; inputs that name
// it are skipped so that a run depends on its input alone.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/diff.h"
#include "config/parser.h"
#include "fuzz_check.h"

using namespace petrel::config;

namespace {

bool mentions_include(std::string_view text) {
  static constexpr std::string_view kWord = "include_dir";
  auto it = std::search(text.begin(), text.end(), kWord.begin(), kWord.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
  return it != text.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (mentions_include(text)) return 0;
  const std::string name = "fuzz.conf";
  const ParseResult a = parse_config_text(text, name);
  const ParseResult b = parse_config_text(text, name);

  FUZZ_CHECK(a.errors.size() == b.errors.size());
  FUZZ_CHECK(a.warnings == b.warnings);
  const int lines = int(std::count(text.begin(), text.end(), '\n')) + 1;
  for (size_t i = 0; i < a.errors.size(); ++i) {
    const ConfigError& e = a.errors[i];
    FUZZ_CHECK(format_error(e) == format_error(b.errors[i]));
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(e.line >= 0 && e.line <= lines);
    if (e.line > 0) FUZZ_CHECK(e.file == name);
  }

  if (a.ok()) {
    // Only a Config without errors is ever compared (SIGHUP and the admin refuse the rest).
    FUZZ_CHECK(diff_configs(a.config, b.config).empty());
    for (const Bridge& br : a.config.bridges) {
      FUZZ_CHECK(!br.addresses.empty());
      FUZZ_CHECK(!br.topics.empty());
      for (const BridgeTopic& t : br.topics) FUZZ_CHECK(bridge_topic_error(t).empty());
    }
    const ConfigDiff d = diff_configs(Config{}, a.config);
    (void)d.describe();
  }
  return 0;
}
