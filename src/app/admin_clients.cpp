// Admin routes over sessions, retained messages and the log: listing and searching clients
// (connected and offline persistent sessions, collected from every worker), disconnecting
// one, listing/reading/deleting retained messages, and the recent log with its live tail.
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>

#include "app/admin_json.h"
#include "app/admin_service.h"
#include "app/runtime.h"
#include "config/lexer.h"
#include "protocol/topic.h"

namespace petrel::app {

namespace json = boost::json;

// ---- shared helpers (admin_json.h) ---------------------------------------------------------

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string t(text);
  std::erase_if(t, [](char c) { return c == '\n' || c == '\r' || c == ' '; });
  if (t.size() % 4 != 0) return Error{0, "not valid base64"};
  std::string out(t.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(t.data()), static_cast<int>(t.size()));
  if (n < 0) return Error{0, "not valid base64"};
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (!t.empty() && t.back() == '=') --len;
  if (t.size() > 1 && t[t.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

void put_payload(json::object& o, std::string_view payload, size_t max) {
  const bool truncated = payload.size() > max;
  std::string_view shown = payload.substr(0, max);
  // A cut in the middle of a UTF-8 sequence is not the payload's fault: back off to a boundary.
  while (truncated && !shown.empty() && (static_cast<unsigned char>(shown.back()) & 0xC0) == 0x80) shown.remove_suffix(1);
  if (truncated && !shown.empty() && static_cast<unsigned char>(shown.back()) >= 0xC0) shown.remove_suffix(1);
  if (config::valid_utf8(shown)) o["payload"] = shown;
  else o["payload_base64"] = base64_encode(payload.substr(0, max));
  o["size"] = payload.size();
  o["truncated"] = truncated;
}

void send_json(const std::shared_ptr<web::Reply>& reply, const json::value& v, int status) {
  reply->send(web::json_response(status, v));
}

void send_error(const std::shared_ptr<web::Reply>& reply, int status, std::string message) {
  reply->send(web::error_response(status, std::move(message)));
}

json::object client_json(const broker::ClientInfo& c, const std::vector<net::ListenerState>& listeners) {
  json::array subs;
  for (const auto& s : c.subscriptions) {
    json::object o{{"filter", s.filter}, {"qos", s.qos}};
    if (s.no_local) o["no_local"] = true;
    if (s.retain_as_published) o["retain_as_published"] = true;
    if (s.retain_handling) o["retain_handling"] = s.retain_handling;
    if (s.subscription_id) o["subscription_id"] = s.subscription_id;
    subs.push_back(std::move(o));
  }
  json::value port = nullptr;
  for (const auto& l : listeners)
    if (l.index == c.listener) port = l.cfg.port;
  json::object o{{"client_id", c.client_id},
                 {"username", c.username},
                 {"address", c.address},
                 {"listener_port", port},
                 {"connected", c.connected},
                 {"internal", c.internal},
                 {"protocol", c.protocol},
                 {"keepalive", c.keepalive},
                 {"clean", c.clean},
                 {"session_expiry", c.expiry_interval == UINT32_MAX ? json::value("never") : json::value(c.expiry_interval)},
                 {"connected_since", c.connected_since},
                 {"queued", c.queued},
                 {"inflight", c.inflight},
                 {"subscriptions", subs}};
  if (!c.connected) o["expires_in"] = c.expires_in < 0 ? json::value(nullptr) : json::value(c.expires_in);
  return o;
}

namespace {

size_t query_number(const web::Request& req, std::string_view name, size_t fallback, size_t max, bool& ok) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return fallback;
  try {
    size_t pos = 0;
    const unsigned long v = std::stoul(it->second, &pos);
    if (pos != it->second.size()) throw std::invalid_argument("x");
    return std::min<size_t>(v, max);
  } catch (...) {
    ok = false;
    return fallback;
  }
}

// The levels at `name` or more severe ("all" and "debug" give every line).
std::optional<uint32_t> levels_at_least(std::string_view name) {
  if (name.empty() || name == "all" || name == "debug") return kLogAll;
  if (name == "error") return kLogError;
  if (name == "warning") return kLogError | kLogWarning;
  if (name == "notice") return kLogError | kLogWarning | kLogNotice;
  if (name == "information" || name == "info")
    return kLogAll & ~uint32_t(kLogDebug);
  return std::nullopt;
}

}  // namespace

json::object log_json(const LogRecord& r) {
  return {{"seq", r.seq}, {"time", r.time}, {"level", std::string(log_level_name(r.level))}, {"text", r.text}};
}

namespace {

constexpr size_t kMaxGathered = 100000;

void clients_route(Runtime& rt, web::Request& req, std::shared_ptr<web::Reply> reply) {
  bool ok = true;
  broker::ClientQuery q;
  if (auto it = req.query.find("search"); it != req.query.end()) q.search = it->second;
  std::string state = req.query.count("state") ? req.query.find("state")->second : "all";
  if (state == "connected") q.offline = false;
  else if (state == "offline") q.connected = false;
  else if (state != "all") return send_error(reply, 400, "state: expected connected, offline or all");
  if (auto it = req.query.find("internal"); it != req.query.end()) q.include_internal = it->second == "true" || it->second == "1";
  const size_t limit = query_number(req, "limit", 100, 10000, ok);
  const size_t offset = query_number(req, "offset", 0, SIZE_MAX, ok);
  if (!ok) return send_error(reply, 400, "limit/offset: expected a number");
  // Every match is gathered (up to kMaxGathered per worker) and then sorted: the workers
  // meet their sessions in no particular order, so stopping each at offset + limit made
  // `total` the end of the page rather than the number of matches, and filled later pages
  // with whichever sessions the workers met first instead of the next ones by client id.
  q.limit = kMaxGathered;
  rt.server().query_clients(q, [&rt, reply, limit, offset](std::vector<broker::ClientInfo> all) {
    boost::asio::post(rt.control_io(), [&rt, reply, limit, offset, all = std::move(all)]() mutable {
      std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.client_id < b.client_id; });
      const auto listeners = rt.server().listener_states();
      json::array out;
      for (size_t i = offset; i < all.size() && out.size() < limit; ++i) out.push_back(client_json(all[i], listeners));
      send_json(reply, json::object{{"total", all.size()}, {"offset", offset}, {"clients", out}});
    });
  });
}

void one_client_route(Runtime& rt, web::Request& req, std::shared_ptr<web::Reply> reply) {
  broker::ClientQuery q;
  q.include_internal = true;
  const std::string id(req.param("id"));
  q.search = id;
  rt.server().query_clients(q, [&rt, reply, id](std::vector<broker::ClientInfo> all) {
    boost::asio::post(rt.control_io(), [&rt, reply, id, all = std::move(all)] {
      for (const auto& c : all)
        if (c.client_id == id) return send_json(reply, client_json(c, rt.server().listener_states()));
      send_error(reply, 404, "no client or session with id '" + id + "'");
    });
  });
}

void disconnect_route(AdminService& a, web::Request& req, std::shared_ptr<web::Reply> reply) {
  auto body = web::parse_json_object(req.body);
  if (!body) return send_error(reply, 400, body.error().message);
  web::FieldReader r(*body);
  auto id = r.string("client_id", 65535);
  const bool discard = r.boolean_or("discard_session", false);
  r.reject_unknown({"client_id", "discard_session"});
  if (!r.ok()) return reply->send(r.error_response());
  web::Request who;  // the audit line needs the user and address after the request is gone
  who.user = req.user;
  who.peer = req.peer;
  a.runtime().server().disconnect_client(*id, discard, [&a, who, reply, id = *id, discard](bool found) {
    if (!found) return send_error(reply, 404, "no client or session with id '" + id + "'");
    a.audit(who, fmt::format("disconnected client '{}'{}", id, discard ? " and removed its session" : ""));
    send_json(reply, json::object{{"ok", true}, {"message", "client '" + id + "' disconnected"}});
  });
}

void retained_list_route(Runtime& rt, web::Request& req, std::shared_ptr<web::Reply> reply) {
  bool ok = true;
  const size_t limit = query_number(req, "limit", 500, 10000, ok);
  if (!ok) return send_error(reply, 400, "limit: expected a number");
  const std::string prefix = req.query.count("prefix") ? req.query.find("prefix")->second : "";
  json::array out;
  size_t total = 0;
  const int64_t now = rt.server().broker().clock().now_ms();
  auto visit = [&](const broker::RetainedPtr& m) {
    if (!m->topic.starts_with(prefix)) return;
    ++total;
    if (out.size() >= limit) return;
    json::object o{{"topic", m->topic}, {"qos", m->qos}};
    put_payload(o, m->payload, 256);
    if (m->expiry_at_ms) o["expires_in"] = std::max<int64_t>(0, (m->expiry_at_ms - now) / 1000);
    out.push_back(std::move(o));
  };
  // '#' leaves out topics starting with '$' [MQTT-4.7.2-1]; the broker's own are asked for.
  for (const char* filter : {"#", "$SYS/#"}) rt.server().broker().retained().match(filter, now, visit);
  send_json(reply, json::object{{"total", total}, {"truncated", total > out.size()}, {"messages", out}});
}

void retained_get_route(Runtime& rt, web::Request& req, std::shared_ptr<web::Reply> reply) {
  const std::string topic(req.param("topic"));
  if (!protocol::valid_topic_name(topic)) return send_error(reply, 400, "topic: not a valid topic name");
  std::optional<json::object> found;
  const int64_t now = rt.server().broker().clock().now_ms();
  rt.server().broker().retained().match(topic, now, [&](const broker::RetainedPtr& m) {
    json::object o{{"topic", m->topic}, {"qos", m->qos}};
    put_payload(o, m->payload, 1 << 20);
    if (m->expiry_at_ms) o["expires_in"] = std::max<int64_t>(0, (m->expiry_at_ms - now) / 1000);
    found = std::move(o);
  });
  if (!found) return send_error(reply, 404, "no retained message on '" + topic + "'");
  send_json(reply, *found);
}

void retained_delete_route(AdminService& a, web::Request& req, std::shared_ptr<web::Reply> reply) {
  const std::string topic(req.param("topic"));
  if (!protocol::valid_topic_name(topic)) return send_error(reply, 400, "topic: not a valid topic name");
  auto& store = a.runtime().server().broker().retained();
  bool found = false;
  store.match(topic, a.runtime().server().broker().clock().now_ms(), [&](const broker::RetainedPtr&) { found = true; });
  if (!found) return send_error(reply, 404, "no retained message on '" + topic + "'");
  store.erase(topic);
  a.audit(req, fmt::format("deleted the retained message on '{}'", topic));
  send_json(reply, json::object{{"ok", true}, {"message", "retained message on '" + topic + "' deleted"}});
}

void log_route(Runtime& rt, web::Request& req, std::shared_ptr<web::Reply> reply) {
  bool ok = true;
  const size_t limit = query_number(req, "limit", 500, Logger::kRecentLines, ok);
  const uint64_t after = query_number(req, "after", 0, SIZE_MAX, ok);
  if (!ok) return send_error(reply, 400, "limit/after: expected a number");
  auto levels = levels_at_least(req.query.count("level") ? req.query.find("level")->second : "");
  if (!levels) return send_error(reply, 400, "level: expected error, warning, notice, information, debug or all");
  json::array lines;
  uint64_t last = after;
  for (const auto& r : rt.log().recent(after, *levels, limit)) {
    lines.push_back(log_json(r));
    last = r.seq;
  }
  send_json(reply, json::object{{"lines", lines}, {"last", last}});
}

// The live tail: the recent lines now, then what follows, fed once a second with the
// status (AdminService::publish_sample).
void log_stream_route(AdminService& a, web::Request& req, std::shared_ptr<web::Reply> reply) {
  auto levels = levels_at_least(req.query.count("level") ? req.query.find("level")->second : "");
  if (!levels) return send_error(reply, 400, "level: expected error, warning, notice, information, debug or all");
  auto stream = reply->start_events();
  uint64_t last = 0;
  for (const auto& r : a.runtime().log().recent(0, *levels, 200)) {
    stream->send("log", json::serialize(log_json(r)));
    last = r.seq;
  }
  if (last == 0) {
    auto newest = a.runtime().log().recent(0, kLogAll, 1);
    if (!newest.empty()) last = newest.back().seq;
  }
  a.add_log_tail(std::move(stream), *levels, last);
}

}  // namespace

void add_client_routes(web::Router& r, AdminService& a) {
  Runtime& rt = a.runtime();
  r.add("GET", "/api/petrel/v1/clients", [&rt](web::Request& req, std::shared_ptr<web::Reply> reply) {
    clients_route(rt, req, std::move(reply));
  });
  r.add("GET", "/api/petrel/v1/clients/{id...}", [&rt](web::Request& req, std::shared_ptr<web::Reply> reply) {
    one_client_route(rt, req, std::move(reply));
  });
  r.add("POST", "/api/petrel/v1/clients/disconnect", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    disconnect_route(a, req, std::move(reply));
  });
  r.add("GET", "/api/petrel/v1/retained", [&rt](web::Request& req, std::shared_ptr<web::Reply> reply) {
    retained_list_route(rt, req, std::move(reply));
  });
  r.add("GET", "/api/petrel/v1/retained/{topic...}", [&rt](web::Request& req, std::shared_ptr<web::Reply> reply) {
    retained_get_route(rt, req, std::move(reply));
  });
  r.add("DELETE", "/api/petrel/v1/retained/{topic...}", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    retained_delete_route(a, req, std::move(reply));
  });
  r.add("GET", "/api/petrel/v1/log", [&rt](web::Request& req, std::shared_ptr<web::Reply> reply) {
    log_route(rt, req, std::move(reply));
  });
  r.add("GET", "/api/petrel/v1/log/stream", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    log_stream_route(a, req, std::move(reply));
  });
}

}  // namespace petrel::app
