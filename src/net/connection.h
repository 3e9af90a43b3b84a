#pragma once
// Connection: one client socket on one worker. The socket sits in the worker's
// edge-triggered epoll set (no per-socket Asio state); reads go non-blocking into the
// worker's shared buffer, so an idle connection keeps no buffer — only a partial packet
// is copied into its own. Output is appended by the broker core and written with one
// send() per loop turn; buffers are given back when drained, except by a connection that
// keeps flushing, which keeps them until the worker's tick.
#include <cstdint>
#include <memory>
#include <string>

#include "broker/link.h"
#include "broker/session.h"
#include "net/transport.h"
#include "protocol/packets.h"

namespace petrel::net {

class Worker;

class Connection final : public broker::Link {
 public:
  // transport: nullptr for plain TCP.
  Connection(Worker& w, int fd, int listener, std::string peer, std::unique_ptr<Transport> transport);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts reading. `pending` holds bytes already read (after a hand-over between
  // workers); `connect` a CONNECT already decoded on the accepting worker.
  void start(std::string pending = {});
  void start_with_connect(protocol::Connect&& connect, std::string pending);

  // broker::Link
  std::string& out() override { return bufs().out; }
  void mark_dirty() override;
  void close(bool flush_first) override;
  void close_delayed(int delay_ms) override;
  // A delayed close whose time has come (checked by the worker's tick).
  bool close_due(int64_t now) const { return close_requested_ && hold_output_until_ms_ && now >= hold_output_until_ms_; }
  void release_held_output();
  // The client's address: from the PROXY protocol header when the listener expects one.
  const std::string& peer() const override {
    return tx_ && !tx_->identity().proxied_peer.empty() ? tx_->identity().proxied_peer : peer_;
  }
  int listener_index() const override { return listener_; }
  size_t pending_bytes() const override { return io_ ? io_->out.size() - io_->out_off : 0; }
  void set_queue_pressure(bool on) override;
  std::string_view cert_cn() const override { return tx_ ? std::string_view(tx_->identity().cert_cn) : std::string_view(); }
  std::string_view cert_subject() const override { return tx_ ? std::string_view(tx_->identity().cert_subject) : std::string_view(); }
  std::string_view psk_identity() const override { return tx_ ? std::string_view(tx_->identity().psk_identity) : std::string_view(); }

  // Worker hooks.
  void on_events(uint32_t events);  // from epoll
  void on_readable();
  void flush();                     // one send() of the pending output
  void abort_from_network();        // EOF / error: tell the core, close the socket
  bool connected() const { return session_ != nullptr; }
  bool closed() const { return closed_; }
  int64_t accepted_ms() const { return accepted_ms_; }
  bool closing() const { return close_requested_; }
  int64_t close_requested_ms() const { return close_requested_ms_; }
  // Backpressure (see Server::backlogged): this connection's output is over the
  // high-water mark and it holds publishers back; `slow` = it stayed there too long and
  // no longer does (its QoS 0 traffic is dropped instead, QoS 1/2 queued).
  bool backlogged() const { return holding_; }
  // Called by the worker's tick: a connection that held publishers back for longer than
  // limit_ms becomes a slow consumer. A bridge's local connection is slow exactly while
  // its remote is down or it completed nothing for limit_ms, and holds publishers back
  // again as soon as it drains (a bridge that drains is never a slow consumer).
  void check_slow(int64_t now, int64_t limit_ms);
  void resume();  // reading again after a global pause or an exhausted read budget
  // Called by the worker's tick. A connection drained more than once between two ticks
  // keeps its buffers between turns (allocating and growing them anew on every turn cost
  // a malloc per few messages); at the tick, or at its first drain after it, an idle one
  // gives them back.
  void release_buffers_if_idle() {
    if (!buffers_used_) release_idle_buffers();
    buffers_used_ = false;
  }

  bool dirty = false;         // on the worker's flush list
  bool queued_read = false;   // on the worker's read-again list
  size_t registry_index = 0;  // position in the worker's registry

 private:
  // Feeds bytes to the framer and the core; returns false when the connection ended or
  // was handed to another worker.
  bool process(const char* data, size_t len, size_t& consumed);
  void park();                // stops reading until the broker is no longer backlogged
  bool process_held_input();  // false: closed, or parked again
  void hold_input();          // held packets wait: parked (backlogged) or next turn (cap)
  bool handle_first_packet(uint8_t header, std::string_view body, const char* rest, size_t rest_len);
  void framing_error(uint8_t reason, const char* why);
  void finish_close();
  void write_failed();  // a send failed: read the peer's last packets, then close
  void update_backlog();
  void set_backlogged(bool on);
  void update_holding();
  void mark_slow();
  // recv/send through the transport (or directly for plain TCP). n > 0 on kOk.
  IoResult raw_read(char* buf, size_t cap);
  IoResult raw_write(const char* data, size_t len);

  // Buffers exist only while in use (an idle connection has none): the partial packet
  // carried between reads, and pending output of which out_off bytes are written.
  struct Buffers {
    std::string in;
    std::string out;
    size_t out_off = 0;
  };
  Buffers& bufs() {
    if (!io_) io_ = std::make_unique<Buffers>();
    return *io_;
  }
  void release_idle_buffers() {
    if (io_ && io_->in.empty() && io_->out.empty()) io_.reset();
  }

  Worker& w_;
  int fd_;
  int listener_;
  broker::Session* session_ = nullptr;
  std::unique_ptr<Buffers> io_;
  std::string peer_;
  std::unique_ptr<Transport> tx_;
  int64_t accepted_ms_ = 0;
  int64_t close_requested_ms_ = 0;
  int64_t backlog_since_ms_ = 0;
  uint64_t progress_seen_ = 0;    // a bridge's session: completed_out at the last tick
  size_t pending_seen_ = 0;       // and its output at the last tick
  int64_t progress_ms_ = 0;       // when it last drained
  int64_t hold_output_until_ms_ = 0;  // close_delayed: write nothing before this
  bool close_requested_ = false, closed_ = false;
  bool publisher_ = false;  // has sent PUBLISH: paused while the broker is backlogged
  bool write_failed_ = false;   // the peer is gone: its last input is being read
  bool write_blocked_ = false;  // the last send could not take everything: EPOLLOUT flushes
  bool peer_shut_ = false;      // EPOLLRDHUP/HUP/ERR seen: read on until EOF or an error
  bool paused_ = false;
  bool input_held_ = false;  // complete packets left unprocessed in io_->in by backpressure
  bool backlogged_ = false;      // output over the high-water mark
  bool queue_pressure_ = false;  // the session's queue is long
  bool holding_ = false;         // counted in Server::backlogged (either, unless slow)
  bool slow_ = false;
  bool buffers_used_ = false;  // drained since the last tick: keep the buffers
};

}  // namespace petrel::net
