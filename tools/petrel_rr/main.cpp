// petrel_rr: MQTT 5 request/response like mosquitto_rr. Subscribes to the response topic
// (-e), publishes the request with that Response Topic (and any -D publish properties,
// e.g. correlation-data) once the subscription is acknowledged, prints the first response
// as petrel_sub would and exits. With -V 311 the response topic is only subscribed to.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "tools/common/runtime.h"

namespace {

namespace asio = boost::asio;
using namespace petrel;
using namespace petrel::tools;

class Requester {
 public:
  Requester(asio::io_context& io, Config cfg, std::string payload)
      : io_(io), cfg_(std::move(cfg)), payload_(std::move(payload)), timeout_(io) {}

  int run() {
    client::Handlers h;
    h.on_connect = [this](const client::ConnackInfo&) { on_connect(); };
    h.on_connect_failed = [this](const client::ClientError& e) {
      if (!connected_once_) stop(report_connect_failure(cfg_, e));
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
        print_error(cfg_, "Timed out");
        finish(kExitTimeout);
      });
    }
    client_->connect();
    io_.run();
    return status_;
  }

 private:
  void on_connect() {
    if (connected_once_) return;
    connected_once_ = true;
    protocol::SubscribeTopic t;
    t.filter = cfg_.response_topic;
    t.qos = uint8_t(cfg_.qos);
    t.retain_handling = uint8_t(cfg_.retain_handling);
    const bool v5 = cfg_.version == protocol::Version::kV5;
    auto r = client_->subscribe({t}, v5 ? cfg_.subscribe_props : protocol::Properties{},
                                [this](const protocol::Suback&) { send_request(); });
    if (!r) finish(kExitError);
  }

  void send_request() {
    client::OutMessage m = make_message(cfg_, payload_);
    if (cfg_.version == protocol::Version::kV5) m.props.response_topic = cfg_.response_topic;
    (void)client_->publish(std::move(m));
  }

  void on_message(const client::Message& m) {
    if (done_) return;
    if (m.retain && cfg_.no_retain) return;
    print_message(cfg_, m);
    finish(0);
  }

  void finish(int status) {
    if (done_) return;
    done_ = true;
    status_ = status;
    timeout_.cancel();
    protocol::Properties props = cfg_.version == protocol::Version::kV5 ? cfg_.disconnect_props : protocol::Properties{};
    client_->disconnect(0, std::move(props), [this] { io_.stop(); });
  }

  void stop(int status) {
    if (done_) return;
    done_ = true;
    status_ = status;
    timeout_.cancel();
    client_->abort();
    io_.stop();
  }

  asio::io_context& io_;
  Config cfg_;
  std::string payload_;
  std::shared_ptr<client::Client> client_;
  asio::steady_timer timeout_;
  bool connected_once_ = false;
  bool done_ = false;
  int status_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  if (auto status = parse_or_exit(Tool::kRr, argc, argv, cfg)) return *status;
  std::string error;
  auto payload = load_payload(cfg, error);
  if (!payload) {
    print_error(cfg, error);
    return kExitError;
  }
  asio::io_context io;
  Requester r(io, std::move(cfg), std::move(*payload));
  return r.run();
}
