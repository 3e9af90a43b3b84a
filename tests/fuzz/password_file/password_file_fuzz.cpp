// libFuzzer target: Mosquitto password files (auth/password_file.h) and the hash field
// decoder under them (auth/password_hash.h). Passwords are never verified here (a hash
// costs milliseconds by design); what is checked is what the parser keeps:
//  - every problem is reported as "NAME:LINE: ..." with a line that exists;
//  - a user the parser keeps has a hash, and a blocked user is never kept as usable;
//  - every hash field that decodes encodes back to a field that decodes to the same hash
//    (parse_password_hash and encode_password_hash are inverses);
//  - parsing is deterministic.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/file_text.h"
#include "auth/password_file.h"
#include "auth/password_hash.h"
#include "fuzz_check.h"

using namespace petrel::auth;

namespace {

bool same_hash(const PasswordHash& a, const PasswordHash& b) {
  return a.kind == b.kind && a.iterations == b.iterations && a.memory_kib == b.memory_kib && a.lanes == b.lanes &&
         a.version == b.version && a.salt == b.salt && a.hash == b.hash;
}

void check_problems(const std::vector<std::string>& problems, std::string_view name, int lines) {
  for (const std::string& p : problems) {
    FUZZ_CHECK(p.rfind(std::string(name) + ":", 0) == 0);
    const std::string_view rest = std::string_view(p).substr(name.size() + 1);
    int line = 0;
    size_t i = 0;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') line = line * 10 + (rest[i++] - '0');
    if (i > 0) FUZZ_CHECK(line >= 1 && line <= lines);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string_view name = "passwd";
  const int lines = int(std::count(text.begin(), text.end(), '\n')) + 1;

  auto a = PasswordFile::parse(text, name);
  auto b = PasswordFile::parse(text, name);
  FUZZ_CHECK(a.ok() == b.ok());
  if (a.ok()) {
    FUZZ_CHECK(a->problems() == b->problems());
    FUZZ_CHECK(a->size() == b->size());
    check_problems(a->problems(), name, lines);
  }

  // Every line's hash field, straight to the decoder.
  for_each_line(text, [&](int, std::string_view line) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    const std::string_view user = trim(line.substr(0, colon));
    const std::string_view field = trim(line.substr(colon + 1));
    auto h = parse_password_hash(field);
    if (!h.ok()) {
      FUZZ_CHECK(!h.error().message.empty());
    } else {
      const std::string enc = encode_password_hash(*h);
      auto again = parse_password_hash(enc);
      FUZZ_CHECK(again.ok());
      FUZZ_CHECK(same_hash(*h, *again));
      FUZZ_CHECK(encode_password_hash(*again) == enc);
      FUZZ_CHECK(looks_hashed(enc));
    }
    if (a.ok() && !user.empty()) {
      // A kept user has its hash; a user named on a bad line is blocked, never usable.
      if (a->contains(user)) FUZZ_CHECK(a->find(user) != nullptr);
      if (a->find(user) != nullptr) FUZZ_CHECK(a->contains(user));
    }
  });
  return 0;
}
