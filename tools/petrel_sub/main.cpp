// petrel_sub: subscribe and print messages as mosquitto_sub does (same flags, output and
// exit codes).
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <random>

#include "protocol/topic.h"
#include "protocol/reason_codes.h"
#include "tools/common/runtime.h"

namespace {

namespace asio = boost::asio;
using namespace petrel;
using namespace petrel::tools;

class Subscriber {
 public:
  Subscriber(asio::io_context& io, Config cfg) : io_(io), cfg_(std::move(cfg)), timeout_(io), rng_(std::random_device{}()) {}

  int run() {
    client::Handlers h;
    h.on_connect = [this](const client::ConnackInfo&) { on_connect(); };
    h.on_connect_failed = [this](const client::ClientError& e) {
      if (!connected_once_) stop(report_connect_failure(cfg_, e));
    };
    h.on_connection_lost = [this](const client::ClientError& e) {
      if (cfg_.debug) write_stdout("Connection lost: " + e.message + "\n");
    };
    h.on_message = [this](const client::Message& m) { on_message(m); };
    h.on_log = debug_logger(cfg_);
    client_ = client::Client::create(io_.get_executor(),
                                     client::make_stream_factory(io_.get_executor(), transport_options(cfg_)),
                                     client_options(cfg_), std::move(h));
    if (cfg_.timeout > 0) {
      timeout_.expires_after(std::chrono::seconds(cfg_.timeout));
      timeout_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || done_) return;
        // Like mosquitto_sub: silent 255 before the CONNACK, "Timed out" (27) after it.
        if (!connected_once_) return stop(255, false);
        print_error(cfg_, "Timed out");
        finish(kExitTimeout, protocol::rc::kDisconnectWithWill);
      });
    }
    client_->connect();
    io_.run();
    return status_;
  }

 private:
  void on_connect() {
    connected_once_ = true;
    std::vector<protocol::SubscribeTopic> topics;
    for (const auto& t : cfg_.topics) {
      protocol::SubscribeTopic s;
      s.filter = t;
      s.qos = uint8_t(cfg_.qos);
      s.retain_as_published = cfg_.retain_as_published;
      s.retain_handling = uint8_t(cfg_.retain_handling);
      topics.push_back(std::move(s));
    }
    const bool v5 = cfg_.version == protocol::Version::kV5;
    auto r = client_->subscribe(std::move(topics), v5 ? cfg_.subscribe_props : protocol::Properties{},
                                [this](const protocol::Suback& s) { on_suback(s); });
    if (!r) return finish(kExitError);
    if (!cfg_.unsub_topics.empty())
      (void)client_->unsubscribe(cfg_.unsub_topics, v5 ? cfg_.unsubscribe_props : protocol::Properties{});
  }

  void on_suback(const protocol::Suback& s) {
    if (cfg_.debug) {
      std::string line = "Subscribed (mid: " + std::to_string(s.packet_id) + "): ";
      for (size_t i = 0; i < s.reasons.size(); ++i) line += (i ? ", " : "") + std::to_string(s.reasons[i]);
      write_stdout(line + "\n");
    }
    if (cfg_.exit_after_sub) finish(0);
  }

  bool filtered_out(const std::string& topic) const {
    for (const auto& f : cfg_.filter_outs)
      if (protocol::topic_matches(f, topic)) return true;
    return false;
  }

  void on_message(const client::Message& m) {
    if (done_ || stopping_) return;
    if (cfg_.random_filter < 100.0 && std::uniform_real_distribution<double>(0, 100)(rng_) >= cfg_.random_filter)
      return;
    if (cfg_.retained_only && !m.retain) return finish(0);
    if (m.retain && cfg_.no_retain) return;
    if (filtered_out(m.topic)) return;
    if (cfg_.remove_retained && m.retain) {
      client::OutMessage clear;
      clear.topic = m.topic;
      clear.qos = 1;
      clear.retain = true;
      ++clearing_;
      (void)client_->publish(std::move(clear), [this](const client::PublishResult&) {
        if (--clearing_ == 0 && stopping_) finish(status_);
      });
    }
    print_message(cfg_, m);
    if (cfg_.msg_count > 0 && ++count_ >= cfg_.msg_count) finish(0);
  }

  // Leaves once the retained-message clears still in flight are acknowledged.
  void finish(int status, uint8_t reason = 0) {
    if (done_) return;
    status_ = status;
    stopping_ = true;
    if (clearing_ > 0 && reason == 0) return;
    done_ = true;
    timeout_.cancel();
    protocol::Properties props = cfg_.version == protocol::Version::kV5 ? cfg_.disconnect_props : protocol::Properties{};
    client_->disconnect(reason, std::move(props), [this] { io_.stop(); });
  }

  void stop(int status, bool disconnect = true) {
    if (done_) return;
    done_ = true;
    status_ = status;
    timeout_.cancel();
    if (disconnect) client_->abort();
    io_.stop();
  }

  asio::io_context& io_;
  Config cfg_;
  std::shared_ptr<client::Client> client_;
  asio::steady_timer timeout_;
  std::mt19937 rng_;
  int count_ = 0;
  int clearing_ = 0;
  bool connected_once_ = false;
  bool stopping_ = false;
  bool done_ = false;
  int status_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  if (auto status = parse_or_exit(Tool::kSub, argc, argv, cfg)) return *status;
  asio::io_context io;
  Subscriber s(io, std::move(cfg));
  return s.run();
}
