#include "auth/psk_file.h"

#include <algorithm>

namespace petrel::auth {
namespace {

constexpr size_t kMaxIdentity = 256;  // PSK_MAX_IDENTITY_LEN
constexpr size_t kMaxKey = 512;       // PSK_MAX_PSK_LEN

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool decode_hex(std::string_view hex, std::vector<uint8_t>& out) {
  out.clear();
  if (hex.size() % 2 != 0) return false;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return true;
}

Result<PskFile> PskFile::parse(std::string_view text, std::string_view name) {
  PskFile f;
  Diagnostics diag(name);
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> first_line;
  for_each_line(text, [&](int n, std::string_view raw) {
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') return;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return diag.error(n, "expected 'identity:hexkey'");
    std::string_view id = trim(line.substr(0, colon));
    std::string_view hex = trim(line.substr(colon + 1));
    std::string who = "identity '" + std::string(id) + "': ";
    if (id.empty()) return diag.error(n, "empty identity");
    if (id.size() > kMaxIdentity) return diag.error(n, "identity longer than 256 bytes");
    if (hex.empty()) return diag.error(n, who + "empty key");
    std::vector<uint8_t> key;
    // An odd number of digits has a leading 0 ("12345" is 01 23 45), as Mosquitto reads it
    // (Debian's pskfile.example has such a key).
    const std::string padded = hex.size() % 2 ? "0" + std::string(hex) : std::string();
    if (!decode_hex(padded.empty() ? hex : std::string_view(padded), key)) return diag.error(n, who + "key is not hexadecimal");
    if (key.size() > kMaxKey) return diag.error(n, who + "key longer than 512 bytes");
    auto first = std::find_if(key.begin(), key.end(), [](uint8_t b) { return b != 0; });
    if (first == key.end()) return diag.error(n, who + "key is all zero");
    auto [it, fresh] = first_line.emplace(std::string(id), n);
    if (!fresh) {
      return diag.error(n, who + "already defined on line " + std::to_string(it->second));
    }
    f.keys_.emplace(std::string(id), std::move(key));
  });
  if (!diag.ok()) return diag.to_error();
  return f;
}

Result<PskFile> PskFile::load(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  return parse(*text, path);
}

const std::vector<uint8_t>* PskFile::key(std::string_view identity) const {
  auto it = keys_.find(identity);
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace petrel::auth
