// Admin routes that speak MQTT: publishing a message and watching a filter live. Both go
// through an MQTT 5 client of the client library over an in-process connection that the
// broker adopts as the admin's (broker::kAdminListener): no password check (the admin API
// authenticated the user), but the ACL applies with the admin's username, and $SYS is
// read-only as for any client. The clients run on the control thread.
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>

#include "app/admin_json.h"
#include "app/admin_service.h"
#include "app/runtime.h"
#include "client/client.h"
#include "client/streams.h"
#include "protocol/reason_codes.h"
#include "protocol/topic.h"

namespace petrel::app {

namespace json = boost::json;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Opens the admin's in-process connection for one client.
client::StreamFactory admin_stream(Runtime& rt, std::string peer) {
  return [&rt, peer](client::OpenHandler h) {
    asio::io_context& io = rt.control_io();
    const int fd = rt.server().open_internal(peer, /*admin=*/true);
    if (fd < 0) {
      client::TransportError e{client::TransportErrorKind::kConnect, "cannot open the internal connection"};
      return asio::post(io, [h = std::move(h), e] { h(nullptr, &e); });
    }
    asio::local::stream_protocol::socket sock(io);
    boost::system::error_code ec;
    sock.assign(asio::local::stream_protocol(), fd, ec);
    if (ec) {
      ::close(fd);
      client::TransportError e{client::TransportErrorKind::kConnect, ec.message()};
      return asio::post(io, [h = std::move(h), e] { h(nullptr, &e); });
    }
    client::StreamPtr s = std::make_unique<client::detail::AsioStream<asio::local::stream_protocol::socket>>(std::move(sock));
    asio::post(io, [h = std::move(h), s = std::move(s)]() mutable { h(std::move(s), nullptr); });
  };
}

client::ClientOptions admin_options(const std::string& user, const std::string& id) {
  client::ClientOptions o;
  o.version = protocol::Version::kV5;
  o.client_id = id;
  o.clean_start = true;
  o.keepalive = 0;
  o.username = user;
  o.connect_timeout = 10s;
  return o;
}

std::string reason_text(uint8_t reason) {
  std::string name(protocol::reason_code_name(reason));
  return name.empty() ? fmt::format("reason code 0x{:02x}", reason) : name;
}

void publish_route(AdminService& a, web::Request& req, std::shared_ptr<web::Reply> reply) {
  auto body = web::parse_json_object(req.body);
  if (!body) return send_error(reply, 400, body.error().message);
  web::FieldReader r(*body);
  auto topic = r.string("topic", 65535);
  std::string payload = r.string_or("payload", "", 256 * 1024);
  const std::string b64 = r.string_or("payload_base64", "", 350 * 1024);
  const auto qos = r.integer_or("qos", 0, 2, 0);
  const bool retain = r.boolean_or("retain", false);
  r.reject_unknown({"topic", "payload", "payload_base64", "qos", "retain"});
  if (!r.ok()) return reply->send(r.error_response());
  if (!protocol::valid_topic_name(*topic))
    return reply->send(web::field_error_response(400, {{"topic", "not a valid topic name (no + or #, not empty)"}}));
  if (!b64.empty()) {
    if (!payload.empty())
      return reply->send(web::field_error_response(400, {{"payload_base64", "give payload or payload_base64, not both"}}));
    auto decoded = base64_decode(b64);
    if (!decoded) return reply->send(web::field_error_response(400, {{"payload_base64", decoded.error().message}}));
    payload = std::move(*decoded);
  }
  Runtime& rt = a.runtime();
  const std::string id = fmt::format("petrel-admin-pub-{}", ::getpid() ^ std::chrono::steady_clock::now().time_since_epoch().count());
  // Audited with its outcome, once the broker has answered.
  web::Request who;
  who.user = req.user;
  who.peer = req.peer;
  const std::string what = fmt::format("on '{}' (QoS {}{}, {} bytes)", *topic, qos, retain ? ", retained" : "", payload.size());
  asio::post(rt.control_io(), [&a, &rt, reply, who, what, user = req.user, id, topic = *topic, payload = std::move(payload), qos,
                               retain] {
    auto done = std::make_shared<bool>(false);
    auto finish = [&a, reply, done, who, what](int status, json::object o) {
      if (*done) return;
      *done = true;
      if (status == 200) a.audit(who, "published " + what);
      else a.audit(who, fmt::format("could not publish {}: {}", what, std::string(o["error"].as_string())));
      send_json(reply, o, status);
    };
    auto holder = std::make_shared<std::shared_ptr<client::Client>>();
    client::Handlers h;
    h.on_connect_failed = [finish, holder](const client::ClientError& e) {
      finish(503, json::object{{"error", "the broker refused the admin's connection: " + e.message}});
      holder->reset();
    };
    h.on_connect = [finish, holder, topic, payload, qos, retain](const client::ConnackInfo&) {
      auto c = *holder;
      if (!c) return;
      client::OutMessage m{topic, payload, static_cast<uint8_t>(qos), retain, {}};
      auto queued = c->publish(std::move(m), [finish, holder, qos](const client::PublishResult& r) {
        if (r.reason >= 0x80) {
          const int status = r.reason == protocol::rc::kNotAuthorized ? 403 : 409;
          finish(status, json::object{{"error", "the broker refused the message: " + reason_text(r.reason)},
                                      {"reason", r.reason}});
        } else {
          finish(200, json::object{{"ok", true},
                                   {"message", r.reason == protocol::rc::kNoMatchingSubscribers
                                                   ? std::string("published (no subscriber matched)")
                                                   : std::string("published")},
                                   {"qos", qos}});
        }
        if (auto c2 = *holder) c2->disconnect(0, {}, [holder] { holder->reset(); });
      });
      if (!queued) {
        finish(400, json::object{{"error", "cannot publish: " + queued.error().message}});
        c->disconnect(0, {}, [holder] { holder->reset(); });
      }
    };
    *holder = client::Client::create(rt.control_io().get_executor(), admin_stream(rt, "admin:" + user),
                                      admin_options(user, id), h);
    (*holder)->connect();
  });
}

// One live subscription for one event stream. Messages beyond kMaxPerSecond in a second are
// counted, not sent (a browser tab cannot show more), and reported once a second.
class Watch : public std::enable_shared_from_this<Watch> {
 public:
  static constexpr int kMaxPerSecond = 50;

  Watch(Runtime& rt, std::shared_ptr<web::EventStream> stream, std::string filter)
      : rt_(rt), stream_(std::move(stream)), filter_(std::move(filter)), tick_(rt.control_io()) {}

  void start(const std::string& user, const std::string& id) {
    std::weak_ptr<Watch> weak = weak_from_this();
    client::Handlers h;
    h.on_connect = [weak](const client::ConnackInfo&) {
      if (auto self = weak.lock()) self->subscribe();
    };
    h.on_connect_failed = [weak](const client::ClientError& e) {
      if (auto self = weak.lock()) self->fail("the broker refused the admin's connection: " + e.message);
    };
    h.on_connection_lost = [weak](const client::ClientError& e) {
      if (auto self = weak.lock()) self->fail("connection to the broker lost: " + e.message);
    };
    h.on_message = [weak](const client::Message& m) {
      if (auto self = weak.lock()) self->message(m);
    };
    client_ = client::Client::create(rt_.control_io().get_executor(), admin_stream(rt_, "admin-watch:" + user),
                                     admin_options(user, id), h);
    client_->connect();
    arm();
  }

 private:
  void subscribe() {
    std::weak_ptr<Watch> weak = weak_from_this();
    protocol::SubscribeTopic t;
    t.filter = filter_;
    t.qos = 0;
    auto sent = client_->subscribe({t}, {}, [weak](const protocol::Suback& s) {
      auto self = weak.lock();
      if (!self) return;
      const uint8_t code = s.reasons.empty() ? 0x80 : s.reasons[0];
      if (code >= 0x80) return self->fail("subscription refused: " + reason_text(code));
      self->stream_->send("subscribed", json::serialize(json::object{{"filter", self->filter_}}));
    });
    if (!sent) fail("cannot subscribe: " + sent.error().message);
  }
  void message(const client::Message& m) {
    if (++this_second_ > kMaxPerSecond) {
      ++skipped_;
      return;
    }
    json::object o{{"topic", m.topic}, {"qos", m.qos}, {"retain", m.retain}};
    put_payload(o, m.payload, 4096);
    if (!stream_->send("message", json::serialize(o))) close();
  }
  void fail(const std::string& why) {
    stream_->send("error", json::serialize(json::object{{"error", why}}));
    close();
  }
  void arm() {
    tick_.expires_after(1s);
    tick_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (!self->stream_->is_open()) return self->close();
      if (self->skipped_) {
        self->stream_->send("skipped", json::serialize(json::object{{"count", self->skipped_}}));
        self->skipped_ = 0;
      }
      self->this_second_ = 0;
      self->arm();
    });
  }
  void close() {
    tick_.cancel();
    stream_->close();
    if (client_) {
      auto c = std::move(client_);
      c->disconnect(0, {}, [c] {});
    }
  }

  Runtime& rt_;
  std::shared_ptr<web::EventStream> stream_;
  std::string filter_;
  asio::steady_timer tick_;
  std::shared_ptr<client::Client> client_;
  int this_second_ = 0;
  uint64_t skipped_ = 0;
};

void watch_route(AdminService& a, web::Request& req, std::shared_ptr<web::Reply> reply, uint64_t n) {
  auto it = req.query.find("filter");
  if (it == req.query.end() || it->second.empty()) return send_error(reply, 400, "filter: required");
  const std::string filter = it->second;
  if (!protocol::valid_topic_filter(filter) || filter.starts_with("$share/"))
    return send_error(reply, 400, "filter: not a valid subscription filter");
  auto stream = reply->start_events();
  Runtime& rt = a.runtime();
  asio::post(rt.control_io(), [&rt, stream, filter, user = req.user, n] {
    auto w = std::make_shared<Watch>(rt, stream, filter);
    w->start(user, fmt::format("petrel-admin-watch-{}-{}", ::getpid(), n));
  });
}

}  // namespace

void add_message_routes(web::Router& r, AdminService& a) {
  r.add("POST", "/api/petrel/v1/publish", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    publish_route(a, req, std::move(reply));
  });
  auto counter = std::make_shared<std::atomic<uint64_t>>(0);
  r.add("GET", "/api/petrel/v1/watch", [&a, counter](web::Request& req, std::shared_ptr<web::Reply> reply) {
    watch_route(a, req, std::move(reply), ++*counter);
  });
}

}  // namespace petrel::app
