#pragma once
// A scripted fake MQTT server for the client tests: each connection attempt gets a
// FakeConn; the test feeds it bytes (what "the server" sends) and asserts the bytes the
// client wrote. No sockets, no threads: everything runs on the test's io_context.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/stream.h"
#include "client/transport.h"

namespace petrel::client::test {

namespace asio = boost::asio;

struct FakeConn {
  std::string written;  // everything the client wrote, in order
  std::string unread;   // server -> client bytes not yet read
  bool closed = false;
  // When set, every write fails with this error while reads go on (the peer has gone,
  // but what it sent before is still readable, as with a real socket).
  boost::system::error_code write_error;
  asio::mutable_buffer pending_buf;
  IoHandler pending;  // an outstanding read
  asio::any_io_executor ex;

  void complete_read() {
    if (!pending) return;
    if (closed) {
      asio::post(ex, [h = std::move(pending)] { h(asio::error::operation_aborted, 0); });
      pending = nullptr;
      return;
    }
    if (unread.empty()) return;
    const size_t n = std::min(unread.size(), pending_buf.size());
    std::memcpy(pending_buf.data(), unread.data(), n);
    unread.erase(0, n);
    asio::post(ex, [h = std::move(pending), n] { h({}, n); });
    pending = nullptr;
  }
  void send(std::string_view bytes) {
    unread += bytes;
    complete_read();
  }
  // The server hangs up: the pending read fails with eof.
  void hang_up() {
    if (pending) asio::post(ex, [h = std::move(pending)] { h(asio::error::eof, 0); });
    pending = nullptr;
    closed = true;
  }
  // The pending read fails with ec (a TLS alert, a reset).
  void fail_read(boost::system::error_code ec) {
    if (pending) asio::post(ex, [h = std::move(pending), ec] { h(ec, 0); });
    pending = nullptr;
  }
  // Takes (and forgets) what the client wrote so far.
  std::string take() {
    std::string w;
    w.swap(written);
    return w;
  }
};

class FakeStream final : public Stream {
 public:
  FakeStream(asio::any_io_executor ex, std::shared_ptr<FakeConn> c) : ex_(ex), c_(std::move(c)) { c_->ex = ex; }
  asio::any_io_executor get_executor() override { return ex_; }
  void async_read_some(asio::mutable_buffer buf, IoHandler h) override {
    c_->pending_buf = buf;
    c_->pending = std::move(h);
    c_->complete_read();
  }
  void async_write(asio::const_buffer buf, IoHandler h) override {
    if (c_->closed) {
      asio::post(ex_, [h = std::move(h)] { h(asio::error::broken_pipe, 0); });
      return;
    }
    if (c_->write_error) {
      asio::post(ex_, [h = std::move(h), ec = c_->write_error] { h(ec, 0); });
      return;
    }
    c_->written.append(static_cast<const char*>(buf.data()), buf.size());
    asio::post(ex_, [h = std::move(h), n = buf.size()] { h({}, n); });
  }
  void close() override {
    c_->closed = true;
    c_->complete_read();
  }

 private:
  asio::any_io_executor ex_;
  std::shared_ptr<FakeConn> c_;
};

// Hands out one FakeConn per connection attempt (or a scripted transport failure).
struct FakeNetwork {
  asio::io_context& io;
  std::vector<std::shared_ptr<FakeConn>> conns;
  int fail_next = 0;  // this many attempts fail with "Connection refused"
  boost::system::error_code write_error;  // given to every new FakeConn

  // A pending read handler holds the client, which holds the stream, which holds the
  // FakeConn: break that cycle (a real reactor drops its handlers at shutdown).
  ~FakeNetwork() {
    for (auto& c : conns) c->pending = nullptr;
  }

  StreamFactory factory() {
    return [this](OpenHandler h) {
      asio::post(io, [this, h = std::move(h)] {
        if (fail_next > 0) {
          --fail_next;
          TransportError e{TransportErrorKind::kConnect, "Connection refused"};
          return h(nullptr, &e);
        }
        auto c = std::make_shared<FakeConn>();
        c->write_error = write_error;
        conns.push_back(c);
        h(std::make_unique<FakeStream>(io.get_executor(), c), nullptr);
      });
    };
  }
  FakeConn& last() { return *conns.back(); }
};

// Runs the io_context until pred() holds or the timeout passes; returns pred().
inline bool run_until(asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// "10 0e 00 04" -> bytes (spaces ignored).
inline std::string hex(std::string_view h) {
  std::string out;
  int hi = -1;
  for (char c : h) {
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (v < 0) continue;
    if (hi < 0) hi = v;
    else out.push_back(char(hi << 4 | v)), hi = -1;
  }
  return out;
}

}  // namespace petrel::client::test
