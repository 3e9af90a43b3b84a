#pragma once
// Internal to petrel_web: binding an Endpoint's sockets and building its TLS context, on
// the caller's thread so that errors reach the caller.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "web/http_server.h"

namespace petrel::web::detail {

struct BoundSocket {
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
  BoundAddress address;
};

// "127.0.0.1:8080", "[::1]:8080", "*:8080" (all addresses).
std::string endpoint_label(const Endpoint& ep);
// Errors read "http api listener LABEL: what is wrong".
Result<std::vector<BoundSocket>> bind_endpoint(boost::asio::io_context& ioc, const Endpoint& ep);
// The endpoint's server context, or an error naming the file and what is wrong with it
// (unreadable, not PEM, password-protected key, key not matching the certificate).
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const Endpoint& ep);
// An address as text; an IPv4 client on a dual-stack socket reads "127.0.0.1", not
// "::ffff:127.0.0.1", so rate limits and logs see one form.
std::string address_text(const boost::asio::ip::address& a);

}  // namespace petrel::web::detail
