// TLS, TLS-PSK and WebSocket listener options, and the checks that need a whole listener
// (certfile without keyfile, require_certificate without a CA, psk_hint without a
// psk_file). The files themselves are loaded when the listener's transport is built
// (net/transport_factory.cpp), which reports unreadable, malformed, password-protected
// or mismatched files by name.
#include <fmt/format.h>

#include <string>

#include "config/option_tables.h"
#include "config/parse_state.h"

namespace petrel::config {

namespace {

template <std::string Listener::*Field>
void tls_text(ParseState& s, const Directive& d) {
  s.text(d, s.scope_key(), s.listener(d).*Field);
}

// Boolean options also record where they were given, for the checks in
// validate_tls_settings (text options are recorded by ParseState::text).
template <bool Listener::*Field>
void tls_bool(ParseState& s, const Directive& d) {
  bool v = false;
  if (!s.boolean(d, v)) return;
  s.listener(d).*Field = v;
  s.seen_text.insert_or_assign(s.scope_key() + ":" + d.name, d.where());
}

void parse_tls_version(ParseState& s, const Directive& d) {
  std::string v;
  if (!s.choice(d, {"tlsv1.3", "tlsv1.2", "tlsv1.1"}, v)) return;
  if (v == "tlsv1.1") {
    s.warn(d, "TLS 1.1 is obsolete and refused by OpenSSL 3 at its default security level; using tlsv1.2");
    v = "tlsv1.2";
  }
  s.listener(d).tls_version = v;
  s.seen_text.insert_or_assign(s.scope_key() + ":" + d.name, d.where());
}

// websockets_origin: one allowed Origin per line, repeatable (e.g. https://scada.plant.example).
void parse_websockets_origin(ParseState& s, const Directive& d) {
  std::string origin;
  if (!s.one_token(d, "an origin, e.g. https://dashboard.example:8443", origin)) return;
  s.listener(d).websockets_origins.push_back(origin);
  s.seen_text.emplace(s.scope_key() + ":" + d.name, d.where());
}

void parse_websockets_headers_size(ParseState& s, const Directive& d) {
  int64_t v = 0;
  if (s.integer(d, 0, 65535, v)) s.config.websockets_headers_size = static_cast<uint32_t>(v);
}

// The scope key ParseState used for this listener's options ("listener#N" or
// "listener#default"), found through the `listener` line it came from.
std::string scope_key_of(const ParseState& s, const Listener& l) {
  for (size_t i = 0; i < s.listeners.size(); ++i) {
    if (s.listeners[i].port != 0 && s.listeners[i].source == l.source) return fmt::format("listener#{}", i);
  }
  return "listener#default";
}

void validate_listener(ParseState& s, Listener& l) {
  const std::string key = scope_key_of(s, l);
  auto where = [&](const char* option) {
    auto it = s.seen_text.find(key + ":" + option);
    return it != s.seen_text.end() ? it->second : l.source;
  };
  auto fail = [&](const char* option, const std::string& message) {
    s.errors.push_back(error_at(where(option), fmt::format("option '{}': {}", option, message), option));
  };
  if (!l.certfile.empty() && l.keyfile.empty()) fail("certfile", "needs keyfile on the same listener");
  if (l.certfile.empty() && !l.keyfile.empty()) fail("keyfile", "needs certfile on the same listener");
  const bool tls = !l.certfile.empty() || !l.psk_hint.empty();
  if (tls && l.require_certificate && l.cafile.empty() && l.capath.empty()) {
    fail("require_certificate", "needs cafile or capath on the same listener (the CAs client certificates must chain to)");
  }
  if (!l.certfile.empty() && !l.psk_hint.empty()) {
    // Mosquitto refuses this too; with both, TLS 1.3 clients would pick certificate
    // suites and the PSK would silently go unused.
    fail("psk_hint", "cannot be combined with certfile on the same listener (as in Mosquitto): "
                     "open another listener for PSK clients");
  }
  if (!l.psk_hint.empty() && l.security.psk_file.empty()) {
    fail("psk_hint", "needs a psk_file with the PSK identities and keys");
  }
  if (l.proxy_protocol_v2_require_tls && l.proxy_protocol != 2) {
    s.warnings.push_back(fmt::format("{}: option 'proxy_protocol_v2_require_tls': has no effect without "
                                     "enable_proxy_protocol 2", where("proxy_protocol_v2_require_tls")));
  }
  if (!l.http_dir.empty() && l.protocol != ListenerProtocol::kWebsockets) {
    s.warnings.push_back(fmt::format("{}: option 'http_dir': has no effect: this listener's protocol is not "
                                     "websockets (files are served only beside MQTT over WebSockets)",
                                     where("http_dir")));
  }
  if (!l.websockets_origins.empty() && l.protocol != ListenerProtocol::kWebsockets) {
    s.warnings.push_back(fmt::format("{}: option 'websockets_origin': has no effect: this listener's protocol "
                                     "is not websockets", where("websockets_origin")));
  }
  if (tls || !l.keyfile.empty()) return;
  // Mosquitto silently ignores TLS settings on a listener without TLS; say so.
  auto unused = [&](const char* option, bool set) {
    if (set) {
      s.warnings.push_back(fmt::format("{}: option '{}': has no effect: TLS is off on this listener "
                                       "(set certfile and keyfile, or psk_hint)", where(option), option));
    }
  };
  unused("cafile", !l.cafile.empty());
  unused("capath", !l.capath.empty());
  unused("crlfile", !l.crlfile.empty());
  unused("ciphers", !l.ciphers.empty());
  unused("ciphers_tls1.3", !l.ciphers_tls13.empty());
  unused("dhparamfile", !l.dhparamfile.empty());
  unused("tls_version", !l.tls_version.empty());
  // Behind a PROXY v2 proxy that terminates TLS, these take the certificate the proxy verified.
  const bool proxied_tls = l.proxy_protocol == 2;
  unused("require_certificate", l.require_certificate && !proxied_tls);
  unused("use_identity_as_username", l.use_identity_as_username && !proxied_tls);
  unused("use_subject_as_username", l.use_subject_as_username);
}

}  // namespace

void validate_tls_settings(ParseState& s) {
  for (Listener& l : s.config.listeners) {
    l.websockets_headers_size = s.config.websockets_headers_size;
    validate_listener(s, l);
  }
}

void append_tls_options(std::vector<OptionDescriptor>& out) {
  constexpr auto S = Status::kSupported;
  constexpr auto L = Scope::kListener;
  out.insert(out.end(), {
    {"cafile", L, tls_text<&Listener::cafile>, "PATH", "none", "CA certificates (PEM) that client certificates must chain to", S},
    {"capath", L, tls_text<&Listener::capath>, "DIR", "none", "Directory of CA certificates for client certificates", S},
    {"certfile", L, tls_text<&Listener::certfile>, "PATH", "none", "Server certificate chain (PEM); with keyfile enables TLS", S},
    {"keyfile", L, tls_text<&Listener::keyfile>, "PATH", "none", "Server private key (PEM, not password-protected)", S},
    {"crlfile", L, tls_text<&Listener::crlfile>, "PATH", "none", "Certificate revocation list (PEM) checked against client certificates", S},
    {"ciphers", L, tls_text<&Listener::ciphers>, "CIPHER:LIST", "OpenSSL default (PSK when only psk_hint)", "TLS 1.2 cipher list", S},
    {"ciphers_tls1.3", L, tls_text<&Listener::ciphers_tls13>, "SUITE:LIST", "OpenSSL default", "TLS 1.3 cipher suites", S},
    {"dhparamfile", L, tls_text<&Listener::dhparamfile>, "PATH", "none", "DH parameters (PEM) for ephemeral DH key exchange", S},
    {"tls_version", L, parse_tls_version, "tlsv1.2|tlsv1.3", "tlsv1.2", "Lowest TLS version accepted", S},
    {"psk_hint", L, tls_text<&Listener::psk_hint>, "HINT", "none", "Enable TLS-PSK on this listener (keys from psk_file); the hint is sent to TLS 1.2 clients", S},
    {"require_certificate", L, tls_bool<&Listener::require_certificate>, "true|false", "false",
     "Clients must present a certificate signed by cafile/capath", S},
    {"disable_client_cert_date_checks", L, tls_bool<&Listener::disable_client_cert_date_checks>, "true|false", "false",
     "Accept client certificates outside their validity dates (for devices without a clock); the chain must still verify", S},
    {"use_identity_as_username", L, tls_bool<&Listener::use_identity_as_username>, "true|false", "false",
     "Use the certificate CN (or PSK identity) as the username", S},
    {"use_subject_as_username", L, tls_bool<&Listener::use_subject_as_username>, "true|false", "false",
     "Use the whole certificate subject (RFC 2253) as the username", S},
    {"websockets_origin", L, parse_websockets_origin, "ORIGIN", "any",
     "An Origin a browser may open this websockets listener from (repeatable); others get 403. "
     "Requests without Origin (not from a browser) are accepted", S},
    {"http_dir", L, tls_text<&Listener::http_dir>, "DIR", "none",
     "Also answer plain HTTP GET/HEAD on this websockets listener with the files in DIR (index.html for a "
     "directory; no listings, nothing outside DIR)", S},
    {"websockets_headers_size", Scope::kGlobal, parse_websockets_headers_size, "0..65535", "4096",
     "Largest WebSocket upgrade request header block in bytes (0 = 4096)", S},
  });
}

}  // namespace petrel::config
