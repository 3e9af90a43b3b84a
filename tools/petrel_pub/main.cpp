// petrel_pub: publish one message (or many: --repeat, -l) and exit; mosquitto_pub's flags.
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>

#include "protocol/reason_codes.h"
#include "tools/common/runtime.h"

namespace {

namespace asio = boost::asio;
using namespace petrel;
using namespace petrel::tools;

class Publisher {
 public:
  Publisher(asio::io_context& io, Config cfg, std::string payload)
      : io_(io), cfg_(std::move(cfg)), payload_(std::move(payload)), timer_(io), stdin_(io) {}

  int run() {
    client::Handlers h;
    h.on_connect = [this](const client::ConnackInfo&) { on_connect(); };
    h.on_connect_failed = [this](const client::ClientError& e) {
      if (connected_once_) return;  // retried by the client
      finish(report_connect_failure(cfg_, e));
    };
    h.on_connection_lost = [this](const client::ClientError& e) {
      if (cfg_.debug) write_stdout("Connection lost: " + e.message + "\n");
      // A v5 DISCONNECT from the server says why; re-sending the same message would only
      // be refused again. Other losses are retried (after 1 s) with the message re-sent.
      if (e.kind == client::ErrorKind::kServerDisconnect) {
        print_error(cfg_, "Error: Disconnected by the server: " + e.message);
        finish(kExitError);
      }
    };
    h.on_log = debug_logger(cfg_);
    client_ = client::Client::create(io_.get_executor(),
                                     client::make_stream_factory(io_.get_executor(), transport_options(cfg_)),
                                     client_options(cfg_), std::move(h));
    client_->connect();
    io_.run();
    return status_;
  }

 private:
  void on_connect() {
    if (connected_once_) return;  // a reconnect: unacknowledged messages are re-sent by the client
    connected_once_ = true;
    if (cfg_.pub_mode == PubMode::kStdinLine) return start_lines();
    publish_next();
  }

  // --repeat N / --repeat-delay: one message at a time, the delay between completions.
  void publish_next() {
    ++started_;
    auto r = client_->publish(make_message(cfg_, payload_), [this](const client::PublishResult& res) {
      report(res);
      if (started_ >= cfg_.repeat_count) return finish(status_);
      if (cfg_.repeat_delay <= 0) return publish_next();
      timer_.expires_after(std::chrono::microseconds(int64_t(cfg_.repeat_delay * 1e6)));
      timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) publish_next();
      });
    });
    if (!r) {
      print_error(cfg_, "Error: " + r.error().message);
      finish(kExitError);
    }
  }

  void report(const client::PublishResult& res) {
    if (res.reason >= 0x80)
      print_error(cfg_, "Warning: Publish " + std::to_string(res.packet_id) + " failed: " +
                            std::string(protocol::reason_code_name(res.reason)) + ".");
  }

  // -l: one message per line of stdin (the newline removed; empty lines are empty messages).
  void start_lines() {
    boost::system::error_code ec;
    stdin_.assign(dup(STDIN_FILENO), ec);
    if (ec) {  // a regular file or /dev/null: epoll cannot watch it, and reading never blocks
      char buf[65536];
      for (ssize_t n; (n = ::read(STDIN_FILENO, buf, sizeof buf)) > 0;) take(std::string_view(buf, size_t(n)));
      return end_of_lines();
    }
    read_more();
  }

  void read_more() {
    stdin_.async_read_some(asio::buffer(rbuf_), [this](const boost::system::error_code& ec, size_t n) {
      if (ec) return end_of_lines();
      take(std::string_view(rbuf_, n));
      read_more();
    });
  }

  void take(std::string_view data) {
    line_ += data;
    size_t start = 0;
    for (size_t nl; (nl = line_.find('\n', start)) != std::string::npos; start = nl + 1)
      publish_line(line_.substr(start, nl - start));
    line_.erase(0, start);
  }

  void publish_line(std::string text) {
    ++outstanding_;
    auto r = client_->publish(make_message(cfg_, std::move(text)), [this](const client::PublishResult& res) {
      report(res);
      --outstanding_;
      if (eof_ && outstanding_ == 0) finish(status_);
    });
    if (!r) {
      print_error(cfg_, "Error: " + r.error().message);
      finish(kExitError);
    }
  }

  void end_of_lines() {
    if (eof_) return;
    if (!line_.empty()) publish_line(std::move(line_));
    line_.clear();
    eof_ = true;
    if (outstanding_ == 0) finish(status_);
  }

  void finish(int status) {
    if (finishing_) return;
    finishing_ = true;
    status_ = status;
    timer_.cancel();
    boost::system::error_code ec;
    stdin_.close(ec);
    protocol::Properties props = cfg_.version == protocol::Version::kV5 ? cfg_.disconnect_props : protocol::Properties{};
    client_->disconnect(0, std::move(props), [this] { io_.stop(); });
  }

  asio::io_context& io_;
  Config cfg_;
  std::string payload_;
  std::shared_ptr<client::Client> client_;
  asio::steady_timer timer_;
  asio::posix::stream_descriptor stdin_;
  char rbuf_[65536];
  std::string line_;
  int started_ = 0;
  int outstanding_ = 0;
  bool eof_ = false;
  bool connected_once_ = false;
  bool finishing_ = false;
  int status_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  if (auto status = parse_or_exit(Tool::kPub, argc, argv, cfg)) return *status;
  std::string error;
  auto payload = load_payload(cfg, error);
  if (!payload) {
    print_error(cfg, error);
    return kExitError;
  }
  asio::io_context io;
  Publisher p(io, std::move(cfg), std::move(*payload));
  return p.run();
}
