#pragma once
// Internal to the admin routes: the JSON the status, listeners and clients read as, and
// small helpers shared by the route files.
#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "app/runtime.h"
#include "broker/session_info.h"
#include "bridge/bridge.h"
#include "web/reply.h"
#include "web/request.h"

namespace petrel::app {

// The whole status (service, listeners, clients, tables, memory, rates, bridges).
boost::json::object status_json(Runtime& rt, const StatusSample& sample);
boost::json::object bridge_status_json(const bridge::BridgeStatus& st, bool has_secondary);
boost::json::object client_json(const broker::ClientInfo& c, const std::vector<net::ListenerState>& listeners);
// "none" / "certificate" / "psk" for a listener.
std::string tls_mode_of(const config::Listener& l);
// A payload as JSON: {"payload": text} when valid UTF-8, else {"payload_base64": ...};
// at most `max` bytes (then "truncated": true).
void put_payload(boost::json::object& o, std::string_view payload, size_t max);
std::string base64_encode(std::string_view bytes);
boost::json::object log_json(const LogRecord& r);
Result<std::string> base64_decode(std::string_view text);
// Answers with JSON (200 unless told).
void send_json(const std::shared_ptr<web::Reply>& reply, const boost::json::value& v, int status = 200);
void send_error(const std::shared_ptr<web::Reply>& reply, int status, std::string message);

}  // namespace petrel::app
