#pragma once
// Connection: one client socket on one worker. Waits for readiness (async_wait) and reads
// non-blocking into the worker's shared buffer, so an idle connection keeps no buffer;
// only a partial packet is copied into its own `in_`. Output is appended by the broker
// core and written with one send() per loop turn; the buffer is given back when drained.
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "broker/link.h"
#include "broker/session.h"
#include "protocol/packets.h"

namespace petrel::net {

class Worker;

class Connection final : public broker::Link, public std::enable_shared_from_this<Connection> {
 public:
  Connection(Worker& w, boost::asio::ip::tcp::socket sock, int listener, std::string peer);
  ~Connection() override;

  // Starts reading. `pending` holds bytes already read (after a hand-over between
  // workers); `connect` a CONNECT already decoded on the accepting worker.
  void start(std::string pending = {});
  void start_with_connect(protocol::Connect&& connect, std::string pending);

  // broker::Link
  std::string& out() override { return out_; }
  void mark_dirty() override;
  void close(bool flush_first) override;
  const std::string& peer() const override { return peer_; }
  int listener_index() const override { return listener_; }
  size_t pending_bytes() const override { return out_.size() - out_off_; }

  // Worker hooks.
  void flush();                   // one send() of the pending output
  void abort_from_network();      // EOF / error: tell the core, close the socket
  bool connected() const { return session_ != nullptr || handed_over_; }
  int64_t accepted_ms() const { return accepted_ms_; }
  bool closing() const { return close_requested_; }
  int64_t close_requested_ms() const { return close_requested_ms_; }
  bool dirty = false;             // on the worker's flush list
  size_t registry_index = 0;      // position in the worker's registry
  // Backpressure (see Server::backlogged): this connection's output is over the
  // high-water mark and it holds publishers back; `slow` = it stayed there too long and
  // no longer does (its QoS 0 traffic is dropped instead, QoS 1/2 queued).
  bool backlogged() const { return backlogged_; }
  int64_t backlog_since_ms() const { return backlog_since_ms_; }
  void mark_slow();
  // Resume reading after a global pause.
  void resume();

 private:
  void arm_read();
  void arm_write();
  void on_readable();
  // Feeds bytes to the framer and the core; returns false when the connection ended or
  // was handed to another worker.
  bool process(const char* data, size_t len, size_t& consumed);
  bool handle_first_packet(uint8_t header, std::string_view body, const char* rest, size_t rest_len);
  void framing_error(uint8_t reason, const char* why);
  void finish_close();
  void update_backlog();
  void set_backlogged(bool on);

  Worker& w_;
  boost::asio::ip::tcp::socket sock_;
  std::string in_;    // partial packet carried between reads
  std::string out_;   // pending output; out_off_ bytes of it already written
  size_t out_off_ = 0;
  broker::Session* session_ = nullptr;
  std::string peer_;
  int64_t accepted_ms_ = 0;
  int64_t close_requested_ms_ = 0;
  int listener_ = -1;
  bool reading_ = false, writing_ = false;
  bool close_requested_ = false, closed_ = false, handed_over_ = false;
  bool publisher_ = false;   // has sent PUBLISH: paused while the broker is backlogged
  bool paused_ = false;
  bool backlogged_ = false, slow_ = false;
  int64_t backlog_since_ms_ = 0;
};

}  // namespace petrel::net
