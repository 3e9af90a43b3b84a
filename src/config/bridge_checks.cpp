// validate_bridges(): the checks that need a whole bridge (an address and a topic,
// consistent TLS/PSK settings, unique local client ids), run by finish_config() and
// reported at the bridge's `connection` line.
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "config/option_tables.h"
#include "config/parse_state.h"
#include "config/values.h"

namespace petrel::config {

namespace {

// --- whole-bridge checks ----------------------------------------------------------------

class BridgeCheck {
 public:
  BridgeCheck(ParseState& s, size_t index) : s_(s), b_(s.config.bridges[index]), key_(bridge_key(static_cast<int>(index))) {}

  // Where the bridge option was given ("" when it was not).
  std::string where(std::string_view option) const {
    auto it = s_.seen_text.find(key_ + ":" + std::string(option));
    return it != s_.seen_text.end() ? it->second : std::string();
  }
  // "bridge_cafile (t.conf:5)"
  std::string named(std::string_view option) const { return fmt::format("{} ({})", option, where(option)); }
  // The first of `options` that was given, or "".
  std::string first_given(std::initializer_list<std::string_view> options) const {
    for (auto o : options) {
      if (!where(o).empty()) return std::string(o);
    }
    return {};
  }

  void fail(const std::string& message) {
    s_.errors.push_back(error_at(b_.source, fmt::format("option 'connection': bridge '{}' {}", b_.name, message),
                                 "connection"));
  }
  void warn_unused(std::string_view option, const std::string& why) {
    if (std::string w = where(option); !w.empty()) {
      s_.warnings.push_back(fmt::format("{}: option '{}': has no effect: {}", w, option, why));
    }
  }

  void run() {
    if (b_.addresses.empty()) fail("has no address: add an 'address HOST[:PORT]' line");
    if (b_.topics.empty()) fail("has no topic line: add at least one 'topic PATTERN ...' line (as Mosquitto requires)");
    check_tls();
    check_unused();
  }

 private:
  void check_tls() {
    const std::string psk_option = first_given({"bridge_identity", "bridge_psk"});
    const std::string cert_option = first_given({"bridge_cafile", "bridge_capath", "bridge_certfile", "bridge_keyfile"});
    if (!psk_option.empty() && !cert_option.empty()) {
      fail(fmt::format("cannot use both certificates and PSK (as in Mosquitto): {} and {}", named(cert_option),
                       named(psk_option)));
    }
    if (b_.require_ocsp && !psk_option.empty()) {
      fail(fmt::format("has {} but uses PSK: there is no certificate to check with OCSP", named("bridge_require_ocsp")));
    }
    if (!b_.identity.empty() && b_.psk.empty()) fail(fmt::format("has {} but no bridge_psk", named("bridge_identity")));
    if (b_.identity.empty() && !b_.psk.empty()) fail(fmt::format("has {} but no bridge_identity", named("bridge_psk")));
    if (!b_.certfile.empty() && b_.keyfile.empty()) fail(fmt::format("has {} but no bridge_keyfile", named("bridge_certfile")));
    if (b_.certfile.empty() && !b_.keyfile.empty()) fail(fmt::format("has {} but no bridge_certfile", named("bridge_keyfile")));
    const bool ca = !b_.cafile.empty() || !b_.capath.empty() || b_.tls_use_os_certs;
    if (!ca && psk_option.empty()) {
      // Mosquitto only turns TLS on for a bridge with a CA (or PSK); a certificate or
      // bridge_insecure alone would silently connect in plain text.
      const char* why = "needs bridge_cafile, bridge_capath or bridge_tls_use_os_certs true: without a CA "
                        "the bridge does not use TLS (as in Mosquitto)";
      if (b_.insecure) fail(fmt::format("has {} but {}", named("bridge_insecure"), why));
      if (b_.require_ocsp) fail(fmt::format("has {} but {}", named("bridge_require_ocsp"), why));
      if (!b_.certfile.empty()) fail(fmt::format("has {} but {}", named("bridge_certfile"), why));
    }
  }

  void check_unused() {
    const bool tls = !b_.cafile.empty() || !b_.capath.empty() || b_.tls_use_os_certs || !b_.psk.empty();
    if (!tls) {
      const char* why = "TLS is off for this bridge (set bridge_cafile, bridge_capath, bridge_tls_use_os_certs or bridge_psk)";
      for (auto o : {"bridge_tls_version", "bridge_ciphers", "bridge_ciphers_tls1.3", "bridge_alpn"}) warn_unused(o, why);
    }
    if (b_.protocol_version != 5) {
      for (auto o : {"bridge_session_expiry_interval", "bridge_receive_maximum", "bridge_max_topic_alias"}) {
        warn_unused(o, "MQTT 5 only, and bridge_protocol_version is not mqttv50");
      }
    }
    if (b_.start_type != BridgeStartType::kLazy) {
      for (auto o : {"threshold", "idle_timeout"}) warn_unused(o, "start_type is not lazy");
    }
    if (b_.round_robin || b_.addresses.size() < 2) {
      const std::string why = b_.round_robin ? "round_robin is true (no primary address)"
                                             : "the bridge has a single address (no backup to fail over from)";
      for (auto o : {"primary_retry_interval", "primary_holddown"}) warn_unused(o, why);
    }
  }

  ParseState& s_;
  const Bridge& b_;
  std::string key_;
};

// Mosquitto refuses two bridges with the same local client id (one would take over the
// other's session). Ids left empty are resolved at run time as "local.<remote id>" and
// "<hostname>.<name>"; `\x01` stands for the host name, which no configured id contains.
void check_local_clientids(ParseState& s, const std::vector<size_t>& kept) {
  auto local_id = [&](const Bridge& b) {
    std::string remote = b.remote_clientid.empty() ? "\x01." + b.name : b.remote_clientid;
    return b.local_clientid.empty() ? "local." + remote : b.local_clientid;
  };
  for (size_t j = 0; j < kept.size(); ++j) {
    const Bridge& bj = s.config.bridges[kept[j]];
    for (size_t i = 0; i < j; ++i) {
      const Bridge& bi = s.config.bridges[kept[i]];
      const std::string id = local_id(bj);
      if (id == local_id(bi)) {
        s.errors.push_back(error_at(
            bj.source,
            fmt::format("option 'connection': bridge '{}' has the same local client id '{}' as bridge '{}' "
                        "at {}: set local_clientid on one of them",
                        bj.name, id.starts_with("local.\x01") ? "local.<hostname>..." : id, bi.name, bi.source),
            "connection"));
        break;
      }
    }
  }
}

}  // namespace

void validate_bridges(ParseState& s) {
  std::vector<size_t> kept;
  for (size_t i = 0; i < s.config.bridges.size(); ++i) {
    if (s.bridge_failed[i]) continue;
    BridgeCheck(s, i).run();
    kept.push_back(i);
  }
  check_local_clientids(s, kept);
  std::vector<Bridge> out;
  for (size_t i : kept) out.push_back(std::move(s.config.bridges[i]));
  s.config.bridges = std::move(out);
  s.bridge_failed.assign(s.config.bridges.size(), false);
  s.current_bridge = -1;
  if (s.config.bridges_only && s.config.bridges.empty()) {
    s.warnings.push_back(fmt::format("{}: option 'bridges_only': no bridge is configured ('connection' lines), "
                                     "so petrel will do nothing", s.bridges_only_where));
  }
}

}  // namespace petrel::config
