// Admin routes that read the broker's state: Petrel's status (one-off, history for charts,
// and a live stream), Mosquitto 2.1's three read-only endpoints, and /metrics. All of them
// read the one status snapshot (Broker::snapshot, sampled each second by the Runtime).
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

#include "app/admin_json.h"
#include "app/admin_service.h"
#include "app/admin_service.h"
#include "app/runtime.h"

namespace petrel::app {

namespace json = boost::json;

namespace {

std::string protocol_name(config::ListenerProtocol p) {
  switch (p) {
    case config::ListenerProtocol::kMqtt: return "mqtt";
    case config::ListenerProtocol::kWebsockets: return "websockets";
    case config::ListenerProtocol::kHttpApi: return "http_api";
  }
  return "mqtt";
}

json::object listener_json(const config::Config& cfg, const config::Listener& l, int connections,
                           const std::vector<std::string>& bound) {
  // An admin listener always wants credentials (allow_anonymous is about MQTT clients).
  const bool anonymous = l.protocol != config::ListenerProtocol::kHttpApi && config::anonymous_allowed(cfg, l);
  json::array b;
  for (const auto& x : bound) b.emplace_back(x);
  return {{"port", l.port},
          {"address", l.bind_address},
          {"protocol", protocol_name(l.protocol)},
          {"tls", tls_mode_of(l)},
          {"mtls", l.require_certificate},
          {"allow_anonymous", anonymous},
          {"connections", connections},
          {"bound", b}};
}

// Prometheus text format: one family at a time.
struct Metrics {
  std::string out;
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void value(std::string_view name, double v, std::string_view labels = {}) {
    if (labels.empty()) out += fmt::format("{} {:.17g}\n", name, v);
    else out += fmt::format("{}{{{}}} {:.17g}\n", name, labels, v);
  }
  void one(std::string_view name, std::string_view type, std::string_view help, double v) {
    family(name, type, help);
    value(name, v);
  }
};

// A label value: backslash, double quote and newline escaped.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string metrics_text(Runtime& rt, uint64_t queued, uint64_t inflight) {
  const StatusSample s = rt.latest_sample();
  const broker::StatusCounters c = rt.server().broker().snapshot();
  Metrics m;
  m.family("petrel_info", "gauge", "Version of the running broker.");
  m.value("petrel_info", 1, fmt::format("version=\"{}\"", PETREL_VERSION));
  m.one("petrel_uptime_seconds", "gauge", "Seconds since the broker started.", double(c.uptime_s));
  m.one("petrel_clients_connected", "gauge", "Connected clients.", double(c.clients_connected));
  m.one("petrel_sessions", "gauge", "Sessions, connected or not.", double(c.sessions));
  m.one("petrel_clients_maximum", "gauge", "Most clients connected at once since start.", double(c.clients_maximum));
  m.one("petrel_clients_expired_total", "counter", "Sessions removed by expiry.", double(c.clients_expired));
  m.one("petrel_connections", "gauge", "Open client sockets (before CONNECT too).", double(c.connections));
  m.family("petrel_listener_connections", "gauge", "Open connections per listener.");
  for (const auto& l : rt.server().listener_states())
    m.value("petrel_listener_connections", l.connections,
            fmt::format("port=\"{}\",address=\"{}\",protocol=\"{}\"", l.cfg.port, label(l.cfg.bind_address),
                        protocol_name(l.cfg.protocol)));
  m.one("petrel_connects_total", "counter", "CONNECTs accepted.", double(c.connects));
  m.family("petrel_connects_refused_total", "counter", "CONNECTs refused, by reason.");
  m.value("petrel_connects_refused_total", double(c.refused_auth), "reason=\"authentication\"");
  m.value("petrel_connects_refused_total", double(c.refused_other), "reason=\"other\"");
  m.one("petrel_messages_received_total", "counter", "PUBLISH packets received.", double(c.pub_received));
  m.one("petrel_messages_sent_total", "counter", "PUBLISH packets sent.", double(c.pub_sent));
  m.family("petrel_messages_dropped_total", "counter", "Messages dropped, by reason.");
  m.value("petrel_messages_dropped_total", double(c.dropped_queue_full), "reason=\"queue_full\"");
  m.value("petrel_messages_dropped_total", double(c.dropped_expired), "reason=\"expired\"");
  m.value("petrel_messages_dropped_total", double(c.dropped_too_large), "reason=\"too_large\"");
  m.value("petrel_messages_dropped_total", double(c.dropped_qos0_congested), "reason=\"qos0_congested\"");
  m.one("petrel_publish_denied_total", "counter", "PUBLISH refused by the ACL or into $SYS.", double(c.publish_denied));
  m.one("petrel_packets_received_total", "counter", "MQTT packets received.", double(c.msgs_received));
  m.one("petrel_packets_sent_total", "counter", "MQTT packets sent.", double(c.msgs_sent));
  m.one("petrel_bytes_received_total", "counter", "Bytes received from clients.", double(c.bytes_received));
  m.one("petrel_bytes_sent_total", "counter", "Bytes sent to clients.", double(c.bytes_sent));
  m.one("petrel_publish_bytes_received_total", "counter", "PUBLISH payload bytes received.", double(c.pub_bytes_received));
  m.one("petrel_publish_bytes_sent_total", "counter", "PUBLISH payload bytes sent.", double(c.pub_bytes_sent));
  m.one("petrel_subscriptions", "gauge", "Subscriptions.", double(c.subscriptions));
  m.one("petrel_shared_subscriptions", "gauge", "Members of $share groups.", double(c.shared_subscriptions));
  m.one("petrel_retained_messages", "gauge", "Retained messages.", double(c.retained_count));
  m.one("petrel_retained_bytes", "gauge", "Payload bytes of retained messages.", double(c.retained_bytes));
  m.one("petrel_queued_messages", "gauge", "Messages queued for sessions beyond those in flight.", double(queued));
  m.one("petrel_inflight_messages", "gauge", "Outgoing QoS 1/2 messages waiting for acknowledgement.", double(inflight));
  m.one("petrel_process_resident_memory_bytes", "gauge", "Resident memory of the process.", double(s.rss_bytes));
  const auto bridges = rt.bridges().status();
  m.family("petrel_bridge_up", "gauge", "1 when the bridge is connected to its remote.");
  for (const auto& b : bridges)
    m.value("petrel_bridge_up", b.state == bridge::State::kConnected ? 1 : 0, fmt::format("bridge=\"{}\"", label(b.name)));
  m.family("petrel_bridge_queued_messages", "gauge", "Messages waiting for the remote.");
  for (const auto& b : bridges) m.value("petrel_bridge_queued_messages", double(b.queued), fmt::format("bridge=\"{}\"", label(b.name)));
  m.family("petrel_bridge_messages_total", "counter", "Messages forwarded, by direction.");
  for (const auto& b : bridges) {
    m.value("petrel_bridge_messages_total", double(b.messages_sent), fmt::format("bridge=\"{}\",direction=\"out\"", label(b.name)));
    m.value("petrel_bridge_messages_total", double(b.messages_received), fmt::format("bridge=\"{}\",direction=\"in\"", label(b.name)));
  }
  m.family("petrel_bridge_dropped_total", "counter", "Messages a bridge dropped (queue full, too large, QoS 0 while down).");
  for (const auto& b : bridges) m.value("petrel_bridge_dropped_total", double(b.messages_dropped), fmt::format("bridge=\"{}\"", label(b.name)));
  m.family("petrel_bridge_connects_total", "counter", "Successful connections of a bridge to its remote.");
  for (const auto& b : bridges) m.value("petrel_bridge_connects_total", double(b.connects), fmt::format("bridge=\"{}\"", label(b.name)));
  return m.out;
}

// Mosquitto 2.1's /api/v1/systree: its metric topics, as integers.
json::object systree_json(Runtime& rt) {
  const broker::StatusCounters c = rt.server().broker().snapshot();
  const uint64_t disconnected = c.sessions > c.clients_connected ? c.sessions - c.clients_connected : 0;
  auto i = [](uint64_t v) { return static_cast<int64_t>(v); };
  return {{"$SYS/broker/clients/total", i(c.sessions)},
          {"$SYS/broker/clients/maximum", i(c.clients_maximum)},
          {"$SYS/broker/clients/disconnected", i(disconnected)},
          {"$SYS/broker/clients/connected", i(c.clients_connected)},
          {"$SYS/broker/clients/expired", i(c.clients_expired)},
          {"$SYS/broker/messages/stored", i(c.retained_count)},
          {"$SYS/broker/store/messages/bytes", i(c.retained_bytes)},
          {"$SYS/broker/subscriptions/count", i(c.subscriptions)},
          {"$SYS/broker/shared_subscriptions/count", i(c.shared_subscriptions)},
          {"$SYS/broker/retained messages/count", i(c.retained_count)},
          {"$SYS/broker/messages/received", i(c.msgs_received)},
          {"$SYS/broker/messages/sent", i(c.msgs_sent)},
          {"$SYS/broker/bytes/received", i(c.bytes_received)},
          {"$SYS/broker/bytes/sent", i(c.bytes_sent)},
          {"$SYS/broker/publish/bytes/received", i(c.pub_bytes_received)},
          {"$SYS/broker/publish/bytes/sent", i(c.pub_bytes_sent)},
          {"$SYS/broker/packet/out/count", i(c.msgs_sent)},
          {"$SYS/broker/packet/out/bytes", i(c.bytes_sent)},
          {"$SYS/broker/connections/socket/count", i(c.connections)},
          {"$SYS/broker/publish/messages/dropped", i(c.pub_dropped)},
          {"$SYS/broker/publish/messages/received", i(c.pub_received)},
          {"$SYS/broker/publish/messages/sent", i(c.pub_sent)},
          {"$SYS/broker/uptime", i(static_cast<uint64_t>(c.uptime_s))}};
}

// Mosquitto 2.1's /api/v1/listeners ("httpapi" is its name for the admin protocol).
json::object listeners_json(Runtime& rt) {
  const config::Config cfg = rt.running();
  json::array a;
  auto add = [&](const config::Listener& l) {
    std::string proto = protocol_name(l.protocol);
    if (proto == "http_api") proto = "httpapi";
    a.push_back(json::object{{"port", l.port},
                             {"protocol", proto},
                             {"tls", !l.certfile.empty() && !l.keyfile.empty()},
                             {"mtls", l.require_certificate},
                             // The admin API always wants credentials.
                             {"allow_anonymous", l.protocol != config::ListenerProtocol::kHttpApi &&
                                                     config::anonymous_allowed(cfg, l)}});
  };
  for (const auto& l : cfg.listeners) add(l);
  for (const auto& l : cfg.http_listeners) add(l);
  return {{"listeners", a}};
}

// Mosquitto's endpoints answer any origin (its dashboard may be served elsewhere).
web::Response mosquitto_response(std::string body, std::string content_type) {
  web::Response r;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  return r;
}

}  // namespace

std::string tls_mode_of(const config::Listener& l) {
  if (!l.certfile.empty()) return "certificate";
  if (!l.psk_hint.empty()) return "psk";
  return "none";
}

json::object bridge_status_json(const bridge::BridgeStatus& st, bool has_secondary) {
  json::object o{{"name", st.name},
                 {"enabled", st.enabled},
                 {"state", st.enabled ? std::string(bridge::state_name(st.state)) : std::string("disabled")},
                 {"connected", st.state == bridge::State::kConnected},
                 {"address", st.address},
                 {"active", st.on_primary || !has_secondary ? "primary" : "secondary"},
                 {"remote_client_id", st.remote_client_id},
                 {"last_error", st.last_error},
                 {"queued", st.queued},
                 {"messages_out", st.messages_sent},
                 {"messages_in", st.messages_received},
                 {"dropped", st.messages_dropped},
                 {"connects", st.connects}};
  if (st.connected_since) o["connected_since"] = st.connected_since;
  else o["connected_since"] = nullptr;
  return o;
}

json::object status_json(Runtime& rt, const StatusSample& s) {
  const config::Config cfg = rt.running();
  const broker::StatusCounters& c = s.counters;
  json::array listeners, admin;
  for (const auto& l : rt.server().listener_states()) listeners.push_back(listener_json(cfg, l.cfg, l.connections, l.bound));
  const auto bound = rt.admin() ? rt.admin()->bound() : std::vector<web::BoundAddress>{};
  for (const auto& l : cfg.http_listeners) {
    std::vector<std::string> where;
    for (const auto& b : bound)
      if (b.port == l.port || l.port == 0) where.push_back(fmt::format("{} port {}", b.address, b.port));
    json::object o = listener_json(cfg, l, 0, where);
    o.erase("connections");
    admin.push_back(std::move(o));
  }
  json::array bridges;
  for (const auto& b : rt.bridges().status()) {
    bool secondary = false;
    for (const auto& cb : cfg.bridges)
      if (cb.name == b.name) secondary = cb.addresses.size() > 1;
    bridges.push_back(bridge_status_json(b, secondary));
  }
  return {{"service", {{"state", cfg.bridges_only ? "bridges-only" : "running"},
                       {"version", PETREL_VERSION},
                       {"uptime", c.uptime_s},
                       {"started_at", c.started_at},
                       {"pid", static_cast<int64_t>(::getpid())},
                       {"config_file", rt.config_path()},
                       {"local_only", cfg.local_only}}},
          {"listeners", listeners},
          {"admin_listeners", admin},
          {"admin_connections", rt.admin() ? rt.admin()->connections() : 0},
          {"clients", {{"connected", c.clients_connected},
                       {"total", c.sessions},
                       {"maximum", c.clients_maximum},
                       {"expired", c.clients_expired}}},
          {"subscriptions", c.subscriptions},
          {"retained", {{"count", c.retained_count}, {"bytes", c.retained_bytes}}},
          {"memory", {{"rss_bytes", s.rss_bytes}}},
          {"messages", {{"received", c.pub_received},
                        {"sent", c.pub_sent},
                        {"dropped", c.pub_dropped},
                        {"received_per_second", std::llround(s.msgs_in)},
                        {"sent_per_second", std::llround(s.msgs_out)}}},
          {"bytes", {{"received", c.bytes_received},
                     {"sent", c.bytes_sent},
                     {"received_per_second", std::llround(s.bytes_in)},
                     {"sent_per_second", std::llround(s.bytes_out)}}},
          {"bridges", bridges},
          {"at", s.at_ms}};
}

void add_status_routes(web::Router& r, AdminService& a) {
  Runtime& rt = a.runtime();
  r.add("GET", "/api/v1/version", [](web::Request&, std::shared_ptr<web::Reply> reply) {
    reply->send(mosquitto_response(PETREL_VERSION, "text/plain"));
  });
  r.add("GET", "/api/v1/systree", [&rt](web::Request&, std::shared_ptr<web::Reply> reply) {
    reply->send(mosquitto_response(json::serialize(systree_json(rt)), "application/json"));
  });
  r.add("GET", "/api/v1/listeners", [&rt](web::Request&, std::shared_ptr<web::Reply> reply) {
    reply->send(mosquitto_response(json::serialize(listeners_json(rt)), "application/json"));
  });
  r.add("GET", "/api/petrel/v1/status", [&rt](web::Request&, std::shared_ptr<web::Reply> reply) {
    send_json(reply, status_json(rt, rt.latest_sample()));
  });
  r.add("GET", "/api/petrel/v1/status/history", [&rt](web::Request& req, std::shared_ptr<web::Reply> reply) {
    size_t seconds = 900;
    if (auto it = req.query.find("seconds"); it != req.query.end()) {
      try {
        seconds = std::clamp<size_t>(std::stoul(it->second), 1, 900);
      } catch (...) {
        return send_error(reply, 400, "seconds: expected a number 1..900");
      }
    }
    json::array samples;
    for (const auto& s : rt.history(seconds))
      samples.push_back(json::object{{"at", s.at_ms},
                                     {"messages_in", std::llround(s.msgs_in)},
                                     {"messages_out", std::llround(s.msgs_out)},
                                     {"bytes_in", std::llround(s.bytes_in)},
                                     {"bytes_out", std::llround(s.bytes_out)},
                                     {"clients", s.counters.clients_connected}});
    send_json(reply, json::object{{"samples", samples}});
  });
  r.add("GET", "/api/petrel/v1/status/stream", [&rt, &a](web::Request&, std::shared_ptr<web::Reply> reply) {
    auto stream = reply->start_events();
    stream->send("status", json::serialize(status_json(rt, rt.latest_sample())));
    a.add_status_stream(std::move(stream));
  });
  r.add("GET", "/metrics", [&rt](web::Request&, std::shared_ptr<web::Reply> reply) {
    // The totals come from the workers; the text is made on the control thread, not theirs.
    rt.server().queue_totals([&rt, reply](uint64_t queued, uint64_t inflight) {
      boost::asio::post(rt.control_io(), [&rt, reply, queued, inflight] {
        web::Response resp;
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
        resp.body = metrics_text(rt, queued, inflight);
        reply->send(std::move(resp));
      });
    });
  });
}

}  // namespace petrel::app
