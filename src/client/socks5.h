#pragma once
// SOCKS5 without I/O: the proxy URL of the tools' --proxy flag, and the client side of
// the handshake (RFC 1928 greeting and CONNECT, RFC 1929 username/password) as a small
// state machine that says which bytes to write and exactly how many to read next.
// transport.cpp drives it over the TCP socket to the proxy; the unit tests drive it with
// byte strings. Reads are exact so that nothing after the proxy's reply (the server's
// first TLS/WebSocket/MQTT bytes) is ever consumed here.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "client/transport.h"

namespace petrel::client::socks5 {

// socks5h://[username[:password]@]host[:port], as mosquitto_pub's --proxy: port 1080 by
// default; %XX escapes in the username and password are decoded (%25 -> %, %3A -> :,
// %40 -> @ and any other hex pair); an IPv6 proxy address goes in brackets. On error
// returns nullopt and sets error to one line without the "Error: " prefix.
std::optional<ProxyOptions> parse_url(std::string_view url, std::string& error);

// "%40" -> "@"; nullopt on a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view s);

// RFC 1928 reply code text ("connection refused"), "unassigned reply code 0x09" otherwise.
std::string reply_text(uint8_t code);

// The handshake towards a proxy, for a CONNECT to host:port (host: a name, sent as
// ATYP 3 for the proxy to resolve, or an IPv4/IPv6 literal, sent as ATYP 1/4).
class Handshake {
 public:
  struct Step {
    std::string send;  // write these bytes first (may be empty)
    size_t want = 0;   // then read exactly this many bytes and pass them to on_read()
    bool done = false;  // the tunnel is open: the socket now reaches host:port
    std::optional<TransportError> error;  // the handshake failed
  };

  Handshake(ProxyOptions proxy, std::string host, uint16_t port);
  Step start();
  Step on_read(std::string_view bytes);  // exactly the `want` bytes of the last step

  // For messages: "host:port" ("[v6]:port" for IPv6 literals).
  std::string target() const;

 private:
  enum class State { kMethod, kAuth, kReplyHead, kReplyTail, kDone, kFailed };
  Step fail(TransportErrorKind kind, std::string message);
  Step send_connect();

  ProxyOptions proxy_;
  std::string host_;
  uint16_t port_;
  State state_ = State::kMethod;
};

}  // namespace petrel::client::socks5
