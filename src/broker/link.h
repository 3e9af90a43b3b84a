#pragma once
// Link: the broker core's view of one client connection. Implemented by net::Connection
// (and by a fake in unit tests). The core appends encoded packets to out() and calls
// mark_dirty(); the owner flushes every dirty link once per loop turn (one write each).
#include <cstddef>
#include <string>
#include <string_view>

namespace petrel::broker {

// Listener index of the broker's own internal connections (the local side of bridges):
// they are trusted — no authentication, no ACL, and they may publish under $SYS (bridge
// state notifications), as Mosquitto's bridge contexts are.
inline constexpr int kInternalListener = -2;
// Listener index of the admin's own MQTT connection (the admin API's publish and live
// subscribe): already authenticated by the admin API, so no password check, but subject
// to the ACL with the admin's username, and not allowed under $SYS.
inline constexpr int kAdminListener = -3;

class Link {
 public:
  virtual ~Link() = default;
  // Pending output bytes (not yet written to the socket). Append only.
  virtual std::string& out() = 0;
  // Put this link on its worker's flush list for the end of the loop turn.
  virtual void mark_dirty() = 0;
  // The core wants the connection closed: after what is in out() has been written when
  // flush_first, at once otherwise. The owner later calls WorkerCore::on_link_closed.
  virtual void close(bool flush_first) = 0;
  // Like close(true), but not before delay_ms have passed (a refused login is answered
  // late, which slows password guessing without holding up the worker).
  virtual void close_delayed(int delay_ms) { (void)delay_ms; close(true); }
  // "address:port" of the peer, for logs.
  virtual const std::string& peer() const = 0;
  // Listener index in Config::listeners (for per-listener settings), -1 when none,
  // kInternalListener for the broker's own internal connections.
  virtual int listener_index() const = 0;
  // Output bytes not yet written to the socket.
  virtual size_t pending_bytes() const = 0;
  // The session behind this link has a long queue (QoS 1/2 messages beyond its in-flight
  // window): the owner holds publishers back until it shrinks, as for a full output.
  virtual void set_queue_pressure(bool on) = 0;
  // What the transport knows of the peer (TLS certificate CN and subject, PSK identity);
  // empty for plain TCP.
  virtual std::string_view cert_cn() const { return {}; }
  virtual std::string_view cert_subject() const { return {}; }
  virtual std::string_view psk_identity() const { return {}; }
};

}  // namespace petrel::broker
