// libFuzzer target: psk_file (auth/psk_file.h). Checks the rules of the header against an
// independent reading of the same lines: a file that parses holds exactly the identities
// of its `identity:hexkey` lines, each with the key its hex digits spell (an odd count
// with a leading 0), within OpenSSL's limits and never all zero; a refused file says why
// with "NAME:LINE:"; decode_hex agrees with the digits.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "auth/file_text.h"
#include "auth/psk_file.h"
#include "fuzz_check.h"

using namespace petrel::auth;

namespace {

int digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto f = PskFile::parse(text, "psk");

  // The expected identities, read line by line here.
  std::map<std::string, std::vector<uint8_t>, std::less<>> expected;
  bool all_lines_good = true;
  for_each_line(text, [&](int, std::string_view line) {
    const std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') return;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return void(all_lines_good = false);
    const std::string id(trim(line.substr(0, colon)));
    const std::string_view hex = trim(line.substr(colon + 1));
    std::vector<uint8_t> key;
    bool ok = !id.empty() && !hex.empty();
    for (char c : hex) ok = ok && digit(c) >= 0;
    if (ok) {
      const std::string even = (hex.size() % 2 ? "0" : "") + std::string(hex);
      for (size_t i = 0; i < even.size(); i += 2) key.push_back(uint8_t(digit(even[i]) * 16 + digit(even[i + 1])));
      std::vector<uint8_t> decoded;
      FUZZ_CHECK(decode_hex(even, decoded) && decoded == key);
    }
    if (ok && std::all_of(key.begin(), key.end(), [](uint8_t b) { return b == 0; })) ok = false;
    if (!ok) return void(all_lines_good = false);
    if (!expected.emplace(id, key).second) all_lines_good = false;  // duplicate
  });

  if (f.ok()) {
    FUZZ_CHECK(f->size() == expected.size());
    for (const auto& [id, key] : expected) {
      const std::vector<uint8_t>* got = f->key(id);
      FUZZ_CHECK(got != nullptr);
      FUZZ_CHECK(*got == key);
      FUZZ_CHECK(!got->empty() && got->size() <= 512 && id.size() <= 256);
    }
  } else {
    FUZZ_CHECK(f.error().message.rfind("psk:", 0) == 0);
    // Refused only for a reason this reading also sees, or a length limit.
    bool over_limit = false;
    for (const auto& [id, key] : expected) over_limit = over_limit || id.size() > 256 || key.size() > 512;
    FUZZ_CHECK(!all_lines_good || over_limit);
  }
  return 0;
}
