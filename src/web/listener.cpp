#include "web/listener.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace petrel::web::detail {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The first reason in OpenSSL's error queue, which is emptied; `fallback` when empty.
// key_mismatch tells whether any entry says the key does not belong to the certificate.
std::string openssl_reason(std::string_view fallback, bool* key_mismatch = nullptr) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* r = ERR_reason_error_string(e);
    if (r != nullptr && out.empty()) out = r;
    if (key_mismatch != nullptr && ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
      *key_mismatch = true;
    }
  }
  return out.empty() ? std::string(fallback) : out;
}

// Never prompts (the broker runs unattended); notes that OpenSSL asked, which means the
// key is encrypted.
int refuse_password(char*, int, int, void* asked) {
  if (asked != nullptr) *static_cast<bool*>(asked) = true;
  return 0;
}

Error listener_error(const Endpoint& ep, std::string_view what) {
  return make_error(0, fmt::format("http api listener {}: {}", endpoint_label(ep), what));
}

Error mismatch_error(const Endpoint& ep, std::string_view reason) {
  return listener_error(ep, fmt::format("keyfile '{}' does not match the certificate in certfile '{}' ({})", ep.keyfile,
                                        ep.certfile, reason));
}

Result<std::vector<tcp::endpoint>> targets(const Endpoint& ep) {
  if (ep.address.empty()) return std::vector<tcp::endpoint>{tcp::endpoint(tcp::v6(), ep.port)};
  boost::system::error_code ec;
  const auto literal = asio::ip::make_address(ep.address, ec);
  if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(literal, ep.port)};
  asio::io_context local;
  tcp::resolver resolver(local);
  auto results = resolver.resolve(ep.address, std::to_string(ep.port), tcp::resolver::passive, ec);
  if (ec) return listener_error(ep, "cannot resolve: " + ec.message());
  std::vector<tcp::endpoint> out;
  for (const auto& r : results) {
    if (std::find(out.begin(), out.end(), r.endpoint()) == out.end()) out.push_back(r.endpoint());
  }
  if (out.empty()) return listener_error(ep, "the name has no address");
  return out;
}

}  // namespace

std::string endpoint_label(const Endpoint& ep) {
  if (ep.address.empty()) return fmt::format("*:{}", ep.port);
  if (ep.address.find(':') != std::string::npos) return fmt::format("[{}]:{}", ep.address, ep.port);
  return fmt::format("{}:{}", ep.address, ep.port);
}

std::string address_text(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

Result<std::vector<BoundSocket>> bind_endpoint(asio::io_context& ioc, const Endpoint& ep) {
  auto addresses = targets(ep);
  if (!addresses) return addresses.error();
  std::vector<BoundSocket> out;
  uint16_t port = ep.port;
  for (tcp::endpoint target : *addresses) {
    // With port 0 and several addresses, all get the port the first one was given.
    target.port(port);
    auto acceptor = std::make_unique<tcp::acceptor>(ioc);
    boost::system::error_code ec;
    acceptor->open(target.protocol(), ec);
    if (ec && ep.address.empty()) {
      // No IPv6 on this host: "all addresses" is then all IPv4 addresses.
      target = tcp::endpoint(tcp::v4(), port);
      ec.clear();
      acceptor->open(target.protocol(), ec);
    }
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    // Empty address: one socket for IPv6 and IPv4. Otherwise an IPv6 socket keeps to IPv6,
    // so a name with both ::1 and 127.0.0.1 binds both without a clash.
    if (!ec && target.address().is_v6()) acceptor->set_option(asio::ip::v6_only(!ep.address.empty()), ec);
    if (!ec) acceptor->bind(target, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return listener_error(ep, ec.message());
    port = acceptor->local_endpoint(ec).port();
    if (ec) return listener_error(ep, ec.message());
    out.push_back({std::move(acceptor), BoundAddress{ep.name, target.address().to_string(), port, ep.tls()}});
  }
  return out;
}

Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const Endpoint& ep) {
  if (ep.certfile.empty()) return listener_error(ep, "keyfile is set without certfile");
  if (ep.keyfile.empty()) return listener_error(ep, "certfile is set without keyfile");
  for (const auto& [option, path] : {std::pair{"certfile", &ep.certfile}, std::pair{"keyfile", &ep.keyfile}}) {
    if (::access(path->c_str(), R_OK) != 0) {
      return listener_error(ep, fmt::format("{} '{}': cannot read: {}", option, *path, std::strerror(errno)));
    }
  }
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  bool asked = false;
  SSL_CTX_set_default_passwd_cb(c, refuse_password);
  SSL_CTX_set_default_passwd_cb_userdata(c, &asked);
  ERR_clear_error();
  Result<std::shared_ptr<asio::ssl::context>> result = ctx;
  if (SSL_CTX_use_certificate_chain_file(c, ep.certfile.c_str()) != 1) {
    result = listener_error(ep, fmt::format("certfile '{}': cannot load a PEM certificate: {}", ep.certfile,
                                            openssl_reason("no certificate found")));
  } else if (SSL_CTX_use_PrivateKey_file(c, ep.keyfile.c_str(), SSL_FILETYPE_PEM) != 1) {
    bool mismatch = false;
    const std::string reason = openssl_reason("no key found", &mismatch);
    if (asked) {
      result = listener_error(ep, fmt::format("keyfile '{}' is password-protected; Petrel cannot load an encrypted "
                                              "private key (the broker runs unattended): store it without a "
                                              "passphrase, e.g. `openssl pkey -in KEY -out PLAIN-KEY`",
                                              ep.keyfile));
    } else if (mismatch) {
      // OpenSSL compares the key with the certificate while loading it (for some key types).
      result = mismatch_error(ep, reason);
    } else {
      result = listener_error(ep, fmt::format("keyfile '{}': cannot load a PEM private key: {}", ep.keyfile, reason));
    }
  } else if (SSL_CTX_check_private_key(c) != 1) {
    result = mismatch_error(ep, openssl_reason("mismatch"));
  }
  SSL_CTX_set_default_passwd_cb_userdata(c, nullptr);  // `asked` lives on this stack only
  return result;
}

}  // namespace petrel::web::detail
